//! The accept loop: plain HTTP and HTTPS through one code path (hyper's HTTP/1.1 server over a
//! TCP stream, wrapped in TLS when configured), with the limits that keep one client from
//! holding the server: a cap on connections, a deadline for request headers (slowloris), a
//! stall deadline on connections where no byte moves, and a graceful stop.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

/// How the server protects itself; `Default` is what `genesys-bi serve` uses without a
/// `[server]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; the next ones wait in the kernel's accept backlog.
    pub max_connections: usize,
    /// Longest wait for an answer's headers (then 503); a streamed body may take longer.
    pub request_timeout: Duration,
    /// Longest time a client may take to send a request's headers, and to finish the TLS
    /// handshake. Hyper starts this clock whenever it waits for a request, so it also closes a
    /// keep-alive connection left idle between requests.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed: a client that
    /// stops reading an answer. Never shorter than `request_timeout`, which a slow answer may
    /// legitimately spend in silence.
    pub idle_timeout: Duration,
    /// On stop, answers in flight get this long to finish; connections left are then cut.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            request_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    fn stall_timeout(&self) -> Duration {
        self.idle_timeout.max(self.request_timeout)
    }
}

/// Pause after a failed `accept` (out of file descriptors, say) before trying again, so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves until `shutdown` completes, then lets the connections in flight finish within
/// `limits.shutdown_timeout` and cuts the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        // Taking the permit before `accept` leaves excess clients in the kernel's backlog.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "Accepting a connection failed.");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        reap(&mut connections);
        let connection = Connection {
            stream: Watched::new(stream, limits.stall_timeout()),
            tls: tls.clone(),
            handshake_timeout: limits.header_read_timeout,
            http: http.clone(),
            service: service.clone(),
        };
        let watcher = graceful.watcher();
        connections.spawn(async move {
            connection.serve(watcher).await;
            drop(permit);
        });
    }
    drop(listener);
    reap(&mut connections);
    tracing::info!(
        connections = connections.len(),
        "Stopping: no new connections; waiting for the answers in flight."
    );
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        reap(&mut connections);
        tracing::warn!(
            cut = connections.len(),
            timeout_s = limits.shutdown_timeout.as_secs_f64(),
            "Connections still open at the shutdown deadline were cut."
        );
    }
    connections.shutdown().await;
}

/// Forgets finished connections. A panic outside the handlers (in hyper, or while streaming a
/// body) ends only its own connection's task; say so, since no 500 could be sent.
fn reap(connections: &mut JoinSet<()>) {
    while let Some(joined) = connections.try_join_next() {
        if let Err(error) = joined
            && error.is_panic()
        {
            tracing::error!(%error, "A connection's task panicked; that connection was dropped.");
        }
    }
}

struct Connection {
    stream: Watched<TcpStream>,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    http: http1::Builder,
    service: TowerToHyperService<Router>,
}

impl Connection {
    async fn serve(self, watcher: hyper_util::server::graceful::Watcher) {
        let result = match self.tls {
            None => {
                let conn = self
                    .http
                    .serve_connection(TokioIo::new(self.stream), self.service);
                watcher.watch(conn).await
            }
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.handshake_timeout, acceptor.accept(self.stream));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "TLS handshake failed.");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out.");
                        return;
                    }
                };
                let conn = self
                    .http
                    .serve_connection(TokioIo::new(stream), self.service);
                watcher.watch(conn).await
            }
        };
        if let Err(error) = result {
            // Clients hang up, time out and send garbage: routine, not the server's fault.
            tracing::debug!(%error, "Connection ended with an error.");
        }
    }
}

/// A stream that fails with `TimedOut` once no byte has moved either way for `stall` while
/// someone waits on it: a client that stops reading an answer, or goes silent, lets go of its
/// connection (and its worker) instead of holding it forever.
struct Watched<S> {
    inner: S,
    stall: Duration,
    last_progress: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Watched<S> {
    fn new(inner: S, stall: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            stall,
            last_progress: now,
            deadline: Box::pin(tokio::time::sleep_until(now + stall)),
        }
    }

    fn progressed(&mut self) {
        self.last_progress = Instant::now();
    }

    /// Called when the inner stream is pending: arms the deadline and reports whether it passed.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let due = self.last_progress + self.stall;
        if self.deadline.deadline() != due {
            self.deadline.as_mut().reset(due);
        }
        self.deadline.as_mut().poll(cx).is_ready()
    }

    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if self.stalled(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no byte moved for {} s", self.stall.as_secs_f64()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.watch(cx, polled)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}
