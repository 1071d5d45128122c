//! Scoring several periods with the same model and reporting changes.
//!
//! Each period is scored independently (normalisation statistics are computed
//! within the period, as COINr does for a purse with `global = FALSE`). Units are
//! matched across periods by code; a unit present in only one of two consecutive
//! periods is reported with the missing side as `None`.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{EngineError, Result};
use crate::model::Model;
use crate::plan::Plan;
use crate::score::{score_plan, Results, ScoreOptions};

/// Results of every period.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    /// Period labels, in the order given.
    pub periods: Vec<String>,
    /// Results of each period.
    pub results: Vec<Results>,
}

/// Change of one unit at one node between two consecutive periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Unit code.
    pub unit: String,
    /// Earlier period label.
    pub from: String,
    /// Later period label.
    pub to: String,
    /// Score in the earlier period.
    pub score_from: Option<f64>,
    /// Score in the later period.
    pub score_to: Option<f64>,
    /// `score_to - score_from`.
    pub score_change: Option<f64>,
    /// Rank in the earlier period.
    pub rank_from: Option<u32>,
    /// Rank in the later period.
    pub rank_to: Option<u32>,
    /// `rank_from - rank_to`: positive when the unit moved up.
    pub places_gained: Option<i64>,
}

/// Scores each `(label, dataset)` period with `model`.
pub fn score_periods(
    model: &Model,
    periods: &[(&str, &Dataset)],
    opts: &ScoreOptions,
) -> Result<TimeSeries> {
    let plan = Plan::new(model)?;
    let mut labels = Vec::with_capacity(periods.len());
    let mut results = Vec::with_capacity(periods.len());
    for (label, data) in periods {
        if labels.iter().any(|l| l == label) {
            return Err(EngineError::option(
                "periods",
                format!("duplicate period label {label:?}"),
            ));
        }
        labels.push(label.to_string());
        results.push(score_plan(&plan, data, opts)?);
    }
    Ok(TimeSeries {
        periods: labels,
        results,
    })
}

impl TimeSeries {
    /// Changes at `node` between every pair of consecutive periods, ordered by
    /// period pair, then by unit code.
    pub fn changes(&self, node: &str) -> Result<Vec<Change>> {
        let mut out = Vec::new();
        for p in 1..self.results.len() {
            let (a, b) = (&self.results[p - 1], &self.results[p]);
            let na = a.node(node)?;
            let nb = b.node(node)?;
            let ia: HashMap<&str, usize> = a
                .units()
                .iter()
                .enumerate()
                .map(|(i, u)| (u.as_str(), i))
                .collect();
            let ib: HashMap<&str, usize> = b
                .units()
                .iter()
                .enumerate()
                .map(|(i, u)| (u.as_str(), i))
                .collect();
            let all: BTreeSet<&str> = ia.keys().chain(ib.keys()).copied().collect();
            for unit in all {
                let (sa, ra) = match ia.get(unit) {
                    Some(&i) => (a.score(i, na), a.rank(i, na)),
                    None => (None, None),
                };
                let (sb, rb) = match ib.get(unit) {
                    Some(&i) => (b.score(i, nb), b.rank(i, nb)),
                    None => (None, None),
                };
                out.push(Change {
                    unit: unit.to_string(),
                    from: self.periods[p - 1].clone(),
                    to: self.periods[p].clone(),
                    score_from: sa,
                    score_to: sb,
                    score_change: sa.zip(sb).map(|(x, y)| y - x),
                    rank_from: ra,
                    rank_to: rb,
                    places_gained: ra.zip(rb).map(|(x, y)| i64::from(x) - i64::from(y)),
                });
            }
        }
        Ok(out)
    }

    /// Changes at the index.
    pub fn index_changes(&self) -> Result<Vec<Change>> {
        match self.results.first() {
            Some(r) => {
                let code = r.nodes()[0].code.clone();
                self.changes(&code)
            }
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(units: &[&str], x: &[f64]) -> Dataset {
        Dataset::from_columns(
            units.iter().map(|u| u.to_string()).collect(),
            vec![("x".into(), x.to_vec())],
        )
        .unwrap()
    }

    #[test]
    fn changes_between_periods() {
        let m = Model::from_toml_str(
            "code = \"I\"\n[defaults]\nnormalisation = \"none\"\n[[dimensions]]\ncode = \"x\"\n",
        )
        .unwrap();
        let p1 = period(&["A", "B", "C"], &[0.2, 0.5, 0.9]);
        let p2 = period(&["B", "A", "D"], &[0.4, 0.7, 0.1]);
        let ts = score_periods(
            &m,
            &[("2020", &p1), ("2022", &p2)],
            &ScoreOptions::default(),
        )
        .unwrap();
        let ch = ts.index_changes().unwrap();
        let units: Vec<&str> = ch.iter().map(|c| c.unit.as_str()).collect();
        assert_eq!(units, ["A", "B", "C", "D"]);
        // A: 0.2 (rank 3) -> 0.7 (rank 1)
        assert!((ch[0].score_change.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!((ch[0].rank_from, ch[0].rank_to), (Some(3), Some(1)));
        assert_eq!(ch[0].places_gained, Some(2));
        // B: 0.5 (2) -> 0.4 (2)
        assert_eq!(ch[1].places_gained, Some(0));
        assert!((ch[1].score_change.unwrap() + 0.1).abs() < 1e-12);
        // C dropped out, D is new
        assert_eq!((ch[2].score_to, ch[2].places_gained), (None, None));
        assert_eq!((ch[3].score_from, ch[3].rank_to), (None, Some(3)));
        assert_eq!(ch[0].from, "2020");
        assert!(ts.changes("nope").is_err());
        assert!(score_periods(&m, &[("a", &p1), ("a", &p2)], &ScoreOptions::default()).is_err());
    }
}
