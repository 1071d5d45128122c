//! Read-through cache for encoded responses: an in-process layer, Redis, or both.
//! A Redis failure is a miss (logged once per outage), never an error: callers compute.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tracing::Instrument;

use crate::telemetry::metrics::instruments;

/// Counts one lookup in the `govlens.cache.requests` metric.
fn count(layer: &'static str, result: &'static str) {
    instruments().cache_requests.add(
        1,
        &[
            opentelemetry::KeyValue::new("cache.layer", layer),
            opentelemetry::KeyValue::new("cache.result", result),
        ],
    );
}

/// A client span for one Redis command, within a traced call only.
fn redis_span(command: &'static str) -> tracing::Span {
    if !crate::telemetry::sampling::in_traced_call() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        target: "govlens::cache",
        "redis",
        otel.name = command,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = command,
        cache.result = tracing::field::Empty,
    )
}

/// How long one Redis command may take before it counts as a miss.
pub const REDIS_COMMAND_TIMEOUT: Duration = Duration::from_millis(250);

/// Hit and miss counts, for metrics and tests.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub errors: AtomicU64,
}

/// A cache of byte values under string keys.
#[derive(Clone)]
pub struct Cache {
    memory: Option<moka::sync::Cache<String, Arc<Vec<u8>>>>,
    redis: Option<RedisCache>,
    ttl: Duration,
    stats: Arc<CacheStats>,
}

#[derive(Clone)]
struct RedisCache {
    manager: ConnectionManager,
    down: Arc<AtomicBool>,
    /// GETs in flight by key: concurrent lookups of one key share one GET. A value
    /// never changes under its key (keys name the revision they were computed at), so
    /// joining a GET already on its way is as good as sending another.
    in_flight: Arc<Mutex<HashMap<String, SharedGet>>>,
}

/// The result of one Redis GET, shared by every lookup that joined it.
type SharedGet = Shared<BoxFuture<'static, Result<Option<Arc<Vec<u8>>>, String>>>;

impl RedisCache {
    fn get(&self, key: &str) -> SharedGet {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(get) = in_flight.get(key) {
            return get.clone();
        }
        let mut conn = self.manager.clone();
        let owned = key.to_string();
        let registry = Arc::downgrade(&self.in_flight);
        let span = redis_span("GET");
        let get = async move {
            let result = tokio::time::timeout(
                REDIS_COMMAND_TIMEOUT,
                conn.get::<_, Option<Vec<u8>>>(&owned),
            )
            .await;
            let outcome = match &result {
                Ok(Ok(Some(_))) => "hit",
                Ok(Ok(None)) => "miss",
                _ => "error",
            };
            tracing::Span::current().record("cache.result", outcome);
            if let Some(registry) = registry.upgrade() {
                registry
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&owned);
            }
            flatten(result).map(|value| value.and_then(unframe).map(Arc::new))
        }
        .instrument(span)
        .boxed()
        .shared();
        in_flight.insert(key.to_string(), get.clone());
        get
    }
}

impl Cache {
    /// No caching at all.
    pub fn disabled() -> Self {
        Cache {
            memory: None,
            redis: None,
            ttl: Duration::ZERO,
            stats: Arc::default(),
        }
    }

    /// An in-process cache holding at most `capacity_bytes` of values.
    pub fn memory(capacity_bytes: u64, ttl: Duration) -> Self {
        Cache {
            memory: Some(memory_layer(capacity_bytes, ttl)),
            ..Cache::redis_less(ttl)
        }
    }

    fn redis_less(ttl: Duration) -> Self {
        Cache {
            memory: None,
            redis: None,
            ttl,
            stats: Arc::default(),
        }
    }

    /// Redis, optionally behind an in-process layer. Connects lazily: an unreachable
    /// Redis at start is not an error, and every command fails fast while it is down.
    pub fn redis(
        url: &str,
        ttl: Duration,
        memory_bytes: Option<u64>,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200))
            .set_connection_timeout(Some(Duration::from_millis(200)))
            .set_response_timeout(Some(Duration::from_millis(200)));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Cache {
            memory: memory_bytes.map(|b| memory_layer(b, ttl)),
            redis: Some(RedisCache {
                manager,
                down: Arc::default(),
                in_flight: Arc::default(),
            }),
            ttl,
            stats: Arc::default(),
        })
    }

    /// Counters of this cache.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// What this cache is made of, for logs.
    pub fn describe(&self) -> &'static str {
        match (&self.memory, &self.redis) {
            (None, None) => "disabled",
            (Some(_), None) => "in-process",
            (None, Some(_)) => "redis",
            (Some(_), Some(_)) => "in-process + redis",
        }
    }

    /// The cached value, or `None` on a miss or any cache failure.
    pub async fn get(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        if let Some(memory) = &self.memory {
            if let Some(value) = memory.get(key) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                count("memory", "hit");
                return Some(value);
            }
            count("memory", "miss");
        }
        if let Some(redis) = &self.redis {
            let result = redis.get(key).await;
            count(
                "redis",
                match &result {
                    Ok(Some(_)) => "hit",
                    Ok(None) => "miss",
                    Err(_) => "error",
                },
            );
            match result {
                Ok(Some(value)) => {
                    redis.mark_up();
                    if let Some(m) = &self.memory {
                        m.insert(key.to_string(), value.clone());
                    }
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    return Some(value);
                }
                Ok(None) => redis.mark_up(),
                Err(e) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    redis.mark_down(&e);
                }
            }
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Stores a value; failures are logged and otherwise ignored.
    pub async fn put(&self, key: &str, value: Vec<u8>) {
        let value = Arc::new(value);
        if let Some(m) = &self.memory {
            m.insert(key.to_string(), value.clone());
        }
        if let Some(redis) = &self.redis {
            let mut conn = redis.manager.clone();
            let ttl = self.ttl.as_secs().max(1);
            let result = tokio::time::timeout(
                REDIS_COMMAND_TIMEOUT,
                conn.set_ex::<_, _, ()>(key, frame(&value), ttl),
            )
            .instrument(redis_span("SETEX"))
            .await;
            match flatten(result) {
                Ok(()) => redis.mark_up(),
                Err(e) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    redis.mark_down(&e);
                }
            }
        }
    }

    /// Whether Redis answered a PING within the command timeout (`None` without Redis).
    pub async fn ping(&self) -> Option<bool> {
        let redis = self.redis.as_ref()?;
        let mut conn = redis.manager.clone();
        let result = tokio::time::timeout(
            REDIS_COMMAND_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await;
        Some(flatten(result).is_ok())
    }
}

/// A value as stored in Redis: the bytes, then their XXH3 (8 bytes, little-endian).
/// Cached answers are sent to callers as stored, not decoded first, so a value that was
/// cut short or garbled in Redis must be recognised as such.
fn frame(value: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(value.len() + 8);
    framed.extend_from_slice(value);
    framed.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(value).to_le_bytes());
    framed
}

/// The bytes of a framed value, or `None` (a miss) if the checksum does not match.
fn unframe(mut framed: Vec<u8>) -> Option<Vec<u8>> {
    let split = framed.len().checked_sub(8)?;
    let sum = u64::from_le_bytes(framed[split..].try_into().ok()?);
    if xxhash_rust::xxh3::xxh3_64(&framed[..split]) != sum {
        tracing::warn!(
            bytes = framed.len(),
            "a cached value in Redis failed its checksum; treated as a miss"
        );
        return None;
    }
    framed.truncate(split);
    Some(framed)
}

fn memory_layer(capacity_bytes: u64, ttl: Duration) -> moka::sync::Cache<String, Arc<Vec<u8>>> {
    moka::sync::Cache::builder()
        .max_capacity(capacity_bytes)
        .weigher(|k: &String, v: &Arc<Vec<u8>>| (k.len() + v.len()).try_into().unwrap_or(u32::MAX))
        .time_to_live(ttl)
        .build()
}

fn flatten<T>(
    result: Result<Result<T, redis::RedisError>, tokio::time::error::Elapsed>,
) -> Result<T, String> {
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {REDIS_COMMAND_TIMEOUT:?}")),
    }
}

impl RedisCache {
    fn mark_down(&self, error: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error,
                "redis cache unavailable; serving without it until it answers again"
            );
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("redis cache available again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_cache_returns_what_was_put() {
        let cache = Cache::memory(1 << 20, Duration::from_secs(60));
        assert!(cache.get("k").await.is_none());
        cache.put("k", b"v".to_vec()).await;
        assert_eq!(cache.get("k").await.unwrap().as_slice(), b"v");
        assert_eq!(cache.stats().hits.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats().misses.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn framed_values_read_back_and_damaged_ones_are_misses() {
        let framed = frame(b"answer");
        assert_eq!(unframe(framed.clone()).as_deref(), Some(&b"answer"[..]));
        assert_eq!(unframe(frame(b"")).as_deref(), Some(&b""[..]));
        let mut garbled = framed.clone();
        garbled[0] ^= 1;
        assert_eq!(unframe(garbled), None);
        assert_eq!(unframe(framed[..framed.len() - 1].to_vec()), None);
        assert_eq!(unframe(b"short".to_vec()), None);
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_fast_miss() {
        // Port 1 on loopback refuses connections.
        let cache = Cache::redis("redis://127.0.0.1:1/", Duration::from_secs(60), None).unwrap();
        let started = std::time::Instant::now();
        cache.put("k", b"v".to_vec()).await;
        assert!(cache.get("k").await.is_none());
        // Not a speed measurement: a guard against redis-rs's default manager, which
        // blocks about 9.5 s per command while Redis is down. Two commands under that
        // default take ~19 s; the bound is loose enough for a loaded CI machine.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "a Redis outage blocked calls for {:?}",
            started.elapsed()
        );
        assert_eq!(cache.ping().await, Some(false));
    }
}
