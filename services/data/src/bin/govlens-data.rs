//! `govlens-data`: the data service as its own process, configured by environment.

use govlens_data::{serve, DataConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    govlens_kit::process::run_service("govlens-data", DataConfig::from_env(), |c| c.listen, serve)
        .await
}
