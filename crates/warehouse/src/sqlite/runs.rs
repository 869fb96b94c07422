//! The `runs` table: each sync run's command, status and counts.

use rusqlite::{Connection, params};

use super::now_text;
use crate::{Result, RunStatus, RunSummary};

pub(crate) fn start(c: &Connection, command: &str) -> Result<i64> {
    c.execute(
        "INSERT INTO runs (command, started_at, status) VALUES (?1, ?2, ?3)",
        params![command, now_text(), RunStatus::Running.as_str()],
    )?;
    Ok(c.last_insert_rowid())
}

pub(crate) fn finish(c: &Connection, run_id: i64, summary: &RunSummary) -> Result<()> {
    c.execute(
        "UPDATE runs SET finished_at = ?2, status = ?3, windows = ?4, rows = ?5, requests = ?6, error = ?7,
             rows_changed = ?8
         WHERE id = ?1",
        params![
            run_id,
            now_text(),
            summary.status.as_str(),
            summary.windows as i64,
            summary.rows as i64,
            summary.requests as i64,
            summary.error,
            summary.rows_changed.map(|n| n as i64)
        ],
    )?;
    Ok(())
}
