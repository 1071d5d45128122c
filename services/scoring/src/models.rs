//! Model versions: immutable documents of kind "model" in the shared versioned store,
//! migrated under the scoring service's own migration table.

pub use govlens_versioned::{
    NewDocument as NewModel, StoredDocument as StoredModel, VersionedStore as ModelStore,
};

/// Connects the model store; `leases` as in [`ModelStore::with_leases`].
pub async fn connect(url: &str, leases: bool) -> anyhow::Result<ModelStore> {
    Ok(
        ModelStore::connect(url, "model", "model", "govlens_scoring_migrations")
            .await?
            .with_leases(leases),
    )
}
