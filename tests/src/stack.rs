//! The production shape: the three service binaries as separate processes, each
//! started through `deploy/run-local.sh <service>` (the script operators use without
//! Docker, with the environment docker-compose gives them), over a fresh PostgreSQL
//! database and the shared Redis, exporting telemetry to an in-process OTLP receiver.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tonic::transport::Channel;

use crate::otlp::OtlpSink;
use crate::suite::workspace_binary;
use crate::{lazy_channel, shared_redis_url, wait_serving, workspace_root, Backend, TestDb};

/// One of the three services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Data,
    Scoring,
    Recommendation,
}

impl Role {
    /// The argument of `deploy/run-local.sh` and the binary's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Role::Data => "data",
            Role::Scoring => "scoring",
            Role::Recommendation => "recommendation",
        }
    }

    /// `service.name` in its telemetry.
    pub fn service_name(self) -> String {
        format!("govlens-{}", self.name())
    }

    fn listen_variable(self) -> &'static str {
        match self {
            Role::Data => "GOVLENS_DATA_LISTEN",
            Role::Scoring => "GOVLENS_SCORING_LISTEN",
            Role::Recommendation => "GOVLENS_RECOMMENDATION_LISTEN",
        }
    }
}

/// A running service process; killed when dropped.
pub struct ServiceProcess {
    pub role: Role,
    pub addr: SocketAddr,
    child: tokio::process::Child,
    log: PathBuf,
}

impl ServiceProcess {
    pub fn pid(&self) -> i32 {
        self.child.id().expect("the process is running") as i32
    }

    /// Asks the service to stop, as Kubernetes and docker do.
    pub fn sigterm(&self) {
        // SAFETY: kill(2) with a pid of our own child.
        let rc = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM {}", self.pid());
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.expect("wait for the service"),
            Err(_) => panic!(
                "{} did not exit within {timeout:?}; its log:\n{}",
                self.role.name(),
                self.logs()
            ),
        }
    }

    /// What the process wrote to stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn channel(&self) -> Channel {
        lazy_channel(self.addr)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The three processes and what they share.
pub struct Stack {
    pub db: TestDb,
    pub redis_url: String,
    pub sink: OtlpSink,
    pub data: ServiceProcess,
    pub scoring: ServiceProcess,
    pub recommendation: ServiceProcess,
    dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
}

/// Environment every service gets: JSON logs with per-call access lines, fast
/// telemetry export to the sink.
fn common_env(
    db: &TestDb,
    redis_url: &str,
    sink: &OtlpSink,
    bin_dir: &std::path::Path,
) -> Vec<(String, String)> {
    [
        ("GOVLENS_BIN_DIR", bin_dir.display().to_string()),
        ("DATABASE_URL", db.url().to_string()),
        ("REDIS_URL", redis_url.to_string()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_string()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_string()),
        ("GOVLENS_LOG_FORMAT", "json".to_string()),
        (
            "GOVLENS_LOG",
            "info,sqlx=warn,govlens::access=debug".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Stack {
    /// Starts data, then scoring, then recommendation, each once the one before is
    /// SERVING. `None` (skipped) when PostgreSQL or Redis is not configured outside CI.
    pub async fn start(extra_env: &[(&str, &str)]) -> Option<Stack> {
        let db = TestDb::create(Backend::Postgres).await?;
        let redis_url = shared_redis_url()?;
        let sink = OtlpSink::start().await;
        let bin_dir = workspace_binary("govlens-data", "govlens-data")
            .parent()
            .expect("binary directory")
            .to_path_buf();
        workspace_binary("govlens-scoring", "govlens-scoring");
        workspace_binary("govlens-recommendation", "govlens-recommendation");
        let dir = tempfile::tempdir().expect("log directory");
        let mut env = common_env(&db, &redis_url, &sink, &bin_dir);
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let data = spawn(Role::Data, &env, &[], dir.path()).await;
        let upstream = vec![("GOVLENS_DATA_ADDR".to_string(), data.url())];
        let scoring = spawn(Role::Scoring, &env, &upstream, dir.path()).await;
        let mut upstreams = upstream.clone();
        upstreams.push(("GOVLENS_SCORING_ADDR".to_string(), scoring.url()));
        let recommendation = spawn(Role::Recommendation, &env, &upstreams, dir.path()).await;
        Some(Stack {
            db,
            redis_url,
            sink,
            data,
            scoring,
            recommendation,
            dir,
            extra_env: env,
        })
    }

    pub fn process(&mut self, role: Role) -> &mut ServiceProcess {
        match role {
            Role::Data => &mut self.data,
            Role::Scoring => &mut self.scoring,
            Role::Recommendation => &mut self.recommendation,
        }
    }

    /// Starts `role` again (after it stopped) on its old address.
    pub async fn restart(&mut self, role: Role) {
        let mut upstreams = vec![("GOVLENS_DATA_ADDR".to_string(), self.data.url())];
        upstreams.push(("GOVLENS_SCORING_ADDR".to_string(), self.scoring.url()));
        let addr = self.process(role).addr;
        let process = spawn_on(role, addr, &self.extra_env, &upstreams, self.dir.path()).await;
        *self.process(role) = process;
    }
}

async fn spawn(
    role: Role,
    env: &[(String, String)],
    upstreams: &[(String, String)],
    dir: &std::path::Path,
) -> ServiceProcess {
    let addr: SocketAddr = format!("127.0.0.1:{}", crate::free_port())
        .parse()
        .expect("address");
    spawn_on(role, addr, env, upstreams, dir).await
}

async fn spawn_on(
    role: Role,
    addr: SocketAddr,
    env: &[(String, String)],
    upstreams: &[(String, String)],
    dir: &std::path::Path,
) -> ServiceProcess {
    let log = dir.join(format!("{}-{}.log", role.name(), crate::unique_suffix()));
    let file = std::fs::File::create(&log).expect("log file");
    let child = tokio::process::Command::new("bash")
        .arg(workspace_root().join("deploy/run-local.sh"))
        .arg(role.name())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(upstreams.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(role.listen_variable(), addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .kill_on_drop(true)
        .spawn()
        .expect("start deploy/run-local.sh");
    let mut process = ServiceProcess {
        role,
        addr,
        child,
        log,
    };
    let channel = process.channel();
    tokio::select! {
        ready = tokio::time::timeout(Duration::from_secs(90), wait_serving(channel, "")) => {
            if ready.is_err() {
                panic!("{} did not report SERVING within 90 s; its log:\n{}", role.name(), process.logs());
            }
        }
        status = process.child.wait() => {
            panic!("{} exited during start-up ({status:?}); its log:\n{}", role.name(), process.logs());
        }
    }
    process
}
