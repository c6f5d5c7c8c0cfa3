//! A PBX that is gone or restarting: commands get `resourceOutOfService`, what the gateway
//! holds in memory is still served.

use csta::call_control::{GroupPickupCall, MakeCall};
use csta::error_code::{CstaErrorCode, SystemResourceAvailabilityError as Resource};
use csta::logical::{GetForwarding, SetDoNotDisturb, SetForwarding};
use csta::message::Message;
use csta::snapshot::SnapshotDevice;
use csta::system::RequestSystemStatus;
use csta::types::SystemStatusValue;
use tests::SimGateway;

use super::{code, device, legs, until};

const OUT_OF_SERVICE: CstaErrorCode =
    CstaErrorCode::SystemResourceAvailability(Resource::ResourceOutOfService);

fn make_call() -> Message {
    MakeCall::new(device("201"), device("202")).into()
}

#[tokio::test]
async fn a_stopped_pbx_makes_commands_fail_with_resource_out_of_service() {
    let SimGateway { sim, gateway } = SimGateway::start("").await;
    let mut client = gateway.client_config("csta");
    client.timeout = std::time::Duration::from_secs(5);
    let mut client = gateway::client::CstaClient::connect(&client).await.unwrap();
    client.monitor("201").await.unwrap();
    sim.shutdown().await;
    until(&mut client, "OutOfServiceEvent").await;

    let commands: Vec<Message> = vec![
        make_call(),
        SetForwarding {
            device: device("201"),
            forwarding_type: None,
            activate_forward: true,
            forward_dn: Some(device("204")),
            ring_count: None,
            ring_duration: None,
            extensions: None,
        }
        .into(),
        SetDoNotDisturb {
            device: device("201"),
            do_not_disturb_on: true,
            call_origination: None,
            calling_device_list: None,
            extensions: None,
        }
        .into(),
        GroupPickupCall {
            new_destination: device("201"),
            pick_group: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
    ];
    for command in commands {
        let name = command.name();
        assert_eq!(
            code(client.request(command).await),
            OUT_OF_SERVICE,
            "{name}"
        );
    }
    // What the gateway holds is still served, and the status says why commands fail.
    let forwarding = GetForwarding {
        device: device("201"),
        extensions: None,
    };
    assert!(matches!(
        client.request(forwarding.into()).await.unwrap(),
        Message::GetForwardingResponse(_)
    ));
    let snapshot = SnapshotDevice {
        snapshot_object: device("201"),
        extensions: None,
    };
    assert!(matches!(
        client.request(snapshot.into()).await.unwrap(),
        Message::SnapshotDeviceResponse(_)
    ));
    let Message::RequestSystemStatusResponse(status) = client
        .request(RequestSystemStatus::default().into())
        .await
        .unwrap()
    else {
        panic!("no status");
    };
    assert_eq!(status.system_status, SystemStatusValue::Disabled);
}

#[tokio::test]
async fn requests_during_a_pbx_restart_get_resource_out_of_service_until_it_is_back() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    // Stalled polls keep the gateway from finishing its new start-up until the test lifts it.
    setup.sim.faults().stall_polls(true);
    setup.sim.faults().restart();
    assert_eq!(
        code(client.request(make_call()).await),
        OUT_OF_SERVICE,
        "at once: the PBX forgot the session"
    );
    until(&mut client, "OutOfServiceEvent").await;
    assert_eq!(code(client.request(make_call()).await), OUT_OF_SERVICE);
    assert_eq!(setup.sim.call_count(), 0);

    setup.sim.faults().stall_polls(false);
    until(&mut client, "BackInServiceEvent").await;
    client.request(make_call()).await.expect("works again");
    assert_eq!(legs(&setup.sim.snapshot(), "Ben Fischer").len(), 1);
}

#[tokio::test]
async fn a_pbx_that_answers_too_late_is_resource_out_of_service_after_the_command_timeout() {
    let setup = super::sim_gateway_tweaked(|pbx| {
        pbx.command_timeout = std::time::Duration::from_millis(300)
    })
    .await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let sim_call = setup.sim.dial("Ben Fischer", "201").unwrap();
    setup.sim.answer(sim_call, "Anna Becker").unwrap();
    let established = until(&mut client, "EstablishedEvent").await;
    let call = super::call_of(&established.last().unwrap().event)
        .unwrap()
        .clone();
    setup
        .sim
        .faults()
        .set_latency(std::time::Duration::from_secs(2));
    let hold = csta::call_control::HoldCall {
        call_to_be_held: super::at(&call, "201"),
        connection_reservation: None,
        extensions: None,
    };
    // The PBX would answer after 2 s; the gateway gives up after its command timeout.
    assert_eq!(code(client.request(hold.into()).await), OUT_OF_SERVICE);
    setup.sim.faults().set_latency(std::time::Duration::ZERO);
}
