//! The async PBX client: one typed method per SOAP operation over HTTP/1.1 keep-alive
//! connections (hyper + rustls).
//!
//! Connections: `Poll` runs on a connection of its own, so a long-poll that the PBX holds for
//! ~60 s never delays a command; commands share a small pool of keep-alive connections
//! ([`Config::command_connections`]), so concurrent commands do not queue behind each other.
//! Keeping connections open also keeps the PBX session alive.
//!
//! The client spawns no task: each request future drives its own connection (hyper's
//! low-level `http1` API), and idle connections wait in the pool until the next request
//! drives them again. A pooled connection the PBX closed meanwhile is replaced transparently,
//! but a request is sent again only when it provably never left this process.
//!
//! The client does not retry, reconnect sessions or back off: that policy belongs to the
//! caller, which can ask [`Error::is_transient`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;
use tracing::Instrument as _;

use crate::envelope::{
    FindUserRequest, InitializeRequest, Operation, Request, Response, UserCallRequest, VersionInfo,
    WsdlVersion, decode_response, encode_request,
};
use crate::error::{ConfigError, DecodeError, Error};
use crate::records::{AnyInfo, CallInfo, Device, Presence, UserInfo};

/// Upper bound of `FindUser` pages [`Client::find_all_users`] reads (500,000 objects), so a PBX
/// that pages in circles cannot keep it busy forever.
pub const MAX_DIRECTORY_PAGES: usize = 10_000;

/// How to reach and talk to one PBX.
///
/// Non-exhaustive: build it with [`Config::new`] and adjust the public fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The SOAP endpoint, e.g. `http://pbx.example.com/PBX0/user.soap` (`https` for TLS).
    pub url: Uri,
    /// HTTP user: the PBX admin, or the monitoring user's name (h323). Empty: no credentials.
    pub username: String,
    /// HTTP password.
    pub password: String,
    /// The WSDL revision to speak (flags, parts, dialect).
    pub wsdl: WsdlVersion,
    /// Limit for opening a TCP connection, and again for the TLS handshake.
    pub connect_timeout: Duration,
    /// Limit for a whole command, including waiting for a pooled connection.
    pub command_timeout: Duration,
    /// Limit for a whole `Poll`; must exceed the PBX's own ~60 s long-poll.
    pub poll_timeout: Duration,
    /// Keep-alive connections for commands (at least 1).
    pub command_connections: usize,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Certificate trust for `https` URLs.
    pub tls: TlsConfig,
}

impl Config {
    /// Settings with the defaults: pbx10_00, 5 s connect, 10 s command and 75 s poll
    /// timeouts, 4 command connections, 16 MiB responses, system trust roots.
    pub fn new(url: Uri, username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            url,
            username: username.into(),
            password: password.into(),
            wsdl: WsdlVersion::default(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            poll_timeout: Duration::from_secs(75),
            command_connections: 4,
            max_response_bytes: 16 * 1024 * 1024,
            tls: TlsConfig::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("wsdl", &self.wsdl)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("poll_timeout", &self.poll_timeout)
            .field("command_connections", &self.command_connections)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Which server certificates an `https` client trusts. The default trusts the operating
/// system's roots.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct TlsConfig {
    /// Trust only the CA certificates in this PEM file instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (self-signed PBX certificates in a lab). Handshake
    /// signatures are still checked, but anyone on the path can impersonate the PBX.
    pub danger_accept_invalid_certs: bool,
}

/// A session from `Initialize`.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Session {
    /// The session handle for `Poll`, `UserInitialize`, `End`, ...
    pub handle: i32,
    /// The random key `Echo` checks, so a handle reissued after a PBX restart is noticed.
    pub key: i32,
}

/// A call destination: exactly one of the PBX's three ways to name one.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum Destination {
    /// A PBX object's long name.
    Cn(String),
    /// A number, interpreted in the calling user's dialling context.
    E164(String),
    /// A name (H.323 alias / SIP user).
    H323(String),
}

impl Destination {
    /// The `(cn, e164, h323)` parts.
    fn parts(&self) -> (String, String, String) {
        match self {
            Self::Cn(cn) => (cn.clone(), String::new(), String::new()),
            Self::E164(e164) => (String::new(), e164.clone(), String::new()),
            Self::H323(h323) => (String::new(), String::new(), h323.clone()),
        }
    }
}

/// Which call `UserPickup` takes.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum PickupTarget {
    /// A call (or parked call) by handle.
    Call(i32),
    /// A call alerting at this user (long name).
    Cn(String),
    /// A call alerting in this pickup group.
    Group(String),
    /// Whatever the PBX picks for the user (all parameters empty).
    Implicit,
}

/// A client of one PBX. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    url: Uri,
    wsdl: WsdlVersion,
    endpoint: Endpoint,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    command_timeout: Duration,
    poll_timeout: Duration,
    max_response_bytes: usize,
    /// Limits concurrent commands to the pool size.
    command_slots: Semaphore,
    command_connections: usize,
    idle_commands: Mutex<Vec<Connection>>,
    idle_poll: Mutex<Option<Connection>>,
    next_connection: AtomicU64,
}

/// Where requests go.
struct Endpoint {
    host: String,
    port: u16,
    /// `host:port`, for errors and logs.
    authority: String,
    host_header: HeaderValue,
    /// Origin-form request target (path and query), also the Digest `uri`.
    path: String,
    target: Uri,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

struct Credentials {
    username: String,
    password: String,
    basic: HeaderValue,
    /// The last Digest challenge; once the PBX sent one, every request answers it (the
    /// nonce count advances under the lock).
    digest: Mutex<Option<digest_auth::WwwAuthenticateHeader>>,
}

/// The stream under a connection: TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

type Driver = Pin<Box<http1::Connection<TokioIo<Box<dyn Stream>>, Full<Bytes>>>>;

/// One HTTP/1.1 connection: the request handle and the future that performs its I/O, which
/// is polled only while a request is in flight.
struct Connection {
    id: u64,
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Driver,
    /// Taken from the pool rather than just opened.
    reused: bool,
    /// The driver finished (the peer closed or the connection failed).
    closed: bool,
}

/// Which connections a request uses.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Lane {
    Command,
    Poll,
}

/// How one request/response exchange on a connection failed.
enum ExchangeError {
    /// The request was never written, so sending it again is safe.
    NotSent(hyper::Error),
    /// The request may have reached the PBX.
    Failed(hyper::Error),
    TooLarge,
}

impl Client {
    /// Checks the configuration and prepares TLS; connects lazily, on the first request.
    pub fn new(config: Config) -> Result<Self, Error> {
        let scheme = config
            .url
            .scheme_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let secure = match scheme.as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(ConfigError::UnsupportedScheme { scheme }.into()),
        };
        let host = config
            .url
            .host()
            .filter(|host| !host.is_empty())
            .ok_or(ConfigError::MissingHost)?;
        let port = config
            .url
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let bare_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let authority = match config.url.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let host_header =
            HeaderValue::from_str(&authority).map_err(|_| ConfigError::MissingHost)?;
        let tls = if secure {
            let server_name = ServerName::try_from(bare_host.clone()).map_err(|_| {
                ConfigError::InvalidServerName {
                    host: bare_host.clone(),
                }
            })?;
            Some((tls_connector(&config.tls)?, server_name))
        } else {
            None
        };
        let path = config
            .url
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        // A path and query taken from a valid URI is a valid origin-form URI.
        let target = Uri::try_from(path.as_str()).map_err(|_| ConfigError::MissingHost)?;
        let credentials = if config.username.is_empty() {
            None
        } else {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", config.username, config.password));
            let mut basic = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|_| ConfigError::InvalidCredentials)?;
            basic.set_sensitive(true);
            Some(Credentials {
                username: config.username,
                password: config.password,
                basic,
                digest: Mutex::new(None),
            })
        };
        let command_connections = config.command_connections.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint: Endpoint {
                    host: bare_host,
                    port,
                    authority: format!("{host}:{port}"),
                    host_header,
                    path,
                    target,
                    tls,
                },
                url: config.url,
                wsdl: config.wsdl,
                credentials,
                connect_timeout: config.connect_timeout,
                command_timeout: config.command_timeout,
                poll_timeout: config.poll_timeout,
                max_response_bytes: config.max_response_bytes,
                command_slots: Semaphore::new(command_connections),
                command_connections,
                idle_commands: Mutex::new(Vec::with_capacity(command_connections)),
                idle_poll: Mutex::new(None),
                next_connection: AtomicU64::new(1),
            }),
        })
    }

    /// `Version`: the PBX's WSDL revision, firmware and serial number.
    pub async fn version(&self) -> Result<VersionInfo, Error> {
        match self.call(&Request::Version).await? {
            Response::Version(version) => Ok(version),
            other => Err(unexpected(Operation::Version, &other)),
        }
    }

    /// `Initialize` with the configured WSDL flags; the PBX's 0 becomes [`Error::Rejected`].
    pub async fn initialize(&self, user: &str, appl: &str) -> Result<Session, Error> {
        let request = Request::Initialize(InitializeRequest {
            user: user.to_owned(),
            appl: appl.to_owned(),
            flags: self.inner.wsdl.flags(),
        });
        match self.call(&request).await? {
            Response::Initialize { session: 0, .. } => Err(Error::Rejected {
                operation: Operation::Initialize,
            }),
            Response::Initialize { session, key } => Ok(Session {
                handle: session,
                key,
            }),
            other => Err(unexpected(Operation::Initialize, &other)),
        }
    }

    /// `Echo`: whether the session is still valid (false when the PBX answers 0).
    pub async fn echo(&self, session: Session) -> Result<bool, Error> {
        let request = Request::Echo {
            session: session.handle,
            key: session.key,
        };
        Ok(self.int(&request).await? != 0)
    }

    /// `End`: ends the session.
    pub async fn end(&self, session: i32) -> Result<(), Error> {
        self.void(&Request::End { session }).await
    }

    /// `Poll` on the dedicated poll connection: the queued events, or nothing after the
    /// PBX's long-poll timeout.
    pub async fn poll(&self, session: i32) -> Result<AnyInfo, Error> {
        match self.call(&Request::Poll { session }).await? {
            Response::Poll(any) => Ok(any),
            other => Err(unexpected(Operation::Poll, &other)),
        }
    }

    /// `License` (documented by innovaphone as internal).
    pub async fn license(&self, session: i32, name: &str) -> Result<String, Error> {
        self.string(&Request::License {
            session,
            name: name.to_owned(),
        })
        .await
    }

    /// `Admin`: runs one admin command (needs admin credentials) and returns the PBX's XML.
    pub async fn admin(&self, xml: &str) -> Result<String, Error> {
        self.string(&Request::Admin {
            xml: xml.to_owned(),
        })
        .await
    }

    /// `UserInitialize`: monitors user `cn` (optionally only device `hw`); returns the user
    /// handle, 0 becomes [`Error::Rejected`].
    pub async fn user_initialize(
        &self,
        session: i32,
        cn: &str,
        xfer: bool,
        disc: bool,
        hw: &str,
    ) -> Result<i32, Error> {
        let request = Request::UserInitialize {
            session,
            user: cn.to_owned(),
            xfer,
            disc,
            hw: hw.to_owned(),
        };
        self.handle(&request).await
    }

    /// `UserEnd`: stops monitoring a user handle.
    pub async fn user_end(&self, user: i32) -> Result<(), Error> {
        self.void(&Request::UserEnd { user }).await
    }

    /// `Devices`: the configured devices of user `cn`.
    pub async fn devices(&self, session: i32, cn: &str) -> Result<Vec<Device>, Error> {
        match self
            .call(&Request::Devices {
                session,
                user: cn.to_owned(),
            })
            .await?
        {
            Response::Devices(devices) => Ok(devices),
            other => Err(unexpected(Operation::Devices, &other)),
        }
    }

    /// `Calls`: a snapshot of user `cn`'s calls (their call handles are meaningless).
    pub async fn calls(&self, session: i32, cn: &str) -> Result<Vec<CallInfo>, Error> {
        match self
            .call(&Request::Calls {
                session,
                user: cn.to_owned(),
            })
            .await?
        {
            Response::Calls(calls) => Ok(calls),
            other => Err(unexpected(Operation::Calls, &other)),
        }
    }

    /// `FindUser`: one page of the directory. The version flags of `query` are replaced by the
    /// configured ones.
    pub async fn find_user(&self, query: &FindUserRequest) -> Result<Vec<UserInfo>, Error> {
        let request = Request::FindUser(FindUserRequest {
            flags: self.inner.wsdl.flags(),
            ..query.clone()
        });
        match self.call(&request).await? {
            Response::FindUser(users) => Ok(users),
            other => Err(unexpected(Operation::FindUser, &other)),
        }
    }

    /// The whole directory, in pages of 50 (larger pages can crash a PBX): each page starts
    /// after the last long name of the previous one, until a page comes back empty, the PBX
    /// stops making progress, or [`MAX_DIRECTORY_PAGES`] pages were read.
    pub async fn find_all_users(&self) -> Result<Vec<UserInfo>, Error> {
        let mut users: Vec<UserInfo> = Vec::new();
        let mut query = FindUserRequest {
            count: 50,
            ..FindUserRequest::default()
        };
        for _ in 0..MAX_DIRECTORY_PAGES {
            let page = self.find_user(&query).await?;
            // A PBX that ignores `next` starts the page with the previous page's last entry.
            let fresh: Vec<UserInfo> = page
                .into_iter()
                .skip_while(|user| query.next && user.cn == query.cn)
                .collect();
            let Some(last) = fresh.last().map(|user| user.cn.clone()) else {
                return Ok(users);
            };
            users.extend(fresh);
            if last.is_empty() {
                return Ok(users);
            }
            query.cn = last;
            query.next = true;
        }
        tracing::warn!(
            pages = MAX_DIRECTORY_PAGES,
            users = users.len(),
            "directory paging stopped at the page limit"
        );
        Ok(users)
    }

    /// `UserFindDestination`: whether the number is incomplete, and the object it reaches.
    pub async fn user_find_destination(
        &self,
        user: i32,
        e164: &str,
        h323: &str,
    ) -> Result<(bool, Option<UserInfo>), Error> {
        let request = Request::UserFindDestination {
            user,
            e164: e164.to_owned(),
            h323: h323.to_owned(),
        };
        match self.call(&request).await? {
            Response::UserFindDestination { incomplete, user } => Ok((incomplete, user)),
            other => Err(unexpected(Operation::UserFindDestination, &other)),
        }
    }

    /// `LocationUrl`: the SOAP URL of the PBX named `loc` (from `UserInfo.loc`).
    pub async fn location_url(&self, loc: &str, tls: bool) -> Result<String, Error> {
        let request = Request::LocationUrl {
            flags: self.inner.wsdl.flags(),
            loc: loc.to_owned(),
            tls,
        };
        self.string(&request).await
    }

    /// `UserLocalNum`: `num` as dialable from the user's location.
    pub async fn user_local_num(&self, user: i32, num: &str) -> Result<String, Error> {
        self.string(&Request::UserLocalNum {
            user,
            num: num.to_owned(),
        })
        .await
    }

    /// `SetPresence`: whether the PBX accepted it (it answers 1 or 0).
    pub async fn set_presence(
        &self,
        presence: &Presence,
        im: bool,
        contact: &str,
        guid: &str,
        h323: &str,
    ) -> Result<bool, Error> {
        let request = Request::SetPresence {
            presence: presence.clone(),
            im,
            contact: contact.to_owned(),
            guid: guid.to_owned(),
            h323: h323.to_owned(),
        };
        Ok(self.int(&request).await? != 0)
    }

    /// `UserLicense` (undocumented).
    pub async fn user_license(&self, guid: &str, kind: &str) -> Result<bool, Error> {
        self.boolean(&Request::UserLicense {
            guid: guid.to_owned(),
            kind: kind.to_owned(),
        })
        .await
    }

    /// `UserCall`: places a call; returns its handle, 0 becomes [`Error::Rejected`].
    pub async fn user_call(
        &self,
        user: i32,
        destination: &Destination,
        rc: i32,
        srce164: &str,
    ) -> Result<i32, Error> {
        let (cn, e164, h323) = destination.parts();
        let request = UserCallRequest {
            user,
            cn,
            e164,
            h323,
            rc,
            srce164: srce164.to_owned(),
        };
        self.handle(&Request::UserCall(request)).await
    }

    /// `UserClear`: disconnects with a Q.850 cause (16 normal, 17 busy).
    pub async fn user_clear(&self, call: i32, cause: i32) -> Result<(), Error> {
        self.void(&Request::UserClear { call, cause }).await
    }

    /// `UserConnect`: answers an offered call.
    pub async fn user_connect(&self, call: i32) -> Result<(), Error> {
        self.void(&Request::UserConnect { call }).await
    }

    /// `UserHold`.
    pub async fn user_hold(&self, call: i32, remote: bool) -> Result<(), Error> {
        self.void(&Request::UserHold { call, remote }).await
    }

    /// `UserRetrieve`.
    pub async fn user_retrieve(&self, call: i32) -> Result<(), Error> {
        self.void(&Request::UserRetrieve { call }).await
    }

    /// `UserTransfer`: connects calls `a` and `b` of one user with each other.
    pub async fn user_transfer(&self, a: i32, b: i32) -> Result<(), Error> {
        self.void(&Request::UserTransfer { a, b }).await
    }

    /// `UserMediaTransfer`: cross-connects the media of two connected calls.
    pub async fn user_media_transfer(
        &self,
        a: i32,
        b: i32,
        user: bool,
        peer: bool,
    ) -> Result<(), Error> {
        self.void(&Request::UserMediaTransfer { a, b, user, peer })
            .await
    }

    /// `UserRedirect`: deflects, ignoring the destination's forwards; the PBX's verdict.
    pub async fn user_redirect(
        &self,
        call: i32,
        destination: &Destination,
        rc: i32,
    ) -> Result<bool, Error> {
        let (cn, e164, h323) = destination.parts();
        self.boolean(&Request::UserRedirect {
            call,
            cn,
            e164,
            h323,
            rc,
        })
        .await
    }

    /// `UserReroute`: deflects, obeying the destination's forwards; the PBX's verdict.
    pub async fn user_reroute(&self, call: i32, destination: &Destination) -> Result<bool, Error> {
        let (cn, e164, h323) = destination.parts();
        self.boolean(&Request::UserReroute {
            call,
            cn,
            e164,
            h323,
        })
        .await
    }

    /// `UserPickup`: returns the new call's handle, 0 becomes [`Error::Rejected`].
    pub async fn user_pickup(&self, user: i32, target: &PickupTarget) -> Result<i32, Error> {
        let (cn, call, group) = match target {
            PickupTarget::Call(call) => (String::new(), *call, String::new()),
            PickupTarget::Cn(cn) => (cn.clone(), 0, String::new()),
            PickupTarget::Group(group) => (String::new(), 0, group.clone()),
            PickupTarget::Implicit => (String::new(), 0, String::new()),
        };
        self.handle(&Request::UserPickup {
            user,
            cn,
            call,
            group,
        })
        .await
    }

    /// `UserPark` at `cn` (empty: the user) and `position` (-1: any); returns the parked
    /// call's handle, 0 becomes [`Error::Rejected`].
    pub async fn user_park(&self, call: i32, cn: &str, position: i32) -> Result<i32, Error> {
        self.handle(&Request::UserPark {
            call,
            cn: cn.to_owned(),
            position,
        })
        .await
    }

    /// `UserCtComplete`: tells the device its peer changed (display only).
    pub async fn user_ct_complete(&self, call: i32, e164: &str, h323: &str) -> Result<(), Error> {
        let request = Request::UserCtComplete {
            call,
            e164: e164.to_owned(),
            h323: h323.to_owned(),
        };
        self.void(&request).await
    }

    /// `UserRc`: sends a remote-control code to an innovaphone phone.
    pub async fn user_rc(&self, call: i32, rc: i32) -> Result<(), Error> {
        self.void(&Request::UserRc { call, rc }).await
    }

    /// `UserDTMF`: sends digits to the peer (or, with `recv`, to the local user).
    pub async fn user_dtmf(&self, call: i32, recv: bool, dtmf: &str) -> Result<(), Error> {
        self.void(&Request::UserDtmf {
            call,
            recv,
            dtmf: dtmf.to_owned(),
        })
        .await
    }

    /// `UserUUI`: sends user-user information.
    pub async fn user_uui(&self, call: i32, recv: bool, uui: &str) -> Result<(), Error> {
        self.void(&Request::UserUui {
            call,
            recv,
            uui: uui.to_owned(),
        })
        .await
    }

    /// `UserInfo` (the operation): sends an INFO, e.g. overlap digits in `cdpn`.
    pub async fn user_info(
        &self,
        call: i32,
        recv: bool,
        cdpn: &str,
        key: &str,
        dsp: &str,
    ) -> Result<(), Error> {
        let request = Request::UserInfo {
            call,
            recv,
            cdpn: cdpn.to_owned(),
            key: key.to_owned(),
            dsp: dsp.to_owned(),
        };
        self.void(&request).await
    }

    /// `UserMessage`: sends a text message; returns its handle, 0 becomes
    /// [`Error::Rejected`].
    pub async fn user_message(
        &self,
        user: i32,
        e164: &str,
        h323: &str,
        msg: &str,
        src_e164: &str,
        src_h323: &str,
    ) -> Result<i32, Error> {
        let request = Request::UserMessage {
            user,
            e164: e164.to_owned(),
            h323: h323.to_owned(),
            msg: msg.to_owned(),
            src_e164: src_e164.to_owned(),
            src_h323: src_h323.to_owned(),
        };
        self.handle(&request).await
    }

    /// The configured endpoint.
    pub fn url(&self) -> &Uri {
        &self.inner.url
    }

    /// Sends `request` and decodes the answer: the one path every operation takes.
    pub async fn call(&self, request: &Request) -> Result<Response, Error> {
        let operation = request.operation();
        let (lane, limit) = match operation {
            Operation::Poll => (Lane::Poll, self.inner.poll_timeout),
            _ => (Lane::Command, self.inner.command_timeout),
        };
        let mut body = Vec::with_capacity(1024);
        encode_request(request, self.inner.wsdl, &mut body);
        let span = tracing::debug_span!("pbx_request", operation = %operation, pbx = %self.inner.endpoint.authority);
        let started = Instant::now();
        let result = async {
            let exchanged =
                tokio::time::timeout(limit, self.exchange(operation, lane, Bytes::from(body)))
                    .await
                    .unwrap_or(Err(Error::Timeout {
                        operation,
                        after: limit,
                    }));
            let (status, response) = exchanged?;
            let elapsed_ms = elapsed_ms(started);
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms,
                bytes = response.len(),
                "PBX answered"
            );
            interpret(operation, status, &response)
        }
        .instrument(span.clone())
        .await;
        if let Err(error) = &result {
            span.in_scope(
                || tracing::debug!(elapsed_ms = elapsed_ms(started), %error, "PBX request failed"),
            );
        }
        result
    }

    async fn int(&self, request: &Request) -> Result<i32, Error> {
        match self.call(request).await? {
            Response::Int(value) => Ok(value),
            other => Err(unexpected(request.operation(), &other)),
        }
    }

    /// An operation whose documented failure value is 0.
    async fn handle(&self, request: &Request) -> Result<i32, Error> {
        match self.int(request).await? {
            0 => Err(Error::Rejected {
                operation: request.operation(),
            }),
            handle => Ok(handle),
        }
    }

    async fn boolean(&self, request: &Request) -> Result<bool, Error> {
        match self.call(request).await? {
            Response::Bool(value) => Ok(value),
            other => Err(unexpected(request.operation(), &other)),
        }
    }

    async fn string(&self, request: &Request) -> Result<String, Error> {
        match self.call(request).await? {
            Response::String(value) => Ok(value),
            other => Err(unexpected(request.operation(), &other)),
        }
    }

    async fn void(&self, request: &Request) -> Result<(), Error> {
        match self.call(request).await? {
            Response::Void => Ok(()),
            other => Err(unexpected(request.operation(), &other)),
        }
    }

    /// One HTTP exchange including authentication, on a connection of `lane`; returns the
    /// final status and body.
    async fn exchange(
        &self,
        operation: Operation,
        lane: Lane,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), Error> {
        // The semaphore is never closed, so `acquire` cannot fail; were it closed, going on
        // without a slot would merely open one more connection.
        let _slot = match lane {
            Lane::Command => self.inner.command_slots.acquire().await.ok(),
            Lane::Poll => None,
        };
        let mut connection = self.checkout(operation, lane).await?;
        let mut answered_challenge = false;
        let mut replaced_stale = false;
        loop {
            // A retry after a Digest challenge may find the connection closed by the PBX.
            if !connection.is_open().await {
                connection = self.connect(operation).await?;
            }
            let request = self.http_request(operation, &body)?;
            tracing::trace!(
                connection = connection.id,
                reused = connection.reused,
                "sending"
            );
            let outcome = connection
                .exchange(request, self.inner.max_response_bytes)
                .await;
            let (status, headers, response) = match outcome {
                Ok(answer) => answer,
                Err(ExchangeError::NotSent(source)) if connection.reused && !replaced_stale => {
                    // The PBX closed the pooled connection before the request was written.
                    tracing::debug!(connection = connection.id, %source, "pooled connection was closed; reconnecting");
                    replaced_stale = true;
                    connection = self.connect(operation).await?;
                    continue;
                }
                Err(ExchangeError::NotSent(source) | ExchangeError::Failed(source)) => {
                    return Err(Error::Connection { operation, source });
                }
                Err(ExchangeError::TooLarge) => {
                    return Err(Error::BodyTooLarge {
                        limit: self.inner.max_response_bytes,
                    });
                }
            };
            if status == StatusCode::UNAUTHORIZED
                && !answered_challenge
                && self.take_digest_challenge(&headers)
            {
                answered_challenge = true;
                continue;
            }
            self.checkin(lane, connection);
            return Ok((status, response));
        }
    }

    /// Stores a Digest challenge from a 401 answer; false when there is none to answer.
    fn take_digest_challenge(&self, headers: &HeaderMap) -> bool {
        let Some(credentials) = &self.inner.credentials else {
            return false;
        };
        let challenge = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter(|value| {
                value
                    .trim_start()
                    .get(..6)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("digest"))
            })
            .find_map(|value| digest_auth::parse(value).ok());
        let Some(challenge) = challenge else {
            return false;
        };
        *credentials
            .digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(challenge);
        true
    }

    fn http_request(
        &self,
        operation: Operation,
        body: &Bytes,
    ) -> Result<http::Request<Full<Bytes>>, Error> {
        let endpoint = &self.inner.endpoint;
        let mut request = http::Request::new(Full::new(body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = endpoint.target.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, endpoint.host_header.clone());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("cti-gateway-pbx-soap/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert("soapaction", soap_action_header(operation, self.inner.wsdl));
        if let Some(credentials) = &self.inner.credentials {
            headers.insert(
                AUTHORIZATION,
                credentials.authorization(&endpoint.path, body)?,
            );
        }
        Ok(request)
    }

    /// An idle connection of `lane` that is still open, or a new one.
    async fn checkout(&self, operation: Operation, lane: Lane) -> Result<Connection, Error> {
        loop {
            let idle = match lane {
                Lane::Command => lock(&self.inner.idle_commands).pop(),
                Lane::Poll => lock(&self.inner.idle_poll).take(),
            };
            let Some(mut connection) = idle else {
                return self.connect(operation).await;
            };
            if connection.is_open().await {
                connection.reused = true;
                return Ok(connection);
            }
            tracing::debug!(
                connection = connection.id,
                "dropping a pooled connection the PBX closed"
            );
        }
    }

    fn checkin(&self, lane: Lane, connection: Connection) {
        if connection.closed || connection.sender.is_closed() {
            return;
        }
        match lane {
            Lane::Command => {
                let mut idle = lock(&self.inner.idle_commands);
                if idle.len() < self.inner.command_connections {
                    idle.push(connection);
                }
            }
            Lane::Poll => {
                let mut idle = lock(&self.inner.idle_poll);
                if idle.is_none() {
                    *idle = Some(connection);
                }
            }
        }
    }

    async fn connect(&self, operation: Operation) -> Result<Connection, Error> {
        let endpoint = &self.inner.endpoint;
        let limit = self.inner.connect_timeout;
        let connect_error = |source| Error::Connect {
            authority: endpoint.authority.clone(),
            source,
        };
        let tcp = tokio::time::timeout(
            limit,
            TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
        )
        .await
        .map_err(|_| connect_error(io::ErrorKind::TimedOut.into()))?
        .map_err(connect_error)?;
        // Requests are small and written at once; do not let Nagle hold their tail back.
        tcp.set_nodelay(true).map_err(connect_error)?;
        let stream: Box<dyn Stream> = match &endpoint.tls {
            None => Box::new(tcp),
            Some((connector, server_name)) => {
                let tls_error = |source| Error::Tls {
                    authority: endpoint.authority.clone(),
                    source,
                };
                let tls = tokio::time::timeout(limit, connector.connect(server_name.clone(), tcp))
                    .await
                    .map_err(|_| tls_error(io::ErrorKind::TimedOut.into()))?
                    .map_err(tls_error)?;
                Box::new(tls)
            }
        };
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| Error::Connection { operation, source })?;
        let id = self.inner.next_connection.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(connection = id, pbx = %endpoint.authority, "connected");
        Ok(Connection {
            id,
            sender,
            driver: Box::pin(driver),
            reused: false,
            closed: false,
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("wsdl", &self.inner.wsdl)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Sends one request and reads the whole response, driving the connection meanwhile.
    async fn exchange(
        &mut self,
        request: http::Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ExchangeError> {
        let Self {
            sender,
            driver,
            closed,
            ..
        } = self;
        let exchange = async {
            let response =
                sender
                    .try_send_request(request)
                    .await
                    .map_err(|mut error| match error.take_message() {
                        Some(_) => ExchangeError::NotSent(error.into_error()),
                        None => ExchangeError::Failed(error.into_error()),
                    })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit).collect().await.map_err(|error| {
                match error.downcast::<hyper::Error>() {
                    Ok(error) => ExchangeError::Failed(*error),
                    Err(error) if error.is::<LengthLimitError>() => ExchangeError::TooLarge,
                    // `Limited` over hyper's body yields only these two errors.
                    Err(_) => ExchangeError::TooLarge,
                }
            })?;
            Ok((parts.status, parts.headers, body.to_bytes()))
        };
        let mut exchange = std::pin::pin!(exchange);
        tokio::select! {
            biased;
            result = &mut exchange => result,
            ended = driver.as_mut() => {
                // The connection is done (closed after the response, or broken): whatever it
                // delivered is in the response channels, so finish reading from them.
                *closed = true;
                if let Err(error) = ended {
                    tracing::debug!(%error, "connection ended with an error");
                }
                exchange.await
            }
        }
    }

    /// Whether an idle connection is still usable: polls the driver once so that a close by
    /// the PBX while it sat in the pool is noticed before a request is written to it.
    async fn is_open(&mut self) -> bool {
        if self.closed || self.sender.is_closed() {
            return false;
        }
        let driver = &mut self.driver;
        let state = poll_fn(|context| Poll::Ready(driver.as_mut().poll(context))).await;
        state.is_pending() && !self.sender.is_closed()
    }
}

impl Credentials {
    /// The `Authorization` header: the answer to the stored Digest challenge, otherwise
    /// preemptive Basic.
    fn authorization(&self, path: &str, body: &[u8]) -> Result<HeaderValue, Error> {
        let mut digest = self.digest.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(challenge) = digest.as_mut() else {
            return Ok(self.basic.clone());
        };
        let context =
            digest_auth::AuthContext::new_post(&self.username, &self.password, path, Some(body));
        let answer = challenge
            .respond(&context)
            .map_err(|_| ConfigError::InvalidCredentials)?;
        let mut value = HeaderValue::from_str(&answer.to_header_string())
            .map_err(|_| ConfigError::InvalidCredentials)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Turns an HTTP answer into the operation's response or a typed error. SOAP 1.1 sends
/// faults with status 500, so a fault body wins over the status.
fn interpret(operation: Operation, status: StatusCode, body: &[u8]) -> Result<Response, Error> {
    match status {
        StatusCode::OK => decode_response(operation, body),
        StatusCode::UNAUTHORIZED => Err(Error::Unauthorized),
        status => match decode_response(operation, body) {
            Err(Error::Fault(fault)) => Err(Error::Fault(fault)),
            _ => Err(Error::Http { status }),
        },
    }
}

/// A response of the wrong shape for its operation; `decode_response` never produces one, but
/// a typed error is cheaper to reason about than a panic.
fn unexpected(operation: Operation, response: &Response) -> Error {
    DecodeError::UnexpectedResponse {
        expected: format!("{operation}Response"),
        found: format!("{response:?}").chars().take(40).collect(),
    }
    .into()
}

/// The quoted `SOAPAction` header value.
fn soap_action_header(operation: Operation, version: WsdlVersion) -> HeaderValue {
    // Operation names and WSDL namespaces are ASCII, so this is always a valid header value.
    HeaderValue::from_str(&format!("\"{}\"", operation.soap_action(version)))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The pools hold plain data; a panic elsewhere cannot leave them inconsistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Builds the rustls client configuration once per client.
fn tls_connector(tls: &TlsConfig) -> Result<TlsConnector, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Tls)?;
    let mut config = if tls.danger_accept_invalid_certs {
        let verifier = AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(trust_roots(tls)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

fn trust_roots(tls: &TlsConfig) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = &tls.ca_file else {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "cannot load some system root certificates");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            return Err(ConfigError::NoSystemRoots);
        }
        return Ok(roots);
    };
    let ca_error = |source| ConfigError::CaFile {
        path: path.clone(),
        source,
    };
    for certificate in CertificateDer::pem_file_iter(path).map_err(ca_error)? {
        roots
            .add(certificate.map_err(ca_error)?)
            .map_err(ConfigError::Tls)?;
    }
    if roots.is_empty() {
        return Err(ConfigError::NoCertificates { path: path.clone() });
    }
    Ok(roots)
}

/// Accepts every server certificate (`danger_accept_invalid_certs`), but still verifies the
/// handshake signatures with the provider's algorithms, so the peer must hold the key of the
/// certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
