//! Reading service configuration from the environment: each value is checked once at
//! start, and a bad one stops the service with a message naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// Typed reads of environment variables through a lookup function (the process
/// environment in production, a map in tests).
pub struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

fn fail(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Env { lookup }
    }

    fn get(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable).filter(|v| !v.trim().is_empty())
    }

    /// A listen address, e.g. `0.0.0.0:50051`.
    pub fn listen(&self, variable: &'static str, default: &str) -> Result<SocketAddr, ConfigError> {
        let value = self.get(variable).unwrap_or_else(|| default.to_string());
        value.parse().map_err(|_| {
            fail(
                variable,
                format!("{value:?} is not an address like 0.0.0.0:50051"),
            )
        })
    }

    /// A required PostgreSQL or SQLite URL; `purpose` says what it holds.
    pub fn database_url(
        &self,
        variable: &'static str,
        purpose: &str,
    ) -> Result<String, ConfigError> {
        let url = self.get(variable).ok_or_else(|| {
            fail(variable, format!("is required ({purpose}), e.g. postgres://user@host/db or sqlite://govlens.db?mode=rwc"))
        })?;
        if url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:")
        {
            Ok(url)
        } else {
            Err(fail(
                variable,
                "must start with postgres://, postgresql:// or sqlite:",
            ))
        }
    }

    /// An optional Redis URL.
    pub fn redis_url(&self, variable: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(variable) {
            None => Ok(None),
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(Some(url))
            }
            Some(_) => Err(fail(variable, "must start with redis:// or rediss://")),
        }
    }

    /// An upstream service URL, e.g. `http://data:50051`.
    pub fn http_url(&self, variable: &'static str, default: &str) -> Result<String, ConfigError> {
        let value = self.get(variable).unwrap_or_else(|| default.to_string());
        if value.starts_with("http://") || value.starts_with("https://") {
            Ok(value)
        } else {
            Err(fail(
                variable,
                format!("{value:?} must be a URL like http://host:port"),
            ))
        }
    }

    /// A whole number.
    pub fn number(&self, variable: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(variable) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| fail(variable, format!("{v:?} is not a whole number"))),
        }
    }

    /// `on` or `off` (also `true`/`false`, `1`/`0`).
    pub fn switch(&self, variable: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(variable).as_deref().map(str::trim) {
            None => Ok(default),
            Some("on" | "true" | "1") => Ok(true),
            Some("off" | "false" | "0") => Ok(false),
            Some(v) => Err(fail(variable, format!("{v:?} is neither on nor off"))),
        }
    }

    /// A duration in milliseconds (at least 1 ms).
    pub fn millis(&self, variable: &'static str, default: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.number(variable, default)?.max(1),
        ))
    }
}

/// The cache a service asks for: Redis (optionally behind an in-process layer) when a
/// URL is given, else in-process only; no memory and no Redis disables caching.
pub fn cache_for(
    redis_url: Option<&str>,
    memory_bytes: u64,
    ttl: Duration,
) -> anyhow::Result<crate::Cache> {
    let memory = (memory_bytes > 0).then_some(memory_bytes);
    Ok(match redis_url {
        Some(url) => crate::Cache::redis(url, ttl, memory)?,
        None => match memory {
            Some(bytes) => crate::Cache::memory(bytes, ttl),
            None => crate::Cache::disabled(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn every_reader_names_its_variable_when_the_value_is_bad() {
        let e = env(&[
            ("L", "nowhere"),
            ("D", "mysql://x"),
            ("R", "http://x"),
            ("U", "data:1"),
            ("N", "soon"),
        ]);
        assert_eq!(e.listen("L", "127.0.0.1:1").unwrap_err().variable, "L");
        assert_eq!(e.database_url("D", "data").unwrap_err().variable, "D");
        assert_eq!(
            e.database_url("MISSING", "data").unwrap_err().variable,
            "MISSING"
        );
        assert_eq!(e.redis_url("R").unwrap_err().variable, "R");
        assert_eq!(e.http_url("U", "http://x:1").unwrap_err().variable, "U");
        assert_eq!(e.number("N", 1).unwrap_err().variable, "N");
    }

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let e = env(&[("BLANK", "  ")]);
        assert_eq!(e.listen("BLANK", "127.0.0.1:7").unwrap().port(), 7);
        assert_eq!(e.redis_url("BLANK").unwrap(), None);
        assert_eq!(e.number("UNSET", 5).unwrap(), 5);
        assert_eq!(e.http_url("UNSET", "http://a:1").unwrap(), "http://a:1");
    }
}
