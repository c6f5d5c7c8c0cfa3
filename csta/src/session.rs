//! ECMA-354 application session services: the login/session layer many CSTA clients use
//! before any CSTA service (Avaya AES, OpenScape, C4B XPhone).
//!
//! These messages always use [`crate::ECMA_354_NAMESPACE`]. Their `extensions` are any XML
//! (not the CSTA `privateData` shape), so they are kept as [`RawXml`].

use crate::edition::Edition;
use crate::error::Error;
use crate::ids::SessionId;
use crate::types::RawXml;
use crate::xml::{Body, Doc, El, Field, Slot, Writer};

/// The namespace of the Avaya `SessionLoginInfo` credentials element.
pub const AVAYA_NAMESPACE: &str = "http://www.avaya.com/csta";

record! {
    /// Who the client is (`applicationInfo`).
    pub struct ApplicationInfo {
        /// `applicationID`: free text naming the client application.
        pub application_id: String = "applicationID",
        /// `applicationSpecificInfo`: any XML; where vendors put credentials.
        pub application_specific_info: Option<RawXml> = "applicationSpecificInfo",
    }
}

/// `StartApplicationSession` (ECMA-354 clause 8.1): opens a session, usually with credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartApplicationSession {
    /// `applicationInfo`.
    pub application_info: ApplicationInfo,
    /// `requestedProtocolVersions`: the CSTA namespaces (or Avaya version strings) the client
    /// speaks, preferred first.
    pub requested_protocol_versions: Vec<String>,
    /// `requestedSessionDuration` in seconds.
    pub requested_session_duration: Option<u32>,
    /// `extensions`: any XML.
    pub extensions: Option<RawXml>,
}

/// A login carried in `applicationSpecificInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (`userName` in the Avaya shape, `user` in the plain one).
    pub user: String,
    /// The password.
    pub password: String,
    /// Avaya `sessionCleanupDelay`: seconds the session survives a lost connection.
    pub session_cleanup_delay: Option<u32>,
    /// Avaya `sessionID`: a previous session to re-attach to.
    pub session_id: Option<String>,
}

impl Credentials {
    /// The Avaya shape: `<SessionLoginInfo xmlns="http://www.avaya.com/csta">` with
    /// `userName`, `password`, `sessionCleanupDelay` and `sessionID`.
    pub fn to_avaya_xml(&self) -> RawXml {
        let mut out = Vec::with_capacity(160);
        let mut writer = Writer::new(&mut out, false);
        writer.open_start("SessionLoginInfo");
        writer.attribute("xmlns", AVAYA_NAMESPACE);
        writer.open_end();
        writer.leaf("userName", &self.user);
        writer.leaf("password", &self.password);
        if let Some(delay) = self.session_cleanup_delay {
            writer.unsigned("sessionCleanupDelay", delay);
        }
        if let Some(session_id) = &self.session_id {
            writer.leaf("sessionID", session_id);
        }
        writer.close("SessionLoginInfo");
        raw_from_writer(out)
    }

    /// The plain shape: `<user>..</user><password>..</password>`.
    pub fn to_plain_xml(&self) -> RawXml {
        let mut out = Vec::with_capacity(64);
        let mut writer = Writer::new(&mut out, false);
        writer.leaf("user", &self.user);
        writer.leaf("password", &self.password);
        raw_from_writer(out)
    }

    /// Finds a login in any XML: an Avaya `SessionLoginInfo` element, or else elements named
    /// `user` (or `userName`) and `password` anywhere.
    pub fn find(xml: &RawXml) -> Option<Self> {
        let wrapped = format!("<r>{}</r>", xml.as_str());
        let doc = Doc::parse(&wrapped).ok()?;
        let root = doc.root();
        if let Some(info) = descendant(root, &["SessionLoginInfo"]) {
            let user = info.child(&["userName", "user"])?.string();
            let password = info
                .child(&["password"])
                .map(|p| p.string())
                .unwrap_or_default();
            let session_cleanup_delay = info
                .child(&["sessionCleanupDelay"])
                .and_then(|delay| delay.unsigned("sessionCleanupDelay").ok());
            let session_id = info
                .child(&["sessionID"])
                .map(|id| id.string())
                .filter(|id| !id.is_empty());
            return Some(Self {
                user,
                password,
                session_cleanup_delay,
                session_id,
            });
        }
        let user = descendant(root, &["user", "userName"])?.string();
        let password = descendant(root, &["password"])
            .map(|p| p.string())
            .unwrap_or_default();
        Some(Self {
            user,
            password,
            session_cleanup_delay: None,
            session_id: None,
        })
    }
}

fn raw_from_writer(out: Vec<u8>) -> RawXml {
    // The writer emits ASCII only, and well-formed content by construction.
    RawXml::from_ascii_unchecked(String::from_utf8_lossy(&out).into_owned())
}

/// The first element below `root` (depth first) with one of the names.
fn descendant<'d, 'a>(root: El<'d, 'a>, names: &[&str]) -> Option<El<'d, 'a>> {
    let mut stack: Vec<El<'d, 'a>> = root.children().collect();
    stack.reverse();
    while let Some(element) = stack.pop() {
        if names.contains(&element.name()) {
            return Some(element);
        }
        let mut children: Vec<El<'d, 'a>> = element.children().collect();
        children.reverse();
        stack.extend(children);
    }
    None
}

impl StartApplicationSession {
    /// A request for `application_id` with the given login in the Avaya shape, or in the plain
    /// shape when `avaya_shape` is false.
    pub fn with_login(
        application_id: impl Into<String>,
        credentials: &Credentials,
        avaya_shape: bool,
    ) -> Self {
        let info = if avaya_shape {
            credentials.to_avaya_xml()
        } else {
            credentials.to_plain_xml()
        };
        Self {
            application_info: ApplicationInfo {
                application_id: application_id.into(),
                application_specific_info: Some(info),
            },
            requested_protocol_versions: Vec::new(),
            requested_session_duration: None,
            extensions: None,
        }
    }

    /// The requested protocol versions this crate recognises as CSTA editions, in the
    /// client's order of preference (a server answers with the first it supports).
    pub fn requested_editions(&self) -> impl Iterator<Item = Edition> + '_ {
        self.requested_protocol_versions
            .iter()
            .filter_map(|version| Edition::from_namespace(version))
    }

    /// The login in `applicationSpecificInfo`, in either shape.
    pub fn credentials(&self) -> Option<Credentials> {
        self.application_info
            .application_specific_info
            .as_ref()
            .and_then(Credentials::find)
    }
}

impl Body for StartApplicationSession {
    fn read(root: El<'_, '_>) -> Result<Self, Error> {
        let requested_protocol_versions = root
            .child(&["requestedProtocolVersions"])
            .map(|versions| {
                versions
                    .children()
                    .filter(|child| child.name() == "protocolVersion")
                    .map(|child| child.string())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            application_info: Slot::take(root, &["applicationInfo"])?,
            requested_protocol_versions,
            requested_session_duration: Slot::take(root, &["requestedSessionDuration"])?,
            extensions: Slot::take(root, &["extensions"])?,
        })
    }

    fn write(&self, writer: &mut Writer<'_>) {
        Field::write(&self.application_info, writer, "applicationInfo");
        if !self.requested_protocol_versions.is_empty() {
            writer.open("requestedProtocolVersions");
            for version in &self.requested_protocol_versions {
                writer.leaf("protocolVersion", version);
            }
            writer.close("requestedProtocolVersions");
        }
        self.requested_session_duration
            .put(writer, "requestedSessionDuration");
        self.extensions.put(writer, "extensions");
    }
}

body! {
    /// `StartApplicationSessionPosResponse`: the session is open.
    pub struct StartApplicationSessionPosResponse {
        /// `sessionID`, chosen by the server.
        pub session_id: SessionId = "sessionID",
        /// `actualProtocolVersion`: the version chosen from the requested ones.
        pub actual_protocol_version: String = "actualProtocolVersion",
        /// `actualSessionDuration` in seconds.
        pub actual_session_duration: u32 = "actualSessionDuration",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

/// A choice between a value the standard defines and free text, as ECMA-354 uses for errors
/// and reasons.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reason<T> {
    /// The defined value (`definedError`, `definedEndReason`, `definedTermReason`).
    Defined(T),
    /// Free text (`applError`, `appEndReason`, `serverTermReason`).
    Text(String),
}

/// The element names of a [`Reason`] choice.
pub trait ReasonNames {
    /// The element of the defined value.
    const DEFINED: &'static str;
    /// The element of the free text.
    const TEXT: &'static str;
}

impl<T: Field + ReasonNames> Field for Reason<T> {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        if let Some(defined) = element.child(&[T::DEFINED]) {
            return T::read(defined, T::DEFINED).map(Self::Defined);
        }
        match element.child(&[T::TEXT]) {
            Some(text) => Ok(Self::Text(text.string())),
            None => Err(Error::MissingElement {
                parent: name.to_owned(),
                element: T::DEFINED,
            }),
        }
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Defined(value) => value.write(writer, T::DEFINED),
            Self::Text(text) => writer.leaf(T::TEXT, text),
        }
        writer.close(name);
    }
}

wire_enum! {
    /// Why a session could not be started.
    pub enum StartSessionError {
        InvalidApplicationInfo = "invalidApplicationInfo",
        RequestedProtocolVersionNotSupported = "requestedProtocolVersionNotSupported",
        ServerResourcesBusy = "serverResourcesBusy",
        MaxNumberSessions = "maxNumberSessions",
    }
}

impl ReasonNames for StartSessionError {
    const DEFINED: &'static str = "definedError";
    const TEXT: &'static str = "applError";
}

body! {
    /// `StartApplicationSessionNegResponse`: the session was refused (bad credentials are
    /// `invalidApplicationInfo`).
    pub struct StartApplicationSessionNegResponse {
        /// `errorCode`.
        pub error_code: Reason<StartSessionError> = "errorCode",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

wire_enum! {
    /// Why a client ends its session.
    pub enum SessionEndReason {
        Normal = "normal",
    }
}

impl ReasonNames for SessionEndReason {
    const DEFINED: &'static str = "definedEndReason";
    const TEXT: &'static str = "appEndReason";
}

body! {
    /// `StopApplicationSession` (ECMA-354 clause 8.2): the client ends its session.
    pub struct StopApplicationSession {
        /// `sessionID`.
        pub session_id: SessionId = "sessionID",
        /// `sessionEndReason`.
        pub session_end_reason: Reason<SessionEndReason> = "sessionEndReason",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

body! {
    /// `StopApplicationSessionPosResponse`.
    #[derive(Default)]
    pub struct StopApplicationSessionPosResponse {
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

wire_enum! {
    /// Why a session could not be stopped.
    pub enum StopSessionError {
        InvalidSessionId = "invalidSessionID",
    }
}

impl ReasonNames for StopSessionError {
    const DEFINED: &'static str = "definedError";
    const TEXT: &'static str = "applError";
}

body! {
    /// `StopApplicationSessionNegResponse`.
    pub struct StopApplicationSessionNegResponse {
        /// `errorCode`.
        pub error_code: Reason<StopSessionError> = "errorCode",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

body! {
    /// `ResetApplicationSessionTimer` (ECMA-354 clause 8.3): the client's keep-alive.
    pub struct ResetApplicationSessionTimer {
        /// `sessionID`.
        pub session_id: SessionId = "sessionID",
        /// `requestedSessionDuration` in seconds.
        pub requested_session_duration: Option<u32> = "requestedSessionDuration",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

body! {
    /// `ResetApplicationSessionTimerPosResponse`.
    pub struct ResetApplicationSessionTimerPosResponse {
        /// `actualSessionDuration` in seconds.
        pub actual_session_duration: u32 = "actualSessionDuration",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

wire_enum! {
    /// Why a session timer could not be reset.
    pub enum ResetTimerError {
        InvalidSessionId = "invalidSessionID",
        ServerCannotResetSessionTimer = "serverCannotResetSessionTimer",
    }
}

impl ReasonNames for ResetTimerError {
    const DEFINED: &'static str = "definedError";
    const TEXT: &'static str = "applError";
}

body! {
    /// `ResetApplicationSessionTimerNegResponse`.
    pub struct ResetApplicationSessionTimerNegResponse {
        /// `errorCode`.
        pub error_code: Reason<ResetTimerError> = "errorCode",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

wire_enum! {
    /// Why the server ended a session.
    pub enum SessionTermReason {
        ResourceLimitation = "resourceLimitation",
        SessionTimerExpired = "sessionTimerExpired",
    }
}

impl ReasonNames for SessionTermReason {
    const DEFINED: &'static str = "definedTermReason";
    const TEXT: &'static str = "serverTermReason";
}

body! {
    /// `ApplicationSessionTerminated` (ECMA-354 clause 8.4): the server ends a session, for
    /// example when its timer expired.
    pub struct ApplicationSessionTerminated {
        /// `sessionID`.
        pub session_id: SessionId = "sessionID",
        /// `sessionTermReason`.
        pub session_term_reason: Reason<SessionTermReason> = "sessionTermReason",
        /// `extensions`: any XML.
        pub extensions: Option<RawXml> = "extensions",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Credentials {
        Credentials {
            user: "crm<1>".into(),
            password: "s&cret".into(),
            session_cleanup_delay: Some(60),
            session_id: None,
        }
    }

    #[test]
    fn lists_requested_editions_in_order() {
        let mut request = StartApplicationSession::with_login("crm", &login(), false);
        request.requested_protocol_versions = vec![
            "3.0".into(),
            Edition::Ed6.namespace().into(),
            "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv5".into(),
        ];
        let editions: Vec<Edition> = request.requested_editions().collect();
        assert_eq!(editions.len(), 2);
        assert_eq!(editions[0], Edition::Ed6);
        assert!(matches!(editions[1], Edition::Avaya(protocol) if protocol.level() == 5));
    }

    #[test]
    fn finds_avaya_credentials() {
        let xml = RawXml::new(
            "<SessionLoginInfo xmlns=\"http://www.avaya.com/csta\" xmlns:xsi=\"x\" \
             xsi:type=\"csta:SessionLoginInfo\"><userName>avaya</userName>\
             <password>pw</password><sessionCleanupDelay>120</sessionCleanupDelay>\
             <sessionID>ABC</sessionID></SessionLoginInfo>",
        )
        .unwrap();
        assert_eq!(
            Credentials::find(&xml),
            Some(Credentials {
                user: "avaya".into(),
                password: "pw".into(),
                session_cleanup_delay: Some(120),
                session_id: Some("ABC".into()),
            })
        );
    }

    #[test]
    fn finds_plain_credentials_anywhere() {
        let xml = RawXml::new("<login><x><user>crm</user></x><password>secret</password></login>")
            .unwrap();
        let found = Credentials::find(&xml).unwrap();
        assert_eq!(
            (found.user.as_str(), found.password.as_str()),
            ("crm", "secret")
        );
        assert_eq!(Credentials::find(&RawXml::new("<nothing/>").unwrap()), None);
    }

    #[test]
    fn both_shapes_round_trip_through_the_request() {
        let credentials = login();
        for avaya in [true, false] {
            let request = StartApplicationSession::with_login("crm", &credentials, avaya);
            let found = request.credentials().unwrap();
            assert_eq!(found.user, credentials.user);
            assert_eq!(found.password, credentials.password);
            let delay = if avaya { Some(60) } else { None };
            assert_eq!(found.session_cleanup_delay, delay);
        }
        assert_eq!(
            login().to_plain_xml().as_str(),
            "<user>crm&lt;1&gt;</user><password>s&amp;cret</password>"
        );
    }
}
