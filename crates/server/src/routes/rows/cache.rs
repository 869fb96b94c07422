//! JSON answers from the response cache (computed once per store generation), gzip-compressed
//! when the client accepts it; the report endpoint answers through it too.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::gzip;
use crate::problem::Problem;
use crate::reads::{CachedBody, Reads};

/// A JSON answer from the response cache, gzip-compressed when the client accepts it: the
/// compressed form is cached under its own key, so a cached answer is never compressed twice.
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
