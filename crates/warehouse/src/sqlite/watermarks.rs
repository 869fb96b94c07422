//! Watermarks: how far each dataset is complete, moved only across a gap-free run of settled
//! windows.

use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{now_text, parse_instant};
use crate::Result;

/// Moves the watermark across every settled window that covers where it stands, so it only
/// ever crosses a gap-free run of settled windows (whatever order they were written in).
pub(crate) fn advance_watermark(tx: &Transaction<'_>, dataset: &str) -> Result<Option<Timestamp>> {
    let Some(mut mark) = tx
        .query_row(
            "SELECT complete_through FROM watermarks WHERE dataset = ?1",
            [dataset],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let original = mark.clone();
    let mut covering = tx.prepare_cached(
        "SELECT max(window_end) FROM windows
         WHERE dataset = ?1 AND settled = 1 AND window_start <= ?2 AND window_end > ?2",
    )?;
    while let Some(end) =
        covering.query_row(params![dataset, mark], |r| r.get::<_, Option<String>>(0))?
    {
        mark = end;
    }
    if mark != original {
        tx.execute(
            "UPDATE watermarks SET complete_through = ?2, updated_at = ?3 WHERE dataset = ?1",
            params![dataset, mark, now_text()],
        )?;
    }
    parse_instant(mark).map(Some)
}

/// Sets the watermark to `start` if the dataset has none, and returns where it stands.
pub(crate) fn initialize(
    tx: &Transaction<'_>,
    dataset: &str,
    start: Timestamp,
) -> Result<Timestamp> {
    tx.execute(
        "INSERT INTO watermarks (dataset, complete_through, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (dataset) DO NOTHING",
        params![dataset, format_instant(start), now_text()],
    )?;
    Ok(advance_watermark(tx, dataset)?.expect("watermark row was just ensured"))
}

pub(crate) fn read(c: &Connection, dataset: &str) -> Result<Option<Timestamp>> {
    let value: Option<String> = c
        .query_row(
            "SELECT complete_through FROM watermarks WHERE dataset = ?1",
            [dataset],
            |r| r.get(0),
        )
        .optional()?;
    value.map(parse_instant).transpose()
}

/// A restatement of `dataset` ended now, having changed `rows_changed` rows.
pub(crate) fn record_restatement(c: &Connection, dataset: &str, rows_changed: u64) -> Result<()> {
    c.execute(
        "UPDATE watermarks SET restated_at = ?2, rows_restated = ?3 WHERE dataset = ?1",
        params![dataset, now_text(), rows_changed as i64],
    )?;
    Ok(())
}
