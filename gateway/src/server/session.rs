//! ECMA-354 application sessions that outlive a TCP connection.
//!
//! A session belongs to the connection that started it. When that connection drops, the
//! session and its monitors are parked here for the configured cleanup delay, so a client
//! (Avaya-style) can re-attach by sending the old session id in its login and keep its
//! monitors. Sessions whose delay ran out are dropped. Time is an argument.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use csta::edition::Edition;

use super::monitors::Monitors;

/// A session parked after its connection dropped.
#[derive(Debug)]
pub(super) struct Parked {
    /// The user the session belongs to.
    pub(super) user: String,
    /// The negotiated edition.
    pub(super) edition: Edition,
    /// The session duration.
    pub(super) duration: Duration,
    /// The monitors to hand back on re-attach.
    pub(super) monitors: Monitors,
    /// When the session is dropped.
    pub(super) expires: Instant,
}

/// Why a re-attach failed.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub(super) enum ReattachError {
    /// No parked session has that id (never existed, expired, or still attached).
    #[error("no detached session with that id")]
    Unknown,
    /// The session belongs to another user.
    #[error("the session belongs to another user")]
    WrongUser,
}

/// The parked sessions.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    parked: Mutex<HashMap<String, Parked>>,
}

impl SessionStore {
    /// Parks a session whose connection dropped.
    pub(super) fn park(&self, id: String, session: Parked, now: Instant) {
        let mut parked = self.lock();
        parked.retain(|_, session| session.expires > now);
        parked.insert(id, session);
    }

    /// Takes a parked session back for `user`.
    pub(super) fn reattach(
        &self,
        id: &str,
        user: &str,
        now: Instant,
    ) -> Result<Parked, ReattachError> {
        let mut parked = self.lock();
        parked.retain(|_, session| session.expires > now);
        match parked.get(id) {
            None => Err(ReattachError::Unknown),
            Some(session) if session.user != user => Err(ReattachError::WrongUser),
            Some(_) => parked.remove(id).ok_or(ReattachError::Unknown),
        }
    }

    /// Drops expired sessions; returns how many remain parked.
    #[cfg(test)]
    fn expire(&self, now: Instant) -> usize {
        let mut parked = self.lock();
        parked.retain(|_, session| session.expires > now);
        parked.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parked>> {
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(user: &str, expires: Instant) -> Parked {
        Parked {
            user: user.to_owned(),
            edition: Edition::Ed3,
            duration: Duration::from_secs(60),
            monitors: Monitors::default(),
            expires,
        }
    }

    #[test]
    fn reattach_within_the_delay_by_the_same_user_only() {
        let store = SessionStore::default();
        let now = Instant::now();
        store.park(
            "s1".into(),
            parked("crm", now + Duration::from_secs(10)),
            now,
        );
        assert_eq!(
            store.reattach("s1", "other", now).unwrap_err(),
            ReattachError::WrongUser
        );
        assert!(store.reattach("s1", "crm", now).is_ok());
        assert_eq!(
            store.reattach("s1", "crm", now).unwrap_err(),
            ReattachError::Unknown,
            "taken once"
        );
        store.park(
            "s2".into(),
            parked("crm", now + Duration::from_secs(10)),
            now,
        );
        assert_eq!(
            store
                .reattach("s2", "crm", now + Duration::from_secs(11))
                .unwrap_err(),
            ReattachError::Unknown,
            "expired"
        );
        assert_eq!(store.expire(now), 0);
    }
}
