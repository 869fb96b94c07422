//! `genesys-bi keys create|list|revoke`: API keys for the BI server, kept hashed in the store.

use warehouse::{KeyError, Store};

use super::context::{load_config, open_store};
use crate::UsageError;
use crate::cli::{KeysArgs, KeysCommand};

fn usage_or(error: KeyError) -> anyhow::Error {
    match error {
        KeyError::UnknownKey(_) | KeyError::InvalidName => UsageError(error.to_string()).into(),
        other => anyhow::Error::from(other),
    }
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    // Creates the store (and its folder) if needed, so keys can be made before the first sync.
    let store = open_store(&config)?;
    match args.command {
        KeysCommand::Create { name } => {
            let key = store.create_key(&name).map_err(usage_or)?;
            eprintln!(
                "API key {} `{}` created. It is shown once; keep it somewhere safe:",
                key.info.id, key.info.name
            );
            println!("{}", key.secret);
        }
        KeysCommand::List => {
            println!("id\tname\tprefix\tcreated_at\trevoked_at");
            for key in store.api_keys().map_err(usage_or)? {
                println!(
                    "{}\t{}\t{}…\t{}\t{}",
                    key.id,
                    key.name,
                    key.prefix,
                    key.created_at,
                    key.revoked_at.as_deref().unwrap_or("-")
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if store.revoke_key(id).map_err(usage_or)? {
                println!("API key {id} revoked");
            } else {
                println!("API key {id} was already revoked");
            }
        }
    }
    Ok(())
}
