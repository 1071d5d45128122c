"""NumPy reference implementation of the engine benchmark (examples/bench.rs).

The same normalise-weight-aggregate model as the engine's benchmark model:

Scenario A: 100,000 units x 50 indicators: min-max normalisation, arithmetic
aggregation indicators -> 10 factors (5 indicators each) -> 3 dimensions (3/3/4
factors) -> index, competition ranks ("1224") of the index.

Scenario B: 1,000 units x 50 indicators, 1,000 Monte Carlo draws: every weight
(indicator, factor, dimension) multiplied by U(0.75, 1.25), re-aggregation,
competition ranks of the index per draw; 5th/50th/95th percentile rank per unit.

Inputs are generated exactly as examples/bench.rs generates them: value (i, j) of
a scenario is splitmix64(seed + (i * 50 + j + 1) * 0x9E3779B97F4A7C15) >> 11,
scaled to [0, 1) (scenario B uses seed + 1). The weight draws of scenario B use
NumPy's own generator, so only the inputs and the nominal ranks of B are the same.

Each scenario runs --reps times; times exclude generating the inputs.

Run alone:        python3 crates/engine/bench/numpy_baseline.py
Run with the engine (what to use): cargo run --release -p govlens-engine --example bench
The engine's runner passes --json and --out-dir: then the times are printed as one
JSON object and scenario A's index scores and ranks (and scenario B's nominal ranks)
are written to --out-dir for the runner's cross-check.
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.stderr.write(
        "numpy_baseline.py: NumPy is not installed for %s. Install it with:\n"
        "    pip install numpy\n" % sys.executable
    )
    sys.exit(3)

INDICATORS = 50
FACTORS = 10
PER = 5
DIMS = [(0, 3), (3, 6), (6, 10)]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def inputs(units, seed):
    """units x 50 values in [0, 1): splitmix64 of the row-major position."""
    k = np.arange(1, units * INDICATORS + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(units, INDICATORS)


def competition_ranks(x):
    s = np.sort(x)
    # 1 + number of strictly greater values
    return len(x) - np.searchsorted(s, x, side="right") + 1


def score(n, w_ind, w_fac, w_dim):
    w = w_ind.reshape(FACTORS, PER)
    f = (n.reshape(n.shape[0], FACTORS, PER) * w).sum(2) / w.sum(1)
    d = np.stack(
        [(f[:, a:b] * w_fac[a:b]).sum(1) / w_fac[a:b].sum() for a, b in DIMS], 1
    )
    return (d * w_dim).sum(1) / w_dim.sum()


def normalise(x):
    mn, mx = x.min(0), x.max(0)
    return (x - mn) / (mx - mn)


def scenario_a(x):
    t = time.perf_counter()
    idx = score(normalise(x), np.ones(INDICATORS), np.ones(FACTORS), np.ones(3))
    r = competition_ranks(idx)
    return time.perf_counter() - t, (idx, r)


def scenario_b(x, draws, rng):
    t = time.perf_counter()
    n = normalise(x)
    ranks = np.empty((draws, x.shape[0]))
    for d in range(draws):
        w_ind = rng.uniform(0.75, 1.25, INDICATORS)
        w_fac = rng.uniform(0.75, 1.25, FACTORS)
        w_dim = rng.uniform(0.75, 1.25, 3)
        ranks[d] = competition_ranks(score(n, w_ind, w_fac, w_dim))
    q = np.percentile(ranks, [5, 50, 95], axis=0)
    return time.perf_counter() - t, q


def summary(times):
    s = sorted(times)
    return "median %.1f ms (min %.1f, max %.1f, %d runs)" % (
        s[len(s) // 2] * 1e3,
        s[0] * 1e3,
        s[-1] * 1e3,
        len(s),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--units-a", type=int, default=100_000)
    p.add_argument("--units-b", type=int, default=1_000)
    p.add_argument("--draws", type=int, default=1_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out-dir", help="write scenario A's scores and ranks here")
    p.add_argument("--json", action="store_true", help="print the times as JSON")
    args = p.parse_args()
    if args.reps < 1:
        p.error("--reps must be at least 1")

    xa = inputs(args.units_a, args.seed)
    a_times, idx, ranks = [], None, None
    for _ in range(args.reps):
        t, (idx, ranks) = scenario_a(xa)
        a_times.append(t)

    xb = inputs(args.units_b, args.seed + 1)
    rng = np.random.default_rng(args.seed)
    b_times = [scenario_b(xb, args.draws, rng)[0] for _ in range(args.reps)]

    if args.out_dir:
        idx.astype("<f8").tofile(os.path.join(args.out_dir, "a_scores.f64"))
        ranks.astype("<u4").tofile(os.path.join(args.out_dir, "a_ranks.u32"))
        nominal = competition_ranks(
            score(normalise(xb), np.ones(INDICATORS), np.ones(FACTORS), np.ones(3))
        )
        nominal.astype("<u4").tofile(os.path.join(args.out_dir, "b_nominal_ranks.u32"))

    if args.json:
        print(
            json.dumps(
                {
                    "numpy": np.__version__,
                    "python": sys.version.split()[0],
                    "a": a_times,
                    "b": b_times,
                }
            )
        )
    else:
        print("numpy %s" % np.__version__)
        print("A score %d x %d: %s" % (args.units_a, INDICATORS, summary(a_times)))
        print(
            "B uncertainty %d draws x %d units: %s"
            % (args.draws, args.units_b, summary(b_times))
        )


if __name__ == "__main__":
    main()
