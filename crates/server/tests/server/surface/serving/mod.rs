//! The server as a long-lived service meets hostile and clumsy clients: panics answer 500 with a
//! request id and the server lives on; a slow answer times out; slowloris clients, idle holders
//! and readers that stop reading are cut; the connection cap holds; HTTPS with a certificate
//! made here and a client that verifies it.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use server::{Limits, Server, ServerConfig, TlsFiles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use test_support::logs::CapturedLogs;

use crate::common::{DATASET, TestApp, assert_problem};

/// Routes no production server mounts: a handler that panics and one that never answers.
fn hostile_routes() -> Router {
    Router::new()
        .route(
            "/test/panic",
            get(|| async {
                panic!("injected by the test");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "too late"
            }),
        )
}

fn limits(configure: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    configure(&mut limits);
    limits
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_request_id_and_the_server_lives_on() {
    // `genesys-bi`'s default filter: warnings and errors only.
    let log = CapturedLogs::start("warn");
    let app = TestApp::spawn_with(|s| s.extra_routes(hostile_routes())).await;
    let response = app
        .client
        .get(app.url("/test/panic"))
        .header("x-request-id", "bi-client-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "bi-client-42");
    let problem = assert_problem(response, 500).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("x-request-id"),
        "{problem}"
    );
    let logged = log.text();
    let line = logged
        .lines()
        .find(|l| l.contains("panicked"))
        .unwrap_or_else(|| panic!("the panic is logged: {logged}"));
    for expected in [
        "ERROR",
        "id=bi-client-42",
        "injected by the test",
        "/test/panic",
    ] {
        assert!(line.contains(expected), "{line:?} lacks {expected:?}");
    }

    for _ in 0..3 {
        let panicked = app.client.get(app.url("/test/panic")).send().await.unwrap();
        assert_eq!(panicked.status(), 500);
    }
    let after = app.get("/v1/datasets").await;
    assert_eq!(after.status(), 200, "the server still answers after panics");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "genesys_bi_http_requests_total{method=\"GET\",route=\"/test/panic\",status=\"500\"} 4"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_odd_client_ids_are_replaced() {
    let app = TestApp::spawn().await;
    let generated = app.get("/v1/datasets").await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32, "{id}");
    let next = app.get("/healthz").await;
    assert_ne!(next.headers()["x-request-id"].to_str().unwrap(), id);

    for odd in ["has space", &"x".repeat(129), "quote\"d", ""] {
        let response = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", odd)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, odd);
        assert_eq!(echoed.len(), 32, "{echoed}");
    }
}

#[tokio::test]
async fn an_answer_slower_than_the_request_timeout_is_a_503() {
    let app = TestApp::spawn_with(|s| {
        s.extra_routes(hostile_routes()).limits(limits(|l| {
            l.request_timeout = Duration::from_millis(300);
        }))
    })
    .await;
    let response = app
        .client
        .get(app.url("/test/slow"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("an answer before the client gives up");
    let problem = assert_problem(response, 503).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("request_timeout"),
        "{problem}"
    );
    assert_eq!(app.get("/v1/datasets").await.status(), 200);
}

/// Reads until the server closes the connection (or resets it); `None` if it stays open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(received)
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_at_the_header_read_timeout() {
    let timeout = Duration::from_millis(500);
    let app = TestApp::spawn_with(|s| s.limits(limits(|l| l.header_read_timeout = timeout))).await;
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // A byte every 100 ms: always something arriving, never a whole request head.
    let dribble = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter();
        for byte in head.chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 1024];
    let ended = tokio::time::timeout(timeout * 10, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    dribble.abort();
    assert!(ended.is_ok(), "the slow client still holds its connection");
}

#[tokio::test]
async fn a_connection_left_idle_is_closed() {
    let timeout = Duration::from_millis(500);
    let app = TestApp::spawn_with(|s| s.limits(limits(|l| l.header_read_timeout = timeout))).await;
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let received = closed_within(&mut stream, timeout * 10)
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(received.starts_with(b"HTTP/1.1 200"), "answered first");
}

const PIPELINED: usize = 40;

#[tokio::test]
async fn a_client_that_stops_reading_an_export_is_cut_off() {
    let stall = Duration::from_millis(500);
    let app = TestApp::spawn_with(|s| {
        s.limits(limits(|l| {
            l.idle_timeout = stall;
            l.request_timeout = stall;
        }))
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(app.address.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    let request = format!(
        "GET /v1/datasets/{DATASET}/rows?format=csv HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\n\r\n",
        app.key
    );
    // Pipelined, so the answers (some 20 MB) outgrow every socket buffer on the way.
    stream
        .write_all(request.repeat(PIPELINED).as_bytes())
        .await
        .unwrap();
    // Not reading lets the buffers fill; the server's writes then stall.
    tokio::time::sleep(stall * 6).await;
    let mut received = 0;
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = vec![0u8; 65536];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            received += n;
        }
    })
    .await
    .expect("the server cut the connection of the client that stopped reading");
    let one = app
        .get(&format!("/v1/datasets/{DATASET}/rows?format=csv"))
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    assert!(
        received < one * PIPELINED,
        "the stalled reader got all {PIPELINED} exports ({received} bytes)"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_with(|s| {
        s.limits(limits(|l| {
            l.max_connections = 2;
            l.header_read_timeout = Duration::from_secs(60);
        }))
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }

    let mut third = TcpStream::connect(&address).await.unwrap();
    third.write_all(request).await.unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond the cap of 2"
    );

    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}

/// A CA made for this test, its server certificate for `localhost` and 127.0.0.1, as files.
struct TestCa {
    ca_pem: String,
    files: TlsFiles,
    _dir: tempfile::TempDir,
}

fn test_ca() -> TestCa {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, leaf_key.serialize_pem()).unwrap();
    TestCa {
        ca_pem: ca_cert.pem(),
        files,
        _dir: dir,
    }
}

async fn bound(store: &Path) -> Server {
    Server::build(ServerConfig {
        store: warehouse::StoreConfig::sqlite(store),
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn https_serves_data_to_a_client_that_verifies_the_certificate() {
    let ca = test_ca();
    let plain = TestApp::spawn().await;
    let server = bound(&plain.store).await.tls(&ca.files).unwrap();
    assert_eq!(server.scheme(), "https");
    let port = server.port();
    tokio::spawn(server.run_until_stopped());

    let root = reqwest::Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap();
    let verifying = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let response = verifying
            .get(format!("https://{host}:{port}/v1/datasets"))
            .bearer_auth(&plain.key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["datasets"].as_array().is_some_and(|d| !d.is_empty()));
    }

    let without_root = reqwest::Client::new()
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await;
    assert!(
        without_root.is_err(),
        "a client that does not trust the CA must refuse: {without_root:?}"
    );
    let over_plain_http = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(
        over_plain_http.is_err(),
        "plain HTTP to the HTTPS port must not be answered: {over_plain_http:?}"
    );
    // The refused clients did not hurt the server.
    let again = verifying
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn bad_tls_files_fail_start_up_naming_the_file() {
    let ca = test_ca();
    let other = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("not-pem.txt");
    std::fs::write(&not_pem, "hello, not a certificate\n").unwrap();

    let cases = [
        (
            TlsFiles {
                cert: missing.clone(),
                key: ca.files.key.clone(),
            },
            missing.display().to_string(),
        ),
        (
            TlsFiles {
                cert: not_pem.clone(),
                key: ca.files.key.clone(),
            },
            format!("{} holds no PEM", not_pem.display()),
        ),
        (
            TlsFiles {
                cert: ca.files.cert.clone(),
                key: not_pem.clone(),
            },
            format!("{} holds no PEM private key", not_pem.display()),
        ),
        (
            TlsFiles {
                cert: ca.files.cert.clone(),
                key: other.files.key.clone(),
            },
            format!("{} does not belong to", other.files.key.display()),
        ),
    ];
    for (files, expected) in cases {
        let error = bound(&store).await.tls(&files).err().expect("refused");
        let message = error.to_string();
        assert!(
            message.contains(&expected),
            "{message:?} lacks {expected:?}"
        );
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_the_tls_handshake_is_cut_off() {
    let ca = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(500);
    let server = bound(&dir.path().join("store.db"))
        .await
        .tls(&ca.files)
        .unwrap()
        .limits(limits(|l| l.header_read_timeout = timeout));
    let port = server.port();
    tokio::spawn(server.run_until_stopped());
    let mut silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert!(
        closed_within(&mut silent, timeout * 10).await.is_some(),
        "a silent client still holds its TLS connection"
    );
}
