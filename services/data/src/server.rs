//! Runs the data service: health (NOT_SERVING until migrations ran), reflection, the
//! API, and a watchdog that reports NOT_SERVING while the database is unreachable.
//! [`DataComponent`] lets `govlens up` host it beside other services on one port.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govlens_proto::data::v1::data_service_server::{DataServiceServer, SERVICE_NAME};
use tokio::net::TcpListener;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::config::DataConfig;
use crate::service::DataApi;
use crate::store::Store;

/// Largest request or response message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The data service before it is mounted: connected, not yet migrated.
pub struct DataComponent {
    store: Store,
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

    pub fn cache_description(&self) -> &'static str {
        self.cache_description
    }

    /// Runs migrations, then reports SERVING and keeps health in step with the
    /// database. Returns the watchdog task.
    pub async fn start(
        &self,
        reporter: HealthReporter,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        self.store.migrate().await?;
        self.ready.store(true, Ordering::Release);
        reporter
            .set_service_status(SERVICE_NAME, ServingStatus::Serving)
            .await;
        tracing::info!("data service migrated; SERVING");
        Ok(tokio::spawn(watch_database(self.store.clone(), reporter)))
    }
}

/// Serves the data service alone on `listener` until `shutdown` resolves, then drains
/// in-flight calls.
pub async fn serve(
    config: DataConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (reporter, health) = govlens_kit::grpc::not_serving_health().await;
    reporter
        .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
        .await;
    let (reflection_v1, reflection_v1alpha) = govlens_kit::grpc::reflection_services()?;
    let component = DataComponent::connect(&config).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, cache = component.cache_description(), "data service listening (NOT_SERVING until migrated)");

    let server = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(component.service())
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        );
    let server = tokio::spawn(server);

    let watchdog = component.start(reporter.clone()).await?;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let result = server.await;
    watchdog.abort();
    result??;
    tracing::info!("data service stopped");
    Ok(())
}

async fn watch_database(store: Store, reporter: HealthReporter) {
    let mut up = true;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = store.ping().await;
        if now != up {
            up = now;
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::warn!(database_up = up, "database reachability changed");
            reporter.set_service_status("", status).await;
            reporter.set_service_status(SERVICE_NAME, status).await;
        }
    }
}

pub use govlens_kit::process::shutdown_signal;
