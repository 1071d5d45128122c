//! `govlens health`: a gRPC health probe for container healthchecks and scripts.

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::client::ServerArgs;

#[derive(clap::Args)]
pub struct HealthArgs {
    /// Service to ask about; empty means the whole server.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(args.server.server.clone())?
            .connect()
            .await?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await?
            .into_inner()
            .status;
        anyhow::Ok(status)
    };
    let status = tokio::time::timeout(Duration::from_secs(args.timeout), check)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no answer from {} within {} s",
                args.server.server,
                args.timeout
            )
        })??;
    let name = ServingStatus::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN");
    println!("{name}");
    if status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        anyhow::bail!("{} is {name}", args.server.server)
    }
}
