//! The CSTA server: listeners (plain TCP and TLS, same framing), one task per connection,
//! ECMA-354 sessions, monitors, services and access control.

mod auth;
mod call_control;
mod codec;
mod connection;
pub mod convert;
mod features;
mod listener;
mod monitors;
mod services;
mod session;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

pub use auth::hash as hash_password;
pub use codec::{CodecError, CstaCodec, RawFrame};
pub use listener::BindError;
pub use services::PRIVATE_NAMESPACE;
pub use tls::TlsError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ListenerConfig, SessionConfig, UserConfig};
use crate::metrics::Metrics;
use crate::numbers::{self, Destination};
use crate::pbx::Link;
use crate::registry::{LineView, Registry};

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) registry: Registry,
    pub(crate) links: BTreeMap<Arc<str>, Link>,
    /// The CSTA users; replaced as a whole when the configuration is read again.
    users: RwLock<Arc<[Arc<UserConfig>]>>,
    pub(crate) sessions_config: SessionConfig,
    pub(crate) store: session::SessionStore,
    pub(crate) shutdown: CancellationToken,
    pub(crate) metrics: Metrics,
    next: AtomicU64,
}

impl Shared {
    /// A fresh number for cross references (monitors, registrations, device lists), unique in
    /// this process.
    pub(crate) fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn link(&self, pbx: &str) -> Option<&Link> {
        self.links.get(pbx)
    }

    /// The CSTA users as configured now.
    pub(crate) fn users(&self) -> Arc<[Arc<UserConfig>]> {
        // Only whole replacements happen under the lock; a poisoned one is still consistent.
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn user(&self, name: &str) -> Option<Arc<UserConfig>> {
        self.users().iter().find(|user| user.name == name).cloned()
    }

    /// The line a client names: its device id, or any accepted spelling of it (`tel:`,
    /// `sip:`, `N<...>`, its international number).
    pub(crate) fn find_line(&self, text: &str) -> Option<LineView> {
        if let Some(line) = self.registry.line(text) {
            return Some(line);
        }
        let Ok(Destination::Number(number)) = numbers::parse_destination(text) else {
            return None;
        };
        if let Some(line) = self.registry.line(&number) {
            return Some(line);
        }
        if number.starts_with('+') {
            return self
                .registry
                .lines()
                .into_iter()
                .find(|line| line.line.international.as_deref() == Some(number.as_str()));
        }
        None
    }
}

/// The CSTA server with its listeners bound.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<listener::Bound>,
}

impl Server {
    /// Binds every configured listener (and loads TLS material), so that configuration and
    /// address problems surface before the daemon reports ready.
    pub async fn bind(
        config: &Config,
        registry: Registry,
        links: Vec<Link>,
        metrics: Metrics,
        shutdown: CancellationToken,
    ) -> Result<Self, BindError> {
        let users = RwLock::new(user_list(&config.users));
        let shared = Arc::new(Shared {
            registry,
            links: links
                .into_iter()
                .map(|link| (link.pbx().clone(), link))
                .collect(),
            users,
            sessions_config: config.sessions.clone(),
            store: session::SessionStore::default(),
            shutdown,
            metrics,
            next: AtomicU64::new(0),
        });
        let mut listeners = Vec::new();
        for listener in &config.listeners {
            listeners.push(listener::Bound::bind(Arc::new(listener.clone())).await?);
        }
        Ok(Self { shared, listeners })
    }

    /// The handle that replaces the CSTA users while the server runs.
    pub fn users(&self) -> Users {
        Users(self.shared.clone())
    }

    /// The bound addresses, by listener name.
    pub fn addresses(&self) -> Vec<(String, SocketAddr)> {
        self.listeners
            .iter()
            .map(|bound| (bound.config().name.clone(), bound.local_addr()))
            .collect()
    }

    /// Serves every listener until shutdown; connection tasks are spawned on `tracker`.
    pub fn spawn(self, tracker: &TaskTracker) {
        for bound in self.listeners {
            let shared = self.shared.clone();
            let connections = tracker.clone();
            tracker.spawn(bound.serve(shared, connections));
        }
    }
}

/// Replaces the CSTA users of a running server: logins, client certificates and anonymous
/// connections from then on use the new users; sessions already established keep the rights
/// they logged in with.
#[derive(Clone, Debug)]
pub struct Users(Arc<Shared>);

impl Users {
    /// Takes `users` (validated, as in [`Config::users`]) in place of the current ones.
    pub fn replace(&self, users: &[UserConfig]) {
        *self.0.users.write().unwrap_or_else(PoisonError::into_inner) = user_list(users);
    }
}

fn user_list(users: &[UserConfig]) -> Arc<[Arc<UserConfig>]> {
    users.iter().cloned().map(Arc::new).collect()
}

/// The listener a name refers to, for logs.
pub fn describe(listener: &ListenerConfig) -> String {
    format!(
        "{} ({}{})",
        listener.name,
        listener.address,
        if listener.tls.is_some() { ", TLS" } else { "" }
    )
}
