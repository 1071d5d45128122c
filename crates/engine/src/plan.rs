//! Internal compiled form of a model and the scoring kernels shared by
//! nominal scoring and the uncertainty analysis.
//!
//! Nodes are numbered in pre-order (root = 0, children after their parent), so
//! aggregates can be computed in reverse order. Leaves and aggregates each get a
//! dense "slot" indexing a column-major `slots x units` matrix.

use rayon::prelude::*;
use serde::Serialize;

use crate::aggregate::{accumulate, accumulate_map, finish, Accumulator, Aggregation};
use crate::dataset::Dataset;
use crate::error::{EngineError, Result};
use crate::missing::{impute_column, ImputationMethod, Imputed};
use crate::model::{Indicator, Model, Node, NodeKind};
use crate::normalise::{
    normalise_into, prepare, Direction, Normalisation, NormaliseContext, Transform,
};
use crate::rank::{sort_bands, Band, Ranking};

/// Public description of a node in results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeInfo {
    /// Code.
    pub code: String,
    /// Display name.
    pub name: Option<String>,
    /// Parent node index (`None` for the index).
    pub parent: Option<usize>,
    /// Child node indices.
    pub children: Vec<usize>,
    /// Depth (index = 0, dimensions = 1, ...).
    pub depth: usize,
    /// Nominal weight within the parent.
    pub weight: f64,
    /// True for indicators.
    pub is_indicator: bool,
    /// Aggregation method (aggregates only).
    pub aggregation: Option<Aggregation>,
    /// True when the aggregated score is rescaled across units.
    pub rescaled: bool,
    /// Bands, sorted by `min` descending, catch-all last.
    pub bands: Vec<Band>,
}

/// A leaf column for aggregation: raw (imputed) values and their normalisation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafView<'a> {
    pub raw: &'a [f64],
    pub transform: &'a Transform,
    /// True when no value is missing.
    pub dense: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum PlanKind {
    Leaf(Indicator),
    Agg {
        aggregation: Aggregation,
        threshold: Option<f64>,
        rescale: Option<Normalisation>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub nodes: Vec<NodeInfo>,
    pub kinds: Vec<PlanKind>,
    /// Node index of each leaf slot.
    pub leaves: Vec<usize>,
    /// Node index of each aggregate slot (pre-order).
    pub aggs: Vec<usize>,
    /// Slot of each node (leaf slot or aggregate slot).
    pub slot: Vec<usize>,
    pub ranking: Ranking,
}

impl Plan {
    pub fn new(model: &Model) -> Result<Plan> {
        model.validate()?;
        let mut plan = Plan {
            nodes: Vec::new(),
            kinds: Vec::new(),
            leaves: Vec::new(),
            aggs: Vec::new(),
            slot: Vec::new(),
            ranking: model.ranking,
        };
        plan.add(&model.root, None, 0);
        Ok(plan)
    }

    fn add(&mut self, node: &Node, parent: Option<usize>, depth: usize) -> usize {
        let id = self.nodes.len();
        let (kind, aggregation, rescaled, mut bands) = match &node.kind {
            NodeKind::Indicator(ind) => {
                self.slot.push(self.leaves.len());
                self.leaves.push(id);
                (PlanKind::Leaf(ind.clone()), None, false, Vec::new())
            }
            NodeKind::Aggregate(a) => {
                self.slot.push(self.aggs.len());
                self.aggs.push(id);
                (
                    PlanKind::Agg {
                        aggregation: a.aggregation,
                        threshold: a.threshold,
                        rescale: a.rescale.clone(),
                    },
                    Some(a.aggregation),
                    a.rescale.is_some(),
                    a.bands.clone(),
                )
            }
        };
        sort_bands(&mut bands);
        self.nodes.push(NodeInfo {
            code: node.code.clone(),
            name: node.name.clone(),
            parent,
            children: Vec::new(),
            depth,
            weight: node.weight,
            is_indicator: node.is_indicator(),
            aggregation,
            rescaled,
            bands,
        });
        self.kinds.push(kind);
        for c in node.children() {
            let cid = self.add(c, Some(id), depth + 1);
            self.nodes[id].children.push(cid);
        }
        id
    }

    pub fn is_leaf(&self, node: usize) -> bool {
        matches!(self.kinds[node], PlanKind::Leaf(_))
    }

    pub fn nominal_weights(&self) -> Vec<f64> {
        self.nodes.iter().map(|n| n.weight).collect()
    }

    /// Looks up the dataset column of every leaf.
    pub fn leaf_columns(&self, data: &Dataset) -> Result<Vec<usize>> {
        let mut cols = Vec::with_capacity(self.leaves.len());
        let mut missing = Vec::new();
        for &id in &self.leaves {
            match data.indicator_index(&self.nodes[id].code) {
                Some(j) => cols.push(j),
                None => missing.push(self.nodes[id].code.clone()),
            }
        }
        if missing.is_empty() {
            Ok(cols)
        } else {
            Err(EngineError::MissingIndicators(missing))
        }
    }

    /// Imputes missing leaf values. Returns the dataset column of each leaf, the
    /// imputed copy of each leaf column that needed one, and the records.
    #[allow(clippy::type_complexity)]
    pub fn impute(
        &self,
        data: &Dataset,
    ) -> Result<(Vec<usize>, Vec<Option<Vec<f64>>>, Vec<Imputed>)> {
        let cols = self.leaf_columns(data)?;
        let needs_groups = self.leaves.iter().any(|&id| {
            matches!(&self.kinds[id], PlanKind::Leaf(ind) if ind.imputation == ImputationMethod::GroupMean)
        });
        let group_ids = if needs_groups {
            Some(data.group_ids().0)
        } else {
            None
        };
        let mut owned = Vec::with_capacity(cols.len());
        let mut records = Vec::new();
        for (&id, &j) in self.leaves.iter().zip(&cols) {
            let column = data.column_at(j);
            let method = match &self.kinds[id] {
                PlanKind::Leaf(ind) => ind.imputation,
                PlanKind::Agg { .. } => ImputationMethod::None,
            };
            if method == ImputationMethod::None || !column.iter().any(|v| v.is_nan()) {
                owned.push(None);
                continue;
            }
            let mut col = column.to_vec();
            let filled = impute_column(&mut col, method, group_ids.as_deref());
            records.extend(filled.into_iter().map(|(row, value)| Imputed {
                unit: data.units()[row].clone(),
                indicator: self.nodes[id].code.clone(),
                value,
                method,
            }));
            owned.push(Some(col));
        }
        Ok((cols, owned, records))
    }

    /// Prepares the normalisation of every leaf (column statistics, in parallel).
    /// `raws[slot]` is the (imputed) raw column; `method` overrides each
    /// indicator's own method.
    pub fn prepare_leaves(
        &self,
        raws: &[&[f64]],
        data: &Dataset,
        method: Option<&Normalisation>,
    ) -> Result<Vec<(Transform, bool)>> {
        let mut jobs = Vec::with_capacity(self.leaves.len());
        for &id in &self.leaves {
            let PlanKind::Leaf(ind) = &self.kinds[id] else {
                continue;
            };
            let m = method.unwrap_or(&ind.normalisation);
            let ctx = NormaliseContext {
                direction: ind.direction,
                target: ind.target,
                goalposts: ind.goalposts,
                reference: resolve_reference(m, data)?,
            };
            jobs.push((id, m, ctx));
        }
        jobs.par_iter()
            .zip(raws.par_iter())
            .map(|((id, m, ctx), x)| {
                prepare(x, m, ctx).map_err(|f| f.into_error(&self.nodes[*id].code))
            })
            .collect::<Vec<Result<(Transform, bool)>>>()
            .into_iter()
            .collect()
    }

    /// Contexts for node rescaling (reference units resolved).
    pub fn rescale_contexts(&self, data: &Dataset) -> Result<Vec<Option<NormaliseContext>>> {
        self.aggs
            .iter()
            .map(|&id| match &self.kinds[id] {
                PlanKind::Agg {
                    rescale: Some(r), ..
                } => Ok(Some(NormaliseContext {
                    direction: Direction::HigherIsBetter,
                    reference: resolve_reference(r, data)?,
                    ..Default::default()
                })),
                _ => Ok(None),
            })
            .collect()
    }

    /// True when some aggregate rescales its scores (needs whole columns).
    pub fn has_rescale(&self) -> bool {
        self.kinds.iter().any(|k| {
            matches!(
                k,
                PlanKind::Agg {
                    rescale: Some(_),
                    ..
                }
            )
        })
    }

    /// Computes aggregate columns (`aggs x units`) bottom-up from the leaves
    /// (normalised on the fly), sequentially over whole columns.
    ///
    /// `weights` are per node; `method` overrides every aggregate's method;
    /// `active` (per aggregate slot) skips aggregates that are not needed.
    #[allow(clippy::too_many_arguments)]
    pub fn aggregate(
        &self,
        leaves: &[LeafView<'_>],
        weights: &[f64],
        method: Option<&Aggregation>,
        rescale_ctx: &[Option<NormaliseContext>],
        active: Option<&[bool]>,
        units: &[String],
        acc: &mut Accumulator,
        out: &mut [f64],
    ) -> Result<()> {
        let n = units.len();
        self.aggregate_range(
            leaves,
            0,
            n,
            weights,
            method,
            Some(rescale_ctx),
            active,
            units,
            acc,
            out,
        )
    }

    /// Nominal aggregation; splits the units into blocks processed in parallel
    /// when no node needs whole-column rescaling.
    pub fn aggregate_parallel(
        &self,
        leaves: &[LeafView<'_>],
        rescale_ctx: &[Option<NormaliseContext>],
        units: &[String],
        out: &mut [f64],
    ) -> Result<()> {
        const BLOCK: usize = 4096;
        let n = units.len();
        let weights = self.nominal_weights();
        if self.has_rescale() || n <= BLOCK {
            let mut acc = Accumulator::default();
            return self.aggregate(
                leaves,
                &weights,
                None,
                rescale_ctx,
                None,
                units,
                &mut acc,
                out,
            );
        }
        let k = self.aggs.len();
        if k == 0 {
            return Ok(());
        }
        // Regroup the column-major output into per-block sets of disjoint slices.
        let n_blocks = n.div_ceil(BLOCK);
        let mut per_block: Vec<Vec<&mut [f64]>> =
            (0..n_blocks).map(|_| Vec::with_capacity(k)).collect();
        for column in out.chunks_mut(n) {
            for (b, part) in column.chunks_mut(BLOCK).enumerate() {
                per_block[b].push(part);
            }
        }
        let results: Vec<Result<()>> = per_block
            .into_par_iter()
            .enumerate()
            .map_init(
                || (Accumulator::default(), Vec::new()),
                |(acc, buf), (b, mut parts)| {
                    let start = b * BLOCK;
                    let len = BLOCK.min(n - start);
                    buf.clear();
                    buf.resize(k * len, f64::NAN);
                    self.aggregate_range(
                        leaves, start, len, &weights, None, None, None, units, acc, buf,
                    )?;
                    for (s, part) in parts.iter_mut().enumerate() {
                        part.copy_from_slice(&buf[s * len..(s + 1) * len]);
                    }
                    Ok(())
                },
            )
            .collect();
        results.into_iter().collect()
    }

    /// Aggregates units `start..start + len` into `out` (`aggs x len`). Leaves
    /// are full columns. Rescaling is applied only when `rescale_ctx` is given
    /// (whole columns).
    #[allow(clippy::too_many_arguments)]
    fn aggregate_range(
        &self,
        leaves: &[LeafView<'_>],
        start: usize,
        len: usize,
        weights: &[f64],
        method: Option<&Aggregation>,
        rescale_ctx: Option<&[Option<NormaliseContext>]>,
        active: Option<&[bool]>,
        units: &[String],
        acc: &mut Accumulator,
        out: &mut [f64],
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        // Whether each aggregate's block has no missing value.
        let mut agg_dense = vec![false; self.aggs.len()];
        for s in (0..self.aggs.len()).rev() {
            if let Some(a) = active {
                if !a[s] {
                    continue;
                }
            }
            let id = self.aggs[s];
            let PlanKind::Agg {
                aggregation,
                threshold,
                rescale,
            } = &self.kinds[id]
            else {
                continue;
            };
            let m = method.unwrap_or(aggregation);
            let (head, tail) = out.split_at_mut((s + 1) * len);
            let target = &mut head[s * len..];
            acc.reset(len);
            let children = &self.nodes[id].children;
            for &c in children {
                let cs = self.slot[c];
                let w = weights[c];
                let added = if self.is_leaf(c) {
                    let leaf = &leaves[cs];
                    let dense = leaf.dense;
                    match leaf.transform {
                        Transform::Affine(a) => {
                            let raw = &leaf.raw[start..start + len];
                            if a.is_unclamped() {
                                accumulate_map(acc, raw, |x| a.apply_linear(x), w, m, dense)
                            } else {
                                accumulate_map(acc, raw, |x| a.apply(x), w, m, dense)
                            }
                        }
                        Transform::Values(v) => {
                            accumulate(acc, &v[start..start + len], w, m, dense)
                        }
                    }
                } else {
                    // Children come later in pre-order, so their slot is > s.
                    let off = (cs - s - 1) * len;
                    accumulate(acc, &tail[off..off + len], w, m, agg_dense[cs])
                };
                added.map_err(|(u, e)| EngineError::AggregationDomain {
                    node: self.nodes[id].code.clone(),
                    unit: units[start + u].clone(),
                    value: e.value,
                    method: e.method,
                    reason: e.reason,
                })?;
            }
            agg_dense[s] = !finish(acc, children.len(), m, *threshold, target);
            if let (Some(r), Some(Some(ctx))) = (rescale, rescale_ctx.map(|c| &c[s])) {
                let input = target.to_vec();
                normalise_into(&input, r, ctx, target)
                    .map_err(|f| f.into_error(&self.nodes[id].code))?;
            }
        }
        Ok(())
    }

    /// Aggregate slots needed to compute node `target` (its subtree).
    pub fn active_for(&self, target: usize) -> Vec<bool> {
        let mut active = vec![false; self.aggs.len()];
        let mut stack = vec![target];
        while let Some(id) = stack.pop() {
            if !self.is_leaf(id) {
                active[self.slot[id]] = true;
                stack.extend(self.nodes[id].children.iter().copied());
            }
        }
        active
    }
}

fn resolve_reference(m: &Normalisation, data: &Dataset) -> Result<Option<usize>> {
    match m {
        Normalisation::DistanceToReference { reference, .. } => data
            .unit_index(reference)
            .map(Some)
            .ok_or_else(|| EngineError::UnknownUnit(reference.clone())),
        _ => Ok(None),
    }
}
