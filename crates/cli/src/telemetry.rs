//! Logs go to stderr (stdout carries machine-readable output), filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    // The connection pool warns of each connection it finds broken; while the store restarts
    // that is a line per connection, and the sync's own line already says what it waits for.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,deadpool=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
