//! Plumbing shared by the GovLens services: the error-to-status mapping, the cache,
//! logging, health and reflection.

pub mod auth;
pub mod cache;
pub mod coalesce;
pub mod config;
pub mod error;
pub mod grpc;
pub mod lease;
pub mod logging;
pub mod process;
pub mod reply;
pub mod sole_writer;
pub mod telemetry;
pub mod tls;

pub use cache::Cache;
pub use error::{FieldViolation, ServiceError, ServiceResult};
