//! `govlens-data`: the data service as its own process, configured by environment.

use govlens_data::{serve, shutdown_signal, DataConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    govlens_kit::logging::init_logging("info");
    let config = match DataConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("govlens-data: bad configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("govlens-data: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::from(2);
        }
    };
    match serve(config, listener, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "data service failed");
            eprintln!("govlens-data: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
