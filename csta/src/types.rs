//! Data types shared by services and events (ECMA-323 clause 4 and the common parts of 5/6).

use crate::error::{Error, ValueError};
use crate::ids::{ConnectionId, DeviceId};
use crate::xml::{Doc, El, Field, ListItem, Writer};

/// A device as events report it (`SubjectDeviceID`, `CallingDeviceID`, `CalledDeviceID`, ...):
/// a known identifier, or the reason there is none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceRef {
    /// `<deviceIdentifier>`: the device is known.
    Identifier(DeviceId),
    /// `<notKnown/>`: the switching function does not know the device.
    NotKnown,
    /// `<restricted/>`: the identity may not be shown (calling line presentation restricted).
    Restricted,
}

impl DeviceRef {
    /// The identifier, if known.
    pub fn device_id(&self) -> Option<&DeviceId> {
        match self {
            Self::Identifier(id) => Some(id),
            Self::NotKnown | Self::Restricted => None,
        }
    }
}

impl From<DeviceId> for DeviceRef {
    fn from(id: DeviceId) -> Self {
        Self::Identifier(id)
    }
}

impl Field for DeviceRef {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        for child in element.children() {
            match child.name() {
                "deviceIdentifier" => {
                    return DeviceId::read(child, "deviceIdentifier").map(Self::Identifier);
                }
                "notKnown" => return Ok(Self::NotKnown),
                "restricted" => return Ok(Self::Restricted),
                _ => {}
            }
        }
        // Some clients write the identifier directly as text.
        if !element.has_children() && !element.text().is_empty() {
            return DeviceId::read(element, name).map(Self::Identifier);
        }
        Err(Error::MissingElement {
            parent: crate::xml::truncate(element.name()),
            element: "deviceIdentifier",
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Identifier(id) => id.write(writer, "deviceIdentifier"),
            Self::NotKnown => writer.empty("notKnown"),
            Self::Restricted => writer.empty("restricted"),
        }
        writer.close(name);
    }
}

/// The last redirecting device of a call (`RedirectionDeviceID`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RedirectionDevice {
    /// `<numberDialed>`: the number that was dialled before the redirection.
    NumberDialed(DeviceId),
    /// `<notKnown/>`.
    NotKnown,
    /// `<notRequired/>`: the call was not redirected.
    NotRequired,
    /// `<notSpecified/>`.
    NotSpecified,
    /// `<restricted/>`.
    Restricted,
}

impl Field for RedirectionDevice {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        for child in element.children() {
            match child.name() {
                "numberDialed" | "numberdialed" | "deviceIdentifier" => {
                    return DeviceId::read(child, "numberDialed").map(Self::NumberDialed);
                }
                "notKnown" => return Ok(Self::NotKnown),
                "notRequired" => return Ok(Self::NotRequired),
                "notSpecified" => return Ok(Self::NotSpecified),
                "restricted" => return Ok(Self::Restricted),
                _ => {}
            }
        }
        if !element.has_children() && !element.text().is_empty() {
            return DeviceId::read(element, name).map(Self::NumberDialed);
        }
        Err(Error::MissingElement {
            parent: crate::xml::truncate(element.name()),
            element: "numberDialed",
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::NumberDialed(id) => id.write(writer, "numberDialed"),
            Self::NotKnown => writer.empty("notKnown"),
            Self::NotRequired => writer.empty("notRequired"),
            Self::NotSpecified => writer.empty("notSpecified"),
            Self::Restricted => writer.empty("restricted"),
        }
        writer.close(name);
    }
}

wire_enum! {
    /// The state of the monitored device's own connection (`localConnectionInfo`).
    pub enum LocalConnectionState {
        Null = "null",
        Initiated = "initiated",
        Alerting = "alerting",
        Connected = "connected",
        Hold = "hold",
        Queued = "queued",
        Fail = "fail",
    }
}

impl ListItem for LocalConnectionState {
    const ITEM: &'static str = "localConnectionState";
}

wire_enum! {
    /// A call state as seen from one device (`simpleCallState` of a snapshot).
    pub enum SimpleCallState {
        CallNull = "callNull",
        CallPending = "callPending",
        CallOriginated = "callOriginated",
        CallDelivered = "callDelivered",
        CallDeliveredHeld = "callDeliveredHeld",
        CallReceived = "callReceived",
        CallEstablished = "callEstablished",
        CallEstablishedHeld = "callEstablishedHeld",
        CallReceivedOnHold = "callReceivedOnHold",
        CallEstablishedOnHold = "callEstablishedOnHold",
        CallQueued = "callQueued",
        CallQueuedHeld = "callQueuedHeld",
        CallFailed = "callFailed",
        CallFailedHeld = "callFailedHeld",
        CallBlocked = "callBlocked",
    }
}

/// The state of a call at a device in a snapshot (`localCallState`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocalCallState {
    /// `compoundCallState`: the state of every connection of the call, this device's first.
    Compound(Vec<LocalConnectionState>),
    /// `simpleCallState`.
    Simple(SimpleCallState),
    /// `unknown`.
    Unknown,
}

impl Field for LocalCallState {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        for child in element.children() {
            match child.name() {
                "compoundCallState" => {
                    return Vec::read(child, "compoundCallState").map(Self::Compound);
                }
                "simpleCallState" => {
                    return SimpleCallState::read(child, "simpleCallState").map(Self::Simple);
                }
                "unknown" => return Ok(Self::Unknown),
                _ => {}
            }
        }
        Err(Error::MissingElement {
            parent: crate::xml::truncate(element.name()),
            element: "compoundCallState",
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Compound(states) => states.write(writer, "compoundCallState"),
            Self::Simple(state) => state.write(writer, "simpleCallState"),
            Self::Unknown => writer.empty("unknown"),
        }
        writer.close(name);
    }
}

wire_enum! {
    /// How `MakeCall` starts the call at the calling device (`autoOriginate`).
    pub enum AutoOriginate {
        Prompt = "prompt",
        DoNotPrompt = "doNotPrompt",
    }
}

wire_enum! {
    /// What a consultation call may later be used for (`consultOptions`).
    pub enum ConsultOptions {
        Unrestricted = "unrestricted",
        ConsultOnly = "consultOnly",
        TransferOnly = "transferOnly",
        ConferenceOnly = "conferenceOnly",
    }
}

wire_enum! {
    /// How `GenerateDigits` sends digits (`digitMode`).
    pub enum DigitMode {
        RotaryPulse = "rotaryPulse",
        Dtmf = "dTMF",
    }
}

wire_enum! {
    /// Whether a monitor follows a device or calls (`monitorType`).
    pub enum MonitorType {
        Call = "call",
        Device = "device",
    }
}

wire_enum! {
    /// A forwarding type (`forwardingType`).
    pub enum ForwardingType {
        ForwardImmediate = "forwardImmediate",
        ForwardBusy = "forwardBusy",
        ForwardNoAns = "forwardNoAns",
        ForwardDnd = "forwardDND",
        ForwardBusyInt = "forwardBusyInt",
        ForwardBusyExt = "forwardBusyExt",
        ForwardNoAnsInt = "forwardNoAnsInt",
        ForwardNoAnsExt = "forwardNoAnsExt",
        ForwardImmInt = "forwardImmInt",
        ForwardImmExt = "forwardImmExt",
        ForwardDndInt = "forwardDNDInt",
        ForwardDndExt = "forwardDNDExt",
    }
}

wire_enum! {
    /// Which part of a forwarding is the device's default (`forwardDefault`).
    pub enum ForwardDefault {
        ForwardingTypeAndForwardDn = "forwardingTypeAndForwardDN",
        ForwardingType = "forwardingType",
        ForwardDn = "forwardDN",
    }
}

wire_enum! {
    /// The overall state of the switching function (`systemStatus`).
    pub enum SystemStatusValue {
        Disabled = "disabled",
        PartiallyDisabled = "partiallyDisabled",
        Enabled = "enabled",
        Initializing = "initializing",
        MessagesLost = "messagesLost",
        Normal = "normal",
        OverloadImminent = "overloadImminent",
        OverloadReached = "overloadReached",
        OverloadRelieved = "overloadRelieved",
    }
}

open_wire_enum! {
    /// The category of a device (`deviceCategory`). Unknown categories are kept as `Other`.
    pub enum DeviceCategory {
        Acd = "acd",
        GroupAcd = "groupACD",
        GroupHunt = "groupHunt",
        GroupPick = "groupPick",
        GroupUser = "groupUser",
        GroupOther = "groupOther",
        NetworkInterface = "networkInterface",
        Park = "park",
        RouteingDevice = "routeingDevice",
        Station = "station",
        VoiceUnit = "voiceUnit",
        Conference = "conference",
        OtherCategory = "other",
    }
}

flag_set! {
    /// Which call origins a do-not-disturb setting applies to (`callOrigination`).
    pub struct CallOrigination;
    /// A call origin.
    pub enum CallOriginationItem {
        Internal = "internal",
        External = "external",
    }
}

flag_set! {
    /// Which system status services a `SystemRegister` asks for (`requestTypes`).
    pub struct RequestTypes;
    /// A system status service.
    pub enum RequestType {
        SystemStatus = "systemStatus",
        RequestSystemStatus = "requestSystemStatus",
        SwitchingFunctionCapsChanged = "switchingFunctionCapsChanged",
        SwitchingFunctionDevicesChanged = "switchingFunctionDevicesChanged",
    }
}

flag_set! {
    /// Which system status values are not reported (`requestedStatusFilter`, `true` = filtered).
    pub struct StatusFilter;
    /// A system status value of a status filter (note `messageLost`, schema spelling).
    pub enum StatusFilterItem {
        Initializing = "initializing",
        Enabled = "enabled",
        Normal = "normal",
        MessageLost = "messageLost",
        Disabled = "disabled",
        PartiallyDisabled = "partiallyDisabled",
        OverloadImminent = "overloadImminent",
        OverloadReached = "overloadReached",
        OverloadRelieved = "overloadRelieved",
    }
}

open_wire_enum! {
    /// The reason an event happened (`cause`, ECMA-269 `EventCause`): all 120 values of
    /// edition 6.
    pub enum EventCause {
        ACDBusy = "aCDBusy",
        ACDForward = "aCDForward",
        ACDSaturated = "aCDSaturated",
        Activation = "activation",
        ActiveParticipation = "activeParticipation",
        AlertTimeExpired = "alertTimeExpired",
        Alternate = "alternate",
        AutoWork = "autoWork",
        Babble = "babble",
        BadAttribute = "badAttribute",
        BadGrammar = "badGrammar",
        BadVoice = "badVoice",
        BadUri = "badUri",
        Blocked = "blocked",
        Busy = "busy",
        BusyOverflow = "busyOverflow",
        CalendarOverflow = "calendarOverflow",
        CallBack = "callBack",
        CallCancelled = "callCancelled",
        CallForward = "callForward",
        CallForwardImmediate = "callForwardImmediate",
        CallForwardBusy = "callForwardBusy",
        CallForwardNoAnswer = "callForwardNoAnswer",
        CallInterception = "callInterception",
        CallInterceptionBusy = "callInterceptionBusy",
        CallInterceptionForwarded = "callInterceptionForwarded",
        CallInterceptionNoAnswer = "callInterceptionNoAnswer",
        CallInterceptionResourcesNotAvailable = "callInterceptionResourcesNotAvailable",
        CallNotAnswered = "callNotAnswered",
        CallPickup = "callPickup",
        CampOn = "campOn",
        CampOnTrunks = "campOnTrunks",
        CapacityOverflow = "capacityOverflow",
        CharacterCountReached = "characterCountReached",
        Conference = "conference",
        Consultation = "consultation",
        DestDetected = "destDetected",
        DestNotObtainable = "destNotObtainable",
        DestOutOfOrder = "destOutOfOrder",
        Distributed = "distributed",
        DistributionDelay = "distributionDelay",
        DoNotDisturb = "doNotDisturb",
        DTMFDigitDetected = "dTMFDigitDetected",
        DuplicateDTMF = "duplicateDTMF",
        DurationExceeded = "durationExceeded",
        EarlyStop = "earlyStop",
        EmptyQueue = "emptyQueue",
        EndOfMessageDetected = "endOfMessageDetected",
        EnteringDistribution = "enteringDistribution",
        ForcedPause = "forcedPause",
        ForcedTransition = "forcedTransition",
        IncompatibleDestination = "incompatibleDestination",
        InterDigitTimeout = "interDigitTimeout",
        Intrude = "intrude",
        InvalidAccountCode = "invalidAccountCode",
        InvalidConnection = "invalidConnection",
        InvalidConnectionState = "invalidConnectionState",
        InvalidNumberFormat = "invalidNumberFormat",
        JoinCall = "joinCall",
        KeyOperation = "keyOperation",
        KeyOperationInUse = "keyOperationInUse",
        LawfulInterception = "lawfulInterception",
        Lockout = "lockout",
        Maintenance = "maintenance",
        MakeCall = "makeCall",
        MakeConnection = "makeConnection",
        MakePredictiveCall = "makePredictiveCall",
        MaxTimeout = "maxTimeout",
        MessageDurationExceeded = "messageDurationExceeded",
        MessageSizeExceeded = "messageSizeExceeded",
        MultipleAlerting = "multipleAlerting",
        MultipleQueuing = "multipleQueuing",
        NetworkCongestion = "networkCongestion",
        NetworkDialling = "networkDialling",
        NetworkNotObtainable = "networkNotObtainable",
        NetworkOutOfOrder = "networkOutOfOrder",
        NetworkSignal = "networkSignal",
        NewCall = "newCall",
        NextMessage = "nextMessage",
        NoAudioSaved = "noAudioSaved",
        NoAvailableAgents = "noAvailableAgents",
        NoQueue = "noQueue",
        Normal = "normal",
        NormalClearing = "normalClearing",
        NoRule = "noRule",
        NoSpeechDetected = "noSpeechDetected",
        NotAvaliableBearerService = "notAvaliableBearerService",
        NotSupportedBearerService = "notSupportedBearerService",
        NumberChanged = "numberChanged",
        NumberUnallocated = "numberUnallocated",
        OutOfGrammar = "outOfGrammar",
        Overflow = "overflow",
        Override = "override",
        Park = "park",
        PathReplacement = "pathReplacement",
        QueueCleared = "queueCleared",
        QueueTimeOverflow = "queueTimeOverflow",
        Recall = "recall",
        RecallBusy = "recallBusy",
        RecallForwarded = "recallForwarded",
        RecallNoAnswer = "recallNoAnswer",
        RecallResourcesNotAvailable = "recallResourcesNotAvailable",
        Redirected = "redirected",
        RemainsInQueue = "remainsInQueue",
        ReorderTone = "reorderTone",
        Reserved = "reserved",
        ResourcesNotAvailable = "resourcesNotAvailable",
        SelectedTrunkBusy = "selectedTrunkBusy",
        SilentParticipation = "silentParticipation",
        SingleStepConference = "singleStepConference",
        SingleStepTransfer = "singleStepTransfer",
        SpeechDetected = "speechDetected",
        Suspend = "suspend",
        SwitchingFunctionTerminated = "switchingFunctionTerminated",
        TerminationCharacterReceived = "terminationCharacterReceived",
        Timeout = "timeout",
        Transfer = "transfer",
        TrunksBusy = "trunksBusy",
        UnauthorisedBearerService = "unauthorisedBearerService",
        UnknownOverflow = "unknownOverflow",
    }
}

flag_set! {
    /// `callControlServices` of `servicesPermitted`.
    pub struct CallControlServices;
    /// A call control service that may be invoked.
    pub enum CallControlService {
        AcceptCall = "acceptCall",
        AlternateCall = "alternateCall",
        AnswerCall = "answerCall",
        CallBack = "callBack",
        CallBackMessage = "callBackMessage",
        CampOnCall = "campOnCall",
        ClearCall = "clearCall",
        ClearConnection = "clearConnection",
        ConferenceCall = "conferenceCall",
        ConsultationCall = "consultationCall",
        DeflectCall = "deflectCall",
        DialDigits = "dialDigits",
        DirectedPickupCall = "directedPickupCall",
        GroupPickupCall = "groupPickupCall",
        HoldCall = "holdCall",
        IntrudeCall = "intrudeCall",
        JoinCall = "joinCall",
        MakeCall = "makeCall",
        MakeConnection = "makeConnection",
        MakePredictiveCall = "makePredictiveCall",
        ParkCall = "parkCall",
        ReconnectCall = "reconnectCall",
        RetrieveCall = "retrieveCall",
        SendMessage = "sendMessage",
        SingleStepConference = "singleStepConference",
        SingleStepTransfer = "singleStepTransfer",
        TransferCall = "transferCall",
    }
}

flag_set! {
    /// `callAssociatedServices` of `servicesPermitted`.
    pub struct CallAssociatedServices;
    /// A call associated service that may be invoked.
    pub enum CallAssociatedService {
        AssociateData = "associateData",
        CancelTelephonyTones = "cancelTelephonyTones",
        ChangeConnectionInformation = "changeConnectionInformation",
        GenerateDigits = "generateDigits",
        GenerateTelephonyTones = "generateTelephonyTones",
        SendUserInformation = "sendUserInformation",
    }
}

flag_set! {
    /// `mediaAttachementServices` (schema spelling) of `servicesPermitted`.
    pub struct MediaAttachmentServices;
    /// A media attachment service that may be invoked.
    pub enum MediaAttachmentService {
        AttachMediaService = "attachMediaService",
        DetachMediaService = "detachMediaService",
    }
}

flag_set! {
    /// `routeingServices` of `servicesPermitted`.
    pub struct RouteingServices;
    /// A routeing service that may be invoked.
    pub enum RouteingService {
        RouteRegister = "routeRegister",
        RouteRegisterCancel = "routeRegisterCancel",
        RouteRegisterAbort = "routeRegisterAbort",
        Reroute = "reroute",
        RouteEnd = "routeEnd",
        RouteReject = "routeReject",
        RouteRequest = "routeRequest",
        RouteSelect = "routeSelect",
        RouteUsed = "routeUsed",
    }
}

flag_set! {
    /// `voiceServices` of `servicesPermitted`.
    pub struct VoiceServices;
    /// A voice unit service that may be invoked.
    pub enum VoiceService {
        Activate = "activate",
        Clear = "clear",
        ConcatenateMessage = "concatenateMessage",
        Deactivate = "deactivate",
        DeleteMessage = "deleteMessage",
        PlayMessage = "playMessage",
        QueryVoiceAttribute = "queryVoiceAttribute",
        RecordMessage = "recordMessage",
        Reposition = "reposition",
        Resume = "resume",
        Review = "review",
        SetVoiceAttribute = "setVoiceAttribute",
        Stop = "stop",
        Suspend = "suspend",
        SynthesizeMessage = "synthesizeMessage",
    }
}

flag_set! {
    /// The `callcontrol` group of a monitor filter (`true` = do not report).
    pub struct CallControlFilter;
    /// A call control event of a monitor filter.
    pub enum CallControlFilterItem {
        Bridged = "bridged",
        CallCleared = "callCleared",
        Conferenced = "conferenced",
        ConnectionCleared = "connectionCleared",
        Delivered = "delivered",
        DigitsDialed = "digitsDialed",
        Diverted = "diverted",
        Established = "established",
        Failed = "failed",
        Held = "held",
        NetworkCapabilitiesChanged = "networkCapabilitiesChanged",
        NetworkReached = "networkReached",
        Offered = "offered",
        Originated = "originated",
        Queued = "queued",
        Retrieved = "retrieved",
        ServiceInitiated = "serviceInitiated",
        Transferred = "transferred",
    }
}

flag_set! {
    /// The `callAssociated` group of a monitor filter.
    pub struct CallAssociatedFilter;
    /// A call associated event of a monitor filter.
    pub enum CallAssociatedFilterItem {
        CallInformation = "callInformation",
        Charging = "charging",
        DigitsGenerated = "digitsGenerated",
        TelephonyTonesGenerated = "telephonyTonesGenerated",
        ServiceCompletionFailure = "serviceCompletionFailure",
    }
}

flag_set! {
    /// The `mediaAttachment` group of a monitor filter.
    pub struct MediaAttachmentFilter;
    /// A media attachment event of a monitor filter.
    pub enum MediaAttachmentFilterItem {
        MediaAttached = "mediaAttached",
        MediaDetached = "mediaDetached",
    }
}

flag_set! {
    /// The `physicalDeviceFeature` group of a monitor filter.
    pub struct PhysicalDeviceFeatureFilter;
    /// A physical device event of a monitor filter.
    pub enum PhysicalDeviceFeatureFilterItem {
        ButtonInformation = "buttonInformation",
        ButtonPress = "buttonPress",
        DisplayUpdated = "displayUpdated",
        Hookswitch = "hookswitch",
        LampMode = "lampMode",
        MessageWaiting = "messageWaiting",
        MicrophoneGain = "microphoneGain",
        MicrophoneMute = "microphoneMute",
        RingerStatus = "ringerStatus",
        SpeakerMute = "speakerMute",
        SpeakerVolume = "speakerVolume",
    }
}

flag_set! {
    /// The `logicalDeviceFeature` group of a monitor filter.
    pub struct LogicalDeviceFeatureFilter;
    /// A logical device event of a monitor filter.
    pub enum LogicalDeviceFeatureFilterItem {
        AgentBusy = "agentBusy",
        AgentLoggedOn = "agentLoggedOn",
        AgentLoggedOff = "agentLoggedOff",
        AgentNotReady = "agentNotReady",
        AgentReady = "agentReady",
        AgentWorkingAfterCall = "agentWorkingAfterCall",
        AutoAnswer = "autoAnswer",
        AutoWorkMode = "autoWorkMode",
        CallBack = "callBack",
        CallBackMessage = "callBackMessage",
        CallerIDStatus = "callerIDStatus",
        DoNotDisturb = "doNotDisturb",
        Forwarding = "forwarding",
        PresenceState = "presenceState",
        RouteingMode = "routeingMode",
    }
}

flag_set! {
    /// The `maintenance` group of a monitor filter.
    pub struct MaintenanceFilter;
    /// A maintenance event of a monitor filter.
    pub enum MaintenanceFilterItem {
        BackInService = "backInService",
        DeviceCapabilityChanged = "deviceCapabilityChanged",
        OutOfService = "outOfService",
        PartiallyInService = "partiallyInService",
    }
}

record! {
    /// The services that make sense for a connection in its current state (`servicesPermitted`).
    #[derive(Default)]
    pub struct ServicesPermitted {
        /// Call control services.
        pub call_control: CallControlServices = "callControlServices",
        /// Call associated services.
        pub call_associated: CallAssociatedServices = "callAssociatedServices",
        /// Media attachment services.
        pub media_attachment: MediaAttachmentServices = "mediaAttachementServices"
            | "mediaAttachmentServices",
        /// Routeing services.
        pub routeing: RouteingServices = "routeingServices",
        /// Voice unit services.
        pub voice: VoiceServices = "voiceServices" | "voiceUnitServices",
    }
}

record! {
    /// Which events a monitor does not report (`true` = filtered out; no filter = report
    /// everything).
    #[derive(Default)]
    pub struct MonitorFilter {
        /// Call control events.
        pub call_control: Option<CallControlFilter> = "callcontrol" | "callControl",
        /// Call associated events.
        pub call_associated: Option<CallAssociatedFilter> = "callAssociated",
        /// Media attachment events.
        pub media_attachment: Option<MediaAttachmentFilter> = "mediaAttachment",
        /// Physical device feature events.
        pub physical_device_feature: Option<PhysicalDeviceFeatureFilter> = "physicalDeviceFeature",
        /// Logical device feature events.
        pub logical_device_feature: Option<LogicalDeviceFeatureFilter> = "logicalDeviceFeature",
        /// Maintenance events.
        pub maintenance: Option<MaintenanceFilter> = "maintenance",
    }
}

/// The call linkage identifier of [`CallLinkageData`]: hexBinary text, kept as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallLinkageId {
    /// `subDomainCallLinkageID` (at most 8 octets).
    SubDomain(String),
    /// `globallyUniqueCallLinkageID` (at most 16 octets): a call id that survives transfers.
    GloballyUnique(String),
}

/// Global call data (`callLinkageData`): the identity of a call across switching domains,
/// transfers and conferences.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallLinkageData {
    /// `globalCallSwitchingSubDomainName`.
    pub switching_sub_domain_name: Option<String>,
    /// `globalCallLinkageID`.
    pub linkage_id: CallLinkageId,
}

impl Field for CallLinkageData {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        let global = element.required(&["globalCallData"])?;
        let switching_sub_domain_name = global
            .child(&["globalCallSwitchingSubDomainName"])
            .map(|name| name.string());
        let id = global.required(&["globalCallLinkageID"])?;
        let linkage_id = if let Some(sub) = id.child(&["subDomainCallLinkageID"]) {
            CallLinkageId::SubDomain(sub.string())
        } else {
            CallLinkageId::GloballyUnique(id.required(&["globallyUniqueCallLinkageID"])?.string())
        };
        Ok(Self {
            switching_sub_domain_name,
            linkage_id,
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        writer.open("globalCallData");
        if let Some(domain) = &self.switching_sub_domain_name {
            writer.leaf("globalCallSwitchingSubDomainName", domain);
        }
        writer.open("globalCallLinkageID");
        match &self.linkage_id {
            CallLinkageId::SubDomain(id) => writer.leaf("subDomainCallLinkageID", id),
            CallLinkageId::GloballyUnique(id) => writer.leaf("globallyUniqueCallLinkageID", id),
        }
        writer.close("globalCallLinkageID");
        writer.close("globalCallData");
        writer.close(name);
    }
}

record! {
    /// The old and the new linkage data of a call that a transfer or conference merged
    /// (`callLinkageDataList`).
    pub struct CallLinkageDataList {
        /// `newCallLinkageData`.
        pub new: CallLinkageData = "newCallLinkageData",
        /// `oldCallLinkageData`.
        pub old: CallLinkageData = "oldCallLinkageData",
    }
}

/// The device at the end of a connection in a connection list (`endpoint`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `<deviceID>`.
    Device(DeviceId),
    /// `<notKnown/>`.
    NotKnown,
    /// `<restricted/>`.
    Restricted,
}

impl Field for Endpoint {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        for child in element.children() {
            match child.name() {
                "deviceID" | "deviceIdentifier" => {
                    return DeviceId::read(child, "deviceID").map(Self::Device);
                }
                "notKnown" => return Ok(Self::NotKnown),
                "restricted" => return Ok(Self::Restricted),
                _ => {}
            }
        }
        if !element.has_children() && !element.text().is_empty() {
            return DeviceId::read(element, name).map(Self::Device);
        }
        Err(Error::MissingElement {
            parent: crate::xml::truncate(element.name()),
            element: "deviceID",
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Device(id) => id.write(writer, "deviceID"),
            Self::NotKnown => writer.empty("notKnown"),
            Self::Restricted => writer.empty("restricted"),
        }
        writer.close(name);
    }
}

record! {
    /// How one connection of a call maps to the call that survives a transfer or conference
    /// (`connectionListItem`).
    pub struct ConnectionListItem {
        /// `newConnection`: the connection in the resulting call.
        pub new_connection: Option<ConnectionId> = "newConnection",
        /// `oldConnection`: the connection before.
        pub old_connection: Option<ConnectionId> = "oldConnection",
        /// `endpoint`: the device of the connection.
        pub endpoint: Option<Endpoint> = "endpoint",
        /// `associatedNID`: the network interface used, if any.
        pub associated_nid: Option<DeviceId> = "associatedNID",
    }
}

impl ListItem for ConnectionListItem {
    const ITEM: &'static str = "connectionListItem";
}

/// Well-formed XML content kept verbatim: the inside of `<private>`, of ECMA-354
/// `applicationSpecificInfo` and `extensions`. Decoding keeps the exact bytes received, except
/// that non-ASCII characters become character references (the same XML, in the form in which
/// it is written); encoding writes the bytes unchanged, so the output stays pure ASCII.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawXml(String);

impl RawXml {
    /// Accepts well-formed XML content (elements, text, references); rejects anything that
    /// would break the document around it. Non-ASCII characters are stored as character
    /// references, the form in which they are written (so they must not occur in names).
    pub fn new(xml: impl Into<String>) -> Result<Self, ValueError> {
        let mut xml = xml.into();
        if !xml.is_ascii() {
            let mut ascii = Vec::with_capacity(xml.len() + 16);
            Writer::new(&mut ascii, false).raw(&xml);
            xml = String::from_utf8(ascii).map_err(|_| ValueError::NotXml)?;
        }
        let wrapped = format!("<r>{xml}</r>");
        let doc = Doc::parse(&wrapped).map_err(|_| ValueError::NotXml)?;
        if doc.root().inner_xml().len() != xml.len() {
            return Err(ValueError::NotXml);
        }
        Ok(Self(xml))
    }

    /// The XML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps XML the crate itself wrote (well-formed by construction).
    pub(crate) fn from_ascii_unchecked(xml: String) -> Self {
        Self(xml)
    }

    /// Keeps the content of an element decoded from a well-formed document.
    /// ASCII content is kept byte for byte; non-ASCII characters are stored as character
    /// references (the form in which they are written), so decoding is stable.
    pub(crate) fn from_element(element: El<'_, '_>) -> Self {
        let inner = element.inner_xml();
        if inner.is_ascii() {
            return Self(inner.to_owned());
        }
        let mut ascii = Vec::with_capacity(inner.len() + 16);
        Writer::new(&mut ascii, false).raw(inner);
        Self(String::from_utf8_lossy(&ascii).into_owned())
    }
}

impl Field for RawXml {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        Ok(Self::from_element(element))
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        if self.0.is_empty() {
            writer.empty(name);
            return;
        }
        writer.open(name);
        writer.raw(&self.0);
        writer.close(name);
    }
}

/// Vendor data in `privateData`: XML in `<private>` (the usual form) or hexBinary in
/// `<string>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrivateData {
    /// `<private>`: any XML, kept verbatim.
    Private(RawXml),
    /// `<string>`: hexBinary text.
    String(String),
}

impl Field for PrivateData {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        if let Some(private) = element.child(&["private"]) {
            return Ok(Self::Private(RawXml::from_element(private)));
        }
        if let Some(string) = element.child(&["string"]) {
            return Ok(Self::String(string.string()));
        }
        // No wrapper: treat the whole content as the private XML.
        Ok(Self::Private(RawXml::from_element(element)))
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Private(xml) => xml.write(writer, "private"),
            Self::String(hex) => writer.leaf("string", hex),
        }
        writer.close(name);
    }
}

record! {
    /// The `extensions` of a CSTA message (`CSTACommonArguments`): vendor private data.
    /// `security` is not modelled and ignored on input.
    #[derive(Default)]
    pub struct Extensions {
        /// `privateData`.
        pub private_data: Option<PrivateData> = "privateData",
    }
}

impl Extensions {
    /// Extensions that carry `xml` as `<privateData><private>xml</private></privateData>`.
    pub fn private(xml: RawXml) -> Self {
        Self {
            private_data: Some(PrivateData::Private(xml)),
        }
    }

    /// The XML inside `<private>`, if that is what the extensions carry.
    pub fn private_xml(&self) -> Option<&RawXml> {
        match &self.private_data {
            Some(PrivateData::Private(xml)) => Some(xml),
            _ => None,
        }
    }
}

/// Opaque application data (`correlatorData`, `userData`): hexBinary in `<string>` or XML in
/// `<private>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserData {
    /// `<string>`: hexBinary text.
    String(String),
    /// `<private>`: any XML, kept verbatim.
    Private(RawXml),
}

impl Field for UserData {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        if let Some(string) = element.child(&["string"]) {
            return Ok(Self::String(string.string()));
        }
        if let Some(private) = element.child(&["private"]) {
            return Ok(Self::Private(RawXml::from_element(private)));
        }
        Ok(Self::String(element.string()))
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::String(hex) => writer.leaf("string", hex),
            Self::Private(xml) => xml.write(writer, "private"),
        }
        writer.close(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: Field>(xml: &str) -> Result<T, Error> {
        let doc = Doc::parse(xml)?;
        T::read(doc.root(), "test")
    }

    fn write<T: Field>(value: &T) -> String {
        let mut out = Vec::new();
        value.write(&mut Writer::new(&mut out, true), "t");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn device_refs_accept_all_shapes() {
        let id = DeviceId::new("201").unwrap();
        assert_eq!(
            read::<DeviceRef>("<x><deviceIdentifier>201</deviceIdentifier></x>").unwrap(),
            DeviceRef::Identifier(id.clone())
        );
        assert_eq!(
            read::<DeviceRef>("<x>201</x>").unwrap(),
            DeviceRef::Identifier(id)
        );
        assert_eq!(
            read::<DeviceRef>("<x><notKnown/></x>").unwrap(),
            DeviceRef::NotKnown
        );
        assert_eq!(
            read::<DeviceRef>("<x><restricted/></x>").unwrap(),
            DeviceRef::Restricted
        );
        assert!(matches!(
            read::<DeviceRef>("<x/>"),
            Err(Error::MissingElement { .. })
        ));
        assert_eq!(
            read::<RedirectionDevice>("<x><notRequired/></x>").unwrap(),
            RedirectionDevice::NotRequired
        );
    }

    #[test]
    fn services_permitted_use_schema_group_names() {
        let services = ServicesPermitted {
            call_control: CallControlServices::empty()
                .with(CallControlService::ClearConnection)
                .with(CallControlService::HoldCall),
            ..ServicesPermitted::default()
        };
        assert_eq!(
            write(&services),
            "<t><callControlServices><clearConnection>true</clearConnection><holdCall>true\
             </holdCall></callControlServices><callAssociatedServices/><mediaAttachementServices/>\
             <routeingServices/><voiceServices/></t>"
        );
        let back: ServicesPermitted = read(
            "<t><callControlServices><clearConnection>true</clearConnection>\
             <holdCall>false</holdCall><bogus>true</bogus></callControlServices>\
             <callAssociatedServices/><mediaAttachementServices/><routeingServices/>\
             <voiceServices/></t>",
        )
        .unwrap();
        assert!(
            back.call_control
                .contains(CallControlService::ClearConnection)
        );
        assert!(!back.call_control.contains(CallControlService::HoldCall));
    }

    #[test]
    fn event_causes_are_complete_and_open() {
        assert_eq!(EventCause::ALL.len(), 120);
        assert_eq!(EventCause::parse("newCall"), EventCause::NewCall);
        assert_eq!(
            EventCause::parse("vendorCause"),
            EventCause::Other("vendorCause".into())
        );
    }

    #[test]
    fn raw_xml_must_be_well_formed_content() {
        assert!(RawXml::new("<cti:devices xmlns:cti=\"urn:cti-gateway:1\"/>text").is_ok());
        assert_eq!(RawXml::new("<a>"), Err(ValueError::NotXml));
        assert_eq!(RawXml::new("</r><r>"), Err(ValueError::NotXml));
        assert_eq!(RawXml::new("a & b"), Err(ValueError::NotXml));
    }

    #[test]
    fn call_linkage_data_round_trips() {
        let data = CallLinkageData {
            switching_sub_domain_name: Some("pbx1".into()),
            linkage_id: CallLinkageId::GloballyUnique("00112233445566778899AABBCCDDEEFF".into()),
        };
        let xml = write(&data);
        assert_eq!(read::<CallLinkageData>(&xml).unwrap(), data);
    }
}
