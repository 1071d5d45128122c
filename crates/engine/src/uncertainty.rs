//! Monte Carlo uncertainty and sensitivity analysis of ranks.
//!
//! Each draw re-scores the units under randomly chosen assumptions:
//!
//! * **weights**: every node weight `w` (indicators, factors, dimensions) is
//!   multiplied by an independent factor `U(1 - r, 1 + r)` (`r` =
//!   [`WeightNoise::relative`], e.g. 0.25 for +-25%);
//! * **normalisation**: one of [`UncertaintyConfig::normalisation`] is applied to
//!   every indicator (`None` in the list stands for the model's own methods);
//! * **aggregation**: one of [`UncertaintyConfig::aggregation`] is used at every
//!   aggregate node (`None` = the model's own methods).
//!
//! Imputation is done once, as in the nominal run. For every unit the report
//! gives the nominal rank and the median, 5th and 95th percentile of its rank
//! over the draws (quantiles by linear interpolation, R type 7 / numpy default).
//!
//! **Sensitivity.** The first-order index of assumption `X` is
//! `S_X = Var(E[rank | X]) / Var(rank)`, computed per unit and averaged over
//! the units whose rank varies. It is estimated by *binning*: draws are grouped by
//! the alternative chosen for `X` (`K` non-empty groups, `N` draws, sums of
//! squares `SSB` between and `SSW` within groups). With the one-way ANOVA
//! (random-effects) estimators `s2_within = SSW / (N - K)` and
//! `s2_between = max(0, (SSB - (K - 1) * s2_within) / N)`, which remove the
//! upward small-sample bias of plain binning,
//! `S_X = s2_between / (s2_between + s2_within)`, in `[0, 1]`, equal to 1 when
//! the assumption alone determines the rank. For the
//! normalisation and aggregation assumptions the groups are the alternatives
//! themselves. For weights, as in COINr, a pool of [`WeightNoise::sets`] perturbed
//! weight sets is drawn once and each draw picks one set uniformly, so the set
//! index is the (discrete) weights assumption. With `sets = 0` every draw
//! perturbs the weights afresh and the weights index is not estimated.
//!
//! **Reproducibility.** The weight pool uses ChaCha8 stream 0 of `seed`, draw
//! `d` uses stream `d + 1`; draws are independent of scheduling, so the same seed
//! gives identical output for any number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::aggregate::{Accumulator, Aggregation};
use crate::dataset::Dataset;
use crate::error::{EngineError, FieldError, Result};
use crate::model::{validate_aggregation, validate_normalisation, Model};
use crate::normalise::{Normalisation, Transform};
use crate::plan::{LeafView, Plan};
use crate::rank::ranks_into;
use crate::score::{score_plan, ScoreOptions};

/// Multiplicative weight noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightNoise {
    /// Half-width of the uniform factor, in `[0, 1)`: weights vary in `w * [1 - r, 1 + r]`.
    pub relative: f64,
    /// Size of the pool of perturbed weight sets (0 = fresh weights every draw).
    pub sets: usize,
}

impl WeightNoise {
    /// +-`relative` noise with a pool of 50 weight sets.
    pub fn uniform(relative: f64) -> Self {
        WeightNoise { relative, sets: 50 }
    }
}

/// Configuration of an uncertainty run.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertaintyConfig {
    /// Number of Monte Carlo draws (>= 2).
    pub draws: usize,
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
    /// Weight noise, if weights are uncertain.
    pub weights: Option<WeightNoise>,
    /// Normalisation alternatives (`None` = model's own); empty = not uncertain.
    pub normalisation: Vec<Option<Normalisation>>,
    /// Aggregation alternatives (`None` = model's own); empty = not uncertain.
    pub aggregation: Vec<Option<Aggregation>>,
    /// Node whose rank is analysed (default: the index).
    pub target: Option<String>,
    /// Worker threads (default: rayon's global pool).
    pub threads: Option<usize>,
}

impl Default for UncertaintyConfig {
    fn default() -> Self {
        UncertaintyConfig {
            draws: 1000,
            seed: 0,
            weights: None,
            normalisation: Vec::new(),
            aggregation: Vec::new(),
            target: None,
            threads: None,
        }
    }
}

/// Rank distribution of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitUncertainty {
    /// Unit code.
    pub unit: String,
    /// Rank in the nominal run.
    pub nominal_rank: Option<u32>,
    /// Median rank over the draws.
    pub median_rank: Option<f64>,
    /// 5th percentile rank.
    pub p05_rank: Option<f64>,
    /// 95th percentile rank.
    pub p95_rank: Option<f64>,
    /// Mean rank.
    pub mean_rank: Option<f64>,
    /// Number of draws in which the unit had a rank.
    pub ranked_draws: usize,
}

/// First-order sensitivity of one assumption.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// `weights`, `normalisation` or `aggregation`.
    pub assumption: String,
    /// Number of alternatives (weight sets for `weights`).
    pub alternatives: usize,
    /// Mean over units of `Var(E[rank | X]) / Var(rank)`; `None` if not estimable.
    pub first_order: Option<f64>,
}

/// Result of [`run_uncertainty`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyReport {
    /// Analysed node.
    pub target: String,
    /// Number of draws.
    pub draws: usize,
    /// Seed used.
    pub seed: u64,
    /// Per-unit rank distributions (dataset row order).
    pub units: Vec<UnitUncertainty>,
    /// Sensitivity of every varied assumption.
    pub sensitivity: Vec<Sensitivity>,
    /// Name of the sensitivity estimator.
    pub estimator: &'static str,
}

fn check_config(cfg: &UncertaintyConfig) -> Result<()> {
    if cfg.draws < 2 {
        return Err(EngineError::option("draws", "must be at least 2"));
    }
    if u32::try_from(cfg.draws).is_err() {
        return Err(EngineError::option("draws", "too many draws"));
    }
    if let Some(w) = cfg.weights {
        if !(w.relative.is_finite() && (0.0..1.0).contains(&w.relative)) {
            return Err(EngineError::option("weights.relative", "must be in [0, 1)"));
        }
    }
    if cfg.threads == Some(0) {
        return Err(EngineError::option("threads", "must be at least 1"));
    }
    let mut errs: Vec<FieldError> = Vec::new();
    for (i, n) in cfg.normalisation.iter().enumerate() {
        if let Some(n) = n {
            validate_normalisation(n, &format!("normalisation[{i}]"), &mut errs);
        }
    }
    for (i, a) in cfg.aggregation.iter().enumerate() {
        if let Some(a) = a {
            validate_aggregation(a, &format!("aggregation[{i}]"), &mut errs);
        }
    }
    if let Some(e) = errs.into_iter().next() {
        return Err(EngineError::option(e.path, e.message));
    }
    Ok(())
}

/// Quantile with linear interpolation (R type 7) of sorted values.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Type-7 quantile of integer values by selection (O(n), reorders `v`).
fn quantile_select(v: &mut [u32], p: f64) -> Option<f64> {
    if v.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, &mut a, right) = v.select_nth_unstable(lo);
    let b = right.iter().copied().min().unwrap_or(a);
    Some(f64::from(a) + (h - lo as f64) * (f64::from(b) - f64::from(a)))
}

/// Bias-corrected between-group variance share for one unit (see module docs).
/// `groups[d]` is the alternative chosen in draw `d`; `y[d]` is the rank or NaN.
fn first_order_one(y: &[f64], groups: &[u32], k: usize) -> Option<f64> {
    let mut n_g = vec![0usize; k];
    let mut s_g = vec![0.0; k];
    let mut n = 0usize;
    let mut s = 0.0;
    for (&v, &g) in y.iter().zip(groups) {
        if !v.is_nan() {
            n_g[g as usize] += 1;
            s_g[g as usize] += v;
            n += 1;
            s += v;
        }
    }
    if n < 2 {
        return None;
    }
    let mean = s / n as f64;
    let sst: f64 = y
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean) * (v - mean))
        .sum();
    if sst <= 0.0 {
        return None;
    }
    let mut ssb = 0.0;
    let mut groups_used = 0usize;
    for g in 0..k {
        if n_g[g] > 0 {
            groups_used += 1;
            let d = s_g[g] / n_g[g] as f64 - mean;
            ssb += n_g[g] as f64 * d * d;
        }
    }
    if n <= groups_used {
        return None;
    }
    let ssw = (sst - ssb).max(0.0);
    let within = ssw / (n - groups_used) as f64;
    let between = ((ssb - (groups_used - 1) as f64 * within) / n as f64).max(0.0);
    let total = within + between;
    if total <= 0.0 {
        return None;
    }
    Some((between / total).clamp(0.0, 1.0))
}

/// Runs the Monte Carlo uncertainty and sensitivity analysis.
pub fn run_uncertainty(
    model: &Model,
    data: &Dataset,
    cfg: &UncertaintyConfig,
    opts: &ScoreOptions,
) -> Result<UncertaintyReport> {
    run_uncertainty_with_progress(model, data, cfg, opts, &AtomicUsize::new(0))
}

/// [`run_uncertainty`], counting finished draws in `draws_done` as it goes, so a
/// caller on another thread can report progress of a long run.
pub fn run_uncertainty_with_progress(
    model: &Model,
    data: &Dataset,
    cfg: &UncertaintyConfig,
    opts: &ScoreOptions,
    draws_done: &AtomicUsize,
) -> Result<UncertaintyReport> {
    check_config(cfg)?;
    match cfg.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| EngineError::option("threads", e.to_string()))?
            .install(|| run(model, data, cfg, opts, draws_done)),
        None => run(model, data, cfg, opts, draws_done),
    }
}

struct Scratch {
    acc: Accumulator,
    aggs: Vec<f64>,
    weights: Vec<f64>,
    rank: Vec<(u64, u32)>,
    leaf: Vec<f64>,
}

fn perturb(nominal: &[f64], r: f64, rng: &mut ChaCha8Rng, out: &mut [f64]) {
    // Node 0 (the index) has no parent; its weight is unused but drawn for stability.
    for (o, &w) in out.iter_mut().zip(nominal) {
        let u: f64 = rng.random();
        *o = w * (1.0 - r + 2.0 * r * u);
    }
}

fn run(
    model: &Model,
    data: &Dataset,
    cfg: &UncertaintyConfig,
    opts: &ScoreOptions,
    draws_done: &AtomicUsize,
) -> Result<UncertaintyReport> {
    let plan = Plan::new(model)?;
    let ranking = opts.ranking.unwrap_or(plan.ranking);
    let target = match &cfg.target {
        Some(code) => plan
            .nodes
            .iter()
            .position(|n| &n.code == code)
            .ok_or_else(|| EngineError::UnknownNode(code.clone()))?,
        None => 0,
    };
    let n = data.n_units();
    let nominal = score_plan(&plan, data, opts)?;
    let (leaf_cols, leaf_imputed, _) = plan.impute(data)?;
    let raws: Vec<&[f64]> = leaf_cols
        .iter()
        .zip(&leaf_imputed)
        .map(|(&j, own)| own.as_deref().unwrap_or_else(|| data.column_at(j)))
        .collect();

    // Leaf normalisations, once per alternative.
    let norm_alts: Vec<Option<Normalisation>> = if cfg.normalisation.is_empty() {
        vec![None]
    } else {
        cfg.normalisation.clone()
    };
    let transform_sets: Vec<Vec<(Transform, bool)>> = norm_alts
        .iter()
        .map(|m| plan.prepare_leaves(&raws, data, m.as_ref()))
        .collect::<Result<_>>()?;
    // Small problems: normalise once per alternative so draws read plain values.
    const MATERIALISE_CELLS: usize = 1 << 22;
    let transform_sets: Vec<Vec<(Transform, bool)>> = if n * plan.leaves.len() <= MATERIALISE_CELLS
    {
        transform_sets
            .into_iter()
            .map(|ts| {
                ts.into_iter()
                    .zip(&raws)
                    .map(|((t, missing), raw)| (Transform::Values(t.apply(raw)), missing))
                    .collect()
            })
            .collect()
    } else {
        transform_sets
    };
    let leaf_sets: Vec<Vec<LeafView<'_>>> = transform_sets
        .iter()
        .map(|ts| {
            raws.iter()
                .zip(ts)
                .map(|(raw, (transform, missing))| LeafView {
                    raw,
                    transform,
                    dense: !missing,
                })
                .collect()
        })
        .collect();
    let agg_alts: Vec<Option<Aggregation>> = if cfg.aggregation.is_empty() {
        vec![None]
    } else {
        cfg.aggregation.clone()
    };
    let rescale_ctx = plan.rescale_contexts(data)?;
    let active = plan.active_for(target);
    let nominal_w = plan.nominal_weights();

    // Weight pool (stream 0).
    let pool: Vec<Vec<f64>> = match cfg.weights {
        Some(w) if w.sets > 0 => {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(0);
            (0..w.sets)
                .map(|_| {
                    let mut v = vec![0.0; nominal_w.len()];
                    perturb(&nominal_w, w.relative, &mut rng, &mut v);
                    v
                })
                .collect()
        }
        _ => Vec::new(),
    };

    let draws = cfg.draws;
    let mut ranks = vec![0u32; draws * n];
    // (weight set, normalisation, aggregation) chosen in each draw.
    let mut choices = vec![(0u32, 0u32, 0u32); draws];
    let target_is_leaf = plan.is_leaf(target);
    let target_slot = plan.slot[target];

    let run_draw =
        |d: usize, s: &mut Scratch, out: &mut [u32], choice: &mut (u32, u32, u32)| -> Result<()> {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(d as u64 + 1);
            let weights: &[f64] = match cfg.weights {
                Some(w) if w.sets > 0 => {
                    let i = rng.random_range(0..pool.len());
                    choice.0 = i as u32;
                    &pool[i]
                }
                Some(w) => {
                    perturb(&nominal_w, w.relative, &mut rng, &mut s.weights);
                    &s.weights
                }
                None => &nominal_w,
            };
            let ni = rng.random_range(0..norm_alts.len());
            let ai = rng.random_range(0..agg_alts.len());
            choice.1 = ni as u32;
            choice.2 = ai as u32;
            let leaves = &leaf_sets[ni];
            let col: &[f64] = if target_is_leaf {
                let leaf = &leaves[target_slot];
                leaf.transform.apply_into(leaf.raw, &mut s.leaf);
                &s.leaf
            } else {
                plan.aggregate(
                    leaves,
                    weights,
                    agg_alts[ai].as_ref(),
                    &rescale_ctx,
                    Some(&active),
                    data.units(),
                    &mut s.acc,
                    &mut s.aggs,
                )?;
                &s.aggs[target_slot * n..(target_slot + 1) * n]
            };
            ranks_into(col, &ranking, &mut s.rank, out);
            Ok(())
        };

    if n > 0 {
        let results: Vec<Result<()>> = ranks
            .par_chunks_mut(n)
            .zip(choices.par_iter_mut())
            .enumerate()
            .map_init(
                || Scratch {
                    acc: Accumulator::default(),
                    aggs: vec![f64::NAN; plan.aggs.len() * n],
                    weights: vec![0.0; nominal_w.len()],
                    rank: Vec::with_capacity(n),
                    leaf: if target_is_leaf {
                        vec![0.0; n]
                    } else {
                        Vec::new()
                    },
                },
                |s, (d, (out, choice))| {
                    let done = run_draw(d, s, out, choice);
                    draws_done.fetch_add(1, Ordering::Relaxed);
                    done
                },
            )
            .collect();
        for r in results {
            r?;
        }
    }

    // Per-unit rank statistics (unit-major copy for locality).
    let nominal_ranks = nominal.node_ranks(target);
    let per_unit: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|u| {
            (0..draws)
                .map(|d| match ranks[d * n + u] {
                    0 => f64::NAN,
                    r => f64::from(r),
                })
                .collect()
        })
        .collect();
    let units: Vec<UnitUncertainty> = per_unit
        .par_iter()
        .enumerate()
        .map(|(u, ys)| {
            let mut int_ranks: Vec<u32> = ys
                .iter()
                .filter(|v| !v.is_nan())
                .map(|&v| v as u32)
                .collect();
            let mean = (!int_ranks.is_empty()).then(|| {
                int_ranks.iter().map(|&r| f64::from(r)).sum::<f64>() / int_ranks.len() as f64
            });
            let ranked = int_ranks.len();
            let q05 = quantile_select(&mut int_ranks, 0.05);
            let q50 = quantile_select(&mut int_ranks, 0.5);
            let q95 = quantile_select(&mut int_ranks, 0.95);
            UnitUncertainty {
                unit: data.units()[u].clone(),
                nominal_rank: nominal_ranks.get(u).copied().filter(|&r| r > 0),
                median_rank: q50,
                p05_rank: q05,
                p95_rank: q95,
                mean_rank: mean,
                ranked_draws: ranked,
            }
        })
        .collect();

    // Sensitivity indices.
    let mut sensitivity = Vec::new();
    let mut add = |name: &str, k: usize, pick: fn(&(u32, u32, u32)) -> u32, estimable: bool| {
        let groups: Vec<u32> = choices.iter().map(pick).collect();
        let first_order = if estimable {
            let vals: Vec<f64> = per_unit
                .par_iter()
                .filter_map(|ys| first_order_one(ys, &groups, k))
                .collect();
            (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
        } else {
            None
        };
        sensitivity.push(Sensitivity {
            assumption: name.to_string(),
            alternatives: k,
            first_order,
        });
    };
    if let Some(w) = cfg.weights {
        add("weights", w.sets, |c| c.0, w.sets > 1);
    }
    if norm_alts.len() > 1 {
        add("normalisation", norm_alts.len(), |c| c.1, true);
    }
    if agg_alts.len() > 1 {
        add("aggregation", agg_alts.len(), |c| c.2, true);
    }

    Ok(UncertaintyReport {
        target: plan.nodes[target].code.clone(),
        draws,
        seed: cfg.seed,
        units,
        sensitivity,
        estimator: "binning (ANOVA-corrected between-group variance, groups = alternatives)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_type_7() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        // h = 3 * 0.05 = 0.15: 1 + 0.15 * 1
        assert!((quantile_sorted(&v, 0.05).unwrap() - 1.15).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn quantile_by_selection_matches_sorting() {
        let mut v = vec![7, 1, 4, 4, 9, 2, 2, 8, 3, 5, 6];
        let mut sorted: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        sorted.sort_by(f64::total_cmp);
        for p in [0.0, 0.05, 0.25, 0.5, 0.9, 0.95, 1.0] {
            assert_eq!(
                quantile_select(&mut v, p),
                quantile_sorted(&sorted, p),
                "p = {p}"
            );
        }
        assert_eq!(quantile_select(&mut [], 0.5), None);
    }

    #[test]
    fn first_order_by_hand() {
        // Rank fully determined by the group: S = 1 after correction (SSW = 0).
        let y = [1.0, 1.0, 3.0, 3.0];
        let g = [0, 0, 1, 1];
        assert_eq!(first_order_one(&y, &g, 2), Some(1.0));
        // Group means equal: SSB = 0 -> S = 0.
        let y = [1.0, 3.0, 1.0, 3.0];
        assert_eq!(first_order_one(&y, &g, 2), Some(0.0));
        // Mixed: y = [1, 2, 3, 6], groups {1,2} {3,6}: mean 3, SST = 4+1+0+9 = 14,
        // SSB = 2*(1.5-3)^2 + 2*(4.5-3)^2 = 9, SSW = 5, within = 5/2,
        // between = (9 - 1 * 2.5) / 4 = 1.625, S = 1.625 / (2.5 + 1.625).
        let y = [1.0, 2.0, 3.0, 6.0];
        let s = first_order_one(&y, &g, 2).unwrap();
        assert!((s - 1.625 / 4.125).abs() < 1e-12);
        // One draw per group: within-group variance not estimable.
        assert_eq!(first_order_one(&[1.0, 2.0], &[0, 1], 2), None);
        // No variance: undefined.
        assert_eq!(first_order_one(&[2.0, 2.0], &[0, 1], 2), None);
    }
}
