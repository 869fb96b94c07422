//! `genesys-bi store copy --to postgres://…`: the configured SQLite store into PostgreSQL
//! (`warehouse::store_copy` does the copying), what was copied printed per table.

use anyhow::Context;
use warehouse::PostgresConfig;

use super::context::load_config;
use crate::UsageError;
use crate::cli::{StoreArgs, StoreCommand};

/// The password a PostgreSQL URL doesn't carry: ours first, then libpq's.
fn password_from_environment() -> Option<String> {
    ["GENESYS_BI_POSTGRES_PASSWORD", "PGPASSWORD"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let StoreCommand::Copy { config, to, schema } = args.command;
    let config = load_config(&config)?;
    let source = config.store.sqlite.clone();
    if !source.is_file() {
        return Err(UsageError(format!(
            "[store] sqlite: there is no store at {} to copy",
            source.display()
        ))
        .into());
    }
    let password = password_from_environment();
    let destination = PostgresConfig::parse(&to, &schema, password.as_deref(), None)
        .map_err(|e| UsageError(format!("--to: {e}")))?;
    let shown = destination.to_string();
    eprintln!("Copying {} into {shown} …", source.display());
    let copy_source = source.clone();
    let report = tokio::task::spawn_blocking(move || {
        warehouse::store_copy::sqlite_to_postgres(&copy_source, &destination)
    })
    .await
    .context("the copy stopped")?
    .with_context(|| format!("copying {} into {shown}", source.display()))?;
    for (table, rows) in &report.tables {
        println!("{table}\t{rows}");
    }
    eprintln!(
        "Copied {} datasets, {} rows in {} tables. Point `[store] postgres` at it to use it.",
        report.datasets.len(),
        report.rows(),
        report.tables.len()
    );
    Ok(())
}
