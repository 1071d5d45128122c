//! The inputs of a diagnosis: facts about regions and platforms, each with its source.
//!
//! A fact is a number under a key (see [`crate::keys`] and `RULEBOOK_FORMAT.md` for the
//! keys the scoring service provides) with a citation of where it comes from. A missing
//! key means "no data" — never zero. Non-finite values are treated as missing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::RulesError;

/// The kind of a unit of assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A region (province, city, ...): scored by the TOE model.
    Region,
    /// A platform (government app or portal) of a region.
    Platform,
}

impl UnitKind {
    /// `region` or `platform`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Region => "region",
            UnitKind::Platform => "platform",
        }
    }
}

/// One fact: a value and the citation it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The value.
    pub value: f64,
    /// Where the value comes from, e.g. `pan2023-toe Table 2 / "Guizhou Tong" App /
    /// Huawei App Store` or `computed: mean of 3 app averages`.
    pub source: String,
}

impl Fact {
    /// A fact.
    pub fn new(value: f64, source: impl Into<String>) -> Self {
        Self {
            value,
            source: source.into(),
        }
    }
}

/// The facts of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitFacts {
    /// Stable code of the unit (e.g. `cn-gz`).
    pub code: String,
    /// Display name (e.g. `Guizhou`).
    pub name: String,
    /// Region or platform.
    pub kind: UnitKind,
    /// For platforms: the code of their region; for regions: their parent region or "".
    #[serde(default)]
    pub region_code: String,
    /// The facts, by key.
    #[serde(default)]
    pub values: BTreeMap<String, Fact>,
}

impl UnitFacts {
    /// A unit without facts.
    pub fn new(
        code: impl Into<String>,
        name: impl Into<String>,
        kind: UnitKind,
        region_code: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            name: name.into(),
            kind,
            region_code: region_code.into(),
            values: BTreeMap::new(),
        }
    }

    /// Builder: adds (or replaces) a fact.
    pub fn with(mut self, key: impl Into<String>, value: f64, source: impl Into<String>) -> Self {
        self.values.insert(key.into(), Fact::new(value, source));
        self
    }

    /// The fact under `key` when it exists and its value is finite.
    pub fn fact(&self, key: &str) -> Option<&Fact> {
        self.values.get(key).filter(|f| f.value.is_finite())
    }

    /// The finite value under `key`.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.fact(key).map(|f| f.value)
    }
}

/// All units a diagnosis may compare with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactSheet {
    /// Regions and platforms, in any order.
    pub units: Vec<UnitFacts>,
}

impl FactSheet {
    /// A fact sheet.
    pub fn new(units: Vec<UnitFacts>) -> Self {
        Self { units }
    }

    /// The unit with `code`.
    pub fn unit(&self, code: &str) -> Option<&UnitFacts> {
        self.units.iter().find(|u| u.code == code)
    }

    /// Units of a kind.
    pub fn of_kind(&self, kind: UnitKind) -> impl Iterator<Item = &UnitFacts> {
        self.units.iter().filter(move |u| u.kind == kind)
    }

    /// The platforms of a region, sorted by code.
    pub fn platforms_of(&self, region: &str) -> Vec<&UnitFacts> {
        let mut v: Vec<&UnitFacts> = self
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Platform && u.region_code == region)
            .collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }

    /// Checks that codes are non-empty and unique.
    pub fn check(&self) -> Result<(), RulesError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, u) in self.units.iter().enumerate() {
            if u.code.is_empty() {
                return Err(RulesError::EmptyUnitCode(i));
            }
            if !seen.insert(u.code.as_str()) {
                return Err(RulesError::DuplicateUnit(u.code.clone()));
            }
        }
        Ok(())
    }
}
