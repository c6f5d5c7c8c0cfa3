//! CSTA over TLS: server certificates, client certificates mapped to users, handshake garbage.

use std::time::Duration;

use csta::system::RequestSystemStatus;
use gateway::client::{ClientError, CstaClient};
use tests::{TestCertificates, TestGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(certs: &TestCertificates) -> String {
    let extra = format!(
        r#"
        [listener.tls]
        address = "127.0.0.1:0"
        tls.cert_file = "{cert}"
        tls.key_file = "{key}"
        tls.client_ca_file = "{ca}"

        [user.crm.x]
        "#,
        cert = certs.server_cert.display(),
        key = certs.server_key.display(),
        ca = certs.ca.display(),
    );
    let base = crate::sessions::config("");
    // The certificate subject of the test client logs in as `crm`.
    let base = base.replace("[user.viewer]", "[user.certified]\n        tls_subject = \"crm.example.com\"\n        view = [\"*\"]\n        monitor = [\"*\"]\n\n        [user.viewer]");
    format!("{base}\n{}", extra.replace("[user.crm.x]", ""))
}

#[tokio::test]
async fn tls_with_and_without_client_certificates() {
    let certs = TestCertificates::generate();
    let gateway = TestGateway::start(&config(&certs), None).await;
    // A trusted server certificate, no client certificate: login required.
    let client = CstaClient::connect(&gateway.tls_config("tls", &certs.ca))
        .await
        .unwrap();
    let refused = client.request(RequestSystemStatus::default().into()).await;
    assert!(
        matches!(refused, Err(ClientError::Csta { .. })),
        "{refused:?}"
    );
    // The client certificate maps to the user `certified`.
    let mut with_certificate = gateway.tls_config("tls", &certs.ca);
    if let Some(tls) = &mut with_certificate.tls {
        tls.client_certificate = Some((certs.client_cert.clone(), certs.client_key.clone()));
    }
    let certified = CstaClient::connect(&with_certificate).await.unwrap();
    certified
        .request(RequestSystemStatus::default().into())
        .await
        .expect("logged in by certificate");
    // An untrusted server certificate is refused by the client.
    let mut untrusted = gateway.tls_config("tls", &certs.ca);
    if let Some(tls) = &mut untrusted.tls {
        tls.ca_file = Some(certs.client_cert.clone());
    }
    assert!(matches!(
        CstaClient::connect(&untrusted).await,
        Err(ClientError::Tls { .. })
    ));
}

#[tokio::test]
async fn handshake_garbage_closes_only_that_connection() {
    let certs = TestCertificates::generate();
    let gateway = TestGateway::start(&config(&certs), None).await;
    let mut garbage = tokio::net::TcpStream::connect(gateway.addr("tls"))
        .await
        .unwrap();
    garbage
        .write_all(b"\x00\x00\x00\x20GET / HTTP/1.1\r\n\r\nnot a client hello")
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), garbage.read(&mut buffer))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)) || read.as_ref().is_ok_and(|n| *n > 0),
        "answered with an alert or closed"
    );
    let client = CstaClient::connect(&gateway.tls_config("tls", &certs.ca))
        .await
        .expect("TLS still served");
    drop(client);
}
