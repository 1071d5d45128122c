//! The `govlens-data` binary as its own process: configuration errors exit with code 2
//! naming the variable; a configured process serves health and reflection and exits 0
//! on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use govlens_tests::*;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

/// A command for the binary with none of the service's variables inherited.
fn data_command() -> Command {
    let mut cmd = Command::new(data_binary());
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "GOVLENS_DATA_LISTEN",
        "GOVLENS_CACHE_MEMORY_MB",
        "GOVLENS_CACHE_TTL_SECS",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    cmd
}

#[test]
fn configuration_errors_exit_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let listen = format!("127.0.0.1:{}", free_port());
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("DATABASE_URL", vec![("GOVLENS_DATA_LISTEN", &listen)]),
        (
            "DATABASE_URL",
            vec![("GOVLENS_DATA_LISTEN", &listen), ("DATABASE_URL", "  ")],
        ),
        (
            "DATABASE_URL",
            vec![
                ("GOVLENS_DATA_LISTEN", &listen),
                ("DATABASE_URL", "mysql://root@localhost/x"),
            ],
        ),
        (
            "GOVLENS_DATA_LISTEN",
            vec![
                ("GOVLENS_DATA_LISTEN", "not-an-address"),
                ("DATABASE_URL", &sqlite),
            ],
        ),
        (
            "REDIS_URL",
            vec![
                ("GOVLENS_DATA_LISTEN", &listen),
                ("DATABASE_URL", &sqlite),
                ("REDIS_URL", "http://x"),
            ],
        ),
        (
            "GOVLENS_CACHE_TTL_SECS",
            vec![
                ("GOVLENS_DATA_LISTEN", &listen),
                ("DATABASE_URL", &sqlite),
                ("GOVLENS_CACHE_TTL_SECS", "soon"),
            ],
        ),
    ];
    for (variable, env) in cases {
        let mut cmd = data_command();
        cmd.envs(env.iter().copied());
        let output = cmd
            .stderr(Stdio::piped())
            .output()
            .expect("run govlens-data");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{env:?}: exit status {:?}, stderr {stderr}",
            output.status
        );
        assert!(
            stderr.contains(variable),
            "{env:?}: stderr does not name {variable}: {stderr}"
        );
    }
    // Nothing was created by a refused start.
    assert!(!dir.path().join("t.db").exists());
}

/// Kills the child on drop unless it was waited for.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_and_reflection_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let log_path = dir.path().join("stderr.log");
    let binary = tokio::task::spawn_blocking(data_binary).await.unwrap();
    let port = free_port();
    let mut cmd = Command::new(binary);
    for var in [
        "REDIS_URL",
        "GOVLENS_CACHE_MEMORY_MB",
        "GOVLENS_CACHE_TTL_SECS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "DATABASE_URL",
        format!("sqlite://{}?mode=rwc", db.display()),
    )
    .env("GOVLENS_DATA_LISTEN", format!("127.0.0.1:{port}"))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = Child(cmd.spawn().expect("spawn govlens-data"));
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let channel = lazy_channel(format!("127.0.0.1:{port}").parse().unwrap());
    let serving = async {
        tokio::select! {
            _ = wait_serving(channel.clone(), "") => {}
            _ = async {
                loop {
                    if let Ok(Some(status)) = child.0.try_wait() {
                        return status;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            } => panic!("govlens-data exited during start-up: {}", log()),
        }
    };
    tokio::time::timeout(Duration::from_secs(60), serving)
        .await
        .unwrap_or_else(|_| panic!("not SERVING within 60 s: {}", log()));
    wait_serving(channel.clone(), "govlens.data.v1.DataService").await;
    assert!(db.exists(), "the SQLite database file was created");

    // Reflection lists the API and health.
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list of services: {response:?}");
    };
    let services: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["govlens.data.v1.DataService", "grpc.health.v1.Health"] {
        assert!(
            services.iter().any(|s| s == expected),
            "reflection does not list {expected}: {services:?}"
        );
    }
    // Only what this process serves: the other services' protos describe messages but
    // are not listed (a client would call them here and fail).
    assert!(
        services
            .iter()
            .all(|s| !s.starts_with("govlens.") || s == "govlens.data.v1.DataService"),
        "reflection lists services this process does not serve: {services:?}"
    );

    // Authentication is on by default: no token, no data.
    let mut client = data_client(channel.clone());
    let refused = client
        .get_data_revision(pb::GetDataRevisionRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    // The API answers an admin's token (issued in the database, as `govlens token
    // issue` does), and writes persist in the file.
    let store = govlens_data::store::Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    let (token, _) =
        govlens_data::tokens::issue(&store, "ops", govlens_kit::auth::Role::Admin, None)
            .await
            .unwrap();
    let mut request = tonic::Request::new(tokio_stream::iter(vec![pb::ImportRecordsRequest {
        records: paper_pb(),
    }]));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let imported = client
        .import_records(request)
        .await
        .expect("import into the process")
        .into_inner();
    assert!(imported.revision > 0);

    // SIGTERM: a clean exit with status 0.
    let pid = child.0.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill -TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(status) = child.0.try_wait().expect("wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "govlens-data did not exit within 30 s of SIGTERM: {}",
            log()
        )
    });
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status:?}; stderr: {}",
        log()
    );

    // A second start on the same file finds the data (migrations are idempotent).
    let port = free_port();
    let mut cmd = data_command();
    cmd.env(
        "DATABASE_URL",
        format!("sqlite://{}?mode=rwc", db.display()),
    )
    .env("GOVLENS_DATA_LISTEN", format!("127.0.0.1:{port}"))
    .stderr(Stdio::null());
    let mut again = Child(cmd.spawn().expect("spawn govlens-data again"));
    let channel = lazy_channel(format!("127.0.0.1:{port}").parse().unwrap());
    tokio::time::timeout(Duration::from_secs(60), wait_serving(channel.clone(), ""))
        .await
        .expect("the restarted process never reported SERVING");
    // The token, too, survives the restart.
    let mut request = tonic::Request::new(pb::GetDataRevisionRequest {});
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let revision = data_client(channel)
        .get_data_revision(request)
        .await
        .expect("GetDataRevision")
        .into_inner()
        .revision;
    assert_eq!(
        revision, imported.revision,
        "the data did not survive a restart"
    );
    // SAFETY: as above.
    unsafe { libc::kill(again.0.id() as libc::pid_t, libc::SIGTERM) };
    let _ = again.0.wait();
}
