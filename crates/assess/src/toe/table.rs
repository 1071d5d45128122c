//! The units x indicators table of derived values.

use super::defs::IndicatorDef;

/// Derived indicator values for a set of units (regions or platforms).
///
/// `values` and `provenance` are **column-major**, like the engine's `Dataset`: the cell
/// of unit `i` and indicator `j` is at `j * units.len() + i`. A missing value is `None`
/// (never zero) and its provenance says why it is missing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndicatorTable {
    /// Unit codes (region or platform codes), in row order.
    pub units: Vec<String>,
    /// Indicator definitions, in column order.
    pub indicators: Vec<IndicatorDef>,
    /// Values, column-major.
    pub values: Vec<Option<f64>>,
    /// How each value was computed (or why it is missing), column-major.
    pub provenance: Vec<String>,
    /// Caveats that apply to the whole table.
    pub notes: Vec<String>,
}

impl IndicatorTable {
    /// The position of a cell in `values` / `provenance`.
    pub fn index(&self, unit: &str, indicator: &str) -> Option<usize> {
        let i = self.units.iter().position(|u| u == unit)?;
        let j = self.indicators.iter().position(|d| d.code == indicator)?;
        Some(j * self.units.len() + i)
    }

    /// The value of a cell; `None` when missing or when the unit or indicator is unknown.
    pub fn value(&self, unit: &str, indicator: &str) -> Option<f64> {
        self.values
            .get(self.index(unit, indicator)?)
            .copied()
            .flatten()
    }

    /// How a cell was computed.
    pub fn provenance_of(&self, unit: &str, indicator: &str) -> Option<&str> {
        self.provenance
            .get(self.index(unit, indicator)?)
            .map(String::as_str)
    }

    /// The values of one indicator, in unit order.
    pub fn column(&self, indicator: &str) -> Option<&[Option<f64>]> {
        let j = self.indicators.iter().position(|d| d.code == indicator)?;
        let n = self.units.len();
        self.values.get(j * n..(j + 1) * n)
    }

    /// The indicator codes, in column order.
    pub fn indicator_codes(&self) -> Vec<String> {
        self.indicators.iter().map(|d| d.code.to_string()).collect()
    }

    /// The values as one column-major `f64` buffer with `NaN` for missing, ready for
    /// `govlens_engine::Dataset::from_column_major(units, indicator_codes(), ..)`.
    pub fn to_column_major_f64(&self) -> Vec<f64> {
        self.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
    }
}
