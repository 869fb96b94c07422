//! `format=json`: one page of rows with the dataset's metadata and a `next` link, from the
//! response cache when the same page was asked before.

use axum::body::Bytes;
use axum::response::Response;
use genesys::interval::format_instant;
use serde_json::{Map, Value, json};
use warehouse::StoreError;
use warehouse::read::{Connection, RowRef};

use super::cache::cached_json;
use super::cursor::{Position, decode_cursor, encode_cursor, next_link};
use super::prepare::{Prepared, prepare};
use super::text_rows::NdjsonRows;
use crate::params::Params;
use crate::problem::Problem;
use crate::reads::CachedBody;
use crate::state::AppState;

pub(super) async fn json_page(
    state: AppState,
    name: String,
    params: Params,
    limit: u64,
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
            let start = match params.one("cursor")? {
                Some(raw) => decode_cursor(&prepared, raw)?,
                None => Position::FIRST,
            };
            let columns = prepared.selection.columns();
            let mut objects = NdjsonRows::new(&columns);
            let mut rows = vec![b'['];
            let (count, next) = visit_page(c, &prepared, start, limit, |row| {
                if rows.len() > 1 {
                    rows.push(b',');
                }
                objects.object(&mut rows, row)
            })?;
            rows.push(b']');
            let mut body = meta(&prepared);
            let next = next.map(|p| next_link(&name, &params, &encode_cursor(&prepared, p)));
            body.insert("next".into(), json!(next));
            Ok(CachedBody {
                body: Bytes::from(with_rows(Value::Object(body), &rows)),
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
    c: &Connection,
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

fn meta(prepared: &Prepared) -> Map<String, Value> {
    let columns: Vec<Value> = prepared
        .selection
        .columns()
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind.as_str(), "meaning": crate::routes::meaning(c)}))
        .collect();
    let mut meta = Map::new();
    meta.insert("dataset".into(), json!(prepared.info.spec.name));
    meta.insert("granularity".into(), json!(prepared.granularity));
    meta.insert("time_zone".into(), json!(prepared.time_zone));
    meta.insert("from".into(), json!(prepared.from.map(format_instant)));
    meta.insert("to".into(), json!(prepared.to.map(format_instant)));
    meta.insert(
        "complete_through".into(),
        json!(prepared.info.complete_through.map(format_instant)),
    );
    meta.insert("columns".into(), Value::Array(columns));
    meta
}

/// `object` (never empty) with `"rows": <rows>` added at its end, written by hand: the rows are
/// already JSON, and the bulk of the body.
fn with_rows(object: Value, rows: &[u8]) -> Vec<u8> {
    let mut body = object.to_string().into_bytes();
    body.pop(); // the closing brace
    body.extend_from_slice(b",\"rows\":");
    body.extend_from_slice(rows);
    body.push(b'}');
    body
}
