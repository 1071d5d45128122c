//! The tower layer that authenticates every call (but health and reflection), limits
//! each caller's rate, and passes the [`Principal`] on in the request's extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::limit::RateLimiter;
use super::token::{constant_time_eq, hash_secret};
use super::{AuthConfig, Principal};
use crate::{ServiceError, ServiceResult};

/// How long an authenticated token is trusted before it is checked again: a revoked
/// token stops working within this time.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

pub type AuthFuture = Pin<Box<dyn Future<Output = ServiceResult<Principal>> + Send>>;

/// Resolves an API token to its principal (the data service looks it up; the other
/// services ask the data service).
pub trait Authenticator: Send + Sync + 'static {
    /// UNAUTHENTICATED for unknown, malformed or revoked tokens.
    fn authenticate(&self, token: String) -> AuthFuture;
}

struct AuthState {
    config: AuthConfig,
    authenticator: Arc<dyn Authenticator>,
    limiter: Option<RateLimiter>,
    known: moka::sync::Cache<String, Principal>,
}

/// Adds authentication to a server.
#[derive(Clone)]
pub struct AuthLayer {
    state: Arc<AuthState>,
}

impl AuthLayer {
    pub fn new(config: AuthConfig, authenticator: Arc<dyn Authenticator>) -> Self {
        if !config.required {
            tracing::warn!(
                "authentication is OFF: every caller may read and write everything \
                 (GOVLENS_AUTH=off); never expose this server beyond your machine"
            );
        }
        let limiter = config
            .rate_limit
            .map(|(rps, burst)| RateLimiter::new(rps, burst));
        AuthLayer {
            state: Arc::new(AuthState {
                config,
                authenticator,
                limiter,
                known: moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(TOKEN_CACHE_TTL)
                    .build(),
            }),
        }
    }

    /// No authentication (every caller an anonymous admin).
    pub fn off() -> Self {
        struct Nobody;
        impl Authenticator for Nobody {
            fn authenticate(&self, _: String) -> AuthFuture {
                Box::pin(async { Err(ServiceError::Unauthenticated("no tokens here".into())) })
            }
        }
        AuthLayer::new(AuthConfig::off(), Arc::new(Nobody))
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    state: Arc<AuthState>,
}

/// Calls anyone may make: probes and tools must work without a token.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl AuthState {
    async fn principal(&self, headers: &http::HeaderMap) -> ServiceResult<Principal> {
        if !self.config.required {
            return Ok(Principal::anonymous());
        }
        let token = bearer(headers).ok_or_else(|| {
            ServiceError::Unauthenticated(
                "no credentials: send `authorization: Bearer <token>` (issue one with \
                 `govlens token issue`)"
                    .into(),
            )
        })?;
        if let Some(service) = &self.config.service_token {
            if constant_time_eq(token.as_bytes(), service.as_bytes()) {
                return Ok(Principal::service());
            }
        }
        let key = hash_secret(token);
        if let Some(known) = self.known.get(&key) {
            return Ok(known);
        }
        let principal = self.authenticator.authenticate(token.to_string()).await?;
        self.known.insert(key, principal.clone());
        Ok(principal)
    }

    fn admit(&self, principal: &Principal) -> ServiceResult<()> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Services carry every user's calls on to their upstreams: limiting them would
        // limit everyone at once. Users are limited where they enter.
        if principal.role == super::Role::Service || !self.config.required {
            return Ok(());
        }
        if limiter.try_acquire(&principal.rate_key()) {
            Ok(())
        } else {
            Err(ServiceError::ResourceExhausted(format!(
                "rate limit of {:?} reached; slow down and retry",
                principal.subject
            )))
        }
    }
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for Auth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service that was polled ready handles this call; a fresh clone takes its
        // place for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            if is_open(request.uri().path()) {
                return inner.call(request).await;
            }
            let admitted = match state.principal(request.headers()).await {
                Ok(principal) => state.admit(&principal).map(|()| principal),
                Err(e) => Err(e),
            };
            match admitted {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(e) => Ok(tonic::Status::from(e).into_http()),
            }
        })
    }
}
