//! Engine benchmark against a NumPy reference implementation, in one run:
//!
//! ```sh
//! cargo run --release -p govlens-engine --example bench
//! ```
//!
//! runs the engine, then `python3 bench/numpy_baseline.py` (next to this crate's
//! manifest) doing the same work on the same inputs, and prints both times and their
//! ratio:
//!
//! * A: 100,000 units x 50 indicators, min-max, indicators -> 10 factors -> 3
//!   dimensions -> index (arithmetic, equal weights), competition ranks of the index;
//! * B: 1,000 units x 50 indicators, 1,000-draw Monte Carlo uncertainty over the
//!   weights (each x U(0.75, 1.25)), 5th/50th/95th percentile ranks.
//!
//! Both sides generate the inputs from the seed the same way (splitmix64 of the
//! position, see [`value`]), and every scenario is measured `--reps` times (at least
//! 3): median, min and max. Before printing, the runner checks that NumPy gives the
//! same index scores (within 1e-12) and exactly the same ranks on scenario A, and the
//! same nominal ranks on B's inputs, and fails loudly otherwise. The Monte Carlo weight
//! draws use each side's own generator, so B's percentiles are not compared.
//!
//! Options: `--units-a N --units-b N --draws N --reps N --seed N --python PATH
//! --engine-threads N` (engine worker threads; default: all cores).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use govlens_engine::{
    run_uncertainty, Dataset, Model, ScoreOptions, UncertaintyConfig, WeightNoise,
};

const INDICATORS: usize = 50;
const FACTORS: usize = 10;
const PER_FACTOR: usize = 5;
const DIMENSIONS: [(usize, usize); 3] = [(0, 3), (3, 6), (6, 10)];

struct Args {
    units_a: usize,
    units_b: usize,
    draws: usize,
    reps: usize,
    seed: u64,
    python: String,
    engine_threads: Option<usize>,
}

fn usage() -> &'static str {
    "usage: bench [--units-a N] [--units-b N] [--draws N] [--reps N (>= 3)] [--seed N] \
     [--python PATH] [--engine-threads N]"
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        units_a: 100_000,
        units_b: 1_000,
        draws: 1_000,
        reps: 3,
        seed: 7,
        python: "python3".into(),
        engine_threads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(usage().into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: {value:?} is not a whole number"))
        };
        match flag.as_str() {
            "--units-a" => args.units_a = number()?,
            "--units-b" => args.units_b = number()?,
            "--draws" => args.draws = number()?,
            "--reps" => args.reps = number()?,
            "--seed" => args.seed = number()? as u64,
            "--python" => args.python = value.clone(),
            "--engine-threads" => args.engine_threads = Some(number()?),
            _ => return Err(format!("unknown option {flag}\n{}", usage())),
        }
    }
    if args.reps < 3 {
        return Err("--reps must be at least 3 (median, min and max)".into());
    }
    if args.units_a < 2 || args.units_b < 2 || args.draws < 2 {
        return Err("--units-a, --units-b and --draws must be at least 2".into());
    }
    Ok(args)
}

/// The benchmark model: 50 indicators -> 10 factors of 5 -> 3 dimensions (3/3/4
/// factors) -> index; min-max normalisation and arithmetic means, equal weights.
fn model() -> Model {
    let mut t = String::from(
        "code = \"IDX\"\naggregation = \"arithmetic\"\n\
         [defaults]\nnormalisation = \"minmax\"\n",
    );
    for (d, (a, b)) in DIMENSIONS.iter().enumerate() {
        t.push_str(&format!("[[dimensions]]\ncode = \"D{d}\"\n"));
        for f in *a..*b {
            t.push_str(&format!(
                "[[dimensions.children]]\ncode = \"F{f}\"\nchildren = ["
            ));
            for i in 0..PER_FACTOR {
                t.push_str(&format!("{{ code = \"i{}\" }},", f * PER_FACTOR + i));
            }
            t.push_str("]\n");
        }
    }
    let m = Model::from_toml_str(&t).expect("benchmark model");
    assert_eq!(m.indicators().len(), FACTORS * PER_FACTOR);
    m
}

/// Input value of position `k` (row-major: unit `i`, indicator `j` is `i * 50 + j`):
/// splitmix64 of `seed + (k + 1) * golden`, top 53 bits scaled to [0, 1). The NumPy
/// script computes the same, vectorised.
fn value(seed: u64, k: u64) -> f64 {
    let mut z = seed.wrapping_add((k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn data(units: usize, seed: u64) -> Dataset {
    // Column-major for the engine: values[j * units + i].
    let mut values = vec![0.0; units * INDICATORS];
    for i in 0..units {
        for j in 0..INDICATORS {
            values[j * units + i] = value(seed, (i * INDICATORS + j) as u64);
        }
    }
    Dataset::from_column_major(
        (0..units).map(|i| format!("u{i}")).collect(),
        (0..INDICATORS).map(|j| format!("i{j}")).collect(),
        values,
    )
    .expect("dataset")
}

/// Median, min and max of run times, in seconds.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    runs: usize,
}

impl Stats {
    fn of(times: &[f64]) -> Stats {
        let mut s = times.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Stats {
            median,
            min: s[0],
            max: s[n - 1],
            runs: n,
        }
    }

    fn cell(&self) -> String {
        format!(
            "{:>9.1} [{:.1}-{:.1}]",
            self.median * 1e3,
            self.min * 1e3,
            self.max * 1e3
        )
    }
}

/// Runs `f` `reps` times; the times and the last run's output.
fn measure<T>(reps: usize, mut f: impl FnMut() -> T) -> (Stats, T) {
    let mut times = Vec::with_capacity(reps);
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        times.push(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (Stats::of(&times), out.expect("at least one run"))
}

/// What the NumPy side reported.
struct NumpyRun {
    version: String,
    a: Stats,
    b: Stats,
    a_scores: Vec<f64>,
    a_ranks: Vec<u32>,
    b_nominal_ranks: Vec<u32>,
}

/// `python3` with NumPy, or the message to print (with the install hint).
fn check_numpy(python: &str) -> Result<String, String> {
    let output = Command::new(python)
        .args(["-c", "import numpy, sys; print(numpy.__version__)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {python:?} ({e}): the benchmark compares the engine with NumPy \
                 and needs Python 3 with NumPy. Install Python 3, then run:\n\n    pip install numpy\n\n\
                 (or point --python at an interpreter that has it)"
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "NumPy is not installed for {python:?}: the benchmark compares the engine with \
             NumPy. Install it with:\n\n    pip install numpy\n\n(or point --python at an \
             interpreter that has it)\n\n{python} said: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn read_u32s(path: &Path) -> Result<Vec<u32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn read_f64s(path: &Path) -> Result<Vec<f64>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// Runs the NumPy script with the same sizes and seed.
fn run_numpy(args: &Args, script: &Path, out_dir: &Path) -> Result<NumpyRun, String> {
    let output = Command::new(&args.python)
        .arg(script)
        .args(["--units-a", &args.units_a.to_string()])
        .args(["--units-b", &args.units_b.to_string()])
        .args(["--draws", &args.draws.to_string()])
        .args(["--reps", &args.reps.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .arg("--out-dir")
        .arg(out_dir)
        .arg("--json")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {} {}: {e}", args.python, script.display()))?;
    if !output.status.success() {
        return Err(format!("{} failed ({})", script.display(), output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| format!("unreadable output of {}: {e}: {line:?}", script.display()))?;
    let times = |key: &str| -> Result<Stats, String> {
        let list: Vec<f64> = report[key]
            .as_array()
            .ok_or_else(|| format!("no {key:?} times in {line:?}"))?
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        if list.len() != args.reps {
            return Err(format!(
                "{} {key:?} times, expected {}",
                list.len(),
                args.reps
            ));
        }
        Ok(Stats::of(&list))
    };
    Ok(NumpyRun {
        version: report["numpy"].as_str().unwrap_or("?").to_string(),
        a: times("a")?,
        b: times("b")?,
        a_scores: read_f64s(&out_dir.join("a_scores.f64"))?,
        a_ranks: read_u32s(&out_dir.join("a_ranks.u32"))?,
        b_nominal_ranks: read_u32s(&out_dir.join("b_nominal_ranks.u32"))?,
    })
}

/// Differences between two rank vectors, as "unit: engine vs numpy" lines.
fn rank_differences(engine: &[u32], numpy: &[u32]) -> Vec<String> {
    if engine.len() != numpy.len() {
        return vec![format!(
            "{} engine ranks vs {} numpy ranks",
            engine.len(),
            numpy.len()
        )];
    }
    engine
        .iter()
        .zip(numpy)
        .enumerate()
        .filter(|(_, (e, n))| e != n)
        .map(|(i, (e, n))| format!("u{i}: engine {e} vs numpy {n}"))
        .collect()
}

fn fail(message: &str) -> ExitCode {
    eprintln!("bench: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Fail before the long engine runs when the reference cannot run.
    let numpy_version = match check_numpy(&args.python) {
        Ok(v) => v,
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::from(2);
        }
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/numpy_baseline.py");
    if !script.is_file() {
        return fail(&format!("{} is missing", script.display()));
    }
    if let Some(n) = args.engine_threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            return fail(&format!("--engine-threads {n}: {e}"));
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: a debug build; run with --release for meaningful engine times");
    }

    let m = model();
    eprintln!(
        "bench: engine, scenario A ({} units x {INDICATORS}), {} runs ...",
        args.units_a, args.reps
    );
    let big = data(args.units_a, args.seed);
    let (engine_a, (a_scores, a_ranks)) = measure(args.reps, || {
        let r = m.score(&big).expect("score");
        let ranks = r.node_ranks(0).to_vec();
        (r.index_scores().to_vec(), ranks)
    });
    drop(big);

    eprintln!(
        "bench: engine, scenario B ({} draws x {} units), {} runs ...",
        args.draws, args.units_b, args.reps
    );
    let small = data(args.units_b, args.seed + 1);
    let config = UncertaintyConfig {
        draws: args.draws,
        seed: args.seed,
        weights: Some(WeightNoise {
            relative: 0.25,
            sets: 0,
        }),
        ..Default::default()
    };
    let (engine_b, report) = measure(args.reps, || {
        run_uncertainty(&m, &small, &config, &ScoreOptions::default()).expect("uncertainty")
    });

    eprintln!(
        "bench: numpy {numpy_version}, same scenarios, {} runs each ...",
        args.reps
    );
    let out_dir = std::env::temp_dir().join(format!("govlens-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        return fail(&format!("{}: {e}", out_dir.display()));
    }
    let numpy = run_numpy(&args, &script, &out_dir);
    let _ = std::fs::remove_dir_all(&out_dir);
    let numpy = match numpy {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };

    // Cross-check: the two implementations computed the same thing.
    let mut problems = Vec::new();
    if numpy.a_scores.len() != a_scores.len() {
        problems.push(format!(
            "scenario A: {} engine scores vs {} numpy scores",
            a_scores.len(),
            numpy.a_scores.len()
        ));
    } else {
        let worst = a_scores
            .iter()
            .zip(&numpy.a_scores)
            .map(|(e, n)| (e - n).abs())
            .fold(0.0, |m: f64, d| if d.is_nan() || d > m { d } else { m });
        if worst.is_nan() || worst > 1e-12 {
            problems.push(format!(
                "scenario A: index scores differ by up to {worst:e}"
            ));
        }
    }
    let a_diff = rank_differences(&a_ranks, &numpy.a_ranks);
    if !a_diff.is_empty() {
        problems.push(format!(
            "scenario A: {} ranks differ, e.g. {}",
            a_diff.len(),
            a_diff[..a_diff.len().min(5)].join("; ")
        ));
    }
    let b_nominal: Vec<u32> = report
        .units
        .iter()
        .map(|u| u.nominal_rank.unwrap_or(0))
        .collect();
    let b_diff = rank_differences(&b_nominal, &numpy.b_nominal_ranks);
    if !b_diff.is_empty() {
        problems.push(format!(
            "scenario B: {} nominal ranks differ, e.g. {}",
            b_diff.len(),
            b_diff[..b_diff.len().min(5)].join("; ")
        ));
    }
    if !problems.is_empty() {
        eprintln!("bench: FAILED: the engine and NumPy disagree:");
        for p in &problems {
            eprintln!("  {p}");
        }
        return ExitCode::FAILURE;
    }

    let threads = rayon::current_num_threads();
    println!();
    println!(
        "GovLens engine vs NumPy {} (reference), seed {}, {} runs per scenario",
        numpy.version, args.seed, args.reps
    );
    println!("engine: {threads} worker thread(s) (rayon); numpy: one thread (vectorised)");
    println!(
        "cross-check: scenario A index scores within 1e-12 and all {} ranks equal; \
         scenario B nominal ranks equal",
        a_ranks.len()
    );
    println!();
    println!(
        "{:<44} {:>28} {:>28} {:>13}",
        "scenario", "engine ms median [min-max]", "numpy ms median [min-max]", "numpy/engine"
    );
    let rows = [
        (
            format!(
                "A score {} units x {INDICATORS} indicators + ranks",
                args.units_a
            ),
            engine_a,
            numpy.a,
        ),
        (
            format!(
                "B uncertainty {} draws x {} units",
                args.draws, args.units_b
            ),
            engine_b,
            numpy.b,
        ),
    ];
    for (name, engine, reference) in rows {
        println!(
            "{name:<44} {:>28} {:>28} {:>12.2}x",
            engine.cell(),
            reference.cell(),
            reference.median / engine.median
        );
        debug_assert_eq!(engine.runs, reference.runs);
    }
    println!();
    println!(
        "ratio = NumPy median / engine median (above 1: the engine is faster); \
         B unit u0: median rank {:?} (engine)",
        report.units[0].median_rank
    );
    ExitCode::SUCCESS
}
