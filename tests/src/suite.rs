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
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(govlens_scoring::serve(config, listener, async {
            let _ = rx.await;
        }));
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
        config.redis_url = options.redis_url;
        config.upstream_timeout = options.upstream_timeout;
        if !options.scoring_memory_cache {
            config.cache_memory_bytes = 0;
        }
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
