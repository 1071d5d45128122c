//! OpenTelemetry for every GovLens process: traces and metrics over OTLP/gRPC, W3C
//! trace context in gRPC metadata, and logs (text or JSON) that carry the trace id.
//!
//! Configured only by environment, parsed once at start:
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` (or `GOVLENS_OTLP_ENDPOINT`): where to export, e.g.
//!   `http://otel-collector:4317`. Unset: nothing is exported, but trace ids are still
//!   made, propagated and logged (in access and internal-error lines; in every line of
//!   a call that is traced).
//! - `OTEL_SERVICE_NAME`: overrides the process's service name.
//! - `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`: which calls are traced (see
//!   [`sampling`]). Default `parentbased_always_on` when exporting; otherwise
//!   `parentbased_always_off`: only calls whose caller traces them get spans.
//! - `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_METRIC_EXPORT_INTERVAL` (ms): export cadence,
//!   read by the SDK.
//! - `GOVLENS_LOG` (or `RUST_LOG`) and `GOVLENS_LOG_FORMAT=json`: see [`crate::logging`].

pub mod db;
pub mod metrics;
pub mod propagation;
pub mod rpc;
pub mod sampling;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::ConfigError;

pub const ENV_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const ENV_GOVLENS_OTLP_ENDPOINT: &str = "GOVLENS_OTLP_ENDPOINT";
pub const ENV_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports telemetry (an OTLP endpoint is configured).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// What the telemetry of one process looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    pub service_name: String,
    /// OTLP/gRPC endpoint (`http://host:4317`); `None` exports nothing.
    pub otlp_endpoint: Option<String>,
    /// Which incoming calls are traced.
    pub sampling: sampling::TraceSampling,
}

impl TelemetryConfig {
    /// Reads the configuration; `service_name` is the default `service.name`.
    pub fn from_lookup(
        service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let endpoint = [ENV_GOVLENS_OTLP_ENDPOINT, ENV_OTLP_ENDPOINT]
            .into_iter()
            .find_map(|var| {
                lookup(var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (var, v))
            });
        let otlp_endpoint = match endpoint {
            None => None,
            Some((var, value)) => {
                let value = value.trim().to_string();
                let ok = (value.starts_with("http://") || value.starts_with("https://"))
                    && value.parse::<http::Uri>().is_ok_and(|u| u.host().is_some());
                if !ok {
                    return Err(ConfigError {
                        variable: var,
                        message: format!(
                            "{value:?} is not an OTLP/gRPC endpoint; write http://host:4317"
                        ),
                    });
                }
                Some(value)
            }
        };
        let service_name = lookup(ENV_SERVICE_NAME)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| service_name.to_string());
        let sampling = sampling::TraceSampling::from_lookup(otlp_endpoint.is_some(), &lookup)?;
        Ok(TelemetryConfig {
            service_name,
            otlp_endpoint,
            sampling,
        })
    }

    pub fn from_env(service_name: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(service_name, |k| std::env::var(k).ok())
    }
}

/// Flushes and stops the exporters when the process ends.
#[must_use = "telemetry is lost unless the guard is shut down"]
pub struct OtelGuard {
    tracer_provider: SdkTracerProvider,
    meter_provider: Option<SdkMeterProvider>,
}

impl OtelGuard {
    /// Exports what is buffered, within `bound`. The SDK's shutdown blocks, so it runs
    /// off the async workers.
    pub async fn shutdown(self, bound: Duration) {
        let OtelGuard {
            tracer_provider,
            meter_provider,
        } = self;
        let flush = tokio::task::spawn_blocking(move || {
            if let Some(meters) = meter_provider {
                if let Err(e) = meters.shutdown() {
                    eprintln!("telemetry: metrics flush failed: {e}");
                }
            }
            if let Err(e) = tracer_provider.shutdown() {
                eprintln!("telemetry: trace flush failed: {e}");
            }
        });
        if tokio::time::timeout(bound, flush).await.is_err() {
            eprintln!("telemetry: flush did not finish within {bound:?}; exiting anyway");
        }
    }
}

/// Installs the propagator, tracer and meter providers and the log subscriber. Call
/// once, inside the Tokio runtime, before serving.
pub fn init(config: &TelemetryConfig, default_log_filter: &str) -> anyhow::Result<OtelGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance_id()),
        ])
        .build();

    // A tracer provider even without an exporter: trace ids are still made, passed
    // to upstream services and written in logs.
    let mut tracer_builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(config.sampling.provider_sampler());
    sampling::install(&config.sampling);
    let mut meter_provider = None;
    if let Some(endpoint) = &config.otlp_endpoint {
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(Duration::from_secs(5))
            .build()?;
        tracer_builder = tracer_builder.with_batch_exporter(spans);
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(Duration::from_secs(5))
            .build()?;
        let meters = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_periodic_exporter(metrics)
            .build();
        opentelemetry::global::set_meter_provider(meters.clone());
        meter_provider = Some(meters);
        EXPORTING.store(true, Ordering::Relaxed);
    }
    let tracer_provider = tracer_builder.build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    let tracer = tracer_provider.tracer("govlens");

    // One filter for logs and spans alike: what the logs leave out is not traced.
    let (filter, json) = crate::logging::filter_and_format(default_log_filter);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(crate::logging::colours());
    let installed = if json {
        registry
            .with(
                fmt.json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(fmt).try_init()
    };
    if installed.is_err() {
        tracing::debug!("a log subscriber was already installed; keeping it");
    }
    if let Some(endpoint) = &config.otlp_endpoint {
        tracing::info!(%endpoint, service = %config.service_name, "exporting traces and metrics over OTLP");
    }
    Ok(OtelGuard {
        tracer_provider,
        meter_provider,
    })
}

/// Host name and process id: tells replicas apart in traces.
fn instance_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}/{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TelemetryConfig::from_lookup("govlens-data", |k| map.get(k).cloned())
    }

    #[test]
    fn no_endpoint_exports_nothing() {
        let c = config(&[]).unwrap();
        assert_eq!(c.otlp_endpoint, None);
        assert_eq!(c.service_name, "govlens-data");
    }

    #[test]
    fn endpoint_must_be_an_http_url() {
        for bad in ["collector:4317", "grpc://collector:4317", "http://"] {
            let e = config(&[(ENV_OTLP_ENDPOINT, bad)]).unwrap_err();
            assert_eq!(e.variable, ENV_OTLP_ENDPOINT, "{bad}");
        }
        let ok = config(&[(ENV_OTLP_ENDPOINT, "http://otel-collector:4317")]).unwrap();
        assert_eq!(
            ok.otlp_endpoint.as_deref(),
            Some("http://otel-collector:4317")
        );
    }

    #[test]
    fn govlens_variable_wins_and_service_name_can_be_overridden() {
        let c = config(&[
            (ENV_OTLP_ENDPOINT, "http://a:4317"),
            (ENV_GOVLENS_OTLP_ENDPOINT, "http://b:4317"),
            (ENV_SERVICE_NAME, "data-eu"),
        ])
        .unwrap();
        assert_eq!(c.otlp_endpoint.as_deref(), Some("http://b:4317"));
        assert_eq!(c.service_name, "data-eu");
    }
}
