//! The `runs` table in PostgreSQL: each sync run's command, status and counts.

use tokio_postgres::GenericClient;

use super::Fail;
use crate::{RunStatus, RunSummary};

pub(crate) async fn start(c: &impl GenericClient, command: &str) -> Result<i64, Fail> {
    let row = c
        .query_one(
            "INSERT INTO runs (command, started_at, status) VALUES ($1, now(), $2) RETURNING id",
            &[&command, &RunStatus::Running.as_str()],
        )
        .await?;
    Ok(row.get(0))
}

pub(crate) async fn finish(
    c: &impl GenericClient,
    run_id: i64,
    summary: &RunSummary,
) -> Result<(), Fail> {
    c.execute(
        "UPDATE runs SET finished_at = now(), status = $2, windows = $3, rows = $4, requests = $5,
             error = $6, rows_changed = $7
         WHERE id = $1",
        &[
            &run_id,
            &summary.status.as_str(),
            &(summary.windows as i64),
            &(summary.rows as i64),
            &(summary.requests as i64),
            &summary.error,
            &summary.rows_changed.map(|n| n as i64),
        ],
    )
    .await?;
    Ok(())
}
