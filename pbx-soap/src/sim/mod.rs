//! A simulated innovaphone PBX serving the SOAP API over HTTP(S) (feature `sim`).
//!
//! The simulator is meant to be indistinguishable from a PBX for a WSDL-driven SOAP client:
//! the same endpoint, authentication, both response dialects, sessions with a group scope,
//! long polls, user handles and the PBX's call records. It is the backend
//! of the project's tests, of `cti-gateway demo` and of the benchmarks.
//!
//! - [`Directory`]: the PBX's objects (TOML, [`Directory::demo`], [`Directory::generated`]).
//! - [`Model`]: the pure, synchronous PBX (sessions, handles, calls, event queues); every
//!   operation takes the current time as an argument.
//! - [`Sim::start`]: the hyper server around the model; [`SimHandle`] drives phone-side
//!   scenarios ("A dials B", "B answers", ...), injects faults ([`Faults`]), runs random
//!   traffic ([`SimHandle::start_traffic`]) and shows the PBX's own truth
//!   ([`SimHandle::snapshot`]).
//!
//! Every task of a simulator is owned by its handle and ends on [`SimHandle::shutdown`] or
//! when the last clone of the handle is dropped. The record sequences of each scenario are
//! documented in the crate README ("Simulator").

mod config;
mod control;
mod directory;
mod model;
mod server;
mod traffic;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::DropGuard;
use tracing::info;

pub use config::{AuthMode, PbxIdentity, SimConfig, TlsPem, Vocabulary};
pub use directory::{
    DeviceConfig, DeviceKind, Directory, DirectoryError, DirectoryProblem, ForwardKind, Forwards,
    Node, Object, ObjectKind,
};
pub use model::{
    CallRef, CallSnapshot, Identity, LegKind, LegSnapshot, Model, ObjectSnapshot, ScenarioError,
    SimSnapshot, UnknownSession, record_line,
};
pub use traffic::{
    PlannedStep, ScenarioMix, TrafficAction, TrafficConfig, TrafficHandle, TrafficPlan,
    TrafficStats, TrafficStep,
};

use crate::records::Presence;
use server::Shared;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// A self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate")]
    Certificate(#[source] rcgen::Error),
    /// The certificate PEM holds no certificate.
    #[error("the TLS certificate PEM holds no certificate")]
    NoCertificate,
    /// The certificate or key PEM cannot be read.
    #[error("cannot read the TLS certificate or key PEM")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// rustls refused the certificate and key.
    #[error("invalid TLS certificate or key")]
    Tls(#[source] rustls::Error),
}

/// Starts simulators.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds the listen address and starts serving; the returned handle owns every task.
    pub async fn start(config: SimConfig, directory: Directory) -> Result<SimHandle, SimError> {
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}{}", config.path);
        let mut model = Model::new(config.clone(), directory);
        model.set_own_url(url.clone());
        let shared = Arc::new(Shared::new(config, model, url, addr));
        shared
            .tracker
            .spawn(server::accept_loop(Arc::clone(&shared), listener, tls));
        shared
            .tracker
            .spawn(server::timer_loop(Arc::clone(&shared)));
        info!(url = %shared.url, location = %shared.config.location, "PBX simulator listening");
        let guard = Arc::new(shared.shutdown.clone().drop_guard());
        Ok(SimHandle {
            shared,
            _guard: guard,
        })
    }
}

fn tls_acceptor(pem: &TlsPem) -> Result<TlsAcceptor, SimError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_slice_iter(pem.cert_chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(SimError::Pem)?;
    if certs.is_empty() {
        return Err(SimError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(pem.private_key.as_bytes()).map_err(SimError::Pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SimError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(SimError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A running simulator. Cheap to clone; the simulator stops with [`SimHandle::shutdown`] or
/// when the last clone is dropped.
///
/// The scenario methods act as the phones (and the external parties behind the trunk) would:
/// they change the PBX's state at the current time and queue the records the PBX reports.
/// A party (`who`, `from`) is named by long name, `h323` name or number; the external party of
/// a trunk leg by its number.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
    _guard: Arc<DropGuard>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("url", &self.shared.url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// Stops accepting, closes every connection and waits for every task to end.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The full SOAP URL, e.g. `http://127.0.0.1:40000/PBX0/user.soap`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// `from` dials `to` on its first registered device (an innovaphone phone dialling).
    pub fn dial(&self, from: &str, to: &str) -> Result<CallRef, ScenarioError> {
        self.shared
            .with_model(|model, now| model.dial(from, to, now))
    }

    /// `from` dials `to` on a given device.
    pub fn dial_at(&self, from: &str, device: &str, to: &str) -> Result<CallRef, ScenarioError> {
        self.shared
            .with_model(|model, now| model.dial_at(from, Some(device), to, now))
    }

    /// An external caller calls `to` through the trunk.
    pub fn external_call(&self, from_number: &str, to: &str) -> Result<CallRef, ScenarioError> {
        self.shared
            .with_model(|model, now| model.external_call(from_number, to, now))
    }

    /// `who` answers the call ringing at it.
    pub fn answer(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.answer(call, who, now))
    }

    /// `who` answers at a given device.
    pub fn answer_at(&self, call: CallRef, who: &str, device: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.answer_at(call, who, Some(device), now))
    }

    /// `who` hangs up.
    pub fn hangup(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.hangup(call, who, now))
    }

    /// `who` rejects the call ringing at it as busy (cause 17; `cfb` applies).
    pub fn busy(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.busy(call, who, now))
    }

    /// `who` holds its peer.
    pub fn hold(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared.with_model(|model, _| model.hold(call, who))
    }

    /// `who` retrieves its held peer.
    pub fn retrieve(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared.with_model(|model, _| model.retrieve(call, who))
    }

    /// `who` connects its peers in calls `a` and `b` and drops out; the result is call `a`.
    pub fn transfer(&self, a: CallRef, b: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.transfer(a, b, who, now))
    }

    /// `who` deflects the call ringing at it to `to` (forwards of `to` are ignored).
    pub fn redirect(&self, call: CallRef, who: &str, to: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.redirect(call, who, to, now))
    }

    /// `who` parks its peer at `at` (its own object when `None`) at `position` (−1: any).
    pub fn park(
        &self,
        call: CallRef,
        who: &str,
        at: Option<&str>,
        position: i32,
    ) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.park(call, who, at, position, now))
    }

    /// `who` picks up the call: its parked leg, or the leg ringing at someone else.
    pub fn pickup(&self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, now| model.pickup(call, who, now))
    }

    /// `who` sends DTMF digits to its peer.
    pub fn dtmf(&self, call: CallRef, who: &str, digits: &str) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, _| model.dtmf(call, who, digits))
    }

    /// Registers or unregisters a device (`None`: all devices) of an object.
    pub fn register(
        &self,
        cn: &str,
        device: Option<&str>,
        registered: bool,
    ) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, _| model.register(cn, device, registered))
    }

    /// Sets (or, with `None`, clears) a forward as if on the phone: setting posts `cfg`,
    /// clearing posts nothing unless [`SimConfig::phone_clear_posts_cfg`].
    pub fn set_forward(
        &self,
        cn: &str,
        kind: ForwardKind,
        target: Option<&str>,
    ) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, _| model.set_forward(cn, kind, target))
    }

    /// Sets an object's presence as its user would; `dnd` makes the PBX reject its calls as
    /// busy.
    pub fn set_presence(&self, cn: &str, presence: Presence) -> Result<(), ScenarioError> {
        self.shared
            .with_model(|model, _| model.set_presence(cn, presence))
    }

    /// Fault injection.
    pub fn faults(&self) -> Faults {
        Faults {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The PBX's own view of objects and calls.
    pub fn snapshot(&self) -> SimSnapshot {
        self.shared.with_model(|model, _| model.snapshot())
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.shared.with_model(|model, _| model.session_count())
    }

    /// Number of records queued for every session and not yet polled.
    pub fn queued_records(&self) -> usize {
        self.shared.with_model(|model, _| model.queued_total())
    }

    /// Number of open HTTP connections.
    pub fn connection_count(&self) -> usize {
        self.shared.connection_count()
    }

    /// Number of calls in progress.
    pub fn call_count(&self) -> usize {
        self.shared.with_model(|model, _| model.call_count())
    }

    /// The conference id of a call, as every leg of it reports (`info type="conf"`).
    pub fn conf(&self, call: CallRef) -> Option<String> {
        self.shared
            .with_model(|model, _| model.conf(call).map(str::to_owned))
    }

    /// Waits until `condition` holds; it is checked now and again after every answered
    /// request, opened or closed connection and timer run (no-answer forwards, session
    /// expiry). Tests wrap it in a timeout.
    pub async fn wait_for(&self, mut condition: impl FnMut(&Self) -> bool) {
        let mut changes = self.shared.changes();
        while !condition(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Runs `f` on the model at the current time, under its lock; the records it queues are
    /// delivered as after any other operation. Keep `f` short: every request waits for it.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Model, Duration) -> R) -> R {
        self.shared.with_model(f)
    }

    /// Starts a random traffic generator on this PBX; it stops when its handle is dropped or
    /// stopped, when the simulator shuts down, or after [`TrafficConfig::max_calls`] calls.
    pub fn start_traffic(&self, config: TrafficConfig) -> TrafficHandle {
        traffic::start(&self.shared, config)
    }
}

/// Fault injection on a running simulator; each method acts at once.
#[derive(Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Faults {
    /// A PBX restart: every session and call is gone, every connection closed, handles are
    /// issued from 1 again with new keys (`Echo` of an old session returns 0).
    pub fn restart(&self) {
        self.shared.restart(None);
    }

    /// Delays every answer by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared
            .faults
            .latency_ms
            .store(millis, Ordering::Relaxed);
    }

    /// Closes every open connection at once (requests in flight get no answer).
    pub fn drop_connections(&self) {
        self.shared.drop_connections(None);
    }

    /// Closes the connection of each of the next `count` requests without an answer.
    pub fn drop_next(&self, count: u32) {
        self.shared.faults.drop_next.store(count, Ordering::Relaxed);
    }

    /// Answers the next `count` SOAP requests with HTTP 500 and no SOAP body.
    pub fn fail_next(&self, count: u32) {
        self.shared.faults.fail_next.store(count, Ordering::Relaxed);
    }

    /// Cuts the next `count` SOAP responses in half (HTTP 200, unparsable XML).
    pub fn malformed_next(&self, count: u32) {
        self.shared
            .faults
            .malformed_next
            .store(count, Ordering::Relaxed);
    }

    /// While on, polls neither return records nor time out.
    pub fn stall_polls(&self, on: bool) {
        self.shared.stall.send_replace(on);
    }
}
