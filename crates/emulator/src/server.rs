//! Binding and serving (zero2prod's `Application` pattern): `Emulator::build` binds the port
//! (0 = any free one) and builds the contact centre; `run_until_stopped` or `spawn` serves it.
//! The accept loop is our own (hyper-util, HTTP/1.1) so an injected fault can drop a connection
//! without answering, which axum's `serve` cannot do.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::EmulatorConfig;
use crate::connection_abort::ConnectionAbort;
use crate::state::AppState;
use crate::synth::ContactCentre;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    #[error("building the synthetic contact centre failed: {0}")]
    Synth(String),
    #[error("accepting connections failed: {0}")]
    Accept(std::io::Error),
}

/// A bound, ready-to-serve emulator.
pub struct Emulator {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<AppState>,
}

impl Emulator {
    pub async fn build(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        config.faults.validate().map_err(EmulatorError::Config)?;
        let requested = SocketAddr::new(config.host, config.port);
        let listener =
            TcpListener::bind(requested)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: requested,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: requested,
                source,
            })?;
        let (seed, shape) = (config.seed, config.org_shape.clone());
        let centre = tokio::task::spawn_blocking(move || ContactCentre::new(seed, &shape))
            .await
            .map_err(|e| EmulatorError::Synth(e.to_string()))?;
        Ok(Self {
            listener,
            addr,
            state: Arc::new(AppState::new(config, centre)),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// API and login share this base (gateway style).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn admin_url(&self) -> String {
        format!("{}{}", self.base_url(), crate::routes::admin::PREFIX)
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.state.config
    }

    /// Serves until the process ends.
    pub async fn run_until_stopped(self) -> Result<(), EmulatorError> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` resolves; open connections are then dropped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), EmulatorError> {
        let router = crate::routes::router(self.state.clone());
        tracing::info!(base_url = %self.base_url(), "Genesys emulator listening.");
        let (closing_tx, closing_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                () = &mut shutdown => break Ok(()),
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(serve_connection(stream, router.clone(), closing_rx.clone()));
                    }
                    Err(e) if is_transient(&e) => tracing::warn!(error = %e, "Accept failed; continuing."),
                    Err(e) => break Err(EmulatorError::Accept(e)),
                },
            }
        };
        let _ = closing_tx.send(true);
        result
    }

    /// Serves on a background task; the handle stops it when dropped.
    pub fn spawn(self) -> EmulatorHandle {
        let (base_url, admin_url, addr) = (self.base_url(), self.admin_url(), self.addr);
        let (client_id, client_secret) = (
            self.state.config.client_id.clone(),
            self.state.config.client_secret.clone(),
        );
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(self.run_until(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }));
        EmulatorHandle {
            base_url,
            admin_url,
            addr,
            client_id,
            client_secret,
            stop: stop_tx,
            task: Some(task),
        }
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || e
        .raw_os_error()
        .is_some_and(|code| code == 24 || code == 23) // EMFILE / ENFILE
}

/// A running emulator on a background task.
pub struct EmulatorHandle {
    base_url: String,
    admin_url: String,
    addr: SocketAddr,
    client_id: String,
    client_secret: String,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<Result<(), EmulatorError>>>,
}

impl EmulatorHandle {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Stops accepting, drops open connections and waits for the loop to end.
    pub async fn stop(mut self) -> Result<(), EmulatorError> {
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| EmulatorError::Accept(std::io::Error::other(e.to_string())))?,
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut closing: watch::Receiver<bool>) {
    // A second handle on the socket, so an abort can set SO_LINGER 0 and make the close a reset.
    let twin = stream
        .into_std()
        .and_then(|s| s.try_clone().map(|twin| (s, twin)));
    let Ok((std_stream, twin)) = twin else { return };
    let Ok(stream) = TcpStream::from_std(std_stream) else {
        return;
    };
    let abort = ConnectionAbort::default();
    let service = {
        let abort = abort.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(abort.clone());
            router.clone().oneshot(request.map(axum::body::Body::new))
        })
    };
    // The timer arms hyper's default 30 s header-read timeout against stalled clients.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "Connection ended with an error.");
            }
        }
        () = abort.triggered() => reset(twin),
        _ = closing.wait_for(|closing| *closing) => {}
    }
}

/// Closing with SO_LINGER 0 sends RST: the client sees "connection reset", not a clean close.
fn reset(twin: std::net::TcpStream) {
    if let Ok(twin) = TcpStream::from_std(twin) {
        let _ = twin.set_zero_linger();
    }
}

/// Convenience for callers that only need a running emulator.
pub async fn spawn(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    Ok(Emulator::build(config).await?.spawn())
}
