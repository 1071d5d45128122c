//! Helpers every handler uses: revision-keyed caching, page tokens, field masks, and
//! turning record violations into BadRequest field violations.

use base64::Engine;
use govlens_dataset::Violation;
use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::store::import::field_name;
use crate::store::kinds::StoredKind;

/// Page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// Largest page served.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// The message field of a record field: provenance columns (`source_document`) are
/// the `source` message's fields (`source.document`) in requests.
pub fn message_field(record_field: &str) -> String {
    match record_field.strip_prefix("source_") {
        Some(rest) => format!("source.{rest}"),
        None => record_field.to_string(),
    }
}

/// Violations of a record in a request, as `<resource>.<field>`.
pub fn record_violations(resource_field: &str, violations: Vec<Violation>) -> ServiceError {
    let fields: Vec<FieldViolation> = violations
        .into_iter()
        .map(|v| {
            FieldViolation::new(
                format!("{resource_field}.{}", message_field(&v.field)),
                v.description,
            )
        })
        .collect();
    let first = fields
        .first()
        .map(|v| format!("{}: {}", v.field, v.description))
        .unwrap_or_default();
    ServiceError::invalid(format!("invalid {resource_field}: {first}"), fields)
}

/// Checks a record with the dataset rules (filling values from their printed form).
pub fn validated<K: StoredKind>(record: K::Record) -> ServiceResult<K::Record> {
    let mut any = K::wrap(record);
    govlens_dataset::prepare(&mut any).map_err(|v| record_violations(field_name(K::KIND), v))?;
    K::unwrap(any)
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("record kind changed in validation")))
}

/// The message field, or INVALID_ARGUMENT when it is missing.
pub fn required<T>(field: &str, value: Option<T>) -> ServiceResult<T> {
    value.ok_or_else(|| ServiceError::invalid_field(field, "is required"))
}

/// A non-empty code argument.
pub fn require_code(field: &str, code: &str) -> ServiceResult<()> {
    if code.is_empty() {
        Err(ServiceError::invalid_field(field, "must not be empty"))
    } else if code.len() > 256 {
        Err(ServiceError::invalid_field(field, "is too long"))
    } else if code.chars().any(char::is_control) {
        Err(ServiceError::invalid_field(
            field,
            "must not contain control characters",
        ))
    } else {
        Ok(())
    }
}

/// Optional code filters of a List request: empty means "any"; anything else must be
/// a plausible code, so no control character (a NUL byte) ever reaches the database.
pub fn filter_codes(filters: &[(&str, &str)]) -> ServiceResult<()> {
    for (field, value) in filters {
        if !value.is_empty() {
            require_code(field, value)?;
        }
    }
    Ok(())
}

/// A positive id argument.
pub fn require_id(id: i64) -> ServiceResult<()> {
    if id <= 0 {
        Err(ServiceError::invalid_field("id", "must be a positive id"))
    } else {
        Ok(())
    }
}

/// Reads an enum filter: 0 means "any", an unknown value is INVALID_ARGUMENT.
pub fn enum_filter<T>(
    field: &str,
    value: i32,
    parse: fn(i32) -> Option<T>,
) -> ServiceResult<Option<T>> {
    if value == 0 {
        return Ok(None);
    }
    parse(value)
        .map(Some)
        .ok_or_else(|| ServiceError::invalid_field(field, format!("unknown value {value}")))
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

/// Identifies a List request's filters, so a page token is only valid for them.
pub fn filter_fingerprint<M: Message + Clone>(
    request: &M,
    clear_paging: impl FnOnce(&mut M),
) -> String {
    let mut filters = request.clone();
    clear_paging(&mut filters);
    // The request type names the List method: a token of one list is no good for another.
    let mut bytes = std::any::type_name::<M>().as_bytes().to_vec();
    bytes.extend(filters.encode_to_vec());
    hash_hex(&bytes)[..12].to_string()
}

/// Reads page size and token: (last id served, page size).
pub fn paging(page_token: &str, page_size: i32, fingerprint: &str) -> ServiceResult<(i64, u64)> {
    if page_size < 0 {
        return Err(ServiceError::invalid_field(
            "page_size",
            "must not be negative",
        ));
    }
    let size = match page_size as u64 {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    if page_token.is_empty() {
        return Ok((0, size));
    }
    let bad = || ServiceError::invalid_field("page_token", "is not a token this list returned");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(page_token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (after, fp) = text.split_once(':').ok_or_else(bad)?;
    if fp != fingerprint {
        return Err(ServiceError::invalid_field(
            "page_token",
            "belongs to a list with other filters; start again without a token",
        ));
    }
    let after: i64 = after.parse().map_err(|_| bad())?;
    Ok((after, size))
}

/// The token of the page after `last_id`, or "" on the last page.
pub fn next_page_token(last_id: Option<i64>, fingerprint: &str) -> String {
    match last_id {
        Some(id) => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{id}:{fingerprint}"))
        }
        None => String::new(),
    }
}

/// Cache key of a read at a revision: the revision makes older entries unreachable.
/// The instance keeps databases that share a Redis apart.
pub fn cache_key<M: Message>(instance: &str, revision: i64, method: &str, request: &M) -> String {
    format!(
        "govlens:data:{instance}:r{revision}:{method}:{}",
        hash_hex(&request.encode_to_vec())
    )
}

/// The paths of an update mask, checked against the updatable and immutable fields.
/// An empty mask means every updatable field.
pub fn mask_paths<'a>(
    mask: Option<prost_types::FieldMask>,
    updatable: &[&'a str],
    immutable: &[&str],
) -> ServiceResult<Vec<&'a str>> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Ok(updatable.to_vec());
    }
    let mut violations = Vec::new();
    let mut chosen = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if let Some(field) = updatable.iter().find(|f| **f == path) {
            chosen.push(*field);
        } else if immutable.contains(&path.as_str()) {
            violations.push(FieldViolation::new(
                format!("update_mask.paths[{i}]"),
                format!("{path} cannot be changed"),
            ));
        } else {
            violations.push(FieldViolation::new(
                format!("update_mask.paths[{i}]"),
                format!("unknown field {path:?}"),
            ));
        }
    }
    if violations.is_empty() {
        Ok(chosen)
    } else {
        Err(ServiceError::invalid("invalid update_mask", violations))
    }
}

/// Copies the named fields from `src` to `dst`.
macro_rules! copy_fields {
    ($dst:expr, $src:expr, $paths:expr, [$($field:ident),+ $(,)?]) => {
        for path in $paths {
            match *path {
                $(stringify!($field) => $dst.$field = $src.$field.clone(),)+
                _ => {}
            }
        }
    };
}
pub(crate) use copy_fields;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_are_bound_to_their_filters() {
        let token = next_page_token(Some(42), "abc");
        assert_eq!(paging(&token, 10, "abc").unwrap(), (42, 10));
        assert!(paging(&token, 10, "xyz").is_err());
        assert!(paging("garbage!", 10, "abc").is_err());
        assert_eq!(next_page_token(None, "abc"), "");
    }

    #[test]
    fn page_size_defaults_and_caps() {
        assert_eq!(paging("", 0, "f").unwrap().1, DEFAULT_PAGE_SIZE);
        assert_eq!(paging("", 5000, "f").unwrap().1, MAX_PAGE_SIZE);
        assert!(paging("", -1, "f").is_err());
    }

    #[test]
    fn masks_reject_unknown_and_immutable_fields() {
        let mask = |p: &[&str]| {
            Some(prost_types::FieldMask {
                paths: p.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert_eq!(
            mask_paths(mask(&["name"]), &["name", "kind"], &["code"]).unwrap(),
            ["name"]
        );
        assert_eq!(
            mask_paths(None, &["name", "kind"], &["code"]).unwrap(),
            ["name", "kind"]
        );
        assert!(mask_paths(mask(&["code"]), &["name"], &["code"]).is_err());
        assert!(mask_paths(mask(&["nme"]), &["name"], &["code"]).is_err());
    }
}
