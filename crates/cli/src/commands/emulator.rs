//! `genesys-bi emulator`: serve a local Genesys Cloud until Ctrl-C.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use emulator::faults::{FaultConfig, FaultRates};
use emulator::synth::OrgShape;
use emulator::{Emulator, EmulatorConfig};

use crate::cli::{EmulatorArgs, FaultArgs};

pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let config = config_from(args);
    let seed = config.seed;
    let emulator = Emulator::build(config)
        .await
        .context("starting the emulator")?;
    announce(&emulator, seed).context("writing the emulator's address to stdout")?;
    emulator
        .run_until(shutdown_signal())
        .await
        .context("serving the emulator")?;
    tracing::info!("Emulator stopped.");
    Ok(())
}

fn config_from(args: EmulatorArgs) -> EmulatorConfig {
    EmulatorConfig {
        port: args.port,
        seed: args.seed,
        org_shape: OrgShape {
            queues: args.queues,
            agents: args.agents,
            wrapup_codes: args.wrapup_codes,
            conversations_per_day: args.conversations_per_day,
            late_wrapup_percent: args.late_wrapup_percent,
        },
        clock_start: args.clock,
        clock_rate: args.clock_rate,
        client_id: args.client_id,
        client_secret: args.client_secret,
        limited_clients: args.limited_clients,
        token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        rate_limit_per_minute: args.rate_limit_per_minute,
        job_delay: Duration::from_millis(args.job_delay_ms),
        job_expiry: Duration::from_secs(args.job_expiry_secs),
        data_lag: Duration::from_secs(args.data_lag_secs),
        faults: faults_from(&args.faults),
        ..EmulatorConfig::default()
    }
}

fn faults_from(args: &FaultArgs) -> FaultConfig {
    let rates = FaultRates {
        connection_reset: args.fault_rate_reset,
        truncated_body: args.fault_rate_truncate,
        long_retry_after_429: args.fault_rate_long_429,
        long_retry_after_secs: args.long_retry_after_secs,
        slow: args.fault_rate_slow,
        slow_delay_ms: args.slow_delay_ms,
        revoke_tokens: args.fault_rate_revoke,
        revoke_tokens_every_secs: args.revoke_tokens_every_secs,
        ..FaultRates::default()
    }
    .with_5xx_rate(args.fault_rate_5xx);
    FaultConfig {
        rates,
        scripted: Vec::new(),
    }
}

/// A human line, then the machine-readable lines other tools parse; flushed at once.
fn announce(emulator: &Emulator, seed: u64) -> std::io::Result<()> {
    let base = emulator.base_url();
    let config = emulator.config();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Genesys Cloud emulator listening on {base} (seed {seed}); press Ctrl-C to stop."
    )?;
    writeln!(out, "GENESYS_API_BASE={base}")?;
    writeln!(out, "GENESYS_LOGIN_BASE={base}")?;
    writeln!(out, "GENESYS_CLIENT_ID={}", config.client_id)?;
    writeln!(out, "GENESYS_CLIENT_SECRET={}", config.client_secret)?;
    writeln!(out, "GENESYS_EMULATOR_ADMIN={}", emulator.admin_url())?;
    out.flush()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("Shutdown requested.");
}
