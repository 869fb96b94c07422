//! Where a JSON page starts: a position (segment, rows of it already sent), carried between
//! pages as an opaque cursor in the `next` link.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genesys::interval::format_instant;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::prepare::Prepared;
use crate::params::Params;
use crate::problem::Problem;

/// Where a page starts: a segment and the rows of it already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub segment: usize,
    pub offset: u64,
}

impl Position {
    pub const FIRST: Position = Position {
        segment: 0,
        offset: 0,
    };
}

pub(super) fn encode_cursor(prepared: &Prepared, position: Position) -> String {
    let start = prepared.segments.bounds(position.segment).0;
    let raw = json!({"s": format_instant(start), "o": position.offset}).to_string();
    URL_SAFE_NO_PAD.encode(raw)
}

pub(super) fn decode_cursor(prepared: &Prepared, raw: &str) -> Result<Position, Problem> {
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

/// The same request with `cursor` set to the next page's.
pub(super) fn next_link(name: &str, params: &Params, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.pairs().iter().filter(|(k, _)| k != "cursor") {
        query.append_pair(k, v);
    }
    query.append_pair("cursor", cursor);
    format!("/v1/datasets/{name}/rows?{}", query.finish())
}
