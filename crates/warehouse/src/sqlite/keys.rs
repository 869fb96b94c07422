//! The `api_keys` table (what a key is and how it is hashed: `crate::keys`).

use std::path::Path;

use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::keys::{KeyError, KeyInfo, NewKey, digest, display_prefix, lookup_of, new_secret, same};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    lookup TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_lookup ON api_keys (lookup);
";

/// Creates the key table if missing (needs a writable connection; the server does it at start).
pub fn ensure_schema(connection: &Connection) -> Result<(), KeyError> {
    connection.execute_batch(SCHEMA)?;
    Ok(())
}

/// Opens the store file for key administration, creating the key table if needed.
pub fn open_admin(path: &Path) -> Result<Connection, KeyError> {
    let connection = Connection::open(path)?;
    // Creating the keys may be the first thing done to a store file.
    super::set_page_size(&connection)?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    ensure_schema(&connection)?;
    Ok(connection)
}

/// A read-only connection for checking keys on each request.
pub fn open_reader(path: &Path) -> Result<Connection, KeyError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(connection)
}

pub fn create(connection: &Connection, name: &str) -> Result<NewKey, KeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(KeyError::InvalidName);
    }
    let (secret, salt) = new_secret()?;
    let lookup = lookup_of(&secret).expect("generated keys are long enough");
    let created_at = format_instant(Timestamp::now());
    connection.execute(
        "INSERT INTO api_keys (name, lookup, salt, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, lookup, salt, digest(&salt, &secret), created_at],
    )?;
    Ok(NewKey {
        info: KeyInfo {
            id: connection.last_insert_rowid(),
            name: name.to_string(),
            prefix: display_prefix(lookup),
            created_at,
            revoked_at: None,
        },
        secret,
    })
}

pub fn list(connection: &Connection) -> Result<Vec<KeyInfo>, KeyError> {
    let mut statement = connection
        .prepare("SELECT id, name, lookup, created_at, revoked_at FROM api_keys ORDER BY id")?;
    let keys = statement
        .query_map([], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                prefix: display_prefix(&r.get::<_, String>(2)?),
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(keys)
}

/// Revokes a key; revoking it again is harmless. Returns whether it was live until now.
pub fn revoke(connection: &Connection, id: i64) -> Result<bool, KeyError> {
    let exists: Option<Option<String>> = connection
        .query_row("SELECT revoked_at FROM api_keys WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match exists {
        None => Err(KeyError::UnknownKey(id)),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            connection.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1",
                params![id, format_instant(Timestamp::now())],
            )?;
            Ok(true)
        }
    }
}

/// The live key matching `presented`, if any. A store without the key table has no keys.
pub fn verify(connection: &Connection, presented: &str) -> Result<Option<KeyInfo>, KeyError> {
    let Some(lookup) = lookup_of(presented) else {
        return Ok(None);
    };
    let table: Option<String> = connection
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'api_keys'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if table.is_none() {
        return Ok(None);
    }
    let mut statement = connection.prepare_cached(
        "SELECT id, name, salt, hash, created_at FROM api_keys
         WHERE lookup = ?1 AND revoked_at IS NULL",
    )?;
    let candidates = statement
        .query_map([lookup], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(candidates
        .into_iter()
        .find(|(_, _, salt, hash, _)| same(&digest(salt, presented), hash))
        .map(|(id, name, _, _, created_at)| KeyInfo {
            id,
            name,
            prefix: display_prefix(lookup),
            created_at,
            revoked_at: None,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_verify_revoke() {
        let c = Connection::open_in_memory().unwrap();
        ensure_schema(&c).unwrap();
        let key = create(&c, "power bi").unwrap();
        assert!(key.secret.starts_with("gbi_") && key.secret.len() == 4 + 48);
        assert_eq!(verify(&c, &key.secret).unwrap().unwrap().id, key.info.id);
        let mut wrong = key.secret.clone();
        wrong.pop();
        wrong.push(if key.secret.ends_with('0') { '1' } else { '0' });
        assert!(verify(&c, &wrong).unwrap().is_none());
        assert!(verify(&c, "gbi_").unwrap().is_none());
        assert!(verify(&c, "").unwrap().is_none());
        let stored: String = c
            .query_row("SELECT hash FROM api_keys", [], |r| r.get(0))
            .unwrap();
        assert!(!stored.contains(&key.secret[4..]), "only a hash is stored");
        assert!(revoke(&c, key.info.id).unwrap());
        assert!(!revoke(&c, key.info.id).unwrap());
        assert!(verify(&c, &key.secret).unwrap().is_none());
        assert!(matches!(revoke(&c, 99), Err(KeyError::UnknownKey(99))));
        assert!(list(&c).unwrap()[0].revoked_at.is_some());
        assert!(matches!(create(&c, "  "), Err(KeyError::InvalidName)));
    }

    #[test]
    fn a_store_without_keys_knows_none() {
        let c = Connection::open_in_memory().unwrap();
        assert!(verify(&c, "gbi_0123456789abcdef").unwrap().is_none());
    }
}
