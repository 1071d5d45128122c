//! Configuration of the recommendation service, read from the environment once at start.

use std::net::SocketAddr;
use std::time::Duration;

pub const ENV_LISTEN: &str = "GOVLENS_RECOMMENDATION_LISTEN";
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
pub const ENV_REDIS_URL: &str = "REDIS_URL";
pub const ENV_DATA_ADDR: &str = "GOVLENS_DATA_ADDR";
pub const ENV_SCORING_ADDR: &str = "GOVLENS_SCORING_ADDR";
pub const ENV_UPSTREAM_TIMEOUT_MS: &str = "GOVLENS_UPSTREAM_TIMEOUT_MS";

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// Everything the recommendation service needs to start.
#[derive(Debug, Clone)]
pub struct RecommendationConfig {
    pub listen: SocketAddr,
    /// Where rulebook versions are stored.
    pub database_url: String,
    pub redis_url: Option<String>,
    pub data_addr: String,
    pub scoring_addr: String,
    pub cache_memory_bytes: u64,
    pub cache_ttl: Duration,
    /// Deadline of each upstream call.
    pub upstream_timeout: Duration,
}

impl RecommendationConfig {
    /// Embedded defaults: every upstream at `addr` (one process hosting all services).
    pub fn embedded(listen: SocketAddr, database_url: String, addr: String) -> Self {
        RecommendationConfig {
            listen,
            database_url,
            redis_url: None,
            data_addr: addr.clone(),
            scoring_addr: addr,
            cache_memory_bytes: 32 << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: Duration::from_secs(10),
        }
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let err = |variable, message: String| ConfigError { variable, message };
        let listen = lookup(ENV_LISTEN).unwrap_or_else(|| "127.0.0.1:50053".to_string());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| err(ENV_LISTEN, format!("{listen:?} is not an address like 0.0.0.0:50053")))?;
        let database_url = lookup(ENV_DATABASE_URL)
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| err(ENV_DATABASE_URL, "is required (rulebooks are stored there)".into()))?;
        if !(database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
            || database_url.starts_with("sqlite:"))
        {
            return Err(err(ENV_DATABASE_URL, "must start with postgres://, postgresql:// or sqlite:".into()));
        }
        let redis_url = lookup(ENV_REDIS_URL).filter(|u| !u.trim().is_empty());
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(err(ENV_REDIS_URL, "must start with redis:// or rediss://".into()));
            }
        }
        let url = |variable: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = lookup(variable).unwrap_or_else(|| default.to_string());
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(value)
            } else {
                Err(err(variable, format!("{value:?} must be a URL like http://host:port")))
            }
        };
        let timeout = match lookup(ENV_UPSTREAM_TIMEOUT_MS) {
            None => 10_000,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| err(ENV_UPSTREAM_TIMEOUT_MS, format!("{v:?} is not a whole number")))?,
        };
        Ok(RecommendationConfig {
            listen,
            database_url,
            redis_url,
            data_addr: url(ENV_DATA_ADDR, "http://127.0.0.1:50051")?,
            scoring_addr: url(ENV_SCORING_ADDR, "http://127.0.0.1:50052")?,
            cache_memory_bytes: 32 << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: Duration::from_millis(timeout.max(1)),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn cache(&self) -> anyhow::Result<govlens_kit::Cache> {
        Ok(match &self.redis_url {
            Some(url) => govlens_kit::Cache::redis(url, self.cache_ttl, Some(self.cache_memory_bytes))?,
            None => govlens_kit::Cache::memory(self.cache_memory_bytes, self.cache_ttl),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<RecommendationConfig, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RecommendationConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn fails_fast_naming_the_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, ENV_DATABASE_URL);
        let e = config(&[(ENV_DATABASE_URL, "sqlite::memory:"), (ENV_SCORING_ADDR, "scoring:50052")]).unwrap_err();
        assert_eq!(e.variable, ENV_SCORING_ADDR);
        let ok = config(&[(ENV_DATABASE_URL, "sqlite::memory:")]).unwrap();
        assert_eq!(ok.listen.port(), 50053);
        assert_eq!(ok.scoring_addr, "http://127.0.0.1:50052");
    }
}
