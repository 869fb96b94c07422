//! `genesys-bi demo`: the whole product on a fresh machine. An emulated Genesys Cloud in
//! process, the default datasets synced from it into an embedded store, and the BI server on top,
//! kept fresh every few minutes until Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use emulator::config::EmulatorConfig;
use emulator::server::Emulator;
use jiff::Timestamp;
use server::{Server, ServerConfig};
use sync::config::Config;
use sync::engine::Mode;
use warehouse::Store;

use super::context::{connected_client, dataset_specs};
use super::sync::{BarProgress, pass_with_client};
use crate::cli::DemoArgs;

/// How often the demo pulls fresh data from its emulator while serving.
const REFRESH: Duration = Duration::from_secs(300);

fn demo_config(
    dir: &Path,
    api_base: &str,
    client_id: &str,
    client_secret: &str,
    days: u32,
    record_days: u32,
) -> anyhow::Result<Config> {
    // Relative to the config file's folder, so the file works from any working directory.
    let text = format!(
        "# Written by `genesys-bi demo`: the emulator it points at lives only while the demo runs.\n\
         [genesys]\napi_base = {api_base:?}\nclient_id = {client_id:?}\nclient_secret = {client_secret:?}\n\n\
         [store]\nsqlite = \"genesys-bi.db\"\n"
    );
    let file = dir.join("genesys-bi.toml");
    std::fs::write(&file, &text).context("writing the demo config")?;
    let mut config = Config::read(&file)?;
    for dataset in &mut config.datasets {
        let days = match dataset.kind.holds_records() {
            true => record_days.min(days),
            false => days,
        };
        dataset.backfill_start = format!("P{days}D");
    }
    Ok(config)
}

fn print_ready(url: &str, key: &str, store: &Path) {
    let rows = format!(
        "{url}/v1/datasets/queue_performance/rows?granularity=P1D&group_by=queueId&names=true"
    );
    println!();
    println!("genesys-bi demo is ready (store: {}).", store.display());
    println!("  Status page:      {url}/   (user name: anything, password: the API key)");
    println!("  API key:          {key}");
    println!("  Datasets:         curl -H 'Authorization: Bearer {key}' {url}/v1/datasets");
    println!("  Daily by queue:   curl -H 'Authorization: Bearer {key}' '{rows}&format=csv'");
    println!(
        "  Report:           curl -H 'Authorization: Bearer {key}' '{url}/v1/report?dataset=queue_performance'"
    );
    println!("  OpenAPI:          curl -H 'Authorization: Bearer {key}' {url}/openapi.json");
    println!(
        "  Power BI / Excel: Get Data > OData Feed, URL {url}/odata  (Basic: user name anything,"
    );
    println!(
        "                    password: the API key), or Get Data > Web, URL {rows}&format=csv"
    );
    println!("Press Ctrl-C to stop.");
    println!("GENESYS_BI_URL={url}");
    println!("GENESYS_BI_API_KEY={key}");
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let emulator = Emulator::build(EmulatorConfig {
        port: 0,
        seed: args.seed,
        ..EmulatorConfig::default()
    })
    .await
    .context("starting the emulated Genesys Cloud")?
    .spawn();
    eprintln!(
        "Emulated Genesys Cloud at {} (25 queues, 200 agents).",
        emulator.base_url()
    );
    let config = demo_config(
        &args.dir,
        emulator.base_url(),
        emulator.client_id(),
        emulator.client_secret(),
        args.days,
        args.record_days,
    )?;
    let specs = dataset_specs(&config, &[])?;
    // Bind first: a busy port should fail in a second, not after the sync.
    let store = config.store.sqlite.clone();
    let server = Server::build(ServerConfig {
        store: warehouse::StoreConfig::sqlite(&store),
        listen: args.listen,
    })
    .await
    .context("starting the BI server")?;

    let client = connected_client(&config).await?;
    let progress = Arc::new(BarProgress::new(client.clone()));
    let pass = pass_with_client(client, &config, 4, progress.clone())?;
    eprintln!(
        "Syncing {} days of {} datasets, {} of the record datasets (paced at 300 requests a minute, like Genesys).",
        args.days,
        specs.len(),
        args.record_days.min(args.days)
    );
    pass.directories(&config.directories).await?;
    let synced = pass
        .datasets("demo", &specs, Timestamp::now(), Mode::Incremental)
        .await;
    progress.finish();
    synced?;

    let key = warehouse::open(&warehouse::StoreConfig::sqlite(&store))?
        .create_key("demo")
        .context("creating the demo API key")?;
    let listen: SocketAddr = args.listen;
    let url = format!("http://{}:{}", listen.ip(), server.port());
    print_ready(&url, &key.secret, &store);

    let refresh = async {
        loop {
            tokio::time::sleep(REFRESH).await;
            if let Err(e) = pass
                .datasets("demo", &specs, Timestamp::now(), Mode::Incremental)
                .await
            {
                eprintln!("refresh failed: {e:#}");
            }
        }
    };
    tokio::select! {
        served = server.run_until(super::serve::stopped()) => served.context("serving")?,
        () = refresh => {}
    }
    emulator.stop().await.context("stopping the emulator")?;
    Ok(())
}
