//! Issued OAuth access tokens: opaque random strings that expire (real time) or get revoked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::permissions::Grant;

/// Why a bearer token was refused; each maps to a Genesys 401 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

impl TokenRejection {
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "authentication.required",
            Self::Unknown | Self::Revoked => "bad.credentials",
            Self::Expired => "credentials.expired",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "No authentication bearer token specified in authorization header.",
            Self::Unknown => "Invalid login credentials.",
            Self::Revoked => "Invalid login credentials. The token has been revoked.",
            Self::Expired => "The bearer token has expired.",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone)]
struct TokenRecord {
    expires_at: Instant,
    revoked: bool,
    grant: Grant,
}

#[derive(Debug)]
pub struct TokenStore {
    lifetime: Duration,
    tokens: Mutex<HashMap<String, TokenRecord>>,
}

/// Records kept this long after expiry still answer `credentials.expired` rather than `bad.credentials`.
const FORGET_AFTER: Duration = Duration::from_secs(3_600);

impl TokenStore {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A fresh token valid for the configured lifetime, holding `grant`.
    pub fn issue(&self, grant: Grant) -> String {
        let token = format!(
            "{}{}",
            crate::ids::random_uuid().simple(),
            crate::ids::random_uuid().simple()
        );
        let now = Instant::now();
        let mut tokens = self.lock();
        tokens.retain(|_, record| record.expires_at + FORGET_AFTER > now);
        tokens.insert(
            token.clone(),
            TokenRecord {
                expires_at: now + self.lifetime,
                revoked: false,
                grant,
            },
        );
        token
    }

    /// The token's grant, if it is live.
    pub fn check(&self, token: Option<&str>) -> Result<Grant, TokenRejection> {
        let token = token.ok_or(TokenRejection::Missing)?;
        let record = self
            .lock()
            .get(token)
            .cloned()
            .ok_or(TokenRejection::Unknown)?;
        if record.revoked {
            Err(TokenRejection::Revoked)
        } else if Instant::now() >= record.expires_at {
            Err(TokenRejection::Expired)
        } else {
            Ok(record.grant)
        }
    }

    /// Revokes every live token; returns how many were live.
    pub fn revoke_all(&self) -> usize {
        let now = Instant::now();
        let mut revoked = 0;
        for record in self.lock().values_mut() {
            if !record.revoked && record.expires_at > now {
                record.revoked = true;
                revoked += 1;
            }
        }
        revoked
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenRecord>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_is_valid_until_revoked() {
        let store = TokenStore::new(Duration::from_secs(60));
        let token = store.issue(Grant::Everything);
        assert!(store.check(Some(&token)).is_ok());
        assert_eq!(
            store.check(Some("nope")).err(),
            Some(TokenRejection::Unknown)
        );
        assert_eq!(store.check(None).err(), Some(TokenRejection::Missing));
        assert_eq!(store.revoke_all(), 1);
        assert_eq!(
            store.check(Some(&token)).err(),
            Some(TokenRejection::Revoked)
        );
        assert_eq!(store.revoke_all(), 0);
    }

    #[test]
    fn zero_lifetime_token_is_expired() {
        let store = TokenStore::new(Duration::ZERO);
        let token = store.issue(Grant::Everything);
        assert_eq!(
            store.check(Some(&token)).err(),
            Some(TokenRejection::Expired)
        );
    }
}
