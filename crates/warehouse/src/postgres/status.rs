//! Where each dataset stands in PostgreSQL: rows stored, windows logged, watermark, last write.

use tokio_postgres::GenericClient;

use super::Fail;
use super::instant::Instant;
use crate::DatasetStatus;
use crate::schema::quote;

/// Every dataset's status, by name.
pub(crate) async fn all(c: &impl GenericClient) -> Result<Vec<DatasetStatus>, Fail> {
    let names: Vec<String> = c
        .query("SELECT name FROM datasets ORDER BY name", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let rows: i64 = c
            .query_one(&format!("SELECT count(*) FROM {}", quote(&name)), &[])
            .await?
            .get(0);
        let progress = c
            .query_one(
                "SELECT count(*), max(written_at),
                        (SELECT complete_through FROM watermarks WHERE dataset = $1),
                        (SELECT restated_at FROM watermarks WHERE dataset = $1),
                        (SELECT rows_restated FROM watermarks WHERE dataset = $1)
                 FROM windows WHERE dataset = $1",
                &[&name],
            )
            .await?;
        out.push(DatasetStatus {
            complete_through: progress.get::<_, Option<Instant>>(2).map(|i| i.0),
            rows: rows as u64,
            windows: progress.get::<_, i64>(0) as u64,
            last_written_at: progress.get::<_, Option<Instant>>(1).map(|i| i.0),
            restated: progress
                .get::<_, Option<Instant>>(3)
                .zip(progress.get::<_, Option<i64>>(4))
                .map(|(at, rows)| (at.0, rows as u64)),
            name,
        });
    }
    Ok(out)
}
