//! SIGTERM (systemd, Docker, Kubernetes) and Ctrl-C: the first asks the command to stop cleanly,
//! a second while it is stopping exits at once with 128 + the signal's number. Exiting at once
//! is still safe for the store: a window's transaction either committed or rolls back.

use anyhow::Context;
use sync::stop::{Stop, StopSwitch};

/// Installs the handlers now (so a signal arriving early is never the default kill) and returns
/// the stop they trigger.
pub fn stop_on_signals() -> anyhow::Result<Stop> {
    let (switch, stop) = StopSwitch::new();
    let mut signals = Signals::install().context("installing the SIGTERM and Ctrl-C handlers")?;
    tokio::spawn(async move {
        let first = signals.next().await;
        eprintln!(
            "{} received: stopping. Windows being written finish; windows still being fetched \
             are abandoned. Send it again to exit at once.",
            first.name
        );
        switch.stop();
        let second = signals.next().await;
        eprintln!(
            "{} received again: exiting now (the store keeps whole windows only).",
            second.name
        );
        std::process::exit(128 + second.number);
    });
    Ok(stop)
}

struct Received {
    name: &'static str,
    number: i32,
}

#[cfg(unix)]
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> Received {
        tokio::select! {
            _ = self.terminate.recv() => Received { name: "SIGTERM", number: 15 },
            _ = self.interrupt.recv() => Received { name: "Ctrl-C (SIGINT)", number: 2 },
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> Received {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        Received {
            name: "Ctrl-C",
            number: 2,
        }
    }
}
