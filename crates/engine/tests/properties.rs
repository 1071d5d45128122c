//! Property tests (proptest) of what the engine promises its users, on generated
//! data: the bounds of the normalisations that have them (MODEL_FORMAT.md,
//! `normalise` module docs), competition ranking ("1224") and its invariance under
//! reordering units (`rank` module docs), monotonicity of arithmetic aggregation in
//! each child (`aggregate` module docs) and of a composite score in each indicator
//! given its direction, invariance of scores and ranks under a change of an
//! indicator's unit (min-max, z-score and rank formulas), and reproducibility of the
//! uncertainty analysis for a seed, whatever the number of threads.
//!
//! Run: `cargo test -p govlens-engine --test properties`. A failing case is shrunk and
//! printed; proptest also stores its seed under `tests/proptest-regressions/`.

use govlens_engine::decimal::round_f64_half_up;
use govlens_engine::{
    aggregate, band_index, competition_ranks, normalise, rank::sort_bands, run_uncertainty,
    Aggregation, Band, Dataset, Direction, EngineError, Goalposts, Indicator, Model, Node,
    Normalisation, NormaliseContext, Ranking, Scale, ScoreOptions, UncertaintyConfig, WeightNoise,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// Any finite `f64`: normal, subnormal, zero, either sign, up to +-f64::MAX.
fn any_finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => proptest::num::f64::POSITIVE
            | proptest::num::f64::NEGATIVE
            | proptest::num::f64::NORMAL
            | proptest::num::f64::SUBNORMAL
            | proptest::num::f64::ZERO,
        2 => -1e6..1e6f64,
        // Small integers, so that ties and constant columns are common.
        2 => (-3i32..=3).prop_map(f64::from),
        1 => prop_oneof![Just(f64::MAX), Just(-f64::MAX), Just(f64::MIN_POSITIVE), Just(5e-324)],
    ]
}

/// Values as datasets hold them: magnitudes up to 1e9, two decimals, frequent ties.
fn data_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-100_000i64..=100_000).prop_map(|i| i as f64 / 100.0),
        1 => (0i32..=4).prop_map(f64::from),
        1 => -1e9..1e9f64,
    ]
}

/// A value or, one time in five, missing (`NaN`).
fn maybe_missing(v: impl Strategy<Value = f64>) -> impl Strategy<Value = f64> {
    prop_oneof![4 => v, 1 => Just(f64::NAN)]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::HigherIsBetter),
        Just(Direction::LowerIsBetter)
    ]
}

/// An output range `lo < hi`, both finite, from the usual `[0, 1]` to extremes.
fn any_scale() -> impl Strategy<Value = Scale> {
    prop_oneof![
        Just(Scale::UNIT),
        Just(Scale::PERCENT),
        (any_finite(), any_finite())
            .prop_filter("lo < hi", |(a, b)| a != b)
            .prop_map(|(a, b)| Scale {
                lo: a.min(b),
                hi: a.max(b),
            }),
    ]
}

/// A moderate output range (what model files use).
fn moderate_scale() -> impl Strategy<Value = Scale> {
    prop_oneof![
        Just(Scale::UNIT),
        Just(Scale::PERCENT),
        (-1000.0..1000.0f64, 1e-3..1000.0f64).prop_map(|(lo, width)| Scale { lo, hi: lo + width }),
    ]
}

fn ctx(direction: Direction) -> NormaliseContext {
    NormaliseContext {
        direction,
        ..Default::default()
    }
}

/// `1` for `higher_is_better`, `-1` for `lower_is_better` (independently of the engine).
fn sign(d: Direction) -> f64 {
    match d {
        Direction::HigherIsBetter => 1.0,
        Direction::LowerIsBetter => -1.0,
    }
}

/// The direction-adjusted value (what every method works on).
fn adjusted(x: f64, d: Direction) -> f64 {
    sign(d) * x
}

fn present(col: &[f64]) -> impl Iterator<Item = f64> + '_ {
    col.iter().copied().filter(|v| !v.is_nan())
}

/// `cases` cases per property (`PROPTEST_CASES=n` overrides it for a longer run);
/// failures are kept (by seed) in `tests/proptest-regressions/properties.txt` and
/// replayed first on the next run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// A normalisation failed the way the docs promise for undefined cases.
fn is_degenerate(e: &EngineError) -> bool {
    matches!(e, EngineError::Degenerate { .. })
}

// ---------------------------------------------------------------------------
// Normalisation bounds
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    /// `minmax` maps into `[lo, hi]` for any finite values and any finite scale;
    /// missing values stay missing; a column whose values are all equal is an error
    /// (never `NaN`s), and so is any other column it cannot normalise.
    #[test]
    fn minmax_stays_within_its_scale_for_any_finite_values(
        col in prop::collection::vec(maybe_missing(any_finite()), 1..24),
        scale in any_scale(),
        d in direction(),
    ) {
        let m = Normalisation::MinMax { scale };
        let out = normalise("x", &col, &m, &ctx(d));
        let mut distinct: Vec<f64> = present(&col).map(|v| v + 0.0).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        match out {
            Ok(out) => {
                prop_assert!(distinct.len() != 1, "constant column normalised: {:?}", out);
                for (x, y) in col.iter().zip(&out) {
                    if x.is_nan() {
                        prop_assert!(y.is_nan());
                    } else {
                        prop_assert!(
                            scale.lo <= *y && *y <= scale.hi,
                            "{} -> {} outside [{}, {}]", x, y, scale.lo, scale.hi
                        );
                    }
                }
            }
            Err(e) => prop_assert!(is_degenerate(&e), "{}", e),
        }
    }

    /// On the magnitudes datasets hold, `minmax` of a column with two or more distinct
    /// values succeeds: the worst unit gets exactly `lo`, the best `hi` (to rounding),
    /// everything lies in `[lo, hi]` and the order of units is kept (reversed for
    /// `lower_is_better`).
    #[test]
    fn minmax_maps_worst_to_lo_best_to_hi_and_keeps_order(
        col in prop::collection::vec(maybe_missing(data_value()), 2..24),
        scale in moderate_scale(),
        d in direction(),
    ) {
        let xs: Vec<f64> = present(&col).map(|x| adjusted(x, d)).collect();
        let (min, max) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        prop_assume!(xs.len() >= 2 && min < max);
        let out = normalise("x", &col, &Normalisation::MinMax { scale }, &ctx(d)).unwrap();
        let tol = 1e-12 * (scale.hi - scale.lo).max(scale.hi.abs()).max(1.0);
        for (i, (&x, &y)) in col.iter().zip(&out).enumerate() {
            if x.is_nan() {
                prop_assert!(y.is_nan());
                continue;
            }
            prop_assert!(scale.lo <= y && y <= scale.hi, "{} -> {}", x, y);
            let a = adjusted(x, d);
            if a == min {
                prop_assert_eq!(y, scale.lo);
            }
            if a == max {
                prop_assert!((y - scale.hi).abs() <= tol, "best {} -> {}, not {}", x, y, scale.hi);
            }
            for (&x2, &y2) in col.iter().zip(&out).skip(i + 1) {
                if !x2.is_nan() && adjusted(x2, d) <= a {
                    prop_assert!(y2 <= y, "order: {} -> {}, {} -> {}", x, y, x2, y2);
                }
            }
        }
    }

    /// `goalposts` clamps into `[lo, hi]` for any finite value and any finite goalposts:
    /// values at or below the lower goalpost (for `higher_is_better`) get `lo`, at or
    /// above the upper one `hi`.
    #[test]
    fn goalposts_clamp_into_the_scale(
        col in prop::collection::vec(maybe_missing(any_finite()), 1..16),
        a in any_finite(),
        b in any_finite(),
        scale in any_scale(),
        d in direction(),
    ) {
        prop_assume!(a != b);
        let g = Goalposts { lower: a.min(b), upper: a.max(b) };
        let c = NormaliseContext { direction: d, goalposts: Some(g), ..Default::default() };
        match normalise("x", &col, &Normalisation::Goalposts { scale }, &c) {
            Ok(out) => {
                for (&x, &y) in col.iter().zip(&out) {
                    if x.is_nan() {
                        prop_assert!(y.is_nan());
                        continue;
                    }
                    prop_assert!(scale.lo <= y && y <= scale.hi, "{} -> {} outside [{}, {}]", x, y, scale.lo, scale.hi);
                    let (worst, best) = match d {
                        Direction::HigherIsBetter => (x <= g.lower, x >= g.upper),
                        Direction::LowerIsBetter => (x >= g.upper, x <= g.lower),
                    };
                    if worst {
                        prop_assert_eq!(y, scale.lo, "{} is at or beyond the worst goalpost", x);
                    }
                    if best {
                        let tol = 1e-12 * scale.hi.abs().max(scale.lo.abs());
                        prop_assert!((y - scale.hi).abs() <= tol, "{} is at or beyond the best goalpost: {}", x, y);
                    }
                }
            }
            Err(e) => prop_assert!(is_degenerate(&e), "{}", e),
        }
    }

    /// `distance_to_target` with `cap` (the default) lies in `[0, 1]`: 0 for the worst
    /// unit, 1 at or beyond the target.
    #[test]
    fn capped_distance_to_target_lies_in_0_1(
        col in prop::collection::vec(maybe_missing(any_finite()), 1..16),
        target in any_finite(),
        d in direction(),
    ) {
        let c = NormaliseContext { direction: d, target: Some(target), ..Default::default() };
        let worst = present(&col).map(|x| adjusted(x, d)).fold(f64::INFINITY, f64::min);
        match normalise("x", &col, &Normalisation::DistanceToTarget { cap: true }, &c) {
            Ok(out) => {
                for (&x, &y) in col.iter().zip(&out) {
                    if x.is_nan() {
                        prop_assert!(y.is_nan());
                        continue;
                    }
                    prop_assert!((0.0..=1.0).contains(&y), "{} -> {}", x, y);
                    if adjusted(x, d) == worst {
                        prop_assert_eq!(y, 0.0);
                    }
                }
            }
            Err(e) => prop_assert!(is_degenerate(&e), "{}", e),
        }
    }

    /// `distance_to_reference` with `cap` lies in `[0, 1]`: 0 for the worst unit, 1 for
    /// the reference unit and anyone better.
    #[test]
    fn capped_distance_to_reference_lies_in_0_1(
        col in prop::collection::vec(any_finite(), 1..16),
        r in any::<Index>(),
        d in direction(),
    ) {
        let r = r.index(col.len());
        let c = NormaliseContext { direction: d, reference: Some(r), ..Default::default() };
        let m = Normalisation::DistanceToReference { reference: "ref".into(), cap: true };
        let worst = col.iter().map(|&x| adjusted(x, d)).fold(f64::INFINITY, f64::min);
        match normalise("x", &col, &m, &c) {
            Ok(out) => {
                for (&x, &y) in col.iter().zip(&out) {
                    prop_assert!((0.0..=1.0).contains(&y), "{} -> {}", x, y);
                    // 1 - d * (1 / d) is 0 or one rounding error away from it.
                    if adjusted(x, d) == worst {
                        prop_assert!(y <= 1e-15, "worst {} -> {}", x, y);
                    }
                    if adjusted(x, d) >= adjusted(col[r], d) {
                        prop_assert_eq!(y, 1.0, "{} is at least the reference {}", x, col[r]);
                    }
                }
            }
            Err(e) => prop_assert!(is_degenerate(&e), "{}", e),
        }
    }

    /// `rank` is `1 + number of (direction-adjusted) smaller values`, in `[1, n]`, ties
    /// sharing the lowest rank; `percentile_rank` is `(rank - 1) / (n - 1)`, in `[0, 1]`.
    #[test]
    fn rank_and_percentile_rank_follow_their_definition(
        col in prop::collection::vec(maybe_missing(any_finite()), 1..24),
        d in direction(),
    ) {
        let xs: Vec<f64> = present(&col).map(|x| adjusted(x, d)).collect();
        let n = xs.len();
        let ranks = normalise("x", &col, &Normalisation::Rank, &ctx(d)).unwrap();
        let pct = normalise("x", &col, &Normalisation::PercentileRank, &ctx(d));
        if n == 1 {
            prop_assert!(pct.as_ref().is_err_and(is_degenerate));
        }
        for (i, &x) in col.iter().enumerate() {
            if x.is_nan() {
                prop_assert!(ranks[i].is_nan());
                continue;
            }
            let a = adjusted(x, d);
            let expected = 1 + xs.iter().filter(|&&y| y < a).count();
            prop_assert_eq!(ranks[i], expected as f64, "value {}", x);
            prop_assert!(ranks[i] >= 1.0 && ranks[i] <= n as f64);
            if n >= 2 {
                let p = pct.as_ref().unwrap()[i];
                prop_assert!((0.0..=1.0).contains(&p), "{} -> {}", x, p);
                prop_assert!((p - (expected - 1) as f64 / (n - 1) as f64).abs() < 1e-15);
            }
        }
    }

    /// No method silently turns a finite value into `NaN`: it normalises every present
    /// value to a number, or fails as undefined for the column (MODEL_FORMAT.md:
    /// "they never silently produce `NaN`").
    #[test]
    fn no_normalisation_turns_a_finite_value_into_nan(
        col in prop::collection::vec(maybe_missing(any_finite()), 1..16),
        method in prop_oneof![
            Just(Normalisation::None),
            any_scale().prop_map(|scale| Normalisation::MinMax { scale }),
            any_scale().prop_map(|scale| Normalisation::ZScoreMinMax { scale }),
            (any_finite(), any_finite().prop_filter("sd > 0", |&v| v > 0.0))
                .prop_map(|(mean, sd)| Normalisation::ZScore { mean, sd }),
            Just(Normalisation::Rank),
            Just(Normalisation::PercentileRank),
            any::<bool>().prop_map(|cap| Normalisation::DistanceToTarget { cap }),
            any::<bool>().prop_map(|cap| Normalisation::DistanceToReference { reference: "r".into(), cap }),
            any_scale().prop_map(|scale| Normalisation::Goalposts { scale }),
        ],
        target in any_finite(),
        (a, b) in (any_finite(), any_finite()).prop_filter("lower < upper", |(a, b)| a != b),
        r in any::<Index>(),
        d in direction(),
    ) {
        let c = NormaliseContext {
            direction: d,
            target: Some(target),
            goalposts: Some(Goalposts { lower: a.min(b), upper: a.max(b) }),
            reference: Some(r.index(col.len())),
        };
        match normalise("x", &col, &method, &c) {
            Ok(out) => {
                for (&x, &y) in col.iter().zip(&out) {
                    prop_assert_eq!(x.is_nan(), y.is_nan(), "{:?}: {} -> {}", method, x, y);
                }
            }
            Err(e) => prop_assert!(is_degenerate(&e), "{}", e),
        }
    }

    /// `zscore` gives the requested mean and (sample) standard deviation.
    #[test]
    fn zscore_has_the_requested_mean_and_sd(
        col in prop::collection::vec(maybe_missing(data_value()), 2..24),
        mean in -100.0..100.0f64,
        sd in 0.01..100.0f64,
        d in direction(),
    ) {
        let xs: Vec<f64> = present(&col).collect();
        prop_assume!(xs.len() >= 2 && xs.iter().any(|&x| x != xs[0]));
        let out = normalise("x", &col, &Normalisation::ZScore { mean, sd }, &ctx(d)).unwrap();
        let ys: Vec<f64> = present(&out).collect();
        prop_assert_eq!(ys.len(), xs.len());
        let n = ys.len() as f64;
        let m = ys.iter().sum::<f64>() / n;
        let s = (ys.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / (n - 1.0)).sqrt();
        prop_assert!((m - mean).abs() <= 1e-6 * sd.max(1.0) + 1e-9 * mean.abs(), "mean {} vs {}", m, mean);
        prop_assert!((s - sd).abs() <= 1e-6 * sd, "sd {} vs {}", s, sd);
    }
}

// ---------------------------------------------------------------------------
// Competition ranks
// ---------------------------------------------------------------------------

/// Ranks as the docs define them: 1 + the number of scores strictly better.
fn brute_force_ranks(scores: &[f64]) -> Vec<Option<u32>> {
    scores
        .iter()
        .map(|&s| {
            (!s.is_nan())
                .then(|| 1 + scores.iter().filter(|&&t| !t.is_nan() && t > s).count() as u32)
        })
        .collect()
}

fn any_score() -> impl Strategy<Value = f64> {
    maybe_missing(prop_oneof![
        2 => any_finite(),
        2 => (0i32..=5).prop_map(|i| f64::from(i) / 4.0),
        1 => Just(-0.0),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
    ])
}

proptest! {
    #![proptest_config(config(512))]

    /// Exact competition ranks: missing scores get none; every other rank is
    /// `1 + #{strictly better scores}`, so it lies in `1..=n`, equal scores share it,
    /// and a better score never gets a worse rank.
    #[test]
    fn ranks_are_competition_ranks(scores in prop::collection::vec(any_score(), 0..40)) {
        let ranks = competition_ranks(&scores, &Ranking::default());
        prop_assert_eq!(&ranks, &brute_force_ranks(&scores));
        let n = scores.iter().filter(|s| !s.is_nan()).count() as u32;
        for (i, r) in ranks.iter().enumerate() {
            prop_assert_eq!(r.is_none(), scores[i].is_nan());
            if let Some(r) = r {
                prop_assert!((1..=n).contains(r));
            }
        }
    }

    /// Reordering the units moves their ranks with them; sorting by score (best first)
    /// gives non-decreasing ranks.
    #[test]
    fn ranks_are_invariant_under_reordering_units(
        (scores, perm) in prop::collection::vec(any_score(), 0..40).prop_flat_map(|s| {
            let idx: Vec<usize> = (0..s.len()).collect();
            (Just(s), Just(idx).prop_shuffle())
        }),
        tol in prop_oneof![Just(0.0), 0.0..0.5f64],
        decimals in prop::option::of(0u32..=6),
    ) {
        let ranking = Ranking { tie_tolerance: tol, decimals };
        let ranks = competition_ranks(&scores, &ranking);
        let shuffled: Vec<f64> = perm.iter().map(|&i| scores[i]).collect();
        let shuffled_ranks = competition_ranks(&shuffled, &ranking);
        for (k, &i) in perm.iter().enumerate() {
            prop_assert_eq!(shuffled_ranks[k], ranks[i], "unit {} moved to {}", i, k);
        }
        let mut order: Vec<usize> = (0..scores.len()).filter(|&i| !scores[i].is_nan()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        for w in order.windows(2) {
            prop_assert!(ranks[w[0]] <= ranks[w[1]], "{} ranked after {}", scores[w[0]], scores[w[1]]);
        }
    }

    /// With a tie tolerance or rank decimals, ranks are still "1224" ranks: a unit of
    /// rank `r` has exactly `r - 1` units ranked strictly better, and a better score
    /// never gets a worse rank. With decimals and no tolerance, the ranks are exactly
    /// those of the scores rounded half away from zero.
    #[test]
    fn tolerant_and_rounded_ranks_are_still_competition_ranks(
        scores in prop::collection::vec(maybe_missing(prop_oneof![
            -1e3..1e3f64,
            (0i32..=40).prop_map(|i| f64::from(i) / 8.0),
        ]), 0..40),
        tol in prop_oneof![Just(0.0), 0.0..0.5f64],
        decimals in prop::option::of(0u32..=17),
    ) {
        let ranking = Ranking { tie_tolerance: tol, decimals };
        let ranks = competition_ranks(&scores, &ranking);
        let present: Vec<u32> = ranks.iter().flatten().copied().collect();
        for &r in &present {
            let better = present.iter().filter(|&&q| q < r).count() as u32;
            prop_assert_eq!(better, r - 1, "rank {} in {:?}", r, ranks);
        }
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if let (Some(ri), Some(rj)) = (ranks[i], ranks[j]) {
                    if scores[i] > scores[j] {
                        prop_assert!(ri <= rj, "{} ranked {} but {} ranked {}", scores[i], ri, scores[j], rj);
                    }
                }
            }
        }
        if let (Some(d), true) = (decimals, tol == 0.0) {
            let rounded: Vec<f64> = scores.iter().map(|&s| if s.is_nan() { s } else { round_f64_half_up(s, d) }).collect();
            prop_assert_eq!(&ranks, &brute_force_ranks(&rounded));
        }
    }

    /// A score gets the band with the highest `min` it reaches; the catch-all band
    /// takes everything below the others.
    #[test]
    fn bands_pick_the_highest_min_reached(
        mins in prop::collection::btree_set(-100i32..100, 0..6),
        catch_all in any::<bool>(),
        score in maybe_missing(prop_oneof![(-150i32..150).prop_map(f64::from), -150.0..150.0f64]),
    ) {
        let mut bands: Vec<Band> = mins.iter().map(|&m| Band::new(format!("b{m}"), f64::from(m))).collect();
        if catch_all {
            bands.push(Band::otherwise("rest"));
        }
        bands.reverse();
        sort_bands(&mut bands);
        let got = band_index(score, &bands).map(|i| bands[i].label.clone());
        let expected = if score.is_nan() {
            None
        } else {
            mins.iter().rev().find(|&&m| score >= f64::from(m)).map(|m| format!("b{m}"))
                .or_else(|| catch_all.then(|| "rest".to_string()))
        };
        prop_assert_eq!(got, expected);
    }
}

// ---------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------

/// Child values (some missing) with non-negative weights, at least one positive.
fn children() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..8).prop_flat_map(|k| {
        (
            prop::collection::vec(maybe_missing(data_value()), k),
            prop::collection::vec(prop_oneof![1 => Just(0.0), 4 => 0.0..10.0f64], k),
        )
    })
}

proptest! {
    #![proptest_config(config(1024))]

    /// Arithmetic aggregation with non-negative weights is monotone in each child:
    /// raising one child's value never lowers the parent (exactly, in floating point).
    #[test]
    fn arithmetic_mean_is_monotone_in_each_child(
        (values, weights) in children(),
        which in any::<Index>(),
        raise in prop_oneof![0.0..1e3f64, 0.0..1e-9f64],
        threshold in prop::option::of(0.0..=1.0f64),
    ) {
        let i = which.index(values.len());
        let mut values = values;
        if values[i].is_nan() {
            values[i] = 0.0;
        }
        let m = Aggregation::Arithmetic;
        let before = aggregate(&values, &weights, &m, threshold).unwrap();
        let mut raised = values.clone();
        raised[i] += raise;
        let after = aggregate(&raised, &weights, &m, threshold).unwrap();
        // Availability depends on which children have data, not on their values.
        prop_assert_eq!(before.is_some(), after.is_some());
        if let (Some(b), Some(a)) = (before, after) {
            prop_assert!(a >= b, "raising child {} by {} lowered the mean from {} to {}", i, raise, b, a);
        }
    }

    /// A weighted mean lies between the smallest and largest child that counts (has a
    /// value and a positive weight), for every method; equal children give that value.
    #[test]
    fn means_lie_between_the_children(
        (values, weights) in children(),
        method in prop_oneof![
            Just(Aggregation::Arithmetic),
            Just(Aggregation::geometric()),
            Just(Aggregation::harmonic()),
            (-4.0..4.0f64).prop_map(|p| Aggregation::Power { p, zeros: govlens_engine::ZeroHandling::Error }),
        ],
    ) {
        let values: Vec<f64> = values.iter().map(|v| if v.is_nan() { *v } else { v.abs() + 0.5 }).collect();
        let counted: Vec<f64> = values.iter().zip(&weights).filter(|(v, &w)| !v.is_nan() && w > 0.0).map(|(v, _)| *v).collect();
        let got = aggregate(&values, &weights, &method, None).unwrap();
        prop_assert_eq!(got.is_some(), !counted.is_empty());
        if let Some(g) = got {
            let lo = counted.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = counted.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let tol = 1e-9 * hi.abs().max(1.0);
            prop_assert!(lo - tol <= g && g <= hi + tol, "{:?} mean {} of {:?}", method, g, counted);
        }
    }
}

// ---------------------------------------------------------------------------
// The scoring pipeline
// ---------------------------------------------------------------------------

/// A generated scoring problem: a two-level arithmetic model over `k` indicators with
/// random directions and non-negative weights, and `n` units.
#[derive(Debug, Clone)]
struct Problem {
    directions: Vec<Direction>,
    normalisations: Vec<Normalisation>,
    /// Indicator weights, then the two dimension weights.
    weights: Vec<f64>,
    /// `values[j][i]`: indicator `j`, unit `i`.
    values: Vec<Vec<f64>>,
}

impl Problem {
    fn k(&self) -> usize {
        self.directions.len()
    }

    fn n(&self) -> usize {
        self.values[0].len()
    }

    /// Index `IDX` = mean of `D0` (first half of the indicators) and `D1` (the rest).
    fn model(&self) -> Model {
        let k = self.k();
        let leaf = |j: usize| {
            Node::indicator(
                format!("i{j}"),
                Indicator {
                    direction: self.directions[j],
                    normalisation: self.normalisations[j].clone(),
                    ..Default::default()
                },
            )
            .with_weight(self.weights[j])
        };
        let half = k.div_ceil(2);
        let d0 = Node::aggregate("D0", (0..half).map(leaf).collect()).with_weight(self.weights[k]);
        let d1 =
            Node::aggregate("D1", (half..k).map(leaf).collect()).with_weight(self.weights[k + 1]);
        let dims = if half < k { vec![d0, d1] } else { vec![d0] };
        Model::new(Node::aggregate("IDX", dims)).expect("generated model is valid")
    }

    fn units(&self) -> Vec<String> {
        (0..self.n()).map(|i| format!("u{i}")).collect()
    }

    fn dataset(&self, units: Vec<String>, values: &[Vec<f64>]) -> Dataset {
        Dataset::from_columns(
            units,
            values
                .iter()
                .enumerate()
                .map(|(j, c)| (format!("i{j}"), c.clone()))
                .collect(),
        )
        .unwrap()
    }
}

fn problem(normalisations: Vec<Normalisation>) -> impl Strategy<Value = Problem> {
    let choices = normalisations;
    (1usize..=6, 2usize..=8).prop_flat_map(move |(k, n)| {
        let weight = prop_oneof![1 => Just(0.0), 4 => 0.1..10.0f64];
        (
            prop::collection::vec(direction(), k),
            prop::collection::vec(prop::sample::select(choices.clone()), k),
            prop::collection::vec(weight, k + 2),
            prop::collection::vec(prop::collection::vec(data_value(), n), k),
        )
            .prop_map(move |(directions, normalisations, mut weights, values)| {
                // Every aggregate needs a child with a positive weight (validation).
                let half = k.div_ceil(2);
                if weights[..half].iter().all(|&w| w == 0.0) {
                    weights[0] = 1.0;
                }
                if half < k && weights[half..k].iter().all(|&w| w == 0.0) {
                    weights[k - 1] = 1.0;
                }
                let dims = if half < k { 2 } else { 1 };
                if weights[k..k + dims].iter().all(|&w| w == 0.0) {
                    weights[k] = 1.0;
                }
                Problem {
                    directions,
                    normalisations,
                    weights,
                    values,
                }
            })
    })
}

/// Index scores of every unit, or `None` when the data is degenerate for the model
/// (e.g. a constant column under min-max).
fn index_scores(p: &Problem, values: &[Vec<f64>]) -> Option<Vec<f64>> {
    match p.model().score(&p.dataset(p.units(), values)) {
        Ok(r) => Some(r.index_scores().to_vec()),
        Err(e) => {
            assert!(is_degenerate(&e), "unexpected error: {e}");
            None
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Arithmetic composite with non-negative weights and min-max indicators: making a
    /// unit better on one indicator (raising a `higher_is_better` value, lowering a
    /// `lower_is_better` one) never lowers its index score, and making it worse never
    /// raises it. Scores are compared to 1e-12: when the changed value becomes the new
    /// best of its column, the min-max factor is recomputed and may round differently.
    #[test]
    fn composite_is_monotone_in_each_indicator_given_its_direction(
        p in problem(vec![Normalisation::minmax()]),
        which in (any::<Index>(), any::<Index>()),
        change in 0.0..500.0f64,
    ) {
        let (j, u) = (which.0.index(p.k()), which.1.index(p.n()));
        let Some(before) = index_scores(&p, &p.values) else { return Ok(()); };
        let sign = sign(p.directions[j]);
        for (step, name) in [(change, "better"), (-change, "worse")] {
            let mut values = p.values.clone();
            values[j][u] += sign * step;
            let Some(after) = index_scores(&p, &values) else { continue; };
            let (b, a) = (before[u], after[u]);
            if step >= 0.0 {
                prop_assert!(a >= b - 1e-12, "{} on i{} ({:?}): unit u{} {} -> {}", name, j, p.directions[j], u, b, a);
            } else {
                prop_assert!(a <= b + 1e-12, "{} on i{} ({:?}): unit u{} {} -> {}", name, j, p.directions[j], u, b, a);
            }
        }
    }

    /// Reordering the dataset's rows changes nothing for any unit: same scores at
    /// every node, same ranks.
    #[test]
    fn scores_and_ranks_are_invariant_under_reordering_units(
        (p, perm) in problem(vec![Normalisation::minmax(), Normalisation::Rank])
            .prop_flat_map(|p| { let idx: Vec<usize> = (0..p.n()).collect(); (Just(p), Just(idx).prop_shuffle()) }),
    ) {
        let model = p.model();
        let Ok(base) = model.score(&p.dataset(p.units(), &p.values)) else { return Ok(()); };
        let units: Vec<String> = perm.iter().map(|&i| format!("u{i}")).collect();
        let values: Vec<Vec<f64>> = p.values.iter().map(|c| perm.iter().map(|&i| c[i]).collect()).collect();
        let moved = model.score(&p.dataset(units, &values)).unwrap();
        for node in base.nodes() {
            for i in 0..p.n() {
                let u = format!("u{i}");
                prop_assert_eq!(base.score_of(&u, &node.code).unwrap(), moved.score_of(&u, &node.code).unwrap(), "{} at {}", u, node.code);
                prop_assert_eq!(base.rank_of(&u, &node.code).unwrap(), moved.rank_of(&u, &node.code).unwrap(), "{} at {}", u, node.code);
            }
        }
    }

    /// Changing the unit of an indicator (multiplying its column by a positive factor,
    /// e.g. thousands to millions) leaves every score and rank unchanged under
    /// `minmax`, `zscore` and `rank`, whose formulas are invariant to it. With a power
    /// of two the arithmetic is exact, so scores are identical; with any factor they
    /// agree to 1e-9.
    #[test]
    fn scores_are_invariant_under_a_change_of_unit(
        p in problem(vec![Normalisation::minmax(), Normalisation::zscore(), Normalisation::Rank, Normalisation::PercentileRank]),
        which in any::<Index>(),
        exp in -20i32..=20,
        factor in 1e-3..1e3f64,
    ) {
        let j = which.index(p.k());
        let model = p.model();
        let Ok(base) = model.score(&p.dataset(p.units(), &p.values)) else { return Ok(()); };
        for (f, exact) in [(2f64.powi(exp), true), (factor, false)] {
            let mut values = p.values.clone();
            values[j].iter_mut().for_each(|v| *v *= f);
            let scaled = model.score(&p.dataset(p.units(), &values)).unwrap();
            let (a, b) = (base.index_scores(), scaled.index_scores());
            for i in 0..p.n() {
                if exact {
                    prop_assert_eq!(a[i], b[i], "i{} x {}: unit u{}", j, f, i);
                    prop_assert_eq!(base.rank(i, 0), scaled.rank(i, 0));
                } else {
                    prop_assert!((a[i] - b[i]).abs() <= 1e-9 * a[i].abs().max(1.0), "i{} x {}: unit u{} {} vs {}", j, f, i, a[i], b[i]);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Uncertainty
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(24))]

    /// With a fixed seed the uncertainty analysis is deterministic: two runs, on one
    /// thread or on two, give identical reports; and each unit's percentile ranks are
    /// ordered (p05 <= median <= p95) within `1..=n`.
    #[test]
    fn uncertainty_is_deterministic_for_a_seed(
        p in problem(vec![Normalisation::minmax(), Normalisation::Rank]),
        seed in any::<u64>(),
        sets in prop_oneof![Just(0usize), 1usize..8],
    ) {
        let model = p.model();
        let data = p.dataset(p.units(), &p.values);
        prop_assume!(model.score(&data).is_ok());
        let cfg = |threads| UncertaintyConfig {
            draws: 30,
            seed,
            weights: Some(WeightNoise { relative: 0.25, sets }),
            normalisation: vec![None, Some(Normalisation::Rank)],
            aggregation: vec![None, Some(Aggregation::Power { p: 2.0, zeros: govlens_engine::ZeroHandling::Error })],
            target: None,
            threads: Some(threads),
        };
        let opts = ScoreOptions::default();
        let one = run_uncertainty(&model, &data, &cfg(1), &opts).unwrap();
        let again = run_uncertainty(&model, &data, &cfg(1), &opts).unwrap();
        let two = run_uncertainty(&model, &data, &cfg(2), &opts).unwrap();
        prop_assert_eq!(&one, &again);
        prop_assert_eq!(&one, &two);
        let n = p.n() as f64;
        for u in &one.units {
            if let (Some(lo), Some(mid), Some(hi)) = (u.p05_rank, u.median_rank, u.p95_rank) {
                prop_assert!(1.0 <= lo && lo <= mid && mid <= hi && hi <= n, "{:?}", u);
            }
        }
    }
}
