//! ECMA-354 sessions, logins and keep-alives, without a PBX behind the gateway.

use std::time::Duration;

use csta::edition::Edition;
use csta::error_code::{CstaErrorCode, OperationError, SecurityError};
use csta::ids::{InvokeId, SessionId};
use csta::message::Message;
use csta::session::{
    Credentials, Reason, ResetApplicationSessionTimer, SessionTermReason, StartApplicationSession,
};
use csta::system::RequestSystemStatus;
use csta::types::SystemStatusValue;
use gateway::client::{ClientError, CstaClient, Login};
use tests::{TestGateway, quick_hash};

/// A gateway whose PBX is unreachable: sessions work, devices do not exist.
pub(crate) fn config(extra: &str) -> String {
    format!(
        r#"
        [pbx.main]
        url = "http://127.0.0.1:9/PBX0/user.soap"
        password = "pw"
        reconnect_min = "1s"

        [listener.csta]
        address = "127.0.0.1:0"

        [listener.open]
        address = "127.0.0.1:0"
        anonymous_user = "viewer"
        system_status_first = true

        [user.crm]
        password_hash = "{crm}"
        view = ["*"]
        monitor = ["*"]
        control = ["*"]
        forward = ["*"]

        [user.viewer]
        view = ["*"]

        [sessions]
        min_duration = "1s"
        cleanup_delay = "30s"
        {extra}
        "#,
        crm = quick_hash("secret"),
    )
}

fn start_session(user: &str, password: &str, avaya: bool) -> StartApplicationSession {
    let credentials = Credentials {
        user: user.into(),
        password: password.into(),
        session_cleanup_delay: None,
        session_id: None,
    };
    let mut request = StartApplicationSession::with_login("e2e", &credentials, avaya);
    request.requested_protocol_versions = vec![Edition::Ed4.namespace().to_owned()];
    request.requested_session_duration = Some(60);
    request
}

#[tokio::test]
async fn login_in_both_credential_shapes_and_refusal_of_wrong_passwords() {
    let gateway = TestGateway::start(&config(""), None).await;
    let client = CstaClient::connect(&gateway.client_config("csta"))
        .await
        .unwrap();
    for avaya in [false, true] {
        let answer = client
            .request(start_session("crm", "wrong", avaya).into())
            .await;
        assert!(
            matches!(
                answer,
                Err(ClientError::SessionRefused {
                    answer: "StartApplicationSessionNegResponse"
                })
            ),
            "{answer:?}"
        );
    }
    let unknown = client
        .request(start_session("nobody", "secret", false).into())
        .await;
    assert!(matches!(unknown, Err(ClientError::SessionRefused { .. })));
    let Message::StartApplicationSessionPosResponse(ok) = client
        .request(start_session("crm", "secret", true).into())
        .await
        .unwrap()
    else {
        panic!("no positive response");
    };
    assert_eq!(ok.actual_protocol_version, Edition::Ed4.namespace());
    assert_eq!(ok.actual_session_duration, 60);
    assert!(!ok.session_id.as_str().is_empty());
}

#[tokio::test]
async fn requests_before_login_are_refused_but_the_connection_stays() {
    let gateway = TestGateway::start(&config(""), None).await;
    let client = CstaClient::connect(&gateway.client_config("csta"))
        .await
        .unwrap();
    let answer = client.request(RequestSystemStatus::default().into()).await;
    let Err(ClientError::Csta { code, .. }) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        code,
        CstaErrorCode::Security(SecurityError::SecurityInfoViolated)
    );
    client
        .request(start_session("crm", "secret", false).into())
        .await
        .unwrap();
    let Message::RequestSystemStatusResponse(status) = client
        .request(RequestSystemStatus::default().into())
        .await
        .unwrap()
    else {
        panic!("no status");
    };
    assert_eq!(
        status.system_status,
        SystemStatusValue::Disabled,
        "the PBX is unreachable"
    );
}

#[tokio::test]
async fn unknown_services_and_bad_xml_get_errors_with_the_request_invoke_id() {
    let gateway = TestGateway::start(&config(""), None).await;
    let mut config = gateway.client_config("csta");
    config.login = Some(Login {
        user: "crm".into(),
        password: "secret".into(),
        avaya: false,
        duration: 60,
    });
    let mut client = CstaClient::connect(&config).await.unwrap();
    let frame = |invoke: &[u8; 4], body: &str| {
        let len = u16::try_from(body.len() + 8).unwrap().to_be_bytes();
        let mut bytes = vec![0, 0, len[0], len[1]];
        bytes.extend_from_slice(invoke);
        bytes.extend_from_slice(body.as_bytes());
        bytes
    };
    // Answers to raw frames arrive as incoming messages (nobody waits for their invoke ids).
    client.send_raw(&frame(b"0777", "<FlyToTheMoon xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"/>")).await.unwrap();
    client
        .send_raw(&frame(b"0778", "<MakeCall><callingDevice>201"))
        .await
        .unwrap();
    client.send_raw(&frame(b"0779", "<MonitorStart><monitorObject><deviceObject>999</deviceObject></monitorObject></MonitorStart>")).await.unwrap();
    let mut codes = Vec::new();
    while codes.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(5), client.next_incoming())
            .await
            .unwrap()
            .unwrap();
        if let Message::CstaErrorCode(code) = message {
            codes.push(code);
        }
    }
    assert_eq!(
        codes[0],
        CstaErrorCode::Operation(OperationError::ServiceNotSupported)
    );
    assert_eq!(
        codes[1],
        CstaErrorCode::Operation(OperationError::InvalidParameterValue)
    );
    assert_eq!(
        codes[2],
        CstaErrorCode::Operation(OperationError::InvalidDeviceID)
    );
    // The connection is still usable.
    client
        .request(RequestSystemStatus::default().into())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_session_timer_can_be_reset_and_expires_with_a_termination() {
    let gateway = TestGateway::start(&config(""), None).await;
    let mut client = CstaClient::connect(&gateway.client_config("csta"))
        .await
        .unwrap();
    let mut request = start_session("crm", "secret", false);
    request.requested_session_duration = Some(1);
    let Message::StartApplicationSessionPosResponse(ok) =
        client.request(request.into()).await.unwrap()
    else {
        panic!("no session");
    };
    assert_eq!(ok.actual_session_duration, 1);
    let wrong = ResetApplicationSessionTimer {
        session_id: SessionId::new("not-mine").unwrap(),
        requested_session_duration: Some(1),
        extensions: None,
    };
    assert!(matches!(
        client.request(wrong.into()).await,
        Err(ClientError::SessionRefused { .. })
    ));
    let reset = ResetApplicationSessionTimer {
        session_id: ok.session_id.clone(),
        requested_session_duration: Some(1),
        extensions: None,
    };
    let Message::ResetApplicationSessionTimerPosResponse(reset) =
        client.request(reset.into()).await.unwrap()
    else {
        panic!("no reset");
    };
    assert_eq!(reset.actual_session_duration, 1);
    let terminated = tokio::time::timeout(Duration::from_secs(5), client.next_incoming())
        .await
        .unwrap();
    let Some(Message::ApplicationSessionTerminated(terminated)) = terminated else {
        panic!("{terminated:?}")
    };
    assert_eq!(terminated.session_id, ok.session_id);
    assert_eq!(
        terminated.session_term_reason,
        Reason::Defined(SessionTermReason::SessionTimerExpired)
    );
    assert!(
        client.next_incoming().await.is_none(),
        "the server closes the connection"
    );
}

#[tokio::test]
async fn system_status_first_listener_greets_and_allows_the_anonymous_user() {
    let gateway = TestGateway::start(&config(""), None).await;
    let mut client = CstaClient::connect(&gateway.client_config("open"))
        .await
        .unwrap();
    let greeting = tokio::time::timeout(Duration::from_secs(5), client.next_incoming())
        .await
        .unwrap();
    assert!(
        matches!(greeting, Some(Message::SystemStatus(_))),
        "{greeting:?}"
    );
    let register = csta::system::SystemRegister {
        request_types: [csta::types::RequestType::SystemStatus]
            .into_iter()
            .collect(),
        requested_status_filter: None,
        extensions: None,
    };
    assert!(matches!(
        client.request(register.into()).await.unwrap(),
        Message::SystemRegisterResponse(_)
    ));
    // The anonymous user may view but not control.
    let make_call = csta::call_control::MakeCall::new(
        csta::ids::DeviceId::new("201").unwrap(),
        csta::ids::DeviceId::new("202").unwrap(),
    );
    let denied = client.request(make_call.into()).await;
    let Err(ClientError::Csta { code, .. }) = denied else {
        panic!("{denied:?}")
    };
    assert_eq!(
        code,
        CstaErrorCode::Operation(OperationError::InvalidDeviceID),
        "no such line without a PBX"
    );
    let refused = client
        .request(start_session("crm", "wrong", false).into())
        .await;
    assert!(matches!(refused, Err(ClientError::SessionRefused { .. })));
    let _ = InvokeId::EVENT;
}
