//! `genesys-bi`: Genesys Cloud contact-centre analytics for BI tools.

mod catalog_cmd;
mod cli;
mod commands;
mod render;
mod telemetry;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(commands::run(cli.command))
}
