//! For tests (feature `testing`): a PostgreSQL store's tables read back as SQLite holds them
//! (instants as the store's text, booleans as 0/1, `rowid` left out), and login roles with
//! chosen privileges, so other crates' tests compare and provoke without SQL or a driver.

use tokio_postgres::types::Type;

use super::config::PostgresConfig;
use super::connect::{self, OwnRuntime};
use super::instant::Instant;
use super::{Fail, PostgresError};
use crate::schema::quote;
use crate::testing::Stored;
use crate::{Result, StoreError};

fn on_server<T: Send, F>(
    config: &PostgresConfig,
    work: impl FnOnce(deadpool_postgres::Object) -> F + Send,
) -> Result<T>
where
    F: std::future::Future<Output = Result<T, Fail>>,
{
    let runtime = OwnRuntime::new()?;
    let pool = connect::pool(config)?;
    runtime
        .block_on_anywhere(|| async {
            let client = connect::client(&pool).await?;
            work(client).await
        })
        .map_err(|fail| fail.into_store(config))
}

/// Every row of a table of the store, sorted as `StoredTable::sorted_values` sorts SQLite's:
/// equal for two stores holding the same rows.
pub fn sorted_values(config: &PostgresConfig, table: &str) -> Result<Vec<Vec<Stored>>> {
    let sql = format!("SELECT * FROM {}", quote(table));
    let mut rows: Vec<Vec<Stored>> = on_server(config, |client| async move {
        let rows = client.query(&sql, &[]).await?;
        rows.iter().map(stored_row).collect::<Result<_, Fail>>()
    })?;
    rows.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.store_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(rows)
}

fn stored_row(row: &tokio_postgres::Row) -> Result<Vec<Stored>, Fail> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        if column.name() == "rowid" {
            continue;
        }
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Stored::Integer)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Stored::Integer(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Stored::Real)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Stored::Integer(v.into()))
        } else if *ty == Type::TIMESTAMPTZ {
            row.try_get::<_, Option<Instant>>(i)?
                .map(|v| Stored::Text(genesys::interval::format_instant(v.0)))
        } else if *ty == Type::TEXT {
            row.try_get::<_, Option<String>>(i)?.map(Stored::Text)
        } else {
            return Err(Fail::from(PostgresError::Value {
                column: column.name().to_string(),
                value: format!("a value of type {ty}"),
            }));
        };
        out.push(value.unwrap_or(Stored::Null));
    }
    Ok(out)
}

/// Creates a login role with `password` and no privileges beyond PostgreSQL's defaults (it may
/// connect, but may not create schemas); dropped by [`drop_role`].
pub fn create_role(config: &PostgresConfig, role: &str, password: &str) -> Result<()> {
    if !crate::schema::is_valid_identifier(role) {
        return Err(StoreError::InvalidName(role.to_string()));
    }
    // The password is a literal in DDL (no parameters there); the tests choose it.
    let sql = format!(
        "CREATE ROLE {} LOGIN PASSWORD '{}'",
        quote(role),
        password.replace('\'', "''")
    );
    on_server(config, |client| async move {
        client.batch_execute(&sql).await?;
        Ok(())
    })
}

/// Drops a role [`create_role`] made, and whatever it owns.
pub fn drop_role(config: &PostgresConfig, role: &str) -> Result<()> {
    let sql = format!(
        "DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}",
        role = quote(role)
    );
    on_server(config, |client| async move {
        client.batch_execute(&sql).await?;
        Ok(())
    })
}

/// Whether PostgreSQL has planner statistics for a table of the store (it was analyzed:
/// `pg_class.reltuples` is -1 until then).
pub fn analyzed(config: &PostgresConfig, table: &str) -> Result<bool> {
    let name = quote(table);
    on_server(config, |client| async move {
        let row = client
            .query_one(
                "SELECT reltuples >= 0 FROM pg_class WHERE oid = to_regclass($1)",
                &[&name],
            )
            .await?;
        Ok(row.get(0))
    })
}
