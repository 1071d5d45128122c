//! Bulk import: a batch is validated as a whole and written in one transaction, so it
//! lands entirely or not at all. Records are matched on natural keys, which makes
//! importing the same data twice a no-op.

use std::collections::{BTreeMap, HashMap, HashSet};

use govlens_dataset::records::{AnyRecord, ResourceKind};
use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use sea_orm::{DatabaseTransaction, EntityTrait, QueryOrder, TransactionTrait};

use super::kinds::*;
use super::{
    bump_revision, check_references, db_error, find, upsert, upsert_region, Outcome, Store,
};
use crate::access::{anchors, authorize, current_actor, Audit};
use crate::entities::region;

/// A record of a batch with its position and origin, for error messages.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub index: usize,
    pub origin: String,
    pub record: AnyRecord,
}

/// Created, updated and unchanged counts of one resource kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// The oneof field name of a record kind in `Record`, for violation paths.
pub fn field_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Region => "region",
        ResourceKind::Population => "population",
        ResourceKind::Channel => "channel",
        ResourceKind::Platform => "platform",
        ResourceKind::ServiceFunction => "service_function",
        ResourceKind::PlatformFunction => "platform_function",
        ResourceKind::Indicator => "indicator",
        ResourceKind::PolicyDocument => "policy_document",
        ResourceKind::Observation => "observation",
        ResourceKind::IndicatorValue => "indicator_value",
        ResourceKind::ReportedAggregate => "reported_aggregate",
    }
}

/// A violation on one record of a batch: `records[i].<kind>.<field>`, with the origin.
pub fn record_violation(
    item_index: usize,
    origin: &str,
    kind: Option<ResourceKind>,
    field: &str,
    description: &str,
) -> FieldViolation {
    let field = crate::service::support::message_field(field);
    let path = match (kind, field.is_empty()) {
        (Some(k), false) => format!("records[{item_index}].{}.{field}", field_name(k)),
        (Some(k), true) => format!("records[{item_index}].{}", field_name(k)),
        (None, _) => format!("records[{item_index}].{field}"),
    };
    let description = if origin.is_empty() {
        description.to_string()
    } else {
        format!("{origin}: {description}")
    };
    FieldViolation::new(path, description)
}

fn key_of(record: &AnyRecord) -> String {
    match record {
        AnyRecord::Region(r) => Regions::key_text(r),
        AnyRecord::Population(r) => Populations::key_text(r),
        AnyRecord::Channel(r) => Channels::key_text(r),
        AnyRecord::Platform(r) => Platforms::key_text(r),
        AnyRecord::ServiceFunction(r) => ServiceFunctions::key_text(r),
        AnyRecord::PlatformFunction(r) => PlatformFunctions::key_text(r),
        AnyRecord::Indicator(r) => Indicators::key_text(r),
        AnyRecord::PolicyDocument(r) => PolicyDocuments::key_text(r),
        AnyRecord::Observation(r) => Observations::key_text(r),
        AnyRecord::IndicatorValue(r) => IndicatorValues::key_text(r),
        AnyRecord::ReportedAggregate(r) => ReportedAggregates::key_text(r),
    }
}

/// Checks each record on its own and against the rest of the batch, and orders the
/// batch so that referenced records come first (parents before child regions).
pub fn prepare_batch(mut items: Vec<BatchItem>) -> Result<Vec<BatchItem>, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let mut seen: HashMap<(ResourceKind, String), usize> = HashMap::new();
    for item in &mut items {
        let kind = item.record.kind();
        if let Err(vs) = govlens_dataset::prepare(&mut item.record) {
            for v in vs {
                violations.push(record_violation(
                    item.index,
                    &item.origin,
                    Some(kind),
                    &v.field,
                    &v.description,
                ));
            }
            continue;
        }
        if let Some(first) = seen.insert((kind, key_of(&item.record)), item.index) {
            violations.push(record_violation(
                item.index,
                &item.origin,
                Some(kind),
                "",
                &format!(
                    "repeats the key {:?} of records[{first}] in the same batch",
                    key_of(&item.record)
                ),
            ));
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    let depth = region_depths(&items)?;
    items.sort_by_key(|item| {
        (
            item.record.kind(),
            depth.get(&item.index).copied().unwrap_or(0),
            item.index,
        )
    });
    Ok(items)
}

/// Depth of each region of the batch within the batch's own hierarchy; a cycle is an error.
fn region_depths(items: &[BatchItem]) -> Result<HashMap<usize, usize>, Vec<FieldViolation>> {
    let parents: HashMap<&str, (&str, usize, &str)> = items
        .iter()
        .filter_map(|item| match &item.record {
            AnyRecord::Region(r) => Some((
                r.code.as_str(),
                (r.parent_code.as_str(), item.index, item.origin.as_str()),
            )),
            _ => None,
        })
        .collect();
    let mut depths = HashMap::new();
    for (code, (_, index, origin)) in &parents {
        let mut depth = 0;
        let mut at = *code;
        let mut visited = HashSet::new();
        while let Some((parent, _, _)) = parents.get(at) {
            if !visited.insert(at) {
                return Err(vec![record_violation(
                    *index,
                    origin,
                    Some(ResourceKind::Region),
                    "parent_code",
                    "the batch's regions form a cycle",
                )]);
            }
            depth += 1;
            at = parent;
        }
        depths.insert(*index, depth);
    }
    Ok(depths)
}

async fn apply<K: StoredKind>(
    tx: &DatabaseTransaction,
    record: &K::Record,
    known: &mut HashSet<(RefTarget, String)>,
) -> ServiceResult<Result<Outcome, Vec<FieldViolation>>> {
    let violations = check_references(tx, &K::references(record), known)
        .await
        .map_err(db_error)?;
    if !violations.is_empty() {
        return Ok(Err(violations));
    }
    let (outcome, _) = upsert::<K, _>(tx, record, |_| {}).await.map_err(db_error)?;
    Ok(Ok(outcome))
}

async fn apply_any(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
    known: &mut HashSet<(RefTarget, String)>,
) -> ServiceResult<Result<Outcome, Vec<FieldViolation>>> {
    let result = match record {
        AnyRecord::Region(r) => {
            let violations = check_references(tx, &Regions::references(r), known)
                .await
                .map_err(db_error)?;
            if !violations.is_empty() {
                return Ok(Err(violations));
            }
            match upsert_region(tx, r).await {
                Ok((outcome, _)) => Ok(outcome),
                Err(ServiceError::InvalidArgument { violations, .. }) => Err(violations),
                Err(e) => return Err(e),
            }
        }
        AnyRecord::Population(r) => apply::<Populations>(tx, r, known).await?,
        AnyRecord::Channel(r) => apply::<Channels>(tx, r, known).await?,
        AnyRecord::Platform(r) => apply::<Platforms>(tx, r, known).await?,
        AnyRecord::ServiceFunction(r) => apply::<ServiceFunctions>(tx, r, known).await?,
        AnyRecord::PlatformFunction(r) => apply::<PlatformFunctions>(tx, r, known).await?,
        AnyRecord::Indicator(r) => apply::<Indicators>(tx, r, known).await?,
        AnyRecord::PolicyDocument(r) => apply::<PolicyDocuments>(tx, r, known).await?,
        AnyRecord::Observation(r) => apply::<Observations>(tx, r, known).await?,
        AnyRecord::IndicatorValue(r) => apply::<IndicatorValues>(tx, r, known).await?,
        AnyRecord::ReportedAggregate(r) => apply::<ReportedAggregates>(tx, r, known).await?,
    };
    if result.is_ok() {
        if let Some(target) = own_target(record) {
            known.insert(target);
        }
    }
    Ok(result)
}

/// The references of any record.
pub fn references_of(record: &AnyRecord) -> Vec<Reference> {
    match record {
        AnyRecord::Region(r) => Regions::references(r),
        AnyRecord::Population(r) => Populations::references(r),
        AnyRecord::Channel(r) => Channels::references(r),
        AnyRecord::Platform(r) => Platforms::references(r),
        AnyRecord::ServiceFunction(r) => ServiceFunctions::references(r),
        AnyRecord::PlatformFunction(r) => PlatformFunctions::references(r),
        AnyRecord::Indicator(r) => Indicators::references(r),
        AnyRecord::PolicyDocument(r) => PolicyDocuments::references(r),
        AnyRecord::Observation(r) => Observations::references(r),
        AnyRecord::IndicatorValue(r) => IndicatorValues::references(r),
        AnyRecord::ReportedAggregate(r) => ReportedAggregates::references(r),
    }
}

async fn stored<K: StoredKind>(
    tx: &DatabaseTransaction,
    r: &K::Record,
) -> ServiceResult<Option<AnyRecord>> {
    Ok(find::<K, _>(tx, K::natural_key(r))
        .await
        .map_err(db_error)?
        .map(|m| K::wrap(K::to_record(m))))
}

/// The stored record with the same natural key, if any (what an import overwrites).
async fn stored_of(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
) -> ServiceResult<Option<AnyRecord>> {
    match record {
        AnyRecord::Region(r) => stored::<Regions>(tx, r).await,
        AnyRecord::Population(r) => stored::<Populations>(tx, r).await,
        AnyRecord::Channel(r) => stored::<Channels>(tx, r).await,
        AnyRecord::Platform(r) => stored::<Platforms>(tx, r).await,
        AnyRecord::ServiceFunction(r) => stored::<ServiceFunctions>(tx, r).await,
        AnyRecord::PlatformFunction(r) => stored::<PlatformFunctions>(tx, r).await,
        AnyRecord::Indicator(r) => stored::<Indicators>(tx, r).await,
        AnyRecord::PolicyDocument(r) => stored::<PolicyDocuments>(tx, r).await,
        AnyRecord::Observation(r) => stored::<Observations>(tx, r).await,
        AnyRecord::IndicatorValue(r) => stored::<IndicatorValues>(tx, r).await,
        AnyRecord::ReportedAggregate(r) => stored::<ReportedAggregates>(tx, r).await,
    }
}

/// Checks the caller may write `record` where it is now (if stored) and, after the
/// write, where it will be.
async fn authorize_item(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
    after_write: bool,
) -> ServiceResult<()> {
    let what = format!("{}s", record.kind().as_str().replace('_', " "));
    if after_write {
        return authorize(tx, &anchors(record), &what).await;
    }
    // Skipped for admins and unscoped editors, who may write anywhere: a 1M-row import
    // should not pay a lookup per row for nothing.
    if current_actor()?.principal.scope.is_none() {
        return Ok(());
    }
    match stored_of(tx, record).await? {
        Some(before) => authorize(tx, &anchors(&before), &what).await,
        None => Ok(()),
    }
}

fn own_target(record: &AnyRecord) -> Option<(RefTarget, String)> {
    match record {
        AnyRecord::Region(r) => Some((RefTarget::Region, r.code.clone())),
        AnyRecord::Platform(r) => Some((RefTarget::Platform, r.code.clone())),
        AnyRecord::Channel(r) => Some((RefTarget::Channel, r.code.clone())),
        AnyRecord::ServiceFunction(r) => Some((RefTarget::ServiceFunction, r.code.clone())),
        AnyRecord::Indicator(r) => Some((RefTarget::Indicator, r.code.clone())),
        _ => None,
    }
}

/// Result of one committed batch.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    pub counts: BTreeMap<ResourceKind, Counts>,
    pub revision: i64,
}

impl Store {
    /// Validates and writes one batch atomically. Nothing is written unless every
    /// record is valid; the error lists every violation with its record and field.
    pub async fn import_batch(&self, items: Vec<BatchItem>) -> ServiceResult<BatchResult> {
        let total = items.len();
        let items = prepare_batch(items).map_err(|v| invalid_batch(total, v))?;
        let tx = self.connection().begin().await.map_err(db_error)?;
        let mut known = HashSet::new();
        let mut counts: BTreeMap<ResourceKind, Counts> = BTreeMap::new();
        let mut violations = Vec::new();
        for item in &items {
            let kind = item.record.kind();
            let at = |e: ServiceError| annotate_denial(e, item.index, kind);
            authorize_item(&tx, &item.record, false).await.map_err(at)?;
            match apply_any(&tx, &item.record, &mut known).await? {
                Ok(outcome) => {
                    authorize_item(&tx, &item.record, true).await.map_err(at)?;
                    counts.entry(kind).or_default().add(outcome)
                }
                Err(vs) => violations.extend(vs.into_iter().map(|v| {
                    record_violation(
                        item.index,
                        &item.origin,
                        Some(kind),
                        &v.field,
                        &v.description,
                    )
                })),
            }
        }
        if !violations.is_empty() {
            tx.rollback().await.map_err(db_error)?;
            return Err(invalid_batch(total, violations));
        }
        let changed = counts.values().any(|c| c.created + c.updated > 0);
        let revision = if changed {
            let revision = bump_revision(&tx).await.map_err(db_error)?;
            let summary: Vec<String> = counts
                .iter()
                .map(|(kind, c)| {
                    format!(
                        "{}: {} created, {} updated, {} unchanged",
                        kind.as_str(),
                        c.created,
                        c.updated,
                        c.unchanged
                    )
                })
                .collect();
            let audit = Audit {
                action: "import",
                resource: "records",
                key: format!("{total} records; {}", summary.join("; ")),
                request_id: None,
            };
            crate::access::record(&tx, audit, revision).await?;
            revision
        } else {
            super::current_revision(&tx).await.map_err(db_error)?
        };
        tx.commit().await.map_err(db_error)?;
        Ok(BatchResult { counts, revision })
    }

    /// Every record, read in one transaction, in an order import accepts back.
    pub async fn export_all(&self) -> ServiceResult<(Vec<AnyRecord>, i64)> {
        let tx = self.snapshot().await?;
        let revision = super::current_revision(&tx).await.map_err(db_error)?;
        let mut out = Vec::new();
        // Parents before children: a parent's path is a prefix of its children's.
        for m in region::Entity::find()
            .order_by_asc(region::Column::Path)
            .all(&tx)
            .await
            .map_err(db_error)?
        {
            out.push(AnyRecord::Region(Regions::to_record(m)));
        }
        collect::<Populations>(&tx, &mut out).await?;
        collect::<Channels>(&tx, &mut out).await?;
        collect::<Platforms>(&tx, &mut out).await?;
        collect::<ServiceFunctions>(&tx, &mut out).await?;
        collect::<PlatformFunctions>(&tx, &mut out).await?;
        collect::<Indicators>(&tx, &mut out).await?;
        collect::<PolicyDocuments>(&tx, &mut out).await?;
        collect::<Observations>(&tx, &mut out).await?;
        collect::<IndicatorValues>(&tx, &mut out).await?;
        collect::<ReportedAggregates>(&tx, &mut out).await?;
        tx.commit().await.map_err(db_error)?;
        Ok((out, revision))
    }

    /// A read-only transaction that sees one consistent state (REPEATABLE READ on
    /// PostgreSQL; SQLite transactions are snapshots already).
    pub async fn snapshot(&self) -> ServiceResult<DatabaseTransaction> {
        let c = self.connection();
        let tx = if c.get_database_backend() == sea_orm::DbBackend::Postgres {
            c.begin_with_config(
                Some(sea_orm::IsolationLevel::RepeatableRead),
                Some(sea_orm::AccessMode::ReadOnly),
            )
            .await
        } else {
            c.begin().await
        };
        tx.map_err(db_error)
    }
}

async fn collect<K: StoredKind>(
    tx: &DatabaseTransaction,
    out: &mut Vec<AnyRecord>,
) -> ServiceResult<()> {
    const PAGE: u64 = 5000;
    let mut after = 0;
    loop {
        let rows = super::page::<K, _>(tx, sea_orm::Condition::all(), after, PAGE)
            .await
            .map_err(db_error)?;
        let Some(last) = rows.last() else { break };
        after = K::id(last);
        let full = rows.len() as u64 == PAGE;
        out.extend(rows.into_iter().map(|m| K::wrap(K::to_record(m))));
        if !full {
            break;
        }
    }
    Ok(())
}

/// A denial names the record it is about.
fn annotate_denial(e: ServiceError, index: usize, kind: ResourceKind) -> ServiceError {
    match e {
        ServiceError::PermissionDenied(message) => ServiceError::PermissionDenied(format!(
            "records[{index}] ({}): {message}",
            kind.as_str()
        )),
        other => other,
    }
}

fn invalid_batch(total: usize, violations: Vec<FieldViolation>) -> ServiceError {
    let first = violations
        .first()
        .map(|v| format!("{}: {}", v.field, v.description))
        .unwrap_or_default();
    ServiceError::invalid(
        format!(
            "the batch of {total} records was not imported: {} problem(s), first {first}",
            violations.len()
        ),
        violations,
    )
}
