//! Input of the renderers: everything a report shows, already computed.
//!
//! Every piece of text in these types is treated as untrusted by the renderers:
//! it is escaped wherever it is written (HTML text, HTML attributes, SVG text,
//! Markdown). Numbers are formatted with a fixed number of decimals, so the same
//! input always gives byte-identical output.

use serde::{Deserialize, Serialize};

/// Everything one report shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportInput {
    /// Main heading of the report, e.g. "GovLens assessment: Sichuan and Guizhou".
    pub title: String,
    /// Line under the heading, e.g. the source the data comes from.
    pub subtitle: String,
    /// When the report was generated, as the caller wants it printed (e.g. an
    /// RFC 3339 timestamp). The only time-dependent text in the output.
    pub generated_at: String,
    /// Revision of the data store the figures were computed from.
    pub data_revision: i64,
    /// Scoring model used, as printed, e.g. "toe-default v3".
    pub model: String,
    /// Diagnosis rulebook used, as printed, e.g. "pan2023 v1".
    pub rulebook: String,
    /// Regions compared, in the order they are shown (usually by rank).
    pub regions: Vec<RegionSummary>,
    /// Store labels in column order, e.g. `["Huawei AppGallery", "vivo", "OPPO",
    /// "Apple App Store"]`. [`PlatformRow::ratings`] is aligned with this list.
    pub stores: Vec<String>,
    /// Platforms (apps) with their per-store ratings, in the order they are shown.
    pub platforms: Vec<PlatformRow>,
    /// Data-quality findings (e.g. a printed average that does not match the
    /// ratings it averages).
    pub quality: Vec<QualityRow>,
    /// Diagnosis of each region: the dilemmas found and platform-level findings.
    pub diagnoses: Vec<RegionDiagnosis>,
    /// Ranked recommendations (optimisation paths) for each region.
    pub recommendations: Vec<RegionRecommendations>,
}

/// One region's composite score and TOE dimension scores.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegionSummary {
    /// Region code, e.g. "CN-SC".
    pub code: String,
    /// Region name, e.g. "Sichuan Province".
    pub name: String,
    /// Composite index score in 0..=1; `None` when the region has too little data.
    pub score: Option<f64>,
    /// Competition rank (1 = best); `None` when unranked.
    pub rank: Option<u32>,
    /// Band label, e.g. "leading"; `None` when the model has no band for it.
    pub band: Option<String>,
    /// TOE dimension scores in axis order (technology, organization, environment).
    pub dimensions: Vec<DimensionScore>,
    /// Population as the source printed it, e.g. "83.74 million"; `None` if unknown.
    pub population: Option<String>,
}

/// A region's score on one dimension of the model (one radar axis).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DimensionScore {
    /// Dimension code, e.g. "technology". Axes of the radar are matched by code.
    pub code: String,
    /// Dimension label shown to readers, e.g. "Technology".
    pub label: String,
    /// Score in 0..=1; `None` when the region has no data for this dimension.
    pub score: Option<f64>,
}

/// One rating as the store showed it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RatingCell {
    /// Numeric rating on the store's 0..=5 scale.
    pub value: f64,
    /// The rating exactly as the source printed it, e.g. "4.5points".
    pub printed: String,
}

/// One platform (app) with its ratings per store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlatformRow {
    /// Platform name as printed, e.g. "\"Duocaibao\" App".
    pub name: String,
    /// Platform code, e.g. "gz-duocaibao".
    pub code: String,
    /// Name of the region the platform belongs to.
    pub region: String,
    /// Ratings aligned with [`ReportInput::stores`]; `None` where the source
    /// printed "/" (no rating in that store). Missing trailing entries count as
    /// `None`; entries beyond the store list are ignored.
    pub ratings: Vec<Option<RatingCell>>,
    /// The average as the source printed it, e.g. "4.7points"; `None` if not printed.
    pub average_printed: Option<String>,
    /// Platform score in 0..=1 from the scoring model, if scored.
    pub score: Option<f64>,
    /// Platform rank among platforms, if ranked.
    pub rank: Option<u32>,
}

/// One data-quality finding.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QualityRow {
    /// Severity, e.g. "error", "warning" or "info" (other values are shown as is).
    pub severity: String,
    /// Kind of check, e.g. "average-mismatch".
    pub kind: String,
    /// What the finding is about, e.g. a platform name or a table cell.
    pub subject: String,
    /// Human-readable explanation.
    pub message: String,
    /// The value the source reported, as printed; `None` if not applicable.
    pub reported: Option<String>,
    /// The value recomputed from the underlying data; `None` if not applicable.
    pub recomputed: Option<String>,
}

/// The diagnosis of one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegionDiagnosis {
    /// Region name.
    pub region: String,
    /// Region code.
    pub code: String,
    /// The dilemmas checked (six in the paper's rulebook), in rulebook order.
    pub dilemmas: Vec<DilemmaRow>,
    /// Findings about individual platforms of the region.
    pub platform_findings: Vec<FindingRow>,
}

/// Outcome of checking one dilemma for one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DilemmaStatus {
    /// The evidence shows the dilemma.
    Present,
    /// The evidence does not show the dilemma.
    Absent,
    /// Too little data to decide.
    #[default]
    InsufficientData,
}

impl DilemmaStatus {
    /// The status as printed in reports: "present", "absent", "insufficient data".
    pub fn label(self) -> &'static str {
        match self {
            DilemmaStatus::Present => "present",
            DilemmaStatus::Absent => "absent",
            DilemmaStatus::InsufficientData => "insufficient data",
        }
    }

    /// A CSS class fragment for the status (fixed, never derived from input).
    pub(crate) fn css(self) -> &'static str {
        match self {
            DilemmaStatus::Present => "present",
            DilemmaStatus::Absent => "absent",
            DilemmaStatus::InsufficientData => "insufficient",
        }
    }

    /// A symbol shown next to the status text, so colour is not the only cue.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            DilemmaStatus::Present => "\u{25B2}",          // ▲
            DilemmaStatus::Absent => "\u{2713}",           // ✓
            DilemmaStatus::InsufficientData => "\u{003F}", // ?
        }
    }
}

/// One dilemma checked for one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DilemmaRow {
    /// Dilemma code, e.g. "T1".
    pub code: String,
    /// Dilemma title, e.g. "Poor technical support and weak infrastructure".
    pub title: String,
    /// Section of the paper that describes it, e.g. "3.1.1".
    pub section: String,
    /// Whether the dilemma is present.
    pub status: DilemmaStatus,
    /// Severity label, e.g. "high"; `None` when not present or not graded.
    pub severity: Option<String>,
    /// The facts the decision rests on.
    pub evidence: Vec<EvidenceRow>,
}

/// One fact supporting a diagnosis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvidenceRow {
    /// The fact, e.g. "Mean rating of the region's apps".
    pub fact: String,
    /// Its value as printed, e.g. "2.8"; `None` when there was no data.
    pub value: Option<String>,
    /// What it was compared with, e.g. "< 3.0 threshold" or "Guizhou: 3.5".
    pub comparison: Option<String>,
    /// Where it comes from, e.g. "Table 2" or an observation id.
    pub source: String,
}

/// A finding about one platform.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FindingRow {
    /// Platform (or other subject) the finding is about.
    pub subject: String,
    /// Kind of finding, e.g. "store-gap" or "low-rating".
    pub kind: String,
    /// Severity, e.g. "warning".
    pub severity: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The ranked recommendations for one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegionRecommendations {
    /// Region name.
    pub region: String,
    /// Region code.
    pub code: String,
    /// Recommendations, best first (the renderers keep this order).
    pub items: Vec<RecommendationRow>,
}

/// One recommended optimisation path for one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecommendationRow {
    /// Rank among the region's recommendations (1 = do first).
    pub rank: u32,
    /// Path code, e.g. "P1".
    pub code: String,
    /// Path title, e.g. "Cultivate big data capabilities, optimise new infrastructure".
    pub title: String,
    /// Section of the paper that describes it, e.g. "4.1.1".
    pub section: String,
    /// Priority score (higher = more urgent), if computed.
    pub priority: Option<f64>,
    /// Importance of the addressed indicator(s) in 0..=1, if computed.
    pub importance: Option<f64>,
    /// Current performance on the addressed indicator(s) in 0..=1, if computed.
    pub performance: Option<f64>,
    /// Importance-performance quadrant, e.g. "concentrate here".
    pub quadrant: Option<String>,
    /// Why this path is recommended.
    pub rationale: String,
    /// A peer region that does better on this path, to learn from; `None` if none.
    pub peer: Option<String>,
    /// Concrete actions.
    pub actions: Vec<String>,
    /// Who should act, e.g. "provincial big data bureau".
    pub actors: Vec<String>,
    /// Projected effect of following the path, if simulated.
    pub what_if: Option<WhatIf>,
}

/// Projected effect of a recommendation on the region's scores.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WhatIf {
    /// Composite index score now.
    pub score_before: Option<f64>,
    /// Composite index score projected.
    pub score_after: Option<f64>,
    /// Rank now.
    pub rank_before: Option<u32>,
    /// Rank projected.
    pub rank_after: Option<u32>,
    /// Dimension scores now and projected.
    pub dimensions: Vec<DimensionChange>,
}

/// One dimension's score now and projected.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DimensionChange {
    /// Dimension label, e.g. "Technology".
    pub label: String,
    /// Score now.
    pub before: Option<f64>,
    /// Score projected.
    pub after: Option<f64>,
}
