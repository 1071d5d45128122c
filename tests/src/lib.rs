//! Harness of the GovLens end-to-end tests. Everything is real: a real gRPC server
//! (`govlens_data::serve`) on 127.0.0.1:0, a real database (a temporary SQLite file, or
//! one fresh PostgreSQL database per test), real Redis. Nothing is mocked.
//!
//! Environment:
//! - `GOVLENS_TEST_POSTGRES_URL` (e.g. `postgres://root@127.0.0.1:5432/test`): the base
//!   database; each test creates and drops its own database next to it.
//! - `GOVLENS_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`): a shared Redis.
//! - Without one of them the tests needing it are skipped loudly, unless `CI` is set,
//!   where they panic: CI must never pass by skipping.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use govlens_data::DataConfig;
use govlens_dataset::convert::{record_from_pb, record_to_pb};
use govlens_dataset::{AnyRecord, SourcedRecord};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tonic_types::StatusExt;

pub use govlens_proto::data::v1 as pb;
pub use pb::data_service_client::DataServiceClient;

/// Base PostgreSQL URL of the tests.
pub const ENV_POSTGRES: &str = "GOVLENS_TEST_POSTGRES_URL";
/// Shared Redis of the tests.
pub const ENV_REDIS: &str = "GOVLENS_TEST_REDIS_URL";

/// A connected client of the data service.
pub type Client = DataServiceClient<Channel>;

/// Largest message the clients send or accept (the server's own limit).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Whether the tests run under CI, where a missing dependency is a failure, not a skip.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Writes a line straight to the process's stderr, past the test harness's capture,
/// so that a skip is visible in a passing run.
pub fn shout(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// The value of a required test dependency: `None` (after a loud SKIPPED line) when it
/// is missing outside CI; a panic when it is missing under CI.
fn dependency(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            if under_ci() {
                panic!("{var} is required under CI ({what} tests must not be skipped there)");
            }
            shout(&format!("SKIPPED: {what} tests need {var}"));
            None
        }
    }
}

/// The base PostgreSQL URL, or `None` (skip) outside CI.
pub fn postgres_base_url() -> Option<String> {
    dependency(ENV_POSTGRES, "PostgreSQL")
}

/// A unique suffix for names shared between parallel tests and processes:
/// `<pid>_<counter>_<random>`.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// A code (letters, digits, '-') unique to this test run, starting with `prefix`.
pub fn unique_code(prefix: &str) -> String {
    format!("{prefix}-{}", unique_suffix().replace('_', "-"))
}

/// Storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test: a temporary SQLite file, or a PostgreSQL
/// database created for the test and dropped (best effort, WITH (FORCE)) afterwards.
pub struct TestDb {
    backend: Backend,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<PostgresDatabase>,
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
}

async fn admin_connection(url: &str) -> sea_orm::DatabaseConnection {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(opts)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {ENV_POSTGRES}={url}: {e}"))
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let db = admin_connection(&admin_url).await;
                let result = db
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = db.close().await;
                result.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            shout(&format!(
                "warning: could not drop test database {}",
                self.name
            ));
        }
    }
}

/// `base` with its database name replaced by `name` (query parameters kept).
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let host_start = head.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = head[host_start..]
        .find('/')
        .map(|i| i + host_start)
        .unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..path_start]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

impl TestDb {
    /// A fresh database, or `None` when the backend is not available (outside CI).
    pub async fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
                Some(TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    _postgres: None,
                })
            }
            Backend::Postgres => {
                let base = postgres_base_url()?;
                let name = format!("govlens_t_{}", unique_suffix());
                let admin = admin_connection(&base).await;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                let _ = admin.close().await;
                let url = with_database(&base, &name);
                Some(TestDb {
                    backend,
                    url,
                    _dir: None,
                    _postgres: Some(PostgresDatabase {
                        admin_url: base,
                        name,
                    }),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The service configuration for this database: in-process cache, no Redis.
    pub fn config(&self) -> DataConfig {
        DataConfig::embedded("127.0.0.1:0".parse().expect("address"), self.url.clone())
    }
}

/// Runs `test` on a fresh database of `backend`, unless the backend is skipped.
pub async fn run_on<F, Fut>(test: F, backend: Backend)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(db) = TestDb::create(backend).await {
        test(db).await;
    }
}

/// Declares, for each `async fn name(db: TestDb)`, the tests `name::sqlite` and
/// `name::postgres` running it on each backend. Attributes written before a name (such
/// as `#[ignore = "..."]`) apply to both tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$attr:meta])* $name:ident),+ $(,)?) => {$(
        mod $name {
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_on(super::$name, $crate::Backend::Sqlite).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run_on(super::$name, $crate::Backend::Postgres).await
            }
        }
    )+};
}

/// Like `on_both_backends!` for one test, with attributes per backend, e.g. to mark a
/// known bug of one backend: `on_each_backend!(name, sqlite: [#[ignore = "bug: ..."]], postgres: [])`.
#[macro_export]
macro_rules! on_each_backend {
    ($name:ident, sqlite: [$(#[$sqlite:meta])*], postgres: [$(#[$postgres:meta])*] $(,)?) => {
        mod $name {
            $(#[$sqlite])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_on(super::$name, $crate::Backend::Sqlite).await
            }
            $(#[$postgres])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run_on(super::$name, $crate::Backend::Postgres).await
            }
        }
    };
}

/// Sends the logs of in-process servers (internal errors carry only an incident id to
/// clients) through the test harness's output capture: shown for failing tests only.
/// `GOVLENS_TEST_LOG` sets the filter (default `warn`).
pub fn capture_server_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let filter = std::env::var("GOVLENS_TEST_LOG").unwrap_or_else(|_| "warn".to_string());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}

/// A channel to `addr` that connects on first use.
pub fn lazy_channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy()
}

/// A data service client over `channel`, with the server's message limits.
pub fn data_client(channel: Channel) -> Client {
    DataServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Polls gRPC health (`service`, "" for the whole server) until it reports SERVING.
pub async fn wait_serving(channel: Channel, service: &str) {
    let mut health = HealthClient::new(channel);
    loop {
        let request = HealthCheckRequest {
            service: service.to_string(),
        };
        if let Ok(resp) = health.check(request).await {
            if resp.into_inner().status == ServingStatus::Serving as i32 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A data service running in this process on 127.0.0.1:0. Dropping it asks the server
/// to shut down; `stop` also waits for it and checks that it stopped cleanly.
pub struct TestServer {
    pub addr: SocketAddr,
    pub channel: Channel,
    client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Serves `db` with the default configuration (in-process cache only).
    pub async fn start(db: &TestDb) -> TestServer {
        TestServer::start_with(db.config()).await
    }

    /// Serves with `config` and returns once health reports SERVING.
    pub async fn start_with(config: DataConfig) -> TestServer {
        capture_server_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(govlens_data::serve(
            config,
            listener,
            govlens_kit::process::Shutdown::on(
                async {
                    let _ = rx.await;
                },
                govlens_kit::process::StopPolicy::IMMEDIATE,
            ),
        ));
        let channel = lazy_channel(addr);
        tokio::select! {
            ready = tokio::time::timeout(Duration::from_secs(60), wait_serving(channel.clone(), "")) => {
                ready.expect("the data service did not report SERVING within 60 s")
            }
            ended = &mut task => panic!("the data service stopped during start-up: {ended:?}"),
        }
        TestServer {
            addr,
            client: data_client(channel.clone()),
            channel,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A client of this server (clients are cheap handles over one connection).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Shuts the server down and checks that `serve` returned Ok.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the data service did not stop within 30 s")
                .expect("server task");
            result.expect("serve returned an error");
        }
    }

    /// The current data revision.
    pub async fn revision(&self) -> i64 {
        self.client()
            .get_data_revision(pb::GetDataRevisionRequest {})
            .await
            .expect("GetDataRevision")
            .into_inner()
            .revision
    }

    /// The database's identity and current revision, which together key cached reads.
    pub async fn versioned_state(&self) -> (String, i64) {
        let r = self
            .client()
            .get_data_revision(pb::GetDataRevisionRequest {})
            .await
            .expect("GetDataRevision")
            .into_inner();
        (r.instance, r.revision)
    }

    /// Every exported record, and the revision every chunk reported (all equal).
    pub async fn export(&self, batch_size: i32) -> (Vec<pb::Record>, i64) {
        let mut stream = self
            .client()
            .export_records(pb::ExportRecordsRequest { batch_size })
            .await
            .expect("ExportRecords")
            .into_inner();
        let mut records = Vec::new();
        let mut revisions = Vec::new();
        while let Some(chunk) = stream.message().await.expect("ExportRecords chunk") {
            if batch_size > 0 {
                assert!(
                    chunk.records.len() <= batch_size as usize,
                    "a chunk is larger than batch_size"
                );
            }
            revisions.push(chunk.revision);
            records.extend(chunk.records);
        }
        assert!(
            !revisions.is_empty(),
            "ExportRecords streamed no message at all"
        );
        assert!(
            revisions.iter().all(|r| *r == revisions[0]),
            "chunks of one export report different revisions: {revisions:?}"
        );
        (records, revisions[0])
    }

    /// Exported records, read back as records.
    pub async fn export_records(&self) -> Vec<AnyRecord> {
        records_from_pb(self.export(0).await.0)
    }

    /// Streams `batches` to ImportRecords, one message per batch.
    pub async fn import(
        &self,
        batches: Vec<Vec<pb::Record>>,
    ) -> Result<pb::ImportRecordsResponse, Status> {
        let messages: Vec<pb::ImportRecordsRequest> = batches
            .into_iter()
            .map(|records| pb::ImportRecordsRequest { records })
            .collect();
        self.client()
            .import_records(tokio_stream::iter(messages))
            .await
            .map(|r| r.into_inner())
    }

    /// Imports the paper's dataset in one batch.
    pub async fn load_paper(&self) -> pb::ImportRecordsResponse {
        self.import(vec![paper_pb()])
            .await
            .expect("importing the paper dataset")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---- the paper's dataset ----

/// The paper's bundle, with origins such as "observations.csv:17".
pub fn paper_records() -> Vec<SourcedRecord> {
    govlens_dataset::paper::records().expect("the paper bundle parses")
}

/// The paper's bundle as import messages, origins included.
pub fn paper_pb() -> Vec<pb::Record> {
    paper_records()
        .into_iter()
        .map(|r| record_to_pb(r.record, r.origin))
        .collect()
}

/// The paper's records after `prepare` (values read from their printed form).
pub fn prepared_paper() -> Vec<AnyRecord> {
    paper_records()
        .into_iter()
        .map(|s| {
            let mut r = s.record;
            govlens_dataset::prepare(&mut r).unwrap_or_else(|v| panic!("{}: {v:?}", s.origin));
            r
        })
        .collect()
}

/// Reads exported messages back into records.
pub fn records_from_pb(records: Vec<pb::Record>) -> Vec<AnyRecord> {
    records
        .into_iter()
        .map(|r| {
            record_from_pb(r.clone()).unwrap_or_else(|v| panic!("unreadable record {r:?}: {v:?}"))
        })
        .collect()
}

/// Records in a canonical order (kind, then content), to compare sets of records.
pub fn canonical(mut records: Vec<AnyRecord>) -> Vec<AnyRecord> {
    records.sort_by_cached_key(|r| (r.kind(), format!("{r:?}")));
    records
}

/// Records per resource kind, e.g. {"observations": 43}.
pub fn kind_counts(records: &[AnyRecord]) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in records {
        *counts.entry(r.kind().as_str()).or_insert(0) += 1;
    }
    counts
}

// ---- statuses ----

/// The BadRequest field violations of a status, as (field, description).
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The fields named by a status's BadRequest violations.
pub fn violation_fields(status: &Status) -> Vec<String> {
    field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

/// The ErrorInfo of a status.
pub fn error_info(status: &Status) -> Option<tonic_types::ErrorInfo> {
    status.get_error_details().error_info().cloned()
}

/// The `ErrorInfo.reason` the service gives a status code.
pub fn reason_of(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Unavailable => "UNAVAILABLE",
        Code::Internal => "INTERNAL",
        _ => "?",
    }
}

/// The error of `result`, which must have `code` (and a matching ErrorInfo reason).
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got success: {v:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            let info = error_info(&status).unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
            assert_eq!(
                info.reason,
                reason_of(code),
                "ErrorInfo reason of {status:?}"
            );
            assert_eq!(info.domain, govlens_kit::error::ERROR_DOMAIN);
            assert_no_internals(&status);
            status
        }
    }
}

/// INVALID_ARGUMENT with a BadRequest violation on exactly `field` (among others).
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) -> Status {
    let status = expect_code(result, Code::InvalidArgument);
    let fields = violation_fields(&status);
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation on {field:?}, got {fields:?} ({})",
        status.message()
    );
    status
}

/// Words that would show that a database error leaked into a status.
const LEAK_MARKERS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE \"",
    "DELETE FROM",
    "constraint",
    "sqlx",
    "SQLSTATE",
];

/// A status shown to users must not leak database internals.
#[track_caller]
pub fn assert_no_internals(status: &Status) {
    let mut texts = vec![status.message().to_string()];
    texts.extend(
        field_violations(status)
            .into_iter()
            .map(|(f, d)| format!("{f}: {d}")),
    );
    for text in &texts {
        for marker in LEAK_MARKERS {
            assert!(
                !text.to_lowercase().contains(&marker.to_lowercase()),
                "status text leaks database internals ({marker}): {text:?}"
            );
        }
    }
}

/// A field mask of `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

// ---- Redis ----

/// The shared Redis URL, with a logical database chosen for this test where the URL
/// names none; `None` (skip) outside CI.
pub fn shared_redis_url() -> Option<String> {
    let url = dependency(ENV_REDIS, "Redis")?;
    let after_host = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h.to_string(), Some(q.to_string())),
        None => (url.clone(), None),
    };
    if head[after_host..].contains('/') && !head.ends_with('/') {
        return Some(url);
    }
    // Databases 1..=15 (0 is everyone's default), a different one for each test of this
    // process, so that tests never FLUSH or share entries on the shared Redis (codes are
    // unique per test as well).
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let db = 1 + (u64::from(std::process::id()) + NEXT.fetch_add(1, Ordering::Relaxed)) % 15;
    let mut out = format!("{}/{db}", head.trim_end_matches('/'));
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    Some(out)
}

/// Whether `key` exists in the Redis at `url`.
pub async fn redis_key_exists(url: &str, key: &str) -> bool {
    let client = redis::Client::open(url).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut conn)
        .await
        .expect("EXISTS")
        == 1
}

/// The `redis-server` binary on PATH; `None` (skip) outside CI.
pub fn redis_server_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if under_ci() {
            panic!("redis-server is required on PATH under CI");
        }
        shout("SKIPPED: the Redis outage test needs redis-server on PATH");
    }
    found
}

/// A free TCP port on 127.0.0.1 (free when this returns; bind it soon).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// A `redis-server` child process of this test, killed when dropped.
pub struct RedisServer {
    binary: PathBuf,
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl RedisServer {
    /// Starts redis-server on a free port; `None` when redis-server is unavailable.
    pub async fn start() -> Option<RedisServer> {
        let binary = redis_server_binary()?;
        for _ in 0..5 {
            let mut server = RedisServer {
                binary: binary.clone(),
                port: free_port(),
                child: None,
            };
            if server.spawn().await {
                return Some(server);
            }
        }
        panic!("could not start redis-server on a free port");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn spawn(&mut self) -> bool {
        let child = tokio::process::Command::new(&self.binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        for _ in 0..200 {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if redis_ping(self.port).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }

    /// Kills the server and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
        assert!(
            !redis_ping(self.port).await,
            "redis-server still answers after kill"
        );
    }

    /// Starts the server again on the same port.
    pub async fn restart(&mut self) {
        for _ in 0..20 {
            if self.spawn().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not restart redis-server on port {}", self.port);
    }
}

async fn redis_ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut buf)).await,
        Ok(Ok(_)) if &buf == b"+PONG\r\n"
    )
}

// ---- the govlens-data binary ----

/// The root of the workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The `govlens-data` executable, built once per test process with the cargo that
/// builds these tests. The test profile and `-p govlens-tests` make profile and features
/// resolve as in the build of these tests, so the build reuses its artifacts (usually a
/// no-op). The executable lands in the usual `debug` directory.
pub fn data_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    // One builder for every binary: it clears cargo's per-package variables so the
    // nested build reuses the test build's artifacts instead of rebuilding them.
    BINARY.get_or_init(|| suite::workspace_binary("govlens-data", "govlens-data"))
}

pub mod faults;
pub mod fixtures;
pub mod otlp;
pub mod stack;
pub mod suite;
