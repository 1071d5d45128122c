//! Aggregation of child scores into a parent score.
//!
//! For one unit, let `P` be the children that have a score (not missing) and a
//! positive weight, and `W = sum of w_c over P` (weights are renormalised over the
//! children with data). Then
//!
//! | method | score |
//! |---|---|
//! | `arithmetic` | `sum(w_c x_c) / W` |
//! | `geometric` | `exp(sum(w_c ln x_c) / W)` |
//! | `harmonic` | `W / sum(w_c / x_c)` |
//! | `power` (generalised mean, parameter `p`) | `(sum(w_c x_c^p) / W)^(1/p)`; `p = 0` is geometric, `1` arithmetic, `-1` harmonic |
//!
//! **Zeros and negatives.** Geometric, harmonic and power means with `p <= 0`
//! need strictly positive values; power means with `p > 0` need non-negative
//! values. By default ([`ZeroHandling::Error`]) an out-of-domain value is an error
//! naming the node and unit. With [`ZeroHandling::Offset`]`(c)` every value is
//! shifted by `c` before aggregating and the result is shifted back
//! (`M(x + c) - c`), which keeps the mean of equal values equal to that value and
//! keeps zeros from annihilating a geometric mean; values with `x + c` still out
//! of the domain remain an error. Children with weight 0 are ignored (a zero
//! weight is a zero exponent).
//!
//! **Data availability.** A node with `k` children is computed for a unit when
//! the number of children with data, `m`, satisfies `m / k >= threshold` (and
//! `m >= 1`); otherwise it is missing. Without a threshold one child suffices.
//! If all children with data have weight 0 the node is missing.

use serde::{Deserialize, Serialize};

/// What to do with zeros (and negatives) in geometric, harmonic and power means.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroHandling {
    /// Out-of-domain values are an error (default).
    #[default]
    Error,
    /// Shift all values by this positive constant, aggregate, shift back.
    Offset(f64),
}

impl ZeroHandling {
    fn offset(self) -> f64 {
        match self {
            ZeroHandling::Error => 0.0,
            ZeroHandling::Offset(c) => c,
        }
    }
}

/// An aggregation method.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Aggregation {
    /// Weighted arithmetic mean (default).
    #[default]
    Arithmetic,
    /// Weighted geometric mean.
    Geometric {
        /// Zero handling.
        zeros: ZeroHandling,
    },
    /// Weighted harmonic mean.
    Harmonic {
        /// Zero handling.
        zeros: ZeroHandling,
    },
    /// Weighted generalised (power) mean with exponent `p`.
    Power {
        /// Exponent.
        p: f64,
        /// Zero handling.
        zeros: ZeroHandling,
    },
}

impl Aggregation {
    /// Geometric mean that errors on zeros.
    pub fn geometric() -> Self {
        Aggregation::Geometric {
            zeros: ZeroHandling::Error,
        }
    }

    /// Harmonic mean that errors on zeros.
    pub fn harmonic() -> Self {
        Aggregation::Harmonic {
            zeros: ZeroHandling::Error,
        }
    }

    /// The name used in model files.
    pub fn name(&self) -> &'static str {
        match self {
            Aggregation::Arithmetic => "arithmetic",
            Aggregation::Geometric { .. } => "geometric",
            Aggregation::Harmonic { .. } => "harmonic",
            Aggregation::Power { .. } => "power",
        }
    }

    /// Zero handling (always `Error` for arithmetic, which accepts any value).
    pub fn zeros(&self) -> ZeroHandling {
        match *self {
            Aggregation::Arithmetic => ZeroHandling::Error,
            Aggregation::Geometric { zeros }
            | Aggregation::Harmonic { zeros }
            | Aggregation::Power { zeros, .. } => zeros,
        }
    }

    /// True when child contributions `w_c x_c / W` add up to the parent's score.
    pub fn is_additive(&self) -> bool {
        self.kernel() == Kernel::Arithmetic
    }

    fn kernel(&self) -> Kernel {
        match *self {
            Aggregation::Arithmetic => Kernel::Arithmetic,
            Aggregation::Geometric { zeros } => Kernel::Geometric(zeros.offset()),
            Aggregation::Harmonic { zeros } => Kernel::Harmonic(zeros.offset()),
            Aggregation::Power { p, zeros } => {
                let c = zeros.offset();
                if p == 1.0 && c == 0.0 {
                    Kernel::Arithmetic
                } else if p == 0.0 {
                    Kernel::Geometric(c)
                } else if p == -1.0 {
                    Kernel::Harmonic(c)
                } else {
                    Kernel::Power(p, c)
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Arithmetic,
    Geometric(f64),
    Harmonic(f64),
    Power(f64, f64),
}

/// A value outside an aggregation's domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DomainError {
    /// The offending value (after the offset).
    pub value: f64,
    /// Method name.
    pub method: &'static str,
    /// Explanation.
    pub reason: &'static str,
}

fn domain_error(method: &Aggregation, kernel: Kernel, value: f64) -> DomainError {
    let reason = match kernel {
        Kernel::Power(p, _) if p > 0.0 => {
            "values must be >= 0; set an offset or use another method"
        }
        _ => "values must be > 0; set an offset (zeros = offset) or use another method",
    };
    DomainError {
        value,
        method: method.name(),
        reason,
    }
}

/// Aggregates one unit's child values (`NaN` = missing) with the given weights.
/// Returns `Ok(None)` when the data-availability rule leaves the node missing.
pub fn aggregate(
    values: &[f64],
    weights: &[f64],
    method: &Aggregation,
    threshold: Option<f64>,
) -> Result<Option<f64>, DomainError> {
    let mut acc = Accumulator::default();
    acc.reset(1);
    for (&v, &w) in values.iter().zip(weights) {
        accumulate(&mut acc, &[v], w, method, false).map_err(|(_, e)| e)?;
    }
    let mut out = [f64::NAN];
    finish(&acc, values.len(), method, threshold, &mut out);
    Ok((!out[0].is_nan()).then_some(out[0]))
}

/// Per-unit running sums for column-wise aggregation. Columns known to have no
/// missing value ("dense") only touch `sv`; their weight and count go to the
/// shared `base_w` / `base_cnt`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Accumulator {
    sw: Vec<f64>,
    sv: Vec<f64>,
    cnt: Vec<f64>,
    base_w: f64,
    base_cnt: f64,
    /// True once a column with missing values was added (`sw`/`cnt` in use).
    sparse: bool,
    n: usize,
}

impl Accumulator {
    pub(crate) fn reset(&mut self, n: usize) {
        self.sv.clear();
        self.sv.resize(n, 0.0);
        self.base_w = 0.0;
        self.base_cnt = 0.0;
        self.sparse = false;
        self.n = n;
    }

    fn start_sparse(&mut self) {
        if !self.sparse {
            self.sw.clear();
            self.sw.resize(self.n, 0.0);
            self.cnt.clear();
            self.cnt.resize(self.n, 0.0);
            self.sparse = true;
        }
    }
}

/// Adds one child column with weight `w`. On a domain error returns the unit index.
pub(crate) fn accumulate(
    acc: &mut Accumulator,
    col: &[f64],
    w: f64,
    method: &Aggregation,
    dense: bool,
) -> Result<(), (usize, DomainError)> {
    accumulate_map(acc, col, |x| x, w, method, dense)
}

/// Like [`accumulate`], with each raw value `x` of `col` read as `map(x)`
/// (used to normalise on the fly). `dense` promises that no value is missing.
pub(crate) fn accumulate_map<F: Fn(f64) -> f64>(
    acc: &mut Accumulator,
    col: &[f64],
    map: F,
    w: f64,
    method: &Aggregation,
    dense: bool,
) -> Result<(), (usize, DomainError)> {
    let n = col.len();
    if dense {
        acc.base_cnt += 1.0;
        if w <= 0.0 {
            return Ok(());
        }
        acc.base_w += w;
        return accumulate_dense(&mut acc.sv[..n], col, &map, w, method);
    }
    acc.start_sparse();
    let (sw, sv, cnt) = (&mut acc.sw[..n], &mut acc.sv[..n], &mut acc.cnt[..n]);
    if w <= 0.0 {
        // Counts for data availability only.
        for (c, &x) in cnt.iter_mut().zip(col) {
            *c += if map(x).is_nan() { 0.0 } else { 1.0 };
        }
        return Ok(());
    }
    let kernel = method.kernel();
    let mut bad = false;
    let cells = col
        .iter()
        .zip(cnt.iter_mut())
        .zip(sw.iter_mut())
        .zip(sv.iter_mut());
    match kernel {
        Kernel::Arithmetic => {
            for (((&raw, c), sw), sv) in cells {
                let x = map(raw);
                let p = !x.is_nan();
                *c += if p { 1.0 } else { 0.0 };
                *sw += if p { w } else { 0.0 };
                *sv += if p { w * x } else { 0.0 };
            }
        }
        Kernel::Geometric(off) => {
            for (((&raw, c), sw), sv) in cells {
                let x = map(raw);
                if !x.is_nan() {
                    let y = x + off;
                    bad |= y <= 0.0;
                    *c += 1.0;
                    *sw += w;
                    *sv += w * y.ln();
                }
            }
        }
        Kernel::Harmonic(off) => {
            for (((&raw, c), sw), sv) in cells {
                let x = map(raw);
                if !x.is_nan() {
                    let y = x + off;
                    bad |= y <= 0.0;
                    *c += 1.0;
                    *sw += w;
                    *sv += w / y;
                }
            }
        }
        Kernel::Power(p, off) => {
            let strict = p < 0.0;
            for (((&raw, c), sw), sv) in cells {
                let x = map(raw);
                if !x.is_nan() {
                    let y = x + off;
                    bad |= if strict { y <= 0.0 } else { y < 0.0 };
                    *c += 1.0;
                    *sw += w;
                    *sv += w * y.powf(p);
                }
            }
        }
    }
    if bad {
        return Err(first_domain_error(col, &map, method, kernel));
    }
    Ok(())
}

/// Kernel for a column without missing values: only the weighted sum varies.
fn accumulate_dense<F: Fn(f64) -> f64>(
    sv: &mut [f64],
    col: &[f64],
    map: &F,
    w: f64,
    method: &Aggregation,
) -> Result<(), (usize, DomainError)> {
    let kernel = method.kernel();
    let mut bad = false;
    match kernel {
        Kernel::Arithmetic => {
            for (s, &x) in sv.iter_mut().zip(col) {
                *s += w * map(x);
            }
        }
        Kernel::Geometric(off) => {
            for (s, &x) in sv.iter_mut().zip(col) {
                let y = map(x) + off;
                bad |= y <= 0.0;
                *s += w * y.ln();
            }
        }
        Kernel::Harmonic(off) => {
            for (s, &x) in sv.iter_mut().zip(col) {
                let y = map(x) + off;
                bad |= y <= 0.0;
                *s += w / y;
            }
        }
        Kernel::Power(p, off) => {
            let strict = p < 0.0;
            for (s, &x) in sv.iter_mut().zip(col) {
                let y = map(x) + off;
                bad |= if strict { y <= 0.0 } else { y < 0.0 };
                *s += w * y.powf(p);
            }
        }
    }
    if bad {
        return Err(first_domain_error(col, map, method, kernel));
    }
    Ok(())
}

/// Locates the first out-of-domain value of a column.
fn first_domain_error<F: Fn(f64) -> f64>(
    col: &[f64],
    map: &F,
    method: &Aggregation,
    kernel: Kernel,
) -> (usize, DomainError) {
    let strict = !matches!(kernel, Kernel::Power(p, _) if p > 0.0);
    let c = match kernel {
        Kernel::Arithmetic => 0.0,
        Kernel::Geometric(c) | Kernel::Harmonic(c) | Kernel::Power(_, c) => c,
    };
    for (u, &raw) in col.iter().enumerate() {
        let x = map(raw);
        let y = x + c;
        if !x.is_nan() && (y < 0.0 || (strict && y == 0.0)) {
            return (u, domain_error(method, kernel, y));
        }
    }
    (0, domain_error(method, kernel, f64::NAN))
}

/// Smallest number of children with data `m >= 1` such that `m / k >= t`
/// (infinite when none qualifies).
fn required_count(k: usize, t: f64) -> f64 {
    (1..=k)
        .find(|&m| m as f64 / k as f64 >= t)
        .map_or(f64::INFINITY, |m| m as f64)
}

/// Writes `f(sum of weighted values, sum of weights)` for every unit whose
/// count reaches `need`, `NaN` otherwise; returns true if some output is `NaN`.
#[inline(always)]
fn finish_with<F: Fn(f64, f64) -> f64>(
    acc: &Accumulator,
    need: f64,
    out: &mut [f64],
    f: F,
) -> bool {
    let (bw, bc) = (acc.base_w, acc.base_cnt);
    let n = out.len();
    let mut missing = false;
    if !acc.sparse {
        if bc >= need && bw > 0.0 {
            for (o, &sv) in out.iter_mut().zip(&acc.sv[..n]) {
                let y = f(sv, bw);
                missing |= y.is_nan();
                *o = y;
            }
        } else {
            out.fill(f64::NAN);
            missing = n > 0;
        }
        return missing;
    }
    let sums = acc.cnt[..n].iter().zip(&acc.sw[..n]).zip(&acc.sv[..n]);
    for (o, ((&m, &sw), &sv)) in out.iter_mut().zip(sums) {
        let m = m + bc;
        let sw = sw + bw;
        let y = if m >= need && sw > 0.0 {
            f(sv, sw)
        } else {
            f64::NAN
        };
        missing |= y.is_nan();
        *o = y;
    }
    missing
}

/// Turns the running sums into scores, applying the data-availability rule.
/// Returns true when some unit's score is missing.
pub(crate) fn finish(
    acc: &Accumulator,
    n_children: usize,
    method: &Aggregation,
    threshold: Option<f64>,
    out: &mut [f64],
) -> bool {
    let need = required_count(n_children.max(1), threshold.unwrap_or(0.0));
    match method.kernel() {
        Kernel::Arithmetic => finish_with(acc, need, out, |sv, sw| sv / sw),
        Kernel::Geometric(c) => finish_with(acc, need, out, |sv, sw| (sv / sw).exp() - c),
        Kernel::Harmonic(c) => finish_with(acc, need, out, |sv, sw| sw / sv - c),
        Kernel::Power(p, c) => {
            let inv = 1.0 / p;
            finish_with(acc, need, out, |sv, sw| (sv / sw).powf(inv) - c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn agg(v: &[f64], w: &[f64], m: Aggregation) -> Option<f64> {
        aggregate(v, w, &m, None).unwrap()
    }

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("missing");
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn arithmetic_weighted_and_equal() {
        close(
            agg(&[0.2, 0.4, 0.9], &[1.0, 1.0, 1.0], Aggregation::Arithmetic),
            0.5,
        );
        // (1*0.2 + 3*0.6) / 4 = 0.5
        close(agg(&[0.2, 0.6], &[1.0, 3.0], Aggregation::Arithmetic), 0.5);
    }

    #[test]
    fn weights_renormalise_over_children_with_data() {
        // (2*0.3 + 1*0.9) / 3 = 0.5, the missing child (weight 5) is dropped
        close(
            agg(&[0.3, NAN, 0.9], &[2.0, 5.0, 1.0], Aggregation::Arithmetic),
            0.5,
        );
        assert_eq!(agg(&[NAN, NAN], &[1.0, 1.0], Aggregation::Arithmetic), None);
        // only a zero-weight child has data
        assert_eq!(agg(&[NAN, 0.5], &[1.0, 0.0], Aggregation::Arithmetic), None);
    }

    #[test]
    fn geometric_and_harmonic() {
        // sqrt(2 * 8) = 4
        close(agg(&[2.0, 8.0], &[1.0, 1.0], Aggregation::geometric()), 4.0);
        // (1^1 * 8^2)^(1/3) = 4
        close(agg(&[1.0, 8.0], &[1.0, 2.0], Aggregation::geometric()), 4.0);
        // 2 / (1/2 + 1/6) = 3
        close(agg(&[2.0, 6.0], &[1.0, 1.0], Aggregation::harmonic()), 3.0);
    }

    #[test]
    fn power_mean() {
        // p = 2: sqrt((9 + 16 + 0) / 3)... use (3, 4): sqrt((9 + 16) / 2) = sqrt(12.5)
        let m = Aggregation::Power {
            p: 2.0,
            zeros: ZeroHandling::Error,
        };
        close(agg(&[3.0, 4.0], &[1.0, 1.0], m), 12.5f64.sqrt());
        // p = 2 accepts zeros: sqrt((0 + 4) / 2)
        close(agg(&[0.0, 2.0], &[1.0, 1.0], m), 2f64.sqrt());
        let p1 = Aggregation::Power {
            p: 1.0,
            zeros: ZeroHandling::Error,
        };
        close(agg(&[0.2, 0.6], &[1.0, 3.0], p1), 0.5);
        let p0 = Aggregation::Power {
            p: 0.0,
            zeros: ZeroHandling::Error,
        };
        close(agg(&[2.0, 8.0], &[1.0, 1.0], p0), 4.0);
        let pm1 = Aggregation::Power {
            p: -1.0,
            zeros: ZeroHandling::Error,
        };
        close(agg(&[2.0, 6.0], &[1.0, 1.0], pm1), 3.0);
        let half = Aggregation::Power {
            p: 0.5,
            zeros: ZeroHandling::Error,
        };
        // ((1 + 3) / 2)^2 = 4 for sqrt values 1 and 9
        close(agg(&[1.0, 9.0], &[1.0, 1.0], half), 4.0);
    }

    #[test]
    fn zeros_error_or_offset() {
        let err = aggregate(&[0.0, 4.0], &[1.0, 1.0], &Aggregation::geometric(), None).unwrap_err();
        assert_eq!(err.value, 0.0);
        assert_eq!(err.method, "geometric");
        assert!(aggregate(&[-1.0, 4.0], &[1.0, 1.0], &Aggregation::harmonic(), None).is_err());
        let neg_p = Aggregation::Power {
            p: 2.0,
            zeros: ZeroHandling::Error,
        };
        assert!(aggregate(&[-1.0, 4.0], &[1.0, 1.0], &neg_p, None).is_err());
        // offset 1: sqrt((0 + 1) * (3 + 1)) - 1 = 1
        let g = Aggregation::Geometric {
            zeros: ZeroHandling::Offset(1.0),
        };
        close(agg(&[0.0, 3.0], &[1.0, 1.0], g), 1.0);
        // offset keeps a constant vector constant
        close(agg(&[0.5, 0.5], &[1.0, 2.0], g), 0.5);
        // a zero-weight zero is ignored
        close(agg(&[0.0, 4.0], &[0.0, 1.0], Aggregation::geometric()), 4.0);
    }

    #[test]
    fn threshold_counts_children_with_data() {
        let v = [0.4, NAN, NAN, 0.8];
        let w = [1.0; 4];
        let m = Aggregation::Arithmetic;
        // 2 of 4 = 0.5
        close(aggregate(&v, &w, &m, Some(0.5)).unwrap(), 0.6);
        assert_eq!(aggregate(&v, &w, &m, Some(0.75)).unwrap(), None);
        assert!(aggregate(&v, &w, &m, Some(1.0)).unwrap().is_none());
        assert!(aggregate(&[0.1, 0.2], &[1.0, 1.0], &m, Some(1.0))
            .unwrap()
            .is_some());
    }
}
