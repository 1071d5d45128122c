//! # govlens-rules
//!
//! Rulebooks for GovLens (pure: no I/O). A rulebook (TOML or JSON, see
//! `RULEBOOK_FORMAT.md`) turns the six construction dilemmas of section 3 of Pan et al.
//! (2023) into conditions over *facts* (scores, ranks, TOE indicators, platform metrics
//! and region facts, each with a source citation), and links the six optimisation paths
//! of section 4 to the dilemmas they answer.
//!
//! * [`diagnose()`] evaluates every dilemma that applies to a unit (and, for a region, the
//!   platform dilemmas on each of its platforms): present / absent / insufficient data,
//!   a severity, and per-condition evidence with sources.
//! * [`recommend()`] lists the paths answering present (then insufficient-data) dilemmas,
//!   with an importance-performance analysis, the best peer, the paper's actions and
//!   actors, and what-if targets resolved to numbers.
//!
//! ```
//! use govlens_rules::{diagnose, recommend, FactSheet, Rulebook, Status, UnitFacts, UnitKind};
//!
//! let book = Rulebook::default_rulebook().unwrap();
//! let sheet = FactSheet::new(vec![
//!     UnitFacts::new("r1", "Region 1", UnitKind::Region, "")
//!         .with("indicator.toe.t.store_coverage", 0.75, "computed: 9 of 12 app x store cells"),
//! ]);
//! let d = diagnose(&book, &sheet, "r1").unwrap();
//! assert_eq!(d.finding("3.1.1").unwrap().status, Status::Present);
//! assert_eq!(d.finding("3.3.2").unwrap().status, Status::InsufficientData);
//! let recs = recommend(&book, &sheet, &d);
//! assert_eq!(recs[0].code, "4.1.1");
//! ```

pub mod diagnose;
pub mod error;
pub mod facts;
pub mod keys;
pub mod parse;
pub mod recommend;
pub mod rulebook;

#[cfg(test)]
mod tests;

pub use diagnose::{
    diagnose, ContextFact, Diagnosis, Evidence, Finding, Outcome, PeerValue, PlatformFindings,
    Status, UnitRef,
};
pub use error::{FieldError, Location, RulesError};
pub use facts::{Fact, FactSheet, UnitFacts, UnitKind};
pub use recommend::{recommend, Basis, DilemmaLink, Quadrant, Recommendation, ResolvedTarget};
pub use rulebook::{
    Actor, Condition, Dilemma, Dimension, DimensionWeights, Mode, Op, OptimisationPath, Rulebook,
    Severity, Target, TargetValue, DEFAULT_RULEBOOK_TOML, FORMAT_VERSION,
};
