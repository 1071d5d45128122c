//! Configuration of the recommendation service, read from the environment once at start.

use std::net::SocketAddr;
use std::time::Duration;

pub const ENV_LISTEN: &str = "GOVLENS_RECOMMENDATION_LISTEN";
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
pub const ENV_REDIS_URL: &str = "REDIS_URL";
pub const ENV_DATA_ADDR: &str = "GOVLENS_DATA_ADDR";
pub const ENV_SCORING_ADDR: &str = "GOVLENS_SCORING_ADDR";
pub const ENV_UPSTREAM_TIMEOUT_MS: &str = "GOVLENS_UPSTREAM_TIMEOUT_MS";

pub use govlens_kit::config::ConfigError;
use govlens_kit::config::{cache_for, Env};

/// Everything the recommendation service needs to start.
#[derive(Debug, Clone)]
pub struct RecommendationConfig {
    /// Who may call, and how fast.
    pub auth: govlens_kit::auth::AuthConfig,
    /// TLS to serve with and to trust upstream (optional).
    pub tls: govlens_kit::tls::TlsConfig,
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
    /// Whether to use revision leases and keep the latest rulebooks in memory while
    /// writing alone ([`govlens_kit::sole_writer::ENV_LEASES`]).
    pub leases: bool,
}

impl RecommendationConfig {
    /// Embedded defaults: every upstream at `addr` (one process hosting all services).
    pub fn embedded(listen: SocketAddr, database_url: String, addr: String) -> Self {
        RecommendationConfig {
            auth: govlens_kit::auth::AuthConfig::off(),
            tls: govlens_kit::tls::TlsConfig::default(),
            listen,
            database_url,
            redis_url: None,
            data_addr: addr.clone(),
            scoring_addr: addr,
            cache_memory_bytes: 32 << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: Duration::from_secs(10),
            leases: true,
        }
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let auth = govlens_kit::auth::AuthConfig::from_lookup(&lookup)?;
        let tls = govlens_kit::tls::TlsConfig::from_lookup(&lookup)?;
        let env = Env::new(lookup);
        let config = RecommendationConfig {
            auth,
            tls,
            listen: env.listen(ENV_LISTEN, "127.0.0.1:50053")?,
            database_url: env
                .database_url(ENV_DATABASE_URL, "rulebook versions are stored there")?,
            redis_url: env.redis_url(ENV_REDIS_URL)?,
            data_addr: env.http_url(ENV_DATA_ADDR, "http://127.0.0.1:50051")?,
            scoring_addr: env.http_url(ENV_SCORING_ADDR, "http://127.0.0.1:50052")?,
            cache_memory_bytes: 32 << 20,
            cache_ttl: Duration::from_secs(300),
            upstream_timeout: env.millis(ENV_UPSTREAM_TIMEOUT_MS, 10_000)?,
            leases: env.switch(govlens_kit::sole_writer::ENV_LEASES, true)?,
        };
        if config.auth.required && config.auth.service_token.is_none() {
            // Its calls to the data service (and token checks) are made as itself.
            return Err(ConfigError {
                variable: govlens_kit::auth::ENV_SERVICE_TOKEN,
                message: "required while authentication is on (GOVLENS_AUTH=off turns it off)"
                    .into(),
            });
        }
        Ok(config)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn cache(&self) -> anyhow::Result<govlens_kit::Cache> {
        cache_for(
            self.redis_url.as_deref(),
            self.cache_memory_bytes,
            self.cache_ttl,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<RecommendationConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RecommendationConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn fails_fast_naming_the_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, ENV_DATABASE_URL);
        // Authentication is on by default, and then the service needs its own token.
        assert_eq!(
            config(&[(ENV_DATABASE_URL, "sqlite::memory:")])
                .unwrap_err()
                .variable,
            govlens_kit::auth::ENV_SERVICE_TOKEN
        );
        let e = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_SCORING_ADDR, "scoring:50052"),
            ("GOVLENS_AUTH", "off"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_SCORING_ADDR);
        let ok = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            ("GOVLENS_AUTH", "off"),
        ])
        .unwrap();
        assert_eq!(ok.listen.port(), 50053);
        assert_eq!(ok.scoring_addr, "http://127.0.0.1:50052");
    }
}
