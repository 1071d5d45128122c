//! The instruments every service records into: created once from the global meter
//! (a no-op until [`super::init`] installs an exporting provider).

use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Histogram};

pub struct Instruments {
    /// `rpc.server.call.duration` (s) by `rpc.service`, `rpc.method`, `rpc.grpc.status_code`.
    pub rpc_duration: Histogram<f64>,
    /// `govlens.cache.requests` by `cache.layer` (memory, redis) and `cache.result`
    /// (hit, miss, error).
    pub cache_requests: Counter<u64>,
    /// `db.client.operation.duration` (s) by `db.system.name`, `db.operation.name`, `error`.
    pub db_duration: Histogram<f64>,
}

/// Seconds-scale buckets from 0.5 ms to 10 s (the SDK default is milliseconds-scale).
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("govlens");
        Instruments {
            rpc_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of gRPC calls served, to the end of the response")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
            cache_requests: meter
                .u64_counter("govlens.cache.requests")
                .with_description("Cache lookups by layer and result")
                .build(),
            db_duration: meter
                .f64_histogram("db.client.operation.duration")
                .with_unit("s")
                .with_description("Duration of database statements")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
        }
    })
}
