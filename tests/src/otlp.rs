//! An in-process OTLP/gRPC receiver: the services under test export their traces and
//! metrics to it as they would to an OpenTelemetry collector, and tests read what
//! arrived.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

/// One span as received, with the service that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// 2 = server, 3 = client (OTLP's SpanKind).
    pub kind: i32,
    pub attributes: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One metric data point as received: service, metric name, attributes.
#[derive(Debug, Clone)]
pub struct ReceivedPoint {
    pub service: String,
    pub metric: String,
    pub attributes: Vec<(String, String)>,
    /// Count of a histogram point, value of a sum or gauge point.
    pub value: f64,
}

impl ReceivedPoint {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    points: Vec<ReceivedPoint>,
}

/// The receiver, serving on 127.0.0.1 until dropped.
pub struct OtlpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Handler(Arc<Mutex<Received>>);

fn text(kv: &KeyValue) -> (String, String) {
    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    (kv.key.clone(), value)
}

fn service_name(resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>) -> String {
    resource
        .into_iter()
        .flat_map(|r| r.attributes.iter())
        .map(text)
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = Vec::new();
        for rs in request.into_inner().resource_spans {
            let service = service_name(rs.resource.as_ref());
            for ss in rs.scope_spans {
                for s in ss.spans {
                    spans.push(ReceivedSpan {
                        service: service.clone(),
                        name: s.name,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        kind: s.kind,
                        attributes: s.attributes.iter().map(text).collect(),
                    });
                }
            }
        }
        self.0.lock().unwrap().spans.extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut points = Vec::new();
        for rm in request.into_inner().resource_metrics {
            let service = service_name(rm.resource.as_ref());
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    let mut push = |attributes: &[KeyValue], value: f64| {
                        points.push(ReceivedPoint {
                            service: service.clone(),
                            metric: m.name.clone(),
                            attributes: attributes.iter().map(text).collect(),
                            value,
                        })
                    };
                    match &m.data {
                        Some(Data::Histogram(h)) => {
                            for p in &h.data_points {
                                push(&p.attributes, p.count as f64);
                            }
                        }
                        Some(Data::Sum(s)) => {
                            for p in &s.data_points {
                                push(&p.attributes, number(&p.value));
                            }
                        }
                        Some(Data::Gauge(g)) => {
                            for p in &g.data_points {
                                push(&p.attributes, number(&p.value));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        self.0.lock().unwrap().points.extend(points);
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn number(v: &Option<opentelemetry_proto::tonic::metrics::v1::number_data_point::Value>) -> f64 {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    match v {
        Some(Value::AsDouble(d)) => *d,
        Some(Value::AsInt(i)) => *i as f64,
        None => 0.0,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl OtlpSink {
    pub async fn start() -> OtlpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OTLP receiver");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Received::default()));
        let handler = Handler(received.clone());
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(handler.clone()))
                .add_service(MetricsServiceServer::new(handler))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await;
        });
        OtlpSink {
            addr,
            received,
            _server: server,
        }
    }

    /// The endpoint to give services (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.lock().unwrap().spans.clone()
    }

    pub fn points(&self) -> Vec<ReceivedPoint> {
        self.received.lock().unwrap().points.clone()
    }

    /// The spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect()
    }

    /// Waits until `done` holds for what arrived, or `timeout` passes; returns
    /// whether it held.
    pub async fn wait_for(&self, timeout: Duration, done: impl Fn(&OtlpSink) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Services that sent spans of `trace_id`.
    pub fn services_in_trace(&self, trace_id: &str) -> BTreeSet<String> {
        self.trace(trace_id)
            .into_iter()
            .map(|s| s.service)
            .collect()
    }
}
