//! The GovLens data service: regions, platforms, channels, observations with
//! provenance, policy documents, service functions, indicators and reported aggregates,
//! over gRPC, persisted with sea-orm on PostgreSQL or SQLite, cached by data revision.

pub mod access;
pub mod config;
pub mod entities;
pub mod migration;
pub mod server;
pub mod service;
pub mod store;
pub mod tokens;

pub use config::DataConfig;
pub use server::{serve, shutdown_signal, DataComponent};
