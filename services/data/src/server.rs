//! Runs the data service: health (NOT_SERVING until migrations ran), reflection, the
//! API, and a watchdog that reports NOT_SERVING while the database is unreachable.
//! [`DataComponent`] lets `govlens up` host it beside other services on one port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govlens_kit::auth::AuthLayer;
use govlens_kit::grpc::Health;
use govlens_kit::process::Shutdown;
use govlens_kit::telemetry::rpc::RpcTelemetryLayer;
use govlens_proto::data::v1::data_service_server::{DataServiceServer, SERVICE_NAME};
use tokio::net::TcpListener;

use crate::access::ActorLayer;
use crate::config::DataConfig;
use crate::service::DataApi;
use crate::store::Store;

/// Largest request or response message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The data service before it is mounted: connected, not yet migrated.
pub struct DataComponent {
    store: Store,
    leases: bool,
    api: DataApi,
    ready: Arc<AtomicBool>,
    cache_description: &'static str,
}

impl DataComponent {
    /// Connects to the database and sets up the cache; answers UNAVAILABLE until
    /// [`DataComponent::start`] has migrated.
    pub async fn connect(config: &DataConfig) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url).await?;
        let cache = config.cache()?;
        let ready = Arc::new(AtomicBool::new(false));
        let cache_description = cache.describe();
        let api = DataApi::new(store.clone(), cache, ready.clone());
        Ok(DataComponent {
            store,
            leases: config.leases,
            api,
            ready,
            cache_description,
        })
    }

    /// The gRPC service to mount.
    pub fn service(&self) -> DataServiceServer<DataApi> {
        DataServiceServer::new(self.api.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// Checks API tokens against this service's database.
    pub fn authenticator(&self) -> std::sync::Arc<dyn govlens_kit::auth::Authenticator> {
        crate::tokens::StoreAuthenticator::shared(self.store.clone())
    }

    pub fn cache_description(&self) -> &'static str {
        self.cache_description
    }

    /// `stop` (the server's shutdown future), which also ends the revision watches
    /// when it resolves: the server drains in-flight calls, and watches never end on
    /// their own.
    pub fn ending_watches<F: std::future::Future>(
        &self,
        stop: F,
    ) -> impl std::future::Future<Output = F::Output> {
        let store = self.store.clone();
        govlens_kit::lease::closing_watches(stop, move || store.leases().cloned())
    }

    /// Runs migrations, then reports SERVING and keeps health in step with the
    /// database. Returns the watchdog task.
    pub async fn start(&self, health: Health) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        self.store.migrate().await?;
        // Before the first write: a new replica waits out the leases others granted.
        let leases = self.store.start_leases(self.leases).await?;
        tracing::info!(
            granting = leases.granting(),
            "revision leases {}",
            if leases.granting() {
                "on"
            } else {
                "off: readers ask per call"
            }
        );
        self.ready.store(true, Ordering::Release);
        health.set(SERVICE_NAME, true).await;
        tracing::info!("data service migrated; SERVING");
        Ok(tokio::spawn(watch_database(self.store.clone(), health)))
    }
}

/// Serves the data service alone on `listener` until `shutdown` says stop, then
/// drains in-flight calls.
pub async fn serve(
    config: DataConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // Before any upstream channel is made: `https://` upstreams use it.
    config.tls.install_for_upstreams();
    let (health_state, health) = govlens_kit::grpc::not_serving_health(&[SERVICE_NAME]).await;
    let (stop_accepting, drain) = shutdown.begin(health_state.clone());
    let (reflection_v1, reflection_v1alpha) =
        govlens_kit::grpc::reflection_services(&[SERVICE_NAME])?;
    let component = DataComponent::connect(&config).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, cache = component.cache_description(), "data service listening (NOT_SERVING until migrated)");

    if let Some(token) = &config.auth.service_token {
        govlens_kit::telemetry::propagation::set_service_credentials(token)?;
    }
    let auth = AuthLayer::new(config.auth.clone(), component.authenticator());
    // Outermost first: telemetry sees every call, then authentication, then the actor
    // the store checks and audits writes against.
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = config.tls.server() {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .layer(RpcTelemetryLayer)
        .layer(auth)
        .layer(ActorLayer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(component.service())
        .serve_with_incoming_shutdown(
            govlens_kit::grpc::incoming(listener),
            component.ending_watches(stop_accepting),
        );
    let server = tokio::spawn(server);

    let watchdog = component.start(health_state.clone()).await?;
    health_state.set("", true).await;
    let result = drain.wait(server).await;
    watchdog.abort();
    result
}

async fn watch_database(store: Store, health: Health) {
    let mut up = true;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = store.ping().await;
        if now != up {
            up = now;
            tracing::warn!(database_up = up, "database reachability changed");
            health.set("", up).await;
            health.set(SERVICE_NAME, up).await;
        }
    }
}

pub use govlens_kit::process::shutdown_signal;
