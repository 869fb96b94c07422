//! `genesys-bi run`: every dataset on its schedule until SIGTERM or Ctrl-C, optionally with
//! the BI server (`--serve`) or a bare Prometheus endpoint (`--metrics-listen`) in the same
//! process. One signal stops them all: the server stops accepting and drains, the sync stops
//! as [`sync::engine`] describes, and the process exits 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};
use server::{Server, ServerConfig};
use sync::config::{Config, DatasetSpec};
use sync::engine::Mode;
use sync::metrics::{SyncExporter, render_watermark_lag};
use sync::runner::{Busy, Turns, WhenHeld};
use sync::stop::Stop;
use tokio::net::TcpListener;
use warehouse::read::Reader;

use super::context::{dataset_specs, load_config};
use super::shutdown::stop_on_signals;
use super::sync::{Pass, PassEnd};
use crate::cli::RunArgs;

/// How often the queue, user and wrap-up code names are refreshed.
const DIRECTORIES_EVERY: SignedDuration = SignedDuration::from_hours(6);

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = load_config(&args.sync.config)?;
    let specs = dataset_specs(&config, &args.sync.datasets)?;
    let stop = stop_on_signals()?;
    // Bind first: a busy port should fail in a second, before any login.
    let server = match args.serve {
        Some(listen) => Some(bind_server(&config, listen).await?),
        None => None,
    };
    let metrics_listener = match args.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics-listen: listening on {addr}"))?,
        ),
        None => None,
    };
    let pass = Pass::connect(
        &config,
        args.sync.concurrency,
        Arc::new(sync::engine::Silent),
    )
    .await?
    .stopping_on(stop.clone())
    .taking_turns(Turns {
        ttl: Duration::from_millis(args.sync.lease_ttl_ms),
        when_held: WhenHeld::Skip,
        ..Turns::default()
    });
    println!(
        "running {} datasets on their schedules; SIGTERM or Ctrl-C stops",
        specs.len()
    );
    let serving = server.map(|(server, listen)| {
        // Machine-readable, like `serve`: tests and scripts read the address from it.
        println!("GENESYS_BI_URL=http://{}:{}", listen.ip(), server.port());
        let exporter = pass.exporter();
        server
            .with_extra_metrics(move || exporter.render())
            .run_until(stopped(stop.clone()))
    });
    let exporting = match metrics_listener {
        Some(listener) => {
            let local = listener
                .local_addr()
                .context("--metrics-listen: local address")?;
            println!("GENESYS_BI_METRICS_URL=http://{local}/metrics");
            let export = MetricsExport {
                sync: pass.exporter(),
                store: Reader::new(&config.store.sqlite),
                datasets: specs.iter().map(|s| s.name.clone()).collect(),
            };
            Some(serve_metrics(listener, export, stop.clone()))
        }
        None => None,
    };
    let (scheduled, served, exported) = tokio::join!(
        schedule(&pass, &config, &specs, args.sync.now),
        async {
            match serving {
                Some(serving) => serving.await.context("serving the BI API"),
                None => Ok(()),
            }
        },
        async {
            match exporting {
                Some(exporting) => exporting.await.context("serving --metrics-listen"),
                None => Ok(()),
            }
        },
    );
    let stopped_line = scheduled?;
    served?;
    exported?;
    println!("{stopped_line}");
    Ok(())
}

async fn bind_server(config: &Config, listen: SocketAddr) -> anyhow::Result<(Server, SocketAddr)> {
    let server = Server::build(ServerConfig {
        store: config.store.sqlite.clone(),
        listen,
    })
    .await
    .context("--serve: starting the BI server")?;
    Ok((server, listen))
}

/// Owns its `Stop`, so the server can hold the future for as long as it serves.
async fn stopped(stop: Stop) {
    stop.stopped().await
}

/// Runs each dataset when due until a stop; returns the line that says what was stopped.
async fn schedule(
    pass: &Pass,
    config: &Config,
    specs: &[DatasetSpec],
    fixed_now: Option<Timestamp>,
) -> anyhow::Result<String> {
    let stop = pass.stop().clone();
    let between_passes = "run stopped between passes (nothing was in flight)".to_string();
    let mut due: Vec<Timestamp> = specs.iter().map(|_| Timestamp::now()).collect();
    let mut directories_due = Timestamp::now();
    loop {
        let next = due
            .iter()
            .copied()
            .min()
            .unwrap_or_else(Timestamp::now)
            .min(directories_due);
        let wait = Timestamp::now()
            .duration_until(next)
            .try_into()
            .unwrap_or(Duration::ZERO);
        tokio::select! {
            biased;
            () = stop.stopped() => return Ok(between_passes),
            () = tokio::time::sleep(wait) => {}
        }
        let now = Timestamp::now();
        if directories_due <= now {
            match pass.directories_unless_stopped(&config.directories).await {
                Ok(true) => {}
                Ok(false) => {
                    return Ok(
                        "run stopped while refreshing the directories (each is replaced whole or not at all)"
                            .into(),
                    );
                }
                Err(e) => eprintln!("directories: {e:#}"),
            }
            directories_due = now + DIRECTORIES_EVERY;
        }
        for (spec, due_at) in specs.iter().zip(due.iter_mut()) {
            if *due_at > now {
                continue;
            }
            if stop.is_stopped() {
                return Ok(between_passes);
            }
            let pass_now = fixed_now.unwrap_or(now);
            match pass
                .datasets(
                    "run",
                    std::slice::from_ref(spec),
                    pass_now,
                    Mode::Incremental,
                )
                .await
            {
                Ok(PassEnd::Finished) => {}
                Ok(PassEnd::Stopped { left }) => {
                    return Ok(format!(
                        "run stopped ({left}); the next run resumes from the watermark"
                    ));
                }
                Err(e) => match e.downcast_ref::<Busy>() {
                    Some(busy) => println!("{busy}; skipped until its next turn"),
                    None => eprintln!("{}: {e:#}", spec.name),
                },
            }
            *due_at = now + spec.every;
        }
    }
}

/// What `--metrics-listen` serves: the sync's series, and the watermark lag read from the
/// store at scrape time (on a read-only connection, so a scrape never waits on a write).
struct MetricsExport {
    sync: SyncExporter,
    store: Reader,
    datasets: Vec<String>,
}

impl MetricsExport {
    fn watermarks(&self) -> warehouse::Result<Vec<(String, Option<Timestamp>)>> {
        let connection = self.store.connect()?;
        self.datasets
            .iter()
            .map(|name| {
                let mark =
                    warehouse::read::dataset(&connection, name)?.and_then(|d| d.complete_through);
                Ok((name.clone(), mark))
            })
            .collect()
    }
}

async fn serve_metrics(
    listener: TcpListener,
    export: MetricsExport,
    stop: Stop,
) -> std::io::Result<()> {
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(Arc::new(export));
    axum::serve(listener, router)
        .with_graceful_shutdown(stopped(stop))
        .await
}

async fn scrape(State(export): State<Arc<MetricsExport>>) -> impl IntoResponse {
    let mut text = export.sync.render();
    let reading = Arc::clone(&export);
    match tokio::task::spawn_blocking(move || reading.watermarks()).await {
        Ok(Ok(marks)) => render_watermark_lag(&mut text, &marks, Timestamp::now()),
        // The other series still help; a failed scrape would hide them all.
        Ok(Err(e)) => tracing::warn!(error = %e, "Could not read the watermarks for /metrics."),
        Err(e) => tracing::warn!(error = %e, "Reading the watermarks for /metrics stopped."),
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}
