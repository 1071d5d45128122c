//! Who is calling, and what they may do.
//!
//! - A caller presents `authorization: Bearer <token>`. API tokens look like
//!   `glt_<id>_<secret>`; only a SHA-256 of the secret is stored. The services share one
//!   more secret, `GOVLENS_SERVICE_TOKEN`, their identity when they call each other.
//! - Roles: reader (read), editor (write inside a region subtree, or everywhere when
//!   unscoped), admin (everything, including the audit log), service (read, and check
//!   tokens for the other services).
//! - [`AuthLayer`] authenticates every call but health and reflection, applies the
//!   per-caller rate limit, and hands the [`Principal`] to the handlers through the
//!   request's extensions.

pub mod layer;
pub mod limit;
pub mod remote;
pub mod token;

use std::fmt;

use crate::config::ConfigError;
use crate::{ServiceError, ServiceResult};

pub use layer::{AuthLayer, Authenticator};
pub use token::{generate_token, hash_secret, parse_token, IssuedToken};

pub const ENV_AUTH: &str = "GOVLENS_AUTH";
pub const ENV_SERVICE_TOKEN: &str = "GOVLENS_SERVICE_TOKEN";
pub const ENV_RATE_LIMIT_RPS: &str = "GOVLENS_RATE_LIMIT_RPS";
pub const ENV_RATE_LIMIT_BURST: &str = "GOVLENS_RATE_LIMIT_BURST";

/// Shortest service token accepted: it is a shared secret.
pub const MIN_SERVICE_TOKEN_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Editor,
    Admin,
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            "service" => Some(Role::Service),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who: the token's subject ("alice", "seed-job"), "service" or "anonymous".
    pub subject: String,
    pub role: Role,
    /// Region code whose subtree an editor may write; `None`: every region.
    pub scope: Option<String>,
    /// The API token used, for the audit log and rate limits.
    pub token_id: Option<String>,
}

impl Principal {
    /// The caller when authentication is off: may do everything, logged as such.
    pub fn anonymous() -> Self {
        Principal {
            subject: "anonymous".into(),
            role: Role::Admin,
            scope: None,
            token_id: None,
        }
    }

    /// Another GovLens service, identified by the shared service token.
    pub fn service() -> Self {
        Principal {
            subject: "service".into(),
            role: Role::Service,
            scope: None,
            token_id: None,
        }
    }

    /// Key of this caller's rate-limit bucket.
    pub fn rate_key(&self) -> String {
        match &self.token_id {
            Some(id) => format!("token:{id}"),
            None => format!("subject:{}", self.subject),
        }
    }

    fn describe(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{} {:?} (scoped to {scope})", self.role, self.subject),
            None => format!("{} {:?}", self.role, self.subject),
        }
    }

    /// May write something shared by every region (channels, service functions,
    /// indicators, top-level regions, models, rulebooks): admins and unscoped editors.
    pub fn check_global_write(&self, what: &str) -> ServiceResult<()> {
        match (self.role, &self.scope) {
            (Role::Admin, _) | (Role::Editor, None) => Ok(()),
            (Role::Editor, Some(scope)) => Err(ServiceError::PermissionDenied(format!(
                "{} may not change {what}: it is shared by every region, not only {scope}'s",
                self.describe()
            ))),
            _ => Err(self.cannot_write()),
        }
    }

    /// May write data of the region whose materialised path is `region_path`
    /// ("/cn/cn-gz/"): admins, unscoped editors, and editors whose scope the path
    /// passes through.
    pub fn check_region_write(&self, region_code: &str, region_path: &str) -> ServiceResult<()> {
        match (self.role, &self.scope) {
            (Role::Admin, _) | (Role::Editor, None) => Ok(()),
            (Role::Editor, Some(scope)) if region_path.contains(&format!("/{scope}/")) => Ok(()),
            (Role::Editor, Some(scope)) => Err(ServiceError::PermissionDenied(format!(
                "{} may not change data of region {region_code:?}: it is outside {scope}",
                self.describe()
            ))),
            _ => Err(self.cannot_write()),
        }
    }

    /// Fails unless this caller may write at all (before any region is known).
    pub fn check_may_write(&self) -> ServiceResult<()> {
        match self.role {
            Role::Admin | Role::Editor => Ok(()),
            _ => Err(self.cannot_write()),
        }
    }

    fn cannot_write(&self) -> ServiceError {
        ServiceError::PermissionDenied(format!("{} may not write", self.describe()))
    }

    pub fn check_admin(&self, what: &str) -> ServiceResult<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} may not {what}: admins only",
                self.describe()
            )))
        }
    }

    /// Services (and admins) may check other callers' tokens.
    pub fn check_service(&self, what: &str) -> ServiceResult<()> {
        if matches!(self.role, Role::Service | Role::Admin) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} may not {what}: GovLens services only",
                self.describe()
            )))
        }
    }
}

/// The caller of a request, as [`AuthLayer`] left it.
pub fn principal_of<T>(request: &tonic::Request<T>) -> ServiceResult<Principal> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            // Every server mounts the layer; a missing principal is a wiring bug, and
            // refusing is the safe answer.
            ServiceError::Unauthenticated("no authenticated caller".into())
        })
}

/// Whether and how callers authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// `false` only when explicitly turned off (`GOVLENS_AUTH=off`): every caller is
    /// then an anonymous admin.
    pub required: bool,
    pub service_token: Option<String>,
    /// Calls per second per caller, and the burst above it; `None`: unlimited.
    pub rate_limit: Option<(u32, u32)>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("required", &self.required)
            .field(
                "service_token",
                &self.service_token.as_ref().map(|_| "<redacted>"),
            )
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl AuthConfig {
    /// No authentication: the embedded single-user default and the in-process tests.
    pub fn off() -> Self {
        AuthConfig {
            required: false,
            service_token: None,
            rate_limit: None,
        }
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = match get(ENV_AUTH).as_deref() {
            None | Some("required") | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError {
                    variable: ENV_AUTH,
                    message: format!("{other:?}: write \"required\" (the default) or \"off\""),
                })
            }
        };
        let service_token = get(ENV_SERVICE_TOKEN);
        if let Some(token) = &service_token {
            if token.chars().count() < MIN_SERVICE_TOKEN_CHARS {
                return Err(ConfigError {
                    variable: ENV_SERVICE_TOKEN,
                    message: format!(
                        "too short: use at least {MIN_SERVICE_TOKEN_CHARS} random characters"
                    ),
                });
            }
        }
        let number = |var: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| ConfigError {
                    variable: var,
                    message: format!("{v:?} is not a whole number"),
                }),
            }
        };
        let rps = number(ENV_RATE_LIMIT_RPS, 200)?;
        let burst = number(ENV_RATE_LIMIT_BURST, rps.saturating_mul(2))?;
        Ok(AuthConfig {
            required,
            service_token,
            rate_limit: (rps > 0).then_some((rps, burst.max(1))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn editor(scope: Option<&str>) -> Principal {
        Principal {
            subject: "e".into(),
            role: Role::Editor,
            scope: scope.map(str::to_string),
            token_id: Some("t".into()),
        }
    }

    #[test]
    fn editors_write_only_inside_their_subtree() {
        let gz = editor(Some("cn-gz"));
        assert!(gz.check_region_write("cn-gz", "/cn/cn-gz/").is_ok());
        assert!(gz.check_region_write("gy", "/cn/cn-gz/gy/").is_ok());
        assert!(matches!(
            gz.check_region_write("cn-sc", "/cn/cn-sc/"),
            Err(ServiceError::PermissionDenied(_))
        ));
        // A code that merely starts like the scope is another region.
        assert!(gz.check_region_write("cn-gzx", "/cn/cn-gzx/").is_err());
        assert!(gz.check_global_write("channels").is_err());
        assert!(editor(None).check_global_write("channels").is_ok());
    }

    #[test]
    fn readers_and_services_never_write() {
        for role in [Role::Reader, Role::Service] {
            let p = Principal {
                role,
                ..editor(None)
            };
            assert!(p.check_may_write().is_err());
            assert!(p.check_region_write("cn-gz", "/cn/cn-gz/").is_err());
            assert!(p.check_global_write("channels").is_err());
        }
        assert!(Principal::anonymous()
            .check_admin("read the audit log")
            .is_ok());
    }

    #[test]
    fn config_is_required_by_default_and_checks_the_service_token() {
        let cfg = |vars: &[(&str, &str)]| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            AuthConfig::from_lookup(|k| map.get(k).cloned())
        };
        let c = cfg(&[]).unwrap();
        assert!(c.required);
        assert_eq!(c.rate_limit, Some((200, 400)));
        assert!(!cfg(&[(ENV_AUTH, "off")]).unwrap().required);
        assert_eq!(cfg(&[(ENV_AUTH, "maybe")]).unwrap_err().variable, ENV_AUTH);
        assert_eq!(
            cfg(&[(ENV_SERVICE_TOKEN, "short")]).unwrap_err().variable,
            ENV_SERVICE_TOKEN
        );
        assert_eq!(cfg(&[(ENV_RATE_LIMIT_RPS, "0")]).unwrap().rate_limit, None);
        assert!(!format!(
            "{:?}",
            cfg(&[(ENV_SERVICE_TOKEN, &"x".repeat(40))]).unwrap()
        )
        .contains("xxxx"));
    }
}
