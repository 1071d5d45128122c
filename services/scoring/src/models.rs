//! Model versions: immutable, stored in the scoring service's own tables (with their
//! own migration table, so the data service's migrations are never touched).

use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend, QueryOrder, QuerySelect, Schema, Set,
    TransactionTrait,
};
use sea_orm_migration::prelude::{
    DynIden, IntoIden, MigrationName, MigrationTrait, MigratorTrait, SchemaManager,
};
use sha2::{Digest, Sha256};

use govlens_kit::{ServiceError, ServiceResult};

pub mod model_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scoring_model_versions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique_key = "version")]
        pub model_id: String,
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

pub use model_version::Model as StoredModel;

struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(InitialSchema)]
    }

    fn migration_table_name() -> DynIden {
        "govlens_scoring_migrations".into_iden()
    }
}

struct InitialSchema;

impl MigrationName for InitialSchema {
    fn name(&self) -> &str {
        "m20261130_000001_model_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InitialSchema {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(model_version::Entity))
            .await?;
        for index in schema.create_index_from_entity(model_version::Entity) {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                sea_orm_migration::prelude::Table::drop()
                    .table(model_version::Entity)
                    .to_owned(),
            )
            .await
    }
}

fn db_error(err: DbErr) -> ServiceError {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            ServiceError::Unavailable("the model store is unavailable; retry later".into())
        }
        other => ServiceError::internal(other),
    }
}

/// Where model versions live.
#[derive(Clone)]
pub struct ModelStore {
    db: DatabaseConnection,
}

/// A model file to store.
pub struct NewModel<'a> {
    pub model_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub format: &'a str,
    pub source: &'a str,
}

impl ModelStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(std::time::Duration::from_secs(5));
        if url.starts_with("sqlite") {
            opts.max_connections(1).min_connections(1);
        } else {
            opts.max_connections(8).min_connections(1);
        }
        let db = Database::connect(opts).await?;
        if db.get_database_backend() == DbBackend::Sqlite && !url.contains(":memory:") {
            db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        }
        Ok(ModelStore { db })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    /// Stores a new version, or returns the existing version with the same content.
    /// Returns the version and whether it was created.
    pub async fn create(&self, new: NewModel<'_>) -> ServiceResult<(StoredModel, bool)> {
        let digest = hex::encode(Sha256::digest(new.source.as_bytes()));
        let tx = self.db.begin().await.map_err(db_error)?;
        let versions = model_version::Entity::find()
            .filter(model_version::Column::ModelId.eq(new.model_id))
            .order_by_desc(model_version::Column::Version)
            .all(&tx)
            .await
            .map_err(db_error)?;
        if let Some(same) = versions.iter().find(|v| v.digest == digest) {
            tx.commit().await.map_err(db_error)?;
            return Ok((same.clone(), false));
        }
        let version = versions.first().map(|v| v.version + 1).unwrap_or(1);
        let stored = model_version::ActiveModel {
            model_id: Set(new.model_id.to_string()),
            version: Set(version),
            name: Set(new.name.to_string()),
            description: Set(new.description.to_string()),
            format: Set(new.format.to_string()),
            source: Set(new.source.to_string()),
            digest: Set(digest),
            created_at: Set(chrono::Utc::now().to_rfc3339()),
            ..Default::default()
        }
        .insert(&tx)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                ServiceError::Unavailable("a concurrent create took this version; retry".into())
            }
            _ => db_error(e),
        })?;
        tx.commit().await.map_err(db_error)?;
        Ok((stored, true))
    }

    /// One version (the latest when `version` is 0).
    pub async fn get(&self, model_id: &str, version: i32) -> ServiceResult<StoredModel> {
        let mut query =
            model_version::Entity::find().filter(model_version::Column::ModelId.eq(model_id));
        if version > 0 {
            query = query.filter(model_version::Column::Version.eq(version));
        }
        query
            .order_by_desc(model_version::Column::Version)
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| {
                let name = if version > 0 {
                    format!("{model_id} v{version}")
                } else {
                    model_id.to_string()
                };
                ServiceError::not_found("model", name)
            })
    }

    /// The latest version of each model, by model id, after `after` (exclusive).
    pub async fn list_latest(&self, after: &str, limit: u64) -> ServiceResult<Vec<StoredModel>> {
        let ids: Vec<String> = model_version::Entity::find()
            .select_only()
            .column(model_version::Column::ModelId)
            .distinct()
            .filter(model_version::Column::ModelId.gt(after))
            .order_by_asc(model_version::Column::ModelId)
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
