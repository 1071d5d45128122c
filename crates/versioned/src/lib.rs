//! Immutable, versioned documents: scoring models and rulebooks. Each kind of document
//! is its own namespace in one table; each service records its migration in its own
//! migration table, and the table is created only if absent, so services sharing a
//! database never break each other.

use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend, QueryOrder, QuerySelect, Schema, Set,
    TransactionTrait,
};
use sea_orm_migration::prelude::{
    DynIden, IntoIden, MigrationName, MigrationTrait, MigratorTrait, SchemaManager,
};
use sha2::{Digest, Sha256};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use govlens_kit::lease::{LeaseHub, ReadRevision};
use govlens_kit::sole_writer::SoleWriter;
use tokio::time::Instant;

use govlens_kit::coalesce::Coalesced;
use govlens_kit::{ServiceError, ServiceResult};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub mod document_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "versioned_documents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// "model", "rulebook", ...
        #[sea_orm(unique_key = "version")]
        pub kind: String,
        #[sea_orm(unique_key = "version")]
        pub document_id: String,
        #[sea_orm(unique_key = "version")]
        pub version: i32,
        pub name: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
        pub format: String,
        #[sea_orm(column_type = "Text")]
        pub source: String,
        #[sea_orm(indexed)]
        pub digest: String,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One stored version.
pub use document_version::Model as StoredDocument;

struct CreateDocuments;

impl MigrationName for CreateDocuments {
    fn name(&self) -> &str {
        "m20261130_000001_versioned_documents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDocuments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        let mut table = schema.create_table_from_entity(document_version::Entity);
        manager
            .create_table(table.if_not_exists().to_owned())
            .await?;
        for mut index in schema.create_index_from_entity(document_version::Entity) {
            manager
                .create_index(index.if_not_exists().to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Shared with other services: never dropped by one of them.
        Ok(())
    }
}

fn db_error(err: DbErr) -> ServiceError {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            ServiceError::Unavailable("the document store is unavailable; retry later".into())
        }
        other => ServiceError::internal(other),
    }
}

/// Checks a document id: 1-64 ASCII letters, digits, '.', '_' or '-'.
pub fn check_document_id(field: &str, id: &str) -> ServiceResult<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ServiceError::invalid_field(
            field,
            "must be 1-64 ASCII letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(())
}

/// Checks a document's size.
pub fn check_source_size(source: &str, max_bytes: usize) -> ServiceResult<()> {
    if source.len() > max_bytes {
        return Err(ServiceError::invalid_field(
            "source",
            format!("must be at most {max_bytes} bytes"),
        ));
    }
    Ok(())
}

/// A document to store.
pub struct NewDocument<'a> {
    pub document_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub format: &'a str,
    pub source: &'a str,
}

/// Versions of one kind of document.
#[derive(Clone)]
pub struct VersionedStore {
    db: DatabaseConnection,
    kind: &'static str,
    noun: &'static str,
    migration_table: &'static str,
    /// Versions read before (they never change), by id and version.
    pinned: Arc<Mutex<Pinned>>,
    /// Concurrent "latest version" reads share one query.
    latest: Arc<Coalesced<String, Arc<StoredDocument>>>,
    /// Latest versions, trusted while this process is the only writer.
    remembered: Arc<Mutex<Remembered>>,
    /// Whether to trust being the only writer at all.
    leases: bool,
    /// This process's registration as a writer, held while the store lives.
    registration: Arc<std::sync::OnceLock<Arc<SoleWriter>>>,
    /// Leases of this kind's revision to readers in other services, once started.
    hub: Arc<std::sync::OnceLock<Arc<LeaseHub>>>,
}

/// Latest versions as this process last read or wrote them. While it is the only
/// process writing the table (see [`SoleWriter`]), nobody else can change them, so
/// they are the truth until `until`; once trust lapses they are forgotten.
#[derive(Default)]
struct Remembered {
    until: Option<Instant>,
    /// Moves on every forgetting and every write, so that a read that started before
    /// one does not store what it found.
    epoch: u64,
    latest: HashMap<String, Arc<StoredDocument>>,
}

impl Remembered {
    fn trusted(&self) -> bool {
        self.until.is_some_and(|u| Instant::now() < u)
    }

    fn forget(&mut self) {
        self.latest.clear();
        self.epoch += 1;
    }
}

/// Renews trust in what `remembered` holds every third of a window, while the store
/// is in use.
async fn keep_checking(writer: Arc<SoleWriter>, remembered: Weak<Mutex<Remembered>>) {
    loop {
        let alone = writer.alone_until().await;
        let Some(remembered) = remembered.upgrade() else {
            return;
        };
        {
            let mut r = lock(&remembered);
            match alone {
                Some(until) => {
                    if !r.trusted() {
                        // Another writer may have come and gone since trust lapsed.
                        r.forget();
                    }
                    r.until = Some(until);
                }
                None => {
                    r.until = None;
                    r.forget();
                }
            }
        }
        drop(remembered);
        tokio::time::sleep(writer.window() / 3).await;
    }
}

/// Versions by id and version number.
type Pinned = HashMap<(String, i32), Arc<StoredDocument>>;

/// Versions kept in memory before the map is emptied.
const PINNED_MAX: usize = 256;

macro_rules! migrator_for {
    ($name:ident, $table:literal) => {
        struct $name;
        #[async_trait::async_trait]
        impl MigratorTrait for $name {
            fn migrations() -> Vec<Box<dyn MigrationTrait>> {
                vec![Box::new(CreateDocuments)]
            }
            fn migration_table_name() -> DynIden {
                $table.into_iden()
            }
        }
    };
}

migrator_for!(ScoringMigrator, "govlens_scoring_migrations");
migrator_for!(RecommendationMigrator, "govlens_recommendation_migrations");

impl VersionedStore {
    /// Connects; `kind` namespaces the documents ("model", "rulebook"), `noun` names
    /// them in errors, and `migration_table` is the owning service's migration table
    /// (`govlens_scoring_migrations` or `govlens_recommendation_migrations`).
    pub async fn connect(
        url: &str,
        kind: &'static str,
        noun: &'static str,
        migration_table: &'static str,
    ) -> anyhow::Result<Self> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(std::time::Duration::from_secs(5));
        if url.starts_with("sqlite") {
            opts.max_connections(1).min_connections(1);
        } else {
            opts.max_connections(8).min_connections(1);
        }
        let mut db = Database::connect(opts).await?;
        govlens_kit::telemetry::db::instrument(&mut db, kind);
        if db.get_database_backend() == DbBackend::Sqlite && !url.contains(":memory:") {
            // Switching a new file to WAL needs it to itself for a moment: another
            // process opening it at the same time makes the switch retry.
            govlens_kit::process::retry_startup("enabling SQLite WAL", 20, || async {
                db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
                Ok(())
            })
            .await?;
        }
        Ok(VersionedStore {
            db,
            kind,
            noun,
            migration_table,
            pinned: Arc::default(),
            latest: Arc::default(),
            remembered: Arc::default(),
            leases: true,
            registration: Arc::default(),
            hub: Arc::default(),
        })
    }

    /// Applies pending migrations, then registers this process as a writer of the
    /// documents (PostgreSQL: waits one window once, see [`SoleWriter`]), so that
    /// latest versions are kept in memory while it writes alone.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.apply_migrations().await?;
        let name = format!("govlens-documents:{}", self.kind);
        if let Some(writer) = SoleWriter::register(&self.db, &name, self.leases).await? {
            if writer.trusting() {
                tokio::spawn(keep_checking(
                    writer.clone(),
                    Arc::downgrade(&self.remembered),
                ));
            }
            let _ = self.registration.set(writer);
        }
        Ok(())
    }

    /// Starts leasing this kind's revision (the id of its newest version, so it moves
    /// with every new version) to readers in other services: after [`migrate`], and
    /// before serving. A new version is acknowledged to its writer only once every
    /// leased reader knows the new revision (see [`LeaseHub`]). Without a trusted
    /// registration as the only writer (SQLite, several replicas, leases off), the hub
    /// grants no lease and readers ask per call.
    ///
    /// [`migrate`]: Self::migrate
    pub async fn start_lease_hub(&self) -> anyhow::Result<Arc<LeaseHub>> {
        if let Some(hub) = self.hub.get() {
            return Ok(hub.clone());
        }
        // Revisions are counted per process start: a reader that sees another
        // instance starts over.
        let instance = format!(
            "{}-{}-{:x}",
            self.kind,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let revision = self.revision().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = self.clone();
        let again = instance.clone();
        let read_revision: ReadRevision = Box::new(move || {
            let (store, instance) = (store.clone(), again.clone());
            Box::pin(async move { store.revision().await.ok().map(|r| (instance, r)) })
        });
        let hub = LeaseHub::new(
            instance,
            revision,
            self.registration.get().cloned(),
            read_revision,
        );
        Ok(self.hub.get_or_init(|| hub).clone())
    }

    /// The lease hub, once started.
    pub fn lease_hub(&self) -> Option<Arc<LeaseHub>> {
        self.hub.get().cloned()
    }

    /// The id of the newest version of this kind (0 when there is none).
    async fn revision(&self) -> ServiceResult<i64> {
        let newest: Option<Option<i64>> = self
            .of_kind()
            .select_only()
            .column_as(document_version::Column::Id.max(), "newest")
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(newest.flatten().unwrap_or(0))
    }

    /// The same store, with the fast path that trusts being the only writer on
    /// (the default) or off ([`govlens_kit::sole_writer::ENV_LEASES`]).
    pub fn with_leases(mut self, leases: bool) -> Self {
        self.leases = leases;
        self
    }

    async fn apply_migrations(&self) -> anyhow::Result<()> {
        govlens_kit::process::retry_startup("document store migrations", 20, || async {
            match self.migration_table {
                "govlens_scoring_migrations" => ScoringMigrator::up(&self.db, None).await?,
                "govlens_recommendation_migrations" => {
                    RecommendationMigrator::up(&self.db, None).await?
                }
                other => anyhow::bail!("unknown migration table {other}"),
            }
            Ok(())
        })
        .await
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    fn of_kind(&self) -> sea_orm::Select<document_version::Entity> {
        document_version::Entity::find().filter(document_version::Column::Kind.eq(self.kind))
    }

    /// Stores a new version, or returns the existing version with the same content.
    /// Returns the version and whether it was created.
    pub async fn create(&self, new: NewDocument<'_>) -> ServiceResult<(StoredDocument, bool)> {
        let digest = hex::encode(Sha256::digest(new.source.as_bytes()));
        let tx = self.db.begin().await.map_err(db_error)?;
        let versions = self
            .of_kind()
            .filter(document_version::Column::DocumentId.eq(new.document_id))
            .order_by_desc(document_version::Column::Version)
            .all(&tx)
            .await
            .map_err(db_error)?;
        if let Some(same) = versions.iter().find(|v| v.digest == digest) {
            tx.commit().await.map_err(db_error)?;
            return Ok((same.clone(), false));
        }
        let version = versions.first().map(|v| v.version + 1).unwrap_or(1);
        let stored = document_version::ActiveModel {
            kind: Set(self.kind.to_string()),
            document_id: Set(new.document_id.to_string()),
            version: Set(version),
            name: Set(new.name.to_string()),
            description: Set(new.description.to_string()),
            format: Set(new.format.to_string()),
            source: Set(new.source.to_string()),
            digest: Set(digest.clone()),
            created_at: Set(chrono::Utc::now().to_rfc3339()),
            ..Default::default()
        }
        .insert(&tx)
        .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                // A concurrent create took this version number. If it stored the same
                // content, that is the answer; otherwise the caller may retry.
                drop(tx);
                let same = self
                    .of_kind()
                    .filter(document_version::Column::DocumentId.eq(new.document_id))
                    .filter(document_version::Column::Digest.eq(&digest))
                    .one(&self.db)
                    .await
                    .map_err(db_error)?;
                return match same {
                    Some(doc) => Ok((doc, false)),
                    None => Err(ServiceError::Unavailable(
                        "a concurrent create took this version; retry".into(),
                    )),
                };
            }
            Err(e) => return Err(db_error(e)),
        };
        tx.commit().await.map_err(db_error)?;
        {
            let mut r = lock(&self.remembered);
            r.epoch += 1;
            if r.trusted() {
                r.latest
                    .insert(stored.document_id.clone(), Arc::new(stored.clone()));
            } else {
                r.latest.remove(&stored.document_id);
            }
        }
        if let Some(hub) = self.hub.get() {
            hub.published(stored.id).await;
        }
        Ok((stored, true))
    }

    /// One version (the latest when `version` is 0).
    pub async fn get(&self, document_id: &str, version: i32) -> ServiceResult<StoredDocument> {
        Ok(self
            .get_shared(document_id, version)
            .await?
            .as_ref()
            .clone())
    }

    /// [`get`](Self::get) without copying the document: hot paths read the same
    /// versions over and over.
    pub async fn get_shared(
        &self,
        document_id: &str,
        version: i32,
    ) -> ServiceResult<Arc<StoredDocument>> {
        if version > 0 {
            let key = (document_id.to_string(), version);
            if let Some(d) = lock(&self.pinned).get(&key) {
                return Ok(d.clone());
            }
            let d = Arc::new(self.read(document_id, version).await?);
            self.pin(&d);
            return Ok(d);
        }
        // "Latest" changes with every create, possibly on another replica: it comes
        // from memory while this process writes alone, else it is read each time, with
        // concurrent callers sharing one read made after they arrived.
        let epoch = {
            let r = lock(&self.remembered);
            if r.trusted() {
                if let Some(d) = r.latest.get(document_id) {
                    return Ok(d.clone());
                }
            }
            r.epoch
        };
        let d = self
            .latest
            .get(&document_id.to_string(), || async {
                Ok(Arc::new(self.read(document_id, 0).await?))
            })
            .await?;
        self.pin(&d);
        let mut r = lock(&self.remembered);
        if r.epoch == epoch && r.trusted() {
            if r.latest.len() >= PINNED_MAX {
                r.latest.clear();
            }
            r.latest.insert(document_id.to_string(), d.clone());
        }
        Ok(d)
    }

    fn pin(&self, d: &Arc<StoredDocument>) {
        let mut pinned = lock(&self.pinned);
        if pinned.len() >= PINNED_MAX {
            pinned.clear();
        }
        pinned.insert((d.document_id.clone(), d.version), d.clone());
    }

    async fn read(&self, document_id: &str, version: i32) -> ServiceResult<StoredDocument> {
        let mut query = self
            .of_kind()
            .filter(document_version::Column::DocumentId.eq(document_id));
        if version > 0 {
            query = query.filter(document_version::Column::Version.eq(version));
        }
        query
            .order_by_desc(document_version::Column::Version)
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| {
                let name = if version > 0 {
                    format!("{document_id} v{version}")
                } else {
                    document_id.to_string()
                };
                ServiceError::not_found(self.noun, name)
            })
    }

    /// One page of the latest versions (page size 0 means 50, at most 500), and the
    /// token of the next page ("" on the last).
    pub async fn page(
        &self,
        page_size: i32,
        page_token: &str,
    ) -> ServiceResult<(Vec<StoredDocument>, String)> {
        if page_size < 0 {
            return Err(ServiceError::invalid_field(
                "page_size",
                "must not be negative",
            ));
        }
        let size = match page_size {
            0 => 50,
            n => n.min(500),
        } as u64;
        let mut documents = self.list_latest(page_token, size + 1).await?;
        let more = documents.len() as u64 > size;
        documents.truncate(size as usize);
        let next = if more {
            documents
                .last()
                .map(|d| d.document_id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((documents, next))
    }

    /// The latest version of each document, by id, after `after` (exclusive).
    pub async fn list_latest(&self, after: &str, limit: u64) -> ServiceResult<Vec<StoredDocument>> {
        let ids: Vec<String> = self
            .of_kind()
            .select_only()
            .column(document_version::Column::DocumentId)
            .distinct()
            .filter(document_version::Column::DocumentId.gt(after))
            .order_by_asc(document_version::Column::DocumentId)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_error)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get(&id, 0).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store(
        dir: &tempfile::TempDir,
        kind: &'static str,
        table: &'static str,
    ) -> VersionedStore {
        let url = format!("sqlite://{}/docs.db?mode=rwc", dir.path().display());
        let s = VersionedStore::connect(&url, kind, kind, table)
            .await
            .unwrap();
        s.migrate().await.unwrap();
        s
    }

    fn doc<'a>(id: &'a str, source: &'a str) -> NewDocument<'a> {
        NewDocument {
            document_id: id,
            name: id,
            description: "",
            format: "toml",
            source,
        }
    }

    #[tokio::test]
    async fn versions_are_immutable_and_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "model", "govlens_scoring_migrations").await;
        let (v1, created) = s.create(doc("toe", "a = 1")).await.unwrap();
        assert!(created);
        assert_eq!(v1.version, 1);
        let (again, created) = s.create(doc("toe", "a = 1")).await.unwrap();
        assert!(!created);
        assert_eq!(again.id, v1.id);
        let (v2, _) = s.create(doc("toe", "a = 2")).await.unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(s.get("toe", 0).await.unwrap().version, 2);
        assert_eq!(s.get("toe", 1).await.unwrap().source, "a = 1");
        assert!(matches!(
            s.get("toe", 3).await,
            Err(ServiceError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn kinds_and_services_share_one_database_without_clashing() {
        let dir = tempfile::tempdir().unwrap();
        let models = store(&dir, "model", "govlens_scoring_migrations").await;
        let rulebooks = store(&dir, "rulebook", "govlens_recommendation_migrations").await;
        models.create(doc("default", "m")).await.unwrap();
        rulebooks.create(doc("default", "r")).await.unwrap();
        assert_eq!(models.get("default", 0).await.unwrap().source, "m");
        assert_eq!(rulebooks.get("default", 0).await.unwrap().source, "r");
        assert_eq!(models.list_latest("", 10).await.unwrap().len(), 1);
    }
}
