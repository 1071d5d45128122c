//! Schema migrations of the data service, recorded in their own table so that other
//! services can share the database without touching them.

use sea_orm::{EntityTrait, Schema};
use sea_orm_migration::prelude::*;

use crate::entities::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(InitialSchema), Box::new(AccessAndAudit)]
    }

    fn migration_table_name() -> DynIden {
        "govlens_data_migrations".into_iden()
    }
}

struct InitialSchema;

impl MigrationName for InitialSchema {
    fn name(&self) -> &str {
        "m20261130_000001_initial_schema"
    }
}

async fn create<E: EntityTrait>(manager: &SchemaManager<'_>, entity: E) -> Result<(), DbErr> {
    let schema = Schema::new(manager.get_database_backend());
    manager
        .create_table(schema.create_table_from_entity(entity))
        .await?;
    for index in schema.create_index_from_entity(entity) {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// A random identity for a new database (time and process entropy, hashed).
fn new_instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

#[async_trait::async_trait]
impl MigrationTrait for InitialSchema {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, region::Entity).await?;
        create(manager, population::Entity).await?;
        create(manager, channel::Entity).await?;
        create(manager, platform::Entity).await?;
        create(manager, service_function::Entity).await?;
        create(manager, platform_function::Entity).await?;
        create(manager, indicator::Entity).await?;
        create(manager, policy_document::Entity).await?;
        create(manager, observation::Entity).await?;
        create(manager, indicator_value::Entity).await?;
        create(manager, reported_aggregate::Entity).await?;
        create(manager, data_revision::Entity).await?;
        create(manager, create_request::Entity).await?;
        let insert = Query::insert()
            .into_table(data_revision::Entity)
            .columns([
                data_revision::Column::Id,
                data_revision::Column::Revision,
                data_revision::Column::Instance,
            ])
            .values_panic([1i64.into(), 0i64.into(), new_instance_id().into()])
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "create_requests",
            "data_revision",
            "reported_aggregates",
            "indicator_values",
            "observations",
            "policy_documents",
            "indicators",
            "platform_functions",
            "service_functions",
            "platforms",
            "channels",
            "populations",
            "regions",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// API tokens (hashed) and the audit log of writes.
struct AccessAndAudit;

impl MigrationName for AccessAndAudit {
    fn name(&self) -> &str {
        "m20261130_000002_access_and_audit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AccessAndAudit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, api_token::Entity).await?;
        create(manager, audit_event::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_events", "api_tokens"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
