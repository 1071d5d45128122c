//! Health and reflection services every GovLens server mounts.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tonic_health::ServingStatus;
use tonic_reflection::server::v1::{ServerReflection, ServerReflectionServer};
use tonic_reflection::server::v1alpha::{
    ServerReflection as ServerReflectionAlpha,
    ServerReflectionServer as ServerReflectionAlphaServer,
};

/// Reflection (v1 and v1alpha, for older grpcurl) listing the services this server
/// mounts (`served`), health and reflection; the descriptors of every GovLens proto
/// are there to describe their messages.
pub fn reflection_services(
    served: &[&str],
) -> anyhow::Result<(
    ServerReflectionServer<impl ServerReflection>,
    ServerReflectionAlphaServer<impl ServerReflectionAlpha>,
)> {
    let builder = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(govlens_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for name in served {
            b = b.with_service_name(*name);
        }
        b
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// The health a server reports: NOT_SERVING until the owner says otherwise, and
/// NOT_SERVING for good once stopping (watchdogs cannot turn it back).
#[derive(Clone)]
pub struct Health {
    reporter: tonic_health::server::HealthReporter,
    stopping: Arc<AtomicBool>,
    names: Arc<Mutex<BTreeSet<String>>>,
}

impl Health {
    /// Sets the status of `service` ("" is the whole server).
    pub async fn set(&self, service: &str, serving: bool) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(service.to_string());
        let status = if serving && !self.stopping.load(Ordering::Acquire) {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status(service, status).await;
    }

    /// Turns every service and the server NOT_SERVING, for the rest of its life.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        let names: Vec<String> = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        for name in names.iter().map(String::as_str).chain([""]) {
            self.reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    }
}

/// The health service, with the overall status ("") and each of `services`
/// NOT_SERVING until the caller is ready.
pub async fn not_serving_health(
    services: &[&str],
) -> (
    Health,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    let health = Health {
        reporter,
        stopping: Arc::default(),
        names: Arc::default(),
    };
    for name in services.iter().chain(&[""]) {
        health.set(name, false).await;
    }
    (health, service)
}

/// The connections a server accepts on `listener`, with TCP_NODELAY: without it a
/// response's last frames wait for the client's delayed ACK (~40 ms per call). tonic
/// sets it only on listeners it binds itself.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}
