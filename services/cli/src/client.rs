//! Connecting to a running suite, and readable gRPC errors.

use govlens_proto::data::v1::data_service_client::DataServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// Where the suite listens unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// The `--server` and `--token` options shared by every client command.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// Address of the GovLens service to call.
    #[arg(long, env = "GOVLENS_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// API token (`govlens token issue`); not needed by `govlens up`, which runs
    /// without authentication.
    #[arg(long, env = "GOVLENS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Adds the caller's token to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A connection to a GovLens service, carrying the caller's token.
pub type Connection = InterceptedService<Channel, Bearer>;

pub async fn connect(args: &ServerArgs) -> anyhow::Result<Connection> {
    let channel = Channel::from_shared(args.server.clone())
        .map_err(|e| anyhow::anyhow!("--server {:?}: {e}", args.server))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot reach GovLens at {} ({e}); is `govlens up` running?",
                args.server
            )
        })?;
    let bearer = match args.token.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| anyhow::anyhow!("--token: not a valid token"))?,
        ),
        _ => None,
    };
    Ok(InterceptedService::new(channel, Bearer(bearer)))
}

pub async fn data_client(args: &ServerArgs) -> anyhow::Result<DataServiceClient<Connection>> {
    let channel = connect(args).await?;
    Ok(DataServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

/// A status with its field violations spelled out, one per line.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_error_details().bad_request() {
        for v in bad.field_violations.iter().take(50) {
            text.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
        if bad.field_violations.len() > 50 {
            text.push_str(&format!(
                "\n  ... and {} more",
                bad.field_violations.len() - 50
            ));
        }
    }
    anyhow::anyhow!(text)
}
