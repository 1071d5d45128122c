//! `govlens-scoring`: the scoring service as its own process, configured by environment.

use govlens_scoring::{serve, ScoringConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    govlens_kit::process::run_service(
        "govlens-scoring",
        ScoringConfig::from_env(),
        |c| c.listen,
        serve,
    )
    .await
}
