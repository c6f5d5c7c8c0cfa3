//! Logical device features: forwarding (the PBX's `cd` configuration) and do-not-disturb (the
//! presence activity `dnd`).

use csta::error_code::{CstaErrorCode, OperationError as Op};
use csta::events::Event;
use csta::logical::{GetDoNotDisturb, GetForwarding, SetDoNotDisturb, SetForwarding};
use csta::message::Message;
use csta::types::ForwardingType;
use tests::SimGateway;

use super::{code, device, limited_user, until};

fn set_forwarding(id: &str, kind: Option<ForwardingType>, to: Option<&str>, on: bool) -> Message {
    SetForwarding {
        device: device(id),
        forwarding_type: kind,
        activate_forward: on,
        forward_dn: to.map(device),
        ring_count: None,
        ring_duration: None,
        extensions: None,
    }
    .into()
}

/// `(type, on, destination)` of every item of a GetForwardingResponse.
async fn forwarding(
    client: &gateway::client::CstaClient,
    id: &str,
) -> Vec<(Option<ForwardingType>, bool, Option<String>)> {
    let request = GetForwarding {
        device: device(id),
        extensions: None,
    };
    let Message::GetForwardingResponse(answer) = client.request(request.into()).await.unwrap()
    else {
        panic!("no GetForwardingResponse");
    };
    answer
        .forwarding_list
        .unwrap_or_default()
        .into_iter()
        .map(|item| {
            (
                item.forwarding_type,
                item.forward_status,
                item.forward_dn.map(|dn| dn.as_str().to_owned()),
            )
        })
        .collect()
}

#[tokio::test]
async fn forwarding_is_configured_on_the_pbx_and_reported() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();

    assert!(matches!(
        client
            .request(set_forwarding("201", None, Some("204"), true))
            .await
            .unwrap(),
        Message::SetForwardingResponse(_)
    ));
    let forwards = |cn: &str| setup.sim.snapshot().object(cn).unwrap().forwards.clone();
    assert_eq!(
        forwards("Anna Becker").unconditional.as_deref(),
        Some("204")
    );
    let events = until(&mut client, "ForwardingEvent").await;
    let Event::Forwarding(event) = &events.last().unwrap().event else {
        unreachable!()
    };
    assert_eq!(
        event.forwarding_type,
        Some(ForwardingType::ForwardImmediate)
    );
    assert!(event.forward_status);
    assert_eq!(event.forward_to.as_ref().map(|to| to.as_str()), Some("204"));
    assert_eq!(
        forwarding(&client, "201").await,
        [
            (
                Some(ForwardingType::ForwardImmediate),
                true,
                Some("204".into())
            ),
            (Some(ForwardingType::ForwardBusy), false, None),
            (Some(ForwardingType::ForwardNoAns), false, None),
        ]
    );

    // Busy forwarding by its internal variant; a new destination replaces the old one.
    client
        .request(set_forwarding(
            "201",
            Some(ForwardingType::ForwardBusyInt),
            Some("205"),
            true,
        ))
        .await
        .unwrap();
    client
        .request(set_forwarding(
            "201",
            Some(ForwardingType::ForwardBusy),
            Some("tel:206"),
            true,
        ))
        .await
        .unwrap();
    let pbx = forwards("Anna Becker");
    assert_eq!(
        (pbx.unconditional.as_deref(), pbx.busy.as_deref()),
        (Some("204"), Some("206"))
    );
    // Off again.
    client
        .request(set_forwarding(
            "201",
            Some(ForwardingType::ForwardImmediate),
            None,
            false,
        ))
        .await
        .unwrap();
    assert_eq!(forwards("Anna Becker").unconditional, None);
    assert_eq!(
        forwarding(&client, "201").await[0],
        (Some(ForwardingType::ForwardImmediate), false, None)
    );
    loop {
        let events = until(&mut client, "ForwardingEvent").await;
        if let Event::Forwarding(event) = &events.last().unwrap().event
            && event.forwarding_type == Some(ForwardingType::ForwardImmediate)
            && !event.forward_status
        {
            break;
        }
    }

    // Errors.
    let cases = [
        (
            set_forwarding("299", None, Some("204"), true),
            Op::InvalidDeviceID,
        ),
        (
            set_forwarding("201", Some(ForwardingType::ForwardDnd), Some("204"), true),
            Op::InvalidForwardingType,
        ),
        (
            set_forwarding("201", None, None, true),
            Op::InvalidForwardingDestination,
        ),
        (
            set_forwarding("201", None, Some("tel:"), true),
            Op::InvalidForwardingDestination,
        ),
        (
            set_forwarding("201", None, Some("xyz"), true),
            Op::InvalidForwardingDestination,
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            code(client.request(request.clone()).await),
            CstaErrorCode::Operation(expected),
            "{request:?}"
        );
    }
    let limited = setup.gateway.login("login", "limited", "secret").await;
    let denied = CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice);
    assert_eq!(
        code(
            limited
                .request(set_forwarding("202", None, Some("204"), true))
                .await
        ),
        denied,
        "view is not forward"
    );
    let get = GetForwarding {
        device: device("203"),
        extensions: None,
    };
    assert_eq!(code(limited.request(get.into()).await), denied);
    assert_eq!(
        forwards("Ben Fischer").unconditional,
        None,
        "nothing changed"
    );
}

#[tokio::test]
async fn do_not_disturb_is_the_presence_activity_dnd() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut client = setup.client().await;
    client.monitor("210").await.unwrap();
    let set = |id: &str, on: bool| -> Message {
        SetDoNotDisturb {
            device: device(id),
            do_not_disturb_on: on,
            call_origination: None,
            calling_device_list: None,
            extensions: None,
        }
        .into()
    };
    let get = |id: &str| -> Message {
        GetDoNotDisturb {
            device: device(id),
            extensions: None,
        }
        .into()
    };
    let presence = |cn: &str| setup.sim.snapshot().object(cn).unwrap().presence.clone();
    // 210 is "away" with a note. Switching off what is not on leaves the activity alone;
    // switching on replaces the activity only.
    client.request(set("210", false)).await.unwrap();
    assert_eq!(presence("Jonas Braun").activity.as_deref(), Some("away"));
    assert!(matches!(
        client.request(set("210", true)).await.unwrap(),
        Message::SetDoNotDisturbResponse(_)
    ));
    let now = presence("Jonas Braun");
    assert_eq!(now.activity.as_deref(), Some("dnd"));
    assert_eq!(now.note.as_deref(), Some("back at 14:00"), "the note stays");
    let events = until(&mut client, "DoNotDisturbEvent").await;
    let Event::DoNotDisturb(event) = &events.last().unwrap().event else {
        unreachable!()
    };
    assert!(event.do_not_disturb_on);
    let Message::GetDoNotDisturbResponse(answer) = client.request(get("210")).await.unwrap() else {
        panic!("no GetDoNotDisturbResponse");
    };
    assert!(answer.do_not_disturb_on);

    // The PBX now rejects calls to 210 as busy.
    let mut caller = setup.client().await;
    caller.monitor("201").await.unwrap();
    setup.sim.dial("Anna Becker", "210").unwrap();
    let failed = until(&mut caller, "FailedEvent").await;
    let Event::Failed(failed) = &failed.last().unwrap().event else {
        unreachable!()
    };
    assert_eq!(failed.cause, csta::types::EventCause::Busy);

    assert!(matches!(
        client.request(set("210", false)).await.unwrap(),
        Message::SetDoNotDisturbResponse(_)
    ));
    let now = presence("Jonas Braun");
    assert_eq!(now.activity, None);
    assert_eq!(now.note.as_deref(), Some("back at 14:00"));
    let events = until(&mut client, "DoNotDisturbEvent").await;
    let Event::DoNotDisturb(event) = &events.last().unwrap().event else {
        unreachable!()
    };
    assert!(!event.do_not_disturb_on);
    assert_eq!(
        code(client.request(set("299", true)).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    assert_eq!(
        code(client.request(get("299")).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    let limited = setup.gateway.login("login", "limited", "secret").await;
    assert_eq!(
        code(limited.request(set("202", true)).await),
        CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice)
    );
    assert_eq!(presence("Ben Fischer").activity, None);
}
