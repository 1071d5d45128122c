//! Clients of the scoring and data services, with a deadline on every call and
//! upstream failures mapped to UNAVAILABLE (never INTERNAL) for the caller.

use std::time::Duration;

use govlens_kit::telemetry::propagation::{traced, TracedChannel};
use govlens_kit::{ServiceError, ServiceResult};
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use govlens_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Endpoint;

/// Lazily connected clients: upstreams may start after this service.
#[derive(Clone)]
pub struct Upstreams {
    pub data: DataServiceClient<TracedChannel>,
    pub scoring: ScoringServiceClient<TracedChannel>,
    pub timeout: Duration,
}

/// Calls on it carry the caller's trace context.
fn channel(addr: &str) -> anyhow::Result<TracedChannel> {
    Ok(traced(
        Endpoint::from_shared(addr.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy(),
    ))
}

impl Upstreams {
    pub fn connect_lazy(
        data_addr: &str,
        scoring_addr: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Upstreams {
            data: DataServiceClient::new(channel(data_addr)?).max_decoding_message_size(64 << 20),
            scoring: ScoringServiceClient::new(channel(scoring_addr)?)
                .max_decoding_message_size(64 << 20),
            timeout,
        })
    }

    /// A request carrying this service's deadline.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }
}

/// An upstream status as this service's error: bad arguments and missing things are
/// passed on (they come from the caller's request), outages become UNAVAILABLE.
pub fn upstream_error(service: &str, status: tonic::Status) -> ServiceError {
    use tonic::Code::*;
    if govlens_kit::telemetry::propagation::refused_by_goaway(&status) {
        return ServiceError::Unavailable(format!(
            "the {service} service is restarting: {}",
            status.message()
        ));
    }
    match status.code() {
        InvalidArgument => {
            ServiceError::invalid_field("scope", format!("{service}: {}", status.message()))
        }
        NotFound => ServiceError::NotFound {
            resource: service.to_string(),
            name: status.message().to_string(),
        },
        FailedPrecondition => {
            ServiceError::precondition(format!("{service}: {}", status.message()))
        }
        Unavailable | DeadlineExceeded | Cancelled | ResourceExhausted => {
            ServiceError::Unavailable(format!(
                "the {service} service is unavailable: {}",
                status.message()
            ))
        }
        _ => ServiceError::internal(anyhow::anyhow!("{service} call failed: {status}")),
    }
}

/// Awaits an upstream call within the deadline.
pub async fn call<T>(
    service: &str,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> ServiceResult<T> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(upstream_error(service, status)),
        Err(_) => Err(ServiceError::Unavailable(format!(
            "the {service} service did not answer within {timeout:?}"
        ))),
    }
}
