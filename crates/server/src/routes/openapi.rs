//! `GET /openapi.json`: the API described by hand, next to the routes it describes (a
//! snapshot test keeps the two in step).

use axum::Json;
use serde_json::{Value, json};

/// What a 400 of a data endpoint means, limits included.
const LIMITS: &str = "A parameter is invalid or past a limit (named in `parameter`): query strings hold at most 61440 bytes and 1100 parameters, each value at most 4096 bytes once decoded (UTF-8, no NUL), lists at most 256 names, `filter` at most 1000 values (repeated)";

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// A request target past the HTTP layer's limit never reaches a handler.
fn uri_too_long() -> Value {
    json!({"description": "The request target is longer than 64 KiB: refused by the HTTP layer before any parsing, with no body"})
}

fn protected(operation: Value) -> Value {
    let mut operation = operation;
    let responses = operation["responses"]
        .as_object_mut()
        .expect("responses object");
    responses.insert(
        "401".into(),
        problem_response("Missing, wrong or revoked API key"),
    );
    operation
}

fn range_parameters() -> Vec<Value> {
    vec![
        query(
            "from",
            "Start (inclusive): an instant (2024-05-01T00:00:00Z) or a date (local midnight in time_zone). Default: the first stored bucket.",
            json!({"type": "string"}),
        ),
        query(
            "to",
            "End (exclusive), same forms. Default: the end of the last stored bucket.",
            json!({"type": "string"}),
        ),
        query(
            "time_zone",
            "IANA time zone for dates in from/to and for calendar buckets. Default: the dataset's.",
            json!({"type": "string"}),
        ),
        query(
            "filter",
            "dimension=value; repeatable (values of one dimension are ORed, dimensions ANDed).",
            json!({"type": "array", "items": {"type": "string", "pattern": "="}}),
        ),
    ]
}

/// The `/odata/{set}` parameters: the set, then the system query options read.
fn odata_parameters() -> Vec<Value> {
    use crate::odata::filter::{MAX_DEPTH, MAX_LENGTH, MAX_TERMS};
    use crate::odata::query::{MAX_ORDERBY_ITEMS, MAX_SELECT_ITEMS, MAX_SKIPTOKEN_BYTES};
    vec![
        json!({"name": "set", "in": "path", "required": true, "schema": {"type": "string"},
               "description": "A dataset or directory (queues, users, wrapup_codes)"}),
        query(
            "$filter",
            &format!(
                "eq ne gt ge lt le, and or not, parentheses, contains/startswith/endswith; at most {MAX_LENGTH} bytes, {MAX_DEPTH} levels of parentheses and not, {MAX_TERMS} terms."
            ),
            json!({"type": "string"}),
        ),
        query(
            "$select",
            &format!("Comma-separated properties, or *; at most {MAX_SELECT_ITEMS}."),
            json!({"type": "string"}),
        ),
        query(
            "$orderby",
            &format!("Comma-separated `property [asc|desc]`; at most {MAX_ORDERBY_ITEMS}."),
            json!({"type": "string"}),
        ),
        query(
            "$top",
            "Rows at most.",
            json!({"type": "integer", "minimum": 0}),
        ),
        query(
            "$skip",
            "Rows skipped first.",
            json!({"type": "integer", "minimum": 0}),
        ),
        query(
            "$count",
            "true adds @odata.count.",
            json!({"type": "boolean"}),
        ),
        query(
            "$skiptoken",
            &format!("Opaque, from @odata.nextLink; at most {MAX_SKIPTOKEN_BYTES} bytes."),
            json!({"type": "string"}),
        ),
        query(
            "$format",
            "json (the only format).",
            json!({"type": "string"}),
        ),
    ]
}

pub fn document() -> Value {
    let mut rows_parameters =
        vec![json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})];
    rows_parameters.extend(range_parameters());
    rows_parameters.extend([
        query("granularity", "Roll the stored buckets up to PT1H, P1D, P7D, P1M… in time_zone. Default: as stored.", json!({"type": "string"})),
        query("group_by", "Comma-separated subset of the dataset's dimensions; the others are summed over. Default: all.", json!({"type": "string"})),
        query("metrics", "Comma-separated subset of the dataset's metrics (at least one). Default: all.", json!({"type": "string", "minLength": 1})),
        query("format", "json (paged); csv, ndjson or parquet (streamed whole; Parquet has typed columns: UTC millisecond timestamps, strings, int64 counts and sums, double averages and ratios).", json!({"type": "string", "enum": ["json", "csv", "ndjson", "parquet"], "default": "json"})),
        query("names", "true adds queue, user and wrap-up code names next to their ids.", json!({"type": "boolean", "default": false})),
        query("limit", "Rows per JSON page (1 to 10000).", json!({"type": "integer", "minimum": 1, "maximum": super::rows::MAX_LIMIT, "default": super::rows::DEFAULT_LIMIT})),
        query("cursor", "Opaque; follow the `next` link.", json!({"type": "string"})),
    ]);
    let mut report_parameters = vec![
        json!({"name": "dataset", "in": "query", "required": true, "schema": {"type": "string"}}),
    ];
    report_parameters.extend(range_parameters());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "genesys-bi",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Genesys Cloud contact-centre analytics for BI tools. Every endpoint except /healthz and /readyz needs an API key (`genesys-bi keys create`): `Authorization: Bearer <key>`, or HTTP Basic with the key as the password."
        },
        "security": [{"bearer": []}, {"basic": []}],
        "paths": {
            "/healthz": {"get": {"summary": "The process is up", "security": [], "responses": {"200": {"description": "Up"}}}},
            "/readyz": {"get": {"summary": "The store opens and reads", "security": [], "responses": {
                "200": {"description": "Ready"}, "503": problem_response("The store cannot be read")}}},
            "/": {"get": protected(json!({"summary": "Status page for people: freshness, lag, last runs, offered vs answered per day", "responses": {
                "200": {"description": "HTML", "content": {"text/html": {}}}}}))},
            "/metrics": {"get": protected(json!({"summary": "Prometheus metrics: requests, latencies, rows served, watermark lag", "responses": {
                "200": {"description": "Prometheus text", "content": {"text/plain": {}}}}}))},
            "/openapi.json": {"get": protected(json!({"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}))},
            "/v1/datasets": {"get": protected(json!({"summary": "Every dataset: columns with meanings, granularity, time zone, complete_through, last run, row count", "responses": {
                "200": {"description": "Datasets", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Datasets"}}}}}}))},
            "/v1/datasets/{name}/rows": {"get": protected(json!({
                "summary": "A dataset's rows, optionally rolled up (sums of sums and counts, min of mins, max of maxes; averages and ratios derived afterwards)",
                "parameters": rows_parameters,
                "responses": {
                    "200": {"description": "Rows", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RowsPage"}},
                        "text/csv": {}, "application/x-ndjson": {},
                        (super::rows::PARQUET_MEDIA_TYPE): {"schema": {"type": "string", "format": "binary"}}}},
                    "400": problem_response(LIMITS),
                    "404": problem_response("No such dataset"),
                    "414": uri_too_long()}}))},
            "/v1/report": {"get": protected(json!({
                "summary": "Totals and per-queue figures for a range, with complete_through",
                "parameters": report_parameters,
                "responses": {
                    "200": {"description": "Report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                    "400": problem_response(LIMITS),
                    "404": problem_response("No such dataset"),
                    "414": uri_too_long()}}))},
            "/odata/": {"get": protected(json!({"summary": "OData v4 service document (Power BI / Excel \"OData Feed\": Basic auth, key as password): an entity set per dataset and per directory", "responses": {
                "200": {"description": "Service document", "content": {"application/json;odata.metadata=minimal": {}}}}}))},
            "/odata/$metadata": {"get": protected(json!({"summary": "OData v4 CSDL (EDMX 4.0): one keyed entity type per entity set", "responses": {
                "200": {"description": "CSDL XML", "content": {"application/xml": {}}}}}))},
            "/odata/{set}": {"get": protected(json!({
                "summary": "An OData v4 entity set: $select, $filter, $orderby, $top, $skip, $count, paged by @odata.nextLink (at most 5000 rows a page; Prefer: odata.maxpagesize for fewer)",
                "parameters": odata_parameters(),
                "responses": {
                    "200": {"description": "A page of entities", "content": {"application/json;odata.metadata=minimal": {}}},
                    "400": {"description": "A query option is invalid: OData error body {\"error\":{\"code\",\"message\",\"target\"}}"},
                    "404": {"description": "No such entity set (OData error body)"},
                    "414": uri_too_long()}}))},
            "/odata/{set}/$count": {"get": protected(json!({
                "summary": "How many entities of an OData v4 entity set match $filter, as plain text ($top and $skip do not apply)",
                "parameters": odata_parameters(),
                "responses": {
                    "200": {"description": "The count", "content": {"text/plain; charset=utf-8": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
                    "400": {"description": "A query option is invalid: OData error body {\"error\":{\"code\",\"message\",\"target\"}}"},
                    "404": {"description": "No such entity set (OData error body)"},
                    "414": uri_too_long()}}))}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic", "description": "Any user name; the API key as the password."}
            },
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "parameter": {"type": "string"}}},
                "Column": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string", "enum": ["timestamp", "text", "integer", "real"]}, "meaning": {"type": "string"}}},
                "Datasets": {"type": "object", "properties": {"datasets": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "granularity": {"type": ["string", "null"]}, "time_zone": {"type": ["string", "null"]},
                    "complete_through": {"type": ["string", "null"], "format": "date-time"}, "lag_seconds": {"type": ["number", "null"]},
                    "row_count": {"type": "integer"}, "last_run": {"type": ["object", "null"]},
                    "columns": {"type": "array", "items": {"$ref": "#/components/schemas/Column"}}}}}}},
                "RowsPage": {"type": "object", "properties": {
                    "dataset": {"type": "string"}, "granularity": {"type": ["string", "null"]}, "time_zone": {"type": "string"},
                    "complete_through": {"type": ["string", "null"]},
                    "columns": {"type": "array", "items": {"$ref": "#/components/schemas/Column"}},
                    "rows": {"type": "array", "items": {"type": "object"}},
                    "next": {"type": ["string", "null"], "description": "Link to the next page; null on the last"}}},
                "Figures": {"type": "object", "properties": {
                    "offered": {"type": ["integer", "null"]}, "answered": {"type": ["integer", "null"]}, "abandoned": {"type": ["integer", "null"]},
                    "avg_handle_ms": {"type": ["number", "null"]}, "avg_talk_ms": {"type": ["number", "null"]},
                    "avg_wait_ms": {"type": ["number", "null"]}, "avg_acw_ms": {"type": ["number", "null"]},
                    "service_level": {"type": ["number", "null"]}, "answer_rate": {"type": ["number", "null"]}, "abandon_rate": {"type": ["number", "null"]}}},
                "Report": {"type": "object", "properties": {
                    "dataset": {"type": "string"}, "from": {"type": ["string", "null"]}, "to": {"type": ["string", "null"]},
                    "complete_through": {"type": ["string", "null"]}, "final": {"type": "boolean", "description": "to <= complete_through: the figures will not change"},
                    "totals": {"$ref": "#/components/schemas/Figures"},
                    "groups": {"type": "array", "items": {"$ref": "#/components/schemas/Figures"}}}}
            }
        }
    })
}

pub async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use crate::params::{MAX_LIST_ITEMS, MAX_PAIRS, MAX_QUERY_BYTES, MAX_VALUE_BYTES};
    use crate::routes::rows::MAX_FILTER_VALUES;

    #[test]
    fn the_documented_limits_are_the_enforced_ones() {
        for (limit, words) in [
            (MAX_QUERY_BYTES, "bytes and"),
            (MAX_PAIRS, "parameters"),
            (MAX_VALUE_BYTES, "bytes once"),
            (MAX_LIST_ITEMS, "names"),
            (MAX_FILTER_VALUES, "values"),
        ] {
            let phrase = format!("{limit} {words}");
            assert!(super::LIMITS.contains(&phrase), "{phrase}");
        }
    }
}
