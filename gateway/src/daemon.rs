//! The daemon: PBX links, the CSTA server and the admin endpoint under one cancellation token
//! and one task tracker, so that shutdown reaches every task.

use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::admin;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::pbx::Link;
use crate::registry::Registry;
use crate::server::{BindError, Server, Users};

/// Events the registry's bus keeps for a subscriber that falls behind.
const BUS_CAPACITY: usize = 1 << 16;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A CSTA listener could not be bound.
    #[error(transparent)]
    Listener(#[from] BindError),
    /// The admin endpoint could not be bound.
    #[error("cannot listen on {address} for the admin endpoint")]
    Admin {
        /// The address.
        address: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// A running daemon.
#[derive(Debug)]
pub struct Gateway {
    registry: Registry,
    links: Vec<Link>,
    csta: Vec<(String, SocketAddr)>,
    users: Users,
    admin: Option<SocketAddr>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    grace: Duration,
}

impl Gateway {
    /// Starts every PBX link, binds every listener and serves. Listener problems are returned
    /// before anything runs; PBX problems are retried in the background.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let registry = Registry::new(BUS_CAPACITY);
        let metrics = Metrics::default();
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let seed: u32 = rand::random();
        let links: Vec<Link> = config
            .pbx
            .iter()
            .enumerate()
            .map(|(index, pbx)| {
                // Distinct call-id spaces per PBX system.
                let seed = seed.wrapping_add(u32::try_from(index).unwrap_or(0) << 24);
                Link::new(pbx.clone(), registry.clone(), seed)
            })
            .collect();
        let server = Server::bind(
            &config,
            registry.clone(),
            links.clone(),
            metrics.clone(),
            shutdown.clone(),
        )
        .await?;
        let csta = server.addresses();
        let users = server.users();
        let admin = match &config.admin {
            Some(settings) => {
                let listener = tokio::net::TcpListener::bind(settings.address)
                    .await
                    .map_err(|source| StartError::Admin {
                        address: settings.address,
                        source,
                    })?;
                let address = listener.local_addr().map_err(|source| StartError::Admin {
                    address: settings.address,
                    source,
                })?;
                info!(address = %address, "admin endpoint listening");
                tracker.spawn(admin::serve(
                    listener,
                    registry.clone(),
                    metrics.clone(),
                    shutdown.clone(),
                    tracker.clone(),
                ));
                Some(address)
            }
            None => None,
        };
        for link in &links {
            tracker.spawn(link.clone().run(shutdown.clone(), tracker.clone()));
        }
        server.spawn(&tracker);
        for (name, address) in &csta {
            info!(listener = %name, address = %address, "listening");
        }
        Ok(Self {
            registry,
            links,
            csta,
            users,
            admin,
            shutdown,
            tracker,
            grace: config.shutdown_grace,
        })
    }

    /// The handle that replaces the CSTA users while the gateway runs.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// The registry (state of every line and call).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The PBX links.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The bound CSTA listeners, by name.
    pub fn csta_addresses(&self) -> &[(String, SocketAddr)] {
        &self.csta
    }

    /// The first CSTA listener's address.
    pub fn csta_address(&self) -> Option<SocketAddr> {
        self.csta.first().map(|(_, address)| *address)
    }

    /// The admin endpoint's address, if enabled.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// A token that stops the daemon when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every line of every PBX is in service, or the timeout passes; returns
    /// whether they all are.
    pub async fn wait_in_service(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ready = self.registry.links().iter().all(|(_, status)| status.ready)
                && self.registry.line_count() > 0
                && self.registry.lines_in_service() == self.registry.line_count();
            if ready {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops: cancels every task, lets connections and PBX sessions end, and waits up to the
    /// grace period. Returns whether everything ended in time.
    pub async fn stop(self) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        match tokio::time::timeout(self.grace, self.tracker.wait()).await {
            Ok(()) => {
                info!("stopped");
                true
            }
            Err(_) => {
                warn!(grace = ?self.grace, "some tasks did not stop within the grace period");
                false
            }
        }
    }

    /// Runs until `stop` completes (a signal), then shuts down.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> bool {
        let shutdown = self.shutdown.clone();
        tokio::select! {
            () = stop => {}
            () = shutdown.cancelled() => {}
        }
        self.stop().await
    }
}
