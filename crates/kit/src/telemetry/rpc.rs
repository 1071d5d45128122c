//! Server-side telemetry for every gRPC call, as a tower layer in front of all
//! services: a span joined to the caller's trace when the call is traced (see
//! [`super::sampling`]), a latency histogram by method and
//! status code measured to the end of the response (streams included), and a debug
//! access log line that carries the trace id.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::Either;
use http_body::Frame;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::KeyValue;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::sampling::CallTracing;

/// Adds [`RpcTelemetry`] to a server.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcTelemetryLayer;

impl<S> tower::Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RpcTelemetry<S> {
    inner: S,
}

/// Calls that are polled every few seconds by probes and tools: measured, not traced.
fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for RpcTelemetry<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: http_body::Body,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().trim_start_matches('/').to_string();
        let (service, method) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let (service, method) = (service.to_string(), method.to_string());
        let traced = if is_infrastructure(request.uri().path()) {
            None
        } else {
            let parent = super::propagation::extract(request.headers());
            Some(super::sampling::decide(parent, &path))
        };
        let (span, untraced, trace_id) = match traced {
            None => (tracing::Span::none(), None, None),
            Some(CallTracing::Span(parent)) => {
                let span = tracing::info_span!(
                    target: "govlens::rpc",
                    "rpc",
                    otel.name = %path,
                    otel.kind = "server",
                    otel.status_code = tracing::field::Empty,
                    rpc.system = "grpc",
                    rpc.service = %service,
                    rpc.method = %method,
                    rpc.grpc.status_code = tracing::field::Empty,
                    trace_id = tracing::field::Empty,
                );
                let _ = span.set_parent(parent);
                let trace_id = span.context().span().span_context().trace_id();
                let trace_id = (trace_id != opentelemetry::trace::TraceId::INVALID).then(|| {
                    span.record("trace_id", tracing::field::display(trace_id));
                    trace_id
                });
                (span, None, trace_id)
            }
            // No span: the call's trace context is made current around it instead,
            // which is far cheaper (BENCHMARKS.md, "Where the time goes").
            Some(CallTracing::Unsampled(cx)) => {
                let trace_id = cx.span().span_context().trace_id();
                (tracing::Span::none(), Some(cx), Some(trace_id))
            }
        };
        let observation = Observation {
            trace_id,
            span: span.clone(),
            started: Instant::now(),
            service,
            method,
            code: None,
        };
        let response = match untraced {
            Some(cx) => Either::Left(self.inner.call(request).with_context(cx)),
            None => Either::Right(self.inner.call(request).instrument(span)),
        };
        Box::pin(async move {
            let mut observation = observation;
            match response.await {
                Ok(response) => {
                    // Errors before the first message come back "trailers-only": the
                    // status is in the headers. Otherwise it is in the trailers.
                    observation.code = grpc_status(response.headers());
                    Ok(response.map(|body| ObservedBody { body, observation }))
                }
                Err(e) => {
                    observation.code = Some(tonic::Code::Unknown);
                    Err(e)
                }
            }
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    Some(tonic::Code::from_i32(value.trim().parse().ok()?))
}

/// One call being measured; recorded when the response ends or is dropped.
struct Observation {
    span: tracing::Span,
    /// The call's trace id, for its access line (an untraced call has no span that
    /// would carry it).
    trace_id: Option<opentelemetry::trace::TraceId>,
    started: Instant,
    service: String,
    method: String,
    code: Option<tonic::Code>,
}

impl Drop for Observation {
    fn drop(&mut self) {
        // A response dropped before its trailers: the client went away.
        let code = self.code.unwrap_or(tonic::Code::Cancelled);
        let elapsed = self.started.elapsed();
        super::metrics::instruments().rpc_duration.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", self.service.clone()),
                KeyValue::new("rpc.method", self.method.clone()),
                KeyValue::new("rpc.grpc.status_code", code as i64),
            ],
        );
        self.span.record("rpc.grpc.status_code", code as i64);
        if is_server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        let _entered = self.span.enter();
        tracing::debug!(
            target: "govlens::access",
            service = %self.service,
            method = %self.method,
            code = ?code,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            trace_id = %self.trace_id.map(|t| t.to_string()).unwrap_or_default(),
            "rpc finished"
        );
    }
}

/// Codes that mean the server failed (OpenTelemetry's rule for gRPC servers); the
/// others are the caller's mistakes and leave the span unset.
fn is_server_error(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unknown | DeadlineExceeded | Unimplemented | Internal | Unavailable | DataLoss
    )
}

pin_project_lite::pin_project! {
    /// A response body that tells its [`Observation`] the final status.
    pub struct ObservedBody<B> {
        #[pin]
        body: B,
        observation: Observation,
    }
}

impl<B: http_body::Body> http_body::Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    this.observation.code = Some(code);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.observation.code.get_or_insert(tonic::Code::Internal);
            }
            Poll::Ready(None) => {
                // A finished body without a status is a successful unary reply.
                this.observation.code.get_or_insert(tonic::Code::Ok);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
