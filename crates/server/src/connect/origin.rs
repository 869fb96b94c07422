//! Where BI tools reach this server, from the request that asked for a connection file: the
//! file must point at the address the client used, and at https whenever the client came over
//! TLS (Power BI refuses to be sent from https to http).

use axum::http::{HeaderMap, header};

/// `scheme://host[:port]`: the Host the client sent (else `localhost`), and `https` when a
/// reverse proxy says the client came over TLS (`X-Forwarded-Proto`, else `Forwarded`),
/// `http` when it says plain, else `own_scheme` (the scheme this server itself speaks).
pub fn origin(headers: &HeaderMap, own_scheme: &'static str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = match forwarded_proto(headers).as_deref() {
        Some("https") => "https",
        Some("http") => "http",
        _ => own_scheme,
    };
    format!("{scheme}://{host}")
}

/// The first hop's protocol a proxy reports, lowercased.
fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(value) = text("x-forwarded-proto") {
        return Some(value.split(',').next()?.trim().to_ascii_lowercase());
    }
    // `Forwarded: for=…;proto=https, for=…`
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_host_the_client_used_with_this_servers_scheme() {
        let asked = headers(&[("host", "bi.example.com:8080")]);
        assert_eq!(origin(&asked, "http"), "http://bi.example.com:8080");
        assert_eq!(origin(&asked, "https"), "https://bi.example.com:8080");
        let v6 = headers(&[("host", "[::1]:8080")]);
        assert_eq!(origin(&v6, "http"), "http://[::1]:8080");
    }

    #[test]
    fn a_proxy_reporting_tls_or_plain_overrides_this_servers_scheme() {
        for proxied in [
            headers(&[("host", "bi"), ("x-forwarded-proto", "HTTPS, http")]),
            headers(&[
                ("host", "bi"),
                ("forwarded", "for=1.2.3.4;proto=\"https\", for=5"),
            ]),
        ] {
            assert_eq!(origin(&proxied, "http"), "https://bi");
        }
        let plain = headers(&[("host", "bi"), ("x-forwarded-proto", "http")]);
        assert_eq!(origin(&plain, "https"), "http://bi");
        let unknown = headers(&[("host", "bi"), ("x-forwarded-proto", "gopher")]);
        assert_eq!(origin(&unknown, "https"), "https://bi");
    }

    #[test]
    fn a_missing_or_unsafe_host_is_localhost() {
        assert_eq!(origin(&HeaderMap::new(), "http"), "http://localhost");
        let unsafe_host = headers(&[("host", "evil\"/><x")]);
        assert_eq!(origin(&unsafe_host, "http"), "http://localhost");
    }
}
