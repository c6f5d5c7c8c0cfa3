//! Capability exchange: the device list in segments, the feature list, device information.

use std::collections::BTreeSet;

use csta::error_code::{CstaErrorCode, OperationError as Op};
use csta::message::Message;
use csta::system::{
    FeatureGroup, GetCstaFeatures, GetLogicalDeviceInformation, GetPhysicalDeviceInformation,
    GetSwitchingFunctionDevices, SwitchingFunctionDevices,
};
use csta::types::DeviceCategory;
use gateway::client::CstaClient;
use pbx_soap::sim::{Directory, SimConfig};
use tests::SimGateway;

use super::{WAIT, code, device, limited_user};

/// The segments that follow a GetSwitchingFunctionDevicesResponse, up to the last one.
async fn segments(
    client: &mut CstaClient,
    request: GetSwitchingFunctionDevices,
) -> Vec<SwitchingFunctionDevices> {
    let Message::GetSwitchingFunctionDevicesResponse(response) =
        client.request(request.into()).await.unwrap()
    else {
        panic!("no GetSwitchingFunctionDevicesResponse");
    };
    let mut segments = Vec::new();
    loop {
        let message = tokio::time::timeout(WAIT, client.next_incoming())
            .await
            .expect("segments in time")
            .expect("open connection");
        let Message::SwitchingFunctionDevices(segment) = message else {
            continue;
        };
        assert_eq!(segment.service_cross_ref_id, response.service_cross_ref_id);
        let last = segment.last_segment;
        segments.push(segment);
        if last {
            return segments;
        }
    }
}

fn list(id: Option<&str>, category: Option<DeviceCategory>) -> GetSwitchingFunctionDevices {
    GetSwitchingFunctionDevices {
        requested_device_id: id.map(device),
        requested_device_category: category,
        extensions: None,
    }
}

#[tokio::test]
async fn a_directory_of_three_hundred_users_is_listed_in_numbered_segments() {
    let setup = SimGateway::start_with(SimConfig::default(), Directory::generated(300), "").await;
    let mut client = setup.client().await;
    let all = segments(&mut client, list(None, None)).await;
    assert_eq!(all.len(), 3, "100 devices per segment");
    let ids: Vec<Option<u32>> = all.iter().map(|segment| segment.segment_id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);
    let lasts: Vec<bool> = all.iter().map(|segment| segment.last_segment).collect();
    assert_eq!(lasts, [false, false, true]);
    let listed: BTreeSet<String> = all
        .iter()
        .flat_map(|segment| segment.device_list.clone().unwrap_or_default())
        .inspect(|item| assert_eq!(item.device_category, Some(DeviceCategory::Station)))
        .map(|item| item.device_id.as_str().to_owned())
        .collect();
    let expected: BTreeSet<String> = (10_001..=10_300).map(|n| n.to_string()).collect();
    assert_eq!(listed, expected, "every user once, nothing else");
    // The client library joins the segments and reads the names from the private data.
    let devices = client.devices().await.unwrap();
    assert_eq!(devices.len(), 300);
    let first = devices.iter().find(|d| d.id == "10001").unwrap();
    assert_eq!(first.name.as_deref(), Some("User 00001 (10001)"));

    // One device by any of its spellings, and categories.
    let one = segments(&mut client, list(Some("tel:10042"), None)).await;
    assert_eq!(one.len(), 1);
    let items = one[0].device_list.clone().unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].device_id.as_str(), "10042");
    let queues = segments(&mut client, list(None, Some(DeviceCategory::GroupAcd))).await;
    assert_eq!(queues.len(), 1, "an empty list is one last segment");
    assert!(queues[0].last_segment);
    assert!(queues[0].device_list.clone().unwrap_or_default().is_empty());
    assert_eq!(
        code(client.request(list(Some("99999"), None).into()).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID),
        "an unknown requested device is an error, not an empty list"
    );
}

#[tokio::test]
async fn the_device_list_shows_only_what_the_user_may_view() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut limited = setup.gateway.login("login", "limited", "secret").await;
    let devices = limited.devices().await.unwrap();
    let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["201", "202"]);
    assert_eq!(
        code(limited.request(list(Some("203"), None).into()).await),
        CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice)
    );
    let queues = segments(
        &mut setup.client().await,
        list(None, Some(DeviceCategory::GroupAcd)),
    )
    .await;
    let items = queues[0].device_list.clone().unwrap_or_default();
    let ids: Vec<&str> = items.iter().map(|item| item.device_id.as_str()).collect();
    assert_eq!(ids, ["250"], "the waiting queue is the one ACD group");
}

/// What the services module verifies end to end, by GetCSTAFeatures name.
const VERIFIED_SERVICES: [&str; 33] = [
    "alternateCall",
    "answerCall",
    "clearCall",
    "clearConnection",
    "conferenceCall",
    "consultationCall",
    "deflectCall",
    "directedPickupCall",
    "generateDigits",
    "getCSTAFeatures",
    "getDoNotDisturb",
    "getForwarding",
    "getLogicalDeviceInformation",
    "getPhysicalDeviceInformation",
    "getSwitchingFunctionDevices",
    "groupPickupCall",
    "holdCall",
    "makeCall",
    "monitorStart",
    "monitorStop",
    "parkCall",
    "reconnectCall",
    "requestSystemStatus",
    "retrieveCall",
    "setDoNotDisturb",
    "setForwarding",
    "singleStepTransfer",
    "snapshotCall",
    "snapshotDevice",
    "switchingFunctionDevices",
    "systemRegister",
    "systemStatus",
    "transferCall",
];

#[tokio::test]
async fn features_list_exactly_the_services_and_events_that_work() {
    let setup = SimGateway::start("").await;
    let client = setup.client().await;
    let Message::GetCstaFeaturesResponse(features) = client
        .request(GetCstaFeatures::default().into())
        .await
        .unwrap()
    else {
        panic!("no GetCSTAFeaturesResponse");
    };
    let services: BTreeSet<&str> = features
        .supported_services
        .iter()
        .flat_map(|list| list.features.iter().map(|feature| feature.name.as_str()))
        .collect();
    let expected: BTreeSet<&str> = VERIFIED_SERVICES.into_iter().collect();
    assert_eq!(services, expected);
    let group_of = |name: &str| {
        features
            .supported_services
            .iter()
            .find(|list| list.features.iter().any(|feature| feature.name == name))
            .map(|list| list.group.clone())
    };
    assert_eq!(
        group_of("generateDigits"),
        Some(FeatureGroup::CallAssociatedServList)
    );
    assert_eq!(
        group_of("makeCall"),
        Some(FeatureGroup::CallControlServList)
    );
    let events: BTreeSet<&str> = features
        .supported_events
        .iter()
        .flat_map(|list| list.features.iter().map(|feature| feature.name.as_str()))
        .collect();
    let expected_events: BTreeSet<&str> = [
        "backInService",
        "callCleared",
        "conferenced",
        "connectionCleared",
        "delivered",
        "diverted",
        "doNotDisturb",
        "established",
        "failed",
        "forwarding",
        "held",
        "networkReached",
        "originated",
        "outOfService",
        "queued",
        "retrieved",
        "serviceInitiated",
        "transferred",
    ]
    .into_iter()
    .collect();
    assert_eq!(events, expected_events);
}

#[tokio::test]
async fn device_information_of_stations_queues_and_groups() {
    let setup = SimGateway::start(&limited_user()).await;
    let client = setup.client().await;
    let physical = |id: &str| GetPhysicalDeviceInformation {
        device: device(id),
        extensions: None,
    };
    let logical = |id: &str| GetLogicalDeviceInformation {
        device: device(id),
        extensions: None,
    };
    for (id, category) in [
        ("201", DeviceCategory::Station),
        ("250", DeviceCategory::GroupAcd),
        ("260", DeviceCategory::GroupHunt),
    ] {
        let Message::GetPhysicalDeviceInformationResponse(answer) =
            client.request(physical(id).into()).await.unwrap()
        else {
            panic!("no physical information for {id}");
        };
        assert_eq!(answer.device_category, Some(category.clone()), "{id}");
        assert_eq!(answer.has_logical_element, Some(true));
        let Message::GetLogicalDeviceInformationResponse(answer) =
            client.request(logical(id).into()).await.unwrap()
        else {
            panic!("no logical information for {id}");
        };
        assert_eq!(answer.device_category, Some(category), "{id}");
        assert_eq!(
            answer.short_form_device_id.as_ref().map(|id| id.as_str()),
            Some(id)
        );
        assert_eq!(
            answer.max_devices_in_conf,
            Some(3),
            "the phones' three-party conference"
        );
    }
    // Other spellings of a device id are accepted.
    assert!(
        client
            .request(physical("tel:201").into())
            .await
            .is_ok_and(|answer| matches!(answer, Message::GetPhysicalDeviceInformationResponse(_)))
    );
    let unknown = CstaErrorCode::Operation(Op::InvalidDeviceID);
    assert_eq!(code(client.request(physical("299").into()).await), unknown);
    assert_eq!(code(client.request(logical("299").into()).await), unknown);
    let limited = setup.gateway.login("login", "limited", "secret").await;
    let denied = CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice);
    assert_eq!(code(limited.request(physical("203").into()).await), denied);
    assert_eq!(code(limited.request(logical("203").into()).await), denied);
}
