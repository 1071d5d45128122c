//! Configuration of the data service, read from the environment once at start.

use std::net::SocketAddr;
use std::time::Duration;

/// Environment variables the data service reads.
pub const ENV_LISTEN: &str = "GOVLENS_DATA_LISTEN";
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
pub const ENV_REDIS_URL: &str = "REDIS_URL";
pub const ENV_CACHE_MEMORY_MB: &str = "GOVLENS_CACHE_MEMORY_MB";
pub const ENV_CACHE_TTL_SECS: &str = "GOVLENS_CACHE_TTL_SECS";
pub use govlens_kit::sole_writer::ENV_LEASES;

pub use govlens_kit::config::ConfigError;
use govlens_kit::config::{cache_for, Env};

/// Everything the data service needs to start.
#[derive(Debug, Clone)]
pub struct DataConfig {
    /// Who may call, and how fast.
    pub auth: govlens_kit::auth::AuthConfig,
    /// TLS to serve with and to trust upstream (optional).
    pub tls: govlens_kit::tls::TlsConfig,
    pub listen: SocketAddr,
    pub database_url: String,
    pub redis_url: Option<String>,
    /// In-process cache size; 0 disables the in-process layer.
    pub cache_memory_bytes: u64,
    pub cache_ttl: Duration,
    /// Whether readers get revision leases (PostgreSQL only; [`ENV_LEASES`]).
    pub leases: bool,
}

impl DataConfig {
    /// Embedded defaults: SQLite at `database_url`, in-process cache only.
    pub fn embedded(listen: SocketAddr, database_url: String) -> Self {
        DataConfig {
            auth: govlens_kit::auth::AuthConfig::off(),
            tls: govlens_kit::tls::TlsConfig::default(),
            listen,
            database_url,
            redis_url: None,
            cache_memory_bytes: 64 << 20,
            cache_ttl: Duration::from_secs(300),
            leases: true,
        }
    }

    /// Reads the configuration from `lookup` (the process environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let auth = govlens_kit::auth::AuthConfig::from_lookup(&lookup)?;
        let tls = govlens_kit::tls::TlsConfig::from_lookup(&lookup)?;
        let env = Env::new(lookup);
        Ok(DataConfig {
            auth,
            tls,
            listen: env.listen(ENV_LISTEN, "127.0.0.1:50051")?,
            database_url: env.database_url(ENV_DATABASE_URL, "the data is stored there")?,
            redis_url: env.redis_url(ENV_REDIS_URL)?,
            cache_memory_bytes: env.number(ENV_CACHE_MEMORY_MB, 64)? << 20,
            cache_ttl: Duration::from_secs(env.number(ENV_CACHE_TTL_SECS, 300)?.max(1)),
            leases: env.switch(ENV_LEASES, true)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The cache this configuration asks for.
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

    fn config(vars: &[(&str, &str)]) -> Result<DataConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DataConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_a_complete_configuration() {
        let c = config(&[
            (ENV_LISTEN, "0.0.0.0:6000"),
            (ENV_DATABASE_URL, "postgres://u@h/db"),
            (ENV_REDIS_URL, "redis://127.0.0.1:6379"),
            (ENV_CACHE_MEMORY_MB, "0"),
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(c.cache_memory_bytes, 0);
        assert!(c.leases, "revision leases are on by default");
        let off = config(&[(ENV_DATABASE_URL, "postgres://u@h/db"), (ENV_LEASES, "off")]).unwrap();
        assert!(!off.leases);
        let e = config(&[
            (ENV_DATABASE_URL, "postgres://u@h/db"),
            (ENV_LEASES, "maybe"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_LEASES);
    }

    #[test]
    fn fails_fast_naming_the_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, ENV_DATABASE_URL);
        assert_eq!(
            config(&[(ENV_DATABASE_URL, "mysql://x")])
                .unwrap_err()
                .variable,
            ENV_DATABASE_URL
        );
        let e = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_LISTEN, "nowhere"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_LISTEN);
        let e = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_REDIS_URL, "http://x"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_REDIS_URL);
        let e = config(&[
            (ENV_DATABASE_URL, "sqlite::memory:"),
            (ENV_CACHE_TTL_SECS, "soon"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, ENV_CACHE_TTL_SECS);
    }
}
