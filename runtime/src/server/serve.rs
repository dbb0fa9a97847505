//! [`Server`]: the accept loop, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;

use super::builder::{Config, ServerBuilder};
use super::connection::Core;
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
            }),
        }
    }

    /// Binds `addr` and serves for as long as the future runs (see
    /// [`Server::serve_with_shutdown`]).
    ///
    /// # Errors
    /// When binding fails.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, std::future::pending())
            .await;
        Ok(())
    }

    /// Serves connections from `listener` until `shutdown` completes, then
    /// stops accepting, sends GOAWAY on every connection and waits for the
    /// calls in flight to finish.
    ///
    /// Failing to accept a connection does not stop the server: one that
    /// the peer gave up on is skipped, and after any other error (such as
    /// running out of file descriptors) accepting resumes after a pause that
    /// grows from 5 ms to 1 s, the schedule grpc-go uses.
    ///
    /// Runs on a tokio runtime with its time driver enabled (as with
    /// `#[tokio::main]`, or `enable_all` on a runtime builder): pauses,
    /// handshake timeouts and deadlines use it.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) {
        let (stop, stopped) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = None;
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, peer)) => {
                        backoff = None;
                        // Small messages must not wait for Nagle's algorithm;
                        // a socket that refuses is served all the same.
                        let _ = socket.set_nodelay(true);
                        let serving = self.core.clone().serve_connection(socket, Some(peer), stopped.clone());
                        connections.spawn(serving);
                    }
                    Err(err) if gone_before_accepted(&err) => {}
                    Err(err) => {
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
                },
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        let _ = stop.send(true);
        while connections.join_next().await.is_some() {}
    }
}

#[cfg(feature = "client")]
impl ServeIo for Server {
    fn serve_io(&self, io: tokio::io::DuplexStream) {
        let core = self.core.clone();
        tokio::spawn(async move {
            // In-process connections take no part in a graceful shutdown: the
            // stop signal is never sent, and its sender lives as long as they do.
            let (_never_sent, stopped) = watch::channel(false);
            core.serve_connection(io, None, stopped).await;
        });
    }
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
