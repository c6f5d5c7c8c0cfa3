//! Password checks for ECMA-354 logins.

use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordVerifier};

use super::Shared;
use crate::config::UserConfig;

/// The user with these credentials, if the password matches its hash. Verification runs on the
/// blocking pool: argon2 is deliberately slow.
pub(super) async fn verify(shared: &Shared, user: &str, password: &str) -> Option<Arc<UserConfig>> {
    let candidate = shared.user(user)?;
    let hash = candidate.password_hash.clone()?;
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || check(&hash, &password))
        .await
        .unwrap_or(false);
    matches.then_some(candidate)
}

/// Whether a password matches a PHC hash.
pub(super) fn check(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A PHC hash of a password, for the configuration (`cti-gateway hash-password`).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_their_password_only() {
        let hash = hash("s3cret").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(check(&hash, "s3cret"));
        assert!(!check(&hash, "wrong"));
        assert!(!check("not a hash", "s3cret"));
    }
}
