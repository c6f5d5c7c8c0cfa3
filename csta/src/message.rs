//! [`Message`]: one variant per root element, with the lenient decoder and the exact encoder.

use crate::call_control::*;
use crate::edition::{ECMA_354_NAMESPACE, Edition};
use crate::error::Error;
use crate::error_code::CstaErrorCode;
use crate::escape::{Escape, EscapeResponse};
use crate::events::{CstaEvent, encode_event};
use crate::logical::*;
use crate::monitoring::*;
use crate::session::*;
use crate::snapshot::*;
use crate::system::*;
use crate::xml::{Body, Doc, Writer};

/// A decoded message and the CSTA edition its root element declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The message.
    pub message: Message,
    /// The CSTA namespace on the root element, if it declared one this crate recognises
    /// (ECMA-354 messages and undeclared namespaces give `None`).
    pub edition: Option<Edition>,
}

macro_rules! messages {
    (
        session { $($s_variant:ident = $s_root:literal;)+ }
        csta { $($c_variant:ident($c_ty:ident) = $c_root:literal;)+ }
    ) => {
        /// Every message this crate reads and writes, by root element.
        ///
        /// Requests, positive responses, server-initiated requests (`SystemStatus`,
        /// `SwitchingFunctionDevices`), events and `CSTAErrorCode` alike: the direction is the
        /// application's business.
        // Events are the largest variants. Boxing them would cost an allocation per decoded
        // event for no gain: a message is decoded once and then borrowed.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Message {
            $(#[doc = concat!("`", $s_root, "` (ECMA-354)")] $s_variant($s_variant),)+
            $(#[doc = concat!("`", $c_root, "`")] $c_variant($c_ty),)+
            /// An event report (any `...Event` root).
            Event(CstaEvent),
            /// `CSTAErrorCode`: the negative answer to any CSTA request.
            CstaErrorCode(CstaErrorCode),
            /// `<keepalive/>` (Zultys-style link check, usually with invoke id 0000).
            Keepalive,
        }

        impl Message {
            /// The root element name written on the wire.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$s_variant(_) => $s_root,)+
                    $(Self::$c_variant(_) => $c_root,)+
                    Self::Event(event) => event.event.name(),
                    Self::CstaErrorCode(_) => "CSTAErrorCode",
                    Self::Keepalive => "keepalive",
                }
            }

            fn read(root: crate::xml::El<'_, '_>) -> Result<Self, Error> {
                Ok(match root.name() {
                    $($s_root => Self::$s_variant($s_variant::read(root)?),)+
                    $($c_root => Self::$c_variant($c_ty::read(root)?),)+
                    "CSTAErrorCode" => Self::CstaErrorCode(CstaErrorCode::read(root)?),
                    "keepalive" => Self::Keepalive,
                    name => match CstaEvent::read(root) {
                        Some(event) => Self::Event(event?),
                        None => {
                            return Err(Error::UnknownMessage {
                                name: crate::xml::truncate(name),
                            })
                        }
                    },
                })
            }

            /// Appends this message as one XML document: the declaration, then the root element
            /// in the namespace of `edition` (ECMA-354 messages always in
            /// [`ECMA_354_NAMESPACE`]). Every byte written is ASCII.
            pub fn encode(&self, edition: &Edition, out: &mut Vec<u8>) {
                let namespace = match self {
                    $(Self::$s_variant(_) => ECMA_354_NAMESPACE,)+
                    Self::Event(event) => {
                        encode_event(&event.monitor_cross_ref_id, &event.event, edition, out);
                        return;
                    }
                    Self::Keepalive => {
                        let mut writer = Writer::new(out, false);
                        writer.declaration();
                        writer.empty("keepalive");
                        return;
                    }
                    _ => edition.namespace(),
                };
                let name = self.name();
                let mut writer = Writer::new(out, edition.is_ed6());
                writer.declaration();
                writer.open_start(name);
                writer.attribute("xmlns", namespace);
                writer.open_end();
                match self {
                    $(Self::$s_variant(body) => body.write(&mut writer),)+
                    $(Self::$c_variant(body) => body.write(&mut writer),)+
                    Self::CstaErrorCode(code) => code.write(&mut writer),
                    Self::Event(_) | Self::Keepalive => {}
                }
                writer.close(name);
            }
        }

        $(
            impl From<$s_variant> for Message {
                fn from(body: $s_variant) -> Self {
                    Self::$s_variant(body)
                }
            }
        )+
        $(
            impl From<$c_ty> for Message {
                fn from(body: $c_ty) -> Self {
                    Self::$c_variant(body)
                }
            }
        )+
    };
}

messages! {
    session {
        StartApplicationSession = "StartApplicationSession";
        StartApplicationSessionPosResponse = "StartApplicationSessionPosResponse";
        StartApplicationSessionNegResponse = "StartApplicationSessionNegResponse";
        StopApplicationSession = "StopApplicationSession";
        StopApplicationSessionPosResponse = "StopApplicationSessionPosResponse";
        StopApplicationSessionNegResponse = "StopApplicationSessionNegResponse";
        ResetApplicationSessionTimer = "ResetApplicationSessionTimer";
        ResetApplicationSessionTimerPosResponse = "ResetApplicationSessionTimerPosResponse";
        ResetApplicationSessionTimerNegResponse = "ResetApplicationSessionTimerNegResponse";
        ApplicationSessionTerminated = "ApplicationSessionTerminated";
    }
    csta {
        SystemRegister(SystemRegister) = "SystemRegister";
        SystemRegisterResponse(SystemRegisterResponse) = "SystemRegisterResponse";
        SystemStatus(SystemStatus) = "SystemStatus";
        SystemStatusResponse(SystemStatusResponse) = "SystemStatusResponse";
        RequestSystemStatus(RequestSystemStatus) = "RequestSystemStatus";
        RequestSystemStatusResponse(RequestSystemStatusResponse) = "RequestSystemStatusResponse";
        GetSwitchingFunctionDevices(GetSwitchingFunctionDevices) = "GetSwitchingFunctionDevices";
        GetSwitchingFunctionDevicesResponse(GetSwitchingFunctionDevicesResponse) =
            "GetSwitchingFunctionDevicesResponse";
        SwitchingFunctionDevices(SwitchingFunctionDevices) = "SwitchingFunctionDevices";
        SwFunctionDevicesChanged(SwFunctionDevicesChanged) = "SwFunctionDevicesChanged";
        SwFunctionDevicesChangedResponse(SwFunctionDevicesChangedResponse) =
            "SwFunctionDevicesChangedResponse";
        GetCstaFeatures(GetCstaFeatures) = "GetCSTAFeatures";
        GetCstaFeaturesResponse(GetCstaFeaturesResponse) = "GetCSTAFeaturesResponse";
        GetPhysicalDeviceInformation(GetPhysicalDeviceInformation) = "GetPhysicalDeviceInformation";
        GetPhysicalDeviceInformationResponse(GetPhysicalDeviceInformationResponse) =
            "GetPhysicalDeviceInformationResponse";
        GetLogicalDeviceInformation(GetLogicalDeviceInformation) = "GetLogicalDeviceInformation";
        GetLogicalDeviceInformationResponse(GetLogicalDeviceInformationResponse) =
            "GetLogicalDeviceInformationResponse";
        Escape(Escape) = "Escape";
        EscapeResponse(EscapeResponse) = "EscapeResponse";
        MonitorStart(MonitorStart) = "MonitorStart";
        MonitorStartResponse(MonitorStartResponse) = "MonitorStartResponse";
        MonitorStop(MonitorStop) = "MonitorStop";
        MonitorStopResponse(MonitorStopResponse) = "MonitorStopResponse";
        SnapshotDevice(SnapshotDevice) = "SnapshotDevice";
        SnapshotDeviceResponse(SnapshotDeviceResponse) = "SnapshotDeviceResponse";
        SnapshotCall(SnapshotCall) = "SnapshotCall";
        SnapshotCallResponse(SnapshotCallResponse) = "SnapshotCallResponse";
        MakeCall(MakeCall) = "MakeCall";
        MakeCallResponse(MakeCallResponse) = "MakeCallResponse";
        AnswerCall(AnswerCall) = "AnswerCall";
        AnswerCallResponse(AnswerCallResponse) = "AnswerCallResponse";
        ClearConnection(ClearConnection) = "ClearConnection";
        ClearConnectionResponse(ClearConnectionResponse) = "ClearConnectionResponse";
        ClearCall(ClearCall) = "ClearCall";
        ClearCallResponse(ClearCallResponse) = "ClearCallResponse";
        HoldCall(HoldCall) = "HoldCall";
        HoldCallResponse(HoldCallResponse) = "HoldCallResponse";
        RetrieveCall(RetrieveCall) = "RetrieveCall";
        RetrieveCallResponse(RetrieveCallResponse) = "RetrieveCallResponse";
        AlternateCall(AlternateCall) = "AlternateCall";
        AlternateCallResponse(AlternateCallResponse) = "AlternateCallResponse";
        ReconnectCall(ReconnectCall) = "ReconnectCall";
        ReconnectCallResponse(ReconnectCallResponse) = "ReconnectCallResponse";
        ConsultationCall(ConsultationCall) = "ConsultationCall";
        ConsultationCallResponse(ConsultationCallResponse) = "ConsultationCallResponse";
        TransferCall(TransferCall) = "TransferCall";
        TransferCallResponse(TransferCallResponse) = "TransferCallResponse";
        SingleStepTransferCall(SingleStepTransferCall) = "SingleStepTransferCall";
        SingleStepTransferCallResponse(SingleStepTransferCallResponse) =
            "SingleStepTransferCallResponse";
        ConferenceCall(ConferenceCall) = "ConferenceCall";
        ConferenceCallResponse(ConferenceCallResponse) = "ConferenceCallResponse";
        DeflectCall(DeflectCall) = "DeflectCall";
        DeflectCallResponse(DeflectCallResponse) = "DeflectCallResponse";
        GenerateDigits(GenerateDigits) = "GenerateDigits";
        GenerateDigitsResponse(GenerateDigitsResponse) = "GenerateDigitsResponse";
        GroupPickupCall(GroupPickupCall) = "GroupPickupCall";
        GroupPickupCallResponse(GroupPickupCallResponse) = "GroupPickupCallResponse";
        DirectedPickupCall(DirectedPickupCall) = "DirectedPickupCall";
        DirectedPickupCallResponse(DirectedPickupCallResponse) = "DirectedPickupCallResponse";
        ParkCall(ParkCall) = "ParkCall";
        ParkCallResponse(ParkCallResponse) = "ParkCallResponse";
        SetForwarding(SetForwarding) = "SetForwarding";
        SetForwardingResponse(SetForwardingResponse) = "SetForwardingResponse";
        GetForwarding(GetForwarding) = "GetForwarding";
        GetForwardingResponse(GetForwardingResponse) = "GetForwardingResponse";
        SetDoNotDisturb(SetDoNotDisturb) = "SetDoNotDisturb";
        SetDoNotDisturbResponse(SetDoNotDisturbResponse) = "SetDoNotDisturbResponse";
        GetDoNotDisturb(GetDoNotDisturb) = "GetDoNotDisturb";
        GetDoNotDisturbResponse(GetDoNotDisturbResponse) = "GetDoNotDisturbResponse";
    }
}

impl Message {
    /// Decodes one XML document leniently (local names, any namespace or prefix, children
    /// in any order, unknown elements ignored).
    pub fn decode(body: &[u8]) -> Result<Decoded, Error> {
        let text = std::str::from_utf8(body).map_err(|error| Error::NotUtf8 {
            offset: error.valid_up_to(),
        })?;
        let doc = Doc::parse(text)?;
        let root = doc.root();
        let edition = root
            .declared_namespace()
            .and_then(|namespace| Edition::from_namespace(&namespace));
        let message = Self::read(root)?;
        Ok(Decoded { message, edition })
    }

    /// The encoded document as a new vector (see [`Message::encode`]).
    pub fn to_bytes(&self, edition: &Edition) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.encode(edition, &mut out);
        out
    }
}

impl From<CstaEvent> for Message {
    fn from(event: CstaEvent) -> Self {
        Self::Event(event)
    }
}

impl From<CstaErrorCode> for Message {
    fn from(code: CstaErrorCode) -> Self {
        Self::CstaErrorCode(code)
    }
}
