//! The dataset catalog (`datasets`) in PostgreSQL: a dataset's typed definition, and bringing
//! its table in line with a changed spec (created, metric columns migrated in place, or
//! rebuilt), as `sqlite::datasets` does.

use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::Fail;
use super::days;
use super::ddl::{
    create_daily_kpi_view, create_kpi_view, create_table, drop_kpi_views, drop_table, metric_type,
    table_exists,
};
use crate::kpi;
use crate::schema::{DatasetDefinition, TableSpec, day_table, quote};
use crate::{DatasetChange, StoreError};

struct StoredDataset {
    definition: String,
    dimensions: Vec<String>,
    metrics: Vec<String>,
}

async fn stored_dataset(c: &impl GenericClient, name: &str) -> Result<Option<StoredDataset>, Fail> {
    let Some(row) = c
        .query_opt(
            "SELECT definition, dimensions, metrics FROM datasets WHERE name = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredDataset {
        definition: row.get(0),
        dimensions: stored_names(name, "dimensions", row.get(1))?,
        metrics: stored_names(name, "metrics", row.get(2))?,
    }))
}

/// A dataset's stored column names (a JSON list); one that can't be read names the dataset
/// and the column, never an empty list that would quietly drop columns.
fn stored_names(dataset: &str, column: &'static str, value: &str) -> Result<Vec<String>, Fail> {
    serde_json::from_str(value).map_err(|e| {
        Fail::Store(StoreError::CorruptDefinition {
            dataset: dataset.to_string(),
            column,
            value: value.to_string(),
            reason: e.to_string(),
        })
    })
}

async fn forget_history(tx: &impl GenericClient, name: &str) -> Result<(), Fail> {
    tx.execute("DELETE FROM windows WHERE dataset = $1", &[&name])
        .await?;
    tx.execute("DELETE FROM watermarks WHERE dataset = $1", &[&name])
        .await?;
    Ok(())
}

async fn record_dataset(tx: &impl GenericClient, spec: &TableSpec) -> Result<(), Fail> {
    let definition = &spec.definition;
    tx.execute(
        "INSERT INTO datasets (name, definition, dimensions, metrics, created_at, updated_at,
             kind, granularity, time_zone, filter)
         VALUES ($1, $2, $3, $4, now(), now(), $5, $6, $7, $8)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
             dimensions = excluded.dimensions, metrics = excluded.metrics,
             updated_at = excluded.updated_at, kind = excluded.kind,
             granularity = excluded.granularity, time_zone = excluded.time_zone,
             filter = excluded.filter",
        &[
            &spec.name,
            &definition.fingerprint(),
            &serde_json::to_string(&spec.dimensions).expect("strings serialize"),
            &serde_json::to_string(&spec.metrics).expect("strings serialize"),
            &definition.kind.as_str(),
            &definition.granularity.to_string(),
            &definition.time_zone.name(),
            &definition.filter_json(),
        ],
    )
    .await?;
    Ok(())
}

async fn migrate_metrics(
    tx: &impl GenericClient,
    spec: &TableSpec,
    stored: &StoredDataset,
) -> Result<DatasetChange, Fail> {
    let added: Vec<String> = (spec.metrics.iter())
        .filter(|m| !stored.metrics.contains(m))
        .cloned()
        .collect();
    let dropped: Vec<String> = (stored.metrics.iter())
        .filter(|m| !spec.metrics.contains(m))
        .cloned()
        .collect();
    let old_spec = TableSpec {
        metrics: stored.metrics.clone(),
        ..spec.clone()
    };
    drop_kpi_views(tx, spec).await?;
    let mut tables = vec![spec.name.clone()];
    let has_days = table_exists(tx, &day_table(&spec.name)).await?;
    if has_days {
        tables.push(day_table(&spec.name));
    }
    for table in &tables {
        let mut changes = Vec::new();
        for column in old_spec.metric_columns() {
            if dropped.contains(&column.metric) {
                changes.push(format!("DROP COLUMN {}", quote(&column.column)));
            }
        }
        for column in spec.metric_columns() {
            if added.contains(&column.metric) {
                changes.push(format!(
                    "ADD COLUMN {} {}",
                    quote(&column.column),
                    metric_type(column.sql_type)
                ));
            }
        }
        if !changes.is_empty() {
            tx.batch_execute(&format!(
                "ALTER TABLE {} {}",
                quote(table),
                changes.join(", ")
            ))
            .await?;
        }
    }
    create_kpi_view(tx, spec).await?;
    if has_days {
        create_daily_kpi_view(tx, spec).await?;
    }
    if !added.is_empty() {
        forget_history(tx, &spec.name).await?;
    }
    Ok(DatasetChange::Migrated { added, dropped })
}

/// Refuses a dataset whose KPI feeds would share a name with another dataset's.
async fn check_kpi_names(tx: &impl GenericClient, spec: &TableSpec) -> Result<(), Fail> {
    let known: Vec<String> = tx
        .query("SELECT name FROM datasets WHERE name <> $1", &[&spec.name])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    match kpi::clashing_name(&spec.name, known.iter().map(String::as_str)) {
        None => Ok(()),
        Some(other) => Err(Fail::Store(kpi::name_clash(&spec.name, other))),
    }
}

/// Creates or brings the dataset in line with `spec`; the caller holds the store's DDL lock.
pub(crate) async fn ensure(
    tx: &impl GenericClient,
    spec: &TableSpec,
) -> Result<DatasetChange, Fail> {
    check_kpi_names(tx, spec).await?;
    let change = match stored_dataset(tx, &spec.name).await? {
        None => {
            drop_table(tx, &spec.name).await?;
            create_table(tx, spec).await?;
            DatasetChange::Created
        }
        Some(stored)
            if stored.definition == spec.definition.fingerprint()
                && stored.dimensions == spec.dimensions =>
        {
            if stored.metrics == spec.metrics {
                days::ensure(tx, spec).await?;
                return Ok(DatasetChange::Unchanged);
            }
            migrate_metrics(tx, spec, &stored).await?
        }
        Some(stored) => {
            let reason = if stored.dimensions != spec.dimensions {
                format!(
                    "groupBy changed from {:?} to {:?}",
                    stored.dimensions, spec.dimensions
                )
            } else {
                format!(
                    "definition changed from `{}` to `{}`",
                    stored.definition,
                    spec.definition.fingerprint()
                )
            };
            drop_table(tx, &spec.name).await?;
            create_table(tx, spec).await?;
            forget_history(tx, &spec.name).await?;
            DatasetChange::Rebuilt { reason }
        }
    };
    days::ensure(tx, spec).await?;
    record_dataset(tx, spec).await?;
    Ok(change)
}

/// The stored spec of a dataset; [`StoreError::UnknownDataset`] if it has none.
pub(crate) async fn dataset_spec(c: &impl GenericClient, name: &str) -> Result<TableSpec, Fail> {
    spec_of(c, name, "").await
}

/// [`dataset_spec`], the dataset's row locked until the transaction ends: one window write
/// per dataset at a time.
pub(crate) async fn locked_dataset_spec(
    tx: &impl GenericClient,
    name: &str,
) -> Result<TableSpec, Fail> {
    spec_of(tx, name, " FOR UPDATE").await
}

/// The spec in one statement (a round trip: its parameter's type given, nothing prepared).
async fn spec_of(c: &impl GenericClient, name: &str, lock: &str) -> Result<TableSpec, Fail> {
    let row = c
        .query_typed_opt(
            &format!(
                "SELECT dimensions, metrics, kind, granularity, time_zone, filter FROM datasets
                 WHERE name = $1{lock}"
            ),
            &[(&name, Type::TEXT)],
        )
        .await?
        .ok_or_else(|| StoreError::UnknownDataset(name.to_string()))?;
    let text = |i: usize| row.get::<_, Option<&str>>(i);
    let definition = DatasetDefinition::from_columns(name, text(2), text(3), text(4), text(5))?;
    Ok(TableSpec {
        name: name.to_string(),
        dimensions: stored_names(name, "dimensions", row.get(0))?,
        metrics: stored_names(name, "metrics", row.get(1))?,
        definition,
    })
}
