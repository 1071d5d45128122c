//! End-to-end scoring checks against values computed independently in the test.

use govlens_engine::{competition_ranks, Dataset, EngineError, ImputationMethod, Model, Ranking};

/// Deterministic pseudo-random values in [0, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn minmax(x: &[f64]) -> Vec<f64> {
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    x.iter().map(|v| (v - lo) / (hi - lo)).collect()
}

#[test]
#[allow(clippy::needless_range_loop)]
fn blocked_parallel_aggregation_matches_direct_formula() {
    // More units than one aggregation block, so the parallel path is used.
    let n = 10_007;
    let cols: Vec<(String, Vec<f64>)> = (0..4)
        .map(|j| (format!("x{j}"), values(n, 11 + j as u64)))
        .collect();
    let mut with_gap = cols.clone();
    with_gap[3].1[5000] = f64::NAN; // one missing value in the second dimension
    let data = Dataset::from_columns((0..n).map(|i| format!("u{i}")).collect(), with_gap).unwrap();
    let model = Model::from_toml_str(
        r#"
code = "I"
[[dimensions]]
code = "A"
weight = 2
children = [ { code = "x0" }, { code = "x1", weight = 3 } ]
[[dimensions]]
code = "B"
children = [ { code = "x2" }, { code = "x3" } ]
"#,
    )
    .unwrap();
    let r = model.score(&data).unwrap();
    let nx: Vec<Vec<f64>> = (0..4)
        .map(|j| {
            let mut c = cols[j].1.clone();
            if j == 3 {
                c[5000] = f64::NAN;
                let present: Vec<f64> = c.iter().copied().filter(|v| !v.is_nan()).collect();
                let lo = present.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                return c.iter().map(|v| (v - lo) / (hi - lo)).collect();
            }
            minmax(&c)
        })
        .collect();
    for u in 0..n {
        let a = (nx[0][u] + 3.0 * nx[1][u]) / 4.0;
        let b = if u == 5000 {
            nx[2][u]
        } else {
            (nx[2][u] + nx[3][u]) / 2.0
        };
        let i = (2.0 * a + b) / 3.0;
        let got = r.score(u, 0).unwrap();
        assert!((got - i).abs() < 1e-12, "unit {u}: {got} vs {i}");
        assert!((r.score_of(&format!("u{u}"), "A").unwrap().unwrap() - a).abs() < 1e-12);
    }
    // Ranks agree with an independent computation: 1 + number of greater scores.
    let scores = r.index_scores().to_vec();
    let mut sorted = scores.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (u, &s) in scores.iter().enumerate().step_by(97) {
        let greater = sorted.partition_point(|&x| x > s);
        assert_eq!(r.rank(u, 0), Some(greater as u32 + 1));
    }
    assert_eq!(r.raw_value(5000, r.node_index("x3").unwrap()), None);
    assert_eq!(
        r.raw_value(7, r.node_index("x0").unwrap()),
        Some(cols[0].1[7])
    );
}

#[test]
fn domain_error_in_a_later_block_names_the_right_unit() {
    let n = 9_000;
    let mut x = values(n, 5);
    let y = values(n, 6);
    x[8_500] = 0.0;
    let data = Dataset::from_columns(
        (0..n).map(|i| format!("u{i}")).collect(),
        vec![("x".into(), x), ("y".into(), y)],
    )
    .unwrap();
    let model = Model::from_toml_str(
        "code = \"I\"\naggregation = \"geometric\"\n[defaults]\nnormalisation = \"none\"\n[[dimensions]]\ncode = \"x\"\n[[dimensions]]\ncode = \"y\"\n",
    )
    .unwrap();
    match model.score(&data).unwrap_err() {
        EngineError::AggregationDomain { unit, node, .. } => {
            assert_eq!((unit.as_str(), node.as_str()), ("u8500", "I"));
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn geometric_with_offset_and_zero_weight_by_hand() {
    let data = Dataset::from_columns(
        vec!["A".into(), "B".into()],
        vec![
            ("x".into(), vec![0.0, 3.0]),
            ("y".into(), vec![3.0, 8.0]),
            ("z".into(), vec![0.0, 0.0]),
        ],
    )
    .unwrap();
    let model = Model::from_toml_str(
        r#"
code = "I"
aggregation = { method = "geometric", offset = 1 }
[defaults]
normalisation = "none"
[[dimensions]]
code = "x"
[[dimensions]]
code = "y"
[[dimensions]]
code = "z"
weight = 0
"#,
    )
    .unwrap();
    let r = model.score(&data).unwrap();
    // A: sqrt(1 * 4) - 1 = 1; B: sqrt(4 * 9) - 1 = 5 (z has weight 0)
    assert!((r.score(0, 0).unwrap() - 1.0).abs() < 1e-12);
    assert!((r.score(1, 0).unwrap() - 5.0).abs() < 1e-12);
}

#[test]
fn group_mean_imputation_is_reported() {
    let data = Dataset::from_columns(
        vec!["A".into(), "B".into(), "C".into(), "D".into()],
        vec![("x".into(), vec![1.0, 5.0, f64::NAN, f64::NAN])],
    )
    .unwrap()
    .with_groups(vec![
        Some("east".into()),
        Some("west".into()),
        Some("west".into()),
        None,
    ])
    .unwrap();
    let model = Model::from_toml_str(
        "code = \"I\"\n[[dimensions]]\ncode = \"x\"\nimputation = \"group_mean\"\nnormalisation = \"none\"\n",
    )
    .unwrap();
    let r = model.score(&data).unwrap();
    let imp = r.imputations();
    assert_eq!(imp.len(), 1);
    assert_eq!((imp[0].unit.as_str(), imp[0].value), ("C", 5.0));
    assert_eq!(imp[0].method, ImputationMethod::GroupMean);
    assert_eq!(r.score_of("C", "I").unwrap(), Some(5.0));
    // D has no group: stays missing, and so does its index.
    assert_eq!(r.score_of("D", "I").unwrap(), None);
    assert_eq!(r.rank_of("D", "I").unwrap(), None);
}

#[test]
fn large_rankings_use_parallel_sort_consistently() {
    // 40,000 scores with many exact ties (values on a grid of 1/1000).
    let v: Vec<f64> = values(40_000, 9)
        .into_iter()
        .map(|x| (x * 1000.0).floor() / 1000.0)
        .collect();
    let ranks = competition_ranks(&v, &Ranking::default());
    let mut sorted = v.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (i, &x) in v.iter().enumerate().step_by(13) {
        let greater = sorted.partition_point(|&y| y > x);
        assert_eq!(ranks[i], Some(greater as u32 + 1), "index {i}");
    }
}
