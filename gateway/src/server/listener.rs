//! A bound listener: the accept loop with a connection limit and accept backoff, and the TLS
//! handshake (with a timeout) inside each connection's task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};

use super::connection::{Connection, Identity};
use super::{Shared, tls};
use crate::config::ListenerConfig;

/// Why a listener cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The address cannot be bound.
    #[error("cannot listen on {address} (listener {name})")]
    Bind {
        /// The listener.
        name: String,
        /// The address.
        address: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS material is unusable.
    #[error("listener {name}: TLS setup failed")]
    Tls {
        /// The listener.
        name: String,
        /// The error.
        #[source]
        source: tls::TlsError,
    },
}

/// A listener with its socket bound.
pub(super) struct Bound {
    config: Arc<ListenerConfig>,
    socket: TcpListener,
    tls: Option<TlsAcceptor>,
    local: SocketAddr,
}

impl Bound {
    pub(super) async fn bind(config: Arc<ListenerConfig>) -> Result<Self, BindError> {
        let tls = match &config.tls {
            Some(settings) => Some(TlsAcceptor::from(tls::server_config(settings).map_err(
                |source| BindError::Tls {
                    name: config.name.clone(),
                    source,
                },
            )?)),
            None => None,
        };
        let socket = TcpListener::bind(config.address)
            .await
            .map_err(|source| BindError::Bind {
                name: config.name.clone(),
                address: config.address,
                source,
            })?;
        let local = socket.local_addr().map_err(|source| BindError::Bind {
            name: config.name.clone(),
            address: config.address,
            source,
        })?;
        Ok(Self {
            config,
            socket,
            tls,
            local,
        })
    }

    pub(super) fn config(&self) -> &ListenerConfig {
        &self.config
    }

    pub(super) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts connections until shutdown.
    pub(super) async fn serve(self, shared: Arc<Shared>, tracker: TaskTracker) {
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        info!(listener = %self.config.name, address = %self.local, tls = self.tls.is_some(), "CSTA listener ready");
        let mut backoff = Duration::from_millis(10);
        loop {
            let permit = tokio::select! {
                permit = limit.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = shared.shutdown.cancelled() => return,
            };
            let accepted = tokio::select! {
                accepted = self.socket.accept() => accepted,
                () = shared.shutdown.cancelled() => return,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    backoff = Duration::from_millis(10);
                    accepted
                }
                Err(error) => {
                    // Out of descriptors and similar: wait and try again rather than spin.
                    warn!(listener = %self.config.name, %error, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            let config = self.config.clone();
            let tls = self.tls.clone();
            let span = info_span!("csta", peer = %peer, listener = %config.name);
            tracker.spawn(
                async move {
                    shared.metrics.connection_opened();
                    handle(shared.clone(), config, tls, stream, peer).await;
                    shared.metrics.connection_closed();
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    config: Arc<ListenerConfig>,
    tls: Option<TlsAcceptor>,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let anonymous = config
        .anonymous_user
        .as_deref()
        .and_then(|name| shared.user(name))
        .map(Identity::Anonymous)
        .unwrap_or(Identity::None);
    let Some(acceptor) = tls else {
        debug!("connection accepted");
        Connection::serve(shared, config, peer, anonymous, stream).await;
        return;
    };
    let handshake = tokio::time::timeout(config.handshake_timeout, acceptor.accept(stream)).await;
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            info!(%error, "TLS handshake failed");
            shared.metrics.tls_failure();
            return;
        }
        Err(_) => {
            info!("TLS handshake timed out");
            shared.metrics.tls_failure();
            return;
        }
    };
    let certificate_user = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(tls::certificate_names)
        .and_then(|names| {
            shared
                .users()
                .iter()
                .find(|user| {
                    user.tls_subject
                        .as_ref()
                        .is_some_and(|subject| names.iter().any(|name| name == subject))
                })
                .cloned()
        });
    let identity = match certificate_user {
        Some(user) => {
            debug!(user = %user.name, "client certificate accepted");
            Identity::Certificate(user)
        }
        None => anonymous,
    };
    Connection::serve(shared, config, peer, identity, stream).await;
}
