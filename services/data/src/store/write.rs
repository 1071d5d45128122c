//! The steps of single-resource writes, composed by the service inside one transaction:
//! replay a request id, check references and uniqueness, write, advance the revision.

use std::collections::HashSet;

use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use super::import::field_name;
use super::kinds::*;
use super::{bump_revision, check_references, db_error, find, find_by_id, Store};
use crate::access::{anchors, anchors_of_model, authorize, Audit};
use crate::entities::create_request;

/// The resource a repeated request id created, if this id was seen before.
pub async fn replay_request<K: StoredKind>(
    tx: &DatabaseTransaction,
    request_id: &str,
) -> ServiceResult<Option<K::Model>> {
    if request_id.is_empty() {
        return Ok(None);
    }
    // Checked before it is looked up: PostgreSQL refuses text with a NUL byte.
    if request_id.chars().count() > 128 || request_id.chars().any(char::is_control) {
        return Err(ServiceError::invalid_field(
            "request_id",
            "must be at most 128 characters, without control characters",
        ));
    }
    let Some(seen) = create_request::Entity::find()
        .filter(create_request::Column::RequestId.eq(request_id))
        .one(tx)
        .await
        .map_err(db_error)?
    else {
        return Ok(None);
    };
    if seen.resource != K::KIND.as_str() {
        return Err(ServiceError::invalid_field(
            "request_id",
            format!("already used to create a {}", seen.resource),
        ));
    }
    let id: i64 = seen.resource_key.parse().unwrap_or_default();
    match find_by_id::<K, _>(tx, id).await.map_err(db_error)? {
        Some(model) => Ok(Some(model)),
        None => Err(ServiceError::precondition(format!(
            "request_id {request_id:?} created a {} that has since been deleted",
            K::NOUN
        ))),
    }
}

/// Records which resource a request id created.
pub async fn remember_request(
    tx: &DatabaseTransaction,
    request_id: &str,
    kind: &str,
    id: i64,
) -> ServiceResult<()> {
    if request_id.is_empty() {
        return Ok(());
    }
    if request_id.chars().count() > 128 {
        return Err(ServiceError::invalid_field(
            "request_id",
            "must be at most 128 characters",
        ));
    }
    create_request::ActiveModel {
        request_id: Set(request_id.to_string()),
        resource: Set(kind.to_string()),
        resource_key: Set(id.to_string()),
        created_at: Set(chrono::Utc::now().to_rfc3339()),
        ..Default::default()
    }
    .insert(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// INVALID_ARGUMENT naming each reference of the record that does not resolve.
pub async fn ensure_references<K: StoredKind>(
    tx: &DatabaseTransaction,
    r: &K::Record,
) -> ServiceResult<()> {
    let violations = check_references(tx, &K::references(r), &mut HashSet::new())
        .await
        .map_err(db_error)?;
    if violations.is_empty() {
        return Ok(());
    }
    let prefixed: Vec<FieldViolation> = violations
        .into_iter()
        .map(|v| {
            FieldViolation::new(
                format!("{}.{}", field_name(K::KIND), v.field),
                v.description,
            )
        })
        .collect();
    Err(ServiceError::invalid(
        format!("the {} refers to records that do not exist", K::NOUN),
        prefixed,
    ))
}

/// ALREADY_EXISTS when another row (not `except_id`) has the record's natural key.
pub async fn ensure_key_free<K: StoredKind>(
    tx: &DatabaseTransaction,
    r: &K::Record,
    except_id: Option<i64>,
) -> ServiceResult<()> {
    match find::<K, _>(tx, K::natural_key(r))
        .await
        .map_err(db_error)?
    {
        Some(m) if Some(K::id(&m)) != except_id => {
            Err(ServiceError::already_exists(K::NOUN, K::key_text(r)))
        }
        _ => Ok(()),
    }
}

/// Inserts a new row for the record.
pub async fn insert<K: StoredKind>(
    tx: &DatabaseTransaction,
    r: &K::Record,
    extra: impl FnOnce(&mut K::Active),
) -> ServiceResult<K::Model> {
    let mut active = <K::Active as Default>::default();
    K::fill(r, &mut active);
    extra(&mut active);
    active.insert(tx).await.map_err(db_error)
}

impl Store {
    /// Advances the revision, records the write in the audit log, commits, and
    /// returns once the readers holding revision leases know of it.
    pub async fn commit_write(
        &self,
        tx: DatabaseTransaction,
        audit: Audit<'_>,
    ) -> ServiceResult<i64> {
        let revision = bump_revision(&tx).await.map_err(db_error)?;
        crate::access::record(&tx, audit, revision).await?;
        tx.commit().await.map_err(db_error)?;
        self.published(revision).await;
        Ok(revision)
    }
}

/// What the caller may be denied: "platforms", "observations", ...
fn plural<K: StoredKind>() -> String {
    format!("{}s", K::NOUN)
}

fn audit<'a, K: StoredKind>(
    action: &'a str,
    key: String,
    request_id: Option<&'a str>,
) -> Audit<'a> {
    Audit {
        action,
        resource: K::NOUN,
        key,
        request_id,
    }
}

impl Store {
    /// Creates a record of a kind without derived columns; a repeated request id
    /// returns the row it created, also when the repeat raced the first request.
    pub async fn create<K: StoredKind>(
        &self,
        r: &K::Record,
        request_id: &str,
    ) -> ServiceResult<(K::Model, i64)> {
        let first = self.create_once::<K>(r, request_id).await;
        self.settle_race::<K>(first, request_id).await
    }

    /// A create that failed with ALREADY_EXISTS because a concurrent request with the
    /// same request id committed first is answered as that request was.
    pub(crate) async fn settle_race<K: StoredKind>(
        &self,
        outcome: ServiceResult<(K::Model, i64)>,
        request_id: &str,
    ) -> ServiceResult<(K::Model, i64)> {
        match outcome {
            Err(ServiceError::AlreadyExists { resource, name }) if !request_id.is_empty() => {
                let tx = self.begin().await?;
                let replayed = replay_request::<K>(&tx, request_id).await?;
                let revision = super::current_revision(&tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                match replayed {
                    Some(model) => Ok((model, revision)),
                    None => Err(ServiceError::AlreadyExists { resource, name }),
                }
            }
            other => other,
        }
    }

    async fn create_once<K: StoredKind>(
        &self,
        r: &K::Record,
        request_id: &str,
    ) -> ServiceResult<(K::Model, i64)> {
        let tx = self.begin().await?;
        if let Some(model) = replay_request::<K>(&tx, request_id).await? {
            let revision = super::current_revision(&tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            return Ok((model, revision));
        }
        ensure_references::<K>(&tx, r).await?;
        authorize(&tx, &anchors(&K::wrap(r.clone())), &plural::<K>()).await?;
        ensure_key_free::<K>(&tx, r, None).await?;
        let model = insert::<K>(&tx, r, |_| {}).await?;
        remember_request(&tx, request_id, K::KIND.as_str(), K::id(&model)).await?;
        let audit = audit::<K>("create", K::key_text(r), Some(request_id));
        Ok((model, self.commit_write(tx, audit).await?))
    }

    /// Replaces the row `existing_id` with the record.
    pub async fn update<K: StoredKind>(
        &self,
        existing_id: i64,
        r: &K::Record,
    ) -> ServiceResult<(K::Model, i64)> {
        let tx = self.begin().await?;
        let existing = find_by_id::<K, _>(&tx, existing_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| ServiceError::not_found(K::NOUN, existing_id.to_string()))?;
        authorize(&tx, &anchors_of_model::<K>(&existing), &plural::<K>()).await?;
        ensure_references::<K>(&tx, r).await?;
        ensure_key_free::<K>(&tx, r, Some(existing_id)).await?;
        let model = super::replace::<K, _>(&tx, existing, r, |_| {})
            .await
            .map_err(db_error)?;
        authorize(&tx, &anchors(&K::wrap(r.clone())), &plural::<K>()).await?;
        let audit = audit::<K>("update", K::key_text(r), None);
        Ok((model, self.commit_write(tx, audit).await?))
    }

    /// Deletes the row `id`, first checking that nothing refers to `code` as `target`.
    pub async fn delete<K: StoredKind>(
        &self,
        id: i64,
        referenced_as: Option<(RefTarget, &str)>,
    ) -> ServiceResult<i64> {
        let tx = self.begin().await?;
        let existing = find_by_id::<K, _>(&tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| ServiceError::not_found(K::NOUN, id.to_string()))?;
        authorize(&tx, &anchors_of_model::<K>(&existing), &plural::<K>()).await?;
        if let Some((target, code)) = referenced_as {
            super::ensure_unreferenced(&tx, target, code).await?;
        }
        if super::delete_by_id::<K, _>(&tx, id)
            .await
            .map_err(db_error)?
            == 0
        {
            return Err(ServiceError::not_found(K::NOUN, id.to_string()));
        }
        let key = K::key_text(&K::to_record(existing));
        self.commit_write(tx, audit::<K>("delete", key, None)).await
    }
}
