//! Reads the data service over gRPC (never its tables): the data revision, and a full
//! snapshot of the records, kept in memory per revision so repeated scoring calls at
//! the same revision fetch nothing.
//!
//! Every read has a deadline: the configured upstream timeout, cut to what remains of
//! the caller's own deadline when the request being served carried one
//! (`grpc-timeout`, made known here by [`CallerDeadline`] or [`with_caller_deadline`]).
//! A read that finds the data service unavailable (UNAVAILABLE, a refused connection,
//! or a call refused unprocessed by a server going away) is tried again a bounded
//! number of times with exponential backoff and jitter ([`RetryPolicy`]), never past
//! that deadline.

use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use govlens_dataset::convert::record_from_pb;
use govlens_dataset::AnyRecord;
use govlens_kit::coalesce::Coalesced;
use govlens_kit::lease::{watch_data_revision, RevisionLease, RENEW_EVERY};
use govlens_kit::telemetry::propagation::{refused_by_goaway, traced, TracedChannel};
use govlens_kit::{ServiceError, ServiceResult};
use govlens_proto::data::v1 as pb;
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tonic::codegen::{http, Service};

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

/// How long a read may take: `configured`, cut to what remains of the caller's
/// deadline.
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

fn header_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    parse_grpc_timeout(headers.get(GRPC_TIMEOUT)?.to_str().ok()?)
}

/// Runs `handler` with the deadline the caller put in `metadata` (if any) known to the
/// reads it makes.
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
/// the reads made while serving a request never outlive its caller.
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
/// before retry `n`, at most `retries` times, and never past the read's deadline.
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

/// Whether a failed read was not served for want of a server, so that trying again
/// shortly may succeed.
pub fn retryable(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable || refused_by_goaway(status)
}

/// Runs `attempt` (given the time left) until it succeeds, fails for good, the retries
/// run out, or the next pause would end past `deadline`.
async fn retrying<T, F, Fut>(
    what: &str,
    policy: RetryPolicy,
    deadline: Instant,
    mut attempt: F,
) -> ServiceResult<T>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let mut retry = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ServiceError::Unavailable(format!(
                "the data service did not answer {what} in time"
            )));
        }
        let status = match tokio::time::timeout_at(deadline, attempt(left)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(status)) => status,
            Err(_) => {
                return Err(ServiceError::Unavailable(format!(
                    "the data service did not answer {what} in time"
                )))
            }
        };
        let delay = policy.delay(retry);
        if retry >= policy.retries || !retryable(&status) || Instant::now() + delay >= deadline {
            return Err(upstream_error(status));
        }
        retry += 1;
        tracing::debug!(
            read = what,
            retry,
            of = policy.retries,
            delay_ms = delay.as_millis() as u64,
            reason = format!("{:?}: {}", status.code(), status.message()),
            "retrying upstream read"
        );
        tokio::time::sleep(delay).await;
    }
}

/// All records at one data revision.
#[derive(Debug)]
pub struct Snapshot {
    /// Identity of the data service's database (revisions count per database).
    pub instance: String,
    pub revision: i64,
    pub records: Vec<AnyRecord>,
}

/// A client of the data service with a per-revision snapshot cache.
#[derive(Clone)]
pub struct DataSource {
    client: DataServiceClient<TracedChannel>,
    timeout: Duration,
    retry: RetryPolicy,
    latest: Arc<Mutex<Option<Arc<Snapshot>>>>,
    /// Concurrent revision reads share one GetDataRevision (each still sees a revision
    /// read after it arrived).
    revisions: Arc<Coalesced<(), (String, i64)>>,
    /// The revision as pushed by the data service, while a lease lasts.
    lease: Option<Arc<RevisionLease>>,
}

fn upstream_error(status: tonic::Status) -> ServiceError {
    if refused_by_goaway(&status) {
        return ServiceError::Unavailable(format!(
            "the data service is restarting: {}",
            status.message()
        ));
    }
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            ServiceError::Unavailable(format!(
                "the data service is unavailable: {}",
                status.message()
            ))
        }
        _ => ServiceError::internal(anyhow::anyhow!("data service call failed: {status}")),
    }
}

impl DataSource {
    /// A lazily connecting client: the data service may start after this one.
    pub fn connect_lazy(addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let channel = govlens_kit::tls::endpoint(addr)?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let client = DataServiceClient::new(traced(channel)).max_decoding_message_size(64 << 20);
        Ok(DataSource {
            client,
            timeout,
            retry: RetryPolicy::DEFAULT,
            latest: Arc::default(),
            revisions: Arc::default(),
            lease: None,
        })
    }

    /// The same source with another retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same source, watching the data service at `addr` for revision leases
    /// (see [`govlens_kit::lease`]). Needs a Tokio runtime.
    pub fn with_revision_lease(mut self, addr: &str) -> anyhow::Result<Self> {
        self.lease = Some(watch_data_revision(addr, RENEW_EVERY)?);
        Ok(self)
    }

    /// The data service's database identity and current revision, as read after this
    /// call began: from the lease when one lasts (the data service then acknowledges
    /// no write this service has not seen), else asked for.
    pub async fn revision(&self) -> ServiceResult<(String, i64)> {
        if let Some(current) = self.lease.as_ref().and_then(|l| l.current()) {
            return Ok(current);
        }
        let wait = budget(self.timeout);
        match tokio::time::timeout(wait, self.revisions.get(&(), || self.read_revision())).await {
            Ok(result) => result,
            Err(_) => Err(ServiceError::Unavailable(
                "the data service did not answer GetDataRevision in time".into(),
            )),
        }
    }

    async fn read_revision(&self) -> ServiceResult<(String, i64)> {
        let deadline = Instant::now() + budget(self.timeout);
        let r = retrying("GetDataRevision", self.retry, deadline, |left| {
            let mut client = self.client.clone();
            let mut request = tonic::Request::new(pb::GetDataRevisionRequest {});
            request.set_timeout(left);
            async move { client.get_data_revision(request).await }
        })
        .await?
        .into_inner();
        Ok((r.instance, r.revision))
    }

    /// Whether the data service answers.
    pub async fn ping(&self) -> bool {
        self.revision().await.is_ok()
    }

    /// Every record at the current revision.
    pub async fn snapshot(&self) -> ServiceResult<Arc<Snapshot>> {
        let (instance, revision) = self.revision().await?;
        let mut latest = self.latest.lock().await;
        if let Some(s) = latest
            .as_ref()
            .filter(|s| s.revision == revision && s.instance == instance)
        {
            return Ok(s.clone());
        }
        let mut snapshot = self.fetch().await?;
        snapshot.instance = instance;
        let snapshot = Arc::new(snapshot);
        *latest = Some(snapshot.clone());
        Ok(snapshot)
    }

    async fn fetch(&self) -> ServiceResult<Snapshot> {
        // A whole export may take longer than one call; a failed one starts again.
        let deadline = Instant::now() + budget(self.timeout * 6);
        let (revision, messages) = retrying("ExportRecords", self.retry, deadline, |left| {
            let mut client = self.client.clone();
            let mut request = tonic::Request::new(pb::ExportRecordsRequest { batch_size: 5000 });
            request.set_timeout(left);
            async move {
                let mut stream = client.export_records(request).await?.into_inner();
                let mut records = Vec::new();
                let mut revision = 0;
                while let Some(chunk) = stream.message().await? {
                    revision = chunk.revision;
                    records.extend(chunk.records);
                }
                Ok::<_, tonic::Status>((revision, records))
            }
        })
        .await?;
        let mut records = Vec::with_capacity(messages.len());
        for m in messages {
            let mut record = record_from_pb(m).map_err(|v| {
                ServiceError::internal(anyhow::anyhow!(
                    "unreadable record from the data service: {v:?}"
                ))
            })?;
            // Exported values are filled already; prepare only normalises.
            let _ = govlens_dataset::prepare(&mut record);
            records.push(record);
        }
        tracing::debug!(revision, records = records.len(), "fetched data snapshot");
        Ok(Snapshot {
            instance: String::new(),
            revision,
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Runs `retrying` over scripted outcomes (the last one repeats); returns the
    /// result and the number of attempts.
    async fn scripted(
        policy: RetryPolicy,
        deadline: Duration,
        replies: &[tonic::Code],
    ) -> (ServiceResult<()>, u32) {
        let calls = AtomicU32::new(0);
        let result = retrying("Test", policy, Instant::now() + deadline, |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
            let code = replies[n.min(replies.len() - 1)];
            async move {
                match code {
                    tonic::Code::Ok => Ok(()),
                    code => Err(tonic::Status::new(code, "scripted")),
                }
            }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn unavailable_reads_are_retried_a_bounded_number_of_times() {
        use tonic::Code::{Ok as Fine, Unavailable};
        let (result, calls) = scripted(
            RetryPolicy::DEFAULT,
            LONG,
            &[Unavailable, Unavailable, Fine],
        )
        .await;
        assert!(result.is_ok());
        assert_eq!(calls, 3);
        let started = Instant::now();
        let (result, calls) = scripted(RetryPolicy::DEFAULT, LONG, &[Unavailable]).await;
        assert!(
            matches!(result, Err(ServiceError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(calls, 4, "1 call + 3 retries");
        // 50 + 100 + 200 ms, each within ±20 %.
        assert!(started.elapsed() >= Duration::from_millis(280));
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

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        for code in [
            tonic::Code::Internal,
            tonic::Code::InvalidArgument,
            tonic::Code::DeadlineExceeded,
        ] {
            let (result, calls) = scripted(RetryPolicy::DEFAULT, LONG, &[code]).await;
            assert!(result.is_err());
            assert_eq!(calls, 1, "{code:?}");
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
        let started = Instant::now();
        let (_, calls) = scripted(
            slow,
            Duration::from_millis(450),
            &[tonic::Code::Unavailable],
        )
        .await;
        assert_eq!(calls, 2);
        assert!(started.elapsed() < Duration::from_millis(450));
    }

    #[tokio::test]
    async fn the_caller_deadline_cuts_the_budget() {
        assert_eq!(budget(LONG), LONG);
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert(GRPC_TIMEOUT, "300m".parse().unwrap());
        let b = with_caller_deadline(&metadata, async { budget(LONG) }).await;
        assert!(
            b <= Duration::from_millis(300) && b > Duration::from_millis(200),
            "{b:?}"
        );
        // A source whose upstream refuses connections gives up at the caller's deadline
        // at the latest (here before the second retry), with UNAVAILABLE.
        let source = DataSource::connect_lazy("http://127.0.0.1:1", LONG)
            .unwrap()
            .with_retry_policy(RetryPolicy {
                retries: 3,
                first_delay: Duration::from_millis(200),
            });
        let started = Instant::now();
        let result = with_caller_deadline(&metadata, source.revision()).await;
        assert!(
            matches!(result, Err(ServiceError::Unavailable(_))),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn caller_deadline_wraps_a_served_grpc_service() {
        let (_, health) = tonic_health::server::health_reporter();
        let _router = tonic::transport::Server::builder().add_service(CallerDeadline::new(health));
    }

    /// A served service that answers with the budget its handler sees.
    #[derive(Clone)]
    struct ReportsBudget;

    impl Service<http::Request<()>> for ReportsBudget {
        type Response = Duration;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Duration, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            Box::pin(async { Ok(budget(LONG)) })
        }
    }

    #[tokio::test]
    async fn served_calls_know_their_caller_deadline() {
        let mut served = CallerDeadline::new(ReportsBudget);
        let mut request = http::Request::new(());
        request
            .headers_mut()
            .insert(GRPC_TIMEOUT, "300m".parse().unwrap());
        let seen = served.call(request).await.unwrap();
        assert!(
            seen <= Duration::from_millis(300) && seen > Duration::from_millis(200),
            "{seen:?}"
        );
        assert_eq!(served.call(http::Request::new(())).await.unwrap(), LONG);
    }

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_grpc_timeout("1500000u"),
            Some(Duration::from_millis(1500))
        );
        for bad in ["", "S", "3", "3s", "123456789S", "-1S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
