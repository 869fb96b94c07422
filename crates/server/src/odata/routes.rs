//! The `/odata` handlers: service document, `$metadata`, entity set reads with server-driven
//! paging (`@odata.nextLink` carries a `$skiptoken`: the rows already served and, in the entity
//! set's own order, the key of the last one), and `/$count`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use warehouse::ReadSession;
use warehouse::read::Cell;

use super::query::{Options, SkipToken, query};
use super::{EntitySet, JSON_MINIMAL, ODATA_VERSION, ODataError, entity_set, entity_sets};
use crate::routes::openapi::URI_TOO_LONG;
use crate::state::AppState;
use warehouse::query::Query;

/// The most rows one page holds; clients may ask for fewer with `Prefer: odata.maxpagesize`.
pub const MAX_PAGE_SIZE: u64 = 5_000;

/// Runs store work in a read session, off the async threads.
async fn read<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&dyn ReadSession) -> Result<T, ODataError> + Send + 'static,
) -> Result<T, ODataError> {
    let reads = state.reads.clone();
    tokio::task::spawn_blocking(move || {
        let session = reads
            .session()
            .map_err(|problem| ODataError::internal(problem.detail))?;
        work(&*session)
    })
    .await
    .map_err(ODataError::internal)?
}

/// `http://host/odata`, from the Host the client used (links must resolve for it), or https
/// when a reverse proxy says the client came over TLS (`X-Forwarded-Proto` or `Forwarded`):
/// Power BI follows `@odata.nextLink` as given, and refuses a downgrade to http.
fn service_root(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{}://{host}/odata", forwarded_scheme(headers))
}

fn forwarded_scheme(headers: &HeaderMap) -> &'static str {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let first_proto = text("x-forwarded-proto")
        .map(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .or_else(|| {
            // `Forwarded: for=…;proto=https, for=…`: the first hop's proto.
            text("forwarded")?
                .split(',')
                .next()?
                .split(';')
                .find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("proto")
                        .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
                })
        });
    match first_proto.as_deref() {
        Some("https") => "https",
        _ => "http",
    }
}

/// `body` with its content type and `OData-Version: 4.0`.
fn odata_response(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("OData-Version", HeaderValue::from_static(ODATA_VERSION));
    response
}

fn respond(body: Value, extra: &[(&'static str, String)]) -> Response {
    let mut response = odata_response(body.to_string(), JSON_MINIMAL);
    let headers = response.headers_mut();
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    response
}

/// OData v4 service document (Power BI / Excel "OData Feed": Basic auth, key as password): an entity set per dataset and per directory
#[utoipa::path(
    get,
    path = "/odata/",
    responses((status = 200, description = "Service document", content_type = "application/json;odata.metadata=minimal"))
)]
pub async fn service_document(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ODataError> {
    let sets = read(&state, entity_sets).await?;
    let root = service_root(&headers);
    let value: Vec<Value> = sets
        .iter()
        .map(|s| json!({"name": s.name, "kind": "EntitySet", "url": s.name}))
        .collect();
    Ok(respond(
        json!({"@odata.context": format!("{root}/$metadata"), "value": value}),
        &[],
    ))
}

/// OData v4 CSDL (EDMX 4.0): one keyed entity type per entity set
#[utoipa::path(
    get,
    path = "/odata/$metadata",
    responses((status = 200, description = "CSDL XML", content_type = "application/xml"))
)]
pub async fn metadata(State(state): State<AppState>) -> Result<Response, ODataError> {
    let sets = read(&state, entity_sets).await?;
    Ok(odata_response(
        super::metadata::document(&sets),
        "application/xml",
    ))
}

/// `Prefer: odata.maxpagesize=N`, capped at [`MAX_PAGE_SIZE`]; `None` if not asked.
fn preferred_page_size(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(MAX_PAGE_SIZE))
}

fn run_rows(c: &dyn ReadSession, query: &Query) -> Result<Vec<Vec<Cell>>, ODataError> {
    c.query_rows(query).map_err(ODataError::statement)
}

fn run_count(c: &dyn ReadSession, query: &Query) -> Result<i64, ODataError> {
    c.query_count(query).map_err(ODataError::statement)
}

/// One page: its rows, whether more follow, and the count if asked.
struct Page {
    set: EntitySet,
    options: Options,
    rows: Vec<Vec<Cell>>,
    /// Per row, the related entity of each `$expand` item (or null).
    expanded: Vec<Vec<Value>>,
    next_skiptoken: Option<SkipToken>,
    count: Option<i64>,
}

fn read_page(
    c: &dyn ReadSession,
    name: &str,
    raw: Option<&str>,
    page_size: u64,
) -> Result<Page, ODataError> {
    let set = entity_set(c, name)?;
    let options = Options::parse(raw, &set)?;
    let served = options.served();
    let limit = match options.top {
        Some(top) => top.saturating_sub(served).min(page_size),
        None => page_size,
    };
    let offset = match (options.resumes_by_key(), &options.skiptoken) {
        (true, Some(_)) => 0,
        (true, None) => options.skip,
        (false, _) => options.skip.saturating_add(served),
    };
    // One row more than the page tells whether another page follows.
    let mut rows = run_rows(c, &query(&set, &options, offset, limit + 1)?)?;
    let top_met = options
        .top
        .is_some_and(|top| served.saturating_add(limit) >= top);
    let more = rows.len() as u64 > limit && !top_met;
    rows.truncate(limit as usize);
    let key_width = set.resume_key.len();
    let last_key = rows.last().map(|row| {
        row[row.len().saturating_sub(key_width)..]
            .iter()
            .map(Cell::to_text)
            .collect::<Vec<_>>()
    });
    for row in &mut rows {
        row.truncate(row.len().saturating_sub(key_width));
    }
    let selected = options.selected(&set).len();
    let expanded = super::expand::related(c, &set, &options.expand, &rows, selected)?;
    for row in &mut rows {
        row.truncate(selected);
    }
    let count = if options.count {
        Some(run_count(c, &query(&set, &options, 0, 0)?)?)
    } else {
        None
    };
    let next_skiptoken = more.then(|| SkipToken {
        served: served.saturating_add(limit),
        after: last_key.filter(|_| options.resumes_by_key()),
    });
    Ok(Page {
        next_skiptoken,
        set,
        options,
        rows,
        expanded,
        count,
    })
}

fn next_link(root: &str, page: &Page, skiptoken: &SkipToken) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in page.options.raw.iter().filter(|(k, _)| k != "$skiptoken") {
        query.append_pair(k, v);
    }
    query.append_pair("$skiptoken", &skiptoken.encode());
    format!("{root}/{}?{}", page.set.name, query.finish())
}

fn page_body(root: &str, page: Page) -> Value {
    let selected = page.options.selected(&page.set);
    let mut shape: Vec<String> = page.options.select.clone().unwrap_or_default();
    shape.extend(page.options.expand.iter().map(|e| {
        let select = e
            .select
            .as_ref()
            .map(|names| names.join(","))
            .unwrap_or_default();
        format!("{}({select})", e.navigation)
    }));
    let context = if shape.is_empty() {
        format!("{root}/$metadata#{}", page.set.name)
    } else {
        format!("{root}/$metadata#{}({})", page.set.name, shape.join(","))
    };
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context));
    if let Some(count) = page.count {
        body.insert("@odata.count".into(), json!(count));
    }
    let next = page
        .next_skiptoken
        .as_ref()
        .map(|t| next_link(root, &page, t));
    let value: Vec<Value> = page
        .rows
        .into_iter()
        .zip(page.expanded)
        .map(|(row, related)| {
            let mut object: Map<String, Value> = selected
                .iter()
                .zip(row)
                .map(|(p, cell)| {
                    let value = serde_json::to_value(cell).unwrap_or(Value::Null);
                    (p.name.clone(), value)
                })
                .collect();
            for (expand, entity) in page.options.expand.iter().zip(related) {
                object.insert(expand.navigation.clone(), entity);
            }
            Value::Object(object)
        })
        .collect();
    body.insert("value".into(), Value::Array(value));
    if let Some(next) = next {
        body.insert("@odata.nextLink".into(), json!(next));
    }
    Value::Object(body)
}

/// `GET /odata/{set}/$count`: how many entities match `$filter`, as plain text (Power Query
/// folds `Table.RowCount` of an OData feed into this request). `$top` and `$skip` do not
/// apply to the count, as OData says.
/// The entity set named in the path, or a 400 when it is not text.
fn set_name(path: Result<Path<String>, PathRejection>) -> Result<String, ODataError> {
    crate::params::path_text(path)
        .map_err(|why| ODataError::bad_option("set", format!("the entity set name {why}")))
}

/// How many entities of an OData v4 entity set match $filter, as plain text ($top and $skip do not apply)
#[utoipa::path(
    get,
    path = "/odata/{set}/$count",
    params(
        ("set" = String, Path, description = "A dataset, its KPI feeds (<dataset>_kpi, <dataset>_daily_kpi) or a directory (queues, users, wrapup_codes, presences)"),
        ("$filter" = Option<String>, Query, description = ODATA_FILTER),
        ("$select" = Option<String>, Query, description = ODATA_SELECT),
        ("$orderby" = Option<String>, Query, description = ODATA_ORDERBY),
        ("$top" = Option<u64>, Query, description = "Rows at most."),
        ("$skip" = Option<u64>, Query, description = "Rows skipped first."),
        ("$count" = Option<bool>, Query, description = "true adds @odata.count."),
        ("$skiptoken" = Option<String>, Query, description = ODATA_SKIPTOKEN),
        ("$format" = Option<String>, Query, description = "json (the only format)."),
        ("$expand" = Option<String>, Query, description = ODATA_EXPAND),
    ),
    responses(
        (status = 200, description = "The count", body = inline(EntityCount), content_type = "text/plain; charset=utf-8"),
        (status = 400, description = ODATA_BAD_OPTION),
        (status = 404, description = ODATA_NO_SET),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn entity_set_count(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ODataError> {
    let name = set_name(name)?;
    let count = read(&state, move |c| {
        let set = entity_set(c, &name)?;
        let options = Options::parse(raw.as_deref(), &set)?;
        run_count(c, &query(&set, &options, 0, 0)?)
    })
    .await?;
    Ok(odata_response(
        count.to_string(),
        "text/plain; charset=utf-8",
    ))
}

/// An OData v4 entity set: $select, $filter, $orderby, $top, $skip, $count, $expand, paged by @odata.nextLink (at most 5000 rows a page; Prefer: odata.maxpagesize for fewer)
#[utoipa::path(
    get,
    path = "/odata/{set}",
    params(
        ("set" = String, Path, description = "A dataset, its KPI feeds (<dataset>_kpi, <dataset>_daily_kpi) or a directory (queues, users, wrapup_codes, presences)"),
        ("$filter" = Option<String>, Query, description = ODATA_FILTER),
        ("$select" = Option<String>, Query, description = ODATA_SELECT),
        ("$orderby" = Option<String>, Query, description = ODATA_ORDERBY),
        ("$top" = Option<u64>, Query, description = "Rows at most."),
        ("$skip" = Option<u64>, Query, description = "Rows skipped first."),
        ("$count" = Option<bool>, Query, description = "true adds @odata.count."),
        ("$skiptoken" = Option<String>, Query, description = ODATA_SKIPTOKEN),
        ("$format" = Option<String>, Query, description = "json (the only format)."),
        ("$expand" = Option<String>, Query, description = ODATA_EXPAND),
    ),
    responses(
        (status = 200, description = "A page of entities", content_type = "application/json;odata.metadata=minimal"),
        (status = 400, description = ODATA_BAD_OPTION),
        (status = 404, description = ODATA_NO_SET),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn entity_set_rows(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ODataError> {
    let name = set_name(name)?;
    let preferred = preferred_page_size(&headers);
    let page_size = preferred.unwrap_or(MAX_PAGE_SIZE);
    let metrics = state.metrics.clone();
    let page = read(&state, move |c| {
        // One read transaction: `@odata.count` and the page see the same snapshot.
        warehouse::reader::in_snapshot(c, |c| read_page(c, &name, raw.as_deref(), page_size))
    })
    .await?;
    metrics.rows_served(&page.set.name, page.rows.len() as u64);
    let applied: Vec<(&'static str, String)> = preferred
        .map(|n| ("preference-applied", format!("odata.maxpagesize={n}")))
        .into_iter()
        .collect();
    Ok(respond(page_body(&service_root(&headers), page), &applied))
}

/// What a 400 of an OData entity set means.
const ODATA_BAD_OPTION: &str =
    "A query option is invalid: OData error body {\"error\":{\"code\",\"message\",\"target\"}}";
const ODATA_NO_SET: &str = "No such entity set (OData error body)";
/// The OData option limits, as `odata::filter` and `odata::query` enforce them (a unit test
/// holds the numbers to their constants).
const ODATA_FILTER: &str = "eq ne gt ge lt le, and or not, parentheses, contains/startswith/endswith; at most 32768 bytes, 64 levels of parentheses and not, 500 terms.";
const ODATA_SELECT: &str = "Comma-separated properties, or *; at most 512.";
const ODATA_ORDERBY: &str = "Comma-separated `property [asc|desc]`; at most 32.";
const ODATA_EXPAND: &str = "Comma-separated navigation properties to a directory (queue, user, wrapup_code), each optionally with ($select=…).";
const ODATA_SKIPTOKEN: &str = "Opaque, from @odata.nextLink; at most 8192 bytes.";

/// The body of `GET /odata/{set}/$count`: the count in decimal digits.
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]+$")]
#[expect(dead_code, reason = "describes a body its handler writes as text")]
struct EntityCount(String);

#[cfg(test)]
mod tests {
    use super::*;

    fn root(pairs: &[(&'static str, &'static str)]) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("bi.example.com"));
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        service_root(&headers)
    }

    #[test]
    fn links_keep_the_scheme_a_proxy_reports() {
        assert_eq!(root(&[]), "http://bi.example.com/odata");
        assert_eq!(
            root(&[("x-forwarded-proto", "https")]),
            "https://bi.example.com/odata"
        );
        assert_eq!(
            root(&[("x-forwarded-proto", "HTTPS, http")]),
            "https://bi.example.com/odata"
        );
        assert_eq!(
            root(&[("forwarded", "for=10.0.0.1;proto=https;host=bi.example.com")]),
            "https://bi.example.com/odata"
        );
        assert_eq!(
            root(&[("forwarded", "proto=http, proto=https")]),
            "http://bi.example.com/odata"
        );
        assert_eq!(
            root(&[("x-forwarded-proto", "gopher")]),
            "http://bi.example.com/odata"
        );
    }
}

#[cfg(test)]
mod documented_limits {
    use crate::odata::filter::{MAX_DEPTH, MAX_LENGTH, MAX_TERMS};
    use crate::odata::query::{MAX_ORDERBY_ITEMS, MAX_SELECT_ITEMS, MAX_SKIPTOKEN_BYTES};

    #[test]
    fn the_documented_odata_limits_are_the_enforced_ones() {
        for (text, phrase) in [
            (super::ODATA_FILTER, format!("at most {MAX_LENGTH} bytes")),
            (super::ODATA_FILTER, format!("{MAX_DEPTH} levels")),
            (super::ODATA_FILTER, format!("{MAX_TERMS} terms")),
            (super::ODATA_SELECT, format!("at most {MAX_SELECT_ITEMS}.")),
            (
                super::ODATA_ORDERBY,
                format!("at most {MAX_ORDERBY_ITEMS}."),
            ),
            (
                super::ODATA_SKIPTOKEN,
                format!("at most {MAX_SKIPTOKEN_BYTES} bytes"),
            ),
        ] {
            assert!(text.contains(&phrase), "{text} lacks {phrase}");
        }
    }
}
