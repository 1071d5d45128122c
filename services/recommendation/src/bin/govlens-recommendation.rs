//! `govlens-recommendation`: the recommendation service as its own process.

use govlens_recommendation::{serve, RecommendationConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    govlens_kit::logging::init_logging("info");
    let config = match RecommendationConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("govlens-recommendation: bad configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("govlens-recommendation: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::from(2);
        }
    };
    match serve(config, listener, govlens_data::shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govlens-recommendation: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
