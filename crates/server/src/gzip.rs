//! gzip for clients that ask for it (`Accept-Encoding: gzip`: browsers, Power BI, Grafana,
//! `curl --compressed`): a JSON page of rows is about a tenth of its size compressed. Cached
//! answers are compressed once and kept compressed, so serving one again compresses nothing.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::StreamExt;

/// Whether the request accepts a gzip body (RFC 9110 §12.5.3): `gzip` (or `x-gzip`), else `*`,
/// with a weight above zero; a coding without a weight has weight 1.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                })
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(weight > 0.0);
            } else if coding == "*" {
                any = Some(weight > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// `body` as a gzip member, at the fastest level: a JSON page compresses ~10x even so, and a
/// request waiting on a cold answer should not also wait on a thorough compressor.
pub fn compress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8 + 64), Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

/// Middleware: the answer gzip-compressed as it is sent when the request accepts gzip and the
/// handler did not encode it itself (Power BI and Excel ask for it on every OData request).
/// Caches along the way are told the answer depends on `Accept-Encoding`.
pub async fn when_asked(request: Request, next: Next) -> Response {
    let wanted = accepts_gzip(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !wanted || headers.contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(header::CONTENT_LENGTH);
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, compress_stream(body))
}

/// `body` gzip-compressed chunk by chunk as it is read: nothing is held but the compressor's
/// window and the chunk at hand.
pub fn compress_stream(body: Body) -> Body {
    struct Compressing {
        chunks: axum::body::BodyDataStream,
        encoder: Option<GzEncoder<Vec<u8>>>,
    }
    let start = Compressing {
        chunks: body.into_data_stream(),
        encoder: Some(GzEncoder::new(Vec::new(), Compression::fast())),
    };
    let stream = futures_util::stream::unfold(start, |mut state| async move {
        let mut encoder = state.encoder.take()?;
        loop {
            match state.chunks.next().await {
                Some(Ok(chunk)) => {
                    if let Err(e) = encoder.write_all(&chunk) {
                        return Some((Err(e), state));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        state.encoder = Some(encoder);
                        return Some((Ok(Bytes::from(out)), state));
                    }
                }
                Some(Err(e)) => return Some((Err(std::io::Error::other(e)), state)),
                None => return Some((encoder.finish().map(Bytes::from), state)),
            }
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn weights_decide() {
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["br, gzip;q=0.5, deflate"]));
        assert!(accepts(&["identity", "GZIP"]));
        assert!(accepts(&["*"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["*, gzip; q=0.000"]));
        assert!(!accepts(&["br, deflate"]));
        assert!(!accepts(&["gzip;q=x"]));
    }

    #[tokio::test]
    async fn a_streamed_body_compresses_chunk_by_chunk_and_comes_back_whole() {
        use std::io::Read;
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..50)
            .map(|i| {
                Ok(Bytes::from(
                    format!("{{\"row\":{i},\"queue\":\"Sales\"}},").repeat(200),
                ))
            })
            .collect();
        let whole: Vec<u8> = chunks
            .iter()
            .flat_map(|c| c.as_ref().unwrap().to_vec())
            .collect();
        let body = compress_stream(Body::from_stream(futures_util::stream::iter(chunks)));
        let compressed = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert!(compressed.len() * 10 < whole.len(), "{}", compressed.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, whole);
    }

    #[test]
    fn compressed_bodies_come_back_whole() {
        use std::io::Read;
        let body = br#"{"rows":[{"n_offered":1},{"n_offered":2}]}"#.repeat(1000);
        let compressed = compress(&body).unwrap();
        assert!(compressed.len() * 10 < body.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
