//! `genesys-bi lake verify | export`: the Parquet lake checked against the store, or a range of
//! history (re)written into it with a progress bar. `sync` and `run` keep it current; these are
//! for checking it and for rewriting history on purpose.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sync::config::Config;
use sync::runner::{Turn, Turns, take_turn};
use warehouse::{AnyStore, Store};

use super::context::{dataset_specs, load_config, open_store, parse_when, store_config};
use crate::UsageError;
use crate::cli::ConfigArgs;

#[derive(Debug, Clone, Args)]
pub struct LakeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(subcommand)]
    pub command: LakeCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LakeCommand {
    /// Check each dataset's manifest, files and store against each other: every window the
    /// store has is published as the store last wrote it, every file the manifest names is
    /// there with its row count, no data file is outside the manifest. Exit 1 on any problem.
    Verify {
        /// Only these datasets (repeatable; default: every dataset the lake takes).
        #[arg(long = "dataset", value_name = "NAME")]
        datasets: Vec<String>,
    },
    /// Publish again every window the store has in a range, whatever the lake holds, under the
    /// dataset's lease, with a progress bar; then catch up on any window the lake lacks.
    Export {
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// Start: an instant (2024-05-01T00:00:00Z) or a date (local midnight of the dataset).
        #[arg(long, value_name = "WHEN")]
        from: String,
        /// End (exclusive), as --from.
        #[arg(long, value_name = "WHEN")]
        to: String,
    },
}

pub async fn run(args: LakeArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let lake = open_lake(&config)?.ok_or_else(|| {
        UsageError("the config has no [lake] section: set `[lake] path` first".into())
    })?;
    let store = open_store(&config)?;
    match args.command {
        LakeCommand::Verify { datasets } => verify(&config, &lake, store, &datasets).await,
        LakeCommand::Export { dataset, from, to } => {
            let spec = dataset_specs(&config, std::slice::from_ref(&dataset))?.remove(0);
            let from = parse_when("from", &from, spec.time_zone.zone())?;
            let to = parse_when("to", &to, spec.time_zone.zone())?;
            if to <= from {
                return Err(
                    UsageError(format!("--to ({to}) must be after --from ({from})")).into(),
                );
            }
            if !lake.includes(&dataset) {
                return Err(UsageError(format!("`[lake] datasets` leaves out `{dataset}`")).into());
            }
            export(&lake, store, &dataset, genesys::Interval::new(from, to)).await
        }
    }
}

/// The lake `[lake]` configures, over the configuration's store; `None` without `[lake]`.
pub fn open_lake(config: &Config) -> anyhow::Result<Option<Arc<lake::Lake>>> {
    let Some(settings) = config
        .lake_config()
        .map_err(|e| UsageError(e.to_string()))?
    else {
        return Ok(None);
    };
    let reader = warehouse::open_reader(&store_config(config)?).context("opening the store")?;
    let lake = lake::Lake::open(settings.location.clone(), reader, settings.datasets)
        .with_context(|| format!("opening the lake {}", settings.location))?;
    Ok(Some(Arc::new(lake)))
}

async fn verify(
    config: &Config,
    lake: &lake::Lake,
    store: Arc<AnyStore>,
    only: &[String],
) -> anyhow::Result<()> {
    let specs = dataset_specs(config, only)?;
    let mut problems = 0;
    for spec in specs.iter().filter(|s| lake.includes(&s.name)) {
        let report = lake
            .verify(Arc::clone(&store) as Arc<dyn Store>, &spec.name)
            .await
            .with_context(|| format!("verifying dataset `{}`", spec.name))?;
        for problem in &report.problems {
            println!("{}: {problem}", spec.name);
        }
        println!(
            "{}: {} windows in the store, {} files and {} rows in the lake, {}",
            spec.name,
            report.windows,
            report.files,
            report.rows,
            match report.problems.len() {
                0 => "consistent".to_string(),
                n => format!("{n} problem(s)"),
            }
        );
        problems += report.problems.len();
    }
    if problems > 0 {
        anyhow::bail!(
            "the lake {} disagrees with the store in {problems} place(s); `genesys-bi lake export` over their range repairs them",
            lake.location()
        );
    }
    Ok(())
}

async fn export(
    lake: &lake::Lake,
    store: Arc<AnyStore>,
    dataset: &str,
    range: genesys::Interval,
) -> anyhow::Result<()> {
    let turn = take_turn(
        &store,
        dataset,
        &Turns::default(),
        &sync::stop::Stop::never(),
        |busy| eprintln!("{busy}; waiting"),
    )
    .await?;
    let Turn::Mine(held) = turn else {
        anyhow::bail!("dataset `{dataset}`: no turn was given");
    };
    let writer = Arc::clone(&store) as Arc<dyn Store>;
    let windows = lake
        .pending(Arc::clone(&writer), dataset, Some(range))
        .await?;
    let bar = bar(dataset, windows.len());
    let rows = std::sync::atomic::AtomicU64::new(0);
    let exported = lake
        .export(
            writer,
            dataset,
            range,
            Some(held.token().token),
            &|published| {
                let total = rows.fetch_add(published.rows, std::sync::atomic::Ordering::Relaxed)
                    + published.rows;
                bar.inc(1);
                bar.set_message(format!("{total} rows"));
            },
        )
        .await;
    bar.finish_and_clear();
    held.release().await?;
    let report = exported.with_context(|| format!("exporting dataset `{dataset}` to the lake"))?;
    println!(
        "lake {dataset}: {} windows published ({} rows, {} files, {} bytes), {} stale files removed; complete through {}",
        report.windows,
        report.rows,
        report.files,
        report.bytes,
        report.removed,
        report
            .complete_through
            .map_or_else(|| "-".to_string(), |t| t.to_string()),
    );
    Ok(())
}

/// Windows done/total, rows and ETA on stderr (hidden when not a terminal).
fn bar(dataset: &str, windows: usize) -> ProgressBar {
    let bar = ProgressBar::new(windows as u64);
    let style = ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:30}] {pos}/{len} windows  {msg}  ETA {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(dataset.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
