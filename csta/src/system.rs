//! System services and capability exchange (ECMA-323 clauses 5.5 and 5.6): registration for
//! system status, the switching function's device list, features and device information.

use crate::error::Error;
use crate::ids::{DeviceId, ServiceCrossRefId, SysStatRegisterId};
use crate::types::{DeviceCategory, Extensions, RequestTypes, StatusFilter, SystemStatusValue};
use crate::xml::{Body, El, Field, ListItem, Writer};

body! {
    /// `SystemRegister`: registers for system status reports.
    pub struct SystemRegister {
        /// `requestTypes`: which system services to register for.
        pub request_types: RequestTypes = "requestTypes",
        /// `requestedStatusFilter`: status values not to report.
        pub requested_status_filter: Option<StatusFilter> = "requestedStatusFilter",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SystemRegisterResponse`.
    pub struct SystemRegisterResponse {
        /// `sysStatRegisterID`.
        pub sys_stat_register_id: SysStatRegisterId = "sysStatRegisterID",
        /// `actualStatusFilter`.
        pub actual_status_filter: Option<StatusFilter> = "actualStatusFilter",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SystemStatus`: the status of the switching function (a request from the server, also
    /// used as a heartbeat; clients answer `SystemStatusResponse`).
    pub struct SystemStatus {
        /// `sysStatRegisterID`.
        pub sys_stat_register_id: Option<SysStatRegisterId> = "sysStatRegisterID",
        /// `systemStatus`.
        pub system_status: SystemStatusValue = "systemStatus",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `RequestSystemStatus`: asks for the system status (a cheap keep-alive).
    #[derive(Default)]
    pub struct RequestSystemStatus {
        /// `sysStatRegisterID`.
        pub sys_stat_register_id: Option<SysStatRegisterId> = "sysStatRegisterID",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `RequestSystemStatusResponse`.
    pub struct RequestSystemStatusResponse {
        /// `systemStatus`.
        pub system_status: SystemStatusValue = "systemStatus",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetSwitchingFunctionDevices`: asks for the list of devices; the answer carries only a
    /// cross reference, the list follows in `SwitchingFunctionDevices` messages.
    #[derive(Default)]
    pub struct GetSwitchingFunctionDevices {
        /// `requestedDeviceID`: only this device.
        pub requested_device_id: Option<DeviceId> = "requestedDeviceID",
        /// `requestedDeviceCategory`: only devices of this category.
        pub requested_device_category: Option<DeviceCategory> = "requestedDeviceCategory",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetSwitchingFunctionDevicesResponse`.
    pub struct GetSwitchingFunctionDevicesResponse {
        /// `serviceCrossRefID`: repeated in every `SwitchingFunctionDevices` segment.
        pub service_cross_ref_id: ServiceCrossRefId = "serviceCrossRefID",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

record! {
    /// One device of a `SwitchingFunctionDevices` list (`device`).
    pub struct DeviceListItem {
        /// `deviceID`.
        pub device_id: DeviceId = "deviceID",
        /// `deviceCategory`.
        pub device_category: Option<DeviceCategory> = "deviceCategory",
        /// `deviceModelName`.
        pub device_model_name: Option<String> = "deviceModelName",
    }
}

impl ListItem for DeviceListItem {
    const ITEM: &'static str = "device";
}

body! {
    /// `SwitchingFunctionDevices`: one segment of the device list (a server-initiated request
    /// with no positive answer). Segments share the cross reference; the last one says so.
    pub struct SwitchingFunctionDevices {
        /// `serviceCrossRefID` of the `GetSwitchingFunctionDevicesResponse`.
        pub service_cross_ref_id: ServiceCrossRefId = "serviceCrossRefID",
        /// `segmentID`.
        pub segment_id: Option<u32> = "segmentID",
        /// `lastSegment`.
        pub last_segment: bool = "lastSegment",
        /// `deviceList`.
        pub device_list: Option<Vec<DeviceListItem>> = "deviceList",
        /// Private data (the gateway's display names and line keys live here).
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SwFunctionDevicesChanged`: the server tells a client that its device set changed
    /// (ECMA-269 "switching function devices changed"); the client re-issues
    /// `GetSwitchingFunctionDevices`.
    #[derive(Default)]
    pub struct SwFunctionDevicesChanged {
        /// `sysStatRegisterID` of the client's `SystemRegister`, if any.
        pub sys_stat_register_id: Option<SysStatRegisterId> = "sysStatRegisterID",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

empty_body! {
    /// `SwFunctionDevicesChangedResponse`: the answer to `SwFunctionDevicesChanged`.
    SwFunctionDevicesChangedResponse;
    /// `SystemStatusResponse`: the answer to a `SystemStatus`.
    SystemStatusResponse;
    /// `GetCSTAFeatures`: asks which services and events the switching function supports.
    GetCstaFeatures;
}

open_wire_enum! {
    /// A capability list of `supportedServices` or `supportedEvents` in a
    /// `GetCSTAFeaturesResponse`.
    pub enum FeatureGroup {
        CapExchangeServList = "capExchangeServList",
        SystemStatServList = "systemStatServList",
        MonitoringServList = "monitoringServList",
        SnapshotServList = "snapshotServList",
        CallControlServList = "callControlServList",
        CallAssociatedServList = "callAssociatedServList",
        MediaServList = "mediaServList",
        RouteingServList = "routeingServList",
        PhysDevServList = "physDevServList",
        LogicalServList = "logicalServList",
        IoServicesServList = "iOServicesServList",
        DataCollectionServList = "dataCollectionServList",
        VoiceServList = "voiceServList",
        CdrServList = "cDRServList",
        VendorSpecificServList = "vendorSpecificServList",
        LocationServicesServList = "locationServicesServList",
        CallControlEvtsList = "callControlEvtsList",
        CallAssociatedEvtsList = "callAssociatedEvtsList",
        MediaEvtsList = "mediaEvtsList",
        PhysDevEvtsList = "physDevEvtsList",
        LogicalEvtsList = "logicalEvtsList",
        DeviceMaintEvtsList = "deviceMaintEvtsList",
        VoiceEvtsList = "voiceEvtsList",
        VendorSpecificEvtsList = "vendorSpecificEvtsList",
    }
}

/// One supported service or event (`<makeCall/>`, `<delivered/>`) with the optional
/// parameters it supports (its `true` children).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// The element name, e.g. `makeCall` or `delivered`.
    pub name: String,
    /// The supported optional parameters, e.g. `correlatorData`.
    pub parameters: Vec<String>,
}

/// One capability list with its features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureList {
    /// Which list.
    pub group: FeatureGroup,
    /// The features it names.
    pub features: Vec<Feature>,
}

fn read_feature_lists(element: El<'_, '_>) -> Vec<FeatureList> {
    element
        .children()
        .map(|list| FeatureList {
            group: FeatureGroup::parse(list.name()),
            features: list
                .children()
                .map(|feature| Feature {
                    name: feature.name().to_owned(),
                    parameters: feature
                        .children()
                        .filter(|parameter| matches!(parameter.text(), "true" | "1" | ""))
                        .map(|parameter| parameter.name().to_owned())
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .map_or(false, |c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn write_feature_lists(writer: &mut Writer<'_>, name: &str, lists: &[FeatureList]) {
    writer.open(name);
    for list in lists {
        let group = list.group.as_str();
        if !is_xml_name(group) {
            continue;
        }
        writer.open(group);
        for feature in list.features.iter().filter(|f| is_xml_name(&f.name)) {
            let parameters: Vec<&String> = feature
                .parameters
                .iter()
                .filter(|p| is_xml_name(p))
                .collect();
            if parameters.is_empty() {
                writer.empty(&feature.name);
                continue;
            }
            writer.open(&feature.name);
            for parameter in parameters {
                writer.boolean(parameter, true);
            }
            writer.close(&feature.name);
        }
        writer.close(group);
    }
    writer.close(name);
}

/// `GetCSTAFeaturesResponse`: the supported services and events. Lists and features are
/// kept by name, so lists this crate does not know survive decoding; names that are not XML
/// names are skipped when writing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetCstaFeaturesResponse {
    /// `supportedServices`.
    pub supported_services: Vec<FeatureList>,
    /// `supportedEvents`.
    pub supported_events: Vec<FeatureList>,
    /// Private data.
    pub extensions: Option<Extensions>,
}

impl Body for GetCstaFeaturesResponse {
    fn read(root: El<'_, '_>) -> Result<Self, Error> {
        Ok(Self {
            supported_services: root
                .child(&["supportedServices"])
                .map(read_feature_lists)
                .unwrap_or_default(),
            supported_events: root
                .child(&["supportedEvents"])
                .map(read_feature_lists)
                .unwrap_or_default(),
            extensions: crate::xml::Slot::take(root, &["extensions"])?,
        })
    }

    fn write(&self, writer: &mut Writer<'_>) {
        write_feature_lists(writer, "supportedServices", &self.supported_services);
        if !self.supported_events.is_empty() {
            write_feature_lists(writer, "supportedEvents", &self.supported_events);
        }
        if let Some(extensions) = &self.extensions {
            Field::write(extensions, writer, "extensions");
        }
    }
}

body! {
    /// `GetPhysicalDeviceInformation`.
    pub struct GetPhysicalDeviceInformation {
        /// `device`.
        pub device: DeviceId = "device",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetPhysicalDeviceInformationResponse`. Only the commonly used fields are modelled;
    /// the others are ignored on input.
    pub struct GetPhysicalDeviceInformationResponse {
        /// `deviceCategory`.
        pub device_category: Option<DeviceCategory> = "deviceCategory",
        /// `hasLogicalElement`.
        pub has_logical_element: Option<bool> = "hasLogicalElement",
        /// `deviceModelName`.
        pub device_model_name: Option<String> = "deviceModelName",
        /// `maxDisplays`.
        pub max_displays: Option<u32> = "maxDisplays",
        /// `maxButtons`.
        pub max_buttons: Option<u32> = "maxButtons",
        /// `maxLamps`.
        pub max_lamps: Option<u32> = "maxLamps",
        /// `maxRingPatterns`.
        pub max_ring_patterns: Option<u32> = "maxRingPatterns",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetLogicalDeviceInformation`.
    pub struct GetLogicalDeviceInformation {
        /// `device`.
        pub device: DeviceId = "device",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetLogicalDeviceInformationResponse`. Only the commonly used fields are modelled; the
    /// others are ignored on input.
    pub struct GetLogicalDeviceInformationResponse {
        /// `deviceCategory`.
        pub device_category: Option<DeviceCategory> = "deviceCategory",
        /// `shortFormDeviceID`.
        pub short_form_device_id: Option<DeviceId> = "shortFormDeviceID",
        /// `hasPhysicalElement`.
        pub has_physical_element: Option<bool> = "hasPhysicalElement",
        /// `maxActiveCalls`.
        pub max_active_calls: Option<u32> = "maxActiveCalls",
        /// `maxHeldCalls`.
        pub max_held_calls: Option<u32> = "maxHeldCalls",
        /// `maxDevicesInConf`.
        pub max_devices_in_conf: Option<u32> = "maxDevicesInConf",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}
