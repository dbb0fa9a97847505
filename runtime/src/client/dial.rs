//! Opening one connection: the socket to an [`Endpoint`], TLS if the
//! channel has it, then HTTP/2's handshake, within the connect timeout.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::uri::Authority;

use crate::Status;
use crate::call::BoxFuture;
#[cfg(feature = "server")]
use crate::transport::ServeIo;
#[cfg(feature = "tls")]
use crate::transport::tls::{self, ClientTls};
use crate::transport::{self, Io, Keepalive, Link};

/// Opens connections for a channel that brings its own
/// ([`Channel::with_connector`](super::Channel::with_connector)): a proxy,
/// a test harness, a transport of the user's. Implemented by every
/// `Fn() -> impl Future<Output = io::Result<impl Io>>`.
pub trait Connect: Send + Sync + 'static {
    /// Opens a new connection to the server.
    fn connect(&self) -> BoxFuture<'static, io::Result<Box<dyn Io>>>;
}

impl<F, Fut, C> Connect for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<C>> + Send + 'static,
    C: Io,
{
    fn connect(&self) -> BoxFuture<'static, io::Result<Box<dyn Io>>> {
        let connecting = self();
        Box::pin(async move { Ok(Box::new(connecting.await?) as Box<dyn Io>) })
    }
}

/// Where one connection goes: one of the addresses a resolver gave, or the
/// one way a channel of another kind has.
#[derive(Clone)]
pub(crate) enum Endpoint {
    /// TCP, to this address.
    Tcp(SocketAddr),
    /// A Unix domain socket at this path.
    #[cfg(unix)]
    Unix(Arc<PathBuf>),
    /// The user's own.
    Custom(Arc<dyn Connect>),
    /// A server in this process, through a pipe.
    #[cfg(feature = "server")]
    InProcess(Arc<dyn ServeIo>),
}

/// A channel's TLS.
#[cfg(feature = "tls")]
#[derive(Clone)]
pub(crate) enum Tls {
    /// As the user set it.
    Given(tls::Connector),
    /// An `https://` target's: the system's roots, loaded at the first
    /// connection, so that a machine without them can still be given others.
    System(Arc<std::sync::OnceLock<Result<tls::Connector, Status>>>),
}

/// What every connection of a channel is opened with.
pub(crate) struct Dialer {
    /// The server's name, as calls carry it and TLS checks it.
    pub(crate) authority: Authority,
    pub(crate) keepalive: Option<Keepalive>,
    /// How long opening a connection may take, at least.
    pub(crate) connect_timeout: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Tls>,
}

impl Dialer {
    /// A connection to `endpoint`, within the connect timeout or `at_least`
    /// when that is longer; `on_end` runs when it ends.
    ///
    /// # Errors
    /// UNAVAILABLE when it cannot be opened in time.
    pub(crate) async fn open(
        &self,
        endpoint: &Endpoint,
        at_least: Duration,
        on_end: impl FnOnce() + Send + 'static,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        let timeout = self.connect_timeout.max(at_least);
        tokio::time::timeout(timeout, self.open_now(endpoint, on_end))
            .await
            .unwrap_or_else(|_| {
                Err(Status::unavailable(format!(
                    "could not connect to {} within {timeout:?}",
                    self.authority
                )))
            })
    }

    async fn open_now(
        &self,
        endpoint: &Endpoint,
        on_end: impl FnOnce() + Send + 'static,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        match endpoint {
            Endpoint::Tcp(address) => {
                let socket = transport::connect_tcp(*address).await?;
                self.handshake(socket, on_end).await
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let socket = tokio::net::UnixStream::connect(&**path)
                    .await
                    .map_err(|err| transport::cannot_connect(&path.display(), &err))?;
                self.handshake(socket, on_end).await
            }
            Endpoint::Custom(connect) => {
                let io = connect
                    .connect()
                    .await
                    .map_err(|err| transport::cannot_connect(&self.authority, &err))?;
                self.handshake(io, on_end).await
            }
            #[cfg(feature = "server")]
            Endpoint::InProcess(server) => {
                let (client, server_side) = transport::pipe();
                server.serve_io(server_side);
                self.handshake(client, on_end).await
            }
        }
    }

    /// The handshakes over `io`: TLS if the channel has it, then HTTP/2.
    async fn handshake(
        &self,
        io: impl Io,
        on_end: impl FnOnce() + Send + 'static,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let tls = match tls {
                Tls::Given(tls) => tls,
                Tls::System(loaded) => loaded
                    .get_or_init(|| {
                        ClientTls::new()
                            .connector(self.authority.host())
                            .map_err(|err| Status::unavailable(err.to_string()))
                    })
                    .as_ref()
                    .map_err(Clone::clone)?,
            };
            // Boxed: the HTTP/2 connection's code is not made again for
            // each kind of socket under TLS.
            let io: Box<dyn Io> = Box::new(tls.connect(io).await?);
            return transport::handshake(io, self.keepalive, on_end).await;
        }
        transport::handshake(io, self.keepalive, on_end).await
    }

    /// Whether the connections encrypt what they carry: only with TLS,
    /// since rgrpc cannot vouch for a connector of the user's.
    pub(crate) fn encrypts(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }
}
