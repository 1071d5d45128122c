//! Error types of the crate.
//!
//! A rulebook that fails to parse or validate yields [`RulesError::Invalid`] holding one
//! [`FieldError`] per problem (all problems at once), each located by a field path such
//! as `dilemmas[2].conditions[0].op`.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// A position in a rulebook file (1-based line and column); syntax errors only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub column: usize,
}

/// One problem found in a rulebook, located by its field path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `dilemmas[2].conditions[0].op`; empty for the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Source position, when known (syntax errors only).
    pub location: Option<Location>,
}

impl FieldError {
    /// An error for `path` without a source location.
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

fn list_errors(errors: &[FieldError]) -> String {
    let mut out = format!(
        "invalid rulebook ({} error{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors {
        out.push_str("\n  ");
        out.push_str(&e.to_string());
    }
    out
}

/// Every fallible function of the crate returns this error.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RulesError {
    /// The rulebook could not be parsed or failed validation; one entry per problem.
    #[error("{}", list_errors(.0))]
    Invalid(Vec<FieldError>),
    /// The unit asked for is not in the fact sheet.
    #[error("unit {0:?} is not in the fact sheet")]
    UnknownUnit(String),
    /// Two units of the fact sheet share a code.
    #[error("the fact sheet has more than one unit with code {0:?}")]
    DuplicateUnit(String),
    /// A unit of the fact sheet has an empty code.
    #[error("the fact sheet has a unit with an empty code (index {0})")]
    EmptyUnitCode(usize),
    /// The rulebook could not be written out.
    #[error("cannot serialise the rulebook: {0}")]
    Serialise(String),
}

impl RulesError {
    /// The field errors of an [`RulesError::Invalid`] error (empty otherwise).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            RulesError::Invalid(v) => v,
            _ => &[],
        }
    }
}
