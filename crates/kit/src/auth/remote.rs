//! Token checks for the services that do not hold the tokens: they ask the data
//! service (IntrospectToken) as themselves, and cache the answer briefly (see
//! [`super::layer::TOKEN_CACHE_TTL`]).

use std::time::Duration;

use govlens_proto::data::v1::{self as pb, data_service_client::DataServiceClient};

use super::layer::{AuthFuture, Authenticator};
use super::{Principal, Role};
use crate::telemetry::propagation::{traced, TracedChannel};
use crate::ServiceError;

pub struct RemoteAuthenticator {
    client: DataServiceClient<TracedChannel>,
    timeout: Duration,
}

impl RemoteAuthenticator {
    /// Checks tokens at the data service at `data_addr` (connects lazily).
    pub fn connect_lazy(data_addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let channel = crate::tls::endpoint(data_addr)?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        Ok(RemoteAuthenticator {
            client: DataServiceClient::new(traced(channel)),
            timeout,
        })
    }
}

fn role_from_pb(role: i32) -> Option<Role> {
    match pb::Role::try_from(role).ok()? {
        pb::Role::Reader => Some(Role::Reader),
        pb::Role::Editor => Some(Role::Editor),
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Service => Some(Role::Service),
        pb::Role::Unspecified => None,
    }
}

impl Authenticator for RemoteAuthenticator {
    fn authenticate(&self, token: String) -> AuthFuture {
        let mut client = self.client.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let mut request = tonic::Request::new(pb::IntrospectTokenRequest { token });
            request.set_timeout(timeout);
            let answer = match tokio::time::timeout(timeout, client.introspect_token(request)).await
            {
                Ok(Ok(answer)) => answer.into_inner(),
                Ok(Err(status)) => {
                    tracing::warn!(%status, "the data service could not check a token");
                    return Err(ServiceError::Unavailable(
                        "cannot check credentials: the data service is unavailable".into(),
                    ));
                }
                Err(_) => {
                    return Err(ServiceError::Unavailable(
                        "cannot check credentials: the data service did not answer in time".into(),
                    ))
                }
            };
            let refused = || ServiceError::Unauthenticated("invalid or revoked token".into());
            if !answer.active {
                return Err(refused());
            }
            Ok(Principal {
                role: role_from_pb(answer.role).ok_or_else(refused)?,
                subject: answer.subject,
                scope: Some(answer.scope_region_code).filter(|s| !s.is_empty()),
                token_id: Some(answer.token_id).filter(|s| !s.is_empty()),
            })
        })
    }
}
