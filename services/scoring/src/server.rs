//! Runs the scoring service; [`ScoringComponent`] lets `govlens up` host it beside the
//! data service on one port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govlens_kit::auth::remote::RemoteAuthenticator;
use govlens_kit::auth::{AuthConfig, AuthLayer};
use govlens_kit::grpc::Health;
use govlens_kit::process::Shutdown;
use govlens_kit::reply::EncodedReplies;
use govlens_kit::telemetry::rpc::RpcTelemetryLayer;
use govlens_proto::scoring::v1::scoring_service_server::{ScoringServiceServer, SERVICE_NAME};
use tokio::net::TcpListener;

use crate::config::ScoringConfig;
use crate::data::DataSource;
use crate::models::ModelStore;
use crate::service::ScoringApi;

/// Models shipped with GovLens, stored on start (a changed file becomes a new version).
pub const SHIPPED_MODELS: &[(&str, &str)] = &[
    (
        "toe-default",
        include_str!("../../../models/toe-default.toml"),
    ),
    ("un-egdi", include_str!("../../../models/un-egdi.toml")),
    (
        "worldbank-gtmi",
        include_str!("../../../models/worldbank-gtmi.toml"),
    ),
];

/// The scoring service before it is mounted.
pub struct ScoringComponent {
    models: ModelStore,
    data: DataSource,
    api: ScoringApi,
    ready: Arc<AtomicBool>,
}

impl ScoringComponent {
    pub async fn connect(config: &ScoringConfig) -> anyhow::Result<Self> {
        let models = crate::models::connect(&config.database_url, config.leases).await?;
        let mut data = DataSource::connect_lazy(&config.data_addr, config.upstream_timeout)?;
        if config.leases {
            data = data.with_revision_lease(&config.data_addr)?;
        }
        let ready = Arc::new(AtomicBool::new(false));
        let api = ScoringApi::new(models.clone(), data.clone(), config.cache()?, ready.clone());
        Ok(ScoringComponent {
            models,
            data,
            api,
            ready,
        })
    }

    /// The generated server, with the cached methods answering a hit with the stored
    /// bytes (no decoding and encoding again).
    pub fn service(&self) -> EncodedReplies<ScoringServiceServer<ScoringApi>> {
        const MAX_DECODING: usize = 8 << 20;
        const MAX_ENCODING: usize = 64 << 20;
        let server = ScoringServiceServer::new(self.api.clone())
            .max_decoding_message_size(MAX_DECODING)
            .max_encoding_message_size(MAX_ENCODING);
        EncodedReplies::new(server, Some(MAX_DECODING), Some(MAX_ENCODING))
            .unary_on(
                "/govlens.scoring.v1.ScoringService/ScoreUnits",
                &self.api,
                |api, req| async move { api.score_units_reply(req).await },
            )
            .unary_on(
                "/govlens.scoring.v1.ScoringService/CompareRegions",
                &self.api,
                |api, req| async move { api.compare_regions_reply(req).await },
            )
            .unary_on(
                "/govlens.scoring.v1.ScoringService/ExplainScore",
                &self.api,
                |api, req| async move { api.explain_score_reply(req).await },
            )
    }

    /// `stop` (the server's shutdown future), which also ends the model revision
    /// watches when it resolves: the server drains in-flight calls, and watches never
    /// end on their own.
    pub fn ending_watches<F: std::future::Future>(
        &self,
        stop: F,
    ) -> impl std::future::Future<Output = F::Output> {
        let models = self.models.clone();
        govlens_kit::lease::closing_watches(stop, move || models.lease_hub())
    }

    /// Migrates, stores the shipped models, and reports SERVING once the data service
    /// answers; health follows the data service and the model store afterwards. With
    /// `whole_server`, the server's overall status ("") follows too.
    pub async fn start(
        &self,
        health: Health,
        whole_server: bool,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        self.models.migrate().await?;
        // Before the shipped models are stored: their versions are news to readers.
        let hub = self.models.start_lease_hub().await?;
        tracing::info!(
            granting = hub.granting(),
            "model revision leases {}",
            if hub.granting() {
                "granted to readers"
            } else {
                "off: readers ask per call"
            }
        );
        self.ready.store(true, Ordering::Release);
        for (id, source) in SHIPPED_MODELS {
            self.api
                .ensure_model(id, source)
                .await
                .map_err(|e| anyhow::anyhow!("shipped model {id}: {e}"))?;
        }
        tracing::info!(
            models = SHIPPED_MODELS.len(),
            "scoring service migrated; shipped models stored"
        );
        let data = self.data.clone();
        let models = self.models.clone();
        Ok(tokio::spawn(async move {
            let mut last = None;
            loop {
                let up = data.ping().await && models.ping().await;
                if last != Some(up) {
                    tracing::info!(upstreams_up = up, "scoring service health");
                    health.set(SERVICE_NAME, up).await;
                    if whole_server {
                        health.set("", up).await;
                    }
                    last = Some(up);
                }
                tokio::time::sleep(Duration::from_secs(if up { 2 } else { 1 })).await;
            }
        }))
    }
}

/// Serves the scoring service alone until `shutdown` resolves.
pub async fn serve(
    config: ScoringConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // Before any upstream channel is made: `https://` upstreams use it.
    config.tls.install_for_upstreams();
    let (health_state, health) = govlens_kit::grpc::not_serving_health(&[SERVICE_NAME]).await;
    let (stop_accepting, drain) = shutdown.begin(health_state.clone());
    let (reflection_v1, reflection_v1alpha) =
        govlens_kit::grpc::reflection_services(&[SERVICE_NAME])?;
    let component = ScoringComponent::connect(&config).await?;
    tracing::info!(addr = %listener.local_addr()?, data = %config.data_addr, "scoring service listening");
    let auth = auth_layer(&config.auth, &config.data_addr, config.upstream_timeout)?;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = config.tls.server() {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .layer(RpcTelemetryLayer)
        .layer(auth)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        // Upstream calls get at most the time left on the caller's deadline.
        .add_service(crate::data::CallerDeadline::new(component.service()))
        .serve_with_incoming_shutdown(
            govlens_kit::grpc::incoming(listener),
            component.ending_watches(stop_accepting),
        );
    let server = tokio::spawn(server);
    let watchdog = component.start(health_state, true).await?;
    let result = drain.wait(server).await;
    watchdog.abort();
    result
}

/// Authentication of this service's callers: tokens are checked by the data service,
/// and this service calls its upstreams with the service token.
pub fn auth_layer(
    auth: &AuthConfig,
    data_addr: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<AuthLayer> {
    if let Some(token) = &auth.service_token {
        govlens_kit::telemetry::propagation::set_service_credentials(token)?;
    }
    let checker = RemoteAuthenticator::connect_lazy(data_addr, timeout)?;
    Ok(AuthLayer::new(auth.clone(), std::sync::Arc::new(checker)))
}
