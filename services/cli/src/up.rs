//! `govlens up`: the suite in one process on the embedded default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use govlens_data::{DataComponent, DataConfig};
use govlens_kit::process::{Shutdown, StopPolicy};
use govlens_kit::telemetry::rpc::RpcTelemetryLayer;
use govlens_recommendation::{RecommendationComponent, RecommendationConfig};
use govlens_scoring::{ScoringComponent, ScoringConfig};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::client::{data_client, explain, ServerArgs};

#[derive(clap::Args)]
pub struct UpArgs {
    /// Address to serve gRPC on.
    #[arg(long, env = "GOVLENS_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Directory of the embedded database.
    #[arg(long, env = "GOVLENS_DATA_DIR", default_value = ".govlens")]
    pub data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite file (postgres://...).
    #[arg(long, env = "GOVLENS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Cache in Redis (redis://...) instead of in-process only.
    #[arg(long, env = "GOVLENS_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Do not load the paper's dataset into an empty database.
    #[arg(long)]
    pub no_seed: bool,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    // OTEL_EXPORTER_OTLP_ENDPOINT works here too: one process, service name "govlens".
    let telemetry = govlens_kit::telemetry::TelemetryConfig::from_env("govlens")?;
    let guard = govlens_kit::telemetry::init(&telemetry, "info,sqlx=warn")?;
    let database_url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&args.data_dir)?;
            format!("sqlite://{}/govlens.db?mode=rwc", args.data_dir.display())
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e} (another `govlens up` running? try --listen)",
                args.listen
            )
        })?;
    let suite = start_suite(
        listener,
        &database_url,
        args.redis_url.clone(),
        Shutdown::on_signal(StopPolicy::IMMEDIATE),
    )
    .await?;
    let address = suite.address.clone();
    let server_args = ServerArgs {
        server: address.clone(),
        token: None,
    };
    if !args.no_seed {
        seed_if_empty(&server_args).await?;
    }
    println!("GovLens is up at {address}");
    println!(
        "  WITHOUT authentication: anyone who can reach {} may read and write; for a \
         shared deployment run the services with tokens (see SECURITY.md)",
        args.listen
    );
    println!("  database: {}", redact(&database_url));
    println!(
        "  health and reflection: grpcurl -plaintext {} list",
        address.trim_start_matches("http://")
    );
    println!(
        "  try: govlens score | govlens compare cn-sc cn-gz | govlens quality   (Ctrl-C stops)"
    );
    let result = suite.server.await;
    guard.shutdown(Duration::from_secs(5)).await;
    result?
}

/// Serves the data, scoring and recommendation services on one listener until
/// `shutdown` resolves.
pub async fn serve_suite(
    data_config: DataConfig,
    scoring_config: ScoringConfig,
    recommendation_config: RecommendationConfig,
    listener: tokio::net::TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    use govlens_proto::data::v1::data_service_server::SERVICE_NAME as DATA;
    use govlens_proto::recommendation::v1::recommendation_service_server::SERVICE_NAME as RECOMMENDATION;
    use govlens_proto::scoring::v1::scoring_service_server::SERVICE_NAME as SCORING;
    let (health_state, health) =
        govlens_kit::grpc::not_serving_health(&[DATA, SCORING, RECOMMENDATION]).await;
    let (stop_accepting, drain) = shutdown.begin(health_state.clone());
    let (reflection_v1, reflection_v1alpha) =
        govlens_kit::grpc::reflection_services(&[DATA, SCORING, RECOMMENDATION])?;
    let data = DataComponent::connect(&data_config).await?;
    let scoring = ScoringComponent::connect(&scoring_config).await?;
    let recommendation = RecommendationComponent::connect(&recommendation_config).await?;
    // One user on one machine: no authentication, and the log says so.
    let server = tonic::transport::Server::builder()
        .layer(RpcTelemetryLayer)
        .layer(govlens_kit::auth::AuthLayer::off())
        .layer(govlens_data::access::ActorLayer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(data.service())
        .add_service(govlens_scoring::data::CallerDeadline::new(
            scoring.service(),
        ))
        .add_service(govlens_recommendation::upstream::CallerDeadline::new(
            recommendation.service(),
        ))
        .serve_with_incoming_shutdown(
            govlens_kit::grpc::incoming(listener),
            scoring.ending_watches(data.ending_watches(stop_accepting)),
        );
    let server = tokio::spawn(server);
    let data_watch = data.start(health_state.clone()).await?;
    let scoring_watch = scoring.start(health_state.clone(), false).await?;
    let recommendation_watch = recommendation.start(health_state.clone(), false).await?;
    health_state.set("", true).await;
    let result = drain.wait(server).await;
    data_watch.abort();
    scoring_watch.abort();
    recommendation_watch.abort();
    result
}

/// A running embedded suite.
pub struct Suite {
    pub address: String,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts the whole suite on `listener` over `database_url`, and waits until it serves.
pub async fn start_suite(
    listener: tokio::net::TcpListener,
    database_url: &str,
    redis_url: Option<String>,
    shutdown: Shutdown,
) -> anyhow::Result<Suite> {
    let local = listener.local_addr()?;
    let address = format!("http://{local}");
    let mut data_config = DataConfig::embedded(local, database_url.to_string());
    data_config.redis_url = redis_url.clone();
    // The scoring and recommendation services call their upstreams over gRPC even in
    // one process: the same code paths as separate deployments.
    let mut scoring_config =
        ScoringConfig::embedded(local, database_url.to_string(), address.clone());
    scoring_config.redis_url = redis_url.clone();
    let mut recommendation_config =
        RecommendationConfig::embedded(local, database_url.to_string(), address.clone());
    recommendation_config.redis_url = redis_url;
    let mut server = tokio::spawn(serve_suite(
        data_config,
        scoring_config,
        recommendation_config,
        listener,
        shutdown,
    ));
    tokio::select! {
        ready = wait_serving(&address) => ready?,
        ended = &mut server => return ended?.and_then(|_| anyhow::bail!("the suite stopped during start-up")),
    }
    Ok(Suite { address, server })
}

/// Loads the paper's dataset when the database has never been written to.
pub async fn seed_if_empty(server: &ServerArgs) -> anyhow::Result<()> {
    let mut client = data_client(server).await?;
    let revision = client
        .get_data_revision(govlens_proto::data::v1::GetDataRevisionRequest {})
        .await
        .map_err(explain)?
        .into_inner()
        .revision;
    if revision > 0 {
        tracing::info!(
            revision,
            "database already holds data; not loading the paper's dataset"
        );
        return Ok(());
    }
    let records = govlens_dataset::paper::records()?;
    let response = crate::import::send(server, records, 5000, false).await?;
    let created: i64 = response.counts.iter().map(|c| c.created).sum();
    println!(
        "loaded the paper's dataset: {created} records (revision {})",
        response.revision
    );
    Ok(())
}

async fn wait_serving(address: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(address.to_string())?
            .connect()
            .await
        {
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|r| r.into_inner().status);
            if status.ok() == Some(ServingStatus::Serving as i32) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the data service did not become healthy within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_part = &url[scheme + 3..at];
            let user = user_part.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
