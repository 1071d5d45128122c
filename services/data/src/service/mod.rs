//! The DataService gRPC adapter: converts messages, validates, caches reads by data
//! revision, and delegates to the store.

mod handlers;
pub mod support;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use govlens_kit::{Cache, ServiceError, ServiceResult};
use prost::Message;
use sea_orm::Condition;

use crate::store::kinds::{CodedKind, StoredKind};
use crate::store::{db_error, find_by_code, find_by_id, page, Store};
use support::*;

/// State shared by the handlers.
#[derive(Clone)]
pub struct DataApi {
    store: Store,
    cache: Cache,
    ready: Arc<AtomicBool>,
}

impl DataApi {
    /// The API over a store; it answers UNAVAILABLE until `ready` is set.
    pub fn new(store: Store, cache: Cache, ready: Arc<AtomicBool>) -> Self {
        DataApi {
            store,
            cache,
            ready,
        }
    }

    fn ensure_ready(&self) -> ServiceResult<()> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(
                "the data service is starting (migrations running)".into(),
            ))
        }
    }

    /// Serves a read from the cache at the current revision, or computes and caches it.
    async fn cached<Req, Resp, F, Fut>(
        &self,
        method: &str,
        request: &Req,
        compute: F,
    ) -> ServiceResult<Resp>
    where
        Req: Message,
        Resp: Message + Default,
        F: FnOnce(i64) -> Fut,
        Fut: Future<Output = ServiceResult<Resp>>,
    {
        self.ensure_ready()?;
        // Read the revision before the data: data read later is at least as new as
        // the key it is stored under, so no entry is ever older than its key says.
        let (instance, revision) = self.store.versioned_state().await?;
        let key = cache_key(&instance, revision, method, request);
        if let Some(bytes) = self.cache.get(&key).await {
            match Resp::decode(bytes.as_slice()) {
                Ok(resp) => return Ok(resp),
                Err(e) => tracing::warn!(key, error = %e, "undecodable cache entry; recomputing"),
            }
        }
        let resp = compute(revision).await?;
        self.cache.put(&key, resp.encode_to_vec()).await;
        Ok(resp)
    }

    async fn get_coded<K: CodedKind>(&self, code: &str) -> ServiceResult<K::Model> {
        require_code("code", code)?;
        find_by_code::<K, _>(self.store.connection(), code)
            .await
            .map_err(db_error)?
            .ok_or_else(|| ServiceError::not_found(K::NOUN, code))
    }

    async fn get_by_id<K: StoredKind>(&self, id: i64) -> ServiceResult<K::Model> {
        require_id(id)?;
        find_by_id::<K, _>(self.store.connection(), id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| ServiceError::not_found(K::NOUN, id.to_string()))
    }

    /// One page of rows matching `cond`, and the id to continue after if there are more.
    async fn list<K: StoredKind>(
        &self,
        cond: Condition,
        after: i64,
        limit: u64,
    ) -> ServiceResult<(Vec<K::Model>, Option<i64>)> {
        let mut rows = page::<K, _>(self.store.connection(), cond, after, limit + 1)
            .await
            .map_err(db_error)?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(K::id) } else { None };
        Ok((rows, next))
    }
}
