//! `genesys-bi`: Genesys Cloud contact-centre analytics for BI tools.
//!
//! Thin glue: argument parsing, progress bars, printing and exit codes over the library crates.
//! Logic that another crate could test belongs in that crate.

mod catalog_cmd;
mod cli;
mod commands;
mod render;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// Bad input from the user (a flag, a config value): exit code 2, one clear line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(commands::run(cli.command)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            if error.chain().any(|cause| cause.is::<UsageError>()) {
                ExitCode::from(2)
            } else if error.chain().any(|cause| cause.is::<sync::runner::Busy>()) {
                // `--no-wait` and another process holds the dataset: not a failure, a turn.
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The context chain on one line, never a backtrace. Many error types repeat their source in
/// their own message; a cause already said is not said again.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Output piped into `head` and closed early is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
