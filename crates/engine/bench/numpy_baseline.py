"""NumPy baseline for the engine benchmark (examples/bench.rs does the same work).

Scenario A: 100,000 units x 50 indicators: min-max normalisation, arithmetic
aggregation indicators -> 10 factors (5 indicators each) -> 3 dimensions (3/3/4
factors) -> index, competition ranks of the index.

Scenario B: 1,000 units x 50 indicators, 1,000 Monte Carlo draws: every weight
(indicator, factor, dimension) perturbed by U(0.75, 1.25), re-aggregation,
competition ranks of the index per draw; 5th/50th/95th percentile rank per unit.

Run: python3 bench/numpy_baseline.py
"""
import time

import numpy as np


def competition_ranks(x):
    s = np.sort(x)
    # 1 + number of strictly greater values
    return len(x) - np.searchsorted(s, x, side="right") + 1


FACTORS = 10
PER = 5
DIMS = [(0, 3), (3, 6), (6, 10)]


def score(n, w_ind, w_fac, w_dim):
    f = (n.reshape(n.shape[0], FACTORS, PER) * w_ind.reshape(FACTORS, PER)).sum(2)
    f /= w_ind.reshape(FACTORS, PER).sum(1)
    d = np.stack(
        [(f[:, a:b] * w_fac[a:b]).sum(1) / w_fac[a:b].sum() for a, b in DIMS], 1
    )
    return (d * w_dim).sum(1) / w_dim.sum()


def scenario_a(rng):
    x = rng.random((100_000, 50))
    t = time.perf_counter()
    mn, mx = x.min(0), x.max(0)
    n = (x - mn) / (mx - mn)
    idx = score(n, np.ones(50), np.ones(FACTORS), np.ones(3))
    r = competition_ranks(idx)
    return time.perf_counter() - t, r


def scenario_b(rng):
    x = rng.random((1_000, 50))
    t = time.perf_counter()
    mn, mx = x.min(0), x.max(0)
    n = (x - mn) / (mx - mn)
    draws = 1_000
    ranks = np.empty((draws, x.shape[0]))
    for d in range(draws):
        w_ind = rng.uniform(0.75, 1.25, 50)
        w_fac = rng.uniform(0.75, 1.25, FACTORS)
        w_dim = rng.uniform(0.75, 1.25, 3)
        ranks[d] = competition_ranks(score(n, w_ind, w_fac, w_dim))
    q = np.percentile(ranks, [5, 50, 95], axis=0)
    return time.perf_counter() - t, q


if __name__ == "__main__":
    rng = np.random.default_rng(1)
    for name, f in [("A score 100k x 50", scenario_a), ("B uncertainty 1000 draws x 1000 units", scenario_b)]:
        best = min(f(rng)[0] for _ in range(3))
        print(f"{name}: {best * 1000:.1f} ms")
