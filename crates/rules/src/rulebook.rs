//! The rulebook: dilemmas (with the conditions that detect them) and optimisation paths.
//!
//! The file format is documented in `RULEBOOK_FORMAT.md`; parsing and validation live in
//! [`crate::parse`]. A [`Rulebook`] value has always passed validation when it comes
//! from [`Rulebook::from_toml_str`] or [`Rulebook::from_json_str`].

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::RulesError;
use crate::facts::UnitKind;

/// The only rulebook format version.
pub const FORMAT_VERSION: i64 = 1;

/// The default rulebook shipped with GovLens (`rulebooks/default.toml`).
pub const DEFAULT_RULEBOOK_TOML: &str = include_str!("../../../rulebooks/default.toml");

/// A TOE dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Technology (paper sections 3.1, 4.1).
    Technology,
    /// Organization (3.2, 4.2).
    Organization,
    /// Environment (3.3, 4.3).
    Environment,
}

impl Dimension {
    /// All dimensions.
    pub const ALL: [Dimension; 3] = [
        Dimension::Technology,
        Dimension::Organization,
        Dimension::Environment,
    ];
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Technology => "technology",
            Dimension::Organization => "organization",
            Dimension::Environment => "environment",
        }
    }
    /// Parses a file name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Severity of a present dilemma.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
    /// Parses a file name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the conditions of a dilemma combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Present when any evaluable condition fires.
    #[default]
    Any,
    /// Present when every condition fires (any missing fact: insufficient data).
    All,
}

impl Mode {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Any => "any",
            Mode::All => "all",
        }
    }
    /// Parses a file name.
    pub fn parse(s: &str) -> Option<Self> {
        [Mode::Any, Mode::All].into_iter().find(|d| d.as_str() == s)
    }
}

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `value < threshold`.
    Below,
    /// `value > threshold`.
    Above,
    /// `value <= threshold`.
    AtMost,
    /// `value >= threshold`.
    AtLeast,
    /// Gap to the best unit of the same kind `> threshold` (direction-aware).
    GapToBestAbove,
    /// Gap to the named `peer` `> threshold` (direction-aware).
    GapToPeerAbove,
    /// Rank (1 = best) `> threshold`; `rank.*` facts only.
    RankWorseThan,
    /// Change vs the previous period `< threshold`; `trend.*` facts only.
    TrendBelow,
}

impl Op {
    /// All operators.
    pub const ALL: [Op; 8] = [
        Op::Below,
        Op::Above,
        Op::AtMost,
        Op::AtLeast,
        Op::GapToBestAbove,
        Op::GapToPeerAbove,
        Op::RankWorseThan,
        Op::TrendBelow,
    ];
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Below => "below",
            Op::Above => "above",
            Op::AtMost => "at_most",
            Op::AtLeast => "at_least",
            Op::GapToBestAbove => "gap_to_best_above",
            Op::GapToPeerAbove => "gap_to_peer_above",
            Op::RankWorseThan => "rank_worse_than",
            Op::TrendBelow => "trend_below",
        }
    }
    /// Parses a file name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
    /// Whether the operator compares with another unit.
    pub fn is_gap(self) -> bool {
        matches!(self, Op::GapToBestAbove | Op::GapToPeerAbove)
    }
    /// A short human phrase (`<`, `at least`, ...).
    pub fn phrase(self) -> &'static str {
        match self {
            Op::Below => "<",
            Op::Above => ">",
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
            Op::GapToBestAbove => "gap to best >",
            Op::GapToPeerAbove => "gap to peer >",
            Op::RankWorseThan => "rank worse than",
            Op::TrendBelow => "trend <",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who carries out an action of an optimisation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// Governments and their departments.
    Government,
    /// Enterprises (market).
    Enterprises,
    /// Social and other non-governmental organisations.
    SocialOrganisations,
    /// Residents (the public, villagers).
    Residents,
}

impl Actor {
    /// All actors.
    pub const ALL: [Actor; 4] = [
        Actor::Government,
        Actor::Enterprises,
        Actor::SocialOrganisations,
        Actor::Residents,
    ];
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Government => "government",
            Actor::Enterprises => "enterprises",
            Actor::SocialOrganisations => "social_organisations",
            Actor::Residents => "residents",
        }
    }
    /// Parses a file name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One condition of a dilemma.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The fact tested (see [`crate::keys`]).
    pub fact: String,
    /// The operator.
    pub op: Op,
    /// The threshold: a value, a gap, a rank or a change, depending on `op`.
    pub value: f64,
    /// The peer unit's code (`gap_to_peer_above` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// For gap operators: lower values are better (the gap is `value - best`).
    #[serde(skip_serializing_if = "is_false")]
    pub lower_is_better: bool,
    /// Severity of the dilemma when this condition fires (else the dilemma's base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Why the condition and its threshold (shown in evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A dilemma of section 3 of the paper (or a platform-level rule under one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dilemma {
    /// Unique code, e.g. `3.1.1` or `3.1.1-store-gap`.
    pub code: String,
    /// Title.
    pub title: String,
    /// The paper section behind the rule.
    pub section: String,
    /// TOE dimension.
    pub dimension: Dimension,
    /// A sentence from the paper.
    pub summary: String,
    /// Base severity when present.
    pub severity: Severity,
    /// Region or platform.
    pub applies_to: UnitKind,
    /// How the conditions combine.
    pub mode: Mode,
    /// Why the rule is operationalised as it is (or why it cannot be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Facts reported with the finding without being tested (e.g. the lowest and
    /// highest store ratings behind a rating spread).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// The conditions; none means "not measurable": always insufficient data.
    pub conditions: Vec<Condition>,
}

/// A what-if target value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetValue {
    /// A fixed value.
    Value(f64),
    /// The best unit's value (units of the same kind).
    Best,
}

impl Serialize for TargetValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TargetValue::Value(v) => s.serialize_f64(*v),
            TargetValue::Best => s.serialize_str("best"),
        }
    }
}

/// A what-if target of an optimisation path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// The fact to change (an `indicator.*` fact).
    pub fact: String,
    /// The value to reach.
    pub target: TargetValue,
    /// Lower values of the fact are better.
    #[serde(skip_serializing_if = "is_false")]
    pub lower_is_better: bool,
    /// Why this target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An optimisation path of section 4 of the paper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimisationPath {
    /// Unique code, e.g. `4.1.1`.
    pub code: String,
    /// Title.
    pub title: String,
    /// The paper section.
    pub section: String,
    /// TOE dimension.
    pub dimension: Dimension,
    /// Codes of the dilemmas it answers.
    pub answers: Vec<String>,
    /// Concrete actions.
    pub actions: Vec<String>,
    /// Who acts.
    pub actors: Vec<Actor>,
    /// Importance in [0, 1] as written in the file (see [`Rulebook::importance`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<f64>,
    /// The `score.*` fact measuring how well the unit performs on the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_fact: Option<String>,
    /// The performance aimed at (gap = target - performance); 1 by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_target: Option<f64>,
    /// What-if targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// Remarks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Relative weights of the TOE dimensions (default importance of paths).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DimensionWeights {
    /// Technology weight (relative).
    pub technology: f64,
    /// Organization weight (relative).
    pub organization: f64,
    /// Environment weight (relative).
    pub environment: f64,
}

impl Default for DimensionWeights {
    /// Equal weights, as the dimensions of `models/toe-default.toml`.
    fn default() -> Self {
        Self {
            technology: 1.0,
            organization: 1.0,
            environment: 1.0,
        }
    }
}

impl DimensionWeights {
    /// The normalised weight (share of the sum) of a dimension.
    pub fn share(&self, d: Dimension) -> f64 {
        let sum = self.technology + self.organization + self.environment;
        let w = match d {
            Dimension::Technology => self.technology,
            Dimension::Organization => self.organization,
            Dimension::Environment => self.environment,
        };
        if sum > 0.0 && sum.is_finite() {
            w / sum
        } else {
            1.0 / 3.0
        }
    }
}

/// A validated rulebook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rulebook {
    /// Always 1.
    pub format_version: i64,
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Relative dimension weights (defaults: equal).
    pub dimension_weights: DimensionWeights,
    /// The dilemmas.
    pub dilemmas: Vec<Dilemma>,
    /// The optimisation paths.
    pub paths: Vec<OptimisationPath>,
}

impl Rulebook {
    /// Parses and validates a TOML rulebook.
    pub fn from_toml_str(text: &str) -> Result<Self, RulesError> {
        crate::parse::parse_toml(text)
    }

    /// Parses and validates a JSON rulebook.
    pub fn from_json_str(text: &str) -> Result<Self, RulesError> {
        crate::parse::parse_json(text)
    }

    /// The default rulebook (`rulebooks/default.toml`).
    pub fn default_rulebook() -> Result<Self, RulesError> {
        Self::from_toml_str(DEFAULT_RULEBOOK_TOML)
    }

    /// The rulebook as TOML (parses back to an equal rulebook).
    pub fn to_toml(&self) -> Result<String, RulesError> {
        toml::to_string_pretty(self).map_err(|e| RulesError::Serialise(e.to_string()))
    }

    /// The rulebook as pretty JSON (parses back to an equal rulebook).
    pub fn to_json(&self) -> Result<String, RulesError> {
        serde_json::to_string_pretty(self).map_err(|e| RulesError::Serialise(e.to_string()))
    }

    /// The dilemma with `code`.
    pub fn dilemma(&self, code: &str) -> Option<&Dilemma> {
        self.dilemmas.iter().find(|d| d.code == code)
    }

    /// The path with `code`.
    pub fn path(&self, code: &str) -> Option<&OptimisationPath> {
        self.paths.iter().find(|p| p.code == code)
    }

    /// The importance of a path: its own, else its dimension's share of the weights
    /// (1/3 with the default equal weights of the TOE model).
    pub fn importance(&self, path: &OptimisationPath) -> f64 {
        path.importance
            .unwrap_or_else(|| self.dimension_weights.share(path.dimension))
    }

    /// Mean importance over all paths (the IPA threshold); 0 without paths.
    pub fn mean_importance(&self) -> f64 {
        if self.paths.is_empty() {
            return 0.0;
        }
        self.paths.iter().map(|p| self.importance(p)).sum::<f64>() / self.paths.len() as f64
    }
}
