//! Typed records of the innovaphone PBX SOAP API (`UserInfo`, `CallInfo`, `No`, `Info`, ...).
//!
//! Field names follow the WSDL (`e164`, `h323`, `cn`); the WSDL element `type` is called `kind`
//! here. Every field has a default, because the PBX (and SOAP toolkits) omit elements freely and
//! the decoder fills what is missing with `""`, `0`, `false` or an empty list.

use std::fmt;

/// One extra information item (`Info`): a typed pair of an integer and a string value.
///
/// Which value is meaningful depends on `kind`: `conf` carries the call's conference GUID in
/// `vals`, `cause` a Q.850 cause in `vali` and its text in `vals`, `fake` and `loc` strings.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Info {
    /// The WSDL `type`, e.g. `conf`, `cause`, `uui`, `fake`, `loc`.
    pub kind: String,
    /// Integer value.
    pub vali: i32,
    /// String value.
    pub vals: String,
}

impl Info {
    /// Builds an item with a string value.
    pub fn string(kind: &str, vals: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            vali: 0,
            vals: vals.into(),
        }
    }

    /// Builds an item with an integer and a string value.
    pub fn new(kind: &str, vali: i32, vals: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            vali,
            vals: vals.into(),
        }
    }
}

/// The role of a party in a call (`No.type`). Unknown values are kept.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum PartyRole {
    /// `this`: the monitored (local) side.
    This,
    /// `peer`: the current remote end.
    #[default]
    Peer,
    /// `leg2`: the last diverting user.
    Leg2,
    /// `leg2orig`: the first diverting user.
    Leg2Orig,
    /// `leg1`: call forward / blind transfer towards the calling end.
    Leg1,
    /// `ct`: the last user who transferred the call, or where a picked call came from.
    Ct,
    /// `parked-to`: the endpoint the call was parked at.
    ParkedTo,
    /// `picking`: marks a call created by a pickup.
    Picking,
    /// `xfer`: the number the call was transferred to (with `UserInitialize(xfer=true)`).
    Xfer,
    /// Any other value, kept as received.
    Other(String),
}

impl PartyRole {
    /// Parses the wire value; unknown values become [`PartyRole::Other`].
    pub fn parse(value: &str) -> Self {
        match value {
            "this" => Self::This,
            "peer" => Self::Peer,
            "leg2" => Self::Leg2,
            "leg2orig" => Self::Leg2Orig,
            "leg1" => Self::Leg1,
            "ct" => Self::Ct,
            "parked-to" => Self::ParkedTo,
            "picking" => Self::Picking,
            "xfer" => Self::Xfer,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::This => "this",
            Self::Peer => "peer",
            Self::Leg2 => "leg2",
            Self::Leg2Orig => "leg2orig",
            Self::Leg1 => "leg1",
            Self::Ct => "ct",
            Self::ParkedTo => "parked-to",
            Self::Picking => "picking",
            Self::Xfer => "xfer",
            Self::Other(value) => value,
        }
    }
}

impl fmt::Display for PartyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A party of a call (`No`).
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct No {
    /// The party's role (`type`).
    pub kind: PartyRole,
    /// Long name of the PBX object, empty for external parties.
    pub cn: String,
    /// Display name.
    pub dn: String,
    /// Number.
    pub e164: String,
    /// H.323 / SIP name.
    pub h323: String,
}

/// The signalling message that caused a [`CallInfo`] (`msg`). Unknown values are
/// kept, because the PBX's vocabulary is larger than what is documented.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Msg {
    /// No message (empty string).
    #[default]
    None,
    /// `x-setup`: the PBX offers a call to the user's device.
    XSetup,
    /// `r-setup`: the user's device starts a call.
    RSetup,
    /// `x-setup-ack`: the PBX asks the device for more digits.
    XSetupAck,
    /// `x-call-proc`: the PBX is proceeding with the user's call.
    XCallProc,
    /// `r-call-proc`: the device is proceeding with an offered call.
    RCallProc,
    /// `x-alert`: the far end rings for the user's call.
    XAlert,
    /// `r-alert`: the user's device rings.
    RAlert,
    /// `x-conn`: the far end answered the user's call.
    XConn,
    /// `r-conn`: the user's device answered.
    RConn,
    /// `x-disc`: disconnect sent towards the device.
    XDisc,
    /// `r-disc`: disconnect received from the device.
    RDisc,
    /// `x-rel`: release sent towards the device.
    XRel,
    /// `r-rel`: release received from the device.
    RRel,
    /// `x-info`: INFO (e.g. digits) sent towards the device.
    XInfo,
    /// `r-info`: INFO received from the device.
    RInfo,
    /// `x-fty`: facility (hold, retrieve, ...) sent towards the device.
    XFacility,
    /// `r-fty`: facility received from the device.
    RFacility,
    /// `r-ct`: call-transfer notification (the peer changed).
    RCt,
    /// `x-ct`: call-transfer notification sent towards the device.
    XCt,
    /// `del`: the call record is gone; always the last record of a call.
    Del,
    /// `msg-sent`: a `UserMessage` was delivered.
    MsgSent,
    /// Any other value, kept as received.
    Other(String),
}

impl Msg {
    /// Parses the wire value; unknown values become [`Msg::Other`].
    pub fn parse(value: &str) -> Self {
        match value {
            "" => Self::None,
            "x-setup" => Self::XSetup,
            "r-setup" => Self::RSetup,
            "x-setup-ack" => Self::XSetupAck,
            "x-call-proc" => Self::XCallProc,
            "r-call-proc" => Self::RCallProc,
            "x-alert" => Self::XAlert,
            "r-alert" => Self::RAlert,
            "x-conn" => Self::XConn,
            "r-conn" => Self::RConn,
            "x-disc" => Self::XDisc,
            "r-disc" => Self::RDisc,
            "x-rel" => Self::XRel,
            "r-rel" => Self::RRel,
            "x-info" => Self::XInfo,
            "r-info" => Self::RInfo,
            "x-fty" => Self::XFacility,
            "r-fty" => Self::RFacility,
            "r-ct" => Self::RCt,
            "x-ct" => Self::XCt,
            "del" => Self::Del,
            "msg-sent" => Self::MsgSent,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::None => "",
            Self::XSetup => "x-setup",
            Self::RSetup => "r-setup",
            Self::XSetupAck => "x-setup-ack",
            Self::XCallProc => "x-call-proc",
            Self::RCallProc => "r-call-proc",
            Self::XAlert => "x-alert",
            Self::RAlert => "r-alert",
            Self::XConn => "x-conn",
            Self::RConn => "r-conn",
            Self::XDisc => "x-disc",
            Self::RDisc => "r-disc",
            Self::XRel => "x-rel",
            Self::RRel => "r-rel",
            Self::XInfo => "x-info",
            Self::RInfo => "r-info",
            Self::XFacility => "x-fty",
            Self::RFacility => "r-fty",
            Self::RCt => "r-ct",
            Self::XCt => "x-ct",
            Self::Del => "del",
            Self::MsgSent => "msg-sent",
            Self::Other(value) => value,
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The call phase in the low nibble of [`CallState`].
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum CallPhase {
    /// 0: init / none.
    Idle,
    /// 1: setup.
    Setup,
    /// 2: setup acknowledged (overlap dialling).
    SetupAck,
    /// 3: call proceeding.
    CallProc,
    /// 4: alerting.
    Alert,
    /// 5: connected.
    Connected,
    /// 6: disconnect sent.
    DisconnectSent,
    /// 7: disconnect received.
    DisconnectReceived,
    /// 8: parked.
    Parked,
    /// 9–15: not documented; the raw value is kept.
    Unknown(u8),
}

impl CallPhase {
    /// The 4-bit wire value.
    pub fn value(self) -> u8 {
        match self {
            Self::Idle => 0x0,
            Self::Setup => 0x1,
            Self::SetupAck => 0x2,
            Self::CallProc => 0x3,
            Self::Alert => 0x4,
            Self::Connected => 0x5,
            Self::DisconnectSent => 0x6,
            Self::DisconnectReceived => 0x7,
            Self::Parked => 0x8,
            Self::Unknown(value) => value & 0x0f,
        }
    }

    fn from_value(value: u8) -> Self {
        match value & 0x0f {
            0x0 => Self::Idle,
            0x1 => Self::Setup,
            0x2 => Self::SetupAck,
            0x3 => Self::CallProc,
            0x4 => Self::Alert,
            0x5 => Self::Connected,
            0x6 => Self::DisconnectSent,
            0x7 => Self::DisconnectReceived,
            0x8 => Self::Parked,
            other => Self::Unknown(other),
        }
    }
}

/// The `CallInfo.state` bitfield.
///
/// Direction is PBX-centric: [`CallState::outbound`] is set when the PBX calls the monitored
/// user's terminal, that is for an *incoming* call from the user's point of view.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct CallState(pub i32);

impl CallState {
    /// Bit 0x80: the PBX calls the user's terminal (an incoming call for the user).
    pub const OUTBOUND: i32 = 0x80;
    /// Bit 0x100: this side holds the call.
    pub const HELD: i32 = 0x100;
    /// Bit 0x200: the peer holds the call.
    pub const HELD_BY_PEER: i32 = 0x200;
    /// Bit 0x400: waiting (documented for the RCC API).
    pub const WAITING: i32 = 0x400;

    /// Builds a state from its parts.
    pub fn new(phase: CallPhase, outbound: bool) -> Self {
        let mut value = i32::from(phase.value());
        if outbound {
            value |= Self::OUTBOUND;
        }
        Self(value)
    }

    /// Returns a copy with `bit` set or cleared.
    #[must_use]
    pub fn with(self, bit: i32, on: bool) -> Self {
        if on {
            Self(self.0 | bit)
        } else {
            Self(self.0 & !bit)
        }
    }

    /// Returns a copy with the phase replaced.
    #[must_use]
    pub fn with_phase(self, phase: CallPhase) -> Self {
        Self((self.0 & !0x0f) | i32::from(phase.value()))
    }

    /// The call phase (low nibble).
    pub fn phase(self) -> CallPhase {
        // Masked to 4 bits, so the cast cannot truncate.
        CallPhase::from_value((self.0 & 0x0f) as u8)
    }

    /// Whether the PBX calls the user's terminal (the call is incoming for the user).
    pub fn outbound(self) -> bool {
        self.0 & Self::OUTBOUND != 0
    }

    /// Whether this side holds the call.
    pub fn held(self) -> bool {
        self.0 & Self::HELD != 0
    }

    /// Whether the peer holds the call.
    pub fn held_by_peer(self) -> bool {
        self.0 & Self::HELD_BY_PEER != 0
    }

    /// Whether the call is parked.
    pub fn parked(self) -> bool {
        self.phase() == CallPhase::Parked
    }

    /// Whether the waiting bit is set.
    pub fn waiting(self) -> bool {
        self.0 & Self::WAITING != 0
    }
}

/// One leg of a call as seen from one user handle (`CallInfo`).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct CallInfo {
    /// The user handle (from `UserInitialize`) this leg belongs to.
    pub user: i32,
    /// The call handle, used in `UserClear`, `UserConnect`, ...
    pub call: i32,
    /// Unused by the PBX (0).
    pub reg: i32,
    /// False exactly once, on the final (`del`) record of the call.
    pub active: bool,
    /// The state bitfield.
    pub state: CallState,
    /// Parties related to the call.
    pub no: Vec<No>,
    /// The signalling message that caused this record.
    pub msg: Msg,
    /// Extra information (`conf`, `cause`, `uui`).
    pub info: Vec<Info>,
}

impl CallInfo {
    /// The first party with the given role.
    pub fn party(&self, role: &PartyRole) -> Option<&No> {
        self.no.iter().find(|no| &no.kind == role)
    }

    /// The first info item of the given kind.
    pub fn info(&self, kind: &str) -> Option<&Info> {
        self.info.iter().find(|info| info.kind == kind)
    }

    /// The conference GUID shared by every leg of one call (`info type="conf"`), if present.
    pub fn conf(&self) -> Option<&str> {
        self.info("conf")
            .map(|info| info.vals.as_str())
            .filter(|vals| !vals.is_empty())
    }
}

/// A group membership (`Group`).
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Group {
    /// Group name.
    pub group: String,
    /// Whether the user is an *active* member (sees the passive members' events).
    pub active: bool,
}

/// Presence status (`open` or `closed`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum PresenceStatus {
    /// `closed`.
    Closed,
    /// `open`.
    Open,
}

impl PresenceStatus {
    /// Parses the wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// A presence (`Presence`, pbx800 and later).
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Presence {
    /// `open` or `closed`.
    pub status: Option<PresenceStatus>,
    /// Activity as sent (`away`, `busy`, `dnd`, `on-the-phone`, ...); the WSDL enumeration is
    /// not closed in practice, so the string is kept.
    pub activity: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
}

impl Presence {
    /// Whether the activity is `dnd` (do not disturb, pbx10 and later).
    pub fn dnd(&self) -> bool {
        self.activity.as_deref() == Some("dnd")
    }
}

/// A PBX object or registration as seen by a session (`UserInfo`).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct UserInfo {
    /// True while the object exists in the session's scope; a final record has `false`.
    pub active: bool,
    /// Long name; the key for `UserInitialize`, `Devices`, `Calls` and `Admin`. Empty on the
    /// record that ends the initial dump.
    pub cn: String,
    /// Display name.
    pub dn: String,
    /// Object type: `ep`, `gw`, `waiting`, `broadcast`, ...
    pub kind: String,
    /// Extension number.
    pub e164: String,
    /// Name / H.323 alias / SIP user.
    pub h323: String,
    /// 1 = registered, 0 = not.
    pub state: i32,
    /// Number of current calls.
    pub channel: i32,
    /// Number of alerting calls.
    pub alert: i32,
    /// Object GUID (32 hex characters).
    pub guid: String,
    /// Group memberships.
    pub groups: Vec<Group>,
    /// Location the object is homed at when not local to this PBX.
    pub loc: String,
    /// Numbering node name.
    pub node: String,
    /// Object type as configured.
    pub object: String,
    /// Node prefix.
    pub nodenum: String,
    /// The object's configuration changed: re-read it (`Devices`, `Admin show`).
    pub cfg: bool,
    /// Presence (pbx800 and later).
    pub presence: Option<Presence>,
    /// PBX domain (pbx10).
    pub domain: String,
    /// The h323 name is the primary email address (pbx10).
    pub h323email: bool,
    /// Email addresses (pbx10).
    pub email: Vec<String>,
    /// Configured "Send Number" (pbx11 only; pbx10 sends it as an `info` item `fake`).
    pub fake: String,
    /// Extra information.
    pub info: Vec<Info>,
}

impl UserInfo {
    /// Whether this is the empty record that ends the initial dump after `Initialize`.
    pub fn is_end_of_dump(&self) -> bool {
        self.cn.is_empty()
    }

    /// Whether the object's terminal is registered.
    pub fn registered(&self) -> bool {
        self.state != 0
    }
}

/// A configured device of a user (`Device`).
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Device {
    /// Hardware id / device name; the key for `UserInitialize(hw)`.
    pub hw: String,
    /// Human-readable description.
    pub text: String,
}

/// A registration record (`RegInfo`); documented as unused in Poll results.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct RegInfo {
    /// Whether the registration exists.
    pub active: bool,
    /// User handle.
    pub user: i32,
    /// Registration handle.
    pub reg: i32,
    /// Hardware id.
    pub hw: String,
    /// SOAP URL of the registration.
    pub soap: String,
    /// Extra information.
    pub info: Vec<Info>,
}

/// The result of `Poll` (`AnyInfo`): records in event order, per kind.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct AnyInfo {
    /// User records.
    pub user: Vec<UserInfo>,
    /// Call records.
    pub call: Vec<CallInfo>,
    /// Registration records (unused by the PBX).
    pub reg: Vec<RegInfo>,
    /// Info records (unused by the PBX).
    pub info: Vec<Info>,
}

impl AnyInfo {
    /// Whether the poll returned nothing (the long-poll timed out).
    pub fn is_empty(&self) -> bool {
        self.user.is_empty() && self.call.is_empty() && self.reg.is_empty() && self.info.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_state_bits() {
        let state = CallState(0x185);
        assert_eq!(state.phase(), CallPhase::Connected);
        assert!(state.outbound());
        assert!(state.held());
        assert!(!state.held_by_peer());
        let state = CallState::new(CallPhase::Alert, true).with(CallState::HELD_BY_PEER, true);
        assert_eq!(state.0, 0x284);
        assert_eq!(state.with_phase(CallPhase::Parked).0, 0x288);
        assert!(state.with_phase(CallPhase::Parked).parked());
        assert_eq!(CallState(0x0d).phase(), CallPhase::Unknown(0x0d));
    }

    #[test]
    fn msg_and_role_keep_unknown_values() {
        for wire in [
            "x-setup",
            "r-rel",
            "del",
            "x-fty",
            "msg-sent",
            "r-facility-x",
            "",
        ] {
            assert_eq!(Msg::parse(wire).as_str(), wire);
        }
        assert_eq!(
            Msg::parse("r-facility-x"),
            Msg::Other("r-facility-x".into())
        );
        for wire in [
            "this",
            "peer",
            "leg2orig",
            "parked-to",
            "picking",
            "xfer",
            "new-role",
        ] {
            assert_eq!(PartyRole::parse(wire).as_str(), wire);
        }
    }
}
