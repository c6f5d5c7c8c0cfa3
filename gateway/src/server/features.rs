//! The supported set published by GetCSTAFeatures: exactly the services the server answers and
//! the events it sends.

use csta::system::{Feature, FeatureGroup, FeatureList, GetCstaFeaturesResponse};

fn list(group: FeatureGroup, names: &[&str]) -> FeatureList {
    FeatureList {
        group,
        features: names
            .iter()
            .map(|name| Feature {
                name: (*name).to_owned(),
                parameters: Vec::new(),
            })
            .collect(),
    }
}

/// The answer to GetCSTAFeatures; `conference` says whether ConferenceCall is offered.
pub(super) fn supported(conference: bool) -> GetCstaFeaturesResponse {
    let mut call_control = vec![
        "alternateCall",
        "answerCall",
        "clearCall",
        "clearConnection",
        "consultationCall",
        "deflectCall",
        "directedPickupCall",
        "groupPickupCall",
        "holdCall",
        "makeCall",
        "parkCall",
        "reconnectCall",
        "retrieveCall",
        "singleStepTransfer",
        "transferCall",
    ];
    if conference {
        call_control.push("conferenceCall");
    }
    call_control.sort_unstable();
    GetCstaFeaturesResponse {
        supported_services: vec![
            list(
                FeatureGroup::CapExchangeServList,
                &[
                    "getCSTAFeatures",
                    "getLogicalDeviceInformation",
                    "getPhysicalDeviceInformation",
                    "getSwitchingFunctionDevices",
                    "switchingFunctionDevices",
                ],
            ),
            list(
                FeatureGroup::SystemStatServList,
                &["requestSystemStatus", "systemStatus", "systemRegister"],
            ),
            list(
                FeatureGroup::MonitoringServList,
                &["monitorStart", "monitorStop"],
            ),
            list(
                FeatureGroup::SnapshotServList,
                &["snapshotCall", "snapshotDevice"],
            ),
            list(FeatureGroup::CallControlServList, &call_control),
            list(FeatureGroup::CallAssociatedServList, &["generateDigits"]),
            list(
                FeatureGroup::LogicalServList,
                &[
                    "getDoNotDisturb",
                    "getForwarding",
                    "setDoNotDisturb",
                    "setForwarding",
                ],
            ),
        ],
        supported_events: vec![
            list(
                FeatureGroup::CallControlEvtsList,
                &[
                    "callCleared",
                    "conferenced",
                    "connectionCleared",
                    "delivered",
                    "diverted",
                    "established",
                    "failed",
                    "held",
                    "networkReached",
                    "originated",
                    "queued",
                    "retrieved",
                    "serviceInitiated",
                    "transferred",
                ],
            ),
            list(
                FeatureGroup::LogicalEvtsList,
                &["doNotDisturb", "forwarding"],
            ),
            list(
                FeatureGroup::DeviceMaintEvtsList,
                &["backInService", "outOfService"],
            ),
        ],
        extensions: None,
    }
}
