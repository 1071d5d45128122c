//! The start of every service binary: logging, configuration that fails fast with exit
//! code 2, binding, serving, and an exit status that says how it went.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::config::ConfigError;

/// Runs a service process: `serve` gets the configuration and a bound listener.
pub async fn run_service<C, Fut>(
    name: &str,
    config: Result<C, ConfigError>,
    listen: impl FnOnce(&C) -> SocketAddr,
    serve: impl FnOnce(C, tokio::net::TcpListener) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    crate::logging::init_logging("info");
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = listen(&config);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    match serve(config, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "{name} failed");
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; draining in-flight calls");
}

/// Runs a start-up step (e.g. migrations) again when it fails, a bounded number of
/// times with a growing pause: replicas starting together on a fresh database race
/// on creating its tables, and the loser's retry finds the winner's work recorded.
pub async fn retry_startup<T, Fut>(
    what: &str,
    attempts: u32,
    mut step: impl FnMut() -> Fut,
) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt < attempts => {
                tracing::info!(attempt, error = %e, "{what} failed; retrying (another replica may be doing the same)");
                tokio::time::sleep(std::time::Duration::from_millis(
                    100 * u64::from(attempt.min(10)),
                ))
                .await;
                attempt += 1;
            }
            Err(e) => return Err(e.context(format!("{what} failed after {attempts} attempts"))),
        }
    }
}
