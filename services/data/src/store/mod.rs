//! Persistence of the data service over sea-orm, the same on PostgreSQL and SQLite.
//! Every write runs in one transaction that also advances the data revision.

pub mod import;
pub mod kinds;
pub mod query;
pub mod regions;
pub mod write;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use govlens_kit::lease::LeaseHub;
use govlens_kit::sole_writer::SoleWriter;

use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RuntimeErr, Set, SqlErr,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::entities::*;
use kinds::*;

/// The data service's database.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Revision leases of the services reading this one, once started.
    leases: Arc<OnceLock<Arc<LeaseHub>>>,
}

/// Turns a database error into a service error: constraint races become their status,
/// everything else is internal (logged, never shown).
pub fn db_error(err: DbErr) -> ServiceError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            ServiceError::already_exists("record", "a record with the same key")
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            ServiceError::precondition("the record is referenced by other records")
        }
        _ if database_unreachable(&err) => {
            tracing::warn!(error = %err, "database unavailable");
            ServiceError::Unavailable("the database is unavailable; retry later".into())
        }
        _ => ServiceError::internal(err),
    }
}

/// Whether an error means the database went away (not that the statement was wrong):
/// no connection, a connection cut (I/O, protocol), the pool closed, or the server
/// shutting down or refusing connections (SQLSTATE classes 08 and 57P01-57P03).
fn database_unreachable(err: &DbErr) -> bool {
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        sea_orm::sqlx::Error::Io(_)
        | sea_orm::sqlx::Error::Protocol(_)
        | sea_orm::sqlx::Error::PoolTimedOut
        | sea_orm::sqlx::Error::PoolClosed
        | sea_orm::sqlx::Error::WorkerCrashed => true,
        sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl Store {
    /// Connects to `url` (postgres://... or sqlite://...). SQLite gets one connection:
    /// the embedded mode serves one analyst, and SQLite has one writer anyway.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(2))
            // While the database is down, calls answer UNAVAILABLE within ~3 s
            // rather than waiting out a long pool timeout.
            .acquire_timeout(Duration::from_secs(3));
        if url.starts_with("sqlite") {
            opts.max_connections(1).min_connections(1);
        } else {
            opts.max_connections(16).min_connections(1);
        }
        let mut db = Database::connect(opts).await?;
        govlens_kit::telemetry::db::instrument(&mut db, "data");
        if db.get_database_backend() == DbBackend::Sqlite && !url.contains(":memory:") {
            // Switching a new file to WAL needs it to itself for a moment: another
            // process opening it at the same time makes the switch retry.
            govlens_kit::process::retry_startup("enabling SQLite WAL", 20, || async {
                db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
                Ok(())
            })
            .await?;
        }
        Ok(Store {
            db,
            leases: Arc::default(),
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        govlens_kit::process::retry_startup("data migrations", 20, || async {
            crate::migration::Migrator::up(&self.db, None).await?;
            Ok(())
        })
        .await
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    /// The current data revision.
    pub async fn revision(&self) -> ServiceResult<i64> {
        current_revision(&self.db).await.map_err(db_error)
    }

    /// The database's identity and its current revision: together they name one state
    /// of the data, even when several databases share a cache.
    pub async fn versioned_state(&self) -> ServiceResult<(String, i64)> {
        let row = data_revision::Entity::find_by_id(1i64)
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(row.map(|r| (r.instance, r.revision)).unwrap_or_default())
    }

    /// Registers as a writer of this database (on PostgreSQL: waits one
    /// [`govlens_kit::sole_writer::WINDOW`]) and starts serving revision watchers (see
    /// [`govlens_kit::lease`]). Not `granting`, or on SQLite, readers ask for the
    /// revision per call.
    pub async fn start_leases(&self, granting: bool) -> anyhow::Result<Arc<LeaseHub>> {
        let writer = SoleWriter::register(&self.db, "govlens-data", granting).await?;
        let (instance, revision) = self.versioned_state().await?;
        // The connection, not the store: the store holds the hub.
        let db = self.db.clone();
        let read = move || {
            let db = db.clone();
            Box::pin(async move {
                let row = data_revision::Entity::find_by_id(1i64)
                    .one(&db)
                    .await
                    .ok()?;
                row.map(|r| (r.instance, r.revision))
            }) as _
        };
        let hub = LeaseHub::new(instance, revision, writer, Box::new(read));
        Ok(self.leases.get_or_init(|| hub).clone())
    }

    /// The lease hub, once started.
    pub fn leases(&self) -> Option<&Arc<LeaseHub>> {
        self.leases.get()
    }

    /// Returns once the readers holding revision leases know of `revision`.
    pub async fn published(&self, revision: i64) {
        if let Some(hub) = self.leases.get() {
            hub.published(revision).await;
        }
    }

    pub async fn begin(&self) -> ServiceResult<DatabaseTransaction> {
        self.db.begin().await.map_err(db_error)
    }
}

pub async fn current_revision<C: ConnectionTrait>(c: &C) -> Result<i64, DbErr> {
    Ok(data_revision::Entity::find_by_id(1i64)
        .one(c)
        .await?
        .map(|m| m.revision)
        .unwrap_or(0))
}

/// Advances the revision inside the write's transaction; the row lock also orders
/// concurrent writers, so revisions follow commit order.
pub async fn bump_revision(tx: &DatabaseTransaction) -> Result<i64, DbErr> {
    data_revision::Entity::update_many()
        .col_expr(
            data_revision::Column::Revision,
            Expr::col(data_revision::Column::Revision).add(1),
        )
        .filter(data_revision::Column::Id.eq(1))
        .exec(tx)
        .await?;
    current_revision(tx).await
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

pub async fn find<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    cond: Condition,
) -> Result<Option<K::Model>, DbErr> {
    K::Entity::find().filter(cond).one(c).await
}

pub async fn find_by_id<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<K::Model>, DbErr> {
    find::<K, C>(c, Condition::all().add(K::id_column().eq(id))).await
}

pub async fn find_by_code<K: CodedKind, C: ConnectionTrait>(
    c: &C,
    code: &str,
) -> Result<Option<K::Model>, DbErr> {
    find::<K, C>(c, Condition::all().add(K::code_column().eq(code))).await
}

pub async fn count<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    cond: Condition,
) -> Result<u64, DbErr> {
    K::Entity::find().filter(cond).count(c).await
}

/// One page in id order after `after_id`.
pub async fn page<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    cond: Condition,
    after_id: i64,
    limit: u64,
) -> Result<Vec<K::Model>, DbErr> {
    K::Entity::find()
        .filter(cond.add(K::id_column().gt(after_id)))
        .order_by_asc(K::id_column())
        .limit(limit)
        .all(c)
        .await
}

/// Inserts the record, or updates the row with its natural key if it differs.
/// `extra` sets stored fields the record does not carry (a region's path).
pub async fn upsert<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    r: &K::Record,
    extra: impl FnOnce(&mut K::Active),
) -> Result<(Outcome, K::Model), DbErr> {
    match find::<K, C>(c, K::natural_key(r)).await? {
        Some(existing) if K::to_record(existing.clone()) == *r => {
            Ok((Outcome::Unchanged, existing))
        }
        Some(existing) => {
            let mut active = existing.into_active_model();
            K::fill(r, &mut active);
            extra(&mut active);
            Ok((Outcome::Updated, active.update(c).await?))
        }
        None => {
            let mut active = <K::Active as Default>::default();
            K::fill(r, &mut active);
            extra(&mut active);
            Ok((Outcome::Created, active.insert(c).await?))
        }
    }
}

/// Replaces the row `id` with the record (its natural key may change).
pub async fn replace<K: StoredKind, C: ConnectionTrait>(
    c: &C,
    existing: K::Model,
    r: &K::Record,
    extra: impl FnOnce(&mut K::Active),
) -> Result<K::Model, DbErr> {
    let mut active = existing.into_active_model();
    K::fill(r, &mut active);
    extra(&mut active);
    active.update(c).await
}

pub async fn delete_by_id<K: StoredKind, C: ConnectionTrait>(c: &C, id: i64) -> Result<u64, DbErr> {
    Ok(K::Entity::delete_many()
        .filter(K::id_column().eq(id))
        .exec(c)
        .await?
        .rows_affected)
}

/// The row with this code, locked as `lock` says (SQLite ignores row locks: its single
/// writer serialises transactions anyway).
async fn locked_by_code<K: CodedKind, C: ConnectionTrait>(
    c: &C,
    code: &str,
    lock: sea_orm::sea_query::LockType,
) -> Result<Option<K::Model>, DbErr> {
    K::Entity::find()
        .filter(K::code_column().eq(code))
        .lock(lock)
        .one(c)
        .await
}

/// Locks the row a code names, if it exists.
async fn lock_code<C: ConnectionTrait>(
    c: &C,
    target: RefTarget,
    code: &str,
    lock: sea_orm::sea_query::LockType,
) -> Result<bool, DbErr> {
    Ok(match target {
        RefTarget::Region => locked_by_code::<Regions, C>(c, code, lock).await?.is_some(),
        RefTarget::Platform => locked_by_code::<Platforms, C>(c, code, lock)
            .await?
            .is_some(),
        RefTarget::Channel => locked_by_code::<Channels, C>(c, code, lock)
            .await?
            .is_some(),
        RefTarget::ServiceFunction => locked_by_code::<ServiceFunctions, C>(c, code, lock)
            .await?
            .is_some(),
        RefTarget::Indicator => locked_by_code::<Indicators, C>(c, code, lock)
            .await?
            .is_some(),
    })
}

/// Whether a record with this code exists. The row is share-locked until the writing
/// transaction ends, so a concurrent delete (which locks it for update before counting
/// what refers to it) cannot leave the new reference dangling.
pub async fn reference_exists<C: ConnectionTrait>(
    c: &C,
    target: RefTarget,
    code: &str,
) -> Result<bool, DbErr> {
    lock_code(c, target, code, sea_orm::sea_query::LockType::Share).await
}

/// Records that refer to `code` and so prevent deleting it, as (kind, count).
pub async fn dependents<C: ConnectionTrait>(
    c: &C,
    target: RefTarget,
    code: &str,
) -> Result<Vec<(&'static str, u64)>, DbErr> {
    let subject = |kind: &str| {
        (
            Condition::all()
                .add(indicator_value::Column::SubjectKind.eq(kind))
                .add(indicator_value::Column::SubjectCode.eq(code)),
            Condition::all()
                .add(reported_aggregate::Column::SubjectKind.eq(kind))
                .add(reported_aggregate::Column::SubjectCode.eq(code)),
        )
    };
    let counts = match target {
        RefTarget::Region => {
            let (values, aggregates) = subject("region");
            vec![
                (
                    "child regions",
                    count::<Regions, C>(
                        c,
                        Condition::all().add(region::Column::ParentCode.eq(code)),
                    )
                    .await?,
                ),
                (
                    "platforms",
                    count::<Platforms, C>(
                        c,
                        Condition::all().add(platform::Column::RegionCode.eq(code)),
                    )
                    .await?,
                ),
                (
                    "policy documents",
                    count::<PolicyDocuments, C>(
                        c,
                        Condition::all().add(policy_document::Column::RegionCode.eq(code)),
                    )
                    .await?,
                ),
                (
                    "indicator values",
                    count::<IndicatorValues, C>(c, values).await?,
                ),
                (
                    "reported aggregates",
                    count::<ReportedAggregates, C>(c, aggregates).await?,
                ),
            ]
        }
        RefTarget::Platform => {
            let (values, aggregates) = subject("platform");
            vec![
                (
                    "observations",
                    count::<Observations, C>(
                        c,
                        Condition::all().add(observation::Column::PlatformCode.eq(code)),
                    )
                    .await?,
                ),
                (
                    "platform functions",
                    count::<PlatformFunctions, C>(
                        c,
                        Condition::all().add(platform_function::Column::PlatformCode.eq(code)),
                    )
                    .await?,
                ),
                (
                    "indicator values",
                    count::<IndicatorValues, C>(c, values).await?,
                ),
                (
                    "reported aggregates",
                    count::<ReportedAggregates, C>(c, aggregates).await?,
                ),
            ]
        }
        RefTarget::Channel => vec![(
            "observations",
            count::<Observations, C>(
                c,
                Condition::all().add(observation::Column::ChannelCode.eq(code)),
            )
            .await?,
        )],
        RefTarget::ServiceFunction => vec![(
            "platform functions",
            count::<PlatformFunctions, C>(
                c,
                Condition::all().add(platform_function::Column::FunctionCode.eq(code)),
            )
            .await?,
        )],
        RefTarget::Indicator => vec![(
            "indicator values",
            count::<IndicatorValues, C>(
                c,
                Condition::all().add(indicator_value::Column::IndicatorCode.eq(code)),
            )
            .await?,
        )],
    };
    Ok(counts.into_iter().filter(|(_, n)| *n > 0).collect())
}

/// FAILED_PRECONDITION naming what still refers to the record, if anything does.
pub async fn ensure_unreferenced<C: ConnectionTrait>(
    c: &C,
    target: RefTarget,
    code: &str,
) -> ServiceResult<()> {
    // Lock the record for update first, so references written concurrently either
    // commit before the count (and are counted) or wait and then find it gone.
    lock_code(c, target, code, sea_orm::sea_query::LockType::Update)
        .await
        .map_err(db_error)?;
    let blocking = dependents(c, target, code).await.map_err(db_error)?;
    if blocking.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = blocking.iter().map(|(k, n)| format!("{n} {k}")).collect();
    Err(ServiceError::precondition(format!(
        "{} {code:?} is still referenced by {}; delete or move those first",
        target.noun(),
        list.join(", ")
    )))
}

/// The stored path of a region: "/" + codes from the root down + "/".
pub async fn region_path<C: ConnectionTrait>(
    c: &C,
    r: &govlens_dataset::RegionRecord,
) -> ServiceResult<String> {
    if r.parent_code.is_empty() {
        return Ok(format!("/{}/", r.code));
    }
    let parent = find_by_code::<Regions, C>(c, &r.parent_code)
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            ServiceError::invalid_field(
                "parent_code",
                format!("region {:?} does not exist", r.parent_code),
            )
        })?;
    // The parent lies inside this region's subtree when its path passes through it.
    if parent.path.contains(&format!("/{}/", r.code)) {
        return Err(ServiceError::invalid_field(
            "parent_code",
            format!(
                "{:?} lies inside {:?}: the hierarchy would have a cycle",
                r.parent_code, r.code
            ),
        ));
    }
    let path = format!("{}{}/", parent.path, r.code);
    check_depth(&path)?;
    Ok(path)
}

/// INVALID_ARGUMENT on `parent_code` when a region at `path` would be too deep.
fn check_depth(path: &str) -> ServiceResult<()> {
    use govlens_dataset::validate::{path_depth, MAX_REGION_DEPTH};
    if path_depth(path) > MAX_REGION_DEPTH {
        return Err(ServiceError::invalid_field(
            "parent_code",
            format!("the region hierarchy would be deeper than {MAX_REGION_DEPTH} levels"),
        ));
    }
    Ok(())
}

/// Upserts a region, moving its whole subtree when its parent changes.
pub async fn upsert_region<C: ConnectionTrait>(
    c: &C,
    r: &govlens_dataset::RegionRecord,
) -> ServiceResult<(Outcome, region::Model)> {
    let path = region_path(c, r).await?;
    let old = find_by_code::<Regions, C>(c, &r.code)
        .await
        .map_err(db_error)?;
    let new_path = path.clone();
    let (outcome, model) = upsert::<Regions, C>(c, r, move |a| a.path = Set(new_path))
        .await
        .map_err(db_error)?;
    if let Some(old) = old.filter(|o| o.path != path) {
        move_subtree(c, &old.path, &path).await?;
    }
    Ok((outcome, model))
}

async fn move_subtree<C: ConnectionTrait>(
    c: &C,
    old_prefix: &str,
    new_prefix: &str,
) -> ServiceResult<()> {
    let descendants = region::Entity::find()
        .filter(starts_with(region::Column::Path, old_prefix))
        .filter(region::Column::Path.ne(old_prefix))
        .all(c)
        .await
        .map_err(db_error)?;
    let moved: Vec<String> = descendants
        .iter()
        .map(|d| format!("{new_prefix}{}", &d.path[old_prefix.len()..]))
        .collect();
    for path in &moved {
        check_depth(path)?;
    }
    for (d, path) in descendants.into_iter().zip(moved) {
        let mut active = d.into_active_model();
        active.path = Set(path);
        active.update(c).await.map_err(db_error)?;
    }
    Ok(())
}

/// Checks that every reference of a record resolves; violations name the field.
pub async fn check_references<C: ConnectionTrait>(
    c: &C,
    refs: &[Reference],
    known: &mut std::collections::HashSet<(RefTarget, String)>,
) -> Result<Vec<FieldViolation>, DbErr> {
    let mut violations = Vec::new();
    for r in refs {
        let key = (r.target, r.code.clone());
        if known.contains(&key) {
            continue;
        }
        if reference_exists(c, r.target, &r.code).await? {
            known.insert(key);
        } else {
            violations.push(FieldViolation::new(
                r.field,
                format!("{} {:?} does not exist", r.target.noun(), r.code),
            ));
        }
    }
    Ok(violations)
}
