//! TLS and mutual TLS from the environment variables operators set (PEM files): a
//! server with a certificate and a client CA answers callers that trust its CA and
//! present a certificate the client CA signed, and refuses plaintext callers and
//! callers without a certificate.

use std::time::Duration;

use govlens_kit::tls::TlsConfig;
use govlens_tests::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

struct Pki {
    dir: tempfile::TempDir,
    ca: String,
    client_cert: String,
    client_key: String,
}

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, as
/// files.
fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["govlens-scoring".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("ca.pem", &ca.pem());
    write("server.pem", &server.pem());
    write("server.key", &server_key.serialize_pem());
    Pki {
        ca: ca.pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        dir,
    }
}

fn path(pki: &Pki, name: &str) -> String {
    pki.dir.path().join(name).display().to_string()
}

async fn revision(channel: Channel) -> Result<i64, tonic::Status> {
    data_client(channel)
        .get_data_revision(pb::GetDataRevisionRequest {})
        .await
        .map(|r| r.into_inner().revision)
}

fn tls_endpoint(addr: std::net::SocketAddr, tls: ClientTlsConfig) -> Endpoint {
    Endpoint::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn mutual_tls_admits_only_certified_callers() {
    let Some(db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let pki = pki();
    let env = [
        ("GOVLENS_TLS_CERT", path(&pki, "server.pem")),
        ("GOVLENS_TLS_KEY", path(&pki, "server.key")),
        ("GOVLENS_TLS_CLIENT_CA", path(&pki, "ca.pem")),
    ];
    let mut config = db.config();
    config.tls = TlsConfig::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("the PEM files are read");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(govlens_data::serve(
        config,
        listener,
        govlens_kit::process::Shutdown::on(
            async {
                let _ = stopped.await;
            },
            govlens_kit::process::StopPolicy::IMMEDIATE,
        ),
    ));

    let trusted = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    let channel = tls_endpoint(addr, trusted).connect_lazy();
    tokio::time::timeout(Duration::from_secs(60), wait_serving(channel.clone(), ""))
        .await
        .expect("SERVING over mutual TLS");
    assert_eq!(
        revision(channel)
            .await
            .expect("a certified caller is served"),
        0
    );

    // No client certificate: the handshake fails.
    let anonymous = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca));
    let refused = revision(tls_endpoint(addr, anonymous).connect_lazy()).await;
    assert!(refused.is_err(), "served a caller without a certificate");

    // Plaintext: refused.
    let plain = revision(lazy_channel(addr)).await;
    assert!(plain.is_err(), "served a plaintext caller");

    // A server certificate the caller does not trust: the caller refuses it.
    let other = CertifiedIssuer::self_signed(
        {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p
        },
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let wrong_ca = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(other.pem()))
        .identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    assert!(revision(tls_endpoint(addr, wrong_ca).connect_lazy())
        .await
        .is_err());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn tls_configuration_errors_name_the_variable() {
    let pki = pki();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("GOVLENS_TLS_CERT", path(&pki, "server.pem"))],
            "GOVLENS_TLS_KEY",
        ),
        (
            vec![
                ("GOVLENS_TLS_CERT", path(&pki, "missing.pem")),
                ("GOVLENS_TLS_KEY", path(&pki, "server.key")),
            ],
            "GOVLENS_TLS_CERT",
        ),
        (
            vec![("GOVLENS_TLS_CLIENT_CA", path(&pki, "ca.pem"))],
            "GOVLENS_TLS_CLIENT_CA",
        ),
    ];
    for (env, variable) in cases {
        let err = TlsConfig::from_lookup(|k| {
            env.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .unwrap_err();
        assert_eq!(err.variable, variable, "{env:?}");
    }
}
