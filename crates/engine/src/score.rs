//! Nominal scoring: imputation, normalisation, aggregation, ranks, bands and
//! contribution breakdowns.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{EngineError, Result};
use crate::missing::Imputed;
use crate::model::Model;
use crate::normalise::Transform;
use crate::plan::{LeafView, NodeInfo, Plan};
use crate::rank::{band_index, ranks_into, Ranking};

/// Options of a scoring run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScoreOptions {
    /// Overrides the model's ranking options.
    pub ranking: Option<Ranking>,
}

/// Scores of every node for every unit, with ranks, bands and imputations.
///
/// Node indices follow the model in pre-order (0 = the index); unit indices
/// follow the dataset rows. Indicator scores are the normalised values.
#[derive(Debug, Clone)]
pub struct Results {
    units: Arc<[String]>,
    groups: Arc<[Option<String>]>,
    nodes: Vec<NodeInfo>,
    /// `(is_leaf, slot)` of each node.
    slots: Vec<(bool, usize)>,
    /// The dataset's column-major values (shared, not copied).
    raw: Arc<Vec<f64>>,
    /// Dataset column of each leaf slot.
    leaf_cols: Vec<usize>,
    /// Imputed copy of a leaf column, when values were imputed.
    leaf_imputed: Vec<Option<Vec<f64>>>,
    /// Normalisation of each leaf slot.
    transforms: Vec<Transform>,
    /// Normalised leaf columns, materialised on first use.
    leaf_cache: Vec<OnceLock<Vec<f64>>>,
    agg_scores: Vec<f64>,
    /// Per node, computed on first use: ranks of every unit, 0 = no rank.
    ranks: Vec<OnceLock<Vec<u32>>>,
    imputations: Vec<Imputed>,
    ranking: Ranking,
    unit_map: OnceLock<HashMap<String, usize>>,
    medians: OnceLock<Vec<f64>>,
}

/// One child's part in a parent's score for one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// Child code.
    pub child: String,
    /// Child score (`None` when missing).
    pub score: Option<f64>,
    /// Nominal weight.
    pub weight: f64,
    /// Weight renormalised over the children with data (0 when missing).
    pub effective_weight: f64,
    /// `effective_weight * score`. For an arithmetic parent (without rescaling)
    /// these add up to the parent's score; for other means they are indicative only.
    pub contribution: Option<f64>,
}

/// A node's score, rank and band for one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeScore {
    /// Node code.
    pub code: String,
    /// Score (`None` when missing).
    pub score: Option<f64>,
    /// Competition rank among units.
    pub rank: Option<u32>,
    /// Band label, when the node has bands.
    pub band: Option<String>,
}

/// Everything about one unit, ready to serialise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitReport {
    /// Unit code.
    pub unit: String,
    /// Group label.
    pub group: Option<String>,
    /// Every node, in model pre-order (index first).
    pub nodes: Vec<NodeScore>,
}

/// Scores `data` with `model`.
pub fn score(model: &Model, data: &Dataset, opts: &ScoreOptions) -> Result<Results> {
    let plan = Plan::new(model)?;
    score_plan(&plan, data, opts)
}

impl Model {
    /// Scores `data` with default options (see [`score`]).
    pub fn score(&self, data: &Dataset) -> Result<Results> {
        score(self, data, &ScoreOptions::default())
    }
}

pub(crate) fn validate_ranking(r: &Ranking) -> Result<()> {
    if !(r.tie_tolerance.is_finite() && r.tie_tolerance >= 0.0) {
        return Err(EngineError::option(
            "ranking.tie_tolerance",
            "must be finite and >= 0",
        ));
    }
    if r.decimals
        .is_some_and(|d| d > crate::model::MAX_RANK_DECIMALS)
    {
        return Err(EngineError::option("ranking.decimals", "must be <= 17"));
    }
    Ok(())
}

pub(crate) fn score_plan(plan: &Plan, data: &Dataset, opts: &ScoreOptions) -> Result<Results> {
    let ranking = opts.ranking.unwrap_or(plan.ranking);
    validate_ranking(&ranking)?;
    let n = data.n_units();
    let (leaf_cols, leaf_imputed, imputations) = plan.impute(data)?;
    let raws: Vec<&[f64]> = leaf_cols
        .iter()
        .zip(&leaf_imputed)
        .map(|(&j, own)| own.as_deref().unwrap_or_else(|| data.column_at(j)))
        .collect();
    let transforms = plan.prepare_leaves(&raws, data, None)?;
    let views: Vec<LeafView<'_>> = raws
        .iter()
        .zip(&transforms)
        .map(|(raw, (transform, missing))| LeafView {
            raw,
            transform,
            dense: !missing,
        })
        .collect();
    let mut agg_scores = vec![0.0; plan.aggs.len() * n];
    let ctx = plan.rescale_contexts(data)?;
    plan.aggregate_parallel(&views, &ctx, data.units(), &mut agg_scores)?;
    drop(views);
    drop(raws);
    let slots: Vec<(bool, usize)> = (0..plan.nodes.len())
        .map(|id| (plan.is_leaf(id), plan.slot[id]))
        .collect();
    Ok(Results {
        units: data.units_arc(),
        groups: data.groups_arc(),
        nodes: plan.nodes.clone(),
        ranks: (0..plan.nodes.len()).map(|_| OnceLock::new()).collect(),
        slots,
        raw: data.values_arc(),
        leaf_cache: (0..leaf_cols.len()).map(|_| OnceLock::new()).collect(),
        leaf_cols,
        leaf_imputed,
        transforms: transforms.into_iter().map(|(t, _)| t).collect(),
        agg_scores,
        imputations,
        ranking,
        unit_map: OnceLock::new(),
        medians: OnceLock::new(),
    })
}

fn opt(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

impl Results {
    /// Unit codes (row order of the dataset).
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// Group labels of the units.
    pub fn groups(&self) -> &[Option<String>] {
        &self.groups
    }

    /// Node descriptions in pre-order (0 = the index).
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// The ranking options used.
    pub fn ranking(&self) -> &Ranking {
        &self.ranking
    }

    /// Index of a node code.
    pub fn node_index(&self, code: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.code == code)
    }

    /// Index of a unit code.
    pub fn unit_index(&self, code: &str) -> Option<usize> {
        self.unit_map
            .get_or_init(|| {
                self.units
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (u.clone(), i))
                    .collect()
            })
            .get(code)
            .copied()
    }

    pub(crate) fn node(&self, code: &str) -> Result<usize> {
        self.node_index(code)
            .ok_or_else(|| EngineError::UnknownNode(code.to_string()))
    }

    pub(crate) fn unit(&self, code: &str) -> Result<usize> {
        self.unit_index(code)
            .ok_or_else(|| EngineError::UnknownUnit(code.to_string()))
    }

    /// All units' scores of a node (`NaN` = missing); an out-of-range node gives
    /// an empty slice. Indicator scores are the normalised values, materialised
    /// on first use.
    pub fn node_scores(&self, node: usize) -> &[f64] {
        let n = self.units.len();
        match self.slots.get(node) {
            Some(&(true, s)) => match &self.transforms[s] {
                Transform::Values(v) => v,
                t => self.leaf_cache[s].get_or_init(|| t.apply(self.leaf_raw(s))),
            },
            Some(&(false, s)) => &self.agg_scores[s * n..(s + 1) * n],
            None => &[],
        }
    }

    /// Raw (imputed) values of leaf slot `s`.
    fn leaf_raw(&self, s: usize) -> &[f64] {
        match &self.leaf_imputed[s] {
            Some(v) => v,
            None => {
                let n = self.units.len();
                let j = self.leaf_cols[s];
                self.raw.get(j * n..(j + 1) * n).unwrap_or(&[])
            }
        }
    }

    /// Raw value (after imputation, before normalisation) of an indicator.
    pub fn raw_value(&self, unit: usize, node: usize) -> Option<f64> {
        match self.slots.get(node) {
            Some(&(true, s)) => self.leaf_raw(s).get(unit).copied().and_then(opt),
            _ => None,
        }
    }

    /// All units' competition ranks at a node (0 = no rank), computed on first use.
    pub fn node_ranks(&self, node: usize) -> &[u32] {
        match self.ranks.get(node) {
            Some(cell) => cell.get_or_init(|| {
                let mut out = vec![0u32; self.units.len()];
                ranks_into(
                    self.node_scores(node),
                    &self.ranking,
                    &mut Vec::new(),
                    &mut out,
                );
                out
            }),
            None => &[],
        }
    }

    /// Index scores of all units.
    pub fn index_scores(&self) -> &[f64] {
        self.node_scores(0)
    }

    /// Score of a unit at a node.
    pub fn score(&self, unit: usize, node: usize) -> Option<f64> {
        self.node_scores(node).get(unit).copied().and_then(opt)
    }

    /// Score by codes.
    pub fn score_of(&self, unit: &str, node: &str) -> Result<Option<f64>> {
        Ok(self.score(self.unit(unit)?, self.node(node)?))
    }

    /// Competition rank of a unit at a node.
    pub fn rank(&self, unit: usize, node: usize) -> Option<u32> {
        self.node_ranks(node).get(unit).copied().filter(|&r| r > 0)
    }

    /// Rank by codes.
    pub fn rank_of(&self, unit: &str, node: &str) -> Result<Option<u32>> {
        Ok(self.rank(self.unit(unit)?, self.node(node)?))
    }

    /// Band label of a unit at a node (nodes without bands give `None`).
    pub fn band(&self, unit: usize, node: usize) -> Option<&str> {
        let bands = &self.nodes.get(node)?.bands;
        let s = self.node_scores(node).get(unit).copied()?;
        band_index(s, bands).map(|i| bands[i].label.as_str())
    }

    /// Band by codes.
    pub fn band_of(&self, unit: &str, node: &str) -> Result<Option<&str>> {
        Ok(self.band(self.unit(unit)?, self.node(node)?))
    }

    /// Every imputed value.
    pub fn imputations(&self) -> &[Imputed] {
        &self.imputations
    }

    /// Median score of a node across units with a score (`NaN` if none).
    pub fn node_median(&self, node: usize) -> f64 {
        let medians = self.medians.get_or_init(|| {
            (0..self.nodes.len())
                .map(|i| crate::missing::median(self.node_scores(i)).unwrap_or(f64::NAN))
                .collect()
        });
        medians.get(node).copied().unwrap_or(f64::NAN)
    }

    /// How each child of `node` contributes to the unit's score.
    pub fn contributions(&self, unit: usize, node: usize) -> Result<Vec<Contribution>> {
        let info = self
            .nodes
            .get(node)
            .ok_or_else(|| EngineError::UnknownNode(format!("#{node}")))?;
        if unit >= self.units.len() {
            return Err(EngineError::UnknownUnit(format!("#{unit}")));
        }
        let present: Vec<(usize, Option<f64>)> = info
            .children
            .iter()
            .map(|&c| (c, self.score(unit, c)))
            .collect();
        let total: f64 = present
            .iter()
            .filter(|(c, s)| s.is_some() && self.nodes[*c].weight > 0.0)
            .map(|(c, _)| self.nodes[*c].weight)
            .sum();
        let parent_ok = self.score(unit, node).is_some();
        Ok(present
            .into_iter()
            .map(|(c, s)| {
                let w = self.nodes[c].weight;
                let eff = if parent_ok && s.is_some() && total > 0.0 {
                    w / total
                } else {
                    0.0
                };
                Contribution {
                    child: self.nodes[c].code.clone(),
                    score: s,
                    weight: w,
                    effective_weight: eff,
                    contribution: if parent_ok { s.map(|v| eff * v) } else { None },
                }
            })
            .collect())
    }

    /// Contributions by codes.
    pub fn contributions_of(&self, unit: &str, node: &str) -> Result<Vec<Contribution>> {
        self.contributions(self.unit(unit)?, self.node(node)?)
    }

    /// Score, rank and band of every node for one unit.
    pub fn unit_report(&self, unit: usize) -> Result<UnitReport> {
        let code = self
            .units
            .get(unit)
            .ok_or_else(|| EngineError::UnknownUnit(format!("#{unit}")))?;
        Ok(UnitReport {
            unit: code.clone(),
            group: self.groups.get(unit).cloned().flatten(),
            nodes: (0..self.nodes.len())
                .map(|i| NodeScore {
                    code: self.nodes[i].code.clone(),
                    score: self.score(unit, i),
                    rank: self.rank(unit, i),
                    band: self.band(unit, i).map(str::to_string),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::missing::ImputationMethod;

    const NAN: f64 = f64::NAN;

    fn data() -> Dataset {
        // Four units, three indicators; `c` is lower-is-better.
        Dataset::from_columns(
            vec!["A".into(), "B".into(), "C".into(), "D".into()],
            vec![
                ("a".into(), vec![0.0, 5.0, 10.0, 10.0]),
                ("b".into(), vec![2.0, 4.0, NAN, 6.0]),
                ("c".into(), vec![100.0, 50.0, 0.0, 100.0]),
            ],
        )
        .unwrap()
        .with_groups(vec![
            Some("g1".into()),
            Some("g1".into()),
            Some("g2".into()),
            None,
        ])
        .unwrap()
    }

    const MODEL: &str = r#"
code = "IDX"
[[bands]]
label = "High"
min = 0.5
[[bands]]
label = "Low"
[[dimensions]]
code = "D1"
weight = 3
children = [ { code = "a" }, { code = "b", imputation = "mean" } ]
[[dimensions]]
code = "D2"
children = [ { code = "c", direction = "lower_is_better" } ]
"#;

    #[test]
    fn scores_ranks_bands_by_hand() {
        let m = Model::from_toml_str(MODEL).unwrap();
        let r = m.score(&data()).unwrap();
        // a minmax: A 0, B 0.5, C 1, D 1
        // b imputed mean (2+4+6)/3 = 4 for C; minmax over 2..6: A 0, B 0.5, C 0.5, D 1
        // D1 = mean: A 0, B 0.5, C 0.75, D 1
        // c lower is better, minmax: A 0, B 0.5, C 1, D 0
        // IDX = (3*D1 + D2) / 4: A 0, B 0.5, C 0.8125, D 0.75
        let idx = r.node_index("IDX").unwrap();
        let expect = [0.0, 0.5, 0.8125, 0.75];
        for (u, e) in expect.iter().enumerate() {
            assert!((r.score(u, idx).unwrap() - e).abs() < 1e-12);
        }
        assert_eq!(r.node_ranks(idx), &[4, 3, 1, 2]);
        assert_eq!(r.band_of("A", "IDX").unwrap(), Some("Low"));
        assert_eq!(r.band_of("B", "IDX").unwrap(), Some("High"));
        assert_eq!(r.band_of("B", "D1").unwrap(), None);
        // a: C and D tie for first
        assert_eq!(r.rank_of("C", "a").unwrap(), Some(1));
        assert_eq!(r.rank_of("D", "a").unwrap(), Some(1));
        assert_eq!(r.rank_of("B", "a").unwrap(), Some(3));
        assert_eq!(
            r.imputations(),
            &[Imputed {
                unit: "C".into(),
                indicator: "b".into(),
                value: 4.0,
                method: ImputationMethod::Mean
            }]
        );
    }

    #[test]
    fn contributions_sum_to_arithmetic_parent() {
        let m = Model::from_toml_str(MODEL).unwrap();
        let r = m.score(&data()).unwrap();
        let c = r.contributions_of("C", "IDX").unwrap();
        // D1 0.75 * 3/4 + D2 1 * 1/4
        assert_eq!(c.len(), 2);
        assert!((c[0].contribution.unwrap() - 0.5625).abs() < 1e-12);
        assert!((c[1].contribution.unwrap() - 0.25).abs() < 1e-12);
        assert!((c[0].effective_weight - 0.75).abs() < 1e-12);
        for u in 0..4 {
            let sum: f64 = r
                .contributions(u, 0)
                .unwrap()
                .iter()
                .filter_map(|c| c.contribution)
                .sum();
            assert!((sum - r.score(u, 0).unwrap()).abs() < 1e-12);
        }
        assert!(r.contributions(9, 0).is_err());
    }

    #[test]
    fn missing_child_renormalises_and_threshold_drops_node() {
        let text = r#"
code = "IDX"
[[dimensions]]
code = "D1"
threshold = 1.0
children = [ { code = "a" }, { code = "b" } ]
[[dimensions]]
code = "D2"
children = [ { code = "c", direction = "lower_is_better" } ]
"#;
        let m = Model::from_toml_str(text).unwrap();
        let r = m.score(&data()).unwrap();
        // C has no b and threshold 1.0: D1 missing for C, IDX = D2 only = 1
        assert_eq!(r.score_of("C", "D1").unwrap(), None);
        assert_eq!(r.rank_of("C", "D1").unwrap(), None);
        assert_eq!(r.score_of("C", "IDX").unwrap(), Some(1.0));
        let c = r.contributions_of("C", "IDX").unwrap();
        assert_eq!(c[0].contribution, None);
        assert_eq!(c[1].effective_weight, 1.0);
        let c = r.contributions_of("C", "D1").unwrap();
        assert!(c.iter().all(|c| c.contribution.is_none()));
    }

    #[test]
    fn missing_indicator_and_domain_errors() {
        let text = "code = \"I\"\n[[dimensions]]\ncode = \"zz\"\n";
        let m = Model::from_toml_str(text).unwrap();
        assert_eq!(
            m.score(&data()).unwrap_err(),
            EngineError::MissingIndicators(vec!["zz".into()])
        );
        // geometric mean over minmax values (which contain 0) fails with a clear error
        let text = "code = \"I\"\naggregation = \"geometric\"\n[[dimensions]]\ncode = \"a\"\n";
        let m = Model::from_toml_str(text).unwrap();
        match m.score(&data()).unwrap_err() {
            EngineError::AggregationDomain { node, unit, .. } => {
                assert_eq!((node.as_str(), unit.as_str()), ("I", "A"));
            }
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn node_rescale_minmax() {
        let text = r#"
code = "I"
rescale = "minmax"
[[dimensions]]
code = "a"
normalisation = "zscore"
"#;
        let m = Model::from_toml_str(text).unwrap();
        let r = m.score(&data()).unwrap();
        // zscore then min-max of the composite = minmax of a: 0, 0.5, 1, 1
        let s = r.index_scores();
        for (x, e) in s.iter().zip([0.0, 0.5, 1.0, 1.0]) {
            assert!((x - e).abs() < 1e-12);
        }
    }

    #[test]
    fn unit_report_and_options() {
        let m = Model::from_toml_str(MODEL).unwrap();
        let opts = ScoreOptions {
            ranking: Some(Ranking {
                tie_tolerance: 0.1,
                decimals: None,
            }),
        };
        let r = score(&m, &data(), &opts).unwrap();
        // IDX: C 0.8125 and D 0.75 tie within 0.1
        assert_eq!(r.node_ranks(0), &[4, 3, 1, 1]);
        let rep = r.unit_report(3).unwrap();
        assert_eq!(rep.unit, "D");
        assert_eq!(rep.group, None);
        assert_eq!(rep.nodes[0].band.as_deref(), Some("High"));
        assert!(serde_json::to_string(&rep).is_ok());
        let bad = ScoreOptions {
            ranking: Some(Ranking {
                tie_tolerance: -1.0,
                decimals: None,
            }),
        };
        assert!(score(&m, &data(), &bad).is_err());
        assert!(r.score_of("nobody", "IDX").is_err());
        assert!(r.score_of("A", "nothing").is_err());
    }

    #[test]
    fn empty_dataset_scores_nothing() {
        let m = Model::from_toml_str(MODEL).unwrap();
        let d = Dataset::from_columns(
            vec![],
            vec![
                ("a".into(), vec![]),
                ("b".into(), vec![]),
                ("c".into(), vec![]),
            ],
        )
        .unwrap();
        let r = m.score(&d).unwrap();
        assert!(r.index_scores().is_empty());
    }
}
