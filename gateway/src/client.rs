//! A CSTA client of the gateway (or of any CSTA XML server with the 8-byte framing): the
//! operators' commands, the end-to-end tests and the benchmark use it.
//!
//! One reader task per connection decodes frames: answers go to the request that waits for
//! their invoke id, everything else (events, `SystemStatus`, `SwitchingFunctionDevices`) to
//! [`CstaClient::next_incoming`]. `SystemStatus` requests are answered automatically. The
//! reader task ends with the connection or when the client is dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csta::edition::Edition;
use csta::error_code::CstaErrorCode;
use csta::events::CstaEvent;
use csta::ids::{ConnectionId, DeviceId, InvokeId, MonitorCrossRefId};
use csta::message::Message;
use csta::monitoring::MonitorStart;
use csta::session::{Credentials, StartApplicationSession};
use csta::system::{GetSwitchingFunctionDevices, SystemStatusResponse};
use futures_util::StreamExt;
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;

use crate::server::{CodecError, CstaCodec, PRIVATE_NAMESPACE};

/// How to reach a CSTA server.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port`.
    pub address: String,
    /// TLS, if the listener is encrypted.
    pub tls: Option<ClientTls>,
    /// ECMA-354 login; `None` connects without a session (for listeners that allow it).
    pub login: Option<Login>,
    /// The edition requested and used for requests.
    pub edition: Edition,
    /// How long a request waits for its answer.
    pub timeout: Duration,
}

/// ECMA-354 credentials.
#[derive(Clone, Debug)]
pub struct Login {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Send the credentials in the Avaya `SessionLoginInfo` shape instead of plain
    /// `user`/`password`.
    pub avaya: bool,
    /// Requested session duration in seconds.
    pub duration: u32,
}

/// TLS settings of the client.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// PEM CA file to trust (else the system roots).
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (test set-ups only).
    pub danger_accept_invalid_certs: bool,
    /// The name to verify, if not the host of `address`.
    pub server_name: Option<String>,
    /// A client certificate chain and its key (PEM files), for listeners that map client
    /// certificates to users.
    pub client_certificate: Option<(PathBuf, PathBuf)>,
}

impl ClientConfig {
    /// Plain TCP, no login, edition 3, 10 s timeout.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls: None,
            login: None,
            edition: Edition::Ed3,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a CSTA request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {address}")]
    Connect {
        /// The address.
        address: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// TLS set-up or handshake failed.
    #[error("TLS with {address} failed: {reason}")]
    Tls {
        /// The address.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The connection closed.
    #[error("the server closed the connection")]
    Closed,
    /// No answer in time.
    #[error("no answer to {request} within {after:?}")]
    Timeout {
        /// The request.
        request: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The server answered with `CSTAErrorCode`.
    #[error("{request} failed: {}/{}", .code.category(), .code.value())]
    Csta {
        /// The request.
        request: &'static str,
        /// The error code.
        code: CstaErrorCode,
    },
    /// The server refused the session (ECMA-354 negative response).
    #[error("the server refused the session: {answer}")]
    SessionRefused {
        /// The root element of the answer.
        answer: &'static str,
    },
    /// The answer was not the expected message.
    #[error("unexpected answer {answer} to {request}")]
    Unexpected {
        /// The request.
        request: &'static str,
        /// The answer received.
        answer: &'static str,
    },
    /// A message could not be encoded (too large).
    #[error("cannot encode {request}")]
    Encode {
        /// The request.
        request: &'static str,
    },
}

/// A device of the server's device list, with the gateway's private data when present.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct DeviceInfo {
    /// The device id.
    pub id: String,
    /// The category (`station`, ...), if given.
    pub category: Option<String>,
    /// The display name (gateway private data).
    pub name: Option<String>,
    /// The stable line key (gateway private data).
    pub key: Option<String>,
    /// Whether the line is in service (gateway private data).
    pub in_service: Option<bool>,
}

type Pending = Arc<Mutex<HashMap<u16, oneshot::Sender<Message>>>>;

/// A connected client.
pub struct CstaClient {
    writer: tokio::sync::Mutex<Box<dyn AsyncWrite + Send + Unpin>>,
    pending: Pending,
    incoming: mpsc::UnboundedReceiver<Message>,
    next_invoke: Mutex<InvokeId>,
    edition: Edition,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
    session: Option<csta::ids::SessionId>,
}

impl Drop for CstaClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl CstaClient {
    /// Connects, completes TLS and logs in as configured.
    pub async fn connect(config: &ClientConfig) -> Result<Self, ClientError> {
        let tcp = TcpStream::connect(&config.address)
            .await
            .map_err(|source| ClientError::Connect {
                address: config.address.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let mut client = match &config.tls {
            None => Self::over(tcp, config),
            Some(tls) => {
                let connector = tls_connector(tls).map_err(|reason| ClientError::Tls {
                    address: config.address.clone(),
                    reason,
                })?;
                let host = tls.server_name.clone().unwrap_or_else(|| {
                    config
                        .address
                        .rsplit_once(':')
                        .map_or(config.address.as_str(), |(host, _)| host)
                        .to_owned()
                });
                let name = ServerName::try_from(
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned(),
                )
                .map_err(|error| ClientError::Tls {
                    address: config.address.clone(),
                    reason: error.to_string(),
                })?;
                let stream =
                    connector
                        .connect(name, tcp)
                        .await
                        .map_err(|error| ClientError::Tls {
                            address: config.address.clone(),
                            reason: error.to_string(),
                        })?;
                Self::over(stream, config)
            }
        };
        if let Some(login) = &config.login {
            client.login(login).await?;
        }
        Ok(client)
    }

    /// A client over an established stream (no login).
    pub fn over<S>(stream: S, config: &ClientConfig) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (reader, writer) = tokio::io::split(stream);
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let reader_pending = pending.clone();
        let reader = tokio::spawn(async move {
            let mut frames = FramedRead::new(
                reader,
                CstaCodec {
                    max_frame: csta::frame::MAX_FRAME_LEN,
                },
            );
            while let Some(frame) = frames.next().await {
                let frame = match frame {
                    Ok(frame) => frame,
                    Err(CodecError::Frame(_) | CodecError::Io(_)) => break,
                };
                let Ok(decoded) = Message::decode(&frame.body) else {
                    continue;
                };
                let message = decoded.message;
                let is_answer = !matches!(
                    message,
                    Message::Event(_)
                        | Message::SystemStatus(_)
                        | Message::SwitchingFunctionDevices(_)
                        | Message::ApplicationSessionTerminated(_)
                );
                if is_answer {
                    let waiter = lock(&reader_pending).remove(&frame.invoke_id.value());
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(message);
                        continue;
                    }
                }
                if incoming_tx.send(message).is_err() {
                    break;
                }
            }
            // Dropping the pending senders fails every waiting request with `Closed`.
            lock(&reader_pending).clear();
        });
        Self {
            writer: tokio::sync::Mutex::new(Box::new(writer)),
            pending,
            incoming,
            next_invoke: Mutex::new(InvokeId::new(0).unwrap_or(InvokeId::EVENT)),
            edition: config.edition,
            timeout: config.timeout,
            reader,
            session: None,
        }
    }

    async fn login(&mut self, login: &Login) -> Result<(), ClientError> {
        let credentials = Credentials {
            user: login.user.clone(),
            password: login.password.clone(),
            session_cleanup_delay: None,
            session_id: None,
        };
        let mut request =
            StartApplicationSession::with_login("cti-gateway-client", &credentials, login.avaya);
        request.requested_protocol_versions = vec![self.edition.namespace().to_owned()];
        request.requested_session_duration = Some(login.duration);
        match self.request(request.into()).await? {
            Message::StartApplicationSessionPosResponse(response) => {
                self.session = Some(response.session_id);
                Ok(())
            }
            other => Err(ClientError::SessionRefused {
                answer: other.name(),
            }),
        }
    }

    /// The ECMA-354 session id, if logged in.
    pub fn session_id(&self) -> Option<&csta::ids::SessionId> {
        self.session.as_ref()
    }

    fn next_invoke(&self) -> InvokeId {
        let mut next = lock(&self.next_invoke);
        *next = next.next_request();
        *next
    }

    /// Sends bytes as they are (tests of bad input).
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<(), ClientError> {
        let mut writer = self.writer.lock().await;
        writer
            .write_all(bytes)
            .await
            .map_err(|_| ClientError::Closed)?;
        writer.flush().await.map_err(|_| ClientError::Closed)
    }

    /// Sends a message with a given invoke id without waiting for an answer.
    pub async fn send(&self, invoke: InvokeId, message: &Message) -> Result<(), ClientError> {
        let mut frame = Vec::with_capacity(1024);
        csta::frame::encode_message(invoke, message, &self.edition, &mut frame).map_err(|_| {
            ClientError::Encode {
                request: message.name(),
            }
        })?;
        self.send_raw(&frame).await
    }

    /// Sends a request and waits for its answer. `CSTAErrorCode` becomes
    /// [`ClientError::Csta`].
    pub async fn request(&self, message: Message) -> Result<Message, ClientError> {
        let name = message.name();
        let invoke = self.next_invoke();
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(invoke.value(), tx);
        if let Err(error) = self.send(invoke, &message).await {
            lock(&self.pending).remove(&invoke.value());
            return Err(error);
        }
        let answer = match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(ClientError::Closed),
            Err(_) => {
                lock(&self.pending).remove(&invoke.value());
                return Err(ClientError::Timeout {
                    request: name,
                    after: self.timeout,
                });
            }
        };
        match answer {
            Message::CstaErrorCode(code) => Err(ClientError::Csta {
                request: name,
                code,
            }),
            Message::StartApplicationSessionNegResponse(_)
            | Message::StopApplicationSessionNegResponse(_)
            | Message::ResetApplicationSessionTimerNegResponse(_) => {
                Err(ClientError::SessionRefused {
                    answer: answer.name(),
                })
            }
            answer => Ok(answer),
        }
    }

    /// The next event or server-initiated request; `None` once the connection closed.
    /// `SystemStatus` requests are answered before they are returned.
    pub async fn next_incoming(&mut self) -> Option<Message> {
        let message = self.incoming.recv().await?;
        if matches!(message, Message::SystemStatus(_)) {
            let invoke = self.next_invoke();
            let _ = self
                .send(invoke, &SystemStatusResponse::default().into())
                .await;
        }
        Some(message)
    }

    /// The next event, skipping other server messages; `None` when the connection closed or
    /// the timeout passed.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<CstaEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let message = tokio::time::timeout_at(deadline, self.next_incoming())
                .await
                .ok()??;
            if let Message::Event(event) = message {
                return Some(event);
            }
        }
    }

    /// Starts a device monitor; returns its cross-reference id.
    pub async fn monitor(&self, device: &str) -> Result<MonitorCrossRefId, ClientError> {
        let device = device_id(device, "MonitorStart")?;
        match self.request(MonitorStart::device(device).into()).await? {
            Message::MonitorStartResponse(response) => Ok(response.monitor_cross_ref_id),
            other => Err(ClientError::Unexpected {
                request: "MonitorStart",
                answer: other.name(),
            }),
        }
    }

    /// Places a call from a device; returns the new call's connection at the caller.
    pub async fn make_call(&self, from: &str, to: &str) -> Result<ConnectionId, ClientError> {
        let request = csta::call_control::MakeCall::new(
            device_id(from, "MakeCall")?,
            device_id(to, "MakeCall")?,
        );
        match self.request(request.into()).await? {
            Message::MakeCallResponse(response) => Ok(response.calling_device),
            other => Err(ClientError::Unexpected {
                request: "MakeCall",
                answer: other.name(),
            }),
        }
    }

    /// The server's device list (all segments).
    pub async fn devices(&mut self) -> Result<Vec<DeviceInfo>, ClientError> {
        let request = GetSwitchingFunctionDevices {
            requested_device_id: None,
            requested_device_category: None,
            extensions: None,
        };
        let cross_ref = match self.request(request.into()).await? {
            Message::GetSwitchingFunctionDevicesResponse(response) => response.service_cross_ref_id,
            other => {
                return Err(ClientError::Unexpected {
                    request: "GetSwitchingFunctionDevices",
                    answer: other.name(),
                });
            }
        };
        let mut devices = Vec::new();
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let message = tokio::time::timeout_at(deadline, self.next_incoming())
                .await
                .map_err(|_| ClientError::Timeout {
                    request: "SwitchingFunctionDevices",
                    after: self.timeout,
                })?
                .ok_or(ClientError::Closed)?;
            let Message::SwitchingFunctionDevices(segment) = message else {
                continue;
            };
            if segment.service_cross_ref_id != cross_ref {
                continue;
            }
            let private = segment
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.private_xml())
                .map(|xml| private_devices(xml.as_str()))
                .unwrap_or_default();
            for item in segment.device_list.unwrap_or_default() {
                let id = item.device_id.as_str().to_owned();
                let extra = private.get(&id);
                devices.push(DeviceInfo {
                    category: item.device_category.map(|category| category.to_string()),
                    name: extra.and_then(|extra| extra.name.clone()),
                    key: extra.and_then(|extra| extra.key.clone()),
                    in_service: extra.and_then(|extra| extra.in_service),
                    id,
                });
            }
            if segment.last_segment {
                return Ok(devices);
            }
        }
    }
}

#[derive(Default)]
struct PrivateDevice {
    name: Option<String>,
    key: Option<String>,
    in_service: Option<bool>,
}

/// The gateway's per-device private data of a device list segment, by device id.
fn private_devices(xml: &str) -> HashMap<String, PrivateDevice> {
    let mut devices = HashMap::new();
    if !xml.contains(PRIVATE_NAMESPACE) {
        return devices;
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(
                quick_xml::events::Event::Empty(element) | quick_xml::events::Event::Start(element),
            ) if element.local_name().as_ref() == b"device" => {
                let mut id = None;
                let mut device = PrivateDevice::default();
                for attribute in element.attributes().flatten() {
                    let Ok(value) = attribute.unescape_value() else {
                        continue;
                    };
                    match attribute.key.local_name().as_ref() {
                        b"id" => id = Some(value.into_owned()),
                        b"name" => device.name = Some(value.into_owned()),
                        b"key" => device.key = Some(value.into_owned()),
                        b"inService" => device.in_service = Some(value == "true"),
                        _ => {}
                    }
                }
                if let Some(id) = id {
                    devices.insert(id, device);
                }
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    devices
}

fn device_id(text: &str, request: &'static str) -> Result<DeviceId, ClientError> {
    DeviceId::new(text).map_err(|_| ClientError::Encode { request })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn tls_connector(tls: &ClientTls) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?;
    let builder = if tls.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca_file {
            Some(file) => {
                let certs = rustls_pki_types::CertificateDer::pem_file_iter(file)
                    .map_err(|error| format!("{}: {error}", file.display()))?;
                for cert in certs {
                    let cert = cert.map_err(|error| format!("{}: {error}", file.display()))?;
                    roots.add(cert).map_err(|error| error.to_string())?;
                }
            }
            None => {
                let loaded = rustls_native_certs::load_native_certs();
                for cert in loaded.certs {
                    let _ = roots.add(cert);
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match &tls.client_certificate {
        Some((cert, key)) => {
            let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|error| format!("{}: {error}", cert.display()))?;
            let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
                .map_err(|error| format!("{}: {error}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| error.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Accepts any server certificate but still checks handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
