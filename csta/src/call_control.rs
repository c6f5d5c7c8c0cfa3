//! Call control services (ECMA-323 clause 5.3) and their positive responses.
//!
//! Responses are sent when the switching function accepted the request; what then happens to
//! the call is reported by events.

use crate::error::Error;
use crate::ids::{ConnectionId, DeviceId};
use crate::types::{
    AutoOriginate, CallLinkageData, CallLinkageDataList, ConnectionListItem, ConsultOptions,
    DigitMode, Extensions, UserData,
};
use crate::xml::{Body, El, Field, Slot, Writer};

body! {
    /// `MakeCall`: call `called_directory_number` from `calling_device`.
    pub struct MakeCall {
        /// `callingDevice`.
        pub calling_device: DeviceId = "callingDevice",
        /// `calledDirectoryNumber`.
        pub called_directory_number: DeviceId = "calledDirectoryNumber",
        /// `accountCode` (hexBinary).
        pub account_code: Option<String> = "accountCode",
        /// `authCode` (hexBinary).
        pub auth_code: Option<String> = "authCode",
        /// `autoOriginate`: ring the caller first (`prompt`) or go off-hook at once.
        pub auto_originate: Option<AutoOriginate> = "autoOriginate",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

impl MakeCall {
    /// A call from `calling_device` to `called_directory_number` with no options.
    pub fn new(calling_device: DeviceId, called_directory_number: DeviceId) -> Self {
        Self {
            calling_device,
            called_directory_number,
            account_code: None,
            auth_code: None,
            auto_originate: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
    }
}

body! {
    /// `MakeCallResponse`.
    pub struct MakeCallResponse {
        /// `callingDevice`: the new call's connection at the calling device.
        pub calling_device: ConnectionId = "callingDevice",
        /// `callLinkageData` (edition 6 only).
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `AnswerCall`: answer an alerting call.
    pub struct AnswerCall {
        /// `callToBeAnswered`.
        pub call_to_be_answered: ConnectionId = "callToBeAnswered",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ClearConnection`: release one device from a call.
    pub struct ClearConnection {
        /// `connectionToBeCleared`.
        pub connection_to_be_cleared: ConnectionId = "connectionToBeCleared",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ClearCall`: release every device of a call.
    pub struct ClearCall {
        /// `callToBeCleared`.
        pub call_to_be_cleared: ConnectionId = "callToBeCleared",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `HoldCall`: put a connection on hold.
    pub struct HoldCall {
        /// `callToBeHeld`.
        pub call_to_be_held: ConnectionId = "callToBeHeld",
        /// `connectionReservation`.
        pub connection_reservation: Option<bool> = "connectionReservation",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `RetrieveCall`: take a held connection back.
    pub struct RetrieveCall {
        /// `callToBeRetrieved`.
        pub call_to_be_retrieved: ConnectionId = "callToBeRetrieved",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `AlternateCall`: hold the active call and retrieve the held one in one step.
    pub struct AlternateCall {
        /// `heldCall`.
        pub held_call: ConnectionId = "heldCall",
        /// `activeCall`.
        pub active_call: ConnectionId = "activeCall",
        /// `connectionReservation`.
        pub connection_reservation: Option<bool> = "connectionReservation",
        /// `consultOptions`.
        pub consult_options: Option<ConsultOptions> = "consultOptions",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ReconnectCall`: clear the active call and retrieve the held one.
    pub struct ReconnectCall {
        /// `activeCall`: the connection to clear.
        pub active_call: ConnectionId = "activeCall",
        /// `heldCall`: the connection to retrieve.
        pub held_call: ConnectionId = "heldCall",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConsultationCall`: hold a call and call another device.
    pub struct ConsultationCall {
        /// `existingCall`.
        pub existing_call: ConnectionId = "existingCall",
        /// `consultedDevice`.
        pub consulted_device: DeviceId = "consultedDevice",
        /// `connectionReservation`.
        pub connection_reservation: Option<bool> = "connectionReservation",
        /// `accountCode` (hexBinary).
        pub account_code: Option<String> = "accountCode",
        /// `authCode` (hexBinary).
        pub auth_code: Option<String> = "authCode",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `consultOptions`.
        pub consult_options: Option<ConsultOptions> = "consultOptions",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConsultationCallResponse`.
    pub struct ConsultationCallResponse {
        /// `initiatedCall`: the consultation call's connection.
        pub initiated_call: ConnectionId = "initiatedCall",
        /// `callLinkageData` (edition 6 only).
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `TransferCall`: join the held and the active call and leave.
    pub struct TransferCall {
        /// `heldCall`.
        pub held_call: ConnectionId = "heldCall",
        /// `activeCall`.
        pub active_call: ConnectionId = "activeCall",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `TransferCallResponse`.
    pub struct TransferCallResponse {
        /// `transferredCall`: the call that survives.
        pub transferred_call: ConnectionId = "transferredCall",
        /// `connections`: how the old connections map to it.
        pub connections: Option<Vec<ConnectionListItem>> = "connections",
        /// `callLinkageDataList` (edition 6 only).
        pub call_linkage_data_list: Option<CallLinkageDataList> = "callLinkageDataList", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SingleStepTransferCall`: transfer the active call to another device without
    /// consultation.
    pub struct SingleStepTransferCall {
        /// `activeCall`.
        pub active_call: ConnectionId = "activeCall",
        /// `transferredTo`.
        pub transferred_to: DeviceId = "transferredTo",
        /// `accountCode` (hexBinary).
        pub account_code: Option<String> = "accountCode",
        /// `authCode` (hexBinary).
        pub auth_code: Option<String> = "authCode",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SingleStepTransferCallResponse`.
    pub struct SingleStepTransferCallResponse {
        /// `transferredCall`.
        pub transferred_call: ConnectionId = "transferredCall",
        /// `connections`.
        pub connections: Option<Vec<ConnectionListItem>> = "connections",
        /// `callLinkageDataList` (edition 6 only).
        pub call_linkage_data_list: Option<CallLinkageDataList> = "callLinkageDataList", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConferenceCall`: join the held and the active call into a conference.
    pub struct ConferenceCall {
        /// `heldCall`.
        pub held_call: ConnectionId = "heldCall",
        /// `activeCall`.
        pub active_call: ConnectionId = "activeCall",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConferenceCallResponse`.
    pub struct ConferenceCallResponse {
        /// `conferenceCall`.
        pub conference_call: ConnectionId = "conferenceCall",
        /// `connections`.
        pub connections: Option<Vec<ConnectionListItem>> = "connections",
        /// `callLinkageDataList` (edition 6 only).
        pub call_linkage_data_list: Option<CallLinkageDataList> = "callLinkageDataList", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

/// `DeflectCall`: send an alerting call elsewhere.
///
/// `newDestination` is a device identifier text up to edition 5 and a list of `<device>`
/// elements in edition 6; both are read, the edition decides what is written. Only the first
/// device of an edition 6 list is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflectCall {
    /// `callToBeDiverted`.
    pub call_to_be_diverted: ConnectionId,
    /// `newDestination`.
    pub new_destination: DeviceId,
    /// `correlatorData`.
    pub correlator_data: Option<UserData>,
    /// `userData`.
    pub user_data: Option<UserData>,
    /// Private data.
    pub extensions: Option<Extensions>,
}

impl Body for DeflectCall {
    fn read(root: El<'_, '_>) -> Result<Self, Error> {
        let destination = root.required(&["newDestination"])?;
        let new_destination = match destination.child(&["device", "deviceID"]) {
            Some(device) => DeviceId::read(device, "device")?,
            None => DeviceId::read(destination, "newDestination")?,
        };
        Ok(Self {
            call_to_be_diverted: Slot::take(root, &["callToBeDiverted"])?,
            new_destination,
            correlator_data: Slot::take(root, &["correlatorData"])?,
            user_data: Slot::take(root, &["userData"])?,
            extensions: Slot::take(root, &["extensions"])?,
        })
    }

    fn write(&self, writer: &mut Writer<'_>) {
        self.call_to_be_diverted.write(writer, "callToBeDiverted");
        if writer.ed6() {
            writer.open("newDestination");
            self.new_destination.write(writer, "device");
            writer.close("newDestination");
        } else {
            self.new_destination.write(writer, "newDestination");
        }
        self.correlator_data.put(writer, "correlatorData");
        self.user_data.put(writer, "userData");
        self.extensions.put(writer, "extensions");
    }
}

body! {
    /// `GenerateDigits`: send DTMF (or pulse) digits on a connection.
    pub struct GenerateDigits {
        /// `connectionToSendDigits`.
        pub connection_to_send_digits: ConnectionId = "connectionToSendDigits",
        /// `digitMode`.
        pub digit_mode: Option<DigitMode> = "digitMode",
        /// `charactersToSend`.
        pub characters_to_send: String = "charactersToSend",
        /// `toneDuration` in milliseconds.
        pub tone_duration: Option<u32> = "toneDuration",
        /// `pulseRate`.
        pub pulse_rate: Option<u32> = "pulseRate",
        /// `pauseDuration` in milliseconds.
        pub pause_duration: Option<u32> = "pauseDuration",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GroupPickupCall`: take a call alerting in a pickup group to `new_destination`.
    pub struct GroupPickupCall {
        /// `newDestination`: the device that picks up.
        pub new_destination: DeviceId = "newDestination",
        /// `pickGroup`.
        pub pick_group: Option<DeviceId> = "pickGroup",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GroupPickupCallResponse`.
    #[derive(Default)]
    pub struct GroupPickupCallResponse {
        /// `pickedCall`: the picked call's connection at the requesting device.
        pub picked_call: Option<ConnectionId> = "pickedCall",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DirectedPickupCall`: take a specific alerting call to `requesting_device`.
    pub struct DirectedPickupCall {
        /// `callToBePickedUp`.
        pub call_to_be_picked_up: ConnectionId = "callToBePickedUp",
        /// `requestingDevice`.
        pub requesting_device: DeviceId = "requestingDevice",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DirectedPickupCallResponse`.
    #[derive(Default)]
    pub struct DirectedPickupCallResponse {
        /// `pickedCall`.
        pub picked_call: Option<ConnectionId> = "pickedCall",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ParkCall`: park a call at `park_to`.
    pub struct ParkCall {
        /// `parking`: the connection to park.
        pub parking: ConnectionId = "parking",
        /// `parkTo`.
        pub park_to: DeviceId = "parkTo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ParkCallResponse`.
    #[derive(Default)]
    pub struct ParkCallResponse {
        /// `parkedTo`: the parked call's connection at the park device.
        pub parked_to: Option<ConnectionId> = "parkedTo",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

empty_body! {
    /// `AnswerCallResponse`.
    AnswerCallResponse;
    /// `ClearConnectionResponse`.
    ClearConnectionResponse;
    /// `ClearCallResponse`.
    ClearCallResponse;
    /// `HoldCallResponse`.
    HoldCallResponse;
    /// `RetrieveCallResponse`.
    RetrieveCallResponse;
    /// `AlternateCallResponse`.
    AlternateCallResponse;
    /// `ReconnectCallResponse`.
    ReconnectCallResponse;
    /// `DeflectCallResponse`.
    DeflectCallResponse;
    /// `GenerateDigitsResponse`.
    GenerateDigitsResponse;
}
