//! Normalisation of indicator columns (and optional rescaling of aggregate nodes).
//!
//! All methods work on one column of values with `NaN` meaning "missing"; missing
//! values stay missing and are ignored by the statistics (min, max, mean, ...).
//!
//! Direction follows COINr: for a `lower_is_better` indicator the values are
//! negated before normalising (and so are the target and goalposts), so that in
//! every method a higher normalised value is better. For `minmax` this gives
//! `(max - x) / (max - min)`, for `distance_to_target` `(max - x) / (max - target)`,
//! for `goalposts` `(upper - x) / (upper - lower)`, and for `none` simply `-x`.
//!
//! | method | formula (on direction-adjusted `x`) |
//! |---|---|
//! | `none` | `x` |
//! | `minmax` | `lo + (x - min) / (max - min) * (hi - lo)`, default scale `[0, 1]` |
//! | `zscore` | `mean' + (x - mean) / sd * sd'` (sample sd, `n - 1`), default `mean' = 0, sd' = 1` |
//! | `zscore_minmax` | z-score, then min-max of the z-scores to `[lo, hi]` (UN EGDI style; computed as `minmax`, which it equals) |
//! | `rank` | `1 + #{y < x}` (ties share the lowest rank; higher = better), as COINr `n_rank` |
//! | `percentile_rank` | `(rank - 1) / (n - 1)`, as COINr `n_prank` |
//! | `distance_to_target` | `(x - min) / (target - min)`, capped at 1 when `cap` (default) |
//! | `distance_to_reference` | `1 - (x_ref - x) / (x_ref - min)`, optionally capped at 1, as COINr `n_dist2ref` |
//! | `goalposts` | `lo + clamp((x - lower) / (upper - lower), 0, 1) * (hi - lo)` |
//!
//! Undefined cases (constant column for `minmax`, fewer than two values for
//! `zscore`/`percentile_rank`, target not beyond the minimum, values or parameters
//! so far apart, or so close, that the map overflows or underflows `f64`, ...) return
//! [`EngineError::Degenerate`] rather than producing `NaN`s. `minmax` results are
//! clamped to `[lo, hi]`, which rounding could otherwise overshoot by an ulp.
//!
//! Internally a method is first *prepared* (column statistics) into an affine
//! map `clamp(out + (sign * x - in) * factor)` applied on the fly, or into
//! explicit values for the rank-based methods; this lets the scoring pipeline
//! normalise while aggregating instead of materialising every column.
//!
//! Note: z-scoring followed by min-max is an affine map followed by min-max, so
//! `zscore_minmax` on a single indicator equals `minmax`. The UN method applies the
//! min-max step to the *composite* of z-scored indicators; express that with
//! `normalisation = "zscore"` on the indicators and `rescale = "minmax"` on the node.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Whether higher raw values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher raw values are better (default).
    #[default]
    HigherIsBetter,
    /// Lower raw values are better: values are negated before normalising.
    LowerIsBetter,
}

impl Direction {
    /// `1.0` or `-1.0`.
    pub fn sign(self) -> f64 {
        match self {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        }
    }

    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
        }
    }
}

/// An output range `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    /// Value given to the worst unit (or the lower goalpost).
    pub lo: f64,
    /// Value given to the best unit (or the upper goalpost).
    pub hi: f64,
}

impl Scale {
    /// `[0, 1]`.
    pub const UNIT: Scale = Scale { lo: 0.0, hi: 1.0 };
    /// `[0, 100]`.
    pub const PERCENT: Scale = Scale { lo: 0.0, hi: 100.0 };
}

/// Goalposts of an indicator: `lower` maps to 0 and `upper` to 1 (before direction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Goalposts {
    /// Lower goalpost.
    pub lower: f64,
    /// Upper goalpost.
    pub upper: f64,
}

/// A normalisation method with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Normalisation {
    /// Raw values unchanged (for inputs that are already indices).
    None,
    /// Min-max scaling to `scale`.
    #[serde(rename = "minmax")]
    MinMax {
        /// Output range.
        scale: Scale,
    },
    /// Z-score, rescaled to the given mean and standard deviation.
    #[serde(rename = "zscore")]
    ZScore {
        /// Mean of the output.
        mean: f64,
        /// Standard deviation of the output (> 0).
        sd: f64,
    },
    /// Z-score followed by min-max of the z-scores to `scale`.
    #[serde(rename = "zscore_minmax")]
    ZScoreMinMax {
        /// Output range.
        scale: Scale,
    },
    /// Rank, 1 = worst; ties share the lowest rank.
    Rank,
    /// Percentile rank in `[0, 1]`.
    PercentileRank,
    /// Fraction of the way from the minimum to the indicator's target.
    DistanceToTarget {
        /// Cap values beyond the target at 1.
        cap: bool,
    },
    /// Position relative to a reference unit's value.
    DistanceToReference {
        /// Code of the reference unit.
        reference: String,
        /// Cap values beyond the reference at 1.
        cap: bool,
    },
    /// Clamped position between the indicator's goalposts, scaled to `scale`.
    Goalposts {
        /// Output range.
        scale: Scale,
    },
}

impl Normalisation {
    /// Min-max to `[0, 1]`.
    pub fn minmax() -> Self {
        Normalisation::MinMax { scale: Scale::UNIT }
    }

    /// Standard z-score (mean 0, sd 1).
    pub fn zscore() -> Self {
        Normalisation::ZScore { mean: 0.0, sd: 1.0 }
    }

    /// The name used in model files.
    pub fn name(&self) -> &'static str {
        match self {
            Normalisation::None => "none",
            Normalisation::MinMax { .. } => "minmax",
            Normalisation::ZScore { .. } => "zscore",
            Normalisation::ZScoreMinMax { .. } => "zscore_minmax",
            Normalisation::Rank => "rank",
            Normalisation::PercentileRank => "percentile_rank",
            Normalisation::DistanceToTarget { .. } => "distance_to_target",
            Normalisation::DistanceToReference { .. } => "distance_to_reference",
            Normalisation::Goalposts { .. } => "goalposts",
        }
    }
}

/// Per-column parameters a normalisation may need.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NormaliseContext {
    /// Direction of the indicator (node rescaling always uses `HigherIsBetter`).
    pub direction: Direction,
    /// Target value (`distance_to_target`).
    pub target: Option<f64>,
    /// Goalposts (`goalposts`).
    pub goalposts: Option<Goalposts>,
    /// Row index of the reference unit (`distance_to_reference`).
    pub reference: Option<usize>,
}

/// Why a normalisation failed (converted into [`EngineError::Degenerate`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NormFailure {
    pub method: &'static str,
    pub reason: String,
}

impl NormFailure {
    pub(crate) fn into_error(self, node: &str) -> EngineError {
        EngineError::Degenerate {
            node: node.to_string(),
            method: self.method,
            reason: self.reason,
        }
    }
}

/// Normalises one column (`NaN` = missing) and returns the normalised column.
/// `code` only labels errors.
pub fn normalise(
    code: &str,
    values: &[f64],
    method: &Normalisation,
    ctx: &NormaliseContext,
) -> Result<Vec<f64>> {
    let mut out = vec![f64::NAN; values.len()];
    normalise_into(values, method, ctx, &mut out).map_err(|f| f.into_error(code))?;
    Ok(out)
}

/// Min and max of the (sign-adjusted) non-missing values (`None` when there
/// are none) and the number of non-missing values. Branch-free lanes so that
/// the loop vectorises.
fn min_max_count(x: &[f64], sign: f64) -> (Option<(f64, f64)>, usize) {
    const L: usize = 4;
    let mut lo = [f64::INFINITY; L];
    let mut hi = [f64::NEG_INFINITY; L];
    let mut missing = [0usize; L];
    let chunks = x.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..L {
            let v = sign * c[k];
            // NaN compares false and leaves the lanes unchanged.
            lo[k] = if v < lo[k] { v } else { lo[k] };
            hi[k] = if v > hi[k] { v } else { hi[k] };
            missing[k] += usize::from(v.is_nan());
        }
    }
    for (k, &v) in rest.iter().enumerate() {
        let v = sign * v;
        lo[k] = if v < lo[k] { v } else { lo[k] };
        hi[k] = if v > hi[k] { v } else { hi[k] };
        missing[k] += usize::from(v.is_nan());
    }
    let present = x.len() - missing.iter().sum::<usize>();
    let lo = lo.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = hi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    ((present > 0).then_some((lo, hi)), present)
}

/// Count, mean and sample standard deviation of the non-missing values.
fn mean_sd(x: &[f64], sign: f64) -> (usize, f64, f64) {
    let mut n = 0usize;
    let mut sum = 0.0;
    for &v in x {
        if !v.is_nan() {
            n += 1;
            sum += sign * v;
        }
    }
    if n == 0 {
        return (0, f64::NAN, f64::NAN);
    }
    let mean = sum / n as f64;
    let mut ss = 0.0;
    for &v in x {
        if !v.is_nan() {
            let d = sign * v - mean;
            ss += d * d;
        }
    }
    let sd = if n > 1 {
        (ss / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    (n, mean, sd)
}

/// Min-ranks (1 = lowest value) of the non-missing values, written to `out`.
/// Returns the number of ranked values.
fn min_ranks(x: &[f64], sign: f64, out: &mut [f64]) -> usize {
    let mut pairs: Vec<(f64, u32)> = x
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (sign * v, i as u32))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank = 0usize;
    let mut prev = f64::NAN;
    for (pos, &(v, i)) in pairs.iter().enumerate() {
        if pos == 0 || v != prev {
            rank = pos + 1;
            prev = v;
        }
        out[i as usize] = rank as f64;
    }
    pairs.len()
}

fn degenerate(method: &'static str, reason: impl Into<String>) -> NormFailure {
    NormFailure {
        method,
        reason: reason.into(),
    }
}

/// Checks that an affine map can be applied in floating point: the spread of the
/// values it reads (`span`) must be finite, so that differences do not overflow, and
/// its factor a positive normal number: an infinite or zero factor would turn finite
/// values into `NaN` (`inf * 0`) or collapse them onto one value, and a subnormal one
/// has lost the precision that keeps results within their bounds. Fails only for
/// magnitudes near the limits of `f64` (e.g. values beyond +-1e307, or a span of
/// 1e-320).
fn check_affine(
    method: &'static str,
    span: f64,
    factor: f64,
) -> std::result::Result<(), NormFailure> {
    if span.is_finite() && factor.is_normal() && factor > 0.0 {
        Ok(())
    } else {
        Err(degenerate(
            method,
            "the values and parameters are too far apart (or too close) to normalise in \
             floating point",
        ))
    }
}

/// A prepared normalisation of one column: either an affine map (optionally
/// clamped) of the raw values, applied on the fly, or explicit values (ranks).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transform {
    Affine(Affine),
    Values(Vec<f64>),
}

/// `y = clamp(shift_out + (sign * x - shift_in) * factor, lo, hi)`; `NaN` stays `NaN`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Affine {
    sign: f64,
    shift_in: f64,
    factor: f64,
    shift_out: f64,
    lo: f64,
    hi: f64,
}

impl Affine {
    fn new(sign: f64, shift_in: f64, factor: f64, shift_out: f64) -> Self {
        Affine {
            sign,
            shift_in,
            factor,
            shift_out,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        }
    }

    fn clamped(self, lo: f64, hi: f64) -> Self {
        Affine { lo, hi, ..self }
    }

    /// True when no clamping is applied.
    pub(crate) fn is_unclamped(&self) -> bool {
        self.lo == f64::NEG_INFINITY && self.hi == f64::INFINITY
    }

    /// The map without clamping (equal to [`Affine::apply`] when unclamped).
    #[inline(always)]
    pub(crate) fn apply_linear(&self, x: f64) -> f64 {
        self.shift_out + (self.sign * x - self.shift_in) * self.factor
    }

    /// Applies the map to one value.
    #[inline(always)]
    pub(crate) fn apply(&self, x: f64) -> f64 {
        let y = self.shift_out + (self.sign * x - self.shift_in) * self.factor;
        if y < self.lo {
            self.lo
        } else if y > self.hi {
            self.hi
        } else {
            y
        }
    }
}

impl Transform {
    /// Writes the normalised values of `x` into `out`.
    pub(crate) fn apply_into(&self, x: &[f64], out: &mut [f64]) {
        match self {
            Transform::Affine(a) => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = a.apply(v);
                }
            }
            Transform::Values(v) => out.copy_from_slice(v),
        }
    }

    /// The normalised column of `x`.
    pub(crate) fn apply(&self, x: &[f64]) -> Vec<f64> {
        match self {
            Transform::Affine(a) => x.iter().map(|&v| a.apply(v)).collect(),
            Transform::Values(v) => v.clone(),
        }
    }
}

/// Core normalisation into a preallocated buffer of the same length.
pub(crate) fn normalise_into(
    x: &[f64],
    method: &Normalisation,
    ctx: &NormaliseContext,
    out: &mut [f64],
) -> std::result::Result<(), NormFailure> {
    debug_assert_eq!(x.len(), out.len());
    prepare(x, method, ctx)?.0.apply_into(x, out);
    Ok(())
}

/// Computes the column statistics a method needs and returns the transform
/// and whether the column has missing values.
pub(crate) fn prepare(
    x: &[f64],
    method: &Normalisation,
    ctx: &NormaliseContext,
) -> std::result::Result<(Transform, bool), NormFailure> {
    let s = ctx.direction.sign();
    let name = method.name();
    let (range, present) = min_max_count(x, s);
    let has_missing = present < x.len();
    // Every value missing: the result is all missing whatever the method.
    let all_missing = (
        Transform::Affine(Affine::new(s, 0.0, f64::NAN, 0.0)),
        has_missing,
    );
    let t = match method {
        Normalisation::None => Affine::new(s, 0.0, 1.0, 0.0),
        Normalisation::MinMax { scale } | Normalisation::ZScoreMinMax { scale } => {
            // z-scoring is affine, so min-max of z-scores equals min-max of the values.
            let Some((lo, hi)) = range else {
                return Ok(all_missing);
            };
            if hi <= lo {
                return Err(degenerate(
                    name,
                    format!("all values are equal ({})", s * lo),
                ));
            }
            let factor = (scale.hi - scale.lo) / (hi - lo);
            check_affine(name, hi - lo, factor)?;
            // Clamped: rounding may otherwise put the best value an ulp above `hi`.
            Affine::new(s, lo, factor, scale.lo).clamped(scale.lo, scale.hi)
        }
        Normalisation::ZScore { mean: m, sd: d } => {
            let (n, mean, sd) = mean_sd(x, s);
            if n == 0 {
                return Ok(all_missing);
            }
            if n < 2 || sd.is_nan() || sd <= 0.0 {
                return Err(degenerate(
                    name,
                    "needs at least two distinct values (standard deviation is 0)",
                ));
            }
            let (lo, hi) = range.unwrap_or((mean, mean));
            if !mean.is_finite() {
                return Err(degenerate(name, "the sum of the values overflows"));
            }
            check_affine(name, hi - lo, d / sd)?;
            Affine::new(s, mean, d / sd, *m)
        }
        Normalisation::Rank => {
            let mut out = vec![f64::NAN; x.len()];
            min_ranks(x, s, &mut out);
            return Ok((Transform::Values(out), has_missing));
        }
        Normalisation::PercentileRank => {
            let mut out = vec![f64::NAN; x.len()];
            let n = min_ranks(x, s, &mut out);
            if n == 1 {
                return Err(degenerate(name, "needs at least two values"));
            }
            let d = (n.max(2) - 1) as f64;
            for o in out.iter_mut() {
                *o = (*o - 1.0) / d;
            }
            return Ok((Transform::Values(out), has_missing));
        }
        Normalisation::DistanceToTarget { cap } => {
            let Some(t) = ctx.target else {
                return Err(degenerate(name, "the indicator has no target"));
            };
            let Some((lo, hi)) = range else {
                return Ok(all_missing);
            };
            let t = s * t;
            if t <= lo {
                return Err(degenerate(
                    name,
                    format!(
                        "the target ({}) is not beyond the worst value ({})",
                        s * t,
                        s * lo
                    ),
                ));
            }
            check_affine(name, hi - lo, 1.0 / (t - lo))?;
            let a = Affine::new(s, lo, 1.0 / (t - lo), 0.0);
            if *cap {
                a.clamped(f64::NEG_INFINITY, 1.0)
            } else {
                a
            }
        }
        Normalisation::DistanceToReference { reference, cap } => {
            let Some(r) = ctx.reference else {
                return Err(degenerate(
                    name,
                    format!("reference unit {reference:?} is not resolved"),
                ));
            };
            let Some(&xr) = x.get(r) else {
                return Err(degenerate(
                    name,
                    format!("reference unit {reference:?} out of range"),
                ));
            };
            if xr.is_nan() {
                return Err(degenerate(
                    name,
                    format!("reference unit {reference:?} has no value"),
                ));
            }
            let xr = s * xr;
            let Some((lo, hi)) = range else {
                return Ok(all_missing);
            };
            if xr <= lo {
                return Err(degenerate(
                    name,
                    format!("reference unit {reference:?} has the worst value"),
                ));
            }
            // 1 - (xr - x) / (xr - lo) = 1 + (x - xr) / (xr - lo)
            check_affine(name, hi - lo, 1.0 / (xr - lo))?;
            let a = Affine::new(s, xr, 1.0 / (xr - lo), 1.0);
            if *cap {
                a.clamped(f64::NEG_INFINITY, 1.0)
            } else {
                a
            }
        }
        Normalisation::Goalposts { scale } => {
            let Some(g) = ctx.goalposts else {
                return Err(degenerate(name, "the indicator has no goalposts"));
            };
            let (lo, hi) = if s > 0.0 {
                (g.lower, g.upper)
            } else {
                (-g.upper, -g.lower)
            };
            if hi <= lo {
                return Err(degenerate(name, "goalposts must satisfy lower < upper"));
            }
            let factor = (scale.hi - scale.lo) / (hi - lo);
            // Values beyond the goalposts may overflow `x - lower`: they are clamped.
            check_affine(name, hi - lo, factor)?;
            Affine::new(s, lo, factor, scale.lo).clamped(scale.lo, scale.hi)
        }
    };
    Ok((Transform::Affine(t), has_missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn ctx() -> NormaliseContext {
        NormaliseContext::default()
    }

    fn lower() -> NormaliseContext {
        NormaliseContext {
            direction: Direction::LowerIsBetter,
            ..Default::default()
        }
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x.is_nan() || y.is_nan() {
                assert!(x.is_nan() && y.is_nan(), "index {i}: {x} vs {y}");
            } else {
                assert!((x - y).abs() < 1e-12, "index {i}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn none_keeps_values_and_negates_lower_is_better() {
        let x = [0.2, NAN, 0.7];
        close(
            &normalise("i", &x, &Normalisation::None, &ctx()).unwrap(),
            &x,
        );
        close(
            &normalise("i", &x, &Normalisation::None, &lower()).unwrap(),
            &[-0.2, NAN, -0.7],
        );
    }

    #[test]
    fn minmax_unit_percent_and_inverted() {
        let x = [2.0, 4.0, NAN, 10.0];
        close(
            &normalise("i", &x, &Normalisation::minmax(), &ctx()).unwrap(),
            &[0.0, 0.25, NAN, 1.0],
        );
        let pct = Normalisation::MinMax {
            scale: Scale::PERCENT,
        };
        close(
            &normalise("i", &x, &pct, &ctx()).unwrap(),
            &[0.0, 25.0, NAN, 100.0],
        );
        // lower is better: (max - x) / (max - min)
        close(
            &normalise("i", &x, &Normalisation::minmax(), &lower()).unwrap(),
            &[1.0, 0.75, NAN, 0.0],
        );
    }

    #[test]
    fn minmax_constant_column_is_an_error_and_all_missing_is_not() {
        let err = normalise("ind1", &[3.0, 3.0], &Normalisation::minmax(), &ctx()).unwrap_err();
        assert!(matches!(err, EngineError::Degenerate { ref node, .. } if node == "ind1"));
        let out = normalise("i", &[NAN, NAN], &Normalisation::minmax(), &ctx()).unwrap();
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn zscore_uses_sample_sd() {
        // mean 4, sample sd = sqrt(((2-4)^2 + 0 + (6-4)^2) / 2) = 2
        let x = [2.0, 4.0, 6.0];
        close(
            &normalise("i", &x, &Normalisation::zscore(), &ctx()).unwrap(),
            &[-1.0, 0.0, 1.0],
        );
        let custom = Normalisation::ZScore {
            mean: 10.0,
            sd: 2.0,
        };
        close(
            &normalise("i", &x, &custom, &ctx()).unwrap(),
            &[8.0, 10.0, 12.0],
        );
        close(
            &normalise("i", &x, &Normalisation::zscore(), &lower()).unwrap(),
            &[1.0, 0.0, -1.0],
        );
        assert!(normalise("i", &[1.0], &Normalisation::zscore(), &ctx()).is_err());
    }

    #[test]
    fn zscore_minmax_equals_minmax_on_one_column() {
        let x = [1.0, 3.0, 4.0, NAN, 9.0];
        let m = Normalisation::ZScoreMinMax { scale: Scale::UNIT };
        close(
            &normalise("i", &x, &m, &ctx()).unwrap(),
            &[0.0, 0.25, 0.375, NAN, 1.0],
        );
    }

    #[test]
    fn rank_and_percentile_rank_use_min_ties() {
        let x = [5.0, 1.0, 5.0, NAN, 3.0];
        close(
            &normalise("i", &x, &Normalisation::Rank, &ctx()).unwrap(),
            &[3.0, 1.0, 3.0, NAN, 2.0],
        );
        // n = 4: (rank - 1) / 3
        close(
            &normalise("i", &x, &Normalisation::PercentileRank, &ctx()).unwrap(),
            &[2.0 / 3.0, 0.0, 2.0 / 3.0, NAN, 1.0 / 3.0],
        );
        // lower is better: 1 is best
        close(
            &normalise("i", &x, &Normalisation::Rank, &lower()).unwrap(),
            &[1.0, 4.0, 1.0, NAN, 3.0],
        );
    }

    #[test]
    fn distance_to_target_capped_and_inverted() {
        let x = [0.0, 50.0, 120.0];
        let c = NormaliseContext {
            target: Some(100.0),
            ..Default::default()
        };
        close(
            &normalise("i", &x, &Normalisation::DistanceToTarget { cap: true }, &c).unwrap(),
            &[0.0, 0.5, 1.0],
        );
        close(
            &normalise("i", &x, &Normalisation::DistanceToTarget { cap: false }, &c).unwrap(),
            &[0.0, 0.5, 1.2],
        );
        // lower is better with target 20: (max - x) / (max - target) = (120 - x) / 100
        let c = NormaliseContext {
            target: Some(20.0),
            direction: Direction::LowerIsBetter,
            ..Default::default()
        };
        close(
            &normalise("i", &x, &Normalisation::DistanceToTarget { cap: true }, &c).unwrap(),
            &[1.0, 0.7, 0.0],
        );
        let c = NormaliseContext {
            target: Some(-1.0),
            ..Default::default()
        };
        assert!(normalise("i", &x, &Normalisation::DistanceToTarget { cap: true }, &c).is_err());
    }

    #[test]
    fn distance_to_reference() {
        // ref = 8, min = 2: 1 - (8 - x) / 6
        let x = [2.0, 5.0, 8.0, 14.0];
        let m = Normalisation::DistanceToReference {
            reference: "C".into(),
            cap: false,
        };
        let c = NormaliseContext {
            reference: Some(2),
            ..Default::default()
        };
        close(&normalise("i", &x, &m, &c).unwrap(), &[0.0, 0.5, 1.0, 2.0]);
        let capped = Normalisation::DistanceToReference {
            reference: "C".into(),
            cap: true,
        };
        close(
            &normalise("i", &x, &capped, &c).unwrap(),
            &[0.0, 0.5, 1.0, 1.0],
        );
        let missing_ref = NormaliseContext {
            reference: Some(1),
            ..Default::default()
        };
        assert!(normalise("i", &[1.0, NAN], &m, &missing_ref).is_err());
    }

    #[test]
    fn minmax_never_leaves_its_scale() {
        // (max - min) * (100 / (max - min)) rounds to 100.00000000000001 here.
        let x = [-677606234.9830194, 938399984.1743653];
        let out = normalise(
            "i",
            &x,
            &Normalisation::MinMax {
                scale: Scale::PERCENT,
            },
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, [0.0, 100.0]);
    }

    #[test]
    fn ranges_beyond_f64_are_errors_not_nans() {
        let is_degenerate = |r: Result<Vec<f64>>| matches!(r, Err(EngineError::Degenerate { .. }));
        // max - min overflows: (x - min) * 0 would be inf * 0 = NaN.
        let wide = [-9.746340790964664e297, f64::MAX];
        assert!(is_degenerate(normalise(
            "i",
            &wide,
            &Normalisation::minmax(),
            &ctx()
        )));
        assert!(is_degenerate(normalise(
            "i",
            &wide,
            &Normalisation::zscore(),
            &ctx()
        )));
        // target - min is subnormal: its inverse overflows.
        let c = NormaliseContext {
            target: Some(-0.0),
            direction: Direction::LowerIsBetter,
            ..Default::default()
        };
        let m = Normalisation::DistanceToTarget { cap: true };
        assert!(is_degenerate(normalise("i", &[5e-324], &m, &c)));
        // scale width / goalpost width underflows to 0: everyone would get `lo`.
        let c = NormaliseContext {
            goalposts: Some(Goalposts {
                lower: -3.156968813925993e277,
                upper: 0.0,
            }),
            ..Default::default()
        };
        let g = Normalisation::Goalposts {
            scale: Scale {
                lo: -6.1093680768458905e-130,
                hi: 0.0,
            },
        };
        assert!(is_degenerate(normalise("i", &[0.0], &g, &c)));
        // A subnormal factor (1 / 1.7e308) loses precision: the worst unit would get
        // -4.4e-16 instead of 0.
        let c = NormaliseContext {
            reference: Some(0),
            ..Default::default()
        };
        let m = Normalisation::DistanceToReference {
            reference: "A".into(),
            cap: true,
        };
        assert!(is_degenerate(normalise(
            "i",
            &[0.0, -1.6891465023365115e308],
            &m,
            &c
        )));
    }

    #[test]
    fn goalposts_clamp_and_invert() {
        let x = [-10.0, 25.0, 50.0, 200.0, NAN];
        let c = NormaliseContext {
            goalposts: Some(Goalposts {
                lower: 0.0,
                upper: 100.0,
            }),
            ..Default::default()
        };
        let g = Normalisation::Goalposts { scale: Scale::UNIT };
        close(
            &normalise("i", &x, &g, &c).unwrap(),
            &[0.0, 0.25, 0.5, 1.0, NAN],
        );
        let c = NormaliseContext {
            direction: Direction::LowerIsBetter,
            ..c
        };
        close(
            &normalise("i", &x, &g, &c).unwrap(),
            &[1.0, 0.75, 0.5, 0.0, NAN],
        );
        let pct = Normalisation::Goalposts {
            scale: Scale::PERCENT,
        };
        close(&normalise("i", &[25.0], &pct, &c).unwrap(), &[75.0]);
    }
}
