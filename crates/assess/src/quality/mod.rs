//! Data-quality findings: figures that disagree, cannot be checked, are missing, out
//! of range or implausible. Nothing is corrected; every finding says what is wrong,
//! where the figure came from and, where it helps, what was recomputed.
//!
//! Rules (in the order findings are returned):
//! 1. **reported aggregates**: a reported average is recomputed
//!    from the latest channel values on or before its date and compared at its printed
//!    precision; a reported sum is compared exactly (both values and their ratio are
//!    shown); a population share is recomputed from user counts and the region's
//!    population, or reported as unverifiable (info) when there are no user counts;
//!    components of a sum printed in different units are noted (info);
//! 2. **values**: channels with no data for an app (the paper's "/", info); ratings
//!    outside `[0, 5]` and negative counts (error); downloads per inhabitant of the
//!    region above [`AssessConfig::max_downloads_per_inhabitant`] (warning, with a
//!    unit-error hint);
//! 3. **time series**: cumulative downloads that decrease between consecutive dates,
//!    and ratings that change by more than [`AssessConfig::max_rating_change`]
//!    (warnings);
//! 4. **integrity**: references to unknown platforms, channels, regions or functions,
//!    invalid dates, unreadable values and duplicate observations (warnings).

mod aggregates;
mod integrity;
mod jumps;
mod values;

use std::fmt;

use govlens_dataset::{Metric, Provenance};

use crate::config::AssessConfig;
use crate::context::Context;
use crate::snapshot::DataSnapshot;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; nothing is wrong with the data as such (e.g. a "/" cell).
    Info,
    /// Probably wrong or suspicious; needs a look.
    Warning,
    /// Provably wrong (e.g. a printed sum that is not the sum of its parts).
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// A reported sum, average or share disagrees with the value recomputed from its
    /// components.
    AggregateMismatch,
    /// A reported sum or average has no components to recompute it from.
    AggregateUnverifiable,
    /// A reported population share has no user counts (or no population) to check it.
    PopulationShareUnverifiable,
    /// The components of a reported sum are printed in different units.
    MixedPrintedUnits,
    /// An app has no data of a metric on a channel of its universe (the "/" cells).
    ChannelNoData,
    /// A rating outside `[0, 5]`.
    RatingOutOfRange,
    /// A negative download, rating or user count.
    NegativeCount,
    /// More downloads per inhabitant of the region than is plausible.
    ImplausibleDownloadsPerInhabitant,
    /// Cumulative downloads fell between two consecutive dates.
    DownloadsDecreased,
    /// A channel's rating moved more than the configured amount between two dates.
    RatingJump,
    /// A record refers to a platform, channel, region or function the snapshot lacks.
    UnknownReference,
    /// A date that is not `YYYY-MM-DD`.
    InvalidDate,
    /// A value that is absent and whose printed figure cannot be read.
    UnreadableValue,
    /// The same platform, channel, metric and date observed more than once.
    DuplicateObservation,
}

impl FindingKind {
    /// The snake_case name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::AggregateMismatch => "aggregate_mismatch",
            FindingKind::AggregateUnverifiable => "aggregate_unverifiable",
            FindingKind::PopulationShareUnverifiable => "population_share_unverifiable",
            FindingKind::MixedPrintedUnits => "mixed_printed_units",
            FindingKind::ChannelNoData => "channel_no_data",
            FindingKind::RatingOutOfRange => "rating_out_of_range",
            FindingKind::NegativeCount => "negative_count",
            FindingKind::ImplausibleDownloadsPerInhabitant => {
                "implausible_downloads_per_inhabitant"
            }
            FindingKind::DownloadsDecreased => "downloads_decreased",
            FindingKind::RatingJump => "rating_jump",
            FindingKind::UnknownReference => "unknown_reference",
            FindingKind::InvalidDate => "invalid_date",
            FindingKind::UnreadableValue => "unreadable_value",
            FindingKind::DuplicateObservation => "duplicate_observation",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The record or entity a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Platform(String),
    Region(String),
    Channel(String),
    /// A reported aggregate, by code.
    Aggregate(String),
    /// An observation, by its natural key.
    Observation {
        platform: String,
        channel: String,
        metric: Metric,
        observed_on: String,
    },
    /// A platform x channel x metric cell (e.g. one with no data).
    Cell {
        platform: String,
        channel: String,
        metric: Metric,
    },
    /// A platform's service function.
    PlatformFunction {
        platform: String,
        function: String,
    },
    /// A policy document, by code.
    PolicyDocument(String),
    /// A region's population in a year.
    Population {
        region: String,
        year: i32,
    },
    /// A service function of the catalogue, by code.
    ServiceFunction(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Platform(c) => write!(f, "platform {c}"),
            Subject::Region(c) => write!(f, "region {c}"),
            Subject::Channel(c) => write!(f, "channel {c}"),
            Subject::Aggregate(c) => write!(f, "aggregate {c}"),
            Subject::Observation {
                platform,
                channel,
                metric,
                observed_on,
            } => write!(f, "observation {platform}/{channel}/{metric}/{observed_on}"),
            Subject::Cell {
                platform,
                channel,
                metric,
            } => write!(f, "cell {platform}/{channel}/{metric}"),
            Subject::PlatformFunction { platform, function } => {
                write!(f, "platform function {platform}/{function}")
            }
            Subject::PolicyDocument(c) => write!(f, "policy document {c}"),
            Subject::Population { region, year } => write!(f, "population {region}/{year}"),
            Subject::ServiceFunction(c) => write!(f, "service function {c}"),
        }
    }
}

/// One data-quality finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub subject: Subject,
    /// One or two sentences a researcher can act on.
    pub message: String,
    /// The figure as the source printed it, where one is checked.
    pub reported: Option<String>,
    /// The value recomputed from the components (at the printed precision for
    /// averages and shares, exact for sums), where one is computed.
    pub recomputed: Option<String>,
    /// `reported / recomputed`, for sums that disagree.
    pub ratio: Option<f64>,
    /// A likely explanation, e.g. a unit error.
    pub hint: Option<String>,
    /// Where the figures come from: the subject's record first, then its components.
    pub provenance: Vec<Provenance>,
}

impl Finding {
    pub(crate) fn new(
        kind: FindingKind,
        severity: Severity,
        subject: Subject,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            kind,
            severity,
            subject,
            message: message.into(),
            reported: None,
            recomputed: None,
            ratio: None,
            hint: None,
            provenance: Vec::new(),
        }
    }

    pub(crate) fn with_values(
        mut self,
        reported: Option<String>,
        recomputed: Option<String>,
    ) -> Self {
        self.reported = reported;
        self.recomputed = recomputed;
        self
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn with_provenance(
        mut self,
        provenance: impl IntoIterator<Item = Provenance>,
    ) -> Self {
        self.provenance.extend(
            provenance
                .into_iter()
                .filter(|p| *p != Provenance::default()),
        );
        self
    }
}

/// A metric in words: `registered_users` -> `registered users`.
pub(crate) fn words(metric: Metric) -> String {
    metric.as_str().replace('_', " ")
}

/// Every finding on the snapshot, rule by rule (see the module documentation).
pub fn findings(snapshot: &DataSnapshot, config: &AssessConfig) -> Vec<Finding> {
    let ctx = Context::new(snapshot, config);
    let metrics = crate::metrics::all(&ctx);
    let mut out = Vec::new();
    aggregates::check(&ctx, &mut out);
    values::check(&ctx, &metrics, &mut out);
    jumps::check(&ctx, &mut out);
    integrity::check(&ctx, &mut out);
    out
}

/// The findings of one kind.
pub fn of_kind(findings: &[Finding], kind: FindingKind) -> Vec<&Finding> {
    findings.iter().filter(|f| f.kind == kind).collect()
}

/// Number of findings at each severity: `(info, warning, error)`.
pub fn count_by_severity(findings: &[Finding]) -> (usize, usize, usize) {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    (
        count(Severity::Info),
        count(Severity::Warning),
        count(Severity::Error),
    )
}
