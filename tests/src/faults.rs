//! Helpers of the fault tests (tests/tests/faults.rs): a private PostgreSQL server that
//! a test may stop and start again, load generators that record every call's outcome,
//! and health probes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sea_orm::ConnectionTrait;
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::{admin_connection, free_port, shout, under_ci, Backend, TestDb};

// ---- a private PostgreSQL ----

/// Where the PostgreSQL server binaries are: `GOVLENS_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `PATH`.
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GOVLENS_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    })
}

/// The uid and gid of the `postgres` account.
fn postgres_account() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").ok()?;
    // SAFETY: getpwnam with a NUL-terminated name; the result is read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: a non-null passwd entry.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Some((uid, gid))
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A PostgreSQL server of one test: its own data directory (a temporary directory) and
/// port, trust authentication on 127.0.0.1, durability switched off for speed (the
/// tests stop the server cleanly, they never crash it). Stopped and removed on drop.
///
/// `initdb` refuses to run as root: as root, every server command runs as the
/// `postgres` account (`runuser -u postgres --`) on a directory it owns.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    running: bool,
}

impl PrivatePostgres {
    /// Creates a cluster and starts it on a free port. `None` (after a loud SKIPPED
    /// line) when the server binaries are missing outside CI; a panic under CI.
    pub async fn start() -> Option<PrivatePostgres> {
        let Some(bin) = postgres_bin_dir() else {
            if under_ci() {
                panic!("the PostgreSQL server binaries (initdb, pg_ctl) are required under CI; set GOVLENS_TEST_PG_BIN");
            }
            shout("SKIPPED: the PostgreSQL restart test needs initdb and pg_ctl (GOVLENS_TEST_PG_BIN)");
            return None;
        };
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("govlens-pg-")
            .tempdir()
            .expect("temporary directory");
        if as_postgres {
            let (uid, gid) = postgres_account()
                .expect("running as root needs a postgres account to run PostgreSQL as");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("give the data directory to postgres");
        }
        let mut server = PrivatePostgres {
            bin,
            dir,
            port: 0,
            as_postgres,
            running: false,
        };
        let data = server.data_dir();
        server
            .run(
                "initdb",
                &[
                    "-D",
                    data.to_str().expect("path"),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            .await
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        // A free port may be taken before the server binds it: try others.
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.pg_ctl_start().await {
                Ok(()) => {
                    server.running = true;
                    return Some(server);
                }
                Err(e) => last = e,
            }
        }
        panic!("could not start a private PostgreSQL: {last}");
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The server's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of the `postgres` database (the administrative one).
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// A new database on this server, for a service. It goes with the server: the
    /// returned handle drops nothing.
    pub async fn create_database(&self, name: &str) -> TestDb {
        let admin = admin_connection(&self.url()).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        TestDb {
            backend: Backend::Postgres,
            url: self.url_of(name),
            _dir: None,
            _postgres: None,
        }
    }

    /// Stops the server (fast: open sessions are ended, nothing is lost) and waits
    /// until it is down.
    pub async fn stop(&mut self) {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("path"),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("pg_ctl stop: {e}\n{}", self.logs()));
        self.running = false;
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err(),
            "PostgreSQL still accepts connections after pg_ctl stop"
        );
    }

    /// Starts the stopped server again, on the same port and data directory.
    pub async fn start_again(&mut self) {
        let mut last = String::new();
        for _ in 0..20 {
            match self.pg_ctl_start().await {
                Ok(()) => {
                    self.running = true;
                    return;
                }
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "could not start PostgreSQL again on port {}: {last}\n{}",
            self.port,
            self.logs()
        );
    }

    async fn pg_ctl_start(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.log_file();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=200 -c shared_buffers=32MB",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("path"),
                "-l",
                log.to_str().expect("path"),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .await
    }

    /// Runs a server program (as `postgres` when this process is root).
    async fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let output = self
            .command(program, args)
            .output()
            .await
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    fn command(&self, program: &str, args: &[&str]) -> tokio::process::Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            tokio::process::Command::new(&path)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        let data = self.data_dir();
        let path = self.bin.join("pg_ctl");
        let args = [
            data.to_str().unwrap_or_default(),
            "-m",
            "immediate",
            "-w",
            "-t",
            "30",
            "stop",
        ];
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            std::process::Command::new(&path)
        };
        let stopped = command
            .arg("-D")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !matches!(stopped, Ok(s) if s.success()) {
            shout(&format!(
                "warning: could not stop the private PostgreSQL in {}",
                self.dir.path().display()
            ));
        }
    }
}

// ---- load ----

/// One call of a load.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Which call (an index into the calls given to [`Load::start`]).
    pub call: usize,
    pub started: Instant,
    pub finished: Instant,
    pub code: Code,
    pub message: String,
}

/// A call a load makes again and again.
pub type Call = Arc<dyn Fn() -> BoxFuture<'static, Result<(), tonic::Status>> + Send + Sync>;

/// Workers calling in a loop until stopped, recording every outcome.
pub struct Load {
    stop: tokio::sync::watch::Sender<bool>,
    done: tokio::task::JoinHandle<Vec<Outcome>>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

impl Load {
    /// `workers` loops; worker `w` makes the calls in turn, starting with `w %
    /// calls.len()`.
    pub fn start(calls: Vec<Call>, workers: usize) -> Load {
        assert!(!calls.is_empty());
        let calls = Arc::new(calls);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..workers)
            .map(|w| {
                let (calls, stopped, outcomes) = (calls.clone(), stopped.clone(), outcomes.clone());
                tokio::spawn(async move {
                    let mut next = w % calls.len();
                    while !*stopped.borrow() {
                        let started = Instant::now();
                        let (code, message) = match calls[next]().await {
                            Ok(()) => (Code::Ok, String::new()),
                            Err(status) => (status.code(), status.message().to_string()),
                        };
                        outcomes.lock().unwrap().push(Outcome {
                            call: next,
                            started,
                            finished: Instant::now(),
                            code,
                            message,
                        });
                        if code != Code::Ok {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        next = (next + 1) % calls.len();
                    }
                })
            })
            .collect();
        let all = outcomes.clone();
        let done = tokio::spawn(async move {
            for t in tasks {
                t.await.expect("load worker");
            }
            let outcomes = all.lock().unwrap().clone();
            outcomes
        });
        Load {
            stop,
            done,
            outcomes,
        }
    }

    /// How many calls finished so far.
    pub fn finished(&self) -> usize {
        self.outcomes.lock().unwrap().len()
    }

    /// Stops the workers (each finishes its call in flight) and returns every outcome.
    pub async fn stop(self) -> Vec<Outcome> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(120), self.done)
            .await
            .expect("the load did not stop within 120 s")
            .expect("load")
    }
}

// ---- health ----

/// The health status `service` ("" for the whole server) reports, or `None` when the
/// server does not answer within 2 s.
pub async fn health_of(channel: Channel, service: &str) -> Option<ServingStatus> {
    let mut health = HealthClient::new(channel);
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.to_string(),
    });
    request.set_timeout(Duration::from_secs(2));
    let response = tokio::time::timeout(Duration::from_secs(2), health.check(request))
        .await
        .ok()?
        .ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

/// Polls the whole server's health until it reports `want`; `false` if it did not
/// within `within`.
pub async fn health_becomes(channel: Channel, want: ServingStatus, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if health_of(channel.clone(), "").await == Some(want) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `attempt` until it returns `Ok`, at most `within`; the last error otherwise.
pub async fn eventually<T, F, Fut>(within: Duration, mut attempt: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + within;
    loop {
        let result = match tokio::time::timeout(Duration::from_secs(15), attempt()).await {
            Ok(r) => r,
            Err(_) => Err(tonic::Status::deadline_exceeded(
                "the attempt took over 15 s",
            )),
        };
        match result {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

// ---- direct SQL ----

/// A connection straight to the database at `url` (not through a service, which may be
/// dead).
pub async fn sql_connection(url: &str) -> sea_orm::DatabaseConnection {
    admin_connection(url).await
}

/// Rows per value of `column` in `table`.
pub async fn count_by(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    column: &str,
) -> std::collections::BTreeMap<String, i64> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT {column} AS k, COUNT(*) AS n FROM {table} GROUP BY {column}"),
        ))
        .await
        .unwrap_or_else(|e| panic!("counting {table} by {column}: {e}"));
    rows.into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "k").expect("k"),
                r.try_get::<i64>("", "n").expect("n"),
            )
        })
        .collect()
}
