//! Optional TLS and mutual TLS, configured by environment (PEM file paths):
//! - `GOVLENS_TLS_CERT` + `GOVLENS_TLS_KEY`: serve TLS with this identity;
//! - `GOVLENS_TLS_CLIENT_CA`: require callers to present a certificate it signed;
//! - `GOVLENS_TLS_CA`: trust this CA for `https://` upstreams;
//! - `GOVLENS_TLS_CLIENT_CERT` + `GOVLENS_TLS_CLIENT_KEY`: present this certificate to
//!   upstreams (mutual TLS).

use std::sync::OnceLock;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::config::ConfigError;

pub const ENV_CERT: &str = "GOVLENS_TLS_CERT";
pub const ENV_KEY: &str = "GOVLENS_TLS_KEY";
pub const ENV_CLIENT_CA: &str = "GOVLENS_TLS_CLIENT_CA";
pub const ENV_CA: &str = "GOVLENS_TLS_CA";
pub const ENV_CLIENT_CERT: &str = "GOVLENS_TLS_CLIENT_CERT";
pub const ENV_CLIENT_KEY: &str = "GOVLENS_TLS_CLIENT_KEY";

/// A PEM certificate chain and its key.
pub type PemPair = (Vec<u8>, Vec<u8>);

/// PEM contents, read once at start.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    pub server_identity: Option<PemPair>,
    pub client_ca: Option<Vec<u8>>,
    pub upstream_ca: Option<Vec<u8>>,
    pub client_identity: Option<PemPair>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("serves_tls", &self.server_identity.is_some())
            .field("requires_client_certificates", &self.client_ca.is_some())
            .field("upstream_ca", &self.upstream_ca.is_some())
            .field("client_identity", &self.client_identity.is_some())
            .finish()
    }
}

fn read(variable: &'static str, path: &str) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        variable,
        message: format!("cannot read {path:?}: {e}"),
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
        return Err(ConfigError {
            variable,
            message: format!("{path:?} is not a PEM file"),
        });
    }
    Ok(bytes)
}

fn pair(
    lookup: &impl Fn(&str) -> Option<String>,
    cert: &'static str,
    key: &'static str,
) -> Result<Option<PemPair>, ConfigError> {
    let get = |v: &str| lookup(v).filter(|s| !s.trim().is_empty());
    match (get(cert), get(key)) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => Ok(Some((read(cert, &c)?, read(key, &k)?))),
        (Some(_), None) => Err(ConfigError {
            variable: key,
            message: format!("required with {cert}"),
        }),
        (None, Some(_)) => Err(ConfigError {
            variable: cert,
            message: format!("required with {key}"),
        }),
    }
}

impl TlsConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |v: &str| lookup(v).filter(|s| !s.trim().is_empty());
        let config = TlsConfig {
            server_identity: pair(&lookup, ENV_CERT, ENV_KEY)?,
            client_ca: get(ENV_CLIENT_CA)
                .map(|p| read(ENV_CLIENT_CA, &p))
                .transpose()?,
            upstream_ca: get(ENV_CA).map(|p| read(ENV_CA, &p)).transpose()?,
            client_identity: pair(&lookup, ENV_CLIENT_CERT, ENV_CLIENT_KEY)?,
        };
        if config.client_ca.is_some() && config.server_identity.is_none() {
            return Err(ConfigError {
                variable: ENV_CLIENT_CA,
                message: format!("client certificates need TLS: set {ENV_CERT} and {ENV_KEY}"),
            });
        }
        Ok(config)
    }

    /// The server side, when this service serves TLS.
    pub fn server(&self) -> Option<ServerTlsConfig> {
        let (cert, key) = self.server_identity.as_ref()?;
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.client_ca {
            tls = tls.client_ca_root(Certificate::from_pem(ca));
        }
        Some(tls)
    }

    /// The client side for `https://` upstreams.
    pub fn client(&self) -> ClientTlsConfig {
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &self.upstream_ca {
            tls = tls.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &self.client_identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        tls
    }

    /// Makes [`endpoint`] use this configuration for `https://` upstreams.
    pub fn install_for_upstreams(&self) {
        let _ = UPSTREAM_TLS.set(self.client());
    }
}

static UPSTREAM_TLS: OnceLock<ClientTlsConfig> = OnceLock::new();

/// An endpoint for an upstream address: TLS (with this process's CA and client
/// certificate) for `https://`, plaintext for `http://`.
pub fn endpoint(addr: &str) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(addr.to_string())?;
    if addr.starts_with("https://") {
        let tls = UPSTREAM_TLS.get().cloned().unwrap_or_default();
        return Ok(endpoint.tls_config(tls)?);
    }
    Ok(endpoint)
}
