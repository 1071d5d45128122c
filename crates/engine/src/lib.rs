//! # govlens-engine
//!
//! A pure (no I/O) composite-indicator engine in the spirit of the EU JRC's
//! COINr: a [`Model`] tree (indicators -> factors -> dimensions -> index, any
//! depth) is applied to a [`Dataset`] to produce scores, competition ranks,
//! bands, contribution breakdowns, strengths and weaknesses, Monte Carlo
//! uncertainty and sensitivity of ranks, and period-to-period changes.
//!
//! ```
//! use govlens_engine::{Dataset, Model};
//!
//! let model = Model::from_toml_str(r#"
//!     code = "EGDI"
//!     [defaults]
//!     normalisation = "none"
//!     [[bands]]
//!     label = "High"
//!     min = 0.5
//!     [[bands]]
//!     label = "Low"
//!     [[dimensions]]
//!     code = "OSI"
//!     [[dimensions]]
//!     code = "TII"
//! "#).unwrap();
//! let data = Dataset::from_columns(
//!     vec!["A".into(), "B".into()],
//!     vec![("OSI".into(), vec![0.9, 0.2]), ("TII".into(), vec![0.7, 0.4])],
//! ).unwrap();
//! let results = model.score(&data).unwrap();
//! assert_eq!(results.rank_of("A", "EGDI").unwrap(), Some(1));
//! assert_eq!(results.band_of("B", "EGDI").unwrap(), Some("Low"));
//! ```
//!
//! Modules: [`model`] and [`spec`] (the model tree and its file format, see
//! `MODEL_FORMAT.md`), [`dataset`], [`normalise`](mod@normalise), [`aggregate`](mod@aggregate), [`missing`]
//! (imputation), [`rank`] (ranks and bands), [`score`](mod@score) (the pipeline and its
//! [`Results`]), [`report`] (strengths and weaknesses), [`uncertainty`],
//! [`timeseries`], [`decimal`] (exact decimal rounding) and [`error`].

#![warn(missing_docs)]

pub mod aggregate;
pub mod dataset;
pub mod decimal;
pub mod error;
pub mod missing;
pub mod model;
pub mod normalise;
mod plan;
pub mod rank;
pub mod report;
pub mod score;
pub mod spec;
pub mod timeseries;
pub mod uncertainty;

pub use aggregate::{aggregate, Aggregation, ZeroHandling};
pub use dataset::Dataset;
pub use decimal::{mean_of_decimals, round_half_up, Decimal, Ratio};
pub use error::{EngineError, FieldError, ModelError, Result};
pub use missing::{ImputationMethod, Imputed};
pub use model::{Aggregate, Indicator, Model, Node, NodeKind};
pub use normalise::{normalise, Direction, Goalposts, Normalisation, NormaliseContext, Scale};
pub use plan::NodeInfo;
pub use rank::{band_index, competition_ranks, Band, Ranking};
pub use report::{Criterion, Highlight, Scope, StrengthOptions, StrengthsWeaknesses};
pub use score::{score, Contribution, NodeScore, Results, ScoreOptions, UnitReport};
pub use spec::{parse_json, parse_toml, ModelSpec, NodeSpec};
pub use timeseries::{score_periods, Change, TimeSeries};
pub use uncertainty::{
    run_uncertainty, run_uncertainty_with_progress, Sensitivity, UncertaintyConfig,
    UncertaintyReport, UnitUncertainty, WeightNoise,
};
