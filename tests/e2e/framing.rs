//! Broken framing closes only the offending connection.

use std::time::Duration;

use csta::system::RequestSystemStatus;
use gateway::client::{CstaClient, Login};
use tests::TestGateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sessions::config;

async fn closed_after(gateway: &TestGateway, bytes: &[u8]) -> bool {
    let mut stream = TcpStream::connect(gateway.addr("csta")).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buffer = [0u8; 256];
    // The server closes without answering: read returns 0 (or a reset).
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

#[tokio::test]
async fn frame_length_lies_and_bad_headers_close_only_that_connection() {
    let gateway = TestGateway::start(
        &config("[listener.small]\naddress = \"127.0.0.1:0\"\nmax_frame = 1024\n"),
        None,
    )
    .await;
    let mut survivor_config = gateway.client_config("csta");
    survivor_config.login = Some(Login {
        user: "crm".into(),
        password: "secret".into(),
        avaya: false,
        duration: 60,
    });
    let survivor = CstaClient::connect(&survivor_config).await.unwrap();

    assert!(
        closed_after(&gateway, &[0, 0, 0, 4, b'0', b'0', b'0', b'1']).await,
        "length shorter than the header"
    );
    assert!(
        closed_after(&gateway, &[0, 0, 0, 20, b'0', b'x', b'0', b'1']).await,
        "non-digit invoke id"
    );
    assert!(
        closed_after(&gateway, &[0, 1, 0, 20, b'0', b'0', b'0', b'1']).await,
        "SOAP format indicator"
    );
    // Beyond the configured limit of the small listener.
    let mut stream = TcpStream::connect(gateway.addr("small")).await.unwrap();
    stream
        .write_all(&[0, 0, 0x10, 0x00, b'0', b'0', b'0', b'1'])
        .await
        .unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "frame beyond max_frame closes: {read:?}"
    );

    // A length that promises more than is sent: the server waits, the others are unaffected.
    let mut waiting = TcpStream::connect(gateway.addr("csta")).await.unwrap();
    waiting
        .write_all(&[0, 0, 0x01, 0x00, b'0', b'0', b'0', b'1', b'<'])
        .await
        .unwrap();
    survivor
        .request(RequestSystemStatus::default().into())
        .await
        .expect("other clients are served");
    drop(waiting);
    survivor
        .request(RequestSystemStatus::default().into())
        .await
        .expect("a client vanishing mid-frame harms nobody");
}
