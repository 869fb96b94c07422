//! The `api_keys` table in PostgreSQL (what a key is and how it is hashed: `crate::keys`);
//! the same salted hashes SQLite keeps, so a copied store keeps its keys.

use genesys::interval::format_instant;
use tokio_postgres::{GenericClient, Row};

use super::Fail;
use super::instant::Instant;
use crate::StoreError;
use crate::keys::{KeyError, KeyInfo, NewKey, digest, display_prefix, lookup_of, new_secret, same};

fn key_error(error: KeyError) -> Fail {
    Fail::Store(StoreError::Keys(error))
}

fn text_of(at: Option<Instant>) -> Option<String> {
    at.map(|i| format_instant(i.0))
}

pub(crate) async fn create(c: &impl GenericClient, name: &str) -> Result<NewKey, Fail> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(key_error(KeyError::InvalidName));
    }
    let (secret, salt) = new_secret().map_err(key_error)?;
    let lookup = lookup_of(&secret).expect("generated keys are long enough");
    let row = c
        .query_one(
            "INSERT INTO api_keys (name, lookup, salt, hash, created_at)
             VALUES ($1, $2, $3, $4, now()) RETURNING id, created_at",
            &[&name, &lookup, &salt, &digest(&salt, &secret)],
        )
        .await?;
    Ok(NewKey {
        info: KeyInfo {
            id: row.get(0),
            name: name.to_string(),
            prefix: display_prefix(lookup),
            created_at: format_instant(row.get::<_, Instant>(1).0),
            revoked_at: None,
        },
        secret,
    })
}

fn info_of(row: &Row) -> KeyInfo {
    KeyInfo {
        id: row.get(0),
        name: row.get(1),
        prefix: display_prefix(row.get(2)),
        created_at: format_instant(row.get::<_, Instant>(3).0),
        revoked_at: text_of(row.get(4)),
    }
}

pub(crate) async fn list(c: &impl GenericClient) -> Result<Vec<KeyInfo>, Fail> {
    let rows = c
        .query(
            "SELECT id, name, lookup, created_at, revoked_at FROM api_keys ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows.iter().map(info_of).collect())
}

/// Revokes a key; revoking it again is harmless. Returns whether it was live until now.
pub(crate) async fn revoke(c: &impl GenericClient, id: i64) -> Result<bool, Fail> {
    let row = c
        .query_opt("SELECT revoked_at FROM api_keys WHERE id = $1", &[&id])
        .await?;
    match row.map(|r| r.get::<_, Option<Instant>>(0)) {
        None => Err(key_error(KeyError::UnknownKey(id))),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            c.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE id = $1",
                &[&id],
            )
            .await?;
            Ok(true)
        }
    }
}

/// The live key matching `presented`, if any: for the read side's key check.
pub async fn verify(
    c: &impl GenericClient,
    presented: &str,
) -> Result<Option<KeyInfo>, tokio_postgres::Error> {
    let Some(lookup) = lookup_of(presented) else {
        return Ok(None);
    };
    let rows = c
        .query(
            "SELECT id, name, lookup, created_at, revoked_at, salt, hash FROM api_keys
             WHERE lookup = $1 AND revoked_at IS NULL",
            &[&lookup],
        )
        .await?;
    Ok(rows
        .iter()
        .find(|r| same(&digest(r.get(5), presented), r.get(6)))
        .map(info_of))
}
