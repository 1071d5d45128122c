//! Engine benchmark, same work as `bench/numpy_baseline.py`:
//!
//! A: 100,000 units x 50 indicators, min-max, indicators -> 10 factors -> 3
//!    dimensions -> index (arithmetic), competition ranks of the index.
//! B: 1,000 units x 50 indicators, 1,000-draw uncertainty over weights (+-25%),
//!    5th/50th/95th percentile ranks.
//!
//! Run: `cargo run --release -p govlens-engine --example bench`

use std::time::Instant;

use govlens_engine::{
    run_uncertainty, Dataset, Model, ScoreOptions, UncertaintyConfig, WeightNoise,
};

fn model() -> Model {
    let mut t = String::from("code = \"IDX\"\n");
    let dims = [(0, 3), (3, 6), (6, 10)];
    for (d, (a, b)) in dims.iter().enumerate() {
        t.push_str(&format!("[[dimensions]]\ncode = \"D{d}\"\n"));
        for f in *a..*b {
            t.push_str(&format!(
                "[[dimensions.children]]\ncode = \"F{f}\"\nchildren = ["
            ));
            for i in 0..5 {
                t.push_str(&format!("{{ code = \"i{}\" }},", f * 5 + i));
            }
            t.push_str("]\n");
        }
    }
    Model::from_toml_str(&t).expect("model")
}

fn data(units: usize, seed: u64) -> Dataset {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut values = Vec::with_capacity(units * 50);
    for _ in 0..units * 50 {
        values.push(next());
    }
    Dataset::from_column_major(
        (0..units).map(|i| format!("u{i}")).collect(),
        (0..50).map(|j| format!("i{j}")).collect(),
        values,
    )
    .expect("dataset")
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn main() {
    let m = model();
    let big = data(100_000, 7);
    let (t, r) = best(5, || {
        let r = m.score(&big).expect("score");
        let top = r.node_ranks(0).iter().filter(|&&x| x == 1).count();
        (r, top)
    });
    println!(
        "A score 100k x 50 (+ index ranks): {:.1} ms (top count {})",
        t * 1e3,
        r.1
    );

    let small = data(1_000, 11);
    let cfg = UncertaintyConfig {
        draws: 1_000,
        seed: 1,
        weights: Some(WeightNoise {
            relative: 0.25,
            sets: 0,
        }),
        ..Default::default()
    };
    let (t, rep) = best(3, || {
        run_uncertainty(&m, &small, &cfg, &ScoreOptions::default()).expect("uncertainty")
    });
    println!(
        "B uncertainty 1000 draws x 1000 units: {:.1} ms (unit 0 median rank {:?})",
        t * 1e3,
        rep.units[0].median_rank
    );
}
