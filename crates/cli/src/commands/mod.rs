//! One module per subcommand.

mod connect;
mod connect_check;
mod connect_guides;
mod context;
mod demo;
mod emulator;
mod init;
mod keys;
pub mod lake;
mod query;
mod run;
mod serve;
mod shutdown;
mod store_copy;
mod sync;

use crate::cli::Command;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Emulator(args) => emulator::run(args).await,
        Command::Query(args) => query::run(args).await,
        Command::Init(args) => init::run(args),
        Command::CheckConfig(args) => sync::check_config(args).await,
        Command::Sync(args) => sync::sync_once(args).await,
        Command::Restate(args) => sync::restate_once(args).await,
        Command::Backfill(args) => sync::backfill(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Datasets(args) => sync::datasets(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Keys(args) => keys::run(args).await,
        Command::Lake(args) => lake::run(args).await,
        Command::Connect(args) => connect::run(args).await,
        Command::Store(args) => store_copy::run(args).await,
        Command::Catalog(args) => {
            let mut out = std::io::stdout().lock();
            crate::catalog_cmd::print(&args, &mut out)?;
            Ok(())
        }
    }
}
