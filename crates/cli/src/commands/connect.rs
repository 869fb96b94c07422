//! `genesys-bi connect --tool powerbi|excel|tableau|grafana`: the connection file of a BI tool
//! for one feed of one dataset (the same bytes the server's `/v1/connect/…` answers), written to
//! `--out` or printed, and the exact steps in the tool. Reads `[store]` for the datasets and
//! `[server]` (address, HTTPS) for the URL, unless `--url` names the address tools use.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use server::connect::{Feed, FeedTarget};
use sync::config::ServingConfig;
use warehouse::read::DatasetInfo;

use super::connect_guides::{Guide, guide};
use crate::UsageError;
use crate::cli::ConnectArgs;

pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let config = ServingConfig::load(args.config.config.as_deref())
        .map_err(|e| UsageError(e.to_string()))?;
    let origin = match &args.url {
        Some(url) => checked_url(url)?,
        None => {
            let settings = super::serve::server_settings(&config.server)?;
            configured_origin(settings.listen, settings.tls.is_some())
        }
    };
    let datasets = stored_datasets(&config.store.sqlite).await?;
    let dataset = chosen(&datasets, args.dataset.as_deref())?;
    let feed = match args.feed {
        None => Feed::default_for(&dataset.spec),
        Some(feed) => feed
            .check(&dataset.spec)
            .map_err(|message| UsageError(format!("--feed: {message}")))?,
    };
    let target = FeedTarget {
        origin,
        dataset: dataset.spec.name.clone(),
        feed,
    };
    let Guide { file, steps } = guide(args.tool, &target);
    match (file, &args.out) {
        (Some(file), Some(out)) => {
            std::fs::write(out, &file.contents)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("Wrote {}.\n", out.display());
            print!("{steps}");
        }
        (Some(file), None) => {
            // The file alone on stdout, so `> name.pbids` keeps it; the steps beside it.
            print!("{}", file.contents);
            eprintln!("(Save this as {}.)\n", file.name);
            eprint!("{steps}");
        }
        (None, Some(_)) => {
            return Err(UsageError(format!(
                "--out: {} has no connection file; run without --out for its steps",
                args.tool.name()
            ))
            .into());
        }
        (None, None) => print!("{steps}"),
    }
    Ok(())
}

/// `--url` as an origin (or base URL) BI tools reach the server at.
fn checked_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !url.contains(['?', '#', ' ']) => {
            Ok(url.trim_end_matches('/').to_string())
        }
        _ => Err(UsageError(format!(
            "--url: `{url}` is not an http:// or https:// address such as https://bi.example.com"
        ))
        .into()),
    }
}

/// The URL `[server]` makes: https with `tls_cert`, and the listening address (localhost for a
/// wildcard address, which no client can connect to).
fn configured_origin(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    if listen.ip().is_unspecified() {
        eprintln!(
            "The server listens on every address ({listen}); the files name localhost. Pass \
             --url with the name BI machines reach it by."
        );
        return format!("{scheme}://localhost:{}", listen.port());
    }
    format!("{scheme}://{listen}")
}

/// The datasets the store holds, as the server lists them.
async fn stored_datasets(store: &Path) -> anyhow::Result<Vec<DatasetInfo>> {
    if !store.exists() {
        return Err(UsageError(format!(
            "there is no store at {} yet: run `genesys-bi sync` first",
            store.display()
        ))
        .into());
    }
    let config = warehouse::StoreConfig::sqlite(store);
    tokio::task::spawn_blocking(move || {
        let reader = warehouse::open_reader(&config)?;
        reader.session()?.datasets()
    })
    .await?
    .with_context(|| format!("reading the datasets of {}", store.display()))
}

/// `--dataset`, else the first dataset with KPI feeds, else the first.
fn chosen<'a>(datasets: &'a [DatasetInfo], asked: Option<&str>) -> anyhow::Result<&'a DatasetInfo> {
    let names = || {
        datasets
            .iter()
            .map(|d| d.spec.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = match asked {
        Some(name) => datasets.iter().find(|d| d.spec.name == name),
        None => datasets
            .iter()
            .find(|d| Feed::default_for(&d.spec) == Feed::DailyKpi)
            .or(datasets.first()),
    };
    found.ok_or_else(|| {
        let message = match asked {
            Some(name) if !datasets.is_empty() => {
                format!(
                    "--dataset: the store has no dataset `{name}` (it has: {})",
                    names()
                )
            }
            _ => "the store holds no dataset yet: run `genesys-bi sync` first".to_string(),
        };
        UsageError(message).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_or_https() {
        assert_eq!(
            checked_url("https://bi.example.com/").unwrap(),
            "https://bi.example.com"
        );
        assert_eq!(
            checked_url("http://10.0.0.5:8080/bi").unwrap(),
            "http://10.0.0.5:8080/bi"
        );
        for bad in ["bi.example.com", "ftp://x", "https://", "https://x/?a=1"] {
            let error = checked_url(bad).unwrap_err().to_string();
            assert!(error.starts_with("--url:"), "{error}");
        }
    }

    #[test]
    fn the_configured_address_with_its_scheme() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(configured_origin(listen, false), "http://127.0.0.1:8080");
        assert_eq!(configured_origin(listen, true), "https://127.0.0.1:8080");
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(configured_origin(v6, true), "https://[::1]:443");
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(configured_origin(any, false), "http://localhost:8080");
    }
}
