//! `govlens-recommendation`: the recommendation service as its own process.

use govlens_recommendation::{serve, RecommendationConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    govlens_kit::process::run_service(
        "govlens-recommendation",
        RecommendationConfig::from_env(),
        |c| c.listen,
        serve,
    )
    .await
}
