//! Uncertainty analysis: hand-checkable cases, reproducibility and thread independence.

use govlens_engine::{
    run_uncertainty, Aggregation, Dataset, Model, Normalisation, ScoreOptions, UncertaintyConfig,
    WeightNoise,
};

fn two_indicator_model() -> Model {
    Model::from_toml_str(
        r#"
code = "I"
[defaults]
normalisation = "none"
[[dimensions]]
code = "x"
[[dimensions]]
code = "y"
"#,
    )
    .unwrap()
}

fn abc() -> Dataset {
    // arithmetic: A 0.5, B 0.55, C 0.2 -> B, A, C
    // geometric:  A 0.5, B 0.316, C 0.2 -> A, B, C
    Dataset::from_columns(
        vec!["A".into(), "B".into(), "C".into()],
        vec![
            ("x".into(), vec![0.5, 1.0, 0.2]),
            ("y".into(), vec![0.5, 0.1, 0.2]),
        ],
    )
    .unwrap()
}

#[test]
fn aggregation_choice_alone_determines_ranks() {
    let cfg = UncertaintyConfig {
        draws: 400,
        seed: 7,
        aggregation: vec![None, Some(Aggregation::geometric())],
        ..Default::default()
    };
    let rep = run_uncertainty(
        &two_indicator_model(),
        &abc(),
        &cfg,
        &ScoreOptions::default(),
    )
    .unwrap();
    let a = &rep.units[0];
    assert_eq!(a.unit, "A");
    assert_eq!(a.nominal_rank, Some(2));
    assert_eq!((a.p05_rank, a.p95_rank), (Some(1.0), Some(2.0)));
    let c = &rep.units[2];
    assert_eq!(
        (c.nominal_rank, c.median_rank, c.p05_rank, c.p95_rank),
        (Some(3), Some(3.0), Some(3.0), Some(3.0))
    );
    // A's mean rank = 2 - share of geometric draws; roughly half.
    let mean = a.mean_rank.unwrap();
    assert!(mean > 1.3 && mean < 1.7, "{mean}");
    // B's rank is the mirror image of A's.
    assert!((rep.units[1].mean_rank.unwrap() + mean - 3.0).abs() < 1e-12);
    assert_eq!(rep.sensitivity.len(), 1);
    assert_eq!(rep.sensitivity[0].assumption, "aggregation");
    let s = rep.sensitivity[0].first_order.unwrap();
    assert!((s - 1.0).abs() < 1e-9, "{s}");
}

#[test]
fn no_uncertainty_reproduces_nominal_ranks() {
    let cfg = UncertaintyConfig {
        draws: 10,
        ..Default::default()
    };
    let rep = run_uncertainty(
        &two_indicator_model(),
        &abc(),
        &cfg,
        &ScoreOptions::default(),
    )
    .unwrap();
    for u in &rep.units {
        let r = u.nominal_rank.map(f64::from);
        assert_eq!(
            (u.median_rank, u.p05_rank, u.p95_rank),
            (r, r, r),
            "{}",
            u.unit
        );
        assert_eq!(u.ranked_draws, 10);
    }
    assert!(rep.sensitivity.is_empty());
}

#[test]
fn dominated_units_keep_their_rank_under_weight_noise() {
    // A dominates B dominates C on every indicator: weights cannot reorder them.
    let d = Dataset::from_columns(
        vec!["A".into(), "B".into(), "C".into()],
        vec![
            ("x".into(), vec![0.9, 0.5, 0.1]),
            ("y".into(), vec![0.8, 0.6, 0.2]),
        ],
    )
    .unwrap();
    let cfg = UncertaintyConfig {
        draws: 200,
        weights: Some(WeightNoise::uniform(0.25)),
        ..Default::default()
    };
    let rep = run_uncertainty(&two_indicator_model(), &d, &cfg, &ScoreOptions::default()).unwrap();
    for (u, expect) in rep.units.iter().zip([1.0, 2.0, 3.0]) {
        assert_eq!((u.p05_rank, u.p95_rank), (Some(expect), Some(expect)));
    }
    // Ranks never vary, so the index is not estimable.
    assert_eq!(rep.sensitivity[0].assumption, "weights");
    assert_eq!(rep.sensitivity[0].first_order, None);
}

/// A deterministic pseudo-random dataset (no RNG dependency in tests).
fn synthetic(units: usize, indicators: usize) -> (Model, Dataset) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let codes: Vec<String> = (0..indicators).map(|j| format!("i{j}")).collect();
    let cols = codes
        .iter()
        .map(|c| (c.clone(), (0..units).map(|_| next() * 100.0).collect()))
        .collect();
    let data = Dataset::from_columns((0..units).map(|i| format!("u{i}")).collect(), cols).unwrap();
    let per = indicators / 3;
    let mut toml = String::from("code = \"IDX\"\n");
    for (d, dim) in ["technology", "organization", "environment"]
        .iter()
        .enumerate()
    {
        toml.push_str(&format!("[[dimensions]]\ncode = \"{dim}\"\nchildren = [\n"));
        for j in d * per..(d + 1) * per {
            toml.push_str(&format!("  {{ code = \"i{j}\" }},\n"));
        }
        toml.push_str("]\n");
    }
    (Model::from_toml_str(&toml).unwrap(), data)
}

fn full_config(threads: Option<usize>, seed: u64) -> UncertaintyConfig {
    UncertaintyConfig {
        draws: 300,
        seed,
        weights: Some(WeightNoise {
            relative: 0.25,
            sets: 20,
        }),
        normalisation: vec![
            None,
            Some(Normalisation::zscore()),
            Some(Normalisation::Rank),
        ],
        aggregation: vec![
            None,
            Some(Aggregation::Geometric {
                zeros: govlens_engine::ZeroHandling::Offset(0.01),
            }),
            Some(Aggregation::Power {
                p: 0.5,
                zeros: govlens_engine::ZeroHandling::Offset(0.01),
            }),
        ],
        target: None,
        threads,
    }
}

#[test]
fn same_seed_same_output_for_any_thread_count() {
    let (model, data) = synthetic(150, 12);
    // zscore produces negatives: use offsets large enough for the geometric mean.
    let mut cfg1 = full_config(Some(1), 42);
    let off = govlens_engine::ZeroHandling::Offset(10.0);
    cfg1.aggregation = vec![None, Some(Aggregation::Geometric { zeros: off })];
    let mut cfg2 = cfg1.clone();
    cfg2.threads = Some(2);
    let mut cfg3 = cfg1.clone();
    cfg3.threads = Some(3);
    let opts = ScoreOptions::default();
    let r1 = run_uncertainty(&model, &data, &cfg1, &opts).unwrap();
    let r2 = run_uncertainty(&model, &data, &cfg2, &opts).unwrap();
    let r3 = run_uncertainty(&model, &data, &cfg3, &opts).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(r1, r3);
    let again = run_uncertainty(&model, &data, &cfg1, &opts).unwrap();
    assert_eq!(r1, again);
    let mut other = cfg1.clone();
    other.seed = 43;
    let r4 = run_uncertainty(&model, &data, &other, &opts).unwrap();
    assert_ne!(r1.units, r4.units);
    // Sensitivity indices are reported for all three assumptions, within [0, 1].
    let names: Vec<&str> = r1
        .sensitivity
        .iter()
        .map(|s| s.assumption.as_str())
        .collect();
    assert_eq!(names, ["weights", "normalisation", "aggregation"]);
    for s in &r1.sensitivity {
        let v = s.first_order.unwrap();
        assert!((0.0..=1.0).contains(&v), "{s:?}");
    }
    for u in &r1.units {
        let (lo, med, hi) = (
            u.p05_rank.unwrap(),
            u.median_rank.unwrap(),
            u.p95_rank.unwrap(),
        );
        assert!(lo <= med && med <= hi, "{u:?}");
    }
}

#[test]
fn out_of_domain_alternatives_are_errors_not_panics() {
    let (model, data) = synthetic(30, 6);
    // Min-max normalised values include 0: a geometric mean without offset fails.
    let cfg = UncertaintyConfig {
        draws: 20,
        aggregation: vec![None, Some(Aggregation::geometric())],
        ..Default::default()
    };
    let err = run_uncertainty(&model, &data, &cfg, &ScoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, govlens_engine::EngineError::AggregationDomain { .. }),
        "{err}"
    );
    let bad = UncertaintyConfig {
        draws: 1,
        ..Default::default()
    };
    assert!(run_uncertainty(&model, &data, &bad, &ScoreOptions::default()).is_err());
    let bad = UncertaintyConfig {
        weights: Some(WeightNoise::uniform(1.5)),
        ..Default::default()
    };
    assert!(run_uncertainty(&model, &data, &bad, &ScoreOptions::default()).is_err());
    let bad = UncertaintyConfig {
        target: Some("nope".into()),
        ..Default::default()
    };
    assert!(run_uncertainty(&model, &data, &bad, &ScoreOptions::default()).is_err());
}

#[test]
fn target_can_be_a_dimension() {
    let (model, data) = synthetic(40, 6);
    let cfg = UncertaintyConfig {
        draws: 50,
        weights: Some(WeightNoise::uniform(0.2)),
        target: Some("organization".into()),
        ..Default::default()
    };
    let rep = run_uncertainty(&model, &data, &cfg, &ScoreOptions::default()).unwrap();
    assert_eq!(rep.target, "organization");
    let nominal = model.score(&data).unwrap();
    let node = nominal.node_index("organization").unwrap();
    for (u, uu) in rep.units.iter().enumerate() {
        assert_eq!(uu.nominal_rank, nominal.rank(u, node));
    }
}
