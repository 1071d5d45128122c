//! `govlens-healthcheck [ADDRESS] [SERVICE]`: asks a gRPC server's
//! `grpc.health.v1.Health/Check` whether it (or one of its services) is serving.
//!
//! Exits 0 when the answer is SERVING and 1 otherwise (NOT_SERVING, unknown service,
//! unreachable, no answer within 3 s, bad arguments), printing one line saying why on
//! stderr. Made for container healthchecks (`HEALTHCHECK`, compose `healthcheck.test`),
//! where exit code 1 means unhealthy.

use std::process::ExitCode;
use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

const DEFAULT_ADDRESS: &str = "http://127.0.0.1:50051";
const DEADLINE: Duration = Duration::from_secs(3);
const USAGE: &str = "usage: govlens-healthcheck [ADDRESS] [SERVICE]
  ADDRESS  http://host:port or host:port (default http://127.0.0.1:50051)
  SERVICE  service name to ask about, e.g. govlens.data.v1.DataService (default: the whole server)
exits 0 when SERVING, 1 otherwise";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.len() > 2 || args.iter().any(|a| a.starts_with('-')) {
        eprintln!("unhealthy: bad arguments {args:?}\n{USAGE}");
        return ExitCode::FAILURE;
    }
    let address = normalise(args.first().map_or(DEFAULT_ADDRESS, String::as_str));
    let service = args.get(1).cloned().unwrap_or_default();

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("unhealthy: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = if service.is_empty() {
        address.clone()
    } else {
        format!("{address} ({service})")
    };
    match runtime.block_on(check(&address, &service)) {
        Ok(ServingStatus::Serving) => {
            println!("{target}: SERVING");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("unhealthy: {target} is {}", status.as_str_name());
            ExitCode::FAILURE
        }
        Err(why) => {
            eprintln!("unhealthy: {target}: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `host:port` becomes `http://host:port`; anything with a scheme is kept as it is.
fn normalise(address: &str) -> String {
    if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    }
}

async fn check(address: &str, service: &str) -> Result<ServingStatus, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(address.to_string())
        .map_err(|e| format!("bad address: {}", chain(&e)))?
        .connect_timeout(DEADLINE);
    let call = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| format!("unreachable: {}", chain(&e)))?;
        let request = HealthCheckRequest {
            service: service.to_string(),
        };
        match HealthClient::new(channel).check(request).await {
            Ok(response) => Ok(ServingStatus::try_from(response.into_inner().status)
                .unwrap_or(ServingStatus::Unknown)),
            Err(status) if status.code() == tonic::Code::NotFound => {
                Err(format!("service {service:?} is unknown to the server"))
            }
            Err(status) => Err(format!(
                "Health/Check failed: {:?}: {}",
                status.code(),
                status.message()
            )),
        }
    };
    // One deadline over connecting and the call, so a silent server always reads
    // "no answer", whichever step it stalls.
    tokio::time::timeout(DEADLINE, call)
        .await
        .map_err(|_| format!("no answer within {} s", DEADLINE.as_secs()))?
}

/// An error with its causes, e.g. `transport error: tcp connect error: Connection refused`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn addresses_without_a_scheme_get_http() {
        assert_eq!(normalise("127.0.0.1:50052"), "http://127.0.0.1:50052");
        assert_eq!(normalise("data:50051"), "http://data:50051");
        assert_eq!(normalise("http://data:50051"), "http://data:50051");
    }
}
