//! Input data: units (rows) x indicators (columns), stored column-major.
//!
//! Values live in one contiguous `Vec<f64>`: column `j` occupies
//! `values[j * n_units .. (j + 1) * n_units]`. `NaN` means missing; infinite
//! values are rejected. Units may carry a group label (used by group-mean
//! imputation).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{EngineError, Result};

/// A units x indicators table of raw values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    units: Arc<[String]>,
    groups: Arc<[Option<String>]>,
    indicators: Vec<String>,
    values: Arc<Vec<f64>>,
}

impl Dataset {
    /// An empty dataset over the given unit codes (unique, non-empty).
    pub fn new(units: Vec<String>) -> Result<Self> {
        let mut seen = HashMap::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            if u.is_empty() {
                return Err(EngineError::Dataset(format!("unit {i} has an empty code")));
            }
            if let Some(first) = seen.insert(u.as_str(), i) {
                return Err(EngineError::Dataset(format!(
                    "duplicate unit code {u:?} (rows {first} and {i})"
                )));
            }
        }
        if u32::try_from(units.len()).is_err() {
            return Err(EngineError::Dataset("too many units".into()));
        }
        let n = units.len();
        Ok(Dataset {
            units: units.into(),
            groups: vec![None; n].into(),
            indicators: Vec::new(),
            values: Arc::new(Vec::new()),
        })
    }

    /// Builds a dataset from `(indicator code, column)` pairs.
    pub fn from_columns(units: Vec<String>, columns: Vec<(String, Vec<f64>)>) -> Result<Self> {
        let mut d = Dataset::new(units)?;
        Arc::make_mut(&mut d.values).reserve(columns.len() * d.units.len());
        for (code, col) in columns {
            d.add_indicator(code, &col)?;
        }
        Ok(d)
    }

    /// Builds a dataset from one column-major buffer (`values[j * n_units + i]` is
    /// unit `i`, indicator `j`), without copying it.
    pub fn from_column_major(
        units: Vec<String>,
        indicators: Vec<String>,
        values: Vec<f64>,
    ) -> Result<Self> {
        let mut d = Dataset::new(units)?;
        let n = d.units.len();
        if values.len() != n * indicators.len() {
            return Err(EngineError::Dataset(format!(
                "{} values for {} units x {} indicators",
                values.len(),
                n,
                indicators.len()
            )));
        }
        for (j, code) in indicators.iter().enumerate() {
            if code.is_empty() {
                return Err(EngineError::Dataset("empty indicator code".into()));
            }
            if indicators[..j].contains(code) {
                return Err(EngineError::Dataset(format!(
                    "duplicate indicator code {code:?}"
                )));
            }
        }
        if let Some(k) = values.iter().position(|v| v.is_infinite()) {
            let (j, i) = (k / n.max(1), k % n.max(1));
            return Err(EngineError::Dataset(format!(
                "indicator {:?}, unit {:?}: infinite value",
                indicators[j], d.units[i]
            )));
        }
        d.indicators = indicators;
        d.values = Arc::new(values);
        Ok(d)
    }

    /// Sets the group label of every unit (same length as the units).
    pub fn with_groups(mut self, groups: Vec<Option<String>>) -> Result<Self> {
        if groups.len() != self.units.len() {
            return Err(EngineError::Dataset(format!(
                "{} group labels for {} units",
                groups.len(),
                self.units.len()
            )));
        }
        self.groups = groups.into();
        Ok(self)
    }

    /// Appends an indicator column (`NaN` = missing).
    pub fn add_indicator(&mut self, code: impl Into<String>, column: &[f64]) -> Result<()> {
        let code = code.into();
        if code.is_empty() {
            return Err(EngineError::Dataset("empty indicator code".into()));
        }
        if self.indicators.contains(&code) {
            return Err(EngineError::Dataset(format!(
                "duplicate indicator code {code:?}"
            )));
        }
        if column.len() != self.units.len() {
            return Err(EngineError::Dataset(format!(
                "indicator {code:?} has {} values for {} units",
                column.len(),
                self.units.len()
            )));
        }
        if let Some(i) = column.iter().position(|v| v.is_infinite()) {
            return Err(EngineError::Dataset(format!(
                "indicator {code:?}, unit {:?}: infinite value",
                self.units[i]
            )));
        }
        Arc::make_mut(&mut self.values).extend_from_slice(column);
        self.indicators.push(code);
        Ok(())
    }

    /// Appends an indicator column with explicit missing values.
    pub fn add_indicator_opt(
        &mut self,
        code: impl Into<String>,
        column: &[Option<f64>],
    ) -> Result<()> {
        let col: Vec<f64> = column.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        self.add_indicator(code, &col)
    }

    /// Unit codes, in row order.
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// Group labels, in row order.
    pub fn groups(&self) -> &[Option<String>] {
        &self.groups
    }

    /// Indicator codes, in column order.
    pub fn indicators(&self) -> &[String] {
        &self.indicators
    }

    /// Shared handle to the unit codes (cheap to clone).
    pub(crate) fn units_arc(&self) -> Arc<[String]> {
        Arc::clone(&self.units)
    }

    /// Shared handle to the group labels.
    pub(crate) fn groups_arc(&self) -> Arc<[Option<String>]> {
        Arc::clone(&self.groups)
    }

    /// Shared handle to the column-major values.
    pub(crate) fn values_arc(&self) -> Arc<Vec<f64>> {
        Arc::clone(&self.values)
    }

    /// True when some unit has a group label.
    pub fn has_groups(&self) -> bool {
        self.groups.iter().any(Option::is_some)
    }

    /// Number of units.
    pub fn n_units(&self) -> usize {
        self.units.len()
    }

    /// Row of a unit code.
    pub fn unit_index(&self, code: &str) -> Option<usize> {
        self.units.iter().position(|u| u == code)
    }

    /// Column of an indicator code.
    pub fn indicator_index(&self, code: &str) -> Option<usize> {
        self.indicators.iter().position(|c| c == code)
    }

    /// The values of the indicator in column `j` (empty if out of range).
    pub fn column_at(&self, j: usize) -> &[f64] {
        let n = self.units.len();
        self.values.get(j * n..(j + 1) * n).unwrap_or(&[])
    }

    /// The values of an indicator (`NaN` = missing).
    pub fn column(&self, code: &str) -> Option<&[f64]> {
        let j = self.indicator_index(code)?;
        let n = self.units.len();
        Some(&self.values[j * n..(j + 1) * n])
    }

    /// One value, `None` when missing or unknown.
    pub fn value(&self, unit: &str, indicator: &str) -> Option<f64> {
        let i = self.unit_index(unit)?;
        let v = self.column(indicator)?[i];
        (!v.is_nan()).then_some(v)
    }

    /// Dense group ids (in order of first appearance) and the group labels.
    pub(crate) fn group_ids(&self) -> (Vec<Option<u32>>, Vec<String>) {
        let mut labels: Vec<String> = Vec::new();
        let mut map: HashMap<&str, u32> = HashMap::new();
        let ids = self
            .groups
            .iter()
            .map(|g| {
                g.as_deref().map(|g| {
                    *map.entry(g).or_insert_with(|| {
                        labels.push(g.to_string());
                        (labels.len() - 1) as u32
                    })
                })
            })
            .collect();
        (ids, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("u{i}")).collect()
    }

    #[test]
    fn builds_column_major() {
        let d = Dataset::from_columns(
            units(2),
            vec![
                ("a".into(), vec![1.0, 2.0]),
                ("b".into(), vec![3.0, f64::NAN]),
            ],
        )
        .unwrap();
        assert_eq!(d.column("b").unwrap()[0], 3.0);
        assert_eq!(d.value("u1", "a"), Some(2.0));
        assert_eq!(d.value("u1", "b"), None);
        assert_eq!(d.value("zz", "b"), None);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Dataset::new(vec!["a".into(), "a".into()]).is_err());
        assert!(Dataset::new(vec![String::new()]).is_err());
        let mut d = Dataset::new(units(2)).unwrap();
        assert!(d.add_indicator("x", &[1.0]).is_err());
        assert!(d.add_indicator("x", &[1.0, f64::INFINITY]).is_err());
        d.add_indicator("x", &[1.0, 2.0]).unwrap();
        assert!(d.add_indicator("x", &[1.0, 2.0]).is_err());
        assert!(d.clone().with_groups(vec![None]).is_err());
    }

    #[test]
    fn column_major_buffer() {
        let d = Dataset::from_column_major(
            units(2),
            vec!["a".into(), "b".into()],
            vec![1.0, 2.0, 3.0, 4.0],
        )
        .unwrap();
        assert_eq!(d.value("u1", "a"), Some(2.0));
        assert_eq!(d.value("u0", "b"), Some(3.0));
        assert!(Dataset::from_column_major(units(2), vec!["a".into()], vec![1.0]).is_err());
        assert!(
            Dataset::from_column_major(units(1), vec!["a".into(), "a".into()], vec![1.0, 2.0])
                .is_err()
        );
        assert!(
            Dataset::from_column_major(units(1), vec!["a".into()], vec![f64::NEG_INFINITY])
                .is_err()
        );
    }

    #[test]
    fn group_ids_are_dense() {
        let d = Dataset::new(units(4))
            .unwrap()
            .with_groups(vec![
                Some("b".into()),
                None,
                Some("a".into()),
                Some("b".into()),
            ])
            .unwrap();
        let (ids, labels) = d.group_ids();
        assert_eq!(ids, vec![Some(0), None, Some(1), Some(0)]);
        assert_eq!(labels, vec!["b".to_string(), "a".to_string()]);
    }
}
