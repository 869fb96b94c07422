//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;

#[derive(Debug, Parser)]
#[command(
    name = "genesys-bi",
    version,
    about = "Genesys Cloud contact-centre analytics for BI tools"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole product on this machine: an emulated Genesys Cloud, the default datasets
    /// synced from it into ./genesys-bi-demo/, and the BI server on top, with a ready API key
    /// and copy-paste curl and Power BI/Excel lines. Ctrl-C stops it.
    Demo(DemoArgs),

    /// Run a local Genesys Cloud emulator: synthetic contact centre, same endpoints, rate
    /// limits and injected faults.
    ///
    /// Prints GENESYS_API_BASE, GENESYS_LOGIN_BASE, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and
    /// GENESYS_EMULATOR_ADMIN lines to stdout, then serves until Ctrl-C. Control the clock and
    /// faults at runtime through the admin API (GET/PUT /_emulator/clock, /_emulator/faults,
    /// GET /_emulator/counters, POST /_emulator/revoke-tokens).
    Emulator(EmulatorArgs),

    /// List every conversation-aggregates metric (82) and dimension (84) with its kind, unit
    /// and meaning. Queries and dataset definitions are checked against this catalog.
    Catalog(crate::catalog_cmd::CatalogArgs),

    /// Run one aggregates query against Genesys Cloud and print the result.
    ///
    /// Names are checked against the catalog before any request. Averages are shown as
    /// sum / count; milliseconds become seconds in the table view only; nothing is zero-filled.
    /// Connection settings come from the config file's [genesys] section or GENESYS_CLIENT_ID,
    /// GENESYS_CLIENT_SECRET, GENESYS_REGION (or GENESYS_API_BASE for a gateway or the emulator).
    Query(QueryArgs),

    /// Write a commented genesys-bi.toml: every setting of every section at its default
    /// (commented out) with a line on what it means, and one full dataset example.
    Init(InitArgs),

    /// Check the configuration file: every dataset through the catalog, the connection and
    /// server settings, and the absolute paths it resolved. Reports every fault with its dataset
    /// and field (exit 2). With --connect, also logs in and tries each endpoint the datasets
    /// and directories need (exit 1 when one fails).
    CheckConfig(CheckConfigArgs),

    /// One pass over every dataset: pull what the watermarks and lookbacks call for, and
    /// refresh the queue, user and wrap-up code directories.
    Sync(SyncArgs),

    /// Pull what is stored of the last `restate` + `restate_every` (4 days by default) of each
    /// dataset again and replace what Genesys corrected since (it reprocesses data once it is
    /// 48 hours old), with the rows changed per dataset. `run` does this every
    /// `restate_every` by itself.
    Restate(SyncArgs),

    /// Pull a dataset's history over an explicit range, with a progress bar.
    Backfill(BackfillArgs),

    /// Keep every dataset in sync on its schedule until SIGTERM or Ctrl-C.
    ///
    /// Each dataset is synced every `every` and restated every `restate_every` (counted from
    /// its last restatement the store records), the directories every `directories_every`.
    ///
    /// Stopping is clean: windows being written finish (each is one transaction), windows
    /// still being fetched are abandoned, the run is recorded as `interrupted`, and the process
    /// exits 0. A second signal exits at once (the store still holds whole windows only).
    /// With --serve, the BI server runs in the same process and its /metrics carries the sync's
    /// series too; with --metrics-listen, those series are served alone for Prometheus.
    Run(RunArgs),

    /// Show each dataset's freshness: watermark, lag, rows and windows, and its last
    /// restatement (when, and the rows it changed).
    Datasets(ConfigArgs),

    /// Serve the store to BI tools over HTTP: /v1/datasets, /v1/datasets/{name}/rows (JSON,
    /// CSV, NDJSON, rollups), /v1/report, a status page, /metrics and /openapi.json.
    ///
    /// Every endpoint except /healthz and /readyz needs an API key (`genesys-bi keys create`),
    /// as `Authorization: Bearer <key>` or as the password of HTTP Basic.
    ///
    /// `[server]` in the config sets the address, HTTPS (tls_cert, tls_key), the connection
    /// cap and the time-outs. On Ctrl-C or SIGTERM it stops accepting, lets the answers in
    /// flight finish within `shutdown_timeout` (default 30 s), cuts what is left and exits 0.
    Serve(ServeArgs),

    /// Create, list and revoke the BI server's API keys (stored hashed in the store).
    Keys(KeysArgs),

    /// The Parquet lake of `[lake]` (which `sync` and `run` keep current): `verify` checks it
    /// against the store, `export` (re)writes a range of a dataset's history into it.
    Lake(crate::commands::lake::LakeArgs),

    /// Connect a BI tool to a dataset's OData feed: the Power BI data source file (.pbids),
    /// the Excel connection file (.odc) or the Grafana Infinity data source (YAML), printed or
    /// written to --out, and the exact steps in the tool (for Tableau, the steps alone).
    ///
    /// The files are the ones the server's status page links. They hold no key: the tools ask
    /// for one when they first read the feed (Basic: any user name, the API key as the
    /// password; Grafana takes it from its environment). The URL comes from `[server]`
    /// (address, HTTPS) unless --url names the address BI machines use.
    Connect(ConnectArgs),

    /// The store itself: `store copy --to postgres://…` copies the configured SQLite store
    /// into PostgreSQL, keeping its history and API keys.
    Store(StoreArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The BI tool.
    #[arg(long, value_enum)]
    pub tool: Tool,

    /// The dataset. Default: the first with KPI feeds in the store, else the first.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,

    /// The feed: daily_kpi (per local day, with names: the default for aggregates datasets),
    /// kpi (per stored bucket) or rows (the stored sums and counts).
    #[arg(long, value_name = "FEED", value_parser = parse_feed)]
    pub feed: Option<server::connect::Feed>,

    /// The server's address as BI machines reach it, e.g. https://bi.example.com (a reverse
    /// proxy's, or a name instead of the listening IP). Default: from `[server]`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Write the connection file here; the steps go to stdout. Without it, the file goes to
    /// stdout and the steps to stderr.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// The BI tools `connect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Powerbi,
    Excel,
    Tableau,
    Grafana,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Powerbi => "powerbi",
            Tool::Excel => "excel",
            Tool::Tableau => "tableau",
            Tool::Grafana => "grafana",
        }
    }
}

fn parse_feed(text: &str) -> Result<server::connect::Feed, String> {
    server::connect::Feed::parse(text).ok_or_else(|| {
        let names: Vec<&str> = server::connect::Feed::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        format!("accepted: {}", names.join(", "))
    })
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Address to listen on (port 0 = any free port). Default: `[server] listen` of the
    /// config, else 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// PEM certificate chain (leaf first): serve HTTPS only. Overrides `[server] tls_cert`;
    /// needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1). Overrides `[server] tls_key`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once (only its salted hash is stored).
    Create {
        /// What the key is for (e.g. "power bi finance").
        #[arg(long)]
        name: String,
    },
    /// List keys: id, name, prefix, created, revoked (never the key itself).
    List,
    /// Revoke a key by id; requests with it are refused from then on.
    Revoke {
        /// The id `keys list` shows.
        id: i64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Folder for the demo's config and store.
    #[arg(long, default_value = "genesys-bi-demo")]
    pub dir: std::path::PathBuf,

    /// Days of history to sync.
    #[arg(long, default_value_t = 30)]
    pub days: u32,

    /// Days of history of the record datasets (conversations, their participants, sessions and
    /// segments, agent status intervals): each day of each is a details job of many requests,
    /// so the demo keeps them short to be ready in about a minute (at most --days).
    #[arg(long, default_value_t = 1)]
    pub record_days: u32,

    /// Address the BI server listens on (port 0 = any free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// Seed of the synthetic contact centre.
    #[arg(long, default_value_t = emulator::config::DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Copy the configured SQLite store into a PostgreSQL schema: every dataset's rows and
    /// per-day rollup, the directories, watermarks, window log, runs and API keys (the same
    /// keys keep working). Running it again replaces what it copied; datasets only the
    /// destination has are left alone. The password comes from GENESYS_BI_POSTGRES_PASSWORD
    /// or PGPASSWORD (or the URL).
    Copy {
        #[command(flatten)]
        config: ConfigArgs,

        /// The destination database: postgres://user@host:5432/database[?sslmode=require].
        #[arg(long, value_name = "URL")]
        to: String,

        /// The schema the store lives in (created if missing and the role may).
        #[arg(long, default_value = warehouse::postgres::DEFAULT_SCHEMA)]
        schema: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML). Default: $GENESYS_BI_CONFIG, else ./genesys-bi.toml if it
    /// exists, else built-in defaults.
    #[arg(long, value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(long, value_name = "PATH", default_value = sync::config::DEFAULT_CONFIG_FILE)]
    pub path: std::path::PathBuf,

    /// Overwrite the file if it exists (by default an existing file is left alone).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Also log in and make one minimal request per endpoint the configured datasets and
    /// directories need, reporting per dataset and directory: ok, the missing permission,
    /// login refused (naming the login host) or unreachable (host and cause, within about
    /// 10 s; no retries).
    #[arg(long)]
    pub connect: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Only these datasets (repeatable; default: all).
    #[arg(long = "dataset", value_name = "NAME")]
    pub datasets: Vec<String>,

    /// Windows fetched at once (the client's rate budget paces them).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,

    /// When another process is syncing a dataset (it holds the dataset's lease in the store),
    /// exit 3 with a line naming it instead of waiting for it. `run` never waits: it leaves a
    /// held dataset to its holder and tries it again at its next turn.
    #[arg(long)]
    pub no_wait: bool,

    /// How long a dataset's lease lasts unless renewed (renewed every third of it while
    /// working); a killed process's datasets are free again after it. For tests.
    #[arg(long, value_name = "MS", default_value_t = 60_000, hide = true)]
    pub lease_ttl_ms: u64,

    /// Treat this instant as now (replays and tests against the emulator's virtual clock).
    #[arg(long, value_name = "INSTANT", hide = true)]
    pub now: Option<Timestamp>,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub sync: SyncArgs,

    /// Also serve the BI API on this address, in this process (one-box deployments): the same
    /// server as `genesys-bi serve`, its /metrics showing the sync's series next to its own.
    /// Port 0 picks a free one; the address is printed as GENESYS_BI_URL=….
    #[arg(long, value_name = "ADDR:PORT")]
    pub serve: Option<std::net::SocketAddr>,

    /// Serve GET /metrics (Prometheus text, no API key) on this address: Genesys requests by
    /// endpoint and status, 429s, retries, seconds waited on the rate budget, windows and rows
    /// written, watermark lag. Bind it to localhost or a private network. Port 0 picks a free
    /// one; the address is printed as GENESYS_BI_METRICS_URL=….
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The dataset to backfill.
    #[arg(long, value_name = "NAME")]
    pub dataset: String,

    /// Start: an instant (2024-05-01T00:00:00Z) or a date (2024-05-01, local midnight in the
    /// dataset's time zone).
    #[arg(long, value_name = "WHEN")]
    pub from: String,

    /// End (exclusive), same forms; default: now. Never later than now minus the settle delay.
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,

    /// Windows fetched at once (the client's rate budget paces them).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,

    /// When another process is syncing a dataset (it holds the dataset's lease in the store),
    /// exit 3 with a line naming it instead of waiting for it. `run` never waits: it leaves a
    /// held dataset to its holder and tries it again at its next turn.
    #[arg(long)]
    pub no_wait: bool,

    /// How long a dataset's lease lasts unless renewed (renewed every third of it while
    /// working); a killed process's datasets are free again after it. For tests.
    #[arg(long, value_name = "MS", default_value_t = 60_000, hide = true)]
    pub lease_ttl_ms: u64,

    /// Treat this instant as now (replays and tests against the emulator's virtual clock).
    #[arg(long, value_name = "INSTANT", hide = true)]
    pub now: Option<Timestamp>,
}

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Metrics, comma-separated (e.g. nOffered,tAnswered,tHandle). See `genesys-bi catalog`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub metrics: Vec<String>,

    /// Dimensions to group by, comma-separated (e.g. queueId,mediaType).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,

    /// dimension=value (repeatable; values of one dimension are ORed, dimensions ANDed).
    #[arg(long, value_name = "DIMENSION=VALUE")]
    pub filter: Vec<String>,

    /// Interval: start/end as instants or dates (2024-05-01/2024-05-08), or start/duration.
    #[arg(long)]
    pub interval: String,

    /// Bucket size (PT15M, PT30M, PT1H, P1D, P7D, P1M); default: the whole interval.
    #[arg(long)]
    pub granularity: Option<String>,

    /// IANA time zone for buckets and for dates in --interval (default UTC).
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,

    #[arg(long, value_enum, default_value_t = crate::render::OutputFormat::Table)]
    pub format: crate::render::OutputFormat,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = emulator::config::DEFAULT_PORT)]
    pub port: u16,

    /// Seed of the synthetic data and of the fault sequence (same seed, same run).
    #[arg(long, default_value_t = emulator::config::DEFAULT_SEED)]
    pub seed: u64,

    /// Virtual "now" at start, RFC 3339 (e.g. 2024-05-10T12:00:00Z); default: the wall clock.
    #[arg(long, value_name = "INSTANT")]
    pub clock: Option<Timestamp>,

    /// Virtual seconds per real second (0 freezes time, 60 runs a minute per second).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub clock_rate: f64,

    /// OAuth client id the emulator accepts.
    #[arg(long, default_value = emulator::config::DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// OAuth client secret the emulator accepts (a local fake, printed at start).
    #[arg(long, default_value = emulator::config::DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,

    /// Another OAuth client the emulator accepts, holding only the listed permissions
    /// (repeatable): `ID:SECRET:PERMISSION,PERMISSION…`, e.g.
    /// `reader:pw:routing:queue:view,routing:wrapupCode:view`. Endpoints answer 403
    /// `missing.permissions` naming what it lacks: `analytics:conversationAggregate:view`
    /// (aggregates query and jobs), `analytics:userAggregate:view` (users aggregates query and
    /// jobs), `analytics:conversationDetail:view` (details),
    /// `routing:queue:view` and `routing:wrapupCode:view` (directories; the user list needs
    /// none). The default client holds every permission.
    #[arg(long = "limited-client", value_name = "ID:SECRET:PERMISSIONS")]
    pub limited_clients: Vec<emulator::permissions::LimitedClient>,

    /// Access token lifetime, returned as `expires_in`.
    #[arg(long, default_value_t = 86_399)]
    pub token_lifetime_secs: u64,

    /// Requests per token per minute before 429.
    #[arg(long, default_value_t = 300)]
    pub rate_limit_per_minute: u32,

    /// Time an async job spends QUEUED/PENDING before FULFILLED.
    #[arg(long, default_value_t = 1_500)]
    pub job_delay_ms: u64,

    /// Time a fulfilled job's results stay readable before EXPIRED.
    #[arg(long, default_value_t = 3_600)]
    pub job_expiry_secs: u64,

    /// How far the details datalake (`dataAvailabilityDate`) lags virtual now.
    #[arg(long, default_value_t = 3_600)]
    pub data_lag_secs: u64,

    /// Synthetic org: number of queues.
    #[arg(long, default_value_t = 25)]
    pub queues: usize,

    /// Synthetic org: number of agents.
    #[arg(long, default_value_t = 200)]
    pub agents: usize,

    /// Synthetic org: number of wrap-up codes.
    #[arg(long, default_value_t = 30)]
    pub wrapup_codes: usize,

    /// Synthetic org: mean conversations per day.
    #[arg(long, default_value_t = 20_000)]
    pub conversations_per_day: u32,

    /// Restatement: percent of wrap-up codes filled in 48 to 72 hours after the wrap-up, as
    /// Genesys' nightly reprocessing does; until then the API reports them without a code.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub late_wrapup_percent: u8,

    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Seeded random faults (probabilities per request, 0..=1).
#[derive(Debug, Args)]
#[command(next_help_heading = "Fault injection")]
pub struct FaultArgs {
    /// Rate of 500/502/503/504 answers (spread evenly over the four).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_5xx: f64,

    /// Rate of connections dropped without a response.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_reset: f64,

    /// Rate of bodies cut short of their declared Content-Length.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_truncate: f64,

    /// Rate of daily-limit style 429s with a long Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_long_429: f64,

    /// Retry-After of those long 429s.
    #[arg(long, default_value_t = 3_600)]
    pub long_retry_after_secs: u64,

    /// Rate of slow replies.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_slow: f64,

    /// Delay of a slow reply.
    #[arg(long, default_value_t = 2_000)]
    pub slow_delay_ms: u64,

    /// Rate of requests that first revoke every live token.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_revoke: f64,

    /// Revoke every live token each N seconds.
    #[arg(long, value_name = "N")]
    pub revoke_tokens_every_secs: Option<u64>,
}
