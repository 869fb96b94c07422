//! `check-config`, `sync`, `backfill`, `run` and `datasets`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use genesys::client::GenesysClient;
use genesys::interval::format_instant;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use sync::config::DatasetSpec;
use sync::engine::{DatasetReport, Engine, Mode, Progress, sync_directory};
use warehouse::{DatasetChange, RunSummary, SqliteStore, Store};

use super::context::{connected_client, dataset_specs, load_config, open_store, parse_when};
use crate::UsageError;
use crate::cli::{BackfillArgs, CheckConfigArgs, ConfigArgs, SyncArgs};

pub async fn check_config(args: CheckConfigArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    print_paths(&config);
    let specs = dataset_specs(&config, &[])?;
    for spec in &specs {
        println!(
            "dataset {}: {} metrics by [{}], {} buckets in {}, windows {}, every {}, lookback {}, settle {}",
            spec.name,
            spec.metrics.len(),
            spec.group_by.join(", "),
            spec.granularity,
            spec.time_zone_name,
            spec.window,
            spec.every,
            spec.lookback,
            spec.settle
        );
    }
    let client = config
        .client_config(|key| std::env::var(key).ok())
        .map_err(|e| UsageError(e.to_string()))?;
    let server = config
        .server
        .settings()
        .map_err(|e| UsageError(e.to_string()))?;
    let endpoints = client
        .endpoints()
        .context("resolving the Genesys endpoints")?;
    println!(
        "genesys: client {} at {} (login {})",
        client.client_id, endpoints.api_base, endpoints.login_base
    );
    println!(
        "server: {} on {}",
        if server.tls.is_some() {
            "https"
        } else {
            "http"
        },
        server.listen
    );
    println!(
        "file is valid: {} datasets, directories [{}]",
        specs.len(),
        config.directories.join(", ")
    );
    if !args.connect {
        println!("credentials not checked: run with --connect to log in and try each endpoint");
        return Ok(());
    }
    super::connect_check::run(&config, client, &specs).await
}

/// Which file was read and the absolute paths it resolved, before anything can fail.
fn print_paths(config: &sync::config::Config) {
    match &config.file {
        Some(file) => println!("config: {}", file.display()),
        None => println!("config: no file found; built-in defaults"),
    }
    println!("store: sqlite {}", config.store.sqlite.display());
    if let Some(cert) = &config.server.tls_cert {
        println!("server: tls_cert {}", cert.display());
    }
    if let Some(key) = &config.server.tls_key {
        println!("server: tls_key {}", key.display());
    }
}

fn describe_change(change: &DatasetChange) -> String {
    match change {
        DatasetChange::Created => " (table created)".into(),
        DatasetChange::Unchanged => String::new(),
        DatasetChange::Migrated { added, dropped } => {
            format!(
                " (migrated: added {added:?}, dropped {dropped:?}; history is pulled again for added metrics)"
            )
        }
        DatasetChange::Rebuilt { reason } => {
            format!(" (rebuilt: {reason}; history is pulled again)")
        }
    }
}

fn print_report(report: &DatasetReport, spec: &DatasetSpec, config_flag: &str) {
    let through = report
        .complete_through
        .map(format_instant)
        .unwrap_or_else(|| "-".into());
    let by_job = match report.windows_by_job {
        0 => String::new(),
        n => format!(" ({n} through async jobs)"),
    };
    println!(
        "{}: {} of {} windows written{by_job}, {} rows, complete through {}{}",
        report.dataset,
        report.windows_written,
        report.windows_planned,
        report.rows_written,
        through,
        describe_change(&report.change)
    );
    for (window, error) in &report.failures {
        eprintln!("  window {window} failed: {error}");
    }
    if let Some(gap) = report.gap {
        print_gap(gap, spec, config_flag);
    }
}

/// Why "complete through" stops short, and the command that fills the gap.
fn print_gap(gap: genesys::Interval, spec: &DatasetSpec, config_flag: &str) {
    println!(
        "  gap: nothing is stored from {} to {}, so the dataset is complete only through its start; fill it with:",
        format_instant(gap.start),
        format_instant(gap.end),
    );
    println!(
        "    genesys-bi backfill{config_flag} --dataset {} --from {} --to {}",
        spec.name,
        command_instant(gap.start, &spec.time_zone),
        command_instant(gap.end, &spec.time_zone)
    );
}

/// ` --config <file>` when the config was read from a file other than `./genesys-bi.toml`.
fn config_flag(config: &sync::config::Config) -> String {
    let found_by_default = std::fs::canonicalize(sync::config::DEFAULT_CONFIG_FILE).ok();
    match &config.file {
        Some(file) if found_by_default.as_ref() != Some(file) => {
            let path = file.display().to_string();
            if path.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                // Single quotes keep everything but a single quote, written '\''.
                format!(" --config '{}'", path.replace('\'', r"'\''"))
            } else {
                format!(" --config {path}")
            }
        }
        _ => String::new(),
    }
}

/// A date where the instant is local midnight (as `--from`/`--to` read dates), else the instant.
fn command_instant(instant: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let local = instant.to_zoned_datetime(tz.clone());
    if local.time() == jiff::civil::Time::midnight() {
        local.date().to_string()
    } else {
        format_instant(instant)
    }
}

pub(super) struct Pass {
    client: GenesysClient,
    store: Arc<SqliteStore>,
    engine: Engine<GenesysClient, SqliteStore>,
    /// `--config <file>` for the commands the summaries suggest, unless plain `genesys-bi`
    /// finds that file by itself.
    config_flag: String,
}

impl Pass {
    async fn connect(
        config: &sync::config::Config,
        concurrency: usize,
        progress: Arc<dyn Progress>,
    ) -> anyhow::Result<Pass> {
        Self::with_client(
            connected_client(config).await?,
            config,
            concurrency,
            progress,
        )
    }

    pub(super) fn with_client(
        client: GenesysClient,
        config: &sync::config::Config,
        concurrency: usize,
        progress: Arc<dyn Progress>,
    ) -> anyhow::Result<Pass> {
        let store = open_store(config)?;
        let mut engine = Engine::new(Arc::new(client.clone()), Arc::clone(&store));
        engine.concurrency = concurrency;
        engine.progress = progress;
        Ok(Pass {
            client,
            store,
            engine,
            config_flag: config_flag(config),
        })
    }

    pub(super) async fn directories(&self, names: &[String]) -> anyhow::Result<()> {
        for name in names {
            let count = sync_directory(&self.client, self.store.as_ref(), name).await?;
            println!("directory {name}: {count} entries");
        }
        Ok(())
    }

    /// Runs the datasets, records the run, and fails if any window failed.
    pub(super) async fn datasets(
        &self,
        command: &str,
        specs: &[DatasetSpec],
        now: Timestamp,
        mode: Mode,
    ) -> anyhow::Result<()> {
        let run_id = self.store.start_run(command)?;
        let requests_before = self.client.counters().requests_sent;
        let mut summary = RunSummary {
            status: "ok".into(),
            ..RunSummary::default()
        };
        let mut failed = 0;
        for spec in specs {
            match self
                .engine
                .sync_dataset_in_run(spec, now, mode, Some(run_id))
                .await
            {
                Ok(report) => {
                    print_report(&report, spec, &self.config_flag);
                    summary.windows += report.windows_written as u64;
                    summary.rows += report.rows_written as u64;
                    failed += report.failures.len();
                }
                Err(e) => {
                    summary.status = "failed".into();
                    summary.error = Some(e.to_string());
                    summary.requests = self.client.counters().requests_sent - requests_before;
                    self.store.finish_run(run_id, &summary)?;
                    return Err(e.into());
                }
            }
        }
        summary.requests = self.client.counters().requests_sent - requests_before;
        if failed > 0 {
            summary.status = "partial".into();
            summary.error = Some(format!("{failed} window(s) failed"));
        }
        self.store.finish_run(run_id, &summary)?;
        if failed > 0 {
            anyhow::bail!(
                "{failed} window(s) failed; their watermarks stay before them and the next run retries them"
            );
        }
        Ok(())
    }
}

pub async fn sync_once(args: SyncArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let specs = dataset_specs(&config, &args.datasets)?;
    let pass = Pass::connect(&config, args.concurrency, Arc::new(sync::engine::Silent)).await?;
    pass.directories(&config.directories).await?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    pass.datasets("sync", &specs, now, Mode::Incremental).await
}

/// Windows done/total, rows, requests, 429s and ETA on stderr (hidden when not a terminal).
pub(super) struct Bar {
    bar: ProgressBar,
    client: GenesysClient,
}

impl Bar {
    pub(super) fn new(client: GenesysClient) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:30}] {pos}/{len} windows  {msg}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar, client }
    }

    fn refresh(&self, rows: u64) {
        let counters = self.client.counters();
        self.bar.set_message(format!(
            "{rows} rows  {} requests  {} × 429",
            counters.requests_sent, counters.rate_limited
        ));
    }
}

pub(super) struct BarProgress {
    bar: Bar,
    rows: std::sync::atomic::AtomicU64,
}

impl BarProgress {
    pub(super) fn new(client: GenesysClient) -> Self {
        Self {
            bar: Bar::new(client),
            rows: Default::default(),
        }
    }

    pub(super) fn finish(&self) {
        self.bar.bar.finish_and_clear();
    }
}

impl Progress for BarProgress {
    fn planned(&self, dataset: &str, windows: usize) {
        self.bar.bar.set_prefix(dataset.to_string());
        self.bar.bar.set_length(windows as u64);
        self.bar.bar.set_position(0);
        self.bar.refresh(0);
    }

    fn window_written(&self, _dataset: &str, _window: &genesys::Interval, rows: usize) {
        let total = self
            .rows
            .fetch_add(rows as u64, std::sync::atomic::Ordering::Relaxed)
            + rows as u64;
        self.bar.bar.inc(1);
        self.bar.refresh(total);
    }

    fn window_failed(&self, _dataset: &str, window: &genesys::Interval, error: &str) {
        self.bar
            .bar
            .suspend(|| eprintln!("window {window} failed: {error}"));
        self.bar.bar.inc(1);
    }
}

pub async fn backfill(args: BackfillArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let spec = dataset_specs(&config, std::slice::from_ref(&args.dataset))?.remove(0);
    let now = args.now.unwrap_or_else(Timestamp::now);
    let from = parse_when("from", &args.from, &spec.time_zone)?;
    let to = match &args.to {
        Some(raw) => parse_when("to", raw, &spec.time_zone)?,
        None => now,
    };
    if to <= from {
        return Err(UsageError(format!("--to ({to}) must be after --from ({from})")).into());
    }
    let client = connected_client(&config).await?;
    let progress = Arc::new(BarProgress::new(client.clone()));
    let pass = Pass::with_client(client, &config, args.concurrency, progress.clone())?;
    let outcome = pass
        .datasets(
            "backfill",
            std::slice::from_ref(&spec),
            now,
            Mode::Backfill { from, to },
        )
        .await;
    progress.finish();
    outcome
}

pub async fn run_scheduler(args: SyncArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let specs = dataset_specs(&config, &args.datasets)?;
    let pass = Pass::connect(&config, args.concurrency, Arc::new(sync::engine::Silent)).await?;
    let mut due: Vec<Timestamp> = specs.iter().map(|_| Timestamp::now()).collect();
    let mut directories_due = Timestamp::now();
    println!(
        "running {} datasets on their schedules; Ctrl-C stops",
        specs.len()
    );
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
        let shutdown = tokio::signal::ctrl_c();
        tokio::select! {
            _ = shutdown => break,
            _ = tokio::time::sleep(wait) => {}
        }
        let now = Timestamp::now();
        let work = async {
            if directories_due <= now {
                if let Err(e) = pass.directories(&config.directories).await {
                    eprintln!("directories: {e:#}");
                }
                directories_due = now + SignedDuration::from_hours(6);
            }
            for (spec, due_at) in specs.iter().zip(due.iter_mut()) {
                if *due_at <= now {
                    if let Err(e) = pass
                        .datasets("run", std::slice::from_ref(spec), now, Mode::Incremental)
                        .await
                    {
                        eprintln!("{}: {e:#}", spec.name);
                    }
                    *due_at = now + spec.every;
                }
            }
        };
        tokio::select! {
            // Abandoning a pass drops its fetches; a window already being written commits whole.
            _ = tokio::signal::ctrl_c() => break,
            () = work => {}
        }
    }
    println!("stopped");
    Ok(())
}

pub async fn datasets(args: ConfigArgs) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let store = open_store(&config)?;
    let now = Timestamp::now();
    println!(
        "{:<24} {:<26} {:>10} {:>12} {:>8}  LAST WRITE",
        "DATASET", "COMPLETE THROUGH", "LAG", "ROWS", "WINDOWS"
    );
    for status in store.dataset_status()? {
        let through = status
            .complete_through
            .map(format_instant)
            .unwrap_or_else(|| "-".into());
        let lag = status
            .complete_through
            .map(|t| human_lag(now.duration_since(t)))
            .unwrap_or_else(|| "-".into());
        let last = status
            .last_written_at
            .map(format_instant)
            .unwrap_or_else(|| "never".into());
        println!(
            "{:<24} {:<26} {:>10} {:>12} {:>8}  {}",
            status.name, through, lag, status.rows, status.windows, last
        );
    }
    Ok(())
}

fn human_lag(lag: SignedDuration) -> String {
    let minutes = lag.as_secs() / 60;
    match minutes {
        m if m < 0 => "ahead".into(),
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} d", m / (24 * 60)),
    }
}
