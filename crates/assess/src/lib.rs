//! # govlens-assess
//!
//! Assessment of a [`DataSnapshot`] of GovLens records, following Pan et al. (2023),
//! *Research on the Construction Dilemma and Path of Digital Governance Platform under
//! the TOE Framework*. Pure: no I/O, no async.
//!
//! * [`metrics`]: per-platform metrics from the latest observation of each metric on
//!   each channel: Table 2's average rating (exact, and at the printed precision),
//!   count-weighted and Bayesian-adjusted ratings, rating spread, channel coverage,
//!   total downloads and downloads per inhabitant;
//! * [`quality`]: data-quality findings: reported aggregates that disagree with their
//!   components, unverifiable shares, "/" cells, out-of-range and implausible values,
//!   implausible jumps over time, broken references;
//! * [`toe`]: the TOE indicators (technology, organisation, environment) per region and
//!   per platform, as an [`IndicatorTable`] the engine can score.
//!
//! Exact decimal arithmetic comes from `govlens_engine::decimal`; [`exact`] adds what
//! an assessment needs on top (reading a record's value as the decimal it was printed
//! as, sums, differences, formatting).
//!
//! ```
//! use govlens_assess::{metrics::platform_metrics, quality::findings, toe::region_indicators};
//! use govlens_assess::{AssessConfig, DataSnapshot};
//!
//! let snapshot = DataSnapshot::default();
//! let config = AssessConfig::default();
//! assert!(platform_metrics(&snapshot, &config).is_empty());
//! assert!(findings(&snapshot, &config).is_empty());
//! assert!(region_indicators(&snapshot, &config).units.is_empty());
//! ```

pub mod config;
mod context;
pub mod exact;
pub mod metrics;
pub mod quality;
mod series;
pub mod snapshot;
pub mod toe;

pub use config::{AssessConfig, ChannelUniverse, FlagshipRule};
pub use metrics::{ChannelCoverage, ChannelValue, PlatformMetrics, PopulationUsed};
pub use quality::{Finding, FindingKind, Severity, Subject};
pub use snapshot::DataSnapshot;
pub use toe::{IndicatorDef, IndicatorTable, INDICATORS};
