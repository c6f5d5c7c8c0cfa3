//! The gateway's own event model: what happened at one device, in CSTA terms but independent
//! of the wire encoding.
//!
//! The bridge produces these from PBX records; the CSTA server turns each into a
//! `csta::events::Event` for every monitor that covers the device. Keeping them small and
//! comparable lets the bridge be tested with plain tables.

use std::fmt;
use std::sync::Arc;

/// A CSTA device identifier as the gateway publishes it (e.g. `201`, `+4930555123`).
#[derive(Clone, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct DeviceId(Arc<str>);

impl DeviceId {
    /// Wraps an identifier.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for DeviceId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for DeviceId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// A call identifier: one per PBX call, identical for every monitor, stable for the call's
/// life (derived from the PBX's `conf` GUID).
#[derive(Clone, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct CallId(Arc<str>);

impl CallId {
    /// Wraps an identifier.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for CallId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CallId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// A party of a call as CSTA shows it.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub enum Party {
    /// A device with a known identifier (a line, or an external number).
    Device(DeviceId),
    /// Presentation restricted (CLIR).
    Restricted,
    /// No number known.
    #[default]
    NotKnown,
}

impl Party {
    /// A known device.
    pub fn device(id: &str) -> Self {
        Self::Device(DeviceId::new(id))
    }

    /// The device id, if known.
    pub fn id(&self) -> Option<&DeviceId> {
        match self {
            Self::Device(id) => Some(id),
            Self::Restricted | Self::NotKnown => None,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(id) => f.write_str(id.as_str()),
            Self::Restricted => f.write_str("restricted"),
            Self::NotKnown => f.write_str("unknown"),
        }
    }
}

/// The state of the monitored device's own connection (ECMA-269 local connection state).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum LocalState {
    /// No connection.
    #[default]
    Null,
    /// Off-hook, dialling.
    Initiated,
    /// Ringing.
    Alerting,
    /// Talking (also the caller while the far end rings).
    Connected,
    /// On hold.
    Hold,
    /// Queued.
    Queued,
    /// Failed (busy, unobtainable).
    Fail,
}

/// Why an event happened (the subset of ECMA-269 `EventCause` the gateway produces).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Cause {
    /// A new call.
    NewCall,
    /// Caused by a MakeCall request.
    MakeCall,
    /// Normal clearing.
    NormalClearing,
    /// Consultation.
    Consultation,
    /// Transfer.
    Transfer,
    /// Single-step transfer.
    SingleStepTransfer,
    /// Conference.
    Conference,
    /// Alternate (swap).
    Alternate,
    /// Call pickup.
    CallPickup,
    /// Deflection / redirection.
    Redirected,
    /// Forwarding (immediate).
    CallForwardImmediate,
    /// Forwarding on busy.
    CallForwardBusy,
    /// Forwarding on no answer.
    CallForwardNoAnswer,
    /// Forwarding of unknown kind.
    CallForward,
    /// Busy.
    Busy,
    /// Not answered.
    CallNotAnswered,
    /// The caller gave up.
    CallCancelled,
    /// Destination not obtainable.
    DestNotObtainable,
    /// Unallocated number.
    NumberUnallocated,
    /// Rejected / incompatible destination.
    IncompatibleDestination,
    /// Network congestion.
    NetworkCongestion,
    /// Resources not available.
    ResourcesNotAvailable,
    /// Entering a queue / distribution.
    EnteringDistribution,
    /// Parked.
    Park,
    /// Do not disturb.
    DoNotDisturb,
    /// Maintenance (link down / up).
    Maintenance,
    /// Nothing special.
    Normal,
}

/// Forwarding kinds as CSTA names them.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum ForwardKind {
    /// Forward immediately (innovaphone `cfu`).
    Immediate,
    /// Forward on busy (`cfb`).
    Busy,
    /// Forward on no answer (`cfnr`).
    NoAnswer,
}

/// One item of a transferred/conferenced call's connection list.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct ConnectionChange {
    /// The connection's device.
    pub device: Party,
    /// The call id before.
    pub old_call: CallId,
    /// The call id after.
    pub new_call: CallId,
}

/// What happened (ECMA-269 events the gateway produces, with their central fields).
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum EventKind {
    /// The device went off-hook / a call was initiated at it.
    ServiceInitiated {
        /// Cause (`makeCall` for calls made through CSTA).
        cause: Cause,
    },
    /// The device dialled a destination.
    Originated {
        /// The calling device.
        calling: Party,
        /// The called device.
        called: Party,
        /// Cause.
        cause: Cause,
    },
    /// A device is ringing.
    Delivered {
        /// The ringing device.
        alerting: Party,
        /// The caller.
        calling: Party,
        /// The originally called device.
        called: Party,
        /// The device that last redirected the call, if any.
        last_redirection: Option<Party>,
        /// Cause.
        cause: Cause,
    },
    /// A device answered.
    Established {
        /// The answering device.
        answering: Party,
        /// The caller.
        calling: Party,
        /// The originally called device.
        called: Party,
        /// The device that last redirected the call, if any.
        last_redirection: Option<Party>,
        /// Cause.
        cause: Cause,
    },
    /// A device put the call on hold.
    Held {
        /// The holding device.
        holding: Party,
        /// Cause.
        cause: Cause,
    },
    /// A device retrieved the call.
    Retrieved {
        /// The retrieving device.
        retrieving: Party,
        /// Cause.
        cause: Cause,
    },
    /// A connection left the call.
    ConnectionCleared {
        /// The device whose connection ended.
        dropped: Party,
        /// The device that released.
        releasing: Party,
        /// Cause.
        cause: Cause,
    },
    /// The whole call ended.
    CallCleared {
        /// Cause.
        cause: Cause,
    },
    /// The call was diverted away from a device.
    Diverted {
        /// The device the call left.
        diverting: Party,
        /// The new destination.
        new_destination: Party,
        /// Cause (redirected, callForward..., callPickup).
        cause: Cause,
    },
    /// A transfer joined two calls.
    Transferred {
        /// The held call (its id survives).
        primary_old: CallId,
        /// The active call (absent for single-step transfer).
        secondary_old: Option<CallId>,
        /// The transferring device.
        transferring: Party,
        /// The device the call was transferred to.
        transferred_to: Party,
        /// How old connections map to the surviving call.
        connections: Vec<ConnectionChange>,
        /// Cause.
        cause: Cause,
    },
    /// A conference was formed.
    Conferenced {
        /// The held call.
        primary_old: CallId,
        /// The active call.
        secondary_old: Option<CallId>,
        /// The device that formed the conference.
        conferencing: Party,
        /// The party added.
        added: Party,
        /// The conference's connections.
        connections: Vec<ConnectionChange>,
        /// Cause.
        cause: Cause,
    },
    /// The call failed (busy, unobtainable, not answered).
    Failed {
        /// The failing device.
        failing: Party,
        /// The caller.
        calling: Party,
        /// The called device.
        called: Party,
        /// Cause.
        cause: Cause,
    },
    /// The call was queued at a waiting queue / group.
    Queued {
        /// The queue device.
        queue: Party,
        /// The caller.
        calling: Party,
        /// The called device.
        called: Party,
        /// Cause.
        cause: Cause,
    },
    /// The call left the PBX through a trunk.
    NetworkReached {
        /// The trunk used.
        trunk: Party,
        /// The caller.
        calling: Party,
        /// The called number.
        called: Party,
        /// Cause.
        cause: Cause,
    },
    /// Digits were dialled during the call.
    DigitsDialed {
        /// The digits.
        digits: String,
    },
    /// Forwarding of the device changed.
    Forwarding {
        /// Which forwarding.
        kind: ForwardKind,
        /// On or off.
        on: bool,
        /// The destination when on.
        to: Option<String>,
    },
    /// Do-not-disturb of the device changed.
    DoNotDisturb {
        /// On or off.
        on: bool,
    },
    /// The device is usable again (registered, PBX link up).
    BackInService,
    /// The device is unusable (unregistered, PBX link down).
    OutOfService,
}

/// An event at one device: `device` is the monitored device, `call` the call concerned and
/// `local` the state of the device's own connection in it after the event.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct DeviceEvent {
    /// The device whose monitors receive the event.
    pub device: DeviceId,
    /// The call, for call events.
    pub call: Option<CallId>,
    /// The device's own connection state after the event.
    pub local: LocalState,
    /// What happened.
    pub kind: EventKind,
    /// The PBX's conf GUID of the call (the global correlation id), when known.
    pub conf: Option<Arc<str>>,
}
