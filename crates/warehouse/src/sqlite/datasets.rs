//! The dataset catalog (`datasets`): a dataset's typed definition, and bringing its table in
//! line with a changed spec (created, metric columns migrated in place, or rebuilt).

use rusqlite::{OptionalExtension, Transaction, params};

use super::ddl::{create_kpi_view, create_table, drop_table};
use super::{days, now_text};
use crate::kpi;
use crate::schema::{DatasetDefinition, TableSpec, day_table, quote};
use crate::{DatasetChange, Result, StoreError};

pub(crate) fn write_definition(
    tx: &Transaction<'_>,
    name: &str,
    definition: &DatasetDefinition,
) -> Result<()> {
    tx.execute(
        "UPDATE datasets SET kind = ?2, granularity = ?3, time_zone = ?4, filter = ?5 WHERE name = ?1",
        params![
            name,
            definition.kind.as_str(),
            definition.granularity.to_string(),
            definition.time_zone.name(),
            definition.filter_json(),
        ],
    )?;
    Ok(())
}

/// The typed definition columns, in the order [`definition_from_row`] reads them from `at`.
pub(crate) const DEFINITION_COLUMNS: &str = "kind, granularity, time_zone, filter";

pub(crate) fn definition_from_row(
    dataset: &str,
    row: &rusqlite::Row<'_>,
    at: usize,
) -> Result<DatasetDefinition> {
    let text = |i: usize| row.get::<_, Option<String>>(at + i);
    let (kind, granularity, time_zone, filter) = (text(0)?, text(1)?, text(2)?, text(3)?);
    DatasetDefinition::from_columns(
        dataset,
        kind.as_deref(),
        granularity.as_deref(),
        time_zone.as_deref(),
        filter.as_deref(),
    )
}

struct StoredDataset {
    definition: String,
    dimensions: Vec<String>,
    metrics: Vec<String>,
}

fn stored_dataset(tx: &Transaction<'_>, name: &str) -> Result<Option<StoredDataset>> {
    let row = tx
        .query_row(
            "SELECT definition, dimensions, metrics FROM datasets WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    row.map(|(definition, dimensions, metrics)| {
        Ok(StoredDataset {
            definition,
            dimensions: stored_names(name, "dimensions", &dimensions)?,
            metrics: stored_names(name, "metrics", &metrics)?,
        })
    })
    .transpose()
}

/// A dataset's stored column names (a JSON list); one that can't be read is an error naming
/// the dataset and the column, never an empty list that would quietly drop columns.
pub(crate) fn stored_names(
    dataset: &str,
    column: &'static str,
    value: &str,
) -> Result<Vec<String>> {
    serde_json::from_str(value).map_err(|e| StoreError::CorruptDefinition {
        dataset: dataset.to_string(),
        column,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

fn forget_history(tx: &Transaction<'_>, name: &str) -> Result<()> {
    tx.execute("DELETE FROM windows WHERE dataset = ?1", [name])?;
    tx.execute("DELETE FROM watermarks WHERE dataset = ?1", [name])?;
    Ok(())
}

fn record_dataset(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let now = now_text();
    tx.execute(
        "INSERT INTO datasets (name, definition, dimensions, metrics, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, dimensions = excluded.dimensions,
             metrics = excluded.metrics, updated_at = excluded.updated_at",
        params![
            spec.name,
            spec.definition.fingerprint(),
            serde_json::to_string(&spec.dimensions).expect("strings serialize"),
            serde_json::to_string(&spec.metrics).expect("strings serialize"),
            now
        ],
    )?;
    write_definition(tx, &spec.name, &spec.definition)
}

fn migrate_metrics(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    stored: &StoredDataset,
) -> Result<DatasetChange> {
    let added: Vec<String> = spec
        .metrics
        .iter()
        .filter(|m| !stored.metrics.contains(m))
        .cloned()
        .collect();
    let dropped: Vec<String> = stored
        .metrics
        .iter()
        .filter(|m| !spec.metrics.contains(m))
        .cloned()
        .collect();
    let old_spec = TableSpec {
        metrics: stored.metrics.clone(),
        ..spec.clone()
    };
    let table = quote(&spec.name);
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {};",
        quote(&spec.kpi_view_name())
    ))?;
    let mut tables = vec![table];
    let has_days = days::exists(tx, &spec.name)?;
    if has_days {
        days::drop_kpi_view(tx, spec)?;
        tables.push(quote(&day_table(&spec.name)));
    }
    for table in &tables {
        for column in old_spec
            .metric_columns()
            .iter()
            .filter(|c| dropped.contains(&c.metric))
        {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} DROP COLUMN {};",
                quote(&column.column)
            ))?;
        }
        for column in spec
            .metric_columns()
            .iter()
            .filter(|c| added.contains(&c.metric))
        {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {} {};",
                quote(&column.column),
                column.sql_type
            ))?;
        }
    }
    create_kpi_view(tx, spec)?;
    if has_days {
        days::create_kpi_view(tx, spec)?;
    }
    if !added.is_empty() {
        forget_history(tx, &spec.name)?;
    }
    Ok(DatasetChange::Migrated { added, dropped })
}

/// Refuses a dataset whose KPI feeds would share a name with another dataset's.
fn check_kpi_names(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let known: Vec<String> = tx
        .prepare_cached("SELECT name FROM datasets WHERE name <> ?1")?
        .query_map([&spec.name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match kpi::clashing_name(&spec.name, known.iter().map(String::as_str)) {
        None => Ok(()),
        Some(other) => {
            let base = if other.len() < spec.name.len() {
                &other
            } else {
                &spec.name
            };
            Err(StoreError::KpiNameClash {
                dataset: spec.name.clone(),
                feed: kpi::daily_kpi_name(base),
                other,
            })
        }
    }
}

pub(crate) fn ensure(tx: &Transaction<'_>, spec: &TableSpec) -> Result<DatasetChange> {
    check_kpi_names(tx, spec)?;
    let change = match stored_dataset(tx, &spec.name)? {
        None => {
            days::drop(tx, spec)?;
            drop_table(tx, &spec.name)?;
            create_table(tx, spec)?;
            DatasetChange::Created
        }
        Some(stored)
            if stored.definition == spec.definition.fingerprint()
                && stored.dimensions == spec.dimensions =>
        {
            if stored.metrics == spec.metrics {
                days::ensure(tx, spec)?;
                return Ok(DatasetChange::Unchanged);
            }
            migrate_metrics(tx, spec, &stored)?
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
            days::drop(tx, spec)?;
            drop_table(tx, &spec.name)?;
            create_table(tx, spec)?;
            forget_history(tx, &spec.name)?;
            DatasetChange::Rebuilt { reason }
        }
    };
    days::ensure(tx, spec)?;
    record_dataset(tx, spec)?;
    Ok(change)
}

pub(crate) fn dataset_spec(tx: &Transaction<'_>, name: &str) -> Result<TableSpec> {
    let stored =
        stored_dataset(tx, name)?.ok_or_else(|| StoreError::UnknownDataset(name.to_string()))?;
    let definition = tx.query_row(
        &format!("SELECT {DEFINITION_COLUMNS} FROM datasets WHERE name = ?1"),
        [name],
        |r| Ok(definition_from_row(name, r, 0)),
    )??;
    Ok(TableSpec {
        name: name.to_string(),
        dimensions: stored.dimensions,
        metrics: stored.metrics,
        definition,
    })
}
