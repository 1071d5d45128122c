//! Runs the `govlens-healthcheck` binary against a real gRPC health server, a closed
//! port and a port that accepts connections but never answers.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};

use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

const SERVICE: &str = "govlens.test.v1.TestService";

fn probe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govlens-healthcheck"))
        .args(args)
        .output()
        .expect("run govlens-healthcheck")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A health server whose whole-server status is SERVING and whose one named service
/// is NOT_SERVING.
async fn health_server() -> SocketAddr {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    reporter
        .set_service_status(SERVICE, ServingStatus::NotServing)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Keep the reporter alive as long as the server.
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    address
}

#[tokio::test(flavor = "multi_thread")]
async fn serving_not_serving_and_unknown_services() {
    let address = health_server().await;
    let url = format!("http://{address}");
    let bare = address.to_string();

    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            probe(&args)
        })
    };

    let output = run(vec![url.clone()]).await.unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    // host:port without a scheme.
    let output = run(vec![bare]).await.unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    let output = run(vec![url.clone(), SERVICE.into()]).await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("NOT_SERVING"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));

    let output = run(vec![url, "no.such.Service".into()]).await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown"), "{}", stderr(&output));
}

#[test]
fn closed_port_fails_at_once() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = probe(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unreachable"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

#[test]
fn a_silent_server_fails_after_the_deadline() {
    // Accepts TCP connections (the kernel completes the handshake) but never speaks.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let output = probe(&[&format!("http://{address}")]);
    drop(listener);
    // It gave up on its own deadline (it did not hang, and it did not fail early).
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("3 s"), "{}", stderr(&output));
}

#[test]
fn bad_arguments_fail() {
    let output = probe(&["a", "b", "c"]);
    assert_eq!(output.status.code(), Some(1));
    let output = probe(&["--help"]);
    assert!(output.status.success());
}
