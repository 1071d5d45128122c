//! Error types of the engine.
//!
//! Every fallible public function returns [`EngineError`]; model files that fail to
//! parse or validate produce a [`ModelError`] holding one [`FieldError`] per problem,
//! each pointing at the offending field with a path such as
//! `dimensions[1].children[0].weight`.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// A position in a model file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub column: usize,
}

/// One problem found in a model, located by its field path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `dimensions[1].children[0].weight`; empty for the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Source position, when known (parse errors only).
    pub location: Option<Location>,
}

impl FieldError {
    /// Creates an error for `path` without a source location.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            location: None,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(loc) = self.location {
            write!(f, " (line {}, column {})", loc.line, loc.column)?;
        }
        Ok(())
    }
}

/// A model that could not be parsed or failed validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelError {
    /// All problems found, in document order.
    pub errors: Vec<FieldError>,
}

impl ModelError {
    /// Wraps a single field error.
    pub fn single(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }

    /// True when some error has exactly this path.
    pub fn has_path(&self, path: &str) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            0 => write!(f, "invalid model"),
            1 => write!(f, "invalid model: {}", self.errors[0]),
            n => {
                write!(f, "invalid model ({n} problems): ")?;
                for (i, e) in self.errors.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ModelError {}

/// Errors returned by the engine.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EngineError {
    /// The model is malformed (parse or validation failure).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The dataset is malformed (duplicate codes, wrong column length, infinite values ...).
    #[error("invalid dataset: {0}")]
    Dataset(String),
    /// Indicators required by the model are absent from the dataset.
    #[error("dataset lacks indicator(s) required by the model: {}", .0.join(", "))]
    MissingIndicators(Vec<String>),
    /// A normalisation is undefined for the data (e.g. min-max of a constant column).
    #[error("node {node}: {method} normalisation is undefined: {reason}")]
    Degenerate {
        /// Indicator or node code.
        node: String,
        /// Method name.
        method: &'static str,
        /// Why it is undefined.
        reason: String,
    },
    /// An aggregation received a value outside its domain (e.g. zero in a geometric mean).
    #[error("node {node}, unit {unit}: {method} mean is undefined for value {value} ({reason})")]
    AggregationDomain {
        /// Aggregate node code.
        node: String,
        /// Unit code.
        unit: String,
        /// Offending child value (after any offset).
        value: f64,
        /// Method name.
        method: &'static str,
        /// Explanation and remedy.
        reason: &'static str,
    },
    /// A unit code was not found.
    #[error("unknown unit {0:?}")]
    UnknownUnit(String),
    /// A node (indicator, factor, dimension or index) code was not found.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    /// An option or configuration value is invalid.
    #[error("invalid option {field}: {message}")]
    InvalidOption {
        /// Option name.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A decimal string could not be parsed or an exact computation overflowed.
    #[error("decimal: {0}")]
    Decimal(String),
}

impl EngineError {
    pub(crate) fn option(field: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::InvalidOption {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
