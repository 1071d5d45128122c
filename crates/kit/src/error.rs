//! One mapping from service errors to gRPC statuses, with `ErrorInfo` and `BadRequest`
//! details. Internal errors are logged with a reference and never shown to callers.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Domain used in every `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "govlens.dev";

/// One invalid field: its path (naming the row where there is one) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// A violation inside a document a request carries (a model or rulebook file): the
/// field is `<document>: <path>`, or just `<document>` for an error of the whole text
/// (a syntax error), whose line and column go into the description.
pub fn document_violation(
    document: &str,
    path: &str,
    message: &str,
    line_column: Option<(usize, usize)>,
) -> FieldViolation {
    let field = if path.is_empty() {
        document.to_string()
    } else {
        format!("{document}: {path}")
    };
    let description = match line_column {
        Some((line, column)) => format!("{message} (line {line}, column {column})"),
        None => message.to_string(),
    };
    FieldViolation::new(field, description)
}

/// The small fixed set of errors every GovLens service returns.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    InvalidArgument {
        message: String,
        violations: Vec<FieldViolation>,
    },
    #[error("{resource} {name:?} not found")]
    NotFound { resource: String, name: String },
    #[error("{resource} {name:?} already exists")]
    AlreadyExists { resource: String, name: String },
    #[error("{message}")]
    FailedPrecondition { message: String },
    #[error("{0}")]
    Unavailable(String),
    /// No credentials, or credentials that are not valid (unknown, revoked, expired).
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A limit was reached (rate, batch size).
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ServiceError {
    /// INVALID_ARGUMENT with the given violations.
    pub fn invalid(message: impl Into<String>, violations: Vec<FieldViolation>) -> Self {
        ServiceError::InvalidArgument {
            message: message.into(),
            violations,
        }
    }

    /// INVALID_ARGUMENT for one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let v = FieldViolation::new(field, description);
        ServiceError::invalid(format!("invalid {}: {}", v.field, v.description), vec![v])
    }

    pub fn not_found(resource: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceError::NotFound {
            resource: resource.into(),
            name: name.into(),
        }
    }

    pub fn already_exists(resource: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceError::AlreadyExists {
            resource: resource.into(),
            name: name.into(),
        }
    }

    pub fn precondition(message: impl Into<String>) -> Self {
        ServiceError::FailedPrecondition {
            message: message.into(),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(err.into())
    }

    /// The same error for another caller (an internal error keeps its message, not its
    /// source chain: it is logged once, where it happened).
    pub fn duplicate(&self) -> ServiceError {
        match self {
            ServiceError::InvalidArgument {
                message,
                violations,
            } => ServiceError::invalid(message.clone(), violations.clone()),
            ServiceError::NotFound { resource, name } => ServiceError::not_found(resource, name),
            ServiceError::AlreadyExists { resource, name } => {
                ServiceError::already_exists(resource, name)
            }
            ServiceError::FailedPrecondition { message } => ServiceError::precondition(message),
            ServiceError::Unavailable(m) => ServiceError::Unavailable(m.clone()),
            ServiceError::Unauthenticated(m) => ServiceError::Unauthenticated(m.clone()),
            ServiceError::PermissionDenied(m) => ServiceError::PermissionDenied(m.clone()),
            ServiceError::ResourceExhausted(m) => ServiceError::ResourceExhausted(m.clone()),
            ServiceError::Internal(source) => ServiceError::Internal(anyhow::anyhow!("{source:#}")),
        }
    }

    /// The stable `ErrorInfo.reason` of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            ServiceError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            ServiceError::NotFound { .. } => "NOT_FOUND",
            ServiceError::AlreadyExists { .. } => "ALREADY_EXISTS",
            ServiceError::FailedPrecondition { .. } => "FAILED_PRECONDITION",
            ServiceError::Unavailable(_) => "UNAVAILABLE",
            ServiceError::Unauthenticated(_) => "UNAUTHENTICATED",
            ServiceError::PermissionDenied(_) => "PERMISSION_DENIED",
            ServiceError::ResourceExhausted(_) => "RESOURCE_EXHAUSTED",
            ServiceError::Internal(_) => "INTERNAL",
        }
    }
}

fn next_incident() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{t:x}-{n}")
}

/// Bounds what a refusal sends back; every conversion to a `Status` applies it. Errors travel in HTTP/2 trailers, which clients cap
/// (hyper at 16 KiB): a 100 KB input echoed in a NOT_FOUND, or 10,000 violations of a
/// batch, made the refusal arrive as an unreadable RESOURCE_EXHAUSTED ("header list too
/// large") that also cost the client its connection. Texts are cut to 1,000 bytes (names
/// to 300) and violations to the first 6 KB of them; the message says how many are left
/// out.
fn bounded(err: ServiceError) -> ServiceError {
    fn cut(mut text: String, max: usize) -> String {
        if text.len() > max {
            let mut at = max;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            text.push_str("...");
        }
        text
    }
    match err {
        ServiceError::InvalidArgument {
            message,
            violations,
        } => {
            let total = violations.len();
            let mut budget = 6_000usize;
            let kept: Vec<FieldViolation> = violations
                .into_iter()
                .map(|v| FieldViolation::new(cut(v.field, 1000), cut(v.description, 1000)))
                .take_while(|v| {
                    let size = v.field.len() + v.description.len();
                    let fits = size <= budget;
                    budget = budget.saturating_sub(size);
                    fits
                })
                .collect();
            let mut message = cut(message, 1000);
            if kept.len() < total {
                message.push_str(&format!(
                    " ({} more violation(s) not shown)",
                    total - kept.len()
                ));
            }
            ServiceError::InvalidArgument {
                message,
                violations: kept,
            }
        }
        ServiceError::NotFound { resource, name } => ServiceError::NotFound {
            resource,
            name: cut(name, 300),
        },
        ServiceError::AlreadyExists { resource, name } => ServiceError::AlreadyExists {
            resource,
            name: cut(name, 300),
        },
        ServiceError::FailedPrecondition { message } => ServiceError::FailedPrecondition {
            message: cut(message, 1000),
        },
        ServiceError::Unavailable(message) => ServiceError::Unavailable(cut(message, 1000)),
        other => other,
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        let err = bounded(err);
        let reason = err.reason();
        let mut details = ErrorDetails::new();
        let mut metadata = HashMap::new();
        let (code, message) = match &err {
            ServiceError::InvalidArgument {
                message,
                violations,
            } => {
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                (Code::InvalidArgument, message.clone())
            }
            ServiceError::NotFound { resource, name } => {
                metadata.insert("resource".to_string(), resource.clone());
                metadata.insert("name".to_string(), name.clone());
                details.set_resource_info(resource.clone(), name.clone(), "", "not found");
                (Code::NotFound, err.to_string())
            }
            ServiceError::AlreadyExists { resource, name } => {
                metadata.insert("resource".to_string(), resource.clone());
                metadata.insert("name".to_string(), name.clone());
                details.set_resource_info(resource.clone(), name.clone(), "", "already exists");
                (Code::AlreadyExists, err.to_string())
            }
            ServiceError::FailedPrecondition { message } => {
                (Code::FailedPrecondition, message.clone())
            }
            ServiceError::Unavailable(message) => (Code::Unavailable, message.clone()),
            ServiceError::Unauthenticated(message) => (Code::Unauthenticated, message.clone()),
            ServiceError::PermissionDenied(message) => (Code::PermissionDenied, message.clone()),
            ServiceError::ResourceExhausted(message) => (Code::ResourceExhausted, message.clone()),
            ServiceError::Internal(source) => {
                let incident = next_incident();
                // The trace id too: an untraced call has no span to carry it.
                let trace_id = crate::telemetry::sampling::current_trace_id()
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                tracing::error!(incident = %incident, error = ?source, %trace_id, "internal error");
                metadata.insert("incident".to_string(), incident.clone());
                (
                    Code::Internal,
                    format!(
                        "internal error (incident {incident}); the details are in the server log"
                    ),
                )
            }
        };
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_bounded_to_fit_in_trailers() {
        let violations = (0..10_000)
            .map(|i| FieldViolation::new(format!("records[{i}].region.code"), "x".repeat(40)))
            .collect();
        let status = Status::from(ServiceError::invalid("bad batch", violations));
        let details = status.get_error_details();
        let shown = details.bad_request().unwrap().field_violations.len();
        assert!(shown > 0 && shown < 10_000, "{shown}");
        assert!(
            status
                .message()
                .ends_with(&format!("({} more violation(s) not shown)", 10_000 - shown)),
            "{}",
            status.message()
        );
        assert!(status.details().len() < 8_000, "{}", status.details().len());

        let long = "\u{00e9}".repeat(1_000);
        let status = Status::from(ServiceError::not_found("region", long));
        assert!(status.message().len() < 400, "{}", status.message().len());
        assert!(status.message().contains("..."));
    }

    #[test]
    fn invalid_argument_carries_every_violation() {
        let status: Status = ServiceError::invalid(
            "2 invalid fields",
            vec![
                FieldViolation::new(
                    "records[3].observation.value",
                    "a rating must be between 0 and 5",
                ),
                FieldViolation::new("records[7].platform.name", "must not be empty"),
            ],
        )
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(
            fields,
            ["records[3].observation.value", "records[7].platform.name"]
        );
        assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let status: Status =
            ServiceError::internal(anyhow::anyhow!("SELECT * FROM secret_table failed")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
        assert!(!status.message().contains("secret_table"));
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert!(info.metadata.contains_key("incident"));
    }

    #[test]
    fn not_found_names_the_resource() {
        let status: Status = ServiceError::not_found("platform", "nope").into();
        assert_eq!(status.code(), Code::NotFound);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.metadata["resource"], "platform");
        assert_eq!(info.metadata["name"], "nope");
    }
}
