//! Database telemetry through sea-orm's per-statement callback: a client span per
//! statement (child of the call that ran it), a duration histogram, and gauges of the
//! connection pool. Statements carry placeholders, never the bound values.

use std::time::SystemTime;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::KeyValue;
use sea_orm::{DatabaseConnection, DbBackend};

/// Longest statement text kept on a span.
const MAX_STATEMENT_CHARS: usize = 2000;

/// Instruments `db` when this process exports telemetry. `pool` names the pool in
/// the gauges (one process may hold several).
pub fn instrument(db: &mut DatabaseConnection, pool: &'static str) {
    if !super::exporting() {
        return;
    }
    let system = match db.get_database_backend() {
        DbBackend::Postgres => "postgresql",
        DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    db.set_metric_callback(move |info| {
        let end = SystemTime::now();
        let start = end.checked_sub(info.elapsed).unwrap_or(end);
        let sql = info.statement.sql.as_str();
        let operation = sql
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        super::metrics::instruments().db_duration.record(
            info.elapsed.as_secs_f64(),
            &[
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation.clone()),
                KeyValue::new("error", info.failed),
            ],
        );
        let parent = super::sampling::current_context();
        let tracer = opentelemetry::global::tracer("govlens.db");
        let mut span = tracer
            .span_builder(format!("{operation} {system}"))
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation),
                KeyValue::new("db.query.text", truncate(sql, MAX_STATEMENT_CHARS)),
                KeyValue::new("db.client.pool", pool),
            ])
            .start_with_context(&tracer, &parent);
        if info.failed {
            span.set_status(Status::error("statement failed"));
        }
        span.end_with_timestamp(end);
    });
    register_pool_gauge(db, system, pool);
}

/// `db.client.connection.count` by `state` (idle, used): how full the pool is.
fn register_pool_gauge(db: &DatabaseConnection, system: &'static str, pool: &'static str) {
    let meter = opentelemetry::global::meter("govlens");
    let attrs = move |state: &'static str| {
        [
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.client.connection.pool.name", pool),
            KeyValue::new("db.client.connection.state", state),
        ]
    };
    // The gauge stays registered with the meter provider; the handle is not needed.
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool().clone();
            let _ = meter
                .i64_observable_up_down_counter("db.client.connection.count")
                .with_description("Connections in the pool by state")
                .with_callback(move |o| {
                    let (size, idle) = (i64::from(p.size()), p.num_idle() as i64);
                    o.observe(size - idle, &attrs("used"));
                    o.observe(idle, &attrs("idle"));
                })
                .build();
        }
        DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool().clone();
            let _ = meter
                .i64_observable_up_down_counter("db.client.connection.count")
                .with_description("Connections in the pool by state")
                .with_callback(move |o| {
                    let (size, idle) = (i64::from(p.size()), p.num_idle() as i64);
                    o.observe(size - idle, &attrs("used"));
                    o.observe(idle, &attrs("idle"));
                })
                .build();
        }
        _ => {}
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
