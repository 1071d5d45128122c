//! The life of every service binary: telemetry, configuration that fails fast with exit
//! code 2, binding, serving, a bounded graceful stop, and an exit status that says how
//! it went.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigError;

pub const ENV_SHUTDOWN_GRACE_MS: &str = "GOVLENS_SHUTDOWN_GRACE_MS";
pub const ENV_DRAIN_TIMEOUT_MS: &str = "GOVLENS_DRAIN_TIMEOUT_MS";

/// How a server stops. Health turns NOT_SERVING at once; new calls are still accepted
/// for `grace` (while load balancers and probes notice); then the listener closes and
/// in-flight calls get up to `drain` to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPolicy {
    pub grace: Duration,
    pub drain: Duration,
}

impl StopPolicy {
    /// Stop accepting at once; in-flight calls get 10 s. Tests and `govlens up`.
    pub const IMMEDIATE: StopPolicy = StopPolicy {
        grace: Duration::ZERO,
        drain: Duration::from_secs(10),
    };

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = crate::config::Env::new(lookup);
        Ok(StopPolicy {
            grace: Duration::from_millis(env.number(ENV_SHUTDOWN_GRACE_MS, 0)?),
            drain: env.millis(ENV_DRAIN_TIMEOUT_MS, 20_000)?,
        })
    }
}

/// When and how a server stops: a signal and a [`StopPolicy`].
pub struct Shutdown {
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    policy: StopPolicy,
}

impl Shutdown {
    /// Stops on SIGTERM or Ctrl-C.
    pub fn on_signal(policy: StopPolicy) -> Self {
        Shutdown::on(shutdown_signal(), policy)
    }

    /// Stops when `signal` resolves.
    pub fn on(signal: impl Future<Output = ()> + Send + 'static, policy: StopPolicy) -> Self {
        Shutdown {
            signal: Box::pin(signal),
            policy,
        }
    }

    /// Splits into the future to give the server (it resolves when the listener must
    /// close: after the signal, NOT_SERVING and the grace period) and the [`Drain`]
    /// that bounds what follows.
    pub fn begin(
        self,
        health: crate::grpc::Health,
    ) -> (impl Future<Output = ()> + Send + 'static, Drain) {
        let closing = Arc::new(tokio::sync::Notify::new());
        let notify = closing.clone();
        let Shutdown { signal, policy } = self;
        let stop_accepting = async move {
            signal.await;
            health.stop().await;
            if !policy.grace.is_zero() {
                tracing::info!(grace = ?policy.grace, "NOT_SERVING; still accepting calls for the grace period");
                tokio::time::sleep(policy.grace).await;
            }
            tracing::info!(bound = ?policy.drain, "listener closed; draining in-flight calls");
            notify.notify_one();
        };
        (
            stop_accepting,
            Drain {
                closing,
                bound: policy.drain,
            },
        )
    }
}

/// Waits for a server to finish its in-flight calls, within the policy's bound.
pub struct Drain {
    closing: Arc<tokio::sync::Notify>,
    bound: Duration,
}

impl Drain {
    pub async fn wait<E>(
        self,
        mut server: tokio::task::JoinHandle<Result<(), E>>,
    ) -> anyhow::Result<()>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let bound = self.bound;
        let deadline = async move {
            self.closing.notified().await;
            tokio::time::sleep(bound).await;
        };
        tokio::select! {
            finished = &mut server => {
                finished??;
                tracing::info!("all in-flight calls finished");
                Ok(())
            }
            _ = deadline => {
                server.abort();
                anyhow::bail!("in-flight calls did not finish within {bound:?}; stopped anyway")
            }
        }
    }
}

/// Runs a service process: telemetry and logs, configuration that fails fast with
/// exit code 2, binding, serving until SIGTERM, draining, flushing telemetry.
pub async fn run_service<C, Fut>(
    name: &str,
    config: Result<C, ConfigError>,
    listen: impl FnOnce(&C) -> SocketAddr,
    serve: impl FnOnce(C, tokio::net::TcpListener, Shutdown) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    let telemetry = match crate::telemetry::TelemetryConfig::from_env(name) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let guard = match crate::telemetry::init(&telemetry, "info,sqlx=warn") {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{name}: cannot set up telemetry: {e:#}");
            return ExitCode::from(2);
        }
    };
    let config = config.and_then(|c| Ok((c, StopPolicy::from_lookup(|k| std::env::var(k).ok())?)));
    let (config, policy) = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: bad configuration: {e}");
            guard.shutdown(Duration::from_secs(1)).await;
            return ExitCode::from(2);
        }
    };
    let addr = listen(&config);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: cannot listen on {addr}: {e}");
            guard.shutdown(Duration::from_secs(1)).await;
            return ExitCode::from(2);
        }
    };
    let outcome = serve(config, listener, Shutdown::on_signal(policy)).await;
    let code = match outcome {
        Ok(()) => {
            tracing::info!("{name} stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = ?e, "{name} failed");
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    };
    guard.shutdown(Duration::from_secs(5)).await;
    code
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Runs a start-up step (e.g. migrations) again when it fails, a bounded number of
/// times with a growing pause: replicas starting together on a fresh database race
/// on creating its tables, and the loser's retry finds the winner's work recorded.
pub async fn retry_startup<T, Fut>(
    what: &str,
    attempts: u32,
    mut step: impl FnMut() -> Fut,
) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt < attempts => {
                tracing::info!(attempt, error = %e, "{what} failed; retrying (another replica may be doing the same)");
                tokio::time::sleep(std::time::Duration::from_millis(
                    100 * u64::from(attempt.min(10)),
                ))
                .await;
                attempt += 1;
            }
            Err(e) => return Err(e.context(format!("{what} failed after {attempts} attempts"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

    fn policy(vars: &[(&str, &str)]) -> Result<StopPolicy, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StopPolicy::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn stop_policy_defaults_and_overrides() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.grace, Duration::ZERO);
        assert_eq!(p.drain, Duration::from_secs(20));
        let p = policy(&[
            (ENV_SHUTDOWN_GRACE_MS, "5000"),
            (ENV_DRAIN_TIMEOUT_MS, "30000"),
        ])
        .unwrap();
        assert_eq!(p.grace, Duration::from_secs(5));
        assert_eq!(p.drain, Duration::from_secs(30));
        let e = policy(&[(ENV_SHUTDOWN_GRACE_MS, "soon")]).unwrap_err();
        assert_eq!(e.variable, ENV_SHUTDOWN_GRACE_MS);
    }

    async fn status(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
        client
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .unwrap()
            .into_inner()
            .status
    }

    #[tokio::test]
    async fn stopping_turns_health_not_serving_for_good_and_keeps_accepting_for_the_grace() {
        let (health, service) = crate::grpc::not_serving_health(&["svc"]).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
        let shutdown = Shutdown::on(
            async {
                let _ = signalled.await;
            },
            StopPolicy {
                grace: Duration::from_millis(300),
                drain: Duration::from_secs(5),
            },
        );
        let (stop_accepting, drain) = shutdown.begin(health.clone());
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    stop_accepting,
                ),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy();
        let mut client = HealthClient::new(channel);
        assert_eq!(
            status(&mut client, "svc").await,
            ServingStatus::NotServing as i32
        );
        health.set("svc", true).await;
        health.set("", true).await;
        assert_eq!(status(&mut client, "").await, ServingStatus::Serving as i32);

        signal.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A watchdog reporting its upstreams up cannot undo the stop.
        health.set("svc", true).await;
        // Still answering during the grace period, and saying NOT_SERVING.
        assert_eq!(
            status(&mut client, "svc").await,
            ServingStatus::NotServing as i32
        );
        assert_eq!(
            status(&mut client, "").await,
            ServingStatus::NotServing as i32
        );
        drain.wait(server).await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_does_not_drain_in_time_is_an_error() {
        let closing = Arc::new(tokio::sync::Notify::new());
        closing.notify_one();
        let drain = Drain {
            closing,
            bound: Duration::from_millis(50),
        };
        let stuck = tokio::spawn(async {
            std::future::pending::<()>().await;
            Ok::<(), std::io::Error>(())
        });
        let err = drain.wait(stuck).await.unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
    }
}
