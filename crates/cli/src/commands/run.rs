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
use jiff::Timestamp;
use server::Server;
use sync::config::{Config, DatasetSpec};
use sync::engine::Mode;
use sync::metrics::{SyncExporter, render_watermark_lag};
use sync::runner::{self, PassError, ScheduledPasses, Turns, WhenHeld};
use sync::stop::Stop;
use tokio::net::TcpListener;
use warehouse::{ReadStore, Store};

use super::context::{dataset_specs, load_config};
use super::shutdown::stop_on_signals;
use super::sync::{Pass, PassEnd, connect_pass};
use crate::UsageError;
use crate::cli::RunArgs;

fn directories_every(config: &Config) -> anyhow::Result<jiff::SignedDuration> {
    config
        .directories_every()
        .map_err(|message| UsageError(format!("directories_every: {message}")).into())
}

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
    let pass = connect_pass(
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
        println!("GENESYS_BI_URL={}", super::serve::url(&server, listen));
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
                store: warehouse::open_reader(&super::context::store_config(&config)?)?,
                datasets: specs.iter().map(|s| s.name.clone()).collect(),
            };
            Some(serve_metrics(listener, export, stop.clone()))
        }
        None => None,
    };
    let (scheduled, served, exported) = tokio::join!(
        async {
            let passes = Scheduled {
                pass: &pass,
                config: &config,
            };
            let every = directories_every(&config)?;
            let restated = last_restated(&config, &specs)?;
            let scheduled =
                runner::schedule(&passes, &specs, &restated, every, args.sync.now, &stop);
            anyhow::Ok(scheduled.await)
        },
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

/// When each dataset was last restated whole, as the store keeps it: a restarted `run` goes on
/// with the restatements where the last process left them.
fn last_restated(config: &Config, specs: &[DatasetSpec]) -> anyhow::Result<Vec<Option<Timestamp>>> {
    let status = super::context::open_store(config)?
        .dataset_status()
        .context("reading when the datasets were last restated")?;
    let restated = |name: &str| {
        let found = status.iter().find(|s| s.name == name);
        found.and_then(|s| s.restated).map(|(at, _)| at)
    };
    Ok(specs.iter().map(|spec| restated(&spec.name)).collect())
}

/// The BI server as `serve` builds it (`[server]`: HTTPS, limits, shutdown), on `--serve`'s address.
async fn bind_server(config: &Config, listen: SocketAddr) -> anyhow::Result<(Server, SocketAddr)> {
    let mut settings = super::serve::server_settings(&config.server)?;
    settings.listen = listen;
    let store = super::context::store_config(config)?;
    let server = super::serve::build(&store, &settings)
        .await
        .context("--serve")?;
    Ok((server, listen))
}

/// Owns its `Stop`, so the server can hold the future for as long as it serves.
async fn stopped(stop: Stop) {
    stop.stopped().await
}

/// `run`'s passes, for [`sync::runner::schedule`]: failures are printed and the schedule
/// goes on; a dataset another process holds is left to it until its next turn.
struct Scheduled<'a> {
    pass: &'a Pass,
    config: &'a Config,
}

impl ScheduledPasses for Scheduled<'_> {
    async fn directories(&self) -> PassEnd {
        match self
            .pass
            .directories_unless_stopped(&self.config.directories)
            .await
        {
            Ok(true) => PassEnd::Finished,
            Ok(false) => PassEnd::Stopped {
                left: "the directories".into(),
            },
            Err(e) => {
                eprintln!("directories: {e:#}");
                PassEnd::Finished
            }
        }
    }

    async fn dataset(&self, spec: &DatasetSpec, now: Timestamp) -> PassEnd {
        self.pass_over(spec, now, Mode::Incremental).await
    }

    async fn restatement(&self, spec: &DatasetSpec, now: Timestamp) -> PassEnd {
        self.pass_over(spec, now, Mode::Restate).await
    }
}

impl Scheduled<'_> {
    async fn pass_over(&self, spec: &DatasetSpec, now: Timestamp, mode: Mode) -> PassEnd {
        let command = match mode {
            Mode::Restate => "run restate",
            Mode::Incremental | Mode::Backfill { .. } => "run",
        };
        let outcome = self
            .pass
            .datasets(command, std::slice::from_ref(spec), now, mode)
            .await;
        match outcome {
            Ok(end) => end,
            Err(e) => {
                match e {
                    PassError::Busy(busy) => println!("{busy}; skipped until its next turn"),
                    e => eprintln!("{}: {e}", spec.name),
                }
                PassEnd::Finished
            }
        }
    }
}

/// What `--metrics-listen` serves: the sync's series, and the watermark lag read from the
/// store at scrape time (on a read-only connection, so a scrape never waits on a write).
struct MetricsExport {
    sync: SyncExporter,
    store: Arc<dyn ReadStore>,
    datasets: Vec<String>,
}

impl MetricsExport {
    fn watermarks(&self) -> warehouse::Result<Vec<(String, Option<Timestamp>)>> {
        let session = self.store.session()?;
        self.datasets
            .iter()
            .map(|name| {
                let mark = session.dataset(name)?.and_then(|d| d.complete_through);
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
