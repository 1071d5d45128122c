//! The scoring suite as production runs it: a data service and a scoring service, each
//! a real gRPC server on its own listener (127.0.0.1:0), the scoring service reading
//! the data service over gRPC at its address. Both report SERVING through grpc.health
//! before [`Suite::start`] returns. Records go in through the data service's
//! ImportRecords, in batches, as `govlens import` sends them.
//!
//! Databases: the data service uses the test's database; the scoring service keeps its
//! model versions in its own tables: a SQLite file of its own next to the test's, or
//! the test's PostgreSQL database (as `govlens up` shares one database).

use std::path::{Path, PathBuf};
use std::time::Duration;

use govlens_dataset::convert::record_to_pb;
use govlens_dataset::SourcedRecord;
use govlens_scoring::ScoringConfig;
use tonic::transport::Channel;
use tonic::Status;

pub use govlens_proto::scoring::v1 as spb;
pub use spb::scoring_service_client::ScoringServiceClient;

use crate::{lazy_channel, pb, wait_serving, Backend, Client, TestDb, TestServer};

/// A connected client of the scoring service.
pub type ScoringClient = ScoringServiceClient<Channel>;

/// The scoring service's name in grpc.health.
pub const SCORING_SERVICE: &str = spb::scoring_service_server::SERVICE_NAME;

/// Records per ImportRecords message (each batch is committed all-or-nothing).
pub const IMPORT_BATCH: usize = 1000;

/// How the suite is configured beyond its database.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Redis for both services (`None`: in-process caches only).
    pub redis_url: Option<String>,
    /// Whether the scoring service keeps an in-process cache layer (with Redis, `false`
    /// makes Redis the only cache, so that a repeated call must be served by Redis).
    pub scoring_memory_cache: bool,
    /// Deadline of each call from the scoring service to the data service.
    pub upstream_timeout: Duration,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            redis_url: None,
            scoring_memory_cache: true,
            upstream_timeout: Duration::from_secs(10),
        }
    }
}

/// A scoring service running in this process. Dropping it asks the server to stop.
pub struct ScoringServer {
    pub addr: std::net::SocketAddr,
    pub channel: Channel,
    client: ScoringClient,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl ScoringServer {
    /// Serves with `config` (its `listen` is ignored: 127.0.0.1:0) and returns once both
    /// the server ("") and the scoring service report SERVING.
    pub async fn start(config: ScoringConfig) -> ScoringServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        ScoringServer::start_on(config, listener).await
    }

    /// Like [`ScoringServer::start`], on a listener of the caller's (e.g. bound to the
    /// port of a scoring service that was stopped, to bring it back where its clients
    /// look for it).
    pub async fn start_on(
        config: ScoringConfig,
        listener: tokio::net::TcpListener,
    ) -> ScoringServer {
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(govlens_scoring::serve(
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
        let ready = async {
            wait_serving(channel.clone(), "").await;
            wait_serving(channel.clone(), SCORING_SERVICE).await;
        };
        tokio::select! {
            ready = tokio::time::timeout(Duration::from_secs(60), ready) => {
                ready.expect("the scoring service did not report SERVING within 60 s")
            }
            ended = &mut task => panic!("the scoring service stopped during start-up: {ended:?}"),
        }
        ScoringServer {
            addr,
            client: scoring_client(channel.clone()),
            channel,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A client of this server.
    pub fn client(&self) -> ScoringClient {
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
                .expect("the scoring service did not stop within 30 s")
                .expect("server task");
            result.expect("serve returned an error");
        }
    }
}

impl Drop for ScoringServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A scoring client over `channel`, accepting the server's largest responses.
pub fn scoring_client(channel: Channel) -> ScoringClient {
    ScoringServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(8 << 20)
}

/// The data service and the scoring service of one test.
pub struct Suite {
    pub data: TestServer,
    pub scoring: ScoringServer,
    /// The scoring service's SQLite directory: keep it while the service runs.
    pub models_dir: Option<tempfile::TempDir>,
}

impl Suite {
    /// Both services on `db`, in-process caches only.
    pub async fn start(db: &TestDb) -> Suite {
        Suite::start_with(db, SuiteOptions::default()).await
    }

    /// Both services on `db` with `options`: the data service first, then the scoring
    /// service pointed at the data service's address.
    pub async fn start_with(db: &TestDb, options: SuiteOptions) -> Suite {
        let mut data_config = db.config();
        data_config.redis_url = options.redis_url.clone();
        let data = TestServer::start_with(data_config).await;
        let (config, models_dir) = scoring_config(db, &options, &data);
        let scoring = ScoringServer::start(config).await;
        Suite {
            data,
            scoring,
            models_dir,
        }
    }

    /// A data service client.
    pub fn data(&self) -> Client {
        self.data.client()
    }

    /// A scoring service client.
    pub fn scoring(&self) -> ScoringClient {
        self.scoring.client()
    }

    /// Streams `records` to the data service's ImportRecords in batches of
    /// `batch_size`, origins included, as `govlens import` does.
    pub async fn import(
        &self,
        records: Vec<SourcedRecord>,
        batch_size: usize,
    ) -> pb::ImportRecordsResponse {
        let total = records.len() as i64;
        let batches: Vec<Vec<pb::Record>> = records
            .chunks(batch_size.max(1))
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|r| record_to_pb(r.record.clone(), r.origin.clone()))
                    .collect()
            })
            .collect();
        let expected_batches = batches.len() as i64;
        let response = self
            .data
            .import(batches)
            .await
            .unwrap_or_else(|s| panic!("ImportRecords failed: {s:?}"));
        assert_eq!(response.records, total, "records the import reports");
        assert_eq!(response.batches, expected_batches, "batches of the import");
        response
    }

    /// Reads a bundle or published table (file or directory) the way `govlens import`
    /// does and imports it in batches of [`IMPORT_BATCH`].
    pub async fn import_path(&self, path: &Path) -> pb::ImportRecordsResponse {
        let records = govlens_dataset::fs::read_bundle(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e:?}", path.display()));
        self.import(records, IMPORT_BATCH).await
    }

    /// Imports the paper's dataset in batches.
    pub async fn import_paper(&self) -> pb::ImportRecordsResponse {
        self.import(crate::paper_records(), 50).await
    }

    /// Stops the scoring service, then the data service, checking both stop cleanly.
    pub async fn stop(self) {
        self.scoring.stop().await;
        self.data.stop().await;
    }
}

/// The scoring service's configuration for `db` with `options`, reading `data`: its
/// models in a SQLite file of its own (returned directory: keep it while the service
/// runs), or in the test's PostgreSQL database.
pub fn scoring_config(
    db: &TestDb,
    options: &SuiteOptions,
    data: &TestServer,
) -> (ScoringConfig, Option<tempfile::TempDir>) {
    let (models_url, models_dir) = match db.backend() {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}/models.db?mode=rwc", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => (db.url().to_string(), None),
    };
    let mut config = ScoringConfig::embedded(
        "127.0.0.1:0".parse().expect("address"),
        models_url,
        format!("http://{}", data.addr),
    );
    config.redis_url = options.redis_url.clone();
    config.upstream_timeout = options.upstream_timeout;
    if !options.scoring_memory_cache {
        config.cache_memory_bytes = 0;
    }
    (config, models_dir)
}

/// A file or folder of `datasets/reference/`.
pub fn reference_path(relative: &str) -> PathBuf {
    crate::workspace_root()
        .join("datasets/reference")
        .join(relative)
}

/// A scope of `model_id` (version 0: latest) for `period` ("" = latest) over `units`.
pub fn scope(
    model_id: &str,
    version: i32,
    period: &str,
    units: spb::UnitKind,
) -> spb::ScoringScope {
    spb::ScoringScope {
        model_id: model_id.to_string(),
        version,
        period: period.to_string(),
        region_code: String::new(),
        unit_kind: units as i32,
    }
}

/// ScoreUnits' table for `scope`.
pub async fn score_units(
    client: &mut ScoringClient,
    scope: spb::ScoringScope,
) -> Result<spb::ScoreTable, Status> {
    let response = client
        .score_units(spb::ScoreUnitsRequest {
            scope: Some(scope),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(response.table.expect("ScoreUnits returned no table"))
}

/// Every message of a RunUncertainty stream, in order, or the first error.
pub async fn run_uncertainty(
    client: &mut ScoringClient,
    request: spb::RunUncertaintyRequest,
) -> Result<Vec<spb::run_uncertainty_response::Kind>, Status> {
    let mut stream = client.run_uncertainty(request).await?.into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message.kind.expect("a RunUncertainty message without kind"));
    }
    Ok(messages)
}

/// The model of a stored version, parsed by the engine (to read its tree).
pub fn parse_model(model: &spb::Model) -> govlens_engine::Model {
    let parsed = if model.format == spb::ModelFormat::Json as i32 {
        govlens_engine::Model::from_json_str(&model.source)
    } else {
        govlens_engine::Model::from_toml_str(&model.source)
    };
    parsed.unwrap_or_else(|e| panic!("model {} v{}: {e}", model.model_id, model.version))
}

/// GetModel (version 0: latest).
pub async fn get_model(
    client: &mut ScoringClient,
    model_id: &str,
    version: i32,
) -> Result<spb::Model, Status> {
    Ok(client
        .get_model(spb::GetModelRequest {
            model_id: model_id.to_string(),
            version,
        })
        .await?
        .into_inner()
        .model
        .expect("GetModel returned no model"))
}

/// CreateModel of a TOML source.
pub async fn create_toml_model(
    client: &mut ScoringClient,
    model_id: &str,
    source: &str,
) -> Result<spb::CreateModelResponse, Status> {
    Ok(client
        .create_model(spb::CreateModelRequest {
            model_id: model_id.to_string(),
            format: spb::ModelFormat::Toml as i32,
            source: source.to_string(),
        })
        .await?
        .into_inner())
}

// ---- the recommendation service ----

pub use govlens_proto::recommendation::v1 as rpb;
pub use rpb::recommendation_service_client::RecommendationServiceClient;

use govlens_recommendation::RecommendationConfig;

/// A connected client of the recommendation service.
pub type RecommendationClient = RecommendationServiceClient<Channel>;

/// The recommendation service's name in grpc.health.
pub const RECOMMENDATION_SERVICE: &str = rpb::recommendation_service_server::SERVICE_NAME;

/// A recommendation client over `channel`, accepting the server's largest responses.
pub fn recommendation_client(channel: Channel) -> RecommendationClient {
    RecommendationServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(8 << 20)
}

/// A recommendation service running in this process. Dropping it asks the server to
/// stop.
pub struct RecommendationServer {
    pub addr: std::net::SocketAddr,
    pub channel: Channel,
    client: RecommendationClient,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RecommendationServer {
    /// Serves with `config` (its `listen` is ignored: 127.0.0.1:0) and returns once both
    /// the server ("") and the recommendation service report SERVING (which needs the
    /// scoring service to answer).
    pub async fn start(config: RecommendationConfig) -> RecommendationServer {
        crate::capture_server_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(govlens_recommendation::serve(
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
        let ready = async {
            wait_serving(channel.clone(), "").await;
            wait_serving(channel.clone(), RECOMMENDATION_SERVICE).await;
        };
        tokio::select! {
            ready = tokio::time::timeout(Duration::from_secs(60), ready) => {
                ready.expect("the recommendation service did not report SERVING within 60 s")
            }
            ended = &mut task => panic!("the recommendation service stopped during start-up: {ended:?}"),
        }
        RecommendationServer {
            addr,
            client: recommendation_client(channel.clone()),
            channel,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A client of this server.
    pub fn client(&self) -> RecommendationClient {
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
                .expect("the recommendation service did not stop within 30 s")
                .expect("server task");
            result.expect("serve returned an error");
        }
    }
}

impl Drop for RecommendationServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// How the three-service suite is configured beyond its database.
#[derive(Debug, Clone)]
pub struct RecommendationOptions {
    /// The data and scoring services' options.
    pub suite: SuiteOptions,
    /// Deadline of each call from the recommendation service to its upstreams.
    pub upstream_timeout: Duration,
}

impl Default for RecommendationOptions {
    fn default() -> Self {
        RecommendationOptions {
            suite: SuiteOptions::default(),
            upstream_timeout: Duration::from_secs(10),
        }
    }
}

/// The whole suite as production runs it: the data service, the scoring service reading
/// it, and the recommendation service reading both, each on its own listener.
///
/// Rulebooks are stored as `govlens up` stores them: in the test's PostgreSQL database,
/// or (SQLite) in a file of their own next to the scoring service's models.
pub struct RecommendationSuite {
    pub base: Suite,
    pub recommendation: RecommendationServer,
    /// The recommendation service's SQLite directory: keep it while the service runs.
    pub rulebooks_dir: Option<tempfile::TempDir>,
    /// The recommendation service's configuration (to start it again).
    pub config: RecommendationConfig,
    /// The scoring service's configuration (to start it again, see
    /// [`ScoringServer::start_on`]).
    pub scoring_config: ScoringConfig,
}

impl RecommendationSuite {
    /// The three services on `db`, in-process caches only.
    pub async fn start(db: &TestDb) -> RecommendationSuite {
        RecommendationSuite::start_with(db, RecommendationOptions::default()).await
    }

    /// The three services on `db` with `options`, started in dependency order.
    pub async fn start_with(db: &TestDb, options: RecommendationOptions) -> RecommendationSuite {
        let mut data_config = db.config();
        data_config.redis_url = options.suite.redis_url.clone();
        let data = TestServer::start_with(data_config).await;
        let (scoring_config, models_dir) = scoring_config(db, &options.suite, &data);
        let scoring = ScoringServer::start(scoring_config.clone()).await;
        let base = Suite {
            data,
            scoring,
            models_dir,
        };
        let (rulebooks_url, rulebooks_dir) = match db.backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/rulebooks.db?mode=rwc", dir.path().display());
                (url, Some(dir))
            }
            Backend::Postgres => (db.url().to_string(), None),
        };
        let mut config = RecommendationConfig::embedded(
            "127.0.0.1:0".parse().expect("address"),
            rulebooks_url,
            String::new(),
        );
        config.data_addr = format!("http://{}", base.data.addr);
        config.scoring_addr = format!("http://{}", base.scoring.addr);
        config.redis_url = options.suite.redis_url.clone();
        config.upstream_timeout = options.upstream_timeout;
        let recommendation = RecommendationServer::start(config.clone()).await;
        RecommendationSuite {
            base,
            recommendation,
            rulebooks_dir,
            config,
            scoring_config,
        }
    }

    /// Stops the recommendation service (checking it stops cleanly) and starts it again
    /// on the same database and upstreams, on a new port.
    pub async fn restart_recommendation(self) -> RecommendationSuite {
        let RecommendationSuite {
            base,
            recommendation,
            rulebooks_dir,
            config,
            scoring_config,
        } = self;
        recommendation.stop().await;
        let recommendation = RecommendationServer::start(config.clone()).await;
        RecommendationSuite {
            base,
            recommendation,
            rulebooks_dir,
            config,
            scoring_config,
        }
    }

    /// A data service client.
    pub fn data(&self) -> Client {
        self.base.data()
    }

    /// A scoring service client.
    pub fn scoring(&self) -> ScoringClient {
        self.base.scoring()
    }

    /// A recommendation service client.
    pub fn recommendation(&self) -> RecommendationClient {
        self.recommendation.client()
    }

    /// Imports the paper's dataset in batches.
    pub async fn import_paper(&self) -> pb::ImportRecordsResponse {
        self.base.import_paper().await
    }

    /// Stops the services in reverse order, checking each stops cleanly.
    pub async fn stop(self) {
        self.recommendation.stop().await;
        self.base.stop().await;
        drop(self.rulebooks_dir);
    }
}

/// An assessment scope naming a rulebook version (0: latest), other fields default.
pub fn rulebook_scope(rulebook_id: &str, version: i32) -> rpb::AssessmentScope {
    rpb::AssessmentScope {
        rulebook_id: rulebook_id.to_string(),
        rulebook_version: version,
        ..Default::default()
    }
}

/// Diagnose of `region` under `scope` (`None`: defaults).
pub async fn diagnose(
    client: &mut RecommendationClient,
    region: &str,
    scope: Option<rpb::AssessmentScope>,
) -> Result<rpb::Diagnosis, Status> {
    Ok(client
        .diagnose(rpb::DiagnoseRequest {
            region_code: region.to_string(),
            scope,
        })
        .await?
        .into_inner()
        .diagnosis
        .expect("Diagnose returned no diagnosis"))
}

/// Recommend for `region` under `scope` (`None`: defaults).
pub async fn recommend(
    client: &mut RecommendationClient,
    region: &str,
    scope: Option<rpb::AssessmentScope>,
) -> Result<rpb::RecommendResponse, Status> {
    Ok(client
        .recommend(rpb::RecommendRequest {
            region_code: region.to_string(),
            scope,
        })
        .await?
        .into_inner())
}

/// GenerateReport for `regions` in `format` under the default scope.
pub async fn generate_report(
    client: &mut RecommendationClient,
    regions: &[&str],
    format: rpb::ReportFormat,
) -> Result<rpb::GenerateReportResponse, Status> {
    Ok(client
        .generate_report(rpb::GenerateReportRequest {
            region_codes: regions.iter().map(|r| r.to_string()).collect(),
            scope: None,
            format: format as i32,
        })
        .await?
        .into_inner())
}

/// CreateRulebook of a TOML source.
pub async fn create_toml_rulebook(
    client: &mut RecommendationClient,
    rulebook_id: &str,
    source: &str,
) -> Result<rpb::CreateRulebookResponse, Status> {
    Ok(client
        .create_rulebook(rpb::CreateRulebookRequest {
            rulebook_id: rulebook_id.to_string(),
            format: rpb::RulebookFormat::Toml as i32,
            source: source.to_string(),
        })
        .await?
        .into_inner())
}

/// The dilemma `code` of a diagnosis.
#[track_caller]
pub fn dilemma<'a>(d: &'a rpb::Diagnosis, code: &str) -> &'a rpb::DilemmaFinding {
    d.dilemmas
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("{}: no dilemma {code}", d.region_code))
}

/// The status of a finding, as the enum.
pub fn status_of(f: &rpb::DilemmaFinding) -> rpb::DilemmaStatus {
    rpb::DilemmaStatus::try_from(f.status).unwrap_or(rpb::DilemmaStatus::Unspecified)
}

// ---- workspace binaries ----

/// An executable of the workspace (`package`'s `bin`), built once per test process and
/// binary with the cargo that builds these tests, in the test profile and together
/// with `-p govlens-tests` so that features and profile resolve as in this build
/// (usually a no-op after the first build). Like [`crate::data_binary`], for any binary.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let mut cargo = std::process::Command::new(env!("CARGO"));
    // Cargo runs tests with CARGO_MANIFEST_DIR, CARGO_PKG_* and friends set to this
    // package's. Build scripts that watch them (ring's watches CARGO_MANIFEST_DIR) would
    // see them change between this build and the developer's `cargo test`, and each
    // would rebuild ring and everything above it (rustls, sqlx, sea-orm, the services)
    // for the other: build with the environment of the `cargo test` that started us.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            cargo.env_remove(key);
        }
    }
    let output = cargo
        .args([
            "build",
            "--profile",
            "test",
            "-p",
            package,
            "-p",
            "govlens-tests",
            "--bin",
            bin,
            "--message-format=json",
        ])
        .current_dir(crate::workspace_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run cargo build");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .collect();
    if !output.status.success() {
        // With JSON messages, the compiler's errors are on stdout.
        let errors: Vec<&str> = messages
            .iter()
            .filter(|m| m["reason"] == "compiler-message")
            .filter_map(|m| m["message"]["rendered"].as_str())
            .collect();
        panic!(
            "cargo build -p {package} --bin {bin} failed:\n{}",
            errors.join("\n")
        );
    }
    let path = messages
        .iter()
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no {bin} executable"));
    built.insert(bin.to_string(), path.clone());
    path
}

// ---- reading an HTML report back ----

/// A report's HTML parsed as XML (it is XHTML-compatible; the HTML5 doctype needs
/// `allow_dtd`). Panics when it is not well-formed.
pub fn parse_report_html(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(html, options)
        .unwrap_or_else(|e| panic!("the HTML report is not well-formed XML: {e}"))
}

/// Whether element `n` has `class` among its classes.
pub fn has_class(n: &roxmltree::Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

/// Elements named `name` below `root` with `class`.
pub fn elements_with_class<'a, 'i>(
    root: roxmltree::Node<'a, 'i>,
    name: &str,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    root.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == name && has_class(n, class))
        .collect()
}

/// All text below `n`, concatenated, with runs of whitespace collapsed.
pub fn text_of(n: roxmltree::Node) -> String {
    let raw: String = n
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One dilemma row of a report's diagnosis table.
#[derive(Debug, Clone)]
pub struct DilemmaRowView {
    pub code: String,
    /// The status cell's text, e.g. "▲ present" or "? insufficient data".
    pub status: String,
    /// The evidence items, e.g. "indicator.toe.t.store_coverage: 0.813 (below 0.9 - holds) — source: ...".
    pub evidence: Vec<String>,
}

/// One region's block of a report's diagnosis section.
#[derive(Debug, Clone)]
pub struct DiagnosisView {
    pub heading: String,
    pub rows: Vec<DilemmaRowView>,
    /// Platform finding rows, as text.
    pub platform_findings: Vec<String>,
}

/// One recommendation of a report.
#[derive(Debug, Clone)]
pub struct RecommendationView {
    /// The rank badge, e.g. "#1".
    pub rank: String,
    pub title: String,
    /// The what-if block's text ("What-if projection: index 0.598 → 0.653 ..." or
    /// "No what-if projection.").
    pub what_if: String,
}

/// One region's block of a report's recommendations section.
#[derive(Debug, Clone)]
pub struct RecommendationsView {
    pub heading: String,
    pub items: Vec<RecommendationView>,
}

/// What an HTML report shows, read back from its markup.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub title: String,
    /// Every text of the page, whitespace collapsed.
    pub text: String,
    /// `<svg>` elements (charts).
    pub svgs: usize,
    /// Names in the platform table's rows.
    pub platform_rows: Vec<String>,
    pub diagnoses: Vec<DiagnosisView>,
    pub recommendations: Vec<RecommendationsView>,
}

impl ReportView {
    /// Reads `html` (which must be well-formed XML).
    pub fn read(html: &str) -> ReportView {
        let doc = parse_report_html(html);
        let root = doc.root_element();
        let children = |n: roxmltree::Node<'_, '_>, name: &str| -> Vec<String> {
            n.children()
                .filter(|c| c.is_element() && c.tag_name().name() == name)
                .map(text_of)
                .collect()
        };
        let title = root
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "title")
            .map(text_of)
            .unwrap_or_default();
        let heading = |block: roxmltree::Node<'_, '_>| {
            block
                .descendants()
                .find(|n| n.is_element() && n.tag_name().name() == "h3")
                .map(text_of)
                .unwrap_or_default()
        };
        let diagnoses = elements_with_class(root, "article", "diagnosis-region")
            .into_iter()
            .map(|block| DiagnosisView {
                heading: heading(block),
                rows: elements_with_class(block, "tr", "dilemma")
                    .into_iter()
                    .map(|tr| {
                        let cells = children(tr, "td");
                        let evidence = tr
                            .descendants()
                            .filter(|n| n.is_element() && n.tag_name().name() == "li")
                            .map(text_of)
                            .collect();
                        DilemmaRowView {
                            code: cells.first().cloned().unwrap_or_default(),
                            status: cells.get(2).cloned().unwrap_or_default(),
                            evidence,
                        }
                    })
                    .collect(),
                platform_findings: elements_with_class(block, "tr", "platform-finding")
                    .into_iter()
                    .map(text_of)
                    .collect(),
            })
            .collect();
        let first_text = |n: roxmltree::Node<'_, '_>, name: &str, class: &str| {
            elements_with_class(n, name, class)
                .first()
                .map(|x| text_of(*x))
                .unwrap_or_default()
        };
        let recommendations = elements_with_class(root, "article", "recommendations-region")
            .into_iter()
            .map(|block| RecommendationsView {
                heading: heading(block),
                items: elements_with_class(block, "li", "rec")
                    .into_iter()
                    .map(|li| RecommendationView {
                        rank: first_text(li, "span", "rank-badge"),
                        title: first_text(li, "span", "rec-title"),
                        what_if: first_text(li, "div", "whatif"),
                    })
                    .collect(),
            })
            .collect();
        ReportView {
            title,
            text: text_of(root),
            svgs: root
                .descendants()
                .filter(|n| n.is_element() && n.tag_name().name() == "svg")
                .count(),
            platform_rows: elements_with_class(root, "tr", "platform")
                .into_iter()
                .map(|tr| children(tr, "th").first().cloned().unwrap_or_default())
                .collect(),
            diagnoses,
            recommendations,
        }
    }
}

// ---- names in the paper's dataset ----

/// The seven government apps of the paper's Table 2, by name, as the bundle records them.
pub fn paper_app_names() -> Vec<String> {
    let names: Vec<String> = crate::paper_records()
        .into_iter()
        .filter_map(|s| match s.record {
            govlens_dataset::AnyRecord::Platform(p)
                if p.kind == govlens_dataset::PlatformKind::GovernmentApp
                    && p.source_table == "Table 2" =>
            {
                Some(p.name)
            }
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 7, "Table 2 lists seven apps: {names:?}");
    names
}

/// The name of region `code` in the paper's bundle.
pub fn paper_region_name(code: &str) -> String {
    crate::paper_records()
        .into_iter()
        .find_map(|s| match s.record {
            govlens_dataset::AnyRecord::Region(r) if r.code == code => Some(r.name),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no region {code} in the paper's bundle"))
}
