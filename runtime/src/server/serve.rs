//! [`Server`]: the accept loop, and graceful shutdown.

use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::watch;

use super::builder::{Config, ServerBuilder};
use super::connection::{Core, Stop};
use super::intercept::Interceptors;
use super::router::Routes;
use crate::call::accept_failed;
#[cfg(feature = "client")]
use crate::transport::ServeIo;

/// The first and the longest pause before accepting again after an error.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// A gRPC server over HTTP/2 (h2 on tokio).
///
/// ```no_run
/// # async fn run(service: impl rgrpc::server::Service) -> std::io::Result<()> {
/// rgrpc::Server::builder()
///     .add_service(service)
///     .build()
///     .serve("127.0.0.1:50051")
///     .await
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    core: Arc<Core>,
}

impl Server {
    /// A builder with no services and default settings.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    pub(crate) fn new(routes: Routes, config: Config, interceptors: Interceptors) -> Self {
        let any = !interceptors.unary.is_empty() || !interceptors.stream.is_empty();
        Self {
            core: Arc::new(Core {
                routes,
                config,
                interceptors: any.then(|| Arc::new(interceptors)),
                stop: watch::Sender::new(Stop::Serving),
            }),
        }
    }

    /// Serves on `listen` (an address to bind, or a bound listener) for as
    /// long as the future runs (see [`Server::serve_with_shutdown`]).
    ///
    /// # Errors
    /// When binding fails; the error names the address.
    pub async fn serve(self, listen: impl Listen) -> std::io::Result<()> {
        self.bind(listen).await?.serve().await;
        Ok(())
    }

    /// Serves on `listen` (an address to bind, or a bound listener) until
    /// `shutdown` completes, then shuts the server down:
    ///
    /// - the listener is closed, so new connections are refused;
    /// - every connection, in-memory ones included, gets a GOAWAY (in the
    ///   two steps HTTP/2 describes for a graceful close), so that clients
    ///   take new calls elsewhere at once;
    /// - the calls in flight may finish within the grace period
    ///   ([`ServerBuilder::shutdown_grace`](super::ServerBuilder::shutdown_grace)),
    ///   after which those left are cancelled and their connections closed.
    ///
    /// It returns when every connection has closed. A server shuts down
    /// once: a clone serving another listener stops with it.
    ///
    /// Failing to accept a connection does not stop the server: one that
    /// the peer gave up on is skipped, and after any other error (such as
    /// running out of file descriptors) accepting resumes after a pause that
    /// grows from 5 ms to 1 s, the schedule grpc-go uses.
    ///
    /// Runs on a tokio runtime with its time driver enabled (as with
    /// `#[tokio::main]`, or `enable_all` on a runtime builder): pauses,
    /// handshake timeouts and deadlines use it.
    ///
    /// # Errors
    /// When binding fails; the error names the address.
    pub async fn serve_with_shutdown(
        self,
        listen: impl Listen,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.bind(listen).await?.serve_with_shutdown(shutdown).await;
        Ok(())
    }

    /// Binds `listen` without serving yet, so that the caller can learn
    /// the address, such as the port of `127.0.0.1:0`, first.
    ///
    /// ```no_run
    /// # async fn run(server: rgrpc::Server) -> std::io::Result<()> {
    /// let bound = server.bind("127.0.0.1:0").await?;
    /// println!("listening on {}", bound.local_addr()?);
    /// bound.serve_with_shutdown(std::future::pending()).await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When binding fails; the error names the address.
    pub async fn bind(self, listen: impl Listen) -> std::io::Result<Bound> {
        Ok(Bound {
            server: self,
            listener: listen.listen().await?,
        })
    }

    /// Serves the connections `incoming` yields, as
    /// [`Server::serve_with_shutdown`] serves a listener's: any stream of
    /// bytes both ways (Unix sockets, TLS streams, in-memory pipes, a
    /// proxy's connections) until `shutdown` completes. An error it yields
    /// is handled as a failed accept. When it ends, the server takes no new
    /// connection and serves those it has until `shutdown`.
    ///
    /// ```no_run
    /// # async fn run(server: rgrpc::Server) -> std::io::Result<()> {
    /// let listener = tokio::net::UnixListener::bind("/tmp/echo.sock")?;
    /// let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    /// server.serve_with_incoming(incoming, std::future::pending()).await;
    /// # Ok(()) }
    /// ```
    pub async fn serve_with_incoming<S, IO>(self, incoming: S, shutdown: impl Future<Output = ()>)
    where
        S: Stream<Item = std::io::Result<IO>>,
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_from(Incoming(Box::pin(incoming)), shutdown)
            .await;
    }

    /// The accept loop, over any source of connections, then the shutdown.
    async fn serve_from<A: Accept>(self, mut source: A, shutdown: impl Future<Output = ()>) {
        let mut connections = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        // Another serve loop of this server may start the shutdown.
        let mut stopped = self.core.stop.subscribe();
        let mut backoff = None;
        let mut open = true;
        loop {
            tokio::select! {
                accepted = poll_fn(|cx| source.poll_accept(cx)), if open => match accepted {
                    Some(Ok((io, peer))) => {
                        backoff = None;
                        if let Some(max) = self.core.config.max_connections {
                            // Counted without the finished ones not yet reaped.
                            while connections.try_join_next().is_some() {}
                            if connections.len() >= max {
                                // Closed at once, rather than left waiting.
                                drop(io);
                                continue;
                            }
                        }
                        let serving = self.core.clone().serve_connection(io, peer);
                        connections.spawn(serving);
                    }
                    Some(Err(err)) if gone_before_accepted(&err) => {}
                    Some(Err(err)) => {
                        let pause = backoff.map_or(ACCEPT_BACKOFF.0, |last: Duration| {
                            (last * 2).min(ACCEPT_BACKOFF.1)
                        });
                        backoff = Some(pause);
                        accept_failed(&err, pause);
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = &mut shutdown => break,
                        }
                    }
                    None => open = false,
                },
                () = &mut shutdown => break,
                () = stopping(&mut stopped) => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(source);
        drop(stopped);
        self.core.shut_down().await;
        while connections.join_next().await.is_some() {}
    }
}

/// Where a server listens: a TCP listener already bound, or an address to
/// bind (`"127.0.0.1:50051"`, a `String`, a `SocketAddr`).
pub trait Listen: Send {
    /// The listener, bound.
    ///
    /// # Errors
    /// When binding fails; the error names the address.
    fn listen(self) -> impl Future<Output = std::io::Result<TcpListener>> + Send;
}

impl Listen for TcpListener {
    async fn listen(self) -> std::io::Result<TcpListener> {
        Ok(self)
    }
}

impl Listen for SocketAddr {
    async fn listen(self) -> std::io::Result<TcpListener> {
        bind(self).await
    }
}

impl Listen for &str {
    async fn listen(self) -> std::io::Result<TcpListener> {
        bind(self).await
    }
}

impl Listen for String {
    async fn listen(self) -> std::io::Result<TcpListener> {
        bind(self.as_str()).await
    }
}

/// A listener bound to `addr`; an error names the address.
async fn bind(addr: impl ToSocketAddrs + fmt::Display) -> std::io::Result<TcpListener> {
    TcpListener::bind(&addr)
        .await
        .map_err(|err| std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))
}

/// A server bound to its listener, not serving yet ([`Server::bind`]).
pub struct Bound {
    server: Server,
    listener: TcpListener,
}

impl Bound {
    /// The address the listener is bound to.
    ///
    /// # Errors
    /// As the operating system's.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves for as long as the future runs.
    pub async fn serve(self) {
        self.serve_with_shutdown(std::future::pending()).await;
    }

    /// Serves until `shutdown` completes (see [`Server::serve_with_shutdown`]).
    pub async fn serve_with_shutdown(self, shutdown: impl Future<Output = ()>) {
        self.server.serve_from(Tcp(self.listener), shutdown).await;
    }
}

/// A connection accepted, and its peer's address if known.
type Accepted<IO> = std::io::Result<(IO, Option<SocketAddr>)>;

/// A source of connections: a listener, or a stream of them.
trait Accept {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection; `None` once there will be no more.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>>;
}

/// A TCP listener's connections, without Nagle's algorithm: small messages
/// must not wait for it.
struct Tcp(TcpListener);

impl Accept for Tcp {
    type Io = TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<TcpStream>>> {
        self.0.poll_accept(cx).map(|accepted| {
            Some(accepted.map(|(socket, peer)| {
                // A socket that refuses is served all the same.
                let _ = socket.set_nodelay(true);
                (socket, Some(peer))
            }))
        })
    }
}

/// The connections of a stream.
struct Incoming<S>(Pin<Box<S>>);

impl<S, IO> Accept for Incoming<S>
where
    S: Stream<Item = std::io::Result<IO>>,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Io = IO;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<IO>>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|next| next.map(|io| io.map(|io| (io, None))))
    }
}

#[cfg(feature = "client")]
impl ServeIo for Server {
    fn serve_io(&self, io: tokio::io::DuplexStream) {
        let core = self.core.clone();
        tokio::spawn(core.serve_in_memory(io));
    }
}

/// Completes once the server is no longer serving.
async fn stopping(stop: &mut watch::Receiver<Stop>) {
    // The value's guard is not kept: it would make the serve loop !Send.
    let _ = stop.wait_for(|stop| *stop != Stop::Serving).await.is_ok();
}

/// Whether an accept error is about one connection that went away before
/// it was accepted, rather than about the listener.
fn gone_before_accepted(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}
