//! W3C trace context (`traceparent`, `tracestate`) in gRPC metadata: read by the
//! server layer, written by every upstream client, so one call is one trace across
//! the services.

use opentelemetry::propagation::{Extractor, Injector};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Reads trace context from incoming HTTP/2 headers.
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes trace context into outgoing gRPC metadata.
struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The current span's context, extracted from incoming `headers`.
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Puts the current trace context (the current span's, or an untraced call's) into
/// `metadata`.
pub fn inject_current(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = super::sampling::current_context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataInjector(metadata))
    });
}

/// This process's credentials for its upstream calls (the service token), set once
/// at start: every upstream call of a service is made as that service.
static SERVICE_CREDENTIALS: std::sync::OnceLock<
    tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
> = std::sync::OnceLock::new();

/// Makes every upstream call of this process carry `token` as bearer credentials.
/// Later calls with another token are refused: one process, one identity.
pub fn set_service_credentials(token: &str) -> anyhow::Result<()> {
    let value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = format!("Bearer {token}")
        .parse()
        .map_err(|_| anyhow::anyhow!("the service token is not valid in a header"))?;
    let stored = SERVICE_CREDENTIALS.get_or_init(|| value.clone());
    anyhow::ensure!(
        *stored == value,
        "this process already calls its upstreams with another service token"
    );
    Ok(())
}

/// Client interceptor that passes the caller's trace on, and this service's
/// credentials when it has any.
#[derive(Debug, Clone, Copy, Default)]
pub struct InjectTraceContext;

impl tonic::service::Interceptor for InjectTraceContext {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        inject_current(request.metadata_mut());
        if let Some(value) = SERVICE_CREDENTIALS.get() {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel whose calls carry the caller's trace context (and credentials).
pub type TracedChannel = InterceptedService<Channel, InjectTraceContext>;

/// Wraps `channel` so its calls carry trace context.
pub fn traced(channel: Channel) -> TracedChannel {
    InterceptedService::new(channel, InjectTraceContext)
}

/// Whether an upstream call failed because it reached a server that was going away:
/// HTTP/2 refuses streams above a GOAWAY's last stream id, unprocessed, and tonic
/// reports that as INTERNAL "h2 protocol error". Callers treat it as UNAVAILABLE (safe
/// to retry), not as an internal failure.
pub fn refused_by_goaway(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Internal && status.message().starts_with("h2 protocol error")
}
