//! Configuration of the scoring service, read from the environment once at start.

use std::net::SocketAddr;
use std::time::Duration;

pub const ENV_LISTEN: &str = "GOVLENS_SCORING_LISTEN";
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
pub const ENV_REDIS_URL: &str = "REDIS_URL";
pub const ENV_DATA_ADDR: &str = "GOVLENS_DATA_ADDR";
pub const ENV_CACHE_MEMORY_MB: &str = "GOVLENS_CACHE_MEMORY_MB";
pub const ENV_UPSTREAM_TIMEOUT_MS: &str = "GOVLENS_UPSTREAM_TIMEOUT_MS";

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// Everything the scoring service needs to start.
#[derive(Debug, Clone)]
pub struct ScoringConfig {
    pub listen: SocketAddr,
    /// Where model versions are stored.
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Address of the data service, e.g. http://127.0.0.1:50051.
    pub data_addr: String,
    pub cache_memory_bytes: u64,
    pub cache_ttl: Duration,
    /// Deadline of each call to the data service.
    pub upstream_timeout: Duration,
}

impl ScoringConfig {
    /// Embedded defaults: models in `database_url`, in-process cache, data at `data_addr`.
    pub fn embedded(listen: SocketAddr, database_url: String, data_addr: String) -> Self {
        ScoringConfig {
            listen,
            database_url,
            redis_url: None,
            data_addr,
            cache_memory_bytes: 64 << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: Duration::from_secs(10),
        }
    }

    /// Reads the configuration from `lookup` (the process environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let err = |variable, message: String| ConfigError { variable, message };
        let listen = lookup(ENV_LISTEN).unwrap_or_else(|| "127.0.0.1:50052".to_string());
        let listen: SocketAddr = listen.parse().map_err(|_| {
            err(
                ENV_LISTEN,
                format!("{listen:?} is not an address like 0.0.0.0:50052"),
            )
        })?;
        let database_url = lookup(ENV_DATABASE_URL)
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                err(
                    ENV_DATABASE_URL,
                    "is required (models are stored there)".into(),
                )
            })?;
        if !(database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
            || database_url.starts_with("sqlite:"))
        {
            return Err(err(
                ENV_DATABASE_URL,
                "must start with postgres://, postgresql:// or sqlite:".into(),
            ));
        }
        let redis_url = lookup(ENV_REDIS_URL).filter(|u| !u.trim().is_empty());
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(err(
                    ENV_REDIS_URL,
                    "must start with redis:// or rediss://".into(),
                ));
            }
        }
        let data_addr =
            lookup(ENV_DATA_ADDR).unwrap_or_else(|| "http://127.0.0.1:50051".to_string());
        if !(data_addr.starts_with("http://") || data_addr.starts_with("https://")) {
            return Err(err(
                ENV_DATA_ADDR,
                "must be a URL like http://data:50051".into(),
            ));
        }
        let number = |variable: &'static str, default: u64| -> Result<u64, ConfigError> {
            match lookup(variable) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| err(variable, format!("{v:?} is not a whole number"))),
            }
        };
        Ok(ScoringConfig {
            listen,
            database_url,
            redis_url,
            data_addr,
            cache_memory_bytes: number(ENV_CACHE_MEMORY_MB, 64)? << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: Duration::from_millis(
                number(ENV_UPSTREAM_TIMEOUT_MS, 10_000)?.max(1),
            ),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The cache this configuration asks for.
    pub fn cache(&self) -> anyhow::Result<govlens_kit::Cache> {
        let memory = (self.cache_memory_bytes > 0).then_some(self.cache_memory_bytes);
        Ok(match &self.redis_url {
            Some(url) => govlens_kit::Cache::redis(url, self.cache_ttl, memory)?,
            None => match memory {
                Some(bytes) => govlens_kit::Cache::memory(bytes, self.cache_ttl),
                None => govlens_kit::Cache::disabled(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<ScoringConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ScoringConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn fails_fast_naming_the_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, ENV_DATABASE_URL);
        let e = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_DATA_ADDR, "data:50051"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_DATA_ADDR);
        let ok = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_DATA_ADDR, "http://data:50051"),
        ])
        .unwrap();
        assert_eq!(ok.listen.port(), 50052);
    }
}
