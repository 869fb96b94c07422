//! Watermarks in PostgreSQL: how far each dataset is complete, moved only across a gap-free
//! run of settled windows (as `sqlite::watermarks`).

use jiff::Timestamp;
use tokio_postgres::GenericClient;

use super::Fail;
use super::instant::Instant;

/// Moves the watermark across every settled window that covers where it stands.
pub(crate) async fn advance(
    tx: &impl GenericClient,
    dataset: &str,
) -> Result<Option<Timestamp>, Fail> {
    let Some(row) = tx
        .query_opt(
            "SELECT complete_through FROM watermarks WHERE dataset = $1 FOR UPDATE",
            &[&dataset],
        )
        .await?
    else {
        return Ok(None);
    };
    let original: Instant = row.get(0);
    let mut mark = original;
    let covering = tx
        .prepare(
            "SELECT max(window_end) FROM windows
             WHERE dataset = $1 AND settled AND window_start <= $2 AND window_end > $2",
        )
        .await?;
    while let Some(end) = tx
        .query_one(&covering, &[&dataset, &mark])
        .await?
        .get::<_, Option<Instant>>(0)
    {
        mark = end;
    }
    if mark != original {
        tx.execute(
            "UPDATE watermarks SET complete_through = $2, updated_at = now() WHERE dataset = $1",
            &[&dataset, &mark],
        )
        .await?;
    }
    Ok(Some(mark.0))
}

/// Sets the watermark to `start` if the dataset has none, and returns where it stands.
pub(crate) async fn initialize(
    tx: &impl GenericClient,
    dataset: &str,
    start: Timestamp,
) -> Result<Timestamp, Fail> {
    tx.execute(
        "INSERT INTO watermarks (dataset, complete_through, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (dataset) DO NOTHING",
        &[&dataset, &Instant(start)],
    )
    .await?;
    Ok(advance(tx, dataset)
        .await?
        .expect("watermark row was just ensured"))
}

pub(crate) async fn read(c: &impl GenericClient, dataset: &str) -> Result<Option<Timestamp>, Fail> {
    let row = c
        .query_opt(
            "SELECT complete_through FROM watermarks WHERE dataset = $1",
            &[&dataset],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, Instant>(0).0))
}

/// A restatement of `dataset` ended now, having changed `rows_changed` rows.
pub(crate) async fn record_restatement(
    tx: &impl GenericClient,
    dataset: &str,
    rows_changed: u64,
) -> Result<(), Fail> {
    tx.execute(
        "UPDATE watermarks SET restated_at = now(), rows_restated = $2 WHERE dataset = $1",
        &[&dataset, &(rows_changed as i64)],
    )
    .await?;
    Ok(())
}
