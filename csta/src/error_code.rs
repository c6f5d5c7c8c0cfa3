//! `CSTAErrorCode` (ECMA-323 clause 7): the negative answer to any CSTA service request.
//!
//! Each category lists every value of the edition 6 schema in schema order, with the schema's
//! own spellings (`invalidNumberOFChannels`, `ringVolumnOutOfRange`, ...). Values the schema
//! does not list (vendors invent some) are kept as `Other(String)` on decode.

use std::fmt;

use crate::error::{Error, ValueError, ValueKind};
use crate::xml::{Body, El, Writer};

/// The negative result of a CSTA service: exactly one category with its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CstaErrorCode {
    /// `operation`: the request itself is wrong.
    Operation(OperationError),
    /// `security`: a security check failed.
    Security(SecurityError),
    /// `stateIncompatibility`: the request does not fit the current state.
    StateIncompatibility(StateIncompatibilityError),
    /// `systemResourceAvailibility` (schema spelling): the switch lacks a resource.
    SystemResourceAvailability(SystemResourceAvailabilityError),
    /// `subscribedResourceAvailability`: a subscribed limit was reached.
    SubscribedResourceAvailability(SubscribedResourceAvailabilityError),
    /// `performanceManagement`: a performance limit was reached.
    PerformanceManagement(PerformanceManagementError),
    /// `privateData`: private data could not be handled.
    PrivateData(PrivateDataError),
    /// `privateErrorCode`: a vendor-specific error text.
    PrivateErrorCode(String),
    /// `unspecified`: no reason given.
    Unspecified,
}

impl CstaErrorCode {
    /// The category element name as written on the wire.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Operation(_) => "operation",
            Self::Security(_) => "security",
            Self::StateIncompatibility(_) => "stateIncompatibility",
            Self::SystemResourceAvailability(_) => "systemResourceAvailibility",
            Self::SubscribedResourceAvailability(_) => "subscribedResourceAvailability",
            Self::PerformanceManagement(_) => "performanceManagement",
            Self::PrivateData(_) => "privateData",
            Self::PrivateErrorCode(_) => "privateErrorCode",
            Self::Unspecified => "unspecified",
        }
    }

    /// The value text ("" for `unspecified`).
    pub fn value(&self) -> &str {
        match self {
            Self::Operation(value) => value.as_str(),
            Self::Security(value) => value.as_str(),
            Self::StateIncompatibility(value) => value.as_str(),
            Self::SystemResourceAvailability(value) => value.as_str(),
            Self::SubscribedResourceAvailability(value) => value.as_str(),
            Self::PerformanceManagement(value) => value.as_str(),
            Self::PrivateData(value) => value.as_str(),
            Self::PrivateErrorCode(text) => text,
            Self::Unspecified => "",
        }
    }
}

impl fmt::Display for CstaErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unspecified => f.write_str("unspecified"),
            _ => write!(f, "{}/{}", self.category(), self.value()),
        }
    }
}

impl Body for CstaErrorCode {
    fn read(root: El<'_, '_>) -> Result<Self, Error> {
        let category = root
            .children()
            .next()
            .ok_or_else(|| Error::MissingElement {
                parent: "CSTAErrorCode".to_owned(),
                element: "operation",
            })?;
        let value = category.text();
        Ok(match category.name() {
            "operation" => Self::Operation(OperationError::parse(value)),
            "security" => Self::Security(SecurityError::parse(value)),
            "stateIncompatibility" => {
                Self::StateIncompatibility(StateIncompatibilityError::parse(value))
            }
            "systemResourceAvailibility" | "systemResourceAvailability" => {
                Self::SystemResourceAvailability(SystemResourceAvailabilityError::parse(value))
            }
            "subscribedResourceAvailability" => Self::SubscribedResourceAvailability(
                SubscribedResourceAvailabilityError::parse(value),
            ),
            "performanceManagement" => {
                Self::PerformanceManagement(PerformanceManagementError::parse(value))
            }
            "privateData" => Self::PrivateData(PrivateDataError::parse(value)),
            "privateErrorCode" => Self::PrivateErrorCode(category.raw_text().to_owned()),
            "unspecified" => Self::Unspecified,
            other => {
                return Err(crate::xml::invalid(
                    "CSTAErrorCode",
                    other,
                    ValueKind::Other,
                    ValueError::UnknownValue,
                ));
            }
        })
    }

    fn write(&self, writer: &mut Writer<'_>) {
        match self {
            Self::Unspecified => writer.empty("unspecified"),
            _ => writer.leaf(self.category(), self.value()),
        }
    }
}

open_wire_enum! {
    /// Values of the `operation` category.
    pub enum OperationError {
        Generic = "generic",
        AtLeastOneConditionalParameterNotProvided = "atLeastOneConditionalParameterNotProvided",
        FeatureAlreadySet = "featureAlreadySet",
        InvalidMsgID = "invalidMsgID",
        InvalidParameterValue = "invalidParameterValue",
        InvalidAccountCode = "invalidAccountCode",
        InvalidAgentGroup = "invalidAgentGroup",
        InvalidAgentIdentifier = "invalidAgentIdentifier",
        InvalidAgentPassword = "invalidAgentPassword",
        InvalidAgentState = "invalidAgentState",
        InvalidAlertTime = "invalidAlertTime",
        InvalidAllocationState = "invalidAllocationState",
        InvalidAuthCode = "invalidAuthCode",
        InvalidAutoAnswer = "invalidAutoAnswer",
        InvalidBitRate = "invalidBitRate",
        InvalidButtonIdentifier = "invalidButtonIdentifier",
        InvalidCallType = "invalidCallType",
        InvalidConnectionRate = "invalidConnectionRate",
        InvalidConsultPurpose = "invalidConsultPurpose",
        InvalidCorrelatorData = "invalidCorrelatorData",
        InvalidCrossRefID = "invalidCrossRefID",
        InvalidDelayTolerance = "invalidDelayTolerance",
        InvalidDestination = "invalidDestination",
        InvalidDestinationDetect = "invalidDestinationDetect",
        InvalidDoNotDisturb = "invalidDoNotDisturb",
        InvalidEscapeCrossRefID = "invalidEscapeCrossRefID",
        InvalidFeature = "invalidFeature",
        InvalidFile = "invalidFile",
        InvalidFlowDirection = "invalidFlowDirection",
        InvalidForwardingDestination = "invalidForwardingDestination",
        InvalidForwardingFlag = "invalidForwardingFlag",
        InvalidForwardingType = "invalidForwardingType",
        InvalidHookswitchType = "invalidHookswitchType",
        InvalidHookswitchComponent = "invalidHookswitchComponent",
        InvalidLampMode = "invalidLampMode",
        InvalidLampID = "invalidLampID",
        InvalidMessageWaitingSetting = "invalidMessageWaitingSetting",
        InvalidMicrophoneGain = "invalidMicrophoneGain",
        InvalidMicrophoneMute = "invalidMicrophoneMute",
        InvalidMonitorCrossRefID = "invalidMonitorCrossRefID",
        InvalidMonitorFilter = "invalidMonitorFilter",
        InvalidMonitorObject = "invalidMonitorObject",
        InvalidMonitorType = "invalidMonitorType",
        InvalidNumberOFChannels = "invalidNumberOFChannels",
        InvalidParticipationType = "invalidParticipationType",
        InvalidRemainRetry = "invalidRemainRetry",
        InvalidRingCount = "invalidRingCount",
        InvalidRingPattern = "invalidRingPattern",
        InvalidRingVolume = "invalidRingVolume",
        InvalidRouteingAlgorithm = "invalidRouteingAlgorithm",
        InvalidRouteingCrossRefID = "invalidRouteingCrossRefID",
        InvalidRouteRegistrationCrossRefID = "invalidRouteRegistrationCrossRefID",
        InvalidSpeakerVolume = "invalidSpeakerVolume",
        InvalidSpeakerMute = "invalidSpeakerMute",
        InvalidSwitchingSubdomainCharsType = "invalidSwitchingSubdomainCharsType",
        InvalidObjectType = "invalidObjectType",
        InvalidActiveCallObject = "invalidActiveCallObject",
        InvalidCalledDeviceObjectType = "invalidCalledDeviceObjectType",
        InvalidCallingDeviceObjectType = "invalidCallingDeviceObjectType",
        InvalidCallToBePickedUpObjectType = "invalidCallToBePickedUpObjectType",
        InvalidCallToDivertObjectType = "invalidCallToDivertObjectType",
        InvalidCallToParkObjectType = "invalidCallToParkObjectType",
        InvalidDestinationDeviceObject = "invalidDestinationDeviceObject",
        InvalidHeldCallObject = "invalidHeldCallObject",
        InvalidMonitorObjectType = "invalidMonitorObjectType",
        InvalidParkToObjectType = "invalidParkToObjectType",
        MessageIDRequired = "messageIDRequired",
        NotDifferentDevices = "notDifferentDevices",
        NotSameDevice = "notSameDevice",
        ObjectNotKnown = "objectNotKnown",
        InvalidCallID = "invalidCallID",
        InvalidActiveCallID = "invalidActiveCallID",
        InvalidHeldCallID = "invalidHeldCallID",
        InvalidConnectionID = "invalidConnectionID",
        InvalidActiveConnectionID = "invalidActiveConnectionID",
        InvalidHeldConnectionID = "invalidHeldConnectionID",
        InvalidDeviceID = "invalidDeviceID",
        InvalidActiveDeviceID = "invalidActiveDeviceID",
        InvalidCalledDeviceID = "invalidCalledDeviceID",
        InvalidCallingDeviceID = "invalidCallingDeviceID",
        InvalidCallToParkDeviceID = "invalidCallToParkDeviceID",
        InvalidDestinationDeviceID = "invalidDestinationDeviceID",
        InvalidDivertingDeviceID = "invalidDivertingDeviceID",
        InvalidHeldDeviceID = "invalidHeldDeviceID",
        InvalidParkToDeviceID = "invalidParkToDeviceID",
        InvalidPickUpDeviceID = "invalidPickUpDeviceID",
        ParameterNotSupported = "parameterNotSupported",
        AccountCodeNotSupported = "accountCodeNotSupported",
        AgentGroupNotSupported = "agentGroupNotSupported",
        AgentPasswordNotSupported = "agentPasswordNotSupported",
        AgentStateNotSupported = "agentStateNotSupported",
        AlertTimeNotSupported = "alertTimeNotSupported",
        AllocationNotSupported = "allocationNotSupported",
        AuthorisationCodeNotSupported = "authorisationCodeNotSupported",
        AutoAnswerNotSupported = "autoAnswerNotSupported",
        BitRateNotSupported = "bitRateNotSupported",
        ButtonNotSupported = "buttonNotSupported",
        CallTypeNotSupported = "callTypeNotSupported",
        CharactersToSendNotSupported = "charactersToSendNotSupported",
        ConnectionRateNotSupported = "connectionRateNotSupported",
        ConnectionReservationNotSupported = "connectionReservationNotSupported",
        ConsultPurposeNotSupported = "consultPurposeNotSupported",
        CorrelatorDataNotSupported = "correlatorDataNotSupported",
        DelayToleranceNotSupported = "delayToleranceNotSupported",
        DestinationDetectNotSupported = "destinationDetectNotSupported",
        DigitModeNotSupported = "digitModeNotSupported",
        ErrorValueNotSupported = "errorValueNotSupported",
        FlowDirectionNotSupported = "flowDirectionNotSupported",
        ForwardingDestinationNotSupported = "forwardingDestinationNotSupported",
        LampNotSupported = "lampNotSupported",
        MonitorTypeNotSupported = "monitorTypeNotSupported",
        NumberOfChannelsNotSupported = "numberOfChannelsNotSupported",
        ParameterTypeNotSupported = "parameterTypeNotSupported",
        PriorityNotSupported = "priorityNotSupported",
        PrivateDataNotSupported = "privateDataNotSupported",
        PulseDurationNotSupported = "pulseDurationNotSupported",
        PulseRateNotSupported = "pulseRateNotSupported",
        RemainRetryNotSupported = "remainRetryNotSupported",
        RingCountNotSupported = "ringCountNotSupported",
        RouteUsedNotSupported = "routeUsedNotSupported",
        SecurityNotSupported = "securityNotSupported",
        SwSubdomainCCIETypeNotSupported = "swSubdomainCCIETypeNotSupported",
        ToneDurationNotSupported = "toneDurationNotSupported",
        SysStatRegIDNotSupported = "sysStatRegIDNotSupported",
        UserDataNotSupported = "userDataNotSupported",
        PrivilegeViolationSpecifiedDevice = "privilegeViolationSpecifiedDevice",
        PrivilegeViolationActiveDevice = "privilegeViolationActiveDevice",
        PrivilegeViolationCalledDevice = "privilegeViolationCalledDevice",
        PrivilegeViolationCallingDevice = "privilegeViolationCallingDevice",
        PrivilegeViolationCallToParkDevice = "privilegeViolationCallToParkDevice",
        PrivilegeViolationDestinationDevice = "privilegeViolationDestinationDevice",
        PrivilegeViolationOnDivertingDevice = "privilegeViolationOnDivertingDevice",
        PrivilegeViolationHeldDevice = "privilegeViolationHeldDevice",
        PrivilegeViolationOnParkToDevice = "privilegeViolationOnParkToDevice",
        PrivilegeViolationPickUpDevice = "privilegeViolationPickUpDevice",
        RouteingTimerExpired = "routeingTimerExpired",
        RequestIncompatibleWithObject = "requestIncompatibleWithObject",
        RequestIncompatibleWithConnection = "requestIncompatibleWithConnection",
        RequestIncompatibleWithActiveConnection = "requestIncompatibleWithActiveConnection",
        RequestIncompatibleWithHeldConnection = "requestIncompatibleWithHeldConnection",
        RequestIncompatibleWithDevice = "requestIncompatibleWithDevice",
        RequestIncompatibleWithCalledDevice = "requestIncompatibleWithCalledDevice",
        RequestIncompatibleWithCallingDevice = "requestIncompatibleWithCallingDevice",
        RequestIncompatibleWithSubjectDevice = "requestIncompatibleWithSubjectDevice",
        RequestIncompatibleWithActiveDevice = "requestIncompatibleWithActiveDevice",
        RequestIncompatibleWithCallToParkDevice = "requestIncompatibleWithCallToParkDevice",
        RequestIncompatibleWithDestinationDevice = "requestIncompatibleWithDestinationDevice",
        RequestIncompatibleWithDivertingDevice = "requestIncompatibleWithDivertingDevice",
        RequestIncompatibleWithHeldDevice = "requestIncompatibleWithHeldDevice",
        RequestIncompatibleWithMedia = "requestIncompatibleWithMedia",
        RequestIncompatibleWithParkToDevice = "requestIncompatibleWithParkToDevice",
        RequestIncompatibleWithPickupDevice = "requestIncompatibleWithPickupDevice",
        ServiceNotSupported = "serviceNotSupported",
        SecurityViolation = "securityViolation",
        ValueOutOfRange = "valueOutOfRange",
        AgentStateOutOfRange = "agentStateOutOfRange",
        AlertTimeOutOfRange = "alertTimeOutOfRange",
        AllocationOutOfRange = "allocationOutOfRange",
        AutoAnswerOutOfRange = "autoAnswerOutOfRange",
        BitRateOutOfRange = "bitRateOutOfRange",
        CallTypeOutOfRange = "callTypeOutOfRange",
        ConnectionRateOutOfRange = "connectionRateOutOfRange",
        ConnectionReservoationOutOfRange = "connectionReservoationOutOfRange",
        ConsultPurposeOutOfRange = "consultPurposeOutOfRange",
        CorrelatorDataOutOfRange = "correlatorDataOutOfRange",
        DelayToleranceOutOfRange = "delayToleranceOutOfRange",
        DestinationDetectOutOfRange = "destinationDetectOutOfRange",
        DigitModeOutOfRange = "digitModeOutOfRange",
        DoNotDisturbOutOfRange = "doNotDisturbOutOfRange",
        FlowDirectionOutOfRange = "flowDirectionOutOfRange",
        ForwardingFlagOutOfRange = "forwardingFlagOutOfRange",
        ForwardingTypeOutOfRange = "forwardingTypeOutOfRange",
        HookswitchComponentOutOfRange = "hookswitchComponentOutOfRange",
        HookswitchTypeOutOfRange = "hookswitchTypeOutOfRange",
        LampModeOutOfRange = "lampModeOutOfRange",
        MessageWaitingSettingOutOfRange = "messageWaitingSettingOutOfRange",
        MicGainOutOfRange = "micGainOutOfRange",
        MicMuteOutOfRange = "micMuteOutOfRange",
        MonitorTypeOutOfRange = "monitorTypeOutOfRange",
        NumberOfChannelsOutOfRange = "numberOfChannelsOutOfRange",
        ParticipationTypeOutOfRange = "participationTypeOutOfRange",
        PulseDurationOutOfRange = "pulseDurationOutOfRange",
        PulseRateOutOfRange = "pulseRateOutOfRange",
        RingCountOutOfRange = "ringCountOutOfRange",
        RingPatternOutOfRange = "ringPatternOutOfRange",
        RingVolumnOutOfRange = "ringVolumnOutOfRange",
        RouteingAlgorithmOutOfRange = "routeingAlgorithmOutOfRange",
        SpeakerMuteOutOfRange = "speakerMuteOutOfRange",
        SpeakerVolumeOutOfRange = "speakerVolumeOutOfRange",
        SwitchingCcittTypeOutOfRange = "switchingCcittTypeOutOfRange",
        SystemStatusOutOfRange = "systemStatusOutOfRange",
        ToneCharacterOutOfRange = "toneCharacterOutOfRange",
        ToneDurationOutOfRange = "toneDurationOutOfRange",
    }
}

open_wire_enum! {
    /// Values of the `security` category.
    pub enum SecurityError {
        Generic = "generic",
        SequenceNumberViolated = "sequenceNumberViolated",
        TimeStampViolated = "timeStampViolated",
        SecurityInfoViolated = "securityInfoViolated",
    }
}

open_wire_enum! {
    /// Values of the `stateIncompatibility` category.
    pub enum StateIncompatibilityError {
        Generic = "generic",
        InvalidObjectState = "invalidObjectState",
        InvalidDeviceState = "invalidDeviceState",
        ConnectedCallExists = "connectedCallExists",
        InvalidActiveDeviceState = "invalidActiveDeviceState",
        InvalidCalledDeviceState = "invalidCalledDeviceState",
        InvalidCallingDeviceState = "invalidCallingDeviceState",
        InvalidCallToParkDeviceState = "invalidCallToParkDeviceState",
        InvalidDestinationDeviceState = "invalidDestinationDeviceState",
        InvalidDivertingDeviceState = "invalidDivertingDeviceState",
        InvalidHeldDeviceState = "invalidHeldDeviceState",
        InvalidParkToDeviceState = "invalidParkToDeviceState",
        InvalidConnectionState = "invalidConnectionState",
        InvalidActiveConnectionState = "invalidActiveConnectionState",
        InvalidConnectionIDForActiveCall = "invalidConnectionIDForActiveCall",
        InvalidHeldConnectionState = "invalidHeldConnectionState",
        NoActiveCall = "noActiveCall",
        NoCallToAnswer = "noCallToAnswer",
        NoCallToClear = "noCallToClear",
        NoCallToComplete = "noCallToComplete",
        NoConnectionToClear = "noConnectionToClear",
        NoHeldCall = "noHeldCall",
        IncorrectMsgState = "incorrectMsgState",
        BeginningOfMsg = "beginningOfMsg",
        EndOfMsg = "endOfMsg",
        MsgSuspended = "msgSuspended",
        NotAbleToPlay = "notAbleToPlay",
        NotAbleToResume = "notAbleToResume",
    }
}

open_wire_enum! {
    /// Values of the `systemResourceAvailibility` category (the last four exist only
    /// from edition 6 on).
    pub enum SystemResourceAvailabilityError {
        Generic = "generic",
        ResourceBusy = "resourceBusy",
        InternalResourceBusy = "internalResourceBusy",
        ClassifierBusy = "classifierBusy",
        NoMediaChannelsAvailable = "noMediaChannelsAvailable",
        ChannelsInUseForBridgedDevices = "channelsInUseForBridgedDevices",
        ChannelsInUseForData = "channelsInUseForData",
        ToneDetectorBusy = "toneDetectorBusy",
        ToneGeneratorBusy = "toneGeneratorBusy",
        NetworkBusy = "networkBusy",
        ResourceOutOfService = "resourceOutOfService",
        DeviceOutOfService = "deviceOutOfService",
        ActiveDeviceOutOfService = "activeDeviceOutOfService",
        CalledDeviceOutOfService = "calledDeviceOutOfService",
        CallingDeviceOutOfService = "callingDeviceOutOfService",
        CallToParkDeviceOutOfService = "callToParkDeviceOutOfService",
        DestinationDeviceOutOfService = "destinationDeviceOutOfService",
        DivertingDeviceOutOfService = "divertingDeviceOutOfService",
        HeldDeviceOutOfService = "heldDeviceOutOfService",
        ParkToDeviceOutOfService = "parkToDeviceOutOfService",
        PickupDeviceOutOfService = "pickupDeviceOutOfService",
        NetworkOutOfService = "networkOutOfService",
        OtherResourceOutOfService = "otherResourceOutOfService",
        ResourceLimitExceeded = "resourceLimitExceeded",
        OverallMonitorLimitExceeded = "overallMonitorLimitExceeded",
        ConferenceMemberLimitExceeded = "conferenceMemberLimitExceeded",
        RegistrationLimitExceeded = "registrationLimitExceeded",
        ConferenceResourceCannotBeSatisfied = "conferenceResourceCannotBeSatisfied",
        MaxDevicesExceeded = "maxDevicesExceeded",
        StartTimeOutOfRange = "startTimeOutOfRange",
        DurationExceeded = "durationExceeded",
    }
}

open_wire_enum! {
    /// Values of the `subscribedResourceAvailability` category.
    pub enum SubscribedResourceAvailabilityError {
        Generic = "generic",
        ObjectMonitorLimitExceeded = "objectMonitorLimitExceeded",
        TrunkLimitExceeded = "trunkLimitExceeded",
        OutstandingReqLimitExceeded = "outstandingReqLimitExceeded",
        ObjectRegistrationLimitExceeded = "objectRegistrationLimitExceeded",
    }
}

open_wire_enum! {
    /// Values of the `performanceManagement` category.
    pub enum PerformanceManagementError {
        Generic = "generic",
        PerformanceLimitExceeded = "performanceLimitExceeded",
    }
}

open_wire_enum! {
    /// Values of the `privateData` category.
    pub enum PrivateDataError {
        CSTAPrivateDataInfoError = "cSTAPrivateDataInfoError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Doc;

    fn decode(xml: &str) -> Result<CstaErrorCode, Error> {
        let doc = Doc::parse(xml)?;
        CstaErrorCode::read(doc.root())
    }

    #[test]
    fn lists_every_schema_value() {
        assert_eq!(OperationError::ALL.len(), 193);
        assert_eq!(SecurityError::ALL.len(), 4);
        assert_eq!(StateIncompatibilityError::ALL.len(), 28);
        assert_eq!(SystemResourceAvailabilityError::ALL.len(), 31);
        assert_eq!(SubscribedResourceAvailabilityError::ALL.len(), 5);
        assert_eq!(PerformanceManagementError::ALL.len(), 2);
        assert_eq!(PrivateDataError::ALL.len(), 1);
        for value in OperationError::ALL {
            assert_eq!(&OperationError::parse(value.as_str()), value);
        }
    }

    #[test]
    fn keeps_schema_spellings() {
        assert_eq!(
            OperationError::InvalidNumberOFChannels.as_str(),
            "invalidNumberOFChannels"
        );
        assert_eq!(
            OperationError::RingVolumnOutOfRange.as_str(),
            "ringVolumnOutOfRange"
        );
        assert_eq!(
            OperationError::ConnectionReservoationOutOfRange.as_str(),
            "connectionReservoationOutOfRange"
        );
        let code = CstaErrorCode::SystemResourceAvailability(
            SystemResourceAvailabilityError::ResourceOutOfService,
        );
        assert_eq!(
            code.to_string(),
            "systemResourceAvailibility/resourceOutOfService"
        );
    }

    #[test]
    fn accepts_the_corrected_category_spelling_and_unknown_values() {
        let code = decode(
            "<CSTAErrorCode><systemResourceAvailability>resourceBusy</systemResourceAvailability>\
             </CSTAErrorCode>",
        )
        .unwrap();
        assert_eq!(
            code,
            CstaErrorCode::SystemResourceAvailability(
                SystemResourceAvailabilityError::ResourceBusy
            )
        );
        let code = decode(
            "<CSTAErrorCode><operation>invalidConnectionIdentifier</operation></CSTAErrorCode>",
        )
        .unwrap();
        assert_eq!(
            code,
            CstaErrorCode::Operation(OperationError::Other("invalidConnectionIdentifier".into()))
        );
    }

    #[test]
    fn rejects_an_empty_or_unknown_category() {
        assert!(matches!(
            decode("<CSTAErrorCode/>"),
            Err(Error::MissingElement { .. })
        ));
        assert!(matches!(
            decode("<CSTAErrorCode><bogus>x</bogus></CSTAErrorCode>"),
            Err(Error::InvalidValue { .. })
        ));
    }
}
