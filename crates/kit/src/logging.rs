//! Logging set up from the environment: `GOVLENS_LOG` (or `RUST_LOG`) for the filter,
//! `GOVLENS_LOG_FORMAT=json` for structured JSON lines. Services install it through
//! [`crate::telemetry::init`], which adds trace ids; tools call [`init_logging`].

use tracing_subscriber::EnvFilter;

/// The filter and whether to write JSON, from the environment.
pub fn filter_and_format(default_filter: &str) -> (EnvFilter, bool) {
    let filter = std::env::var("GOVLENS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default_filter.to_string());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("GOVLENS_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    (filter, json)
}

/// Installs a log-only global subscriber; later calls are no-ops.
pub fn init_logging(default_filter: &str) {
    let (filter, json) = filter_and_format(default_filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours());
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Colours only on a terminal: logs piped to a file or a collector stay plain text, and
/// every span and event is cheaper to format.
pub fn colours() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
