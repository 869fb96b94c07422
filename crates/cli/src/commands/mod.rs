//! One module per subcommand.

mod emulator;

use crate::cli::Command;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Emulator(args) => emulator::run(args).await,
    }
}
