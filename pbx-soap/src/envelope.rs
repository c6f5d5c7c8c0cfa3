//! SOAP envelope encoding and decoding for the PBX API: pure functions over bytes, no I/O.
//!
//! Both directions are here, because the client and the PBX simulator share them:
//!
//! - client side: [`encode_request`] writes a request the way a WSDL-generated client of the
//!   chosen [`WsdlVersion`] writes it (rpc/encoded with `xsi:type` on every part, or
//!   doc/literal for pbx11_00); [`decode_response`] reads the PBX's answer leniently.
//! - server side: [`decode_request`] reads any request leniently, and
//!   [`encode_response`] / [`encode_fault`] answer in either [`Dialect`].
//!
//! Decoding matches local names only, ignores prefixes, namespace URIs and `xsi:type`, takes
//! any element name for array members, reads both nested (rpc) and flattened (doc/literal)
//! arrays, fills missing fields with `""`, `0`, `false` or empty lists, and accepts
//! `true`/`false`/`1`/`0` as booleans. Values that are present but unreadable (an integer
//! that is not one) are errors: guessing would lose the PBX's data silently.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use quick_xml::Reader;
use quick_xml::escape::{partial_escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};

use crate::error::{DecodeError, Error};
use crate::records::{
    AnyInfo, CallInfo, CallState, Device, Group, Info, Msg, No, PartyRole, Presence,
    PresenceStatus, RegInfo, UserInfo,
};

/// Namespace of the PBX API.
const PBX_NS: &str = "http://innovaphone.com/pbx";
/// Namespace the rpc WSDLs give the bodies of `Echo` and `UserEnd`.
const BINDING_NS: &str = "http://innovaphone/binding";
const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP_ENC_NS: &str = "http://schemas.xmlsoap.org/soap/encoding/";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The WSDL revision a client speaks: it decides the `Initialize` flags, the parts sent and
/// the dialect.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum WsdlVersion {
    /// pbx800 (rpc/encoded, flags `v`..`v800`): what the innovaphone TSP speaks; for V8 boxes.
    Pbx800,
    /// pbx10_00 (rpc/encoded, flags `v`..`vx1000`): innovaphone's recommendation up to V14.
    #[default]
    Pbx1000,
    /// pbx11_00 (doc/literal, flags `v`..`v800`, `vx1100`): for strict toolkits.
    Pbx1100,
}

impl WsdlVersion {
    /// The SOAP dialect of this revision.
    pub fn dialect(self) -> Dialect {
        match self {
            Self::Pbx800 | Self::Pbx1000 => Dialect::RpcEncoded,
            Self::Pbx1100 => Dialect::DocLiteral,
        }
    }

    /// The version flags a client of this revision sends.
    pub fn flags(self) -> InitializeFlags {
        let pbx800 = InitializeFlags {
            v: true,
            v501: true,
            v700: true,
            v800: true,
            ..InitializeFlags::NONE
        };
        match self {
            Self::Pbx800 => pbx800,
            Self::Pbx1000 => InitializeFlags {
                vx1000: true,
                ..pbx800
            },
            Self::Pbx1100 => InitializeFlags {
                vx1100: true,
                ..pbx800
            },
        }
    }
}

/// The two SOAP styles of the PBX's WSDLs.
///
/// Exhaustive: the SOAP API is frozen.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum Dialect {
    /// Classic WSDLs up to pbx10_00: typed parts, nested SOAP-ENC arrays.
    #[default]
    RpcEncoded,
    /// pbx11_00: namespace-qualified children, flattened arrays.
    DocLiteral,
}

/// Names of array members in rpc/encoded responses.
///
/// Exhaustive: these are the two styles seen or declared.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum ArrayNaming {
    /// What real PBXs were observed to send: members named like their wrapper (`user`, `call`,
    /// `No`, `groups`), `device` for `Devices`, and `item` for `FindUser` results and `info`.
    #[default]
    Observed,
    /// What the WSDL declares: every member is `item`.
    Item,
}

/// The version flags of `Initialize` (booleans), also repeated as strings by `FindUser` and
/// `LocationUrl` (where a flag is set when its string is non-empty).
///
/// The PBX learns from them which WSDL revision the client was written against; `vx1100`
/// selects doc/literal answers.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct InitializeFlags {
    /// `v` (pbx501 and later).
    pub v: bool,
    /// `v501`.
    pub v501: bool,
    /// `v700`.
    pub v700: bool,
    /// `v800`.
    pub v800: bool,
    /// `vx1000` (pbx10_00).
    pub vx1000: bool,
    /// `vx1100` (pbx11_00, doc/literal).
    pub vx1100: bool,
}

impl InitializeFlags {
    /// No flag set: an `Initialize` of the original pbx500 WSDL.
    pub const NONE: Self = Self {
        v: false,
        v501: false,
        v700: false,
        v800: false,
        vx1000: false,
        vx1100: false,
    };

    /// The dialect the PBX answers in: doc/literal when `vx1100` is set.
    pub fn dialect(self) -> Dialect {
        if self.vx1100 {
            Dialect::DocLiteral
        } else {
            Dialect::RpcEncoded
        }
    }

    /// The highest WSDL revision flagged, as the PBX numbers it (1100, 1000, 800, 700, 501,
    /// 500), or 0 for none; the simulator gates version-specific fields on it.
    pub fn level(self) -> u16 {
        [
            (self.vx1100, 1100),
            (self.vx1000, 1000),
            (self.v800, 800),
            (self.v700, 700),
            (self.v501, 501),
            (self.v, 500),
        ]
        .into_iter()
        .find_map(|(set, level)| set.then_some(level))
        .unwrap_or(0)
    }

    /// Each flag with its part name, in WSDL order.
    fn parts(self) -> [(&'static str, bool); 6] {
        [
            ("v", self.v),
            ("v501", self.v501),
            ("v700", self.v700),
            ("v800", self.v800),
            ("vx1000", self.vx1000),
            ("vx1100", self.vx1100),
        ]
    }
}

impl Default for InitializeFlags {
    /// The flags of the default revision, pbx10_00.
    fn default() -> Self {
        WsdlVersion::default().flags()
    }
}

macro_rules! operations {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// An operation of the PBX API, named as in the WSDL.
        ///
        /// Exhaustive: the SOAP API is frozen.
        #[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
        pub enum Operation {
            $(#[doc = $doc] $variant,)*
        }

        impl Operation {
            /// Every operation, in WSDL order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The WSDL name, e.g. `UserDTMF`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            fn rpc_action(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!("http://innovaphone.com/pbx#", $name),)*
                }
            }

            fn document_action(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!("http://innovaphone.com/pbx/", $name),)*
                }
            }

            fn response_name(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($name, "Response"),)*
                }
            }
        }
    };
}

operations! {
    Version => "Version": "Version information of the PBX; needs no session.",
    Initialize => "Initialize": "Opens a session; its scope is given by a PBX user.",
    Echo => "Echo": "Checks that a session is still valid.",
    End => "End": "Ends a session.",
    Poll => "Poll": "Long-polls the session's queued events.",
    License => "License": "Internal license query (documented as not for use).",
    Admin => "Admin": "Runs one admin command on the PBX configuration.",
    UserInitialize => "UserInitialize": "Starts call monitoring of a user.",
    UserEnd => "UserEnd": "Stops call monitoring of a user handle.",
    Devices => "Devices": "Lists the configured devices of a user.",
    Calls => "Calls": "Snapshot of a user's calls.",
    FindUser => "FindUser": "Directory lookup, paged.",
    UserFindDestination => "UserFindDestination": "Checks whether a number or name is reachable.",
    LocationUrl => "LocationUrl": "SOAP URL of another PBX of the system.",
    UserLocalNum => "UserLocalNum": "Converts a number into one dialable at the user's node.",
    SetPresence => "SetPresence": "Sets a user's presence.",
    UserLicense => "UserLicense": "Undocumented license query.",
    UserCall => "UserCall": "Places a call from a user.",
    UserClear => "UserClear": "Disconnects a call.",
    UserConnect => "UserConnect": "Answers an offered call.",
    UserHold => "UserHold": "Holds a call.",
    UserRetrieve => "UserRetrieve": "Retrieves a held call.",
    UserTransfer => "UserTransfer": "Connects two calls of a user with each other.",
    UserMediaTransfer => "UserMediaTransfer": "Cross-connects the media of two calls.",
    UserRedirect => "UserRedirect": "Deflects a call, ignoring the destination's forwards.",
    UserReroute => "UserReroute": "Deflects a call, obeying the destination's forwards.",
    UserPickup => "UserPickup": "Picks up (or un-parks) a call.",
    UserPark => "UserPark": "Parks a call.",
    UserCtComplete => "UserCtComplete": "Tells a device that its peer changed.",
    UserRc => "UserRc": "Sends a remote-control code to a phone.",
    UserDtmf => "UserDTMF": "Sends DTMF digits.",
    UserUui => "UserUUI": "Sends user-user information.",
    UserInfo => "UserInfo": "Sends an INFO message (e.g. overlap digits).",
    UserMessage => "UserMessage": "Sends a text message.",
}

impl Operation {
    /// Looks an operation up by its element name; accepts pbx11_00's `UserInfoTx` and any
    /// ASCII case.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("UserInfoTx") {
            return Some(Self::UserInfo);
        }
        Self::ALL
            .iter()
            .copied()
            .find(|operation| operation.name().eq_ignore_ascii_case(name))
    }

    /// The `SOAPAction` value (unquoted) the WSDL of `version` declares, including the rpc
    /// WSDLs' odd `capeconnect:pbx:pbxPortType#UserEnd`.
    pub fn soap_action(self, version: WsdlVersion) -> &'static str {
        match (version.dialect(), self) {
            (Dialect::RpcEncoded, Self::UserEnd) => "capeconnect:pbx:pbxPortType#UserEnd",
            (Dialect::RpcEncoded, _) => self.rpc_action(),
            (Dialect::DocLiteral, _) => self.document_action(),
        }
    }

    /// The body element name in `dialect`: pbx11_00 renames the `UserInfo` operation to
    /// `UserInfoTx` so it does not clash with the record type.
    fn element(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::DocLiteral, Self::UserInfo) => "UserInfoTx",
            _ => self.name(),
        }
    }

    fn response_element(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::DocLiteral, Self::UserInfo) => "UserInfoTxResponse",
            _ => self.response_name(),
        }
    }

    /// The rpc body namespace: the WSDLs bind `Echo` and `UserEnd` to a namespace of their own.
    fn rpc_namespace(self) -> &'static str {
        match self {
            Self::Echo | Self::UserEnd => BINDING_NS,
            _ => PBX_NS,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The parameters of `Initialize`.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct InitializeRequest {
    /// Long name (cn) of the PBX user whose groups define the session's scope.
    pub user: String,
    /// Application name shown in the PBX's admin pages.
    pub appl: String,
    /// The version flags sent; normally [`WsdlVersion::flags`].
    pub flags: InitializeFlags,
}

/// The parameters of `FindUser`. Search by one of `cn`, `h323`, `e164` (or `e164` within
/// `cn`'s node); the value is a starting point in the sorted directory.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct FindUserRequest {
    /// The version flags, sent as the non-empty strings the PBX requires.
    pub flags: InitializeFlags,
    /// Long name to start at.
    pub cn: String,
    /// Name to start at.
    pub h323: String,
    /// Number to start at.
    pub e164: String,
    /// Maximum number of results; the PBX may fail on large values, 50 is safe.
    pub count: i32,
    /// Skip the exact match of the start value (for paging; sent as `xsd:int`).
    pub next: bool,
    /// Include objects hidden from LDAP (pbx10_00).
    pub nohide: bool,
}

impl Default for FindUserRequest {
    /// The first page of 50 entries of the whole directory.
    fn default() -> Self {
        Self {
            flags: InitializeFlags::default(),
            cn: String::new(),
            h323: String::new(),
            e164: String::new(),
            count: 50,
            next: false,
            nohide: false,
        }
    }
}

/// The parameters of `UserCall`; set one of `cn`, `e164`, `h323` as the destination.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct UserCallRequest {
    /// The calling user handle.
    pub user: i32,
    /// Destination long name.
    pub cn: String,
    /// Destination number, in the user's dialling context.
    pub e164: String,
    /// Destination name.
    pub h323: String,
    /// Remote-control code, normally 0.
    pub rc: i32,
    /// Overrides the caller's extension; a leading `r` requests CLIR.
    pub srce164: String,
}

/// A request to the PBX, one variant per operation, with the WSDL parts as fields.
///
/// Parts the PBX ignores (`reg`, `info` of the call-control operations) are not modelled:
/// they are sent as `0` and an empty array. Exhaustive: the SOAP API is frozen.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Request {
    /// `Version()`.
    Version,
    /// `Initialize(user, appl, flags...)`.
    Initialize(InitializeRequest),
    /// `Echo(session, key)`.
    Echo {
        /// Session handle.
        session: i32,
        /// The session's key from `Initialize`.
        key: i32,
    },
    /// `End(session)`.
    End {
        /// Session handle.
        session: i32,
    },
    /// `Poll(session)`.
    Poll {
        /// Session handle.
        session: i32,
    },
    /// `License(session, name)`.
    License {
        /// Session handle.
        session: i32,
        /// License name.
        name: String,
    },
    /// `Admin(xml)`.
    Admin {
        /// One admin command, e.g. `<show><user cn="Alice"/></show>`.
        xml: String,
    },
    /// `UserInitialize(session, user, xfer, disc, hw)`.
    UserInitialize {
        /// Session handle.
        session: i32,
        /// Long name (cn) of the user to monitor.
        user: String,
        /// Keep reporting calls transferred away from the user.
        xfer: bool,
        /// Clear calls only once the phone is on-hook.
        disc: bool,
        /// Monitor only this device (empty: all).
        hw: String,
    },
    /// `UserEnd(user)`.
    UserEnd {
        /// User handle.
        user: i32,
    },
    /// `Devices(session, user)`.
    Devices {
        /// Session handle.
        session: i32,
        /// Long name of the user.
        user: String,
    },
    /// `Calls(session, user)`.
    Calls {
        /// Session handle.
        session: i32,
        /// Long name of the user.
        user: String,
    },
    /// `FindUser(flags..., cn, h323, e164, count, next, nohide)`.
    FindUser(FindUserRequest),
    /// `UserFindDestination(user, e164, h323)`.
    UserFindDestination {
        /// User handle whose node is the starting point.
        user: i32,
        /// Number to check.
        e164: String,
        /// Name to check.
        h323: String,
    },
    /// `LocationUrl(flags..., loc, tls)`.
    LocationUrl {
        /// The version flags, sent as non-empty strings.
        flags: InitializeFlags,
        /// Location name, as in `UserInfo.loc`.
        loc: String,
        /// Ask for an `https` URL.
        tls: bool,
    },
    /// `UserLocalNum(user, num)`.
    UserLocalNum {
        /// User handle.
        user: i32,
        /// Node number plus extension to convert.
        num: String,
    },
    /// `SetPresence(presence, im, contact, guid, h323)`.
    SetPresence {
        /// The presence to set.
        presence: Presence,
        /// Whether the user is reachable by instant messaging.
        im: bool,
        /// Contact URI, e.g. `tel:` or `calendar:`.
        contact: String,
        /// Object GUID of the user, or `*` when unknown.
        guid: String,
        /// Name of the user, when the GUID is unknown.
        h323: String,
    },
    /// `UserLicense(guid, type)`.
    UserLicense {
        /// Object GUID.
        guid: String,
        /// License type (the WSDL part `type`).
        kind: String,
    },
    /// `UserCall(user, cn, e164, h323, reg, info, rc, srce164)`.
    UserCall(UserCallRequest),
    /// `UserClear(call, cause, info)`.
    UserClear {
        /// Call handle.
        call: i32,
        /// Q.850 cause (7 bit), e.g. 16 normal, 17 busy.
        cause: i32,
    },
    /// `UserConnect(call)`.
    UserConnect {
        /// Call handle.
        call: i32,
    },
    /// `UserHold(call, remote)`.
    UserHold {
        /// Call handle.
        call: i32,
        /// Music on hold only to the held party (V8 hotfix 23 and later).
        remote: bool,
    },
    /// `UserRetrieve(call)`.
    UserRetrieve {
        /// Call handle.
        call: i32,
    },
    /// `UserTransfer(a, b)`.
    UserTransfer {
        /// First call handle.
        a: i32,
        /// Second call handle.
        b: i32,
    },
    /// `UserMediaTransfer(a, b, user, peer)`.
    UserMediaTransfer {
        /// First call handle.
        a: i32,
        /// Second call handle.
        b: i32,
        /// Include the user's side.
        user: bool,
        /// Include the peers' side.
        peer: bool,
    },
    /// `UserRedirect(call, cn, e164, h323, info, rc)`.
    UserRedirect {
        /// Call handle.
        call: i32,
        /// Destination long name.
        cn: String,
        /// Destination number.
        e164: String,
        /// Destination name.
        h323: String,
        /// Remote-control code.
        rc: i32,
    },
    /// `UserReroute(call, cn, e164, h323, info)`.
    UserReroute {
        /// Call handle.
        call: i32,
        /// Destination long name.
        cn: String,
        /// Destination number.
        e164: String,
        /// Destination name.
        h323: String,
    },
    /// `UserPickup(user, cn, call, group, reg, info)`; all empty is an implicit pickup.
    UserPickup {
        /// The picking user handle.
        user: i32,
        /// Long name of the user whose call is picked.
        cn: String,
        /// Handle of the call to pick (or of a parked call).
        call: i32,
        /// Group to pick from.
        group: String,
    },
    /// `UserPark(call, cn, position)`.
    UserPark {
        /// Call handle.
        call: i32,
        /// Object to park at (empty: the user).
        cn: String,
        /// Park position, -1 for any.
        position: i32,
    },
    /// `UserCtComplete(call, e164, h323)`.
    UserCtComplete {
        /// Call handle.
        call: i32,
        /// New peer number.
        e164: String,
        /// New peer name.
        h323: String,
    },
    /// `UserRc(call, rc)`.
    UserRc {
        /// Call handle.
        call: i32,
        /// Remote-control code.
        rc: i32,
    },
    /// `UserDTMF(call, recv, dtmf)`.
    UserDtmf {
        /// Call handle.
        call: i32,
        /// Send towards the local user instead of the peer.
        recv: bool,
        /// The digits.
        dtmf: String,
    },
    /// `UserUUI(call, recv, uui)`.
    UserUui {
        /// Call handle.
        call: i32,
        /// Send towards the local user instead of the peer.
        recv: bool,
        /// The user-user information.
        uui: String,
    },
    /// `UserInfo(call, recv, cdpn, key, dsp)` (pbx11_00: `UserInfoTx`).
    UserInfo {
        /// Call handle.
        call: i32,
        /// Send towards the local user instead of the peer.
        recv: bool,
        /// Called party number digits.
        cdpn: String,
        /// Keypad information.
        key: String,
        /// Display text.
        dsp: String,
    },
    /// `UserMessage(user, e164, h323, msg, src_e164, src_h323)`.
    UserMessage {
        /// Sending user handle.
        user: i32,
        /// Destination number.
        e164: String,
        /// Destination name.
        h323: String,
        /// The text.
        msg: String,
        /// Sender number override.
        src_e164: String,
        /// Sender name override.
        src_h323: String,
    },
}

impl Request {
    /// The operation this request calls.
    pub fn operation(&self) -> Operation {
        match self {
            Self::Version => Operation::Version,
            Self::Initialize(_) => Operation::Initialize,
            Self::Echo { .. } => Operation::Echo,
            Self::End { .. } => Operation::End,
            Self::Poll { .. } => Operation::Poll,
            Self::License { .. } => Operation::License,
            Self::Admin { .. } => Operation::Admin,
            Self::UserInitialize { .. } => Operation::UserInitialize,
            Self::UserEnd { .. } => Operation::UserEnd,
            Self::Devices { .. } => Operation::Devices,
            Self::Calls { .. } => Operation::Calls,
            Self::FindUser(_) => Operation::FindUser,
            Self::UserFindDestination { .. } => Operation::UserFindDestination,
            Self::LocationUrl { .. } => Operation::LocationUrl,
            Self::UserLocalNum { .. } => Operation::UserLocalNum,
            Self::SetPresence { .. } => Operation::SetPresence,
            Self::UserLicense { .. } => Operation::UserLicense,
            Self::UserCall(_) => Operation::UserCall,
            Self::UserClear { .. } => Operation::UserClear,
            Self::UserConnect { .. } => Operation::UserConnect,
            Self::UserHold { .. } => Operation::UserHold,
            Self::UserRetrieve { .. } => Operation::UserRetrieve,
            Self::UserTransfer { .. } => Operation::UserTransfer,
            Self::UserMediaTransfer { .. } => Operation::UserMediaTransfer,
            Self::UserRedirect { .. } => Operation::UserRedirect,
            Self::UserReroute { .. } => Operation::UserReroute,
            Self::UserPickup { .. } => Operation::UserPickup,
            Self::UserPark { .. } => Operation::UserPark,
            Self::UserCtComplete { .. } => Operation::UserCtComplete,
            Self::UserRc { .. } => Operation::UserRc,
            Self::UserDtmf { .. } => Operation::UserDtmf,
            Self::UserUui { .. } => Operation::UserUui,
            Self::UserInfo { .. } => Operation::UserInfo,
            Self::UserMessage { .. } => Operation::UserMessage,
        }
    }
}

/// What `Version` returns.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct VersionInfo {
    /// The WSDL revision the PBX implements (`WSDLVersion`, pbx11_00: `VersionResult`).
    pub wsdl_version: i32,
    /// The PBX's gatekeeper id.
    pub gatekeeper_id: String,
    /// The PBX's location name.
    pub location: String,
    /// Firmware, e.g. `V13r2 sr5 IP811[13.4250]`.
    pub firmware_version: String,
    /// Serial number (MAC), e.g. `00-90-33-00-00-2d`.
    pub serial_number: String,
}

/// A response of the PBX; the operation decides the variant (see [`decode_response`]).
///
/// Exhaustive: the SOAP API is frozen.
#[derive(Clone, Debug, Eq, PartialEq)]
// A response lives only from decoding to its consumer; boxing the large variant would only make
// matching on it clumsier.
#[allow(clippy::large_enum_variant)]
pub enum Response {
    /// `Version`.
    Version(VersionInfo),
    /// `Initialize`: the session handle (0 = failure) and its random key.
    Initialize {
        /// Session handle.
        session: i32,
        /// Key for `Echo`.
        key: i32,
    },
    /// An `xsd:int` return: `Echo`, `UserInitialize`, `UserCall`, `UserPickup`, `UserPark`,
    /// `UserMessage`, `SetPresence`.
    Int(i32),
    /// An `xsd:boolean` return: `UserRedirect`, `UserReroute`, `UserLicense`.
    Bool(bool),
    /// An `xsd:string` return: `Admin`, `LocationUrl`, `UserLocalNum`, `License`.
    String(String),
    /// No return value: `End`, `UserEnd` and the call-control operations.
    Void,
    /// `Poll`.
    Poll(AnyInfo),
    /// `Devices`.
    Devices(Vec<Device>),
    /// `Calls`.
    Calls(Vec<CallInfo>),
    /// `FindUser`.
    FindUser(Vec<UserInfo>),
    /// `UserFindDestination`.
    UserFindDestination {
        /// True when the number or name is incomplete.
        incomplete: bool,
        /// The object found, if any.
        user: Option<UserInfo>,
    },
}

/// A SOAP 1.1 fault.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Fault {
    /// `faultcode`, as sent (e.g. `SOAP-ENV:Server`).
    pub code: String,
    /// `faultstring`.
    pub string: String,
}

/// Writes a request envelope for `version` to `out`; send it with
/// [`Operation::soap_action`] as `SOAPAction`.
///
/// rpc/encoded requests carry every part of the WSDL with its `xsi:type`, empty strings rather
/// than nil, and empty `info` arrays. The flags are sent as given in the request. For pbx800,
/// the parts that WSDL lacks (`UserHold.remote`, `FindUser.nohide`, `LocationUrl.tls`) are
/// only sent when set, so a V8 box sees exactly its WSDL unless the caller asks for more.
pub fn encode_request(request: &Request, version: WsdlVersion, out: &mut Vec<u8>) {
    let operation = request.operation();
    let dialect = version.dialect();
    let mut writer = XmlWriter {
        out,
        dialect,
        naming: ArrayNaming::Item,
    };
    let element = operation.element(dialect);
    writer.open_body(element, operation.rpc_namespace());
    let pbx800 = version == WsdlVersion::Pbx800;
    match request {
        Request::Version => {}
        Request::Initialize(initialize) => {
            writer.string("user", &initialize.user);
            writer.string("appl", &initialize.appl);
            for (name, set) in initialize.flags.parts() {
                if set {
                    writer.boolean(name, true);
                }
            }
        }
        Request::Echo { session, key } => {
            writer.int("session", *session);
            writer.int("key", *key);
        }
        Request::End { session } | Request::Poll { session } => writer.int("session", *session),
        Request::License { session, name } => {
            writer.int("session", *session);
            writer.string("name", name);
        }
        Request::Admin { xml } => writer.string("xml", xml),
        Request::UserInitialize {
            session,
            user,
            xfer,
            disc,
            hw,
        } => {
            writer.int("session", *session);
            writer.string("user", user);
            writer.boolean("xfer", *xfer);
            writer.boolean("disc", *disc);
            writer.string("hw", hw);
        }
        Request::UserEnd { user } => writer.int("user", *user),
        Request::Devices { session, user } | Request::Calls { session, user } => {
            writer.int("session", *session);
            writer.string("user", user);
        }
        Request::FindUser(find) => {
            writer.flag_strings(find.flags);
            writer.string("cn", &find.cn);
            writer.string("h323", &find.h323);
            writer.string("e164", &find.e164);
            writer.int("count", find.count);
            writer.int("next", i32::from(find.next));
            if !pbx800 || find.nohide {
                writer.boolean("nohide", find.nohide);
            }
        }
        Request::UserFindDestination { user, e164, h323 } => {
            writer.int("user", *user);
            writer.string("e164", e164);
            writer.string("h323", h323);
        }
        Request::LocationUrl { flags, loc, tls } => {
            writer.flag_strings(*flags);
            writer.string("loc", loc);
            if !pbx800 || *tls {
                writer.boolean("tls", *tls);
            }
        }
        Request::UserLocalNum { user, num } => {
            writer.int("user", *user);
            writer.string("num", num);
        }
        Request::SetPresence {
            presence,
            im,
            contact,
            guid,
            h323,
        } => {
            writer.presence("presence", presence);
            writer.boolean("im", *im);
            writer.string("contact", contact);
            writer.string("guid", guid);
            writer.string("h323", h323);
        }
        Request::UserLicense { guid, kind } => {
            writer.string("guid", guid);
            writer.string("type", kind);
        }
        Request::UserCall(call) => {
            writer.int("user", call.user);
            writer.string("cn", &call.cn);
            writer.string("e164", &call.e164);
            writer.string("h323", &call.h323);
            writer.int("reg", 0);
            writer.info_array_part("info", &[]);
            writer.int("rc", call.rc);
            writer.string("srce164", &call.srce164);
        }
        Request::UserClear { call, cause } => {
            writer.int("call", *call);
            writer.int("cause", *cause);
            writer.info_array_part("info", &[]);
        }
        Request::UserConnect { call } | Request::UserRetrieve { call } => {
            writer.int("call", *call);
        }
        Request::UserHold { call, remote } => {
            writer.int("call", *call);
            if !pbx800 || *remote {
                writer.boolean("remote", *remote);
            }
        }
        Request::UserTransfer { a, b } => {
            writer.int("a", *a);
            writer.int("b", *b);
        }
        Request::UserMediaTransfer { a, b, user, peer } => {
            writer.int("a", *a);
            writer.int("b", *b);
            writer.boolean("user", *user);
            writer.boolean("peer", *peer);
        }
        Request::UserRedirect {
            call,
            cn,
            e164,
            h323,
            rc,
        } => {
            writer.int("call", *call);
            writer.string("cn", cn);
            writer.string("e164", e164);
            writer.string("h323", h323);
            writer.info_array_part("info", &[]);
            writer.int("rc", *rc);
        }
        Request::UserReroute {
            call,
            cn,
            e164,
            h323,
        } => {
            writer.int("call", *call);
            writer.string("cn", cn);
            writer.string("e164", e164);
            writer.string("h323", h323);
            writer.info_array_part("info", &[]);
        }
        Request::UserPickup {
            user,
            cn,
            call,
            group,
        } => {
            writer.int("user", *user);
            writer.string("cn", cn);
            writer.int("call", *call);
            writer.string("group", group);
            writer.int("reg", 0);
            writer.info_array_part("info", &[]);
        }
        Request::UserPark { call, cn, position } => {
            writer.int("call", *call);
            writer.string("cn", cn);
            writer.int("position", *position);
        }
        Request::UserCtComplete { call, e164, h323 } => {
            writer.int("call", *call);
            writer.string("e164", e164);
            writer.string("h323", h323);
        }
        Request::UserRc { call, rc } => {
            writer.int("call", *call);
            writer.int("rc", *rc);
        }
        Request::UserDtmf { call, recv, dtmf } => {
            writer.int("call", *call);
            writer.boolean("recv", *recv);
            writer.string("dtmf", dtmf);
        }
        Request::UserUui { call, recv, uui } => {
            writer.int("call", *call);
            writer.boolean("recv", *recv);
            writer.string("uui", uui);
        }
        Request::UserInfo {
            call,
            recv,
            cdpn,
            key,
            dsp,
        } => {
            writer.int("call", *call);
            writer.boolean("recv", *recv);
            writer.string("cdpn", cdpn);
            writer.string("key", key);
            writer.string("dsp", dsp);
        }
        Request::UserMessage {
            user,
            e164,
            h323,
            msg,
            src_e164,
            src_h323,
        } => {
            writer.int("user", *user);
            writer.string("e164", e164);
            writer.string("h323", h323);
            writer.string("msg", msg);
            writer.string("src_e164", src_e164);
            writer.string("src_h323", src_h323);
        }
    }
    writer.close_body(element);
}

/// Reads a request the way the PBX does: dispatch on the local name of the body's
/// first element, parameters by local name, anything missing, empty or `xsi:nil` taken as
/// `""`, `0` or `false`; SOAPAction, prefixes, namespaces and `xsi:type` are ignored.
pub fn decode_request(body: &[u8]) -> Result<Request, DecodeError> {
    let tree = Tree::parse(body)?;
    let element = tree.body_element()?;
    let name = tree.name(element);
    let Some(operation) = Operation::from_name(&name) else {
        return Err(DecodeError::UnknownOperation {
            name: name.into_owned(),
        });
    };
    let params = Params {
        tree: &tree,
        element,
    };
    Ok(match operation {
        Operation::Version => Request::Version,
        Operation::Initialize => Request::Initialize(InitializeRequest {
            user: params.string("user"),
            appl: params.string("appl"),
            flags: InitializeFlags {
                v: params.boolean("v")?,
                v501: params.boolean("v501")?,
                v700: params.boolean("v700")?,
                v800: params.boolean("v800")?,
                vx1000: params.boolean("vx1000")?,
                vx1100: params.boolean("vx1100")?,
            },
        }),
        Operation::Echo => Request::Echo {
            session: params.int("session")?,
            key: params.int("key")?,
        },
        Operation::End => Request::End {
            session: params.int("session")?,
        },
        Operation::Poll => Request::Poll {
            session: params.int("session")?,
        },
        Operation::License => Request::License {
            session: params.int("session")?,
            name: params.string("name"),
        },
        Operation::Admin => Request::Admin {
            xml: params.string("xml"),
        },
        Operation::UserInitialize => Request::UserInitialize {
            session: params.int("session")?,
            user: params.string("user"),
            xfer: params.boolean("xfer")?,
            disc: params.boolean("disc")?,
            hw: params.string("hw"),
        },
        Operation::UserEnd => Request::UserEnd {
            user: params.int("user")?,
        },
        Operation::Devices => Request::Devices {
            session: params.int("session")?,
            user: params.string("user"),
        },
        Operation::Calls => Request::Calls {
            session: params.int("session")?,
            user: params.string("user"),
        },
        Operation::FindUser => Request::FindUser(FindUserRequest {
            flags: params.flag_strings(),
            cn: params.string("cn"),
            h323: params.string("h323"),
            e164: params.string("e164"),
            count: params.int("count")?,
            next: params.boolean("next")?,
            nohide: params.boolean("nohide")?,
        }),
        Operation::UserFindDestination => Request::UserFindDestination {
            user: params.int("user")?,
            e164: params.string("e164"),
            h323: params.string("h323"),
        },
        Operation::LocationUrl => Request::LocationUrl {
            flags: params.flag_strings(),
            loc: params.string("loc"),
            tls: params.boolean("tls")?,
        },
        Operation::UserLocalNum => Request::UserLocalNum {
            user: params.int("user")?,
            num: params.string("num"),
        },
        Operation::SetPresence => Request::SetPresence {
            presence: match params.find("presence") {
                Some(node) => tree.presence(node)?,
                None => Presence::default(),
            },
            im: params.boolean("im")?,
            contact: params.string("contact"),
            guid: params.string("guid"),
            h323: params.string("h323"),
        },
        Operation::UserLicense => Request::UserLicense {
            guid: params.string("guid"),
            kind: params.string("type"),
        },
        Operation::UserCall => Request::UserCall(UserCallRequest {
            user: params.int("user")?,
            cn: params.string("cn"),
            e164: params.string("e164"),
            h323: params.string("h323"),
            rc: params.int("rc")?,
            srce164: params.string("srce164"),
        }),
        Operation::UserClear => Request::UserClear {
            call: params.int("call")?,
            cause: params.int("cause")?,
        },
        Operation::UserConnect => Request::UserConnect {
            call: params.int("call")?,
        },
        Operation::UserHold => Request::UserHold {
            call: params.int("call")?,
            remote: params.boolean("remote")?,
        },
        Operation::UserRetrieve => Request::UserRetrieve {
            call: params.int("call")?,
        },
        Operation::UserTransfer => Request::UserTransfer {
            a: params.int("a")?,
            b: params.int("b")?,
        },
        Operation::UserMediaTransfer => Request::UserMediaTransfer {
            a: params.int("a")?,
            b: params.int("b")?,
            user: params.boolean("user")?,
            peer: params.boolean("peer")?,
        },
        Operation::UserRedirect => Request::UserRedirect {
            call: params.int("call")?,
            cn: params.string("cn"),
            e164: params.string("e164"),
            h323: params.string("h323"),
            rc: params.int("rc")?,
        },
        Operation::UserReroute => Request::UserReroute {
            call: params.int("call")?,
            cn: params.string("cn"),
            e164: params.string("e164"),
            h323: params.string("h323"),
        },
        Operation::UserPickup => Request::UserPickup {
            user: params.int("user")?,
            cn: params.string("cn"),
            call: params.int("call")?,
            group: params.string("group"),
        },
        Operation::UserPark => Request::UserPark {
            call: params.int("call")?,
            cn: params.string("cn"),
            position: params.int("position")?,
        },
        Operation::UserCtComplete => Request::UserCtComplete {
            call: params.int("call")?,
            e164: params.string("e164"),
            h323: params.string("h323"),
        },
        Operation::UserRc => Request::UserRc {
            call: params.int("call")?,
            rc: params.int("rc")?,
        },
        Operation::UserDtmf => Request::UserDtmf {
            call: params.int("call")?,
            recv: params.boolean("recv")?,
            dtmf: params.string("dtmf"),
        },
        Operation::UserUui => Request::UserUui {
            call: params.int("call")?,
            recv: params.boolean("recv")?,
            uui: params.string("uui"),
        },
        Operation::UserInfo => Request::UserInfo {
            call: params.int("call")?,
            recv: params.boolean("recv")?,
            cdpn: params.string("cdpn"),
            key: params.string("key"),
            dsp: params.string("dsp"),
        },
        Operation::UserMessage => Request::UserMessage {
            user: params.int("user")?,
            e164: params.string("e164"),
            h323: params.string("h323"),
            msg: params.string("msg"),
            src_e164: params.string("src_e164"),
            src_h323: params.string("src_h323"),
        },
    })
}

/// Writes the response envelope of `operation` to `out` (the simulator side).
///
/// The operation names the wrapper element and its parts; the response variant decides their
/// content. rpc/encoded responses carry `xsi:type` and `SOAP-ENC:arrayType` attributes and
/// name array members after `naming`; doc/literal responses are flattened and qualified by a
/// default namespace, and ignore `naming`.
pub fn encode_response(
    operation: Operation,
    response: &Response,
    dialect: Dialect,
    naming: ArrayNaming,
    out: &mut Vec<u8>,
) {
    let mut writer = XmlWriter {
        out,
        dialect,
        naming,
    };
    let element = operation.response_element(dialect);
    writer.open_body(element, PBX_NS);
    match response {
        Response::Version(version) => {
            let first = match dialect {
                Dialect::RpcEncoded => "WSDLVersion",
                Dialect::DocLiteral => "VersionResult",
            };
            writer.int(first, version.wsdl_version);
            writer.string("GatekeeperID", &version.gatekeeper_id);
            writer.string("Location", &version.location);
            writer.string("FirmwareVersion", &version.firmware_version);
            writer.string("SerialNumber", &version.serial_number);
        }
        Response::Initialize { session, key } => {
            writer.int("return", *session);
            writer.int("key", *key);
        }
        Response::Int(value) => writer.int("return", *value),
        Response::Bool(value) => writer.boolean("return", *value),
        Response::String(value) => writer.string("return", value),
        Response::Void => {}
        Response::Poll(any) => writer.any_info("return", any),
        Response::Devices(devices) => {
            let member = writer.member_name("device");
            let names = (member, "Device");
            writer.array(("return", "ns1:Device"), names, devices, XmlWriter::device);
        }
        Response::Calls(calls) => {
            let member = writer.member_name("call");
            let names = (member, "CallInfo");
            writer.array(
                ("return", "ns1:CallInfo"),
                names,
                calls,
                XmlWriter::call_info,
            );
        }
        Response::FindUser(users) => match dialect {
            Dialect::RpcEncoded => {
                writer.open_array("return", "ns1:UserInfo", users.len());
                for user in users {
                    writer.user_info("item", user);
                }
                writer.close("return");
            }
            Dialect::DocLiteral => {
                writer.open_struct("return", "UserInfoArray");
                for user in users {
                    writer.user_info("user", user);
                }
                writer.close("return");
            }
        },
        Response::UserFindDestination { incomplete, user } => {
            writer.boolean("return", *incomplete);
            if let Some(user) = user {
                let name = match dialect {
                    Dialect::RpcEncoded => "user",
                    Dialect::DocLiteral => "user1",
                };
                writer.user_info(name, user);
            }
        }
    }
    writer.close_body(element);
}

/// Reads the PBX's answer to `operation`. A SOAP fault becomes [`Error::Fault`]; anything
/// unreadable becomes [`Error::Decode`].
pub fn decode_response(operation: Operation, body: &[u8]) -> Result<Response, Error> {
    let tree = Tree::parse(body)?;
    let element = tree.body_element()?;
    let name = tree.name(element);
    if name == "Fault" {
        return Err(Error::Fault(Fault {
            code: tree
                .child(element, b"faultcode")
                .map(|node| tree.string(node))
                .unwrap_or_default(),
            string: tree
                .child(element, b"faultstring")
                .map(|node| tree.string(node))
                .unwrap_or_default(),
        }));
    }
    let expected = operation.response_name();
    if name != expected && name != operation.response_element(Dialect::DocLiteral) {
        return Err(DecodeError::UnexpectedResponse {
            expected: expected.to_owned(),
            found: name.into_owned(),
        }
        .into());
    }
    let params = Params {
        tree: &tree,
        element,
    };
    let response = match operation {
        Operation::Version => Response::Version(VersionInfo {
            wsdl_version: match params
                .find("WSDLVersion")
                .or_else(|| params.find("VersionResult"))
                .or_else(|| params.find("return"))
            {
                Some(node) => tree.int(node)?,
                None => 0,
            },
            gatekeeper_id: params.string("GatekeeperID"),
            location: params.string("Location"),
            firmware_version: params.string("FirmwareVersion"),
            serial_number: params.string("SerialNumber"),
        }),
        Operation::Initialize => Response::Initialize {
            session: params.int("return")?,
            key: params.int("key")?,
        },
        Operation::Echo
        | Operation::UserInitialize
        | Operation::UserCall
        | Operation::UserPickup
        | Operation::UserPark
        | Operation::UserMessage
        | Operation::SetPresence => Response::Int(params.int("return")?),
        Operation::UserRedirect | Operation::UserReroute | Operation::UserLicense => {
            Response::Bool(params.boolean("return")?)
        }
        Operation::Admin
        | Operation::LocationUrl
        | Operation::UserLocalNum
        | Operation::License => Response::String(params.string("return")),
        Operation::Poll => Response::Poll(match params.find("return") {
            Some(node) => tree.any_info(node)?,
            None => AnyInfo::default(),
        }),
        Operation::Devices => {
            let mut devices = Vec::new();
            for part in tree.children(element) {
                for member in tree.members(part, DEVICE_FIELDS) {
                    devices.push(tree.device(member));
                }
            }
            Response::Devices(devices)
        }
        Operation::Calls => {
            let mut calls = Vec::new();
            for part in tree.children(element) {
                for member in tree.members(part, CALL_INFO_FIELDS) {
                    calls.push(tree.call_info(member)?);
                }
            }
            Response::Calls(calls)
        }
        Operation::FindUser => {
            let mut users = Vec::new();
            if let Some(part) = params.find("return") {
                for member in tree.members(part, USER_INFO_FIELDS) {
                    users.push(tree.user_info(member)?);
                }
            }
            Response::FindUser(users)
        }
        Operation::UserFindDestination => Response::UserFindDestination {
            incomplete: params.boolean("return")?,
            // Nil or empty: nothing found.
            user: match params.find("user").or_else(|| params.find("user1")) {
                Some(node) if !tree.nodes[node].nil && !tree.is_leaf(node) => {
                    Some(tree.user_info(node)?)
                }
                _ => None,
            },
        },
        Operation::End
        | Operation::UserEnd
        | Operation::UserClear
        | Operation::UserConnect
        | Operation::UserHold
        | Operation::UserRetrieve
        | Operation::UserTransfer
        | Operation::UserMediaTransfer
        | Operation::UserCtComplete
        | Operation::UserRc
        | Operation::UserDtmf
        | Operation::UserUui
        | Operation::UserInfo => Response::Void,
    };
    Ok(response)
}

/// Writes a SOAP 1.1 fault envelope to `out`.
pub fn encode_fault(fault: &Fault, out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"",
    );
    out.extend_from_slice(SOAP_ENV_NS.as_bytes());
    out.extend_from_slice(b"\"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>");
    push_text(out, &fault.code);
    out.extend_from_slice(b"</faultcode><faultstring>");
    push_text(out, &fault.string);
    out.extend_from_slice(b"</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>");
}

/// Appends `text` escaped for element content.
fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(partial_escape(text).as_bytes());
}

/// Writes elements in one dialect. Writing to a `Vec` cannot fail, so nothing returns errors.
struct XmlWriter<'o> {
    out: &'o mut Vec<u8>,
    dialect: Dialect,
    naming: ArrayNaming,
}

impl XmlWriter<'_> {
    /// Writes the envelope up to and including the body's element start tag.
    fn open_body(&mut self, element: &str, rpc_namespace: &str) {
        match self.dialect {
            Dialect::RpcEncoded => {
                let _ = write!(
                    self.out,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope \
                     xmlns:SOAP-ENV=\"{SOAP_ENV_NS}\" xmlns:ns1=\"{rpc_namespace}\" \
                     xmlns:xsd=\"{XSD_NS}\" xmlns:xsi=\"{XSI_NS}\" \
                     xmlns:SOAP-ENC=\"{SOAP_ENC_NS}\" \
                     SOAP-ENV:encodingStyle=\"{SOAP_ENC_NS}\"><SOAP-ENV:Body><ns1:{element}>"
                );
            }
            Dialect::DocLiteral => {
                let _ = write!(
                    self.out,
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soap:Envelope \
                     xmlns:soap=\"{SOAP_ENV_NS}\" xmlns:xsi=\"{XSI_NS}\" xmlns:xsd=\"{XSD_NS}\">\
                     <soap:Body><{element} xmlns=\"{PBX_NS}\">"
                );
            }
        }
    }

    fn close_body(&mut self, element: &str) {
        let _ = match self.dialect {
            Dialect::RpcEncoded => {
                write!(
                    self.out,
                    "</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
                )
            }
            Dialect::DocLiteral => write!(self.out, "</{element}></soap:Body></soap:Envelope>"),
        };
    }

    /// Opens an element; `xsi_type` is written only in rpc/encoded.
    fn open(&mut self, name: &str, xsi_type: &str) {
        let _ = match self.dialect {
            Dialect::RpcEncoded => write!(self.out, "<{name} xsi:type=\"{xsi_type}\">"),
            Dialect::DocLiteral => write!(self.out, "<{name}>"),
        };
    }

    fn open_struct(&mut self, name: &str, type_name: &str) {
        let _ = match self.dialect {
            Dialect::RpcEncoded => write!(self.out, "<{name} xsi:type=\"ns1:{type_name}\">"),
            Dialect::DocLiteral => write!(self.out, "<{name}>"),
        };
    }

    /// Opens an rpc SOAP-ENC array wrapper of `len` members of `type_name`.
    fn open_array(&mut self, name: &str, item_type: &str, len: usize) {
        let _ = write!(
            self.out,
            "<{name} xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType=\"{item_type}[{len}]\">"
        );
    }

    /// An array: in rpc/encoded a SOAP-ENC array `name` of `item_type` whose members are named
    /// `member`; in doc/literal the members themselves, each named `flat`.
    fn array<T>(
        &mut self,
        (name, item_type): (&str, &str),
        (member, flat): (&str, &str),
        items: &[T],
        write: impl Fn(&mut Self, &str, &T),
    ) {
        match self.dialect {
            Dialect::RpcEncoded => {
                self.open_array(name, item_type, items.len());
                for item in items {
                    write(self, member, item);
                }
                self.close(name);
            }
            Dialect::DocLiteral => {
                for item in items {
                    write(self, flat, item);
                }
            }
        }
    }

    fn close(&mut self, name: &str) {
        let _ = write!(self.out, "</{name}>");
    }

    fn string(&mut self, name: &str, value: &str) {
        self.open(name, "xsd:string");
        push_text(self.out, value);
        self.close(name);
    }

    fn int(&mut self, name: &str, value: i32) {
        self.open(name, "xsd:int");
        let _ = write!(self.out, "{value}");
        self.close(name);
    }

    fn boolean(&mut self, name: &str, value: bool) {
        self.open(name, "xsd:boolean");
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        self.close(name);
    }

    /// The flags of `FindUser` and `LocationUrl`: strings, which the PBX only checks for being
    /// non-empty; `v` is not among them.
    fn flag_strings(&mut self, flags: InitializeFlags) {
        for (name, set) in flags.parts().into_iter().skip(1) {
            if set {
                self.string(name, "true");
            }
        }
    }

    /// The member name of an rpc array whose observed member name is `observed`.
    fn member_name(&self, observed: &'static str) -> &'static str {
        match self.naming {
            ArrayNaming::Observed => observed,
            ArrayNaming::Item => "item",
        }
    }

    /// An `Info[]` request part: an empty SOAP-ENC array in rpc, left out in doc/literal
    /// (where it is optional).
    fn info_array_part(&mut self, name: &str, infos: &[Info]) {
        if self.dialect == Dialect::RpcEncoded || !infos.is_empty() {
            self.infos(name, infos);
        }
    }

    fn infos(&mut self, name: &str, infos: &[Info]) {
        self.array((name, "ns1:Info"), ("item", name), infos, Self::info);
    }

    fn info(&mut self, name: &str, info: &Info) {
        self.open_struct(name, "Info");
        self.string("type", &info.kind);
        self.int("vali", info.vali);
        self.string("vals", &info.vals);
        self.close(name);
    }

    fn presence(&mut self, name: &str, presence: &Presence) {
        self.open_struct(name, "Presence");
        if let Some(status) = presence.status {
            self.open("status", "ns1:PresenceStatus");
            self.out.extend_from_slice(status.as_str().as_bytes());
            self.close("status");
        }
        if let Some(activity) = &presence.activity {
            self.open("activity", "ns1:PresenceActivity");
            push_text(self.out, activity);
            self.close("activity");
        }
        if let Some(note) = &presence.note {
            self.string("note", note);
        }
        self.close(name);
    }

    fn device(&mut self, name: &str, device: &Device) {
        self.open_struct(name, "Device");
        self.string("hw", &device.hw);
        self.string("text", &device.text);
        self.close(name);
    }

    fn any_info(&mut self, name: &str, any: &AnyInfo) {
        self.open_struct(name, "AnyInfo");
        let (user, call) = (self.member_name("user"), self.member_name("call"));
        // Every part is optional: empty lists are left out.
        if !any.user.is_empty() {
            self.array(
                ("user", "ns1:UserInfo"),
                (user, "user"),
                &any.user,
                Self::user_info,
            );
        }
        if !any.call.is_empty() {
            self.array(
                ("call", "ns1:CallInfo"),
                (call, "call"),
                &any.call,
                Self::call_info,
            );
        }
        if !any.reg.is_empty() {
            self.array(
                ("reg", "ns1:RegInfo"),
                ("item", "reg"),
                &any.reg,
                Self::reg_info,
            );
        }
        if !any.info.is_empty() {
            self.infos("info", &any.info);
        }
        self.close(name);
    }

    fn user_info(&mut self, name: &str, user: &UserInfo) {
        self.open_struct(name, "UserInfo");
        self.boolean("active", user.active);
        self.string("cn", &user.cn);
        self.string("dn", &user.dn);
        self.string("type", &user.kind);
        self.string("e164", &user.e164);
        self.string("h323", &user.h323);
        self.int("state", user.state);
        self.int("channel", user.channel);
        self.int("alert", user.alert);
        self.string("guid", &user.guid);
        if !user.groups.is_empty() {
            let member = self.member_name("groups");
            self.array(
                ("groups", "ns1:Group"),
                (member, "groups"),
                &user.groups,
                Self::group,
            );
        }
        self.string("loc", &user.loc);
        self.string("node", &user.node);
        // pbx11_00 swaps these two; the order only matters to strict doc/literal readers.
        match self.dialect {
            Dialect::RpcEncoded => {
                self.string("object", &user.object);
                self.string("nodenum", &user.nodenum);
            }
            Dialect::DocLiteral => {
                self.string("nodenum", &user.nodenum);
                self.string("object", &user.object);
            }
        }
        self.boolean("cfg", user.cfg);
        if let Some(presence) = &user.presence {
            self.presence("presence", presence);
        }
        self.string("domain", &user.domain);
        self.boolean("h323email", user.h323email);
        if !user.email.is_empty() {
            let names = ("item", "email");
            self.array(
                ("email", "xsd:string"),
                names,
                &user.email,
                |writer, name, email| {
                    writer.string(name, email);
                },
            );
        }
        // `fake` exists in pbx11_00 only; rpc readers get it only when there is one.
        if self.dialect == Dialect::DocLiteral || !user.fake.is_empty() {
            self.string("fake", &user.fake);
        }
        if !user.info.is_empty() {
            self.infos("info", &user.info);
        }
        self.close(name);
    }

    fn group(&mut self, name: &str, group: &Group) {
        self.open_struct(name, "Group");
        self.string("group", &group.group);
        self.boolean("active", group.active);
        self.close(name);
    }

    fn call_info(&mut self, name: &str, call: &CallInfo) {
        self.open_struct(name, "CallInfo");
        self.int("user", call.user);
        self.int("call", call.call);
        self.int("reg", call.reg);
        self.boolean("active", call.active);
        self.int("state", call.state.0);
        let member = self.member_name("No");
        self.array(("No", "ns1:No"), (member, "No"), &call.no, Self::no);
        self.string("msg", call.msg.as_str());
        self.infos("info", &call.info);
        self.close(name);
    }

    fn no(&mut self, name: &str, no: &No) {
        self.open_struct(name, "No");
        self.string("type", no.kind.as_str());
        self.string("cn", &no.cn);
        self.string("dn", &no.dn);
        self.string("e164", &no.e164);
        self.string("h323", &no.h323);
        self.close(name);
    }

    fn reg_info(&mut self, name: &str, reg: &RegInfo) {
        self.open_struct(name, "RegInfo");
        self.boolean("active", reg.active);
        self.int("user", reg.user);
        self.int("reg", reg.reg);
        self.string("hw", &reg.hw);
        self.string("soap", &reg.soap);
        self.infos("info", &reg.info);
        self.close(name);
    }
}

// Field names of each record, used to tell a flattened (doc/literal) record from an rpc array
// wrapper whose members happen to be simple elements.
const INFO_FIELDS: &[&[u8]] = &[b"type", b"vali", b"vals"];
const NO_FIELDS: &[&[u8]] = &[b"type", b"cn", b"dn", b"e164", b"h323"];
const GROUP_FIELDS: &[&[u8]] = &[b"group", b"active"];
const DEVICE_FIELDS: &[&[u8]] = &[b"hw", b"text"];
const PRESENCE_FIELDS: &[&[u8]] = &[b"status", b"activity", b"note"];
const CALL_INFO_FIELDS: &[&[u8]] = &[
    b"user", b"call", b"reg", b"active", b"state", b"No", b"msg", b"info",
];
const REG_INFO_FIELDS: &[&[u8]] = &[b"active", b"user", b"reg", b"hw", b"soap", b"info"];
const USER_INFO_FIELDS: &[&[u8]] = &[
    b"active",
    b"cn",
    b"dn",
    b"type",
    b"e164",
    b"h323",
    b"state",
    b"channel",
    b"alert",
    b"guid",
    b"groups",
    b"loc",
    b"node",
    b"object",
    b"nodenum",
    b"cfg",
    b"presence",
    b"domain",
    b"h323email",
    b"email",
    b"fake",
    b"info",
];

/// Index of a node in a [`Tree`]; 0 is the root, so 0 also means "none" as a link.
type NodeId = usize;

/// One element: its local name, its text (only kept while it has no child elements) and its
/// links.
struct Node<'a> {
    name: Cow<'a, [u8]>,
    text: Cow<'a, str>,
    nil: bool,
    first_child: NodeId,
    last_child: NodeId,
    next_sibling: NodeId,
}

/// A whole document as a flat arena of elements, borrowing names and text from the input
/// where it can. Full look-ahead is what lenient decoding needs (is this element an array
/// wrapper or a flattened record?), and one pass over the input keeps it fast.
struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Tree<'a> {
    fn parse(xml: &'a [u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::from_reader(xml);
        let mut nodes: Vec<Node<'a>> = Vec::with_capacity(xml.len() / 24);
        let mut open: Vec<NodeId> = Vec::with_capacity(16);
        loop {
            let event = reader.read_event().map_err(|source| DecodeError::Xml {
                position: reader.error_position(),
                source,
            })?;
            match event {
                Event::Start(start) => {
                    let id = push_node(&mut nodes, &open, xml, &start);
                    open.push(id);
                }
                Event::Empty(start) => {
                    push_node(&mut nodes, &open, xml, &start);
                    if open.is_empty() {
                        break;
                    }
                }
                Event::End(_) => {
                    open.pop();
                    if open.is_empty() {
                        break;
                    }
                }
                Event::Text(text) => {
                    if let Some(&id) = open.last() {
                        let content = text.xml10_content().map_err(|source| DecodeError::Xml {
                            position: reader.buffer_position(),
                            source: source.into(),
                        })?;
                        append_text(&mut nodes[id], content);
                    }
                }
                Event::CData(data) => {
                    if let Some(&id) = open.last() {
                        let content = data.xml10_content().map_err(|source| DecodeError::Xml {
                            position: reader.buffer_position(),
                            source: source.into(),
                        })?;
                        append_text(&mut nodes[id], content);
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(&id) = open.last() {
                        let resolved = resolve_reference(&reference, reader.buffer_position())?;
                        append_text(&mut nodes[id], resolved);
                    }
                }
                Event::Eof => {
                    if let Some(&id) = open.last() {
                        return Err(DecodeError::Truncated {
                            element: String::from_utf8_lossy(&nodes[id].name).into_owned(),
                        });
                    }
                    break;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if nodes.is_empty() {
            return Err(DecodeError::NoRootElement);
        }
        Ok(Self { nodes })
    }

    /// The first element of the `Body` of a SOAP `Envelope`.
    fn body_element(&self) -> Result<NodeId, DecodeError> {
        let root = 0;
        if self.nodes[root].name.as_ref() != b"Envelope" {
            return Err(DecodeError::NotAnEnvelope {
                root: self.name(root).into_owned(),
            });
        }
        let body = self.child(root, b"Body").ok_or(DecodeError::MissingBody)?;
        self.children(body).next().ok_or(DecodeError::EmptyBody)
    }

    fn name(&self, id: NodeId) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.nodes[id].name)
    }

    fn children(&self, id: NodeId) -> Children<'_, 'a> {
        Children {
            tree: self,
            next: self.nodes[id].first_child,
        }
    }

    fn child(&self, id: NodeId, name: &[u8]) -> Option<NodeId> {
        self.children(id)
            .find(|&child| self.nodes[child].name.as_ref() == name)
    }

    fn is_leaf(&self, id: NodeId) -> bool {
        self.nodes[id].first_child == 0
    }

    fn string(&self, id: NodeId) -> String {
        self.nodes[id].text.as_ref().to_owned()
    }

    fn int(&self, id: NodeId) -> Result<i32, DecodeError> {
        let text = self.nodes[id].text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse().map_err(|_| DecodeError::InvalidInteger {
            element: self.name(id).into_owned(),
            value: text.to_owned(),
        })
    }

    fn boolean(&self, id: NodeId) -> Result<bool, DecodeError> {
        let text = self.nodes[id].text.trim();
        if text.is_empty() || text == "0" || text.eq_ignore_ascii_case("false") {
            Ok(false)
        } else if text == "1" || text.eq_ignore_ascii_case("true") {
            Ok(true)
        } else {
            Err(DecodeError::InvalidBoolean {
                element: self.name(id).into_owned(),
                value: text.to_owned(),
            })
        }
    }

    /// The records an element stands for, whichever way the array is written:
    ///
    /// - an rpc wrapper (`<No><No>..</No><No>..</No></No>`, any member name) yields each member;
    /// - a flattened doc/literal record (`<No><type>peer</type>..</No>`, repeated as siblings
    ///   by the caller's loop) yields the element itself;
    /// - an empty or nil element yields nothing.
    ///
    /// The element is a record when its first child is a simple element named like one of
    /// the record's `fields`; members that are nil are skipped.
    fn members(&self, id: NodeId, fields: &[&[u8]]) -> Members<'_, 'a> {
        let node = &self.nodes[id];
        let first = node.first_child;
        if node.nil || first == 0 {
            return Members {
                children: Children {
                    tree: self,
                    next: 0,
                },
                single: None,
            };
        }
        let first_is_field =
            self.is_leaf(first) && fields.contains(&self.nodes[first].name.as_ref());
        if first_is_field {
            Members {
                children: Children {
                    tree: self,
                    next: 0,
                },
                single: Some(id),
            }
        } else {
            Members {
                children: self.children(id),
                single: None,
            }
        }
    }

    /// Strings of an `xsd:string[]`: an rpc wrapper yields its members' texts, a flattened
    /// doc/literal element its own text; an empty element is taken as an empty array.
    fn strings(&self, id: NodeId, out: &mut Vec<String>) {
        let node = &self.nodes[id];
        if node.nil {
            return;
        }
        if self.is_leaf(id) {
            if !node.text.is_empty() {
                out.push(self.string(id));
            }
            return;
        }
        out.extend(
            self.children(id)
                .filter(|&member| !self.nodes[member].nil)
                .map(|member| self.string(member)),
        );
    }

    fn any_info(&self, id: NodeId) -> Result<AnyInfo, DecodeError> {
        let mut any = AnyInfo::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"user" => {
                    for member in self.members(child, USER_INFO_FIELDS) {
                        any.user.push(self.user_info(member)?);
                    }
                }
                b"call" => {
                    for member in self.members(child, CALL_INFO_FIELDS) {
                        any.call.push(self.call_info(member)?);
                    }
                }
                b"reg" => {
                    for member in self.members(child, REG_INFO_FIELDS) {
                        any.reg.push(self.reg_info(member)?);
                    }
                }
                b"info" => {
                    for member in self.members(child, INFO_FIELDS) {
                        any.info.push(self.info(member)?);
                    }
                }
                _ => {}
            }
        }
        Ok(any)
    }

    fn user_info(&self, id: NodeId) -> Result<UserInfo, DecodeError> {
        let mut user = UserInfo::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"active" => user.active = self.boolean(child)?,
                b"cn" => user.cn = self.string(child),
                b"dn" => user.dn = self.string(child),
                b"type" => user.kind = self.string(child),
                b"e164" => user.e164 = self.string(child),
                b"h323" => user.h323 = self.string(child),
                b"state" => user.state = self.int(child)?,
                b"channel" => user.channel = self.int(child)?,
                b"alert" => user.alert = self.int(child)?,
                b"guid" => user.guid = self.string(child),
                b"groups" => {
                    for member in self.members(child, GROUP_FIELDS) {
                        user.groups.push(self.group(member)?);
                    }
                }
                b"loc" => user.loc = self.string(child),
                b"node" => user.node = self.string(child),
                b"object" => user.object = self.string(child),
                b"nodenum" => user.nodenum = self.string(child),
                b"cfg" => user.cfg = self.boolean(child)?,
                b"presence" if !self.nodes[child].nil => {
                    user.presence = Some(self.presence(child)?);
                }
                b"domain" => user.domain = self.string(child),
                b"h323email" => user.h323email = self.boolean(child)?,
                b"email" => self.strings(child, &mut user.email),
                b"fake" => user.fake = self.string(child),
                b"info" => {
                    for member in self.members(child, INFO_FIELDS) {
                        user.info.push(self.info(member)?);
                    }
                }
                _ => {}
            }
        }
        Ok(user)
    }

    /// A presence, also when sent as a one-element array (the documentation calls it a list).
    fn presence(&self, id: NodeId) -> Result<Presence, DecodeError> {
        let mut presence = Presence::default();
        let Some(record) = self.members(id, PRESENCE_FIELDS).next() else {
            return Ok(presence);
        };
        for child in self.children(record) {
            let text = self.nodes[child].text.trim();
            match self.nodes[child].name.as_ref() {
                b"status" => {
                    presence.status = PresenceStatus::parse(text)
                        .or_else(|| PresenceStatus::parse(&text.to_ascii_lowercase()));
                }
                b"activity" => presence.activity = Some(self.string(child)),
                b"note" => presence.note = Some(self.string(child)),
                _ => {}
            }
        }
        Ok(presence)
    }

    fn group(&self, id: NodeId) -> Result<Group, DecodeError> {
        let mut group = Group::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"group" => group.group = self.string(child),
                b"active" => group.active = self.boolean(child)?,
                _ => {}
            }
        }
        Ok(group)
    }

    fn call_info(&self, id: NodeId) -> Result<CallInfo, DecodeError> {
        let mut call = CallInfo::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"user" => call.user = self.int(child)?,
                b"call" => call.call = self.int(child)?,
                b"reg" => call.reg = self.int(child)?,
                b"active" => call.active = self.boolean(child)?,
                b"state" => call.state = CallState(self.int(child)?),
                b"No" => {
                    for member in self.members(child, NO_FIELDS) {
                        call.no.push(self.no(member));
                    }
                }
                b"msg" => call.msg = Msg::parse(&self.nodes[child].text),
                b"info" => {
                    for member in self.members(child, INFO_FIELDS) {
                        call.info.push(self.info(member)?);
                    }
                }
                _ => {}
            }
        }
        Ok(call)
    }

    fn no(&self, id: NodeId) -> No {
        let mut no = No::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"type" => no.kind = PartyRole::parse(&self.nodes[child].text),
                b"cn" => no.cn = self.string(child),
                b"dn" => no.dn = self.string(child),
                b"e164" => no.e164 = self.string(child),
                b"h323" => no.h323 = self.string(child),
                _ => {}
            }
        }
        no
    }

    fn info(&self, id: NodeId) -> Result<Info, DecodeError> {
        let mut info = Info::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"type" => info.kind = self.string(child),
                b"vali" => info.vali = self.int(child)?,
                b"vals" => info.vals = self.string(child),
                _ => {}
            }
        }
        Ok(info)
    }

    fn reg_info(&self, id: NodeId) -> Result<RegInfo, DecodeError> {
        let mut reg = RegInfo::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"active" => reg.active = self.boolean(child)?,
                b"user" => reg.user = self.int(child)?,
                b"reg" => reg.reg = self.int(child)?,
                b"hw" => reg.hw = self.string(child),
                b"soap" => reg.soap = self.string(child),
                b"info" => {
                    for member in self.members(child, INFO_FIELDS) {
                        reg.info.push(self.info(member)?);
                    }
                }
                _ => {}
            }
        }
        Ok(reg)
    }

    fn device(&self, id: NodeId) -> Device {
        let mut device = Device::default();
        for child in self.children(id) {
            match self.nodes[child].name.as_ref() {
                b"hw" => device.hw = self.string(child),
                b"text" => device.text = self.string(child),
                _ => {}
            }
        }
        device
    }
}

/// Adds an element to the arena, linked as the last child of the innermost open element.
fn push_node<'a>(
    nodes: &mut Vec<Node<'a>>,
    open: &[NodeId],
    xml: &'a [u8],
    start: &BytesStart<'_>,
) -> NodeId {
    let id = nodes.len();
    let nil = start
        .attributes_raw()
        .windows(3)
        .any(|window| window == b"nil")
        && start.attributes().flatten().any(|attribute| {
            attribute.key.local_name().as_ref() == b"nil"
                && matches!(attribute.value.as_ref(), b"true" | b"1")
        });
    nodes.push(Node {
        name: reborrow(xml, start.local_name().into_inner()),
        text: Cow::Borrowed(""),
        nil,
        first_child: 0,
        last_child: 0,
        next_sibling: 0,
    });
    if let Some(&parent) = open.last() {
        let previous = nodes[parent].last_child;
        if previous == 0 {
            nodes[parent].first_child = id;
            // Text before the first child is indentation, not content.
            nodes[parent].text = Cow::Borrowed("");
        } else {
            nodes[previous].next_sibling = id;
        }
        nodes[parent].last_child = id;
    }
    id
}

/// Returns `part` as a borrow of `xml` when it lies inside it (always, for a slice reader),
/// so element names cost no allocation; otherwise copies it.
fn reborrow<'a>(xml: &'a [u8], part: &[u8]) -> Cow<'a, [u8]> {
    let start = (part.as_ptr() as usize).wrapping_sub(xml.as_ptr() as usize);
    match xml.get(start..start.wrapping_add(part.len())) {
        Some(slice) if slice.as_ptr() == part.as_ptr() => Cow::Borrowed(slice),
        _ => Cow::Owned(part.to_vec()),
    }
}

/// Appends character data to an element that has no child element (mixed content and
/// indentation around children is dropped).
fn append_text<'a>(node: &mut Node<'a>, content: Cow<'a, str>) {
    if node.first_child != 0 {
        return;
    }
    if node.text.is_empty() {
        node.text = content;
    } else {
        node.text.to_mut().push_str(&content);
    }
}

fn resolve_reference<'a>(
    reference: &quick_xml::events::BytesRef<'_>,
    position: u64,
) -> Result<Cow<'a, str>, DecodeError> {
    let xml_error = |source: quick_xml::Error| DecodeError::Xml { position, source };
    if let Some(character) = reference.resolve_char_ref().map_err(xml_error)? {
        return Ok(Cow::Owned(character.to_string()));
    }
    let name = reference
        .decode()
        .map_err(|source| xml_error(source.into()))?;
    match resolve_predefined_entity(&name) {
        Some(text) => Ok(Cow::Borrowed(text)),
        None => Err(DecodeError::UnknownEntity {
            name: name.into_owned(),
        }),
    }
}

struct Children<'t, 'a> {
    tree: &'t Tree<'a>,
    next: NodeId,
}

impl Iterator for Children<'_, '_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next == 0 {
            return None;
        }
        let id = self.next;
        self.next = self.tree.nodes[id].next_sibling;
        Some(id)
    }
}

/// See [`Tree::members`].
struct Members<'t, 'a> {
    children: Children<'t, 'a>,
    single: Option<NodeId>,
}

impl Iterator for Members<'_, '_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if let Some(id) = self.single.take() {
            return Some(id);
        }
        let tree = self.children.tree;
        self.children.find(|&member| !tree.nodes[member].nil)
    }
}

/// The parameters (or response parts) of one body element, looked up by local name.
struct Params<'t, 'a> {
    tree: &'t Tree<'a>,
    element: NodeId,
}

impl Params<'_, '_> {
    fn find(&self, name: &str) -> Option<NodeId> {
        self.tree.child(self.element, name.as_bytes())
    }

    fn string(&self, name: &str) -> String {
        self.find(name)
            .map(|node| self.tree.string(node))
            .unwrap_or_default()
    }

    fn int(&self, name: &str) -> Result<i32, DecodeError> {
        self.find(name).map_or(Ok(0), |node| self.tree.int(node))
    }

    fn boolean(&self, name: &str) -> Result<bool, DecodeError> {
        self.find(name)
            .map_or(Ok(false), |node| self.tree.boolean(node))
    }

    /// Flags sent as strings: set when present and non-empty.
    fn flag_strings(&self) -> InitializeFlags {
        let set = |name: &str| {
            self.find(name)
                .is_some_and(|node| !self.tree.nodes[node].text.trim().is_empty())
        };
        InitializeFlags {
            v: set("v"),
            v501: set("v501"),
            v700: set("v700"),
            v800: set("v800"),
            vx1000: set("vx1000"),
            vx1100: set("vx1100"),
        }
    }
}
