//! `genesys-bi`: Genesys Cloud contact-centre analytics for BI tools.

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
            // `{:#}` prints the context chain on one line; never a backtrace.
            eprintln!("error: {error:#}");
            if error.chain().any(|cause| cause.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Output piped into `head` and closed early is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
