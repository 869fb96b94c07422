//! `check-config`, `sync`, `backfill` and `datasets`, and the [`Pass`] that `run` and `demo`
//! share.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use genesys::client::GenesysClient;
use genesys::interval::format_instant;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use sync::config::{Config, DatasetSpec, DirectoryName};
use sync::engine::{DatasetReport, Engine, Mode, Progress, RowBudget};
use sync::runner::{Busy, PassObserver, Turns, WhenHeld};
use warehouse::{AnyStore, DatasetChange, Store};

use super::context::{
    connected_client, dataset_specs, load_config, open_store, parse_when, store_config,
};
use super::shutdown::stop_on_signals;
use crate::UsageError;
use crate::cli::{BackfillArgs, CheckConfigArgs, ConfigArgs, SyncArgs};

pub async fn check_config(args: CheckConfigArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let store = store_config(&config)?;
    print_paths(&config, &store);
    let specs = dataset_specs(&config, &[])?;
    for spec in &specs {
        let rows = match spec.table_spec().record_kind() {
            Some(records) => format!("{}, one row each", records.plural()),
            None => format!(
                "{} metrics by [{}], {} buckets",
                spec.metrics.len(),
                spec.group_by.join(", "),
                spec.granularity
            ),
        };
        println!(
            "dataset {}: {rows} in {}, windows {}, every {}, lookback {}, settle {}",
            spec.name, spec.time_zone, spec.window, spec.every, spec.lookback, spec.settle
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
    if let Some(lake) = config
        .lake_config()
        .map_err(|e| UsageError(e.to_string()))?
    {
        let only = lake
            .datasets
            .map_or("every dataset".into(), |d| d.join(", "));
        println!("lake: {:?} at {} ({only})", lake.format, lake.location);
    }
    println!(
        "file is valid: {} datasets, directories [{}]",
        specs.len(),
        config
            .directories
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !args.connect {
        println!("credentials not checked: run with --connect to log in and try each endpoint");
        return Ok(());
    }
    super::connect_check::run(&config, &store, client, &specs).await
}

/// Which file was read and the absolute paths it resolved, before anything can fail.
fn print_paths(config: &sync::config::Config, store: &warehouse::StoreConfig) {
    match &config.file {
        Some(file) => println!("config: {}", file.display()),
        None => println!("config: no file found; built-in defaults"),
    }
    match store {
        warehouse::StoreConfig::Sqlite(path) => println!("store: sqlite {}", path.display()),
        other => println!("store: postgres {other}"),
    }
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
    if let Some(reason) = &report.skipped {
        eprintln!("{}: skipped, the others sync: {reason}", report.dataset);
        return;
    }
    let through = report
        .complete_through
        .map(format_instant)
        .unwrap_or_else(|| "-".into());
    let by_job = match report.windows_by_job {
        0 => String::new(),
        n => format!(" ({n} through async jobs)"),
    };
    let restated = match report.rows_changed {
        Some(changed) => format!(", {changed} rows changed since they were pulled"),
        None => String::new(),
    };
    println!(
        "{}: {} of {} windows written{by_job}, {} rows{restated}, complete through {}{}",
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
    if report.windows_waiting > 0 {
        println!(
            "  {} windows are not complete yet (Genesys' data availability is behind them): the next runs pull them again",
            report.windows_waiting
        );
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
        command_instant(gap.start, spec.time_zone.zone()),
        command_instant(gap.end, spec.time_zone.zone())
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

/// A pass as the commands run it: the Genesys client, the configured store, and what it says
/// printed on stdout and stderr.
pub(super) type Pass = sync::runner::Pass<GenesysClient, AnyStore>;

pub(super) use sync::runner::PassEnd;

/// A pass that logs in first, so bad credentials fail fast with a clear hint.
pub(super) async fn connect_pass(
    config: &sync::config::Config,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Pass> {
    pass_with_client(
        connected_client(config).await?,
        config,
        concurrency,
        progress,
    )
}

pub(super) fn pass_with_client(
    client: GenesysClient,
    config: &sync::config::Config,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Pass> {
    let store = open_store(config)?;
    let mut engine = Engine::new(Arc::new(client), store);
    engine.concurrency = concurrency;
    engine.progress = progress;
    engine.budget = RowBudget::new(config.rows_in_flight);
    let printer = Printer {
        config_flag: config_flag(config),
    };
    Ok(Pass::new(engine)
        .observed_by(Arc::new(printer))
        .publishing_to(super::lake::open_lake(config)?))
}

/// Prints what a pass did: each dataset's summary (with the command that fills a gap), waits,
/// and directories.
struct Printer {
    /// `--config <file>` for the commands the summaries suggest, unless plain `genesys-bi`
    /// finds that file by itself.
    config_flag: String,
}

impl PassObserver for Printer {
    fn waiting(&self, busy: &Busy) {
        eprintln!("{busy}; waiting");
    }

    fn also_skipped(&self, busy: &Busy) {
        eprintln!("{busy}");
    }

    fn dataset_done(&self, report: &DatasetReport, spec: &DatasetSpec) {
        print_report(report, spec, &self.config_flag);
    }

    fn directory_done(&self, directory: DirectoryName, entries: usize) {
        println!("directory {directory}: {entries} entries");
    }

    fn published(&self, report: &lake::PublishReport) {
        println!(
            "lake {}: {} windows published ({} rows, {} files)",
            report.dataset, report.windows, report.rows, report.files
        );
    }
}

/// How `sync` and `backfill` share a dataset another process is syncing.
pub(super) fn turns(no_wait: bool, lease_ttl_ms: u64) -> Turns {
    Turns {
        ttl: Duration::from_millis(lease_ttl_ms),
        when_held: if no_wait {
            WhenHeld::Skip
        } else {
            WhenHeld::Wait
        },
        ..Turns::default()
    }
}

/// What `sync` and `restate` start from: the config's datasets (or those asked for), a pass
/// that stops on a signal and takes turns as the flags say, and "now".
struct OnePass {
    config: Config,
    specs: Vec<DatasetSpec>,
    pass: Pass,
    now: Timestamp,
}

async fn one_pass(args: SyncArgs) -> anyhow::Result<OnePass> {
    let config = load_config(&args.config)?;
    let specs = dataset_specs(&config, &args.datasets)?;
    let stop = stop_on_signals()?;
    let pass = connect_pass(&config, args.concurrency, Arc::new(sync::engine::Silent))
        .await?
        .stopping_on(stop)
        .taking_turns(turns(args.no_wait, args.lease_ttl_ms));
    let now = args.now.unwrap_or_else(Timestamp::now);
    Ok(OnePass {
        config,
        specs,
        pass,
        now,
    })
}

pub async fn sync_once(args: SyncArgs) -> anyhow::Result<()> {
    let OnePass {
        config,
        specs,
        pass,
        now,
    } = one_pass(args).await?;
    let end = match pass.directories_unless_stopped(&config.directories).await? {
        true => {
            pass.datasets("sync", &specs, now, Mode::Incremental)
                .await?
        }
        false => PassEnd::Stopped {
            left: "stopped while refreshing the directories; no dataset started".into(),
        },
    };
    if let PassEnd::Stopped { left } = end {
        println!("sync stopped ({left}); the next sync resumes from the watermarks");
    }
    Ok(())
}

/// `restate`: one restatement pass over the datasets (no directories: they are replaced whole
/// by every sync anyway).
pub async fn restate_once(args: SyncArgs) -> anyhow::Result<()> {
    let OnePass {
        specs, pass, now, ..
    } = one_pass(args).await?;
    let end = pass.datasets("restate", &specs, now, Mode::Restate).await?;
    if let PassEnd::Stopped { left } = end {
        println!("restate stopped ({left}); the next restatement pulls those days again");
    }
    Ok(())
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
    let from = parse_when("from", &args.from, spec.time_zone.zone())?;
    let to = match &args.to {
        Some(raw) => parse_when("to", raw, spec.time_zone.zone())?,
        None => now,
    };
    if to <= from {
        return Err(UsageError(format!("--to ({to}) must be after --from ({from})")).into());
    }
    let stop = stop_on_signals()?;
    let client = connected_client(&config).await?;
    let progress = Arc::new(BarProgress::new(client.clone()));
    let pass = pass_with_client(client, &config, args.concurrency, progress.clone())?
        .stopping_on(stop)
        .taking_turns(turns(args.no_wait, args.lease_ttl_ms));
    let outcome = pass
        .datasets(
            "backfill",
            std::slice::from_ref(&spec),
            now,
            Mode::Backfill { from, to },
        )
        .await;
    progress.finish();
    if let PassEnd::Stopped { left } = outcome? {
        println!("backfill stopped ({left}); run the same backfill again to finish the range");
    }
    Ok(())
}

pub async fn datasets(args: ConfigArgs) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let store = open_store(&config)?;
    let now = Timestamp::now();
    println!(
        "{:<24} {:<26} {:>10} {:>12} {:>8}  {:<26} LAST RESTATEMENT",
        "DATASET", "COMPLETE THROUGH", "LAG", "ROWS", "WINDOWS", "LAST WRITE"
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
        let restated = match status.restated {
            Some((at, changed)) => format!("{} ({changed} rows changed)", format_instant(at)),
            None => "-".into(),
        };
        println!(
            "{:<24} {:<26} {:>10} {:>12} {:>8}  {:<26} {}",
            status.name, through, lag, status.rows, status.windows, last, restated
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
