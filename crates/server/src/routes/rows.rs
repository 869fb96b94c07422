//! `GET /v1/datasets/{name}/rows`: a dataset's rows, optionally rolled up to coarser buckets in
//! any time zone, grouped by a subset of its dimensions, filtered, in JSON pages (opaque
//! cursor, `next` link), or streamed whole as CSV, NDJSON or Parquet with bounded memory.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genesys::granularity::Granularity;
use genesys::interval::format_instant;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use warehouse::ReadSession;
use warehouse::StoreError;
use warehouse::read::{Cell, CellRef, DatasetInfo, OutputColumn, RowRef, Selection};

use crate::gzip;
use crate::metrics::Metrics;
use crate::params::{Params, parse_time_zone, parse_when, shown};
use crate::parquet_writer::ParquetWriter;
use crate::problem::Problem;
use crate::reads::CachedBody;
use crate::reads::Reads;
use crate::rollup::{self, Segments};
use crate::state::AppState;
use crate::text_rows::{CsvRows, NdjsonRows};

/// Every parameter the rows endpoint reads (anything else is refused); the fuzz tests send
/// hostile values in each.
pub const PARAMETERS: &[&str] = &[
    "from",
    "to",
    "granularity",
    "time_zone",
    "group_by",
    "filter",
    "metrics",
    "format",
    "names",
    "limit",
    "cursor",
];
/// The query-string limits every data request is held to (`/odata` too), for tests and docs.
pub use crate::params::{MAX_LIST_ITEMS, MAX_PAIRS, MAX_QUERY_BYTES, MAX_VALUE_BYTES};

pub(crate) const DEFAULT_LIMIT: u64 = 1_000;
pub(crate) const MAX_LIMIT: u64 = 10_000;
/// The most `filter` values in one request (each is a bound value of an SQL `IN` list):
/// enough for a dashboard's "these few hundred queues", far below SQLite's 32 766 variables.
pub const MAX_FILTER_VALUES: usize = 1_000;
const _: () = assert!(
    MAX_FILTER_VALUES < MAX_PAIRS,
    "filter values must fit in a query"
);
/// Rows read per statement while streaming; with the channel's few slots, this bounds memory.
pub(crate) const STREAM_CHUNK: u64 = 2_000;
/// The registered media type of Parquet files.
pub const PARQUET_MEDIA_TYPE: &str = "application/vnd.apache.parquet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Ndjson,
    Parquet,
}

/// Everything a rows request resolved to, checked against the dataset.
pub struct Prepared {
    pub info: DatasetInfo,
    pub selection: Selection,
    pub segments: Segments,
    pub granularity: Option<String>,
    pub time_zone: String,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// The stored rows' bounds (first bucket start, last bucket end), if any rows are stored.
    pub extent: Option<(Timestamp, Timestamp)>,
}

impl Prepared {
    /// The segments that can hold rows: those overlapping the stored extent. A range reaching
    /// far past the stored data (`from=1970-01-01` in PT12H is ~40 000 segments) must not cost
    /// one query per empty segment.
    fn occupied(&self) -> std::ops::Range<usize> {
        let Some((first, last)) = self.extent else {
            return 0..0;
        };
        let n = self.segments.len();
        let start = count_leading(n, |i| self.segments.bounds(i).1 <= first);
        let end = count_leading(n, |i| self.segments.bounds(i).0 < last);
        start..end.max(start)
    }
}

/// How many of `0..n` satisfy `holds`, for a predicate true on a prefix (binary search).
fn count_leading(n: usize, holds: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, n);
    while low < high {
        let middle = low + (high - low) / 2;
        if holds(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Where a page starts: a segment and the rows of it already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub segment: usize,
    pub offset: u64,
}

fn parse_format(params: &Params) -> Result<Format, Problem> {
    match params.one("format")? {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("ndjson") => Ok(Format::Ndjson),
        Some("parquet") => Ok(Format::Parquet),
        Some(other) => Err(Problem::bad_parameter(
            "format",
            format!("`{}` is not json, csv, ndjson or parquet", shown(other)),
        )),
    }
}

fn parse_limit(params: &Params) -> Result<u64, Problem> {
    match params.one("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(Problem::bad_parameter(
                "limit",
                format!(
                    "`{}` is not a whole number from 1 to {MAX_LIMIT}",
                    shown(raw)
                ),
            )),
        },
    }
}

fn bad(name: &'static str) -> impl Fn(warehouse::read::SelectionError) -> Problem {
    move |e| Problem::bad_parameter(name, e.to_string())
}

fn selection(info: &DatasetInfo, params: &Params) -> Result<Selection, Problem> {
    let mut selection = Selection::all(&info.spec);
    if let Some(dimensions) = params.list("group_by")? {
        selection.dimensions = dimensions
            .iter()
            .map(|d| selection.resolve_dimension(d).map_err(bad("group_by")))
            .collect::<Result<_, _>>()?;
    }
    if let Some(metrics) = params.list("metrics")? {
        if metrics.is_empty() {
            return Err(Problem::bad_parameter("metrics", "names no metric"));
        }
        selection.metrics = metrics
            .iter()
            .map(|m| selection.resolve_metric(m).map_err(bad("metrics")))
            .collect::<Result<_, _>>()?;
    }
    let filters = params.all("filter");
    if filters.len() > MAX_FILTER_VALUES {
        return Err(Problem::bad_parameter(
            "filter",
            format!(
                "is given {} times; the limit is {MAX_FILTER_VALUES} values",
                filters.len()
            ),
        ));
    }
    for raw in filters {
        let (dimension, value) = raw.split_once('=').ok_or_else(|| {
            Problem::bad_parameter("filter", format!("`{}` is not dimension=value", shown(raw)))
        })?;
        let dimension = selection
            .resolve_dimension(dimension.trim())
            .map_err(bad("filter"))?;
        match selection.filters.iter_mut().find(|(d, _)| *d == dimension) {
            Some((_, values)) => values.push(value.to_string()),
            None => selection.filters.push((dimension, vec![value.to_string()])),
        }
    }
    selection.names = params.flag("names")?;
    Ok(selection)
}

/// Resolves a rows (or report) request against the dataset; runs on a store connection.
pub fn prepare(c: &dyn ReadSession, name: &str, params: &Params) -> Result<Prepared, Problem> {
    let info = c
        .dataset(name)?
        .ok_or_else(|| Problem::unknown_dataset(name))?;
    let mut selection = selection(&info, params)?;
    let stored_tz = &info.spec.definition.time_zone;
    let time_zone = match params.one("time_zone")? {
        Some(raw) => parse_time_zone("time_zone", raw)?,
        None => stored_tz.clone(),
    };
    let tz = time_zone.zone().clone();
    let from = params
        .one("from")?
        .map(|raw| parse_when("from", raw, &tz))
        .transpose()?;
    let to = params
        .one("to")?
        .map(|raw| parse_when("to", raw, &tz))
        .transpose()?;
    let extent = c.extent(&info.spec)?;
    let (start, end) = match (from.or(extent.map(|e| e.0)), to.or(extent.map(|e| e.1))) {
        (Some(start), Some(end)) => (start, end),
        // Nothing stored and no range asked: no rows.
        _ => (Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH),
    };
    if from.is_some() && to.is_some() && end <= start {
        return Err(Problem::bad_parameter("to", "must be later than `from`"));
    }
    let requested = params
        .one("granularity")?
        .map(|raw| {
            raw.parse::<Granularity>()
                .map_err(|e| Problem::bad_parameter("granularity", e.to_string()))
        })
        .transpose()?;
    let stored = &info.spec.definition.granularity;
    let rollup_to = match &requested {
        None => None,
        Some(r) => rollup::needs_rollup(stored, stored_tz, r, &time_zone)
            .map_err(|e| Problem::bad_parameter("granularity", e))?
            .then_some(*r),
    };
    let segments = if end <= start {
        rollup::stored(start, start)?
    } else {
        match &rollup_to {
            Some(g) => rollup::rolled_up(start, end, g, &tz)?,
            None => rollup::stored(start, end)?,
        }
    };
    selection.rollup = segments.rollup;
    Ok(Prepared {
        granularity: Some(requested.unwrap_or(*stored).to_string()),
        time_zone: time_zone.name().to_string(),
        info,
        selection,
        segments,
        from,
        to,
        extent,
    })
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

fn encode_cursor(prepared: &Prepared, position: Position) -> String {
    let start = prepared.segments.bounds(position.segment).0;
    let raw = json!({"s": format_instant(start), "o": position.offset}).to_string();
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(prepared: &Prepared, raw: &str) -> Result<Position, Problem> {
    let invalid = || {
        Problem::bad_parameter(
            "cursor",
            "not a cursor of this query; follow the `next` link as given",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let start: Timestamp = value["s"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    let offset = value["o"].as_u64().ok_or_else(invalid)?;
    let segment = prepared.segments.index_of(start).ok_or_else(invalid)?;
    if prepared.segments.bounds(segment).0 != start {
        return Err(invalid());
    }
    Ok(Position { segment, offset })
}

fn next_link(name: &str, params: &Params, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.pairs().iter().filter(|(k, _)| k != "cursor") {
        query.append_pair(k, v);
    }
    query.append_pair("cursor", cursor);
    format!("/v1/datasets/{name}/rows?{}", query.finish())
}

fn meta(prepared: &Prepared) -> Map<String, Value> {
    let columns: Vec<Value> = prepared
        .selection
        .columns()
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind.as_str(), "meaning": super::meaning(c)}))
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

pub async fn rows(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Path(name) = name.map_err(|_| {
        Problem::bad_parameter(
            "name",
            "the dataset name is not UTF-8 text once percent-decoded",
        )
    })?;
    let params = Params::parse(raw.as_deref(), PARAMETERS)?;
    let format = parse_format(&params)?;
    let limit = parse_limit(&params)?;
    if format != Format::Json && params.one("cursor")?.is_some() {
        return Err(Problem::bad_parameter(
            "cursor",
            "only JSON is paged; CSV, NDJSON and Parquet stream every row",
        ));
    }
    match format {
        Format::Json => {
            let gzip = gzip::accepts_gzip(&headers);
            json_page(state, name, params, limit, raw.unwrap_or_default(), gzip).await
        }
        Format::Csv | Format::Ndjson | Format::Parquet => stream(state, name, params, format).await,
    }
}

async fn json_page(
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
                None => Position {
                    segment: 0,
                    offset: 0,
                },
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

/// A JSON answer from the response cache (computed once per store generation), gzip-compressed
/// when the client accepts it: the compressed form is cached under its own key, so a cached
/// answer is never compressed twice.
pub async fn cached_json<F, Fut>(
    reads: &Reads,
    key: String,
    gzip: bool,
    compute: F,
) -> Result<(CachedBody, Response), Problem>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<CachedBody, Problem>>,
{
    if !gzip {
        let plain = reads.cached_body(key, compute).await?;
        let response = json_response(plain.body.clone());
        return Ok((plain, response));
    }
    let compressed = reads
        .cached_body(format!("gzip:{key}"), || async move {
            let plain = reads.cached_body(key, compute).await?;
            let body = plain.body.clone();
            let compressed = tokio::task::spawn_blocking(move || gzip::compress(&body))
                .await?
                .map_err(Problem::internal)?;
            Ok(CachedBody {
                body: Bytes::from(compressed),
                rows: plain.rows,
            })
        })
        .await?;
    let mut response = json_response(compressed.body.clone());
    response
        .headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Ok((compressed, response))
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

/// A finished JSON body as a response.
pub fn json_response(body: Bytes) -> Response {
    let mut response = Body::from(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Turns the streamed rows into the bytes of the response body.
enum Encoder {
    Csv(CsvRows),
    Ndjson(NdjsonRows),
    Parquet {
        writer: Box<ParquetWriter>,
        pending: Vec<Vec<Cell>>,
    },
}

impl Encoder {
    fn new(
        format: Format,
        columns: &[OutputColumn],
        row_group_rows: usize,
    ) -> Result<Self, String> {
        Ok(match format {
            Format::Csv => Encoder::Csv(CsvRows::new(columns)),
            Format::Parquet => Encoder::Parquet {
                writer: Box::new(
                    ParquetWriter::new(columns, row_group_rows).map_err(|e| e.to_string())?,
                ),
                pending: Vec::new(),
            },
            Format::Json | Format::Ndjson => Encoder::Ndjson(NdjsonRows::new(columns)),
        })
    }

    fn row(&mut self, out: &mut Vec<u8>, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        match self {
            Encoder::Csv(csv) => csv.row(out, row),
            Encoder::Ndjson(ndjson) => ndjson.row(out, row),
            Encoder::Parquet { pending, .. } => {
                pending.push(warehouse::read::cells(row)?);
                Ok(())
            }
        }
    }

    /// After a chunk of rows: Parquet's row groups completed by them.
    fn end_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if let Encoder::Parquet { writer, pending } = self {
            out.extend(
                writer
                    .push(std::mem::take(pending))
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    /// The bytes that end the body: Parquet's last row group and footer.
    fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Encoder::Parquet { writer, .. } => writer.finish().map_err(|e| e.to_string()),
            Encoder::Csv(_) | Encoder::Ndjson(_) => Ok(Vec::new()),
        }
    }
}

async fn stream(
    state: AppState,
    name: String,
    params: Params,
    format: Format,
) -> Result<Response, Problem> {
    // Resolve first, so bad input is still a 400 problem and not a broken stream.
    let prepared = {
        let name = name.clone();
        state.read(move |c| prepare(c, &name, &params)).await?
    };
    let lanes = match format {
        // One writer makes the one Parquet file.
        Format::Parquet => 1,
        Format::Csv | Format::Ndjson | Format::Json => TEXT_EXPORT_LANES,
    };
    let columns = prepared.selection.columns();
    let head = match format {
        Format::Csv => {
            let mut header = Vec::new();
            CsvRows::new(&columns).header(&mut header);
            Some(Bytes::from(header))
        }
        _ => None,
    };
    let dataset = prepared.info.spec.name.clone();
    let lane = Lane {
        prepared: Arc::new(prepared),
        reads: state.reads.clone(),
        metrics: state.metrics.clone(),
        name,
        format,
        row_group_rows: state.parquet_row_group_rows,
        chunk_rows: state.stream_chunk_rows,
        lanes,
    };
    let segments = lane.prepared.occupied().len();
    let receivers = (0..lanes)
        .map(|index| {
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            let lane = lane.clone();
            tokio::task::spawn_blocking(move || lane.run(index, &sender));
            receiver
        })
        .collect();
    let merge = Merge {
        head,
        receivers,
        segment: 0,
        segments,
        drained: 0,
        failed: false,
    };
    let stream = futures_util::stream::unfold(merge, |mut merge| async move {
        merge.next().await.map(|item| (item, merge))
    });
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Parquet => PARQUET_MEDIA_TYPE,
        Format::Json | Format::Ndjson => "application/x-ndjson",
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if format == Format::Parquet {
        // Dataset names are `[a-z][a-z0-9_]*`, so the header value is always valid.
        let disposition = format!("attachment; filename=\"{dataset}.parquet\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// Text exports split the segments over this many blocking threads, each with its own
/// connection and encoder, and the body takes their bytes back in segment order: reading and
/// encoding a row costs more than sending it, so this is where a second core helps.
const TEXT_EXPORT_LANES: usize = 2;

/// What a lane hands to the body.
enum Piece {
    Bytes(Bytes),
    /// The lane has sent every byte of its current segment.
    SegmentDone,
}

/// One export thread: every `lanes`-th occupied segment from its index on.
#[derive(Clone)]
struct Lane {
    prepared: Arc<Prepared>,
    reads: Arc<Reads>,
    metrics: Arc<Metrics>,
    name: String,
    format: Format,
    row_group_rows: usize,
    chunk_rows: u64,
    lanes: usize,
}

type PieceSender = tokio::sync::mpsc::Sender<Result<Piece, String>>;

impl Lane {
    fn run(&self, index: usize, sender: &PieceSender) {
        if let Err(error) = self.produce(index, sender) {
            tracing::error!(error = %error, "Streaming rows failed; the response is cut short.");
            let _ = sender.blocking_send(Err(error));
        }
    }

    fn produce(&self, index: usize, sender: &PieceSender) -> Result<(), String> {
        let send = |piece: Piece| sender.blocking_send(Ok(piece)).is_ok();
        let session = self.reads.export_session().map_err(|p| p.detail)?;
        let mut selection = self.prepared.selection.clone();
        // Parquet's writer takes whole rows of cells; the text encoders derive the averages
        // and ratios themselves, cheaper than the statement does.
        selection.derived_in_sql = self.format == Format::Parquet;
        let columns = selection.columns();
        let mut encoder = Encoder::new(self.format, &columns, self.row_group_rows)?;
        // Chunks of a dataset are about the same size: starting each buffer at the largest so
        // far (and a little more) spares the copies of growing it.
        let mut capacity = 0;
        for segment in self.prepared.occupied().skip(index).step_by(self.lanes) {
            let (mut start, end) = self.prepared.segments.bounds(segment);
            let mut offset = 0;
            loop {
                let mut out = Vec::with_capacity(capacity);
                let mut last = LastStart::default();
                let count = selection
                    .visit(&*session, (start, end), offset, self.chunk_rows, |row| {
                        encoder.row(&mut out, row)?;
                        if !selection.rollup {
                            last.see(row)?;
                        }
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
                encoder.end_chunk(&mut out)?;
                if self.format != Format::Parquet {
                    // (Parquet's chunks are mostly empty, and now and then a whole row group.)
                    capacity = capacity.max(out.len() + out.len() / 16);
                }
                self.metrics.rows_served(&self.name, count);
                // The statement is finished: waiting on a slow client holds no transaction.
                if !out.is_empty() && !send(Piece::Bytes(Bytes::from(out))) {
                    return Ok(()); // the client went away
                }
                if count < self.chunk_rows {
                    break;
                }
                // The next chunk starts at the last row's bucket, past the rows of it already
                // read: a small offset, where counting from the segment's start would make
                // SQLite step over every row read so far again.
                match last.start() {
                    Some(next) if next > start => (start, offset) = (next, last.rows),
                    _ => offset += count,
                }
            }
            if !send(Piece::SegmentDone) {
                return Ok(());
            }
        }
        // Only a lane that read every row sends its end (Parquet's footer); an error before
        // this cuts the body short, so the client sees a failed transfer.
        let tail = encoder.finish()?;
        if !tail.is_empty() {
            send(Piece::Bytes(Bytes::from(tail)));
        }
        Ok(())
    }
}

/// The last bucket start (a row's first cell) of a chunk's rows, and how many rows in a row
/// ended with it. Rows come in bucket order unless rolled up, and a bucket's rows (groups) all
/// share its start, so those rows are exactly the chunk's rows from that start on.
#[derive(Default)]
struct LastStart {
    text: Vec<u8>,
    rows: u64,
}

impl LastStart {
    fn see(&mut self, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        let CellRef::Text(text) = row.cell(0)? else {
            self.text.clear();
            self.rows = 0;
            return Ok(());
        };
        if text == self.text.as_slice() {
            self.rows += 1;
        } else {
            self.text.clear();
            self.text.extend_from_slice(text);
            self.rows = 1;
        }
        Ok(())
    }

    /// The start, if stored as the statement's own bounds are written: then `interval_start >=`
    /// it selects exactly the rows from it on.
    fn start(&self) -> Option<Timestamp> {
        let text = std::str::from_utf8(&self.text).ok()?;
        let start: Timestamp = text.parse().ok()?;
        (format_instant(start) == text).then_some(start)
    }
}

/// The body: the header, then each segment's bytes from the lane that owns it, in order, then
/// whatever the lanes send after their last segment.
struct Merge {
    head: Option<Bytes>,
    receivers: Vec<tokio::sync::mpsc::Receiver<Result<Piece, String>>>,
    segment: usize,
    segments: usize,
    drained: usize,
    failed: bool,
}

impl Merge {
    async fn next(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if let Some(head) = self.head.take() {
            return Some(Ok(head));
        }
        while !self.failed {
            let lanes = self.receivers.len();
            let received = if self.segment < self.segments {
                self.receivers[self.segment % lanes].recv().await
            } else if self.drained < lanes {
                self.receivers[self.drained].recv().await
            } else {
                return None;
            };
            match received {
                Some(Ok(Piece::Bytes(bytes))) => return Some(Ok(bytes)),
                Some(Ok(Piece::SegmentDone)) => self.segment += 1,
                Some(Err(error)) => {
                    self.failed = true;
                    return Some(Err(std::io::Error::other(error)));
                }
                None if self.segment < self.segments => {
                    self.failed = true;
                    return Some(Err(std::io::Error::other("an export thread stopped early")));
                }
                None => self.drained += 1,
            }
        }
        None
    }
}
