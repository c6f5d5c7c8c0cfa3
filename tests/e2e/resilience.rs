//! Access control, PBX restarts, session re-attach and slow clients.

use std::time::Duration;

use csta::error_code::{CstaErrorCode, OperationError};
use csta::events::Event;
use csta::message::Message;
use csta::session::{Credentials, StartApplicationSession};
use csta::system::SystemStatus;
use csta::types::SystemStatusValue;
use gateway::client::{ClientError, CstaClient, Login};
use tests::SimGateway;

const WAIT: Duration = Duration::from_secs(10);

async fn login(setup: &SimGateway, user: &str) -> CstaClient {
    setup.gateway.login("login", user, "secret").await
}

fn csta_error(result: Result<impl std::fmt::Debug, ClientError>) -> CstaErrorCode {
    match result {
        Err(ClientError::Csta { code, .. }) => code,
        other => panic!("expected a CSTA error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_service_checks_the_users_rights() {
    let setup = SimGateway::start("").await;
    let viewer = login(&setup, "viewer").await;
    let office = login(&setup, "office").await;
    let denied = CstaErrorCode::Operation(OperationError::PrivilegeViolationSpecifiedDevice);
    assert_eq!(
        csta_error(viewer.monitor("201").await),
        denied,
        "view only: no monitor"
    );
    assert_eq!(
        csta_error(viewer.make_call("201", "202").await),
        denied,
        "view only: no control"
    );
    office.monitor("203").await.expect("office monitors 20x");
    assert_eq!(
        csta_error(office.monitor("8301").await),
        denied,
        "office: not 8301"
    );
    assert_eq!(csta_error(office.make_call("8301", "201").await), denied);
    let forward = csta::logical::SetForwarding {
        device: csta::ids::DeviceId::new("203").unwrap(),
        forwarding_type: None,
        activate_forward: true,
        forward_dn: Some(csta::ids::DeviceId::new("204").unwrap()),
        ring_count: None,
        ring_duration: None,
        extensions: None,
    };
    assert_eq!(
        csta_error(office.request(forward.into()).await),
        denied,
        "office may not forward"
    );
    // Unknown devices are not privilege problems.
    assert_eq!(
        csta_error(office.monitor("999").await),
        CstaErrorCode::Operation(OperationError::InvalidDeviceID)
    );
}

#[tokio::test]
async fn a_pbx_restart_mid_call_takes_lines_out_of_service_and_leaves_no_phantom_call() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let call = setup.sim.dial("Anna Becker", "202").unwrap();
    setup.sim.answer(call, "202").unwrap();
    // ServiceInitiated, Originated, Delivered, Established.
    for _ in 0..4 {
        client.next_event(WAIT).await.expect("call events");
    }
    assert_eq!(setup.gateway.gateway.registry().call_count(), 1);
    setup.sim.faults().restart();
    let mut names = Vec::new();
    while !names.contains(&"BackInServiceEvent") {
        let event = client
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("saw {names:?}"));
        names.push(event.event.name());
    }
    assert!(names.contains(&"OutOfServiceEvent"), "{names:?}");
    let out = names
        .iter()
        .position(|name| *name == "OutOfServiceEvent")
        .unwrap();
    let cleared = names
        .iter()
        .position(|name| *name == "ConnectionClearedEvent")
        .expect("the vanished call is cleared");
    let back = names
        .iter()
        .position(|name| *name == "BackInServiceEvent")
        .unwrap();
    assert!(out < cleared && cleared < back, "{names:?}");
    assert_eq!(
        setup.gateway.gateway.registry().call_count(),
        0,
        "no phantom call"
    );
    // And the line works again.
    let again = setup.sim.dial("Ben Fischer", "201").unwrap();
    let event = client.next_event(WAIT).await.unwrap();
    assert!(matches!(event.event, Event::Delivered(_)), "{event:?}");
    setup.sim.hangup(again, "Ben Fischer").unwrap();
}

#[tokio::test]
async fn a_session_is_reattached_with_its_monitors_after_a_tcp_drop() {
    let setup = SimGateway::start("").await;
    let config = setup.gateway.client_config("login");
    let first = CstaClient::connect(&gateway_login(&config, "crm"))
        .await
        .unwrap();
    let session = first.session_id().unwrap().clone();
    let cross_ref = first.monitor("206").await.unwrap();
    drop(first);

    // The server parks the session once it notices the drop; retry until it has.
    let credentials = Credentials {
        user: "crm".into(),
        password: "secret".into(),
        session_cleanup_delay: Some(30),
        session_id: Some(session.as_str().to_owned()),
    };
    let mut second = None;
    for _ in 0..100 {
        let client = CstaClient::connect(&config).await.unwrap();
        let mut request = StartApplicationSession::with_login("e2e", &credentials, true);
        request.requested_session_duration = Some(60);
        if let Ok(Message::StartApplicationSessionPosResponse(ok)) =
            client.request(request.into()).await
        {
            second = Some((client, ok));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut second, ok) = second.expect("re-attach within 5 s");
    assert_eq!(ok.session_id, session);
    let call = setup.sim.dial("Anna Becker", "206").unwrap();
    let event = second
        .next_event(WAIT)
        .await
        .expect("the old monitor reports");
    assert_eq!(event.monitor_cross_ref_id, cross_ref);
    setup.sim.hangup(call, "Anna Becker").unwrap();

    // Another user cannot take the session over.
    let third = CstaClient::connect(&config).await.unwrap();
    let stolen = Credentials {
        user: "viewer".into(),
        session_id: Some(session.as_str().to_owned()),
        ..credentials
    };
    let request = StartApplicationSession::with_login("e2e", &stolen, true);
    assert!(matches!(
        third.request(request.into()).await,
        Err(ClientError::SessionRefused { .. })
    ));
}

fn gateway_login(
    config: &gateway::client::ClientConfig,
    user: &str,
) -> gateway::client::ClientConfig {
    let mut config = config.clone();
    config.login = Some(Login {
        user: user.into(),
        password: "secret".into(),
        avaya: true,
        duration: 60,
    });
    config
}

fn frame(invoke: u16, message: &Message) -> Vec<u8> {
    let mut bytes = Vec::new();
    csta::frame::encode_message(
        csta::ids::InvokeId::new(invoke).unwrap(),
        message,
        &csta::edition::Edition::Ed3,
        &mut bytes,
    )
    .unwrap();
    bytes
}

#[tokio::test]
async fn a_client_that_never_reads_loses_events_and_is_told_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let setup = SimGateway::start("queue = 16").await;
    // The slow client: a tiny receive buffer, monitors every line, then stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(setup.gateway.addr("csta")).await.unwrap();
    let devices: Vec<String> = (201..=220).map(|n| n.to_string()).collect();
    for (index, device) in devices.iter().enumerate() {
        let start = csta::monitoring::MonitorStart::device(
            csta::ids::DeviceId::new(device.as_str()).unwrap(),
        );
        slow.write_all(&frame(u16::try_from(index + 1).unwrap(), &start.into()))
            .await
            .unwrap();
    }
    let mut fast = setup.client().await;
    fast.monitor("220").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Many calls: far more event bytes than the socket buffers hold.
    for round in 0..600 {
        let from = format!("{}", 201 + (round % 9));
        let to = format!("{}", 210 + (round % 9));
        let call = setup.sim.dial(&from, &to).unwrap();
        setup.sim.hangup(call, &from).unwrap();
    }
    // The fast client is served meanwhile.
    let call = setup.sim.dial("201", "220").unwrap();
    let event = fast
        .next_event(WAIT)
        .await
        .expect("the fast client is not slowed down");
    assert!(matches!(event.event, Event::Delivered(_)), "{event:?}");
    setup.sim.hangup(call, "201").unwrap();

    // The slow client reads everything queued for it, then one more event: the loss report.
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut told = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut poked = false;
    while !told && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(300), slow.read(&mut chunk)).await {
            Ok(Ok(0)) => panic!("the server closed the slow client"),
            Ok(Ok(read)) => buffer.extend_from_slice(&chunk[..read]),
            Ok(Err(error)) => panic!("{error}"),
            Err(_) if !poked => {
                // Drained: the next event finds room for the report.
                poked = true;
                let call = setup.sim.dial("202", "203").unwrap();
                setup.sim.hangup(call, "202").unwrap();
            }
            Err(_) => {}
        }
        while let Ok(Some(frame)) = csta::frame::decode(&buffer, csta::frame::MAX_FRAME_LEN) {
            let len = frame.len;
            if let Ok(decoded) = Message::decode(frame.body)
                && let Message::SystemStatus(SystemStatus {
                    system_status: SystemStatusValue::MessagesLost,
                    ..
                }) = decoded.message
            {
                told = true;
            }
            buffer.drain(..len);
        }
    }
    assert!(told, "the slow client got SystemStatus messagesLost");
}
