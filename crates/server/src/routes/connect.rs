//! `GET /v1/connect/{name}/powerbi` and `/excel`: a dataset's Power BI data source file and
//! Excel connection file, pointing at one of its OData feeds on this server as the client
//! reached it (the status page links them). The files hold no key: the tools ask for it (Basic,
//! key as the password) when they first read the feed.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::connect::{Feed, FeedTarget, odc, origin, pbids};
use crate::params::{BAD_PARAMETER_DOC, Params};
use crate::problem::Problem;
use crate::routes::openapi::URI_TOO_LONG;
use crate::state::AppState;

const PARAMETERS: &[&str] = &["feed"];
const PBIDS_TYPE: &str = "application/json";
const ODC_TYPE: &str = "text/x-ms-odc; charset=utf-8";

/// The query of both connection files.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectQuery {
    /// The feed the file points at: `daily_kpi` (`<name>_daily_kpi`, per local day; the default for aggregates datasets), `kpi` (`<name>_kpi`, per stored bucket) or `rows` (`<name>`, the stored sums and counts; the only feed, and the default, of other datasets).
    #[param(inline, value_type = Option<Feed>)]
    pub feed: Option<String>,
}

/// The feed the request names, checked against the dataset, on this server's address.
async fn target(
    state: &AppState,
    name: Result<Path<String>, PathRejection>,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<FeedTarget, Problem> {
    let name = crate::params::path_text(name)
        .map_err(|why| Problem::bad_parameter("name", format!("the dataset name {why}")))?;
    let params = Params::parse(raw, PARAMETERS)?;
    let asked = match params.one("feed")? {
        None => None,
        Some(text) => Some(Feed::parse(text).ok_or_else(|| {
            let names: Vec<&str> = Feed::ALL.iter().map(|f| f.as_str()).collect();
            Problem::bad_parameter(
                "feed",
                format!("is not a feed (accepted: {})", names.join(", ")),
            )
        })?),
    };
    let looked_up = name.clone();
    let info = state
        .read(move |c| Ok(c.dataset(&looked_up)?))
        .await?
        .ok_or_else(|| Problem::unknown_dataset(&name))?;
    let feed = match asked {
        None => Feed::default_for(&info.spec),
        Some(feed) => feed
            .check(&info.spec)
            .map_err(|message| Problem::bad_parameter("feed", message))?,
    };
    Ok(FeedTarget {
        origin: origin(headers, state.scheme),
        dataset: name,
        feed,
    })
}

/// `body` as a download named `file_name`.
fn attachment(body: String, content_type: &'static str, file_name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Dataset names are identifiers (letters, digits, `_`), so the name needs no escaping.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A Power BI data source file (.pbids) for one OData feed of a dataset: open it with Power BI Desktop, sign in with Basic (any user name, the API key as the password)
#[utoipa::path(
    get,
    path = "/v1/connect/{name}/powerbi",
    params(("name" = String, Path, description = "The dataset"), ConnectQuery),
    responses(
        (status = 200, description = "The .pbids file (JSON), as an attachment named `<entity set>.pbids`", content_type = "application/json"),
        (status = 400, description = BAD_PARAMETER_DOC, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn powerbi(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let target = target(&state, name, raw.as_deref(), &headers).await?;
    Ok(attachment(
        pbids(&target),
        PBIDS_TYPE,
        &target.file_name("pbids"),
    ))
}

/// An Office Data Connection file (.odc) for one OData feed of a dataset: open it with Excel for Windows (a Power Query connection), sign in with Basic (any user name, the API key as the password)
#[utoipa::path(
    get,
    path = "/v1/connect/{name}/excel",
    params(("name" = String, Path, description = "The dataset"), ConnectQuery),
    responses(
        (status = 200, description = "The .odc file (HTML with the connection's XML), as an attachment named `<entity set>.odc`", content_type = "text/x-ms-odc"),
        (status = 400, description = BAD_PARAMETER_DOC, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn excel(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let target = target(&state, name, raw.as_deref(), &headers).await?;
    Ok(attachment(odc(&target), ODC_TYPE, &target.file_name("odc")))
}
