//! One module per subcommand.

mod emulator;

use crate::cli::Command;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Emulator(args) => emulator::run(args).await,
        Command::Catalog(args) => {
            let mut out = std::io::stdout().lock();
            crate::catalog_cmd::print(&args, &mut out)?;
            Ok(())
        }
    }
}
