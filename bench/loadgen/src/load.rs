//! Closed-loop load: each of `streams` tasks keeps one call in flight on one of
//! `connections` separately connected channels, for a warm-up and then a measured
//! window. Every call's status is counted; latencies of calls started inside the
//! window go into an HDR histogram.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use govlens_proto::bench::v1::echo_service_client::EchoServiceClient;
use govlens_proto::bench::v1::EchoRequest;
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use govlens_proto::data::v1::GetDataRevisionRequest;
use govlens_proto::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use govlens_proto::recommendation::v1::RecommendRequest;
use govlens_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use govlens_proto::scoring::v1::{ScoreUnitsRequest, ScoringScope, UnitKind};
use hdrhistogram::Histogram;
use prost::Message;
use tonic::transport::{Channel, Endpoint};

use crate::Auth;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Rpc {
    /// govlens.bench.v1.EchoService/Echo
    Echo,
    /// ScoringService/ScoreUnits, model toe-default, regions
    Score,
    /// RecommendationService/Recommend, region cn-gz
    Recommend,
    /// grpc.health.v1.Health/Check
    Health,
    /// DataService/GetDataRevision (what every scoring call asks the data service)
    Revision,
}

#[derive(Args)]
pub struct RunArgs {
    /// http://host:port of the server.
    #[arg(long)]
    target: String,
    #[arg(long, value_enum)]
    rpc: Rpc,
    /// Echo: size of the response payload.
    #[arg(long, default_value_t = 0)]
    response_bytes: i32,
    /// Echo: size of the request payload.
    #[arg(long, default_value_t = 0)]
    request_bytes: usize,
    /// Separately connected channels (HTTP/2 connections).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Calls in flight in total, spread round-robin over the connections.
    #[arg(long, default_value_t = 16)]
    streams: usize,
    #[arg(long, default_value = "10s", value_parser = crate::parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = crate::parse_duration)]
    warmup: Duration,
    /// Make exactly this many calls instead (no warm-up, no time limit), e.g. 1 to
    /// time the first call against a cold server.
    #[arg(long)]
    calls: Option<u64>,
    /// Sent as `authorization: Bearer <token>` on every call (the echo server ignores it,
    /// so both sides carry the same bytes).
    #[arg(long, env = "GOVLENS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Exit 0 even when some calls failed.
    #[arg(long)]
    allow_errors: bool,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// One client with the request it repeats, and the credentials it sends.
#[derive(Clone)]
struct Caller {
    client: Client,
    auth: Auth,
}

#[derive(Clone)]
enum Client {
    Echo(EchoServiceClient<Channel>, EchoRequest),
    Score(ScoringServiceClient<Channel>, ScoreUnitsRequest),
    Recommend(RecommendationServiceClient<Channel>, RecommendRequest),
    Health(HealthClient<Channel>, HealthCheckRequest),
    Revision(DataServiceClient<Channel>, GetDataRevisionRequest),
}

impl Caller {
    fn new(args: &RunArgs, channel: Channel, auth: Auth) -> Caller {
        let client = match args.rpc {
            Rpc::Echo => Client::Echo(
                EchoServiceClient::new(channel),
                EchoRequest {
                    payload: vec![b'x'; args.request_bytes],
                    response_bytes: args.response_bytes,
                },
            ),
            Rpc::Score => Client::Score(
                ScoringServiceClient::new(channel),
                ScoreUnitsRequest {
                    scope: Some(ScoringScope {
                        model_id: "toe-default".into(),
                        unit_kind: UnitKind::Region.into(),
                        ..Default::default()
                    }),
                    overrides: Vec::new(),
                },
            ),
            Rpc::Recommend => Client::Recommend(
                RecommendationServiceClient::new(channel),
                RecommendRequest {
                    region_code: "cn-gz".into(),
                    scope: None,
                },
            ),
            Rpc::Health => Client::Health(
                HealthClient::new(channel),
                HealthCheckRequest {
                    service: String::new(),
                },
            ),
            Rpc::Revision => {
                Client::Revision(DataServiceClient::new(channel), GetDataRevisionRequest {})
            }
        };
        Caller { client, auth }
    }

    fn request_bytes(&self) -> usize {
        match &self.client {
            Client::Echo(_, r) => r.encoded_len(),
            Client::Score(_, r) => r.encoded_len(),
            Client::Recommend(_, r) => r.encoded_len(),
            Client::Health(_, r) => r.encoded_len(),
            Client::Revision(_, r) => r.encoded_len(),
        }
    }

    /// One call; on success, the encoded size of the response.
    async fn call(&mut self) -> Result<usize, tonic::Status> {
        let auth = &self.auth;
        Ok(match &mut self.client {
            Client::Echo(c, r) => c.echo(auth.request(r)).await?.get_ref().encoded_len(),
            Client::Score(c, r) => c
                .score_units(auth.request(r))
                .await?
                .get_ref()
                .encoded_len(),
            Client::Recommend(c, r) => c.recommend(auth.request(r)).await?.get_ref().encoded_len(),
            Client::Health(c, r) => c.check(auth.request(r)).await?.get_ref().encoded_len(),
            Client::Revision(c, r) => c
                .get_data_revision(auth.request(r))
                .await?
                .get_ref()
                .encoded_len(),
        })
    }
}

/// What one task saw.
struct Tally {
    latency_us: Histogram<u64>,
    statuses: BTreeMap<String, u64>,
    response_bytes: usize,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

async fn drive(
    mut caller: Caller,
    measure_from: Instant,
    stop_at: Option<Instant>,
    budget: Option<Arc<AtomicU64>>,
) -> Tally {
    let mut tally = Tally {
        latency_us: histogram(),
        statuses: BTreeMap::new(),
        response_bytes: 0,
    };
    loop {
        if stop_at.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        // A fixed number of calls: take one from the shared budget, or stop.
        if let Some(b) = &budget {
            if b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
            {
                break;
            }
        }
        let started = Instant::now();
        let result = caller.call().await;
        let took = started.elapsed();
        let code = match &result {
            Ok(size) => {
                tally.response_bytes = *size;
                tonic::Code::Ok
            }
            Err(status) => status.code(),
        };
        *tally.statuses.entry(format!("{code:?}")).or_default() += 1;
        if started >= measure_from {
            let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
            tally.latency_us.saturating_record(us);
        }
    }
    tally
}

/// Runs the load and prints the result; Ok(false) when calls failed (and that is not allowed).
pub async fn run(args: RunArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(args.connections >= 1, "--connections must be at least 1");
    anyhow::ensure!(args.streams >= 1, "--streams must be at least 1");
    let auth = Auth::new(args.token.as_deref())?;
    let mut channels = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        // Each `connect` opens its own HTTP/2 connection (clones would share one).
        let channel = Endpoint::from_shared(args.target.clone())?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", args.target))?;
        channels.push(channel);
    }
    let callers: Vec<Caller> = (0..args.streams)
        .map(|i| Caller::new(&args, channels[i % channels.len()].clone(), auth.clone()))
        .collect();
    let request_bytes = callers[0].request_bytes();

    let start = Instant::now();
    let (measure_from, stop_at, budget) = match args.calls {
        Some(n) => (start, None, Some(Arc::new(AtomicU64::new(n)))),
        None => (
            start + args.warmup,
            Some(start + args.warmup + args.duration),
            None,
        ),
    };
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|c| tokio::spawn(drive(c, measure_from, stop_at, budget.clone())))
        .collect();
    let mut latency_us = histogram();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut response_bytes = 0;
    for task in tasks {
        let tally = task.await?;
        latency_us.add(&tally.latency_us)?;
        for (code, n) in tally.statuses {
            *statuses.entry(code).or_default() += n;
        }
        response_bytes = response_bytes.max(tally.response_bytes);
    }
    // Throughput over the window the latencies describe (the whole run with --calls).
    let window = match args.calls {
        Some(_) => start.elapsed(),
        None => args.duration,
    };
    let calls = latency_us.len();
    let errors: u64 = statuses
        .iter()
        .filter(|(code, _)| code.as_str() != "Ok")
        .map(|(_, n)| n)
        .sum();
    let ms = |q: f64| latency_us.value_at_quantile(q) as f64 / 1000.0;
    let report = serde_json::json!({
        "rpc": format!("{:?}", args.rpc).to_lowercase(),
        "target": args.target,
        "connections": args.connections,
        "streams": args.streams,
        "seconds": window.as_secs_f64(),
        "calls": calls,
        "calls_per_s": calls as f64 / window.as_secs_f64(),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "max_ms": latency_us.max() as f64 / 1000.0,
        "mean_ms": latency_us.mean() / 1000.0,
        "errors": errors,
        "statuses": statuses,
        "request_bytes": request_bytes,
        "response_bytes": response_bytes,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{:?} {} x{} streams over {} connection(s), {:.1} s: {} calls, {:.0} calls/s",
            args.rpc,
            args.target,
            args.streams,
            args.connections,
            window.as_secs_f64(),
            calls,
            report["calls_per_s"].as_f64().unwrap_or_default()
        );
        println!(
            "latency ms: p50 {:.3}  p99 {:.3}  p999 {:.3}  max {:.3}",
            ms(0.5),
            ms(0.99),
            ms(0.999),
            latency_us.max() as f64 / 1000.0
        );
        println!("statuses: {statuses:?}; request {request_bytes} B, response {response_bytes} B");
    }
    if errors > 0 {
        eprintln!("govlens-loadgen: {errors} call(s) failed: {statuses:?}");
        return Ok(args.allow_errors);
    }
    Ok(true)
}
