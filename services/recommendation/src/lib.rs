//! The GovLens recommendation service: diagnoses the six construction dilemmas of
//! digital governance platforms with evidence (Pan et al. 2023, section 3), ranks the
//! optimisation paths (section 4) by importance x gap with what-if projections from
//! the scoring service, and writes HTML and Markdown reports.

pub mod config;
pub mod facts;
pub mod report;
pub mod server;
pub mod service;
pub mod upstream;

pub use config::RecommendationConfig;
pub use server::{serve, RecommendationComponent};
