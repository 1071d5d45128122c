//! The GovLens scoring service: composite-indicator models kept as immutable versions,
//! TOE scores of regions and platforms, side-by-side comparisons, explanations,
//! uncertainty analysis, platform metrics and data-quality findings. It reads its data
//! from the data service over gRPC and caches results by model version and data
//! revision.

pub mod config;
pub mod data;
pub mod models;
pub mod pipeline;
pub mod server;
pub mod service;

pub use config::ScoringConfig;
pub use server::{serve, ScoringComponent, SHIPPED_MODELS};
