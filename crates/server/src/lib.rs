//! The genesys-bi BI server: datasets, rows (with rollups), reports, status, metrics and
//! OpenAPI over HTTP, plus a read-only OData v4 feed at `/odata` for Power BI and Excel, read
//! from the store on read-only connections; HTTPS, limits, and a graceful stop. Every endpoint
//! except `/healthz` and `/readyz` needs an API key.
//!
//! It must never write to the store, call Genesys, depend on `sync`, or hold SQL text or a
//! database driver: it parses requests (OData `$filter` into a store-neutral query included)
//! and asks `warehouse` for the rows; only its unit tests use SQLite, to check arithmetic.

mod auth;
pub mod connect;
mod derived;
mod guard;
mod gzip;
pub mod metrics;
pub mod odata;
mod params;
pub mod problem;
mod reads;
mod rollup;
pub mod routes;
mod serve;
mod state;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warehouse::StoreConfig;

pub use problem::Problem;
pub use serve::Limits;
use state::AppState;
pub use tls::{TlsError, TlsFiles};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The store the sync writes (any backend `warehouse` opens).
    pub store: StoreConfig,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("opening the store {store}: {source}")]
    Store {
        store: StoreConfig,
        source: warehouse::StoreError,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A server bound to its port, ready to run (the zero2prod `Application` pattern).
pub struct Server {
    listener: TcpListener,
    state: AppState,
    port: u16,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    extra_routes: Option<Router>,
}

impl Server {
    /// Opens (and if needed creates) the store, then binds.
    pub async fn build(config: ServerConfig) -> Result<Server, ServerError> {
        let store = warehouse::open_reader(&config.store).map_err(|source| ServerError::Store {
            store: config.store.clone(),
            source,
        })?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let port = listener
            .local_addr()
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?
            .port();
        let state = AppState::new(store);
        Ok(Server {
            listener,
            state,
            port,
            limits: Limits::default(),
            tls: None,
            extra_routes: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https` once [`Server::tls`] is set, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Connection cap and time-outs (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Speaks HTTPS only, with this certificate chain and key; both files are read and checked
    /// now, so a bad file fails start-up with its name.
    pub fn tls(mut self, files: &TlsFiles) -> Result<Self, ServerError> {
        self.tls = Some(tls::acceptor(files)?);
        self.state.scheme = "https";
        Ok(self)
    }

    /// Routes served beside the built-in ones, behind the same request id, panic catch and
    /// time-out but without the API-key check. Nothing in genesys-bi mounts any: tests use it
    /// to put a panicking or slow handler behind the real middleware.
    pub fn extra_routes(mut self, routes: Router) -> Self {
        self.extra_routes = Some(routes);
        self
    }

    /// Rows per row group of `format=parquet` downloads (default 65 536); smaller groups hold
    /// less in memory per download. Tests use it to get several groups from a small store.
    pub fn parquet_row_group_rows(mut self, rows: usize) -> Self {
        self.state.parquet_row_group_rows = rows.max(1);
        self
    }

    /// Rows an export reads per statement (default 2 000); with the few chunks in flight, this
    /// bounds an export's memory. Tests use it to cut a small store into many chunks.
    pub fn stream_chunk_rows(mut self, rows: u64) -> Self {
        self.state.stream_chunk_rows = rows.max(1);
        self
    }

    /// Appends `render()`'s Prometheus text to `/metrics` at each scrape (the sync's series
    /// when `genesys-bi run --serve` runs both in one process); its names must not clash with
    /// the server's own.
    pub fn with_extra_metrics(
        mut self,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.state.extra_metrics = Some(std::sync::Arc::new(render));
        self
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then gives the answers in flight
    /// `shutdown_timeout` to finish and cuts what is left (logging how many).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let guard = guard::Guard {
            request_timeout: self.limits.request_timeout,
        };
        let app = router(self.state, guard, self.extra_routes);
        serve::serve(self.listener, self.tls, app, self.limits, shutdown).await;
        Ok(())
    }
}

/// Every route and its OpenAPI operation: those anyone may call, and those behind the API key
/// (their operations say so: the key's schemes, and its 401).
fn documented_routes() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let public = OpenApiRouter::with_openapi(routes::openapi::Head::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz));
    let mut protected = OpenApiRouter::new()
        .routes(routes!(routes::status::status))
        .routes(routes!(routes::metrics::metrics))
        .routes(routes!(routes::openapi::openapi))
        .routes(routes!(routes::datasets::list))
        .routes(routes!(routes::rows::rows))
        .routes(routes!(routes::report::report))
        .routes(routes!(routes::connect::powerbi))
        .routes(routes!(routes::connect::excel))
        .merge(odata_routes());
    routes::openapi::behind_key(protected.get_openapi_mut());
    (public, protected)
}

/// The OData feed. Its answers are compressed as they are sent when the client accepts gzip (the
/// `/v1` handlers compress their own, cached, answers).
fn odata_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // `/odata` and `/odata/` are one document; the slash form is the one described.
        .route("/odata", get(odata::routes::service_document))
        .routes(routes!(odata::routes::service_document))
        .routes(routes!(odata::routes::metadata))
        .routes(routes!(odata::routes::entity_set_rows))
        .routes(routes!(odata::routes::entity_set_count))
        .layer(middleware::from_fn(gzip::when_asked))
}

/// The OpenAPI document the server serves at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (public, protected) = documented_routes();
    public.merge(protected).into_openapi()
}

/// The routes behind the request guard (id, time-out, panic catch), counted by `record`
/// outermost, so that timed-out and panicked answers show in /metrics too.
fn router(state: AppState, guard: guard::Guard, extra_routes: Option<Router>) -> Router {
    let (public, protected) = documented_routes();
    let protected = protected
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let (app, document) = public.merge(protected).split_for_parts();
    let app = app
        .fallback(not_found)
        .layer(Extension(routes::openapi::Document::new(&document)))
        .with_state(state.clone());
    let app = match extra_routes {
        Some(extra) => extra.merge(app),
        None => app,
    };
    app.layer(middleware::from_fn_with_state(
        Arc::new(guard),
        guard::guard,
    ))
    .layer(middleware::from_fn_with_state(state, record))
}

async fn not_found(request: Request) -> Response {
    Problem::not_found(request.uri().path()).into_response()
}

/// Counts each request under its route template (bounded labels), with its latency.
async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
