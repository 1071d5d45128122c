//! The production shape: the three service binaries as separate processes, each
//! started through `deploy/run-local.sh <service>` (the script operators use without
//! Docker, with the environment docker-compose gives them), over a fresh PostgreSQL
//! database and the shared Redis, exporting telemetry to an in-process OTLP receiver.
//! [`StackOptions`] give a stack its own database, Redis or environment (per service
//! too), e.g. a private PostgreSQL or Redis that a fault test stops and starts.

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

    /// Kills the service outright (SIGKILL: no drain, no clean-up) and waits until it is
    /// gone.
    pub async fn sigkill(&mut self) -> ExitStatus {
        self.child.start_kill().expect("kill -KILL the service");
        self.wait_exit(Duration::from_secs(30)).await
    }

    /// Whether the process is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
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
    role_env: Vec<(Role, String, String)>,
}

/// How to start a [`Stack`]. The defaults: a fresh database on the shared PostgreSQL
/// (`GOVLENS_TEST_POSTGRES_URL`), the shared Redis, no extra environment.
#[derive(Default)]
pub struct StackOptions {
    /// The database of every service (`DATABASE_URL`), e.g. one on a private
    /// PostgreSQL; kept (and dropped) with the stack.
    pub db: Option<TestDb>,
    /// The Redis of every service (`REDIS_URL`), e.g. a private redis-server's.
    pub redis_url: Option<String>,
    /// Environment of every service, over the defaults.
    pub env: Vec<(String, String)>,
    /// Environment of one service, over everything else, e.g. `(Role::Data,
    /// "DATABASE_URL", ...)` to give the data service a database of its own.
    pub role_env: Vec<(Role, String, String)>,
}

impl StackOptions {
    /// Adds `key=value` to the environment of every service.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Adds `key=value` to the environment of `role` only.
    pub fn role_env(mut self, role: Role, key: &str, value: &str) -> Self {
        self.role_env
            .push((role, key.to_string(), value.to_string()));
        self
    }
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
        // Authentication has tests of its own (tests/tests/stack.rs turns it on); the
        // other multi-process tests call without tokens.
        ("GOVLENS_AUTH", "off".to_string()),
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
        let mut options = StackOptions::default();
        for (k, v) in extra_env {
            options = options.env(k, v);
        }
        Stack::start_with(options).await
    }

    /// Like [`Stack::start`], with `options`.
    pub async fn start_with(options: StackOptions) -> Option<Stack> {
        let StackOptions {
            db,
            redis_url,
            env: extra_env,
            role_env,
        } = options;
        let db = match db {
            Some(db) => db,
            None => TestDb::create(Backend::Postgres).await?,
        };
        let redis_url = match redis_url {
            Some(url) => url,
            None => shared_redis_url()?,
        };
        let sink = OtlpSink::start().await;
        let bin_dir = workspace_binary("govlens-data", "govlens-data")
            .parent()
            .expect("binary directory")
            .to_path_buf();
        workspace_binary("govlens-scoring", "govlens-scoring");
        workspace_binary("govlens-recommendation", "govlens-recommendation");
        let dir = tempfile::tempdir().expect("log directory");
        let mut env = common_env(&db, &redis_url, &sink, &bin_dir);
        env.extend(extra_env);
        let data = spawn(
            Role::Data,
            &env,
            &own_env(&role_env, Role::Data, vec![]),
            dir.path(),
        )
        .await;
        let upstream = vec![("GOVLENS_DATA_ADDR".to_string(), data.url())];
        let scoring = spawn(
            Role::Scoring,
            &env,
            &own_env(&role_env, Role::Scoring, upstream.clone()),
            dir.path(),
        )
        .await;
        let mut upstreams = upstream.clone();
        upstreams.push(("GOVLENS_SCORING_ADDR".to_string(), scoring.url()));
        let recommendation = spawn(
            Role::Recommendation,
            &env,
            &own_env(&role_env, Role::Recommendation, upstreams),
            dir.path(),
        )
        .await;
        Some(Stack {
            db,
            redis_url,
            sink,
            data,
            scoring,
            recommendation,
            dir,
            extra_env: env,
            role_env,
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
        let own = own_env(&self.role_env, role, upstreams);
        let process = spawn_on(role, addr, &self.extra_env, &own, self.dir.path()).await;
        *self.process(role) = process;
    }
}

/// `upstreams`, then the environment given to `role` alone (which wins).
fn own_env(
    role_env: &[(Role, String, String)],
    role: Role,
    mut upstreams: Vec<(String, String)>,
) -> Vec<(String, String)> {
    upstreams.extend(
        role_env
            .iter()
            .filter(|(r, _, _)| *r == role)
            .map(|(_, k, v)| (k.clone(), v.clone())),
    );
    upstreams
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
