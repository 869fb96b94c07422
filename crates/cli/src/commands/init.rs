//! `genesys-bi init`: a commented `genesys-bi.toml` with every setting at its default.

use std::io::Write;

use anyhow::Context;

use crate::UsageError;
use crate::cli::InitArgs;

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    let path = &args.path;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        // Never truncates: an existing file, even one created a moment ago, stays as it was.
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(UsageError(format!(
                "{} already exists; pass --force to overwrite it, or --path to write elsewhere",
                path.display()
            ))
            .into());
        }
        other => other.with_context(|| format!("creating {}", path.display()))?,
    };
    file.write_all(sync::config::TEMPLATE.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
    println!(
        "wrote {}: every setting at its default, commented out",
        shown.display()
    );
    println!(
        "next: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION, then run \
         `genesys-bi check-config --connect`"
    );
    Ok(())
}
