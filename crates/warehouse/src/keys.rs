//! API keys for the BI server, kept in the store so every process that opens it agrees.
//! A key is shown once at creation; the store keeps only a salted SHA-256 of it, plus a short
//! public prefix to find the candidate row without scanning every hash.

use sha2::{Digest, Sha256};

pub(crate) const KEY_PREFIX: &str = "gbi_";
/// Characters after `gbi_` that are stored in clear to look the key up.
pub(crate) const LOOKUP_LEN: usize = 8;
pub(crate) const SECRET_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    /// A store other than SQLite failed (PostgreSQL: unreachable, refused, …).
    #[error("{0}")]
    Store(Box<crate::StoreError>),
    #[error("no API key with id {0}")]
    UnknownKey(i64),
    #[error("a key name must be 1 to 100 printable characters")]
    InvalidName,
}

/// A key as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    /// `gbi_` and the first characters, enough to recognise a key without revealing it.
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A freshly created key: `secret` is the only copy there will ever be.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub info: KeyInfo,
    pub secret: String,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, KeyError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(hex(&buffer))
}

pub(crate) fn digest(salt: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b":");
    hasher.update(key.as_bytes());
    hex(&hasher.finalize())
}

/// Compares without stopping at the first difference, so timing tells nothing about a hash.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) fn lookup_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    rest.get(..LOOKUP_LEN)
}

pub(crate) fn display_prefix(lookup: &str) -> String {
    format!("{KEY_PREFIX}{lookup}")
}

/// A new key's secret, the part stored in clear to find it, and a fresh salt.
pub(crate) fn new_secret() -> Result<(String, String), KeyError> {
    let secret = format!("{KEY_PREFIX}{}", random_hex(SECRET_BYTES)?);
    let salt = random_hex(16)?;
    Ok((secret, salt))
}
