//! `genesys-bi serve`: the BI server on the configured store, until Ctrl-C.

use std::net::SocketAddr;

use anyhow::Context;
use server::{Server, ServerConfig};

use super::context::load_config;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let listen: SocketAddr = args.listen;
    let server = Server::build(ServerConfig {
        store: config.store.sqlite.clone(),
        listen,
    })
    .await
    .context("starting the BI server")?;
    // Machine-readable, like the emulator's banner: tests and scripts read the port from it.
    println!(
        "genesys-bi serving {} on http://{}:{}",
        config.store.sqlite.display(),
        listen.ip(),
        server.port()
    );
    println!("GENESYS_BI_URL=http://{}:{}", listen.ip(), server.port());
    server.run_until(stopped()).await.context("serving")?;
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager: finish the requests in flight, then stop.
async fn stopped() {
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
}
