//! Runs the recommendation service; [`RecommendationComponent`] lets `govlens up` host
//! it beside the other services on one port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govlens_kit::auth::remote::RemoteAuthenticator;
use govlens_kit::auth::{AuthConfig, AuthLayer};
use govlens_kit::grpc::Health;
use govlens_kit::process::Shutdown;
use govlens_kit::reply::EncodedReplies;
use govlens_kit::telemetry::rpc::RpcTelemetryLayer;
use govlens_proto::recommendation::v1::recommendation_service_server::{
    RecommendationServiceServer, SERVICE_NAME,
};
use govlens_versioned::VersionedStore;
use tokio::net::TcpListener;

use crate::config::RecommendationConfig;
use crate::service::RecommendationApi;
use crate::upstream::{call, Upstreams};

/// The recommendation service before it is mounted.
pub struct RecommendationComponent {
    rulebooks: VersionedStore,
    up: Upstreams,
    api: RecommendationApi,
    ready: Arc<AtomicBool>,
}

impl RecommendationComponent {
    pub async fn connect(config: &RecommendationConfig) -> anyhow::Result<Self> {
        let rulebooks = VersionedStore::connect(
            &config.database_url,
            "rulebook",
            "rulebook",
            "govlens_recommendation_migrations",
        )
        .await?
        .with_leases(config.leases);
        let mut up = Upstreams::connect_lazy(
            &config.data_addr,
            &config.scoring_addr,
            config.upstream_timeout,
        )?;
        if config.leases {
            up = up.with_revision_leases(&config.data_addr, &config.scoring_addr)?;
        }
        let ready = Arc::new(AtomicBool::new(false));
        let api = RecommendationApi::new(
            rulebooks.clone(),
            up.clone(),
            config.cache()?,
            ready.clone(),
        );
        Ok(RecommendationComponent {
            rulebooks,
            up,
            api,
            ready,
        })
    }

    /// The generated server, with the cached methods answering a hit with the stored
    /// bytes (no decoding and encoding again).
    pub fn service(&self) -> EncodedReplies<RecommendationServiceServer<RecommendationApi>> {
        const MAX_ENCODING: usize = 64 << 20;
        let server = RecommendationServiceServer::new(self.api.clone())
            .max_encoding_message_size(MAX_ENCODING);
        EncodedReplies::new(server, None, Some(MAX_ENCODING))
            .unary_on(
                "/govlens.recommendation.v1.RecommendationService/Diagnose",
                &self.api,
                |api, req| async move { api.diagnose_reply(req).await },
            )
            .unary_on(
                "/govlens.recommendation.v1.RecommendationService/Recommend",
                &self.api,
                |api, req| async move { api.recommend_reply(req).await },
            )
            .unary_on(
                "/govlens.recommendation.v1.RecommendationService/GenerateReport",
                &self.api,
                |api, req| async move { api.generate_report_reply(req).await },
            )
    }

    /// Migrates, stores the default rulebook, then reports SERVING while the data and
    /// scoring services and the rulebook store answer.
    pub async fn start(
        &self,
        health: Health,
        whole_server: bool,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        self.rulebooks.migrate().await?;
        self.ready.store(true, Ordering::Release);
        self.api
            .ensure_default_rulebook()
            .await
            .map_err(|e| anyhow::anyhow!("default rulebook: {e}"))?;
        let up = self.up.clone();
        let rulebooks = self.rulebooks.clone();
        Ok(tokio::spawn(async move {
            let mut last = None;
            loop {
                let mut scoring = up.scoring.clone();
                let scoring_up = call(
                    "scoring",
                    Duration::from_secs(2),
                    scoring.list_models(up.request(
                        govlens_proto::scoring::v1::ListModelsRequest {
                            page_size: 1,
                            page_token: String::new(),
                        },
                    )),
                )
                .await
                .is_ok();
                let mut data = up.data.clone();
                let data_up = call(
                    "data",
                    Duration::from_secs(2),
                    data.get_data_revision(
                        up.request(govlens_proto::data::v1::GetDataRevisionRequest {}),
                    ),
                )
                .await
                .is_ok();
                let ok = scoring_up && data_up && rulebooks.ping().await;
                if last != Some(ok) {
                    tracing::info!(upstreams_up = ok, "recommendation service health");
                    health.set(SERVICE_NAME, ok).await;
                    if whole_server {
                        health.set("", ok).await;
                    }
                    last = Some(ok);
                }
                tokio::time::sleep(Duration::from_secs(if ok { 2 } else { 1 })).await;
            }
        }))
    }
}

/// Serves the recommendation service alone until `shutdown` resolves.
pub async fn serve(
    config: RecommendationConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // Before any upstream channel is made: `https://` upstreams use it.
    config.tls.install_for_upstreams();
    let (health_state, health) = govlens_kit::grpc::not_serving_health(&[SERVICE_NAME]).await;
    let (stop_accepting, drain) = shutdown.begin(health_state.clone());
    let (reflection_v1, reflection_v1alpha) =
        govlens_kit::grpc::reflection_services(&[SERVICE_NAME])?;
    let component = RecommendationComponent::connect(&config).await?;
    tracing::info!(addr = %listener.local_addr()?, scoring = %config.scoring_addr, "recommendation service listening");
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
        .add_service(crate::upstream::CallerDeadline::new(component.service()))
        .serve_with_incoming_shutdown(govlens_kit::grpc::incoming(listener), stop_accepting);
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
