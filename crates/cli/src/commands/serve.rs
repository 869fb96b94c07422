//! `genesys-bi serve`: the BI server on the configured store, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use server::{Limits, Server, ServerConfig, TlsFiles};
use sync::config::ServingConfig;
use sync::server_settings::{ServerSection, ServerSettings};

use crate::UsageError;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Only `[store]` and `[server]`: a fault in the datasets is the sync's, not the server's.
    let config = ServingConfig::load(args.config.config.as_deref())
        .map_err(|e| UsageError(e.to_string()))?;
    let mut settings = server_settings(&config.server)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        settings.tls = Some(sync::server_settings::TlsFiles { cert, key });
    }
    let store = (config.store)
        .store(|name| std::env::var(name).ok())
        .map_err(|e| UsageError(e.to_string()))?;
    let server = build(&store, &settings).await?;
    let url = url(&server, settings.listen);
    // Machine-readable, like the emulator's banner: tests and scripts read the URL from it.
    println!("genesys-bi serving {store} on {url}");
    println!("GENESYS_BI_URL={url}");
    server.run_until(stopped()).await.context("serving")?;
    Ok(())
}

/// `[server]` of the config, checked; its faults are the user's to fix (exit code 2).
pub fn server_settings(section: &ServerSection) -> anyhow::Result<ServerSettings> {
    section
        .settings()
        .map_err(|e| UsageError(e.to_string()).into())
}

/// The BI server on `store`, bound and set up as `settings` say (HTTPS, limits).
pub async fn build(
    store: &warehouse::StoreConfig,
    settings: &ServerSettings,
) -> anyhow::Result<Server> {
    let server = Server::build(ServerConfig {
        store: store.clone(),
        listen: settings.listen,
    })
    .await
    .context("starting the BI server")?
    .limits(limits(settings));
    match &settings.tls {
        None => Ok(server),
        Some(files) => server
            .tls(&TlsFiles {
                cert: files.cert.clone(),
                key: files.key.clone(),
            })
            // A missing or wrong file is the operator's to fix, like any config fault.
            .map_err(|e| UsageError(format!("starting the BI server with HTTPS: {e}")).into()),
    }
}

fn limits(settings: &ServerSettings) -> Limits {
    Limits {
        max_connections: settings.max_connections,
        request_timeout: settings.request_timeout,
        header_read_timeout: settings.header_read_timeout,
        idle_timeout: settings.idle_timeout,
        shutdown_timeout: settings.shutdown_timeout,
    }
}

/// Where BI tools reach the server, as the banner prints it.
pub fn url(server: &Server, listen: SocketAddr) -> String {
    format!("{}://{}:{}", server.scheme(), listen.ip(), server.port())
}

/// Ctrl-C, or SIGTERM from a service manager: stop accepting, finish the answers in flight.
pub async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("Stop signal received.");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config's defaults and the server library's are written twice (the server does not
    /// depend on the config); they must not drift apart.
    #[test]
    fn the_config_defaults_are_the_servers() {
        assert_eq!(limits(&ServerSettings::default()), Limits::default());
    }
}
