//! The device list asked for while the gateway starts: it waits for the first PBX sync, so a
//! TAPI or CRM client never takes a PBX still starting for one without lines; a PBX that
//! failed its first attempt, or one that takes too long, does not hold the list back further;
//! a held list holds nothing else back.

use std::time::Duration;

use csta::message::Message;
use csta::system::{GetSwitchingFunctionDevices, RequestSystemStatus};
use gateway::client::{CstaClient, DeviceInfo};
use pbx_soap::sim::{Directory, Sim, SimConfig};
use tests::{TestGateway, sim_gateway_config};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

/// How long a list must stay unanswered to show that it waits: the gateway answers a list in
/// well under a millisecond once it may.
const HELD_BACK: Duration = Duration::from_millis(300);

/// A gateway for the PBX at `url`, whose commands time out after `command_timeout` and
/// whose device list waits at most `bound` for the first sync.
async fn gateway(url: &str, command_timeout: Duration, bound: Duration) -> TestGateway {
    TestGateway::start_tweaked(&sim_gateway_config(url, ""), None, |config| {
        config.pbx[0].command_timeout = command_timeout;
        config.pbx[0].line_determination_timeout = bound;
    })
    .await
}

async fn client(gateway: &TestGateway) -> CstaClient {
    let mut config = gateway.client_config("csta");
    config.timeout = WAIT;
    CstaClient::connect(&config).await.expect("connect")
}

/// Lists the devices, checking that the list is held back for a while; `then` runs while it
/// still is.
async fn list_held_back(
    client: &mut CstaClient,
    why: &str,
    then: impl FnOnce(),
) -> Vec<DeviceInfo> {
    let listing = client.devices();
    tokio::pin!(listing);
    assert!(
        tokio::time::timeout(HELD_BACK, &mut listing).await.is_err(),
        "no list {why}"
    );
    then();
    tokio::time::timeout(WAIT, listing)
        .await
        .expect("the list comes in the end")
        .expect("a list")
}

/// The URL of a PBX that accepts connections but never answers (the kernel completes the
/// handshakes of a listener nobody accepts on).
async fn silent_pbx() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

#[tokio::test]
async fn a_list_asked_for_during_the_first_sync_waits_for_the_lines_in_service() {
    tests::subscribe();
    let sim = Sim::start(
        SimConfig {
            poll_timeout: Duration::from_secs(2),
            ..SimConfig::default()
        },
        Directory::demo(),
    )
    .await
    .expect("simulator");
    // The session opens, but its user dump stays on the PBX until the stall is lifted.
    sim.faults().stall_polls(true);
    let gateway = gateway(&sim.url(), Duration::from_secs(10), Duration::from_secs(90)).await;
    let registry = gateway.gateway.registry().clone();
    let mut client = client(&gateway).await;
    let devices = list_held_back(&mut client, "while the first sync is under way", || {
        assert!(registry.links().iter().all(|(_, status)| !status.ready));
        sim.faults().stall_polls(false);
    })
    .await;
    assert!(registry.links().iter().all(|(_, status)| status.ready));
    let listed: Vec<&str> = devices.iter().map(|device| device.id.as_str()).collect();
    let lines: Vec<String> = registry
        .lines()
        .into_iter()
        .map(|view| view.line.device.to_string())
        .collect();
    assert!(!lines.is_empty());
    assert_eq!(
        listed, lines,
        "every line of the PBX, as the registry has them"
    );
    assert!(
        devices.iter().all(|device| device.in_service == Some(true)),
        "listed in service: {devices:?}"
    );
}

/// Lists the devices of a gateway whose one PBX fails its first attempt well before the
/// bound of a minute: the list is empty, and it comes once the attempt has failed.
async fn list_after_a_failed_attempt(url: &str, command_timeout: Duration) {
    let gateway = gateway(url, command_timeout, Duration::from_secs(60)).await;
    let mut client = client(&gateway).await;
    let devices = tokio::time::timeout(WAIT, client.devices())
        .await
        .expect("the list answers after the failed attempt, not after the bound")
        .expect("a list");
    assert_eq!(devices, [], "no PBX answered, so no lines");
    let links = gateway.gateway.registry().links();
    assert!(
        links
            .iter()
            .all(|(_, status)| !status.ready && status.last_error.is_some()),
        "answered once the attempt had failed: {links:?}"
    );
}

#[tokio::test]
async fn a_pbx_that_does_not_answer_its_first_initialize_gets_an_empty_list_well_before_the_bound()
{
    tests::subscribe();
    let (_pbx, url) = silent_pbx().await;
    list_after_a_failed_attempt(&url, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_pbx_that_refuses_the_connection_gets_an_empty_list_at_once() {
    tests::subscribe();
    let (pbx, url) = silent_pbx().await;
    // Nobody listens there any more: every connection is refused.
    drop(pbx);
    list_after_a_failed_attempt(&url, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_pbx_that_never_finishes_its_first_attempt_holds_the_list_back_no_longer_than_the_bound()
{
    tests::subscribe();
    let (_pbx, url) = silent_pbx().await;
    // Initialize hangs for a minute; the list waits one second.
    let gateway = gateway(&url, Duration::from_secs(60), Duration::from_secs(1)).await;
    let mut client = client(&gateway).await;
    let devices = list_held_back(&mut client, "while the first attempt is under way", || {}).await;
    assert_eq!(devices, []);
    let links = gateway.gateway.registry().links();
    assert!(
        links
            .iter()
            .all(|(_, status)| !status.ready && status.last_error.is_none()),
        "the link is still in its first attempt: {links:?}"
    );
}

#[tokio::test]
async fn a_connection_whose_list_is_held_back_serves_its_other_requests_meanwhile_and_holds_eight_at_most()
 {
    tests::subscribe();
    let sim = Sim::start(SimConfig::default(), Directory::demo())
        .await
        .expect("simulator");
    sim.faults().stall_polls(true);
    let gateway = gateway(&sim.url(), Duration::from_secs(10), Duration::from_secs(90)).await;
    let client = client(&gateway).await;
    let listing = client.request(GetSwitchingFunctionDevices::default().into());
    tokio::pin!(listing);
    assert!(
        tokio::time::timeout(HELD_BACK, &mut listing).await.is_err(),
        "no list while the first sync is under way"
    );
    let status = tokio::time::timeout(WAIT, client.request(RequestSystemStatus::default().into()))
        .await
        .expect("answered while the list is held back")
        .expect("a status");
    assert!(
        matches!(status, Message::RequestSystemStatusResponse(_)),
        "{status:?}"
    );
    // Eight lists may wait at once; a ninth is refused at once.
    for invoke in 5001..5008 {
        let invoke = csta::ids::InvokeId::new(invoke).expect("invoke id");
        client
            .send(invoke, &GetSwitchingFunctionDevices::default().into())
            .await
            .expect("sent");
    }
    let refused = tokio::time::timeout(
        WAIT,
        client.request(GetSwitchingFunctionDevices::default().into()),
    )
    .await
    .expect("refused at once");
    assert!(
        matches!(
            refused,
            Err(gateway::client::ClientError::Csta {
                code: csta::error_code::CstaErrorCode::SystemResourceAvailability(
                    csta::error_code::SystemResourceAvailabilityError::ResourceBusy
                ),
                ..
            })
        ),
        "{refused:?}"
    );
    sim.faults().stall_polls(false);
    let answer = tokio::time::timeout(WAIT, listing)
        .await
        .expect("the list comes once the lines are in")
        .expect("a list");
    assert!(
        matches!(answer, Message::GetSwitchingFunctionDevicesResponse(_)),
        "{answer:?}"
    );
}
