//! `format=json`: one page of rows with the dataset's metadata and a `next` link, from the
//! response cache when the same page was asked before.

use axum::body::Bytes;
use axum::response::Response;
use genesys::interval::format_instant;
use serde::Serialize;
use utoipa::ToSchema;
use warehouse::ReadSession;
use warehouse::StoreError;
use warehouse::read::{ColumnType, OutputColumn, RowRef};

use super::cache::cached_json;
use super::cursor::{Position, decode_cursor, encode_cursor, next_link};
use super::prepare::{Prepared, prepare};
use super::query::PagingQuery;
use super::text_rows::NdjsonRows;
use crate::params::Params;
use crate::problem::Problem;
use crate::reads::CachedBody;
use crate::state::AppState;

pub(super) async fn json_page(
    state: AppState,
    name: String,
    params: Params,
    paging: PagingQuery,
    raw_query: String,
    gzip: bool,
) -> Result<Response, Problem> {
    let metrics = state.metrics.clone();
    let reads = state.reads.clone();
    let key = format!("rows/{name}?{raw_query}");
    let counted_as = name.clone();
    let (page, response) = cached_json(&reads, key, gzip, || {
        state.read(move |c| {
            let mut prepared = prepare(c, &name, &params)?;
            prepared.selection.derived_in_sql = false;
            let start = match &paging.cursor {
                Some(raw) => decode_cursor(&prepared, raw)?,
                None => Position::FIRST,
            };
            let columns = prepared.selection.columns();
            let mut objects = NdjsonRows::new(&columns);
            let mut rows = vec![b'['];
            let (count, next) = visit_page(c, &prepared, start, paging.limit, |row| {
                if rows.len() > 1 {
                    rows.push(b',');
                }
                objects.object(&mut rows, row)
            })?;
            rows.push(b']');
            let next = next.map(|p| next_link(&name, &params, &encode_cursor(&prepared, p)));
            let body = with_rows(&page(&prepared, next), &rows).map_err(Problem::internal)?;
            Ok(CachedBody {
                body: Bytes::from(body),
                rows: count,
            })
        })
    })
    .await?;
    metrics.rows_served(&counted_as, page.rows);
    Ok(response)
}

/// Hands up to `limit` rows from `position` on to `each`, as SQLite gives them; how many, and
/// the position after them if rows may remain.
fn visit_page(
    c: &dyn ReadSession,
    prepared: &Prepared,
    mut position: Position,
    limit: u64,
    mut each: impl FnMut(&RowRef<'_, '_>) -> Result<(), StoreError>,
) -> Result<(u64, Option<Position>), Problem> {
    let mut seen = 0;
    let occupied = prepared.occupied();
    if position.segment < occupied.start {
        position = Position {
            segment: occupied.start,
            offset: 0,
        };
    }
    while seen < limit && position.segment < occupied.end {
        let wanted = limit - seen;
        let bounds = prepared.segments.bounds(position.segment);
        let n = prepared
            .selection
            .visit(c, bounds, position.offset, wanted, &mut each)?;
        seen += n;
        position = if n < wanted {
            Position {
                segment: position.segment + 1,
                offset: 0,
            }
        } else {
            Position {
                segment: position.segment,
                offset: position.offset + n,
            }
        };
    }
    let more = position.segment < occupied.end;
    Ok((seen, more.then_some(position)))
}

/// A page of rows (`format=json`).
// Fields in name order, as the page has always spelled them.
#[derive(Serialize, ToSchema)]
pub struct RowsPage {
    columns: Vec<Column>,
    #[schema(format = DateTime)]
    complete_through: Option<String>,
    dataset: String,
    /// The asked start, if any (an instant, UTC).
    #[schema(format = DateTime)]
    from: Option<String>,
    granularity: Option<String>,
    /// Link to the next page; null on the last
    next: Option<String>,
    time_zone: String,
    /// The asked end, if any (an instant, UTC).
    #[schema(format = DateTime)]
    to: Option<String>,
    /// One object per row, keyed by column name.
    // Always empty here: `with_rows` writes the rows after the other fields, already encoded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    rows: Vec<()>,
}

/// A column of the answer: its name, type and meaning.
// Fields in name order, as pages have always spelled them.
#[derive(Serialize, ToSchema)]
pub struct Column {
    pub meaning: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub kind: ColumnKind,
}

/// How a column's values are typed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Timestamp,
    Text,
    Integer,
    Real,
}

impl Column {
    pub fn of(column: &OutputColumn) -> Self {
        Column {
            meaning: crate::routes::meaning(column),
            name: column.name.clone(),
            kind: match column.kind {
                ColumnType::Timestamp | ColumnType::OptionalTimestamp => ColumnKind::Timestamp,
                ColumnType::Text => ColumnKind::Text,
                ColumnType::Integer => ColumnKind::Integer,
                ColumnType::Real => ColumnKind::Real,
            },
        }
    }
}

fn page(prepared: &Prepared, next: Option<String>) -> RowsPage {
    let columns = prepared.selection.columns();
    RowsPage {
        columns: columns.iter().map(Column::of).collect(),
        complete_through: prepared.info.complete_through.map(format_instant),
        dataset: prepared.name.clone(),
        from: prepared.from.map(format_instant),
        granularity: prepared.granularity.clone(),
        next,
        time_zone: prepared.time_zone.clone(),
        to: prepared.to.map(format_instant),
        rows: Vec::new(),
    }
}

/// `object` (never empty) with `"rows": <rows>` added at its end, written by hand: the rows are
/// already JSON, and the bulk of the body.
fn with_rows(page: &RowsPage, rows: &[u8]) -> serde_json::Result<Vec<u8>> {
    let mut body = serde_json::to_vec(page)?;
    body.pop(); // the closing brace
    body.extend_from_slice(b",\"rows\":");
    body.extend_from_slice(rows);
    body.push(b'}');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page's keys come in name order with the rows last, as clients (and caches of old
    /// bodies) have always seen them.
    #[test]
    fn a_page_is_spelled_in_key_order_with_the_rows_last() {
        let page = RowsPage {
            columns: vec![Column {
                meaning: "Offered".into(),
                name: "n_offered".into(),
                kind: ColumnKind::Integer,
            }],
            complete_through: None,
            dataset: "queue_performance".into(),
            from: Some("2024-04-01T00:00:00.000Z".into()),
            granularity: Some("PT30M".into()),
            next: None,
            time_zone: "UTC".into(),
            to: None,
            rows: Vec::new(),
        };
        let body = with_rows(&page, br#"[{"n_offered":3}]"#).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            concat!(
                r#"{"columns":[{"meaning":"Offered","name":"n_offered","type":"integer"}],"#,
                r#""complete_through":null,"dataset":"queue_performance","#,
                r#""from":"2024-04-01T00:00:00.000Z","granularity":"PT30M","next":null,"#,
                r#""time_zone":"UTC","to":null,"rows":[{"n_offered":3}]}"#
            )
        );
    }
}
