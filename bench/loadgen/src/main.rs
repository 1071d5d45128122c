//! `govlens-loadgen`: the load generator of the GovLens benchmarks, and the echo server
//! they use as a baseline. `bench/run.sh` drives both; see `BENCHMARKS.md`.
//!
//! ```sh
//! govlens-loadgen echo-server --listen 127.0.0.1:50060
//! govlens-loadgen run --target http://127.0.0.1:50052 --rpc score --streams 16 --json
//! govlens-loadgen import --target http://127.0.0.1:50051 --rows 1000000 --batch 5000
//! ```

mod echo;
mod import;
mod load;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "govlens-loadgen",
    about = "GovLens load generator and echo baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A minimal tonic server answering govlens.bench.v1.EchoService/Echo, nothing else.
    EchoServer {
        #[arg(long, default_value = "127.0.0.1:50060")]
        listen: std::net::SocketAddr,
    },
    /// Closed-loop load: `streams` calls in flight, spread over `connections` channels.
    Run(load::RunArgs),
    /// Streams synthetic observations through DataService/ImportRecords.
    Import(import::ImportArgs),
}

/// The `authorization` header every call carries, when a token is given.
#[derive(Clone, Default)]
pub struct Auth(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Auth {
    pub fn new(token: Option<&str>) -> anyhow::Result<Auth> {
        Ok(Auth(match token.filter(|t| !t.is_empty()) {
            Some(t) => Some(format!("Bearer {t}").parse()?),
            None => None,
        }))
    }

    pub fn apply<T>(&self, request: &mut tonic::Request<T>) {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
    }

    pub fn request<T: Clone>(&self, message: &T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message.clone());
        self.apply(&mut request);
        request
    }
}

/// Parses "10s", "500ms", "2m" or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The default runtime sizes itself from the CPU affinity, so under `taskset -c 1`
    // the load generator really runs on one core and does not steal the server's.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("govlens-loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::EchoServer { listen } => echo::serve(listen).await.map(|_| true),
            Command::Run(args) => load::run(args).await,
            Command::Import(args) => import::run(args).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("govlens-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
    }
}
