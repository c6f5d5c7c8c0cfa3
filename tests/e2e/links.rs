//! PBX links: wrong credentials, stalled polls, standby failover, slave locations.

use std::time::Duration;

use csta::events::Event;
use pbx_soap::sim::{Directory, Sim, SimConfig};
use tests::{SimGateway, TestGateway, sim_gateway_config};

const WAIT: Duration = Duration::from_secs(20);

async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn wrong_credentials_are_reported_and_retried_without_harm() {
    let sim_config = SimConfig {
        admin_password: "not-ip800".into(),
        poll_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = Sim::start(sim_config, Directory::demo()).await.unwrap();
    let gateway = TestGateway::start(&sim_gateway_config(&sim.url(), ""), None).await;
    let registry = gateway.gateway.registry().clone();
    until("the link reports the refusal", || {
        registry.links().iter().any(|(_, status)| {
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("401"))
        })
    })
    .await;
    assert_eq!(registry.line_count(), 0);
    assert_eq!(sim.session_count(), 0);
    // The CSTA side keeps working and says the PBX is unavailable.
    let mut client = gateway_client(&gateway).await;
    assert!(client.devices().await.unwrap().is_empty());
}

async fn gateway_client(gateway: &TestGateway) -> gateway::client::CstaClient {
    gateway::client::CstaClient::connect(&gateway.client_config("csta"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stalled_poll_takes_the_lines_out_of_service_until_the_pbx_answers_again() {
    let sim_config = SimConfig {
        poll_timeout: Duration::from_secs(1),
        ..SimConfig::default()
    };
    let sim = Sim::start(sim_config, Directory::demo()).await.unwrap();
    let gateway = TestGateway::start_tweaked(&sim_gateway_config(&sim.url(), ""), None, |config| {
        config.pbx[0].poll_timeout = Duration::from_secs(2);
        config.pbx[0].echo_interval = Duration::from_secs(60);
    })
    .await;
    assert!(gateway.gateway.wait_in_service(WAIT).await);
    let mut client = gateway_client(&gateway).await;
    client.monitor("201").await.unwrap();
    sim.faults().stall_polls(true);
    let out = client.next_event(WAIT).await.expect("an event");
    assert!(matches!(out.event, Event::OutOfService(_)), "{out:?}");
    sim.faults().stall_polls(false);
    let back = client.next_event(WAIT).await.expect("an event");
    assert!(matches!(back.event, Event::BackInService(_)), "{back:?}");
}

#[tokio::test]
async fn the_standby_takes_over_and_the_master_is_used_again_when_it_returns() {
    let fast = || SimConfig {
        poll_timeout: Duration::from_secs(1),
        ..SimConfig::default()
    };
    let master = Sim::start(fast(), Directory::demo()).await.unwrap();
    let master_addr = master.addr();
    let standby = Sim::start(fast(), Directory::demo()).await.unwrap();
    let extra = "";
    let toml = sim_gateway_config(&master.url(), extra).replace(
        "password = \"ip800\"",
        &format!(
            "password = \"ip800\"\n        standby_url = \"{}\"",
            standby.url()
        ),
    );
    let gateway = TestGateway::start(&toml, None).await;
    assert!(gateway.gateway.wait_in_service(WAIT).await);
    let registry = gateway.gateway.registry().clone();
    let master_url = master.url();
    master.shutdown().await;
    until("the standby serves the lines", || {
        registry
            .links()
            .iter()
            .all(|(_, status)| status.up && status.url == standby.url())
    })
    .await;
    assert!(gateway.gateway.wait_in_service(WAIT).await);
    // A call on the standby is seen.
    let mut client = gateway_client(&gateway).await;
    client.monitor("201").await.unwrap();
    let call = standby.dial("Ben Fischer", "201").unwrap();
    let event = client.next_event(WAIT).await.unwrap();
    assert!(matches!(event.event, Event::Delivered(_)), "{event:?}");
    standby.hangup(call, "Ben Fischer").unwrap();
    // The master comes back at the same address: the link returns to it.
    let again = Sim::start(
        SimConfig {
            listen: master_addr,
            ..fast()
        },
        Directory::demo(),
    )
    .await
    .unwrap();
    until("the master serves the lines again", || {
        registry
            .links()
            .iter()
            .all(|(_, status)| status.up && status.url == master_url)
    })
    .await;
    assert!(gateway.gateway.wait_in_service(WAIT).await);
    assert!(again.session_count() >= 1);
}

const SLAVE_DIRECTORY: &str = r#"
[[node]]
name = "root"
num = ""

[[object]]
cn = "_TAPI_"
h323 = "_TAPI_"
password = "tapi"
hide = true
groups = [{ name = "tapi", active = true }]

[[object]]
cn = "Hanna Local"
e164 = "201"
groups = [{ name = "tapi" }]
devices = [{ hw = "phone-201" }]

[[object]]
cn = "Ivo Remote"
e164 = "301"
loc = "branch"
groups = [{ name = "tapi" }]
devices = [{ hw = "phone-301" }]

[[object]]
cn = "Jana Remote"
e164 = "302"
loc = "branch"
groups = [{ name = "tapi" }]
devices = [{ hw = "phone-302" }]
"#;

#[tokio::test]
async fn users_homed_on_a_slave_are_monitored_on_the_slave() {
    let fast = |location: &str| SimConfig {
        poll_timeout: Duration::from_secs(1),
        location: location.to_owned(),
        ..SimConfig::default()
    };
    let slave = Sim::start(
        fast("branch"),
        Directory::from_toml(SLAVE_DIRECTORY).unwrap(),
    )
    .await
    .unwrap();
    let mut master_config = fast("master");
    master_config
        .locations
        .insert("branch".to_owned(), slave.url());
    let master = Sim::start(
        master_config,
        Directory::from_toml(SLAVE_DIRECTORY).unwrap(),
    )
    .await
    .unwrap();
    let gateway = TestGateway::start(&sim_gateway_config(&master.url(), ""), None).await;
    assert!(gateway.gateway.wait_in_service(WAIT).await);
    let registry = gateway.gateway.registry().clone();
    assert_eq!(registry.line_count(), 3);
    until("the slave session is up", || {
        registry
            .links()
            .iter()
            .any(|(_, status)| status.slaves_up.contains(&"branch".to_owned()))
    })
    .await;
    assert!(
        slave.session_count() >= 1,
        "the gateway opened a session on the slave"
    );
    let mut client = gateway_client(&gateway).await;
    client.monitor("302").await.unwrap();
    // A call between the two slave users happens on the slave only.
    let call = slave.dial("Ivo Remote", "302").unwrap();
    let event = client
        .next_event(WAIT)
        .await
        .expect("the slave's call is seen");
    assert!(matches!(event.event, Event::Delivered(_)), "{event:?}");
    slave.hangup(call, "Ivo Remote").unwrap();
    let _ = SimGateway::start;
}

#[tokio::test]
async fn mapped_devices_are_lines_of_their_own() {
    let setup = SimGateway::start_tweaked(SimConfig::default(), Directory::demo(), "", |config| {
        config.pbx[0].map_devices = true;
    })
    .await;
    let mut client = setup.client().await;
    let ids: Vec<String> = client
        .devices()
        .await
        .unwrap()
        .into_iter()
        .map(|device| device.id)
        .collect();
    for id in ["201:phone-201", "203:phone-203", "203:soft-203"] {
        assert!(ids.iter().any(|listed| listed == id), "{id} in {ids:?}");
    }
    assert!(
        !ids.iter().any(|listed| listed == "203"),
        "no object line beside the device lines: {ids:?}"
    );
    client.monitor("203:phone-203").await.unwrap();
    client.monitor("203:soft-203").await.unwrap();
    let call = setup.sim.dial("Anna Becker", "203").unwrap();
    let mut ringing = Vec::new();
    while ringing.len() < 2 {
        let event = client.next_event(WAIT).await.expect("Delivered at both");
        if let Event::Delivered(delivered) = &event.event {
            ringing.push(
                delivered
                    .connection
                    .device
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .to_owned(),
            );
        }
    }
    ringing.sort();
    assert_eq!(ringing, ["203:phone-203", "203:soft-203"]);
    setup
        .sim
        .answer_at(call, "Clara Hoffmann", "soft-203")
        .unwrap();
    let (mut answered, mut cleared) = (None, None);
    while answered.is_none() || cleared.is_none() {
        let event = client.next_event(WAIT).await.expect("the answer's events");
        match &event.event {
            Event::Established(established) => {
                answered = established.established_connection.device.clone();
            }
            Event::ConnectionCleared(gone) => {
                cleared = gone.dropped_connection.device.clone();
            }
            _ => {}
        }
    }
    assert_eq!(answered.unwrap().as_str(), "203:soft-203");
    assert_eq!(cleared.unwrap().as_str(), "203:phone-203");
    setup.sim.hangup(call, "Anna Becker").unwrap();
}
