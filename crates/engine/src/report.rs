//! Strengths and weaknesses of a unit.
//!
//! Two criteria are offered:
//! * [`Criterion::TopBottomFraction`]`(f)` (default `1/3`): a node is a strength
//!   when the unit's rank is in the top `f` of the ranked units
//!   (`rank <= f * n`) and a weakness when it is in the bottom `f`
//!   (`rank > (1 - f) * n`). Strengths are listed best rank first, weaknesses
//!   worst rank first.
//! * [`Criterion::VsMedian`]: a strength when the score exceeds the median of
//!   all units by more than `margin`, a weakness when it falls short by more
//!   than `margin`; listed by distance from the median, largest first.
//!
//! Scores are normalised values (for indicators) or aggregate scores, so higher
//! is always better.

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::score::Results;

/// Which rule classifies a node as a strength or weakness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Criterion {
    /// Rank in the top / bottom fraction `(0, 0.5]` of ranked units.
    TopBottomFraction(f64),
    /// Score above / below the median by more than `margin` (>= 0).
    VsMedian {
        /// Dead band around the median.
        margin: f64,
    },
}

/// Which nodes are examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Indicators only.
    Indicators,
    /// Nodes at this depth (1 = dimensions).
    Depth(usize),
}

/// Options for [`Results::strengths_weaknesses`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrengthOptions {
    /// Classification rule.
    pub criterion: Criterion,
    /// Nodes examined.
    pub scope: Scope,
    /// Keep at most this many strengths and this many weaknesses.
    pub max_items: Option<usize>,
}

impl Default for StrengthOptions {
    fn default() -> Self {
        StrengthOptions {
            criterion: Criterion::TopBottomFraction(1.0 / 3.0),
            scope: Scope::Indicators,
            max_items: None,
        }
    }
}

/// One strength or weakness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Highlight {
    /// Node code.
    pub node: String,
    /// The unit's score at the node.
    pub score: f64,
    /// The unit's competition rank.
    pub rank: u32,
    /// Number of ranked units.
    pub ranked_units: usize,
    /// Median score over units.
    pub median: f64,
    /// `score - median`.
    pub vs_median: f64,
}

/// Strengths and weaknesses of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrengthsWeaknesses {
    /// Unit code.
    pub unit: String,
    /// Strengths, most pronounced first.
    pub strengths: Vec<Highlight>,
    /// Weaknesses, most pronounced first.
    pub weaknesses: Vec<Highlight>,
}

impl Results {
    /// Strengths and weaknesses of the unit with code `unit`.
    pub fn strengths_weaknesses(
        &self,
        unit: &str,
        opts: &StrengthOptions,
    ) -> Result<StrengthsWeaknesses> {
        match opts.criterion {
            Criterion::TopBottomFraction(f) if !(f > 0.0 && f <= 0.5) => {
                return Err(EngineError::option(
                    "criterion",
                    "fraction must be in (0, 0.5]",
                ));
            }
            Criterion::VsMedian { margin } if !(margin.is_finite() && margin >= 0.0) => {
                return Err(EngineError::option(
                    "criterion",
                    "margin must be finite and >= 0",
                ));
            }
            _ => {}
        }
        let u = self.unit(unit)?;
        let mut strengths = Vec::new();
        let mut weaknesses = Vec::new();
        for (id, info) in self.nodes().iter().enumerate() {
            let in_scope = match opts.scope {
                Scope::Indicators => info.is_indicator,
                Scope::Depth(d) => info.depth == d,
            };
            if !in_scope {
                continue;
            }
            let (Some(score), Some(rank)) = (self.score(u, id), self.rank(u, id)) else {
                continue;
            };
            let ranked_units = self.node_ranks(id).iter().filter(|&&r| r > 0).count();
            let median = self.node_median(id);
            let h = Highlight {
                node: info.code.clone(),
                score,
                rank,
                ranked_units,
                median,
                vs_median: score - median,
            };
            match opts.criterion {
                Criterion::TopBottomFraction(f) => {
                    let n = ranked_units as f64;
                    let r = f64::from(rank);
                    if r <= f * n {
                        strengths.push(h);
                    } else if r > (1.0 - f) * n {
                        weaknesses.push(h);
                    }
                }
                Criterion::VsMedian { margin } => {
                    if h.vs_median > margin {
                        strengths.push(h);
                    } else if h.vs_median < -margin {
                        weaknesses.push(h);
                    }
                }
            }
        }
        match opts.criterion {
            Criterion::TopBottomFraction(_) => {
                strengths.sort_by(|a, b| a.rank.cmp(&b.rank).then(a.node.cmp(&b.node)));
                weaknesses.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.node.cmp(&b.node)));
            }
            Criterion::VsMedian { .. } => {
                strengths.sort_by(|a, b| b.vs_median.total_cmp(&a.vs_median));
                weaknesses.sort_by(|a, b| a.vs_median.total_cmp(&b.vs_median));
            }
        }
        if let Some(k) = opts.max_items {
            strengths.truncate(k);
            weaknesses.truncate(k);
        }
        Ok(StrengthsWeaknesses {
            unit: unit.to_string(),
            strengths,
            weaknesses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::model::Model;

    fn results() -> Results {
        // Six units; unit U0 is best on x, worst on y, middling on z.
        let units: Vec<String> = (0..6).map(|i| format!("U{i}")).collect();
        let d = Dataset::from_columns(
            units,
            vec![
                ("x".into(), vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]),
                ("y".into(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                ("z".into(), vec![3.5, 1.0, 2.0, 4.0, 5.0, 6.0]),
            ],
        )
        .unwrap();
        let m = Model::from_toml_str(
            "code = \"I\"\n[[dimensions]]\ncode = \"x\"\n[[dimensions]]\ncode = \"y\"\n[[dimensions]]\ncode = \"z\"\n",
        )
        .unwrap();
        m.score(&d).unwrap()
    }

    #[test]
    fn top_and_bottom_thirds() {
        let r = results();
        let sw = r
            .strengths_weaknesses("U0", &StrengthOptions::default())
            .unwrap();
        // n = 6: strength when rank <= 2, weakness when rank > 4
        let s: Vec<_> = sw
            .strengths
            .iter()
            .map(|h| (h.node.as_str(), h.rank))
            .collect();
        let w: Vec<_> = sw
            .weaknesses
            .iter()
            .map(|h| (h.node.as_str(), h.rank))
            .collect();
        assert_eq!(s, vec![("x", 1)]);
        assert_eq!(w, vec![("y", 6)]);
        // z: rank 4 of 6, neither
        assert_eq!(sw.strengths[0].ranked_units, 6);
    }

    #[test]
    fn versus_median() {
        let r = results();
        let opts = StrengthOptions {
            criterion: Criterion::VsMedian { margin: 0.0 },
            ..Default::default()
        };
        let sw = r.strengths_weaknesses("U0", &opts).unwrap();
        // minmax: x U0 = 1 (median 0.5); y U0 = 0 (median 0.5);
        // z U0 = (3.5-1)/5 = 0.5, median of {0.5,0,0.2,0.6,0.8,1} = 0.55
        assert_eq!(sw.strengths.len(), 1);
        assert_eq!(sw.strengths[0].node, "x");
        assert!((sw.strengths[0].vs_median - 0.5).abs() < 1e-12);
        let w: Vec<_> = sw.weaknesses.iter().map(|h| h.node.as_str()).collect();
        assert_eq!(w, vec!["y", "z"]);
        assert!((sw.weaknesses[1].vs_median + 0.05).abs() < 1e-12);
    }

    #[test]
    fn options_are_checked() {
        let r = results();
        let bad = StrengthOptions {
            criterion: Criterion::TopBottomFraction(0.9),
            ..Default::default()
        };
        assert!(r.strengths_weaknesses("U0", &bad).is_err());
        assert!(r
            .strengths_weaknesses("nobody", &StrengthOptions::default())
            .is_err());
        let depth = StrengthOptions {
            scope: Scope::Depth(0),
            max_items: Some(0),
            ..Default::default()
        };
        let sw = r.strengths_weaknesses("U0", &depth).unwrap();
        assert!(sw.strengths.is_empty() && sw.weaknesses.is_empty());
    }
}
