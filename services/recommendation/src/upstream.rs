//! Clients of the scoring and data services.
//!
//! - Every call carries a deadline: the configured upstream timeout, cut to what remains
//!   of the caller's own deadline when the request being served carried one
//!   (`grpc-timeout`, made known to this module by [`CallerDeadline`] or
//!   [`with_caller_deadline`]).
//! - Reads (methods named Get*, List*, Export*, Score*, Compare*, Explain*) are retried
//!   by the channel itself, a bounded number of times with exponential backoff and
//!   jitter ([`RetryPolicy`]), only when the upstream was unavailable (UNAVAILABLE,
//!   refused connection) or refused the call unprocessed while going away (GOAWAY), and
//!   never past the deadline. Writes are never retried.
//! - Upstream failures reach the caller as UNAVAILABLE (never INTERNAL).

use govlens_kit::lease::{watch_data_revision, watch_model_revision, RevisionLease, RENEW_EVERY};
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use govlens_kit::telemetry::propagation::{refused_by_goaway, traced, TracedChannel};
use govlens_kit::{ServiceError, ServiceResult};
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use govlens_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use tokio::time::Instant;
use tonic::codegen::{http, Body as HttpBody, Bytes, Service, StdError};

/// The metadata key (and HTTP/2 header) of a gRPC call's timeout.
const GRPC_TIMEOUT: &str = "grpc-timeout";

// ---- the caller's deadline ----

tokio::task_local! {
    static CALLER_DEADLINE: Instant;
}

/// The deadline of the call being served, when its caller sent one and the handler
/// runs under [`CallerDeadline`] or [`with_caller_deadline`].
pub fn caller_deadline() -> Option<Instant> {
    CALLER_DEADLINE.try_with(|d| *d).ok()
}

/// How long an upstream call may take: `configured`, cut to what remains of the
/// caller's deadline.
pub fn budget(configured: Duration) -> Duration {
    match caller_deadline() {
        Some(deadline) => configured.min(deadline.saturating_duration_since(Instant::now())),
        None => configured,
    }
}

/// Reads a `grpc-timeout` value ("250m", "3S", "1500000u", ...; at most 8 digits).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Writes a `grpc-timeout` value with the finest unit that fits in 8 digits.
pub fn format_grpc_timeout(d: Duration) -> String {
    const MAX: u128 = 99_999_999;
    if d.as_micros() <= MAX {
        format!("{}u", d.as_micros())
    } else if d.as_millis() <= MAX {
        format!("{}m", d.as_millis())
    } else {
        format!("{}S", d.as_secs().min(MAX as u64))
    }
}

fn header_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    parse_grpc_timeout(headers.get(GRPC_TIMEOUT)?.to_str().ok()?)
}

/// Runs `handler` with the deadline the caller put in `metadata` (if any) known to the
/// upstream calls it makes.
pub async fn with_caller_deadline<F: Future>(
    metadata: &tonic::metadata::MetadataMap,
    handler: F,
) -> F::Output {
    let timeout = metadata
        .get(GRPC_TIMEOUT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout);
    match timeout {
        Some(t) => CALLER_DEADLINE.scope(Instant::now() + t, handler).await,
        None => handler.await,
    }
}

/// A served gRPC service whose handlers know their caller's deadline: wrap the
/// generated server, `.add_service(CallerDeadline::new(component.service()))`, so that
/// upstream calls made while serving a request never outlive its caller.
#[derive(Debug, Clone)]
pub struct CallerDeadline<S> {
    inner: S,
}

impl<S> CallerDeadline<S> {
    pub fn new(inner: S) -> Self {
        CallerDeadline { inner }
    }
}

impl<S, B> Service<http::Request<B>> for CallerDeadline<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let deadline = header_timeout(request.headers()).map(|t| Instant::now() + t);
        let handler = self.inner.call(request);
        match deadline {
            Some(d) => Box::pin(CALLER_DEADLINE.scope(d, handler)),
            None => Box::pin(handler),
        }
    }
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for CallerDeadline<S> {
    const NAME: &'static str = S::NAME;
}

// ---- retries ----

/// Bounded retries with exponential backoff: pause `first_delay * 2^n` (±20 % jitter)
/// before retry `n`, at most `retries` times, and never past the call's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub first_delay: Duration,
}

impl RetryPolicy {
    /// 3 retries after 50, 100 and 200 ms (about 350 ms in all).
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        retries: 3,
        first_delay: Duration::from_millis(50),
    };

    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        retries: 0,
        first_delay: Duration::ZERO,
    };

    /// The pause before retry `n` (0-based), with jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let nominal = self.first_delay.saturating_mul(1 << n.min(16));
        // 0.8 .. 1.2 of the nominal pause, so that callers failing together do not
        // retry together.
        let r = std::collections::hash_map::RandomState::new().hash_one(n) % 401;
        nominal.mul_f64(0.8 + r as f64 / 1000.0)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

/// Whether the method at `path` (`/package.Service/Method`) only reads, so that sending
/// it again is harmless.
pub fn is_read(path: &str) -> bool {
    let method = path.rsplit('/').next().unwrap_or_default();
    ["Get", "List", "Export", "Score", "Compare", "Explain"]
        .iter()
        .any(|prefix| method.starts_with(prefix))
}

/// Whether a failed call was not processed for want of a server, so that trying again
/// shortly may succeed: UNAVAILABLE (including a refused connection), or refused while
/// the server was going away.
pub fn retryable(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable || refused_by_goaway(status)
}

/// The status of a "trailers-only" reply (an error before any message) when it is
/// UNAVAILABLE.
fn unavailable_reply<B>(response: &http::Response<B>) -> bool {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == (tonic::Code::Unavailable as i32).to_string())
}

/// A channel that retries reads (see the module documentation).
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Retry<S> {
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for Retry<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<StdError>,
    ResBody: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = StdError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, StdError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StdError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // The service made ready by poll_ready takes this call; its clone waits for
        // readiness itself before each retry.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if self.policy.retries == 0 || !is_read(request.uri().path()) {
            let response = inner.call(request);
            return Box::pin(async move { response.await.map_err(Into::into) });
        }
        Box::pin(retry_read(inner, self.policy, request))
    }
}

async fn collect(mut body: tonic::body::Body) -> Result<Bytes, tonic::Status> {
    let mut buf = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn rebuild(
    parts: &http::request::Parts,
    message: &Bytes,
    left: Option<Duration>,
) -> http::Request<tonic::body::Body> {
    let body = tonic::body::Body::new(tonic::service::AxumBody::from(message.clone()));
    let mut request = http::Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    if let Some(left) = left {
        if let Ok(value) = format_grpc_timeout(left).parse() {
            request.headers_mut().insert(GRPC_TIMEOUT, value);
        }
    }
    request
}

fn deadline_passed(path: &str) -> StdError {
    Box::new(tonic::Status::deadline_exceeded(format!(
        "no time left for {path}"
    )))
}

async fn retry_read<S, ResBody>(
    mut inner: S,
    policy: RetryPolicy,
    request: http::Request<tonic::body::Body>,
) -> Result<http::Response<ResBody>, StdError>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Error: Into<StdError>,
{
    let started = Instant::now();
    // The request's own timeout (the caller's deadline is already in it when it was
    // built with Upstreams::request), and the caller's deadline in any case.
    let deadline = match (
        header_timeout(request.headers()).map(|t| started + t),
        caller_deadline(),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let message = collect(body).await.map_err(Box::new)?;
    let mut retry = 0;
    loop {
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(deadline_passed(&path)),
            },
            None => None,
        };
        if retry > 0 {
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
        }
        let attempt = inner.call(rebuild(&parts, &message, left));
        let outcome: Result<_, StdError> = match deadline {
            Some(d) => tokio::time::timeout_at(d, attempt)
                .await
                .map_err(|_| deadline_passed(&path))?
                .map_err(Into::into),
            None => attempt.await.map_err(Into::into),
        };
        let delay = policy.delay(retry);
        let may_retry =
            retry < policy.retries && deadline.is_none_or(|d| Instant::now() + delay < d);
        let reason = match outcome {
            Ok(response) if may_retry && unavailable_reply(&response) => "UNAVAILABLE".to_string(),
            Ok(response) => return Ok(response),
            Err(e) => {
                let status = tonic::Status::from_error(e);
                if !(may_retry && retryable(&status)) {
                    return Err(Box::new(status));
                }
                format!("{:?}: {}", status.code(), status.message())
            }
        };
        retry += 1;
        tracing::debug!(
            method = %path,
            retry,
            of = policy.retries,
            delay_ms = delay.as_millis() as u64,
            reason,
            "retrying upstream read"
        );
        tokio::time::sleep(delay).await;
    }
}

// ---- the clients ----

/// The channel of the upstream clients: reads retried, each attempt carrying the
/// caller's trace context.
pub type UpstreamChannel = Retry<TracedChannel>;

/// Lazily connected clients: upstreams may start after this service.
#[derive(Clone)]
pub struct Upstreams {
    pub data: DataServiceClient<UpstreamChannel>,
    pub scoring: ScoringServiceClient<UpstreamChannel>,
    pub timeout: Duration,
    /// The data revision as pushed by the data service, while a lease lasts.
    pub revision_lease: Option<Arc<RevisionLease>>,
    /// The revision of the scoring service's model store, while a lease lasts.
    pub model_lease: Option<Arc<RevisionLease>>,
}

/// Calls on it carry the caller's trace context; reads are retried.
fn channel(addr: &str) -> anyhow::Result<UpstreamChannel> {
    let channel = govlens_kit::tls::endpoint(addr)?
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    Ok(Retry::new(traced(channel), RetryPolicy::DEFAULT))
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
            revision_lease: None,
            model_lease: None,
        })
    }

    /// The same clients, watching the data service at `data_addr` for revision leases
    /// and the scoring service at `scoring_addr` for model revision leases (see
    /// [`govlens_kit::lease`]). Needs a Tokio runtime.
    pub fn with_revision_leases(
        mut self,
        data_addr: &str,
        scoring_addr: &str,
    ) -> anyhow::Result<Self> {
        self.revision_lease = Some(watch_data_revision(data_addr, RENEW_EVERY)?);
        self.model_lease = Some(watch_model_revision(scoring_addr, RENEW_EVERY)?);
        Ok(self)
    }

    /// A request carrying this service's deadline, cut to the caller's.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(budget(self.timeout));
        request
    }
}

/// An upstream status as this service's error: bad arguments and missing things are
/// passed on (they come from the caller's request), outages become UNAVAILABLE.
pub fn upstream_error(service: &str, status: tonic::Status) -> ServiceError {
    use tonic::Code::*;
    if refused_by_goaway(&status) {
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

/// Awaits an upstream call within `timeout`, cut to the caller's deadline.
pub async fn call<T>(
    service: &str,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> ServiceResult<T> {
    let timeout = budget(timeout);
    if timeout.is_zero() {
        return Err(ServiceError::Unavailable(format!(
            "no time left to call the {service} service before the caller's deadline"
        )));
    }
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(upstream_error(service, status)),
        Err(_) => Err(ServiceError::Unavailable(format!(
            "the {service} service did not answer within {timeout:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn grpc_timeouts_round_trip() {
        for (text, d) in [
            ("3S", Duration::from_secs(3)),
            ("250m", Duration::from_millis(250)),
            ("1500000u", Duration::from_millis(1500)),
            ("2M", Duration::from_secs(120)),
            ("1H", Duration::from_secs(3600)),
            ("10n", Duration::from_nanos(10)),
        ] {
            assert_eq!(parse_grpc_timeout(text), Some(d), "{text}");
        }
        for bad in ["", "S", "3", "3s", "123456789S", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
        for d in [
            Duration::from_millis(1),
            Duration::from_secs(10),
            Duration::from_secs(1000),
            Duration::from_secs(1_000_000),
        ] {
            let text = format_grpc_timeout(d);
            let back = parse_grpc_timeout(&text).unwrap();
            assert!(
                back <= d && d - back < Duration::from_secs(1),
                "{d:?} {text}"
            );
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let p = RetryPolicy::DEFAULT;
        for (n, nominal) in [(0, 50.0), (1, 100.0), (2, 200.0)] {
            for _ in 0..50 {
                let ms = p.delay(n).as_secs_f64() * 1e3;
                assert!(
                    ms >= nominal * 0.8 - 1e-6 && ms <= nominal * 1.2 + 1e-6,
                    "{n}: {ms}"
                );
            }
        }
    }

    #[test]
    fn unavailable_and_goaway_refusals_are_retryable() {
        assert!(retryable(&tonic::Status::unavailable("tcp connect error")));
        assert!(retryable(&tonic::Status::internal(
            "h2 protocol error: connection error received: not a result of an error"
        )));
        assert!(!retryable(&tonic::Status::internal("boom")));
        assert!(!retryable(&tonic::Status::deadline_exceeded("late")));
        assert!(!retryable(&tonic::Status::invalid_argument("bad")));
    }

    #[test]
    fn only_reads_are_retried() {
        for read in [
            "/govlens.data.v1.DataService/GetDataRevision",
            "/govlens.data.v1.DataService/ListPlatforms",
            "/govlens.data.v1.DataService/ExportRecords",
            "/govlens.scoring.v1.ScoringService/ScoreUnits",
            "/govlens.scoring.v1.ScoringService/CompareRegions",
        ] {
            assert!(is_read(read), "{read}");
        }
        for write in [
            "/govlens.data.v1.DataService/CreatePlatform",
            "/govlens.data.v1.DataService/ImportRecords",
            "/govlens.data.v1.DataService/DeleteRegion",
            "/govlens.scoring.v1.ScoringService/CreateModel",
        ] {
            assert!(!is_read(write), "{write}");
        }
    }

    #[tokio::test]
    async fn the_caller_deadline_cuts_the_budget() {
        assert_eq!(budget(Duration::from_secs(10)), Duration::from_secs(10));
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert(GRPC_TIMEOUT, "300m".parse().unwrap());
        let inside = with_caller_deadline(&metadata, async { budget(Duration::from_secs(10)) });
        let b = inside.await;
        assert!(
            b <= Duration::from_millis(300) && b > Duration::from_millis(200),
            "{b:?}"
        );
        let b = with_caller_deadline(&metadata, async { budget(Duration::from_millis(100)) }).await;
        assert_eq!(b, Duration::from_millis(100));
    }

    /// A served service that answers with the budget its handler sees.
    #[derive(Clone)]
    struct ReportsBudget;

    impl Service<http::Request<tonic::body::Body>> for ReportsBudget {
        type Response = Duration;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Duration, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
            Box::pin(async {
                tokio::task::yield_now().await;
                Ok(budget(Duration::from_secs(10)))
            })
        }
    }

    #[tokio::test]
    async fn served_calls_know_their_caller_deadline() {
        let mut served = CallerDeadline::new(ReportsBudget);
        let seen = served.call(request(READ, Some("300m"))).await.unwrap();
        assert!(
            seen <= Duration::from_millis(300) && seen > Duration::from_millis(200),
            "{seen:?}"
        );
        let seen = served.call(request(READ, None)).await.unwrap();
        assert_eq!(seen, Duration::from_secs(10));
    }

    #[test]
    fn caller_deadline_wraps_a_served_grpc_service() {
        let (_, health) = tonic_health::server::health_reporter();
        let _router = tonic::transport::Server::builder().add_service(CallerDeadline::new(health));
    }

    /// A stand-in upstream: answers each call with the next of `replies` (the last one
    /// repeats), counting calls.
    #[derive(Clone)]
    struct Scripted {
        calls: Arc<AtomicU32>,
        replies: Arc<Vec<Result<u16, tonic::Code>>>,
        timeouts: Arc<std::sync::Mutex<Vec<Option<Duration>>>>,
    }

    impl Scripted {
        fn new(replies: Vec<Result<u16, tonic::Code>>) -> Self {
            Scripted {
                calls: Arc::default(),
                replies: Arc::new(replies),
                timeouts: Arc::default(),
            }
        }
    }

    impl Service<http::Request<tonic::body::Body>> for Scripted {
        type Response = http::Response<()>;
        type Error = StdError;
        type Future = Pin<Box<dyn Future<Output = Result<http::Response<()>, StdError>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), StdError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
            self.timeouts
                .lock()
                .unwrap()
                .push(header_timeout(request.headers()));
            let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
            let reply = self.replies[n.min(self.replies.len() - 1)];
            Box::pin(async move {
                let body = collect(request.into_body()).await.unwrap();
                assert_eq!(
                    &body[..],
                    b"message",
                    "every attempt sends the whole message"
                );
                match reply {
                    Ok(grpc_status) => {
                        let mut response = http::Response::new(());
                        response
                            .headers_mut()
                            .insert("grpc-status", grpc_status.into());
                        Ok(response)
                    }
                    Err(code) => Err(Box::new(tonic::Status::new(code, "scripted")) as StdError),
                }
            })
        }
    }

    fn request(path: &str, timeout: Option<&str>) -> http::Request<tonic::body::Body> {
        let mut r = http::Request::new(tonic::body::Body::new(tonic::service::AxumBody::from(
            Bytes::from_static(b"message"),
        )));
        *r.uri_mut() = format!("http://upstream{path}").parse().unwrap();
        if let Some(t) = timeout {
            r.headers_mut().insert(GRPC_TIMEOUT, t.parse().unwrap());
        }
        r
    }

    const READ: &str = "/govlens.data.v1.DataService/GetDataRevision";

    #[tokio::test]
    async fn reads_are_retried_while_unavailable() {
        use tonic::Code::Unavailable;
        let up = Scripted::new(vec![Err(Unavailable), Ok(14), Err(Unavailable), Ok(0)]);
        let mut retry = Retry::new(up.clone(), RetryPolicy::DEFAULT);
        let response = retry.call(request(READ, Some("10S"))).await.unwrap();
        assert_eq!(response.headers()["grpc-status"], "0");
        assert_eq!(up.calls.load(Ordering::SeqCst), 4);
        // Each attempt carries the time left, less than the one before.
        let timeouts: Vec<Duration> = up
            .timeouts
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.unwrap())
            .collect();
        assert!(timeouts.windows(2).all(|w| w[1] < w[0]), "{timeouts:?}");
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let up = Scripted::new(vec![Err(tonic::Code::Unavailable)]);
        let mut retry = Retry::new(up.clone(), RetryPolicy::DEFAULT);
        let started = Instant::now();
        let status =
            tonic::Status::from_error(retry.call(request(READ, Some("10S"))).await.unwrap_err());
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(up.calls.load(Ordering::SeqCst), 4, "1 call + 3 retries");
        let waited = started.elapsed();
        // 50 + 100 + 200 ms, each within ±20 %.
        assert!(waited >= Duration::from_millis(280), "{waited:?}");
        // The last reply, a trailers-only UNAVAILABLE, is passed on as it came.
        let up = Scripted::new(vec![Ok(14)]);
        let mut retry = Retry::new(up.clone(), RetryPolicy::DEFAULT);
        let response = retry.call(request(READ, Some("10S"))).await.unwrap();
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(up.calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn other_failures_and_writes_are_not_retried() {
        use tonic::Code::{Internal, Unavailable};
        for (path, reply) in [
            (READ, Err(Internal)),
            (READ, Ok(5)),
            (
                "/govlens.data.v1.DataService/CreatePlatform",
                Err(Unavailable),
            ),
            ("/govlens.data.v1.DataService/CreatePlatform", Ok(14)),
        ] {
            let up = Scripted::new(vec![reply]);
            let mut retry = Retry::new(up.clone(), RetryPolicy::DEFAULT);
            let _ = retry.call(request(path, Some("10S"))).await;
            assert_eq!(up.calls.load(Ordering::SeqCst), 1, "{path} {reply:?}");
        }
    }

    #[tokio::test]
    async fn no_retry_past_the_deadline() {
        // Pauses of 160-240 ms, then 320-480 ms: 450 ms leave room for the first retry
        // and not for the second.
        let slow = RetryPolicy {
            retries: 3,
            first_delay: Duration::from_millis(200),
        };
        let up = Scripted::new(vec![Err(tonic::Code::Unavailable)]);
        let mut retry = Retry::new(up.clone(), slow);
        let started = Instant::now();
        let _ = retry.call(request(READ, Some("450m"))).await;
        assert_eq!(up.calls.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() < Duration::from_millis(450));
        // The caller's deadline counts even when the request's own timeout is longer.
        let up = Scripted::new(vec![Err(tonic::Code::Unavailable)]);
        let mut retry = Retry::new(up.clone(), slow);
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert(GRPC_TIMEOUT, "450m".parse().unwrap());
        let started = Instant::now();
        let _ = with_caller_deadline(&metadata, retry.call(request(READ, Some("10S")))).await;
        assert_eq!(up.calls.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() < Duration::from_millis(450));
    }
}
