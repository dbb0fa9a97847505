//! [`Channel`]: one HTTP/2 connection multiplexing every call, opened
//! lazily and reopened after a failure, and the opening of each call's
//! stream on it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::SendStream;
use h2::client::SendRequest;
use http::uri::Authority;

use super::backoff::{Backoffs, ConnectBackoff};
use super::intercept::{Interceptors, StreamInterceptor, UnaryInterceptor};
use super::receiving::Receiving;
use super::target::{self, Resolver, Target};
use crate::call::{Bounds, BoxFuture, CallCredentials, CallOptions, push_link, remaining};
use crate::frame::{Compression, DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE};
#[cfg(feature = "server")]
use crate::transport::ServeIo;
#[cfg(feature = "tls")]
use crate::transport::tls::{self, ClientTls};
use crate::transport::{self, Io, Keepalive, Link};
use crate::{Metadata, Status, protocol};

/// How a channel reaches its server.
#[derive(Clone)]
enum Connector {
    /// TCP, to the first address the resolver gives that accepts.
    Tcp(Arc<dyn Resolver>),
    /// A Unix domain socket at this path.
    #[cfg(unix)]
    Unix(PathBuf),
    /// The user's own.
    Custom(Arc<dyn Connect>),
    /// A server in this process, through a pipe.
    #[cfg(feature = "server")]
    InProcess(Arc<dyn ServeIo>),
}

/// Opens connections for a channel that brings its own
/// ([`Channel::with_connector`]): a proxy, a test harness, a transport of
/// the user's. Implemented by every `Fn() -> impl Future<Output =
/// io::Result<impl Io>>`.
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

/// Where a channel's connection is, as gRPC names the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// No connection, and none being opened: the channel connects on its
    /// next call. Where a channel starts, and returns when its connection
    /// ends.
    Idle,
    /// A connection is being opened.
    Connecting,
    /// The connection is open and takes calls.
    Ready,
    /// The last attempt to connect failed; the next waits for the
    /// connection backoff, and calls fail at once meanwhile unless they
    /// wait for ready.
    TransientFailure,
}

/// How long a connection may take to open (the socket and HTTP/2's
/// handshake), gRPC's connection-backoff minimum.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The least time between two resolutions of a channel's target: grpc-go's
/// for DNS.
pub const DEFAULT_MIN_RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// Builds a [`Channel`].
pub struct ChannelBuilder {
    connector: Connector,
    authority: Authority,
    max_receive_message_size: usize,
    max_send_message_size: usize,
    interceptors: Interceptors,
    keepalive_time: Option<Duration>,
    keepalive_timeout: Duration,
    keepalive_while_idle: bool,
    connect_timeout: Duration,
    backoff: ConnectBackoff,
    min_resolve_interval: Duration,
    credentials: Option<Arc<dyn CallCredentials>>,
    send_compression: Option<Compression>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
}

/// A channel's TLS.
#[cfg(feature = "tls")]
#[derive(Clone)]
enum Tls {
    /// As the user set it.
    Given(tls::Connector),
    /// An `https://` target's: the system's roots, loaded at the first
    /// connection, so that a machine without them can still be given others.
    System(Arc<std::sync::OnceLock<Result<tls::Connector, Status>>>),
}

impl ChannelBuilder {
    fn new(connector: Connector, authority: Authority) -> Self {
        Self {
            connector,
            authority,
            max_receive_message_size: DEFAULT_MAX_RECEIVE_SIZE,
            max_send_message_size: DEFAULT_MAX_SEND_SIZE,
            interceptors: Interceptors::default(),
            keepalive_time: None,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            keepalive_while_idle: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            backoff: ConnectBackoff::default(),
            min_resolve_interval: DEFAULT_MIN_RESOLVE_INTERVAL,
            credentials: None,
            send_compression: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A builder for a channel to `server`, served in this process through
    /// a pipe.
    #[cfg(feature = "server")]
    pub(crate) fn in_process(server: Arc<dyn ServeIo>) -> Self {
        Self::new(
            Connector::InProcess(server),
            Authority::from_static("in-memory"),
        )
    }

    /// The largest response message accepted, 4 MiB by default; larger ones
    /// fail the call with RESOURCE_EXHAUSTED.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.max_receive_message_size = bytes;
        self
    }

    /// The largest request message sent, [`DEFAULT_MAX_SEND_SIZE`] by
    /// default; a larger one is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED.
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.max_send_message_size = bytes;
        self
    }

    /// Secures the channel's connections with TLS, as `tls` says, over any
    /// target: TCP, a Unix socket, a connector of the user's. An `https://`
    /// target does so by itself, trusting the system's authorities; this
    /// replaces that. The server's certificate must name the target's host,
    /// unless [`ClientTls::server_name`] names another.
    ///
    /// # Errors
    /// When `tls` cannot be used (see [`tls::Error`]), or the channel is an
    /// in-memory one, which has nothing to encrypt.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: ClientTls) -> Result<Self, tls::Error> {
        #[cfg(feature = "server")]
        if matches!(self.connector, Connector::InProcess(_)) {
            return Err(tls::Error::new(
                "an in-memory channel does not use TLS: its calls never leave the process",
            ));
        }
        self.tls = Some(Tls::Given(tls.connector(self.authority.host())?));
        Ok(self)
    }

    /// Compresses every call's request messages with `compression`
    /// (`grpc-encoding`), unless the call says otherwise
    /// ([`CallOptions::compression`](crate::client::CallOptions::compression)).
    /// A server that does not have it refuses the calls with
    /// UNIMPLEMENTED. Compressed responses are accepted in every compression
    /// this build has, whatever this says.
    pub fn send_compressed(mut self, compression: Compression) -> Self {
        self.send_compression = Some(compression);
        self
    }

    /// Attaches `credentials` to every call: their metadata, asked for as
    /// each call starts. Unless they allow it, they are not sent over a
    /// connection that does not encrypt: the calls fail with
    /// UNAUTHENTICATED instead.
    pub fn credentials(mut self, credentials: impl CallCredentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// How long opening a connection may take, socket and HTTP/2 handshake
    /// together, [`DEFAULT_CONNECT_TIMEOUT`] by default: an address that
    /// does not answer fails with UNAVAILABLE then, not after the
    /// operating system's minutes.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait between failed attempts to connect (gRPC's
    /// connection backoff: 1 s, growing by 1.6 to 120 s, with a fifth of
    /// jitter, by default). While it waits, calls fail at once with the
    /// last attempt's error (UNAVAILABLE), unless they wait for the channel
    /// to be ready ([`CallOptions::wait_for_ready`](super::CallOptions::wait_for_ready)).
    pub fn connect_backoff(mut self, backoff: ConnectBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The least time between two resolutions of the target,
    /// [`DEFAULT_MIN_RESOLVE_INTERVAL`] by default. The channel resolves
    /// its target when it connects and when it reconnects after its
    /// connection is lost, but not more often than this, so that a server
    /// that is down does not turn every call into a DNS query.
    pub fn min_resolve_interval(mut self, interval: Duration) -> Self {
        self.min_resolve_interval = interval;
        self
    }

    /// Pings the server after `time` without hearing from it, and gives
    /// the connection up when a ping goes unanswered for the keepalive
    /// timeout: its calls fail with UNAVAILABLE, and the next call
    /// reconnects (grpc-go's `ClientParameters.Time`). Off by default.
    /// Servers limit how often clients may ping (grpc-go allows once every
    /// five minutes by default), and close connections that ping more.
    pub fn keepalive_time(mut self, time: Duration) -> Self {
        self.keepalive_time = Some(time);
        self
    }

    /// How long a keepalive ping may go unanswered,
    /// [`DEFAULT_KEEPALIVE_TIMEOUT`] by default.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// Whether to ping with no call in flight (grpc-go's
    /// `PermitWithoutStream`); false by default.
    pub fn keepalive_while_idle(mut self, while_idle: bool) -> Self {
        self.keepalive_while_idle = while_idle;
        self
    }

    /// Adds an interceptor around every unary call. Interceptors run in
    /// the order they were added, the first outermost: A starts, B starts,
    /// the call is made, B finishes, A finishes. One that fails the call
    /// stops the chain.
    pub fn unary_interceptor(mut self, interceptor: impl UnaryInterceptor) -> Self {
        push_link(&mut self.interceptors.unary, Arc::new(interceptor));
        self
    }

    /// Adds an interceptor around every streaming call (client, server and
    /// bidirectional streaming), in the same order as
    /// [`ChannelBuilder::unary_interceptor`].
    pub fn stream_interceptor(mut self, interceptor: impl StreamInterceptor) -> Self {
        push_link(&mut self.interceptors.stream, Arc::new(interceptor));
        self
    }

    /// The channel; it connects on its first call.
    pub fn connect_lazy(self) -> Channel {
        let interceptors = &self.interceptors;
        let any = !interceptors.unary.is_empty() || !interceptors.stream.is_empty();
        Channel {
            inner: Arc::new(Inner {
                connector: self.connector,
                authority: self.authority,
                max_receive_message_size: self.max_receive_message_size,
                max_send_message_size: self.max_send_message_size,
                connect_timeout: self.connect_timeout,
                failure: Mutex::new((Backoffs::new(self.backoff), None)),
                resolved: Resolved::new(self.min_resolve_interval),
                credentials: self.credentials,
                send_compression: self.send_compression,
                #[cfg(feature = "tls")]
                tls: self.tls,
                keepalive: self.keepalive_time.map(|time| Keepalive {
                    time,
                    timeout: self.keepalive_timeout,
                    while_idle: self.keepalive_while_idle,
                }),
                interceptors: any.then(|| Arc::new(self.interceptors)),
                connection: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                state: tokio::sync::watch::Sender::new(ConnectivityState::Idle),
            }),
        }
    }

    /// The channel, connected now.
    ///
    /// # Errors
    /// UNAVAILABLE when the server cannot be reached.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = self.connect_lazy();
        channel.ready(false).await?;
        Ok(channel)
    }
}

/// A connection to a gRPC server, shared by every client made from it.
/// Cloning is cheap; clones share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), rgrpc::Status> {
/// let channel = rgrpc::Channel::builder("http://127.0.0.1:50051")?.connect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    authority: Authority,
    max_receive_message_size: usize,
    max_send_message_size: usize,
    keepalive: Option<Keepalive>,
    connect_timeout: Duration,
    /// Where the connection backoff is, and the last failed attempt: its
    /// error, and when the next may be made.
    failure: Mutex<(Backoffs, Option<(tokio::time::Instant, Status)>)>,
    /// The addresses the resolver last gave, for a TCP connector.
    resolved: Resolved,
    credentials: Option<Arc<dyn CallCredentials>>,
    send_compression: Option<Compression>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
    /// None when there are none, so that calls pay nothing for them.
    interceptors: Option<Arc<Interceptors>>,
    /// The current connection and its generation, so that concurrent calls
    /// that see it fail replace it only once. Held only to copy or replace it.
    connection: Mutex<Option<Connection>>,
    /// Held while connecting, so that one call connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
    /// Where the connection is.
    state: tokio::sync::watch::Sender<ConnectivityState>,
}

/// The addresses a resolver last gave, and when.
struct Resolved {
    min_interval: Duration,
    last: Mutex<Option<(tokio::time::Instant, Arc<[SocketAddr]>)>>,
}

impl Resolved {
    fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            last: Mutex::new(None),
        }
    }

    /// The addresses of `resolver`: those it last gave, if it gave them less
    /// than the minimum interval ago, or new ones.
    async fn addresses(
        &self,
        resolver: &dyn Resolver,
        name: &Authority,
    ) -> Result<Arc<[SocketAddr]>, Status> {
        if let Some((at, addresses)) = &*crate::lock(&self.last)
            && at.elapsed() < self.min_interval
        {
            return Ok(addresses.clone());
        }
        let addresses: Arc<[SocketAddr]> = resolver
            .resolve()
            .await
            .map_err(|err| Status::unavailable(format!("cannot resolve {name}: {err}")))?
            .into();
        if addresses.is_empty() {
            return Err(Status::unavailable(format!(
                "{name} resolved to no address"
            )));
        }
        *crate::lock(&self.last) = Some((tokio::time::Instant::now(), addresses.clone()));
        Ok(addresses)
    }
}

/// `authority`, given by the application, as calls carry it.
fn parse_authority(authority: &str) -> Result<Authority, Status> {
    authority
        .parse()
        .map_err(|_| Status::invalid_argument(format!("invalid authority {authority:?}")))
}

/// How long a client's keepalive ping may go unanswered: grpc-go's default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The channel's connection: its sender, why it ended if it has, and its
/// generation, which tells a reconnection from the failure it answers.
#[derive(Clone)]
struct Connection {
    generation: u64,
    sender: SendRequest<Bytes>,
    end: Link,
}

impl Channel {
    /// A builder for a channel to `target`, written as gRPC's naming
    /// document says:
    ///
    /// - `host:port`, `dns:host[:port]` or `dns:///host[:port]` (port 443
    ///   when not given): the addresses the system's resolver gives for
    ///   `host`, tried in order;
    /// - `ipv4:address[:port][,address[:port]...]`, `ipv6:address` or
    ///   `ipv6:[address]:port` in a list the same way: those addresses;
    /// - `http://host:port`, and `https://host:port` with the `tls` feature,
    ///   which trusts the system's certificate authorities (see
    ///   [`ChannelBuilder::tls`] for others);
    /// - `unix:path` (relative or absolute) or `unix:///absolute/path`: a
    ///   Unix domain socket.
    ///
    /// The channel connects to the first address that accepts, and
    /// resolves the target again when it reconnects (see
    /// [`ChannelBuilder::min_resolve_interval`]). [`Channel::with_resolver`]
    /// takes a [`Resolver`] of the application's.
    ///
    /// # Errors
    /// INVALID_ARGUMENT when the target is not of those forms. (An
    /// `https://` target's calls fail with UNAVAILABLE when the system's
    /// authorities cannot be loaded.)
    pub fn builder(target: &str) -> Result<ChannelBuilder, Status> {
        let (resolver, authority, https) = match target::parse(target)? {
            #[cfg(unix)]
            Target::Unix(path) => {
                return Ok(ChannelBuilder::new(
                    Connector::Unix(path),
                    Authority::from_static("localhost"),
                ));
            }
            Target::Resolved {
                resolver,
                authority,
                https,
            } => (resolver, authority, https),
        };
        #[cfg(not(feature = "tls"))]
        if https {
            return Err(Status::invalid_argument(format!(
                "invalid target {target:?}: https:// needs TLS, which comes with rgrpc's \
                 `tls` feature; use http:// or host:port"
            )));
        }
        let builder = ChannelBuilder::new(Connector::Tcp(resolver), authority);
        #[cfg(feature = "tls")]
        let builder = ChannelBuilder {
            tls: https.then(|| Tls::System(Arc::default())),
            ..builder
        };
        Ok(builder)
    }

    /// A builder for a channel to the servers `resolver` gives (a list of
    /// its own, a file, a service registry), known as `authority` (the
    /// `:authority` of its calls, such as `example.com:443`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rgrpc::Status> {
    /// let channel = rgrpc::Channel::with_resolver("echo.internal:50051", || async {
    ///     Ok(vec!["10.0.0.7:50051".parse().unwrap(), "10.0.0.8:50051".parse().unwrap()])
    /// })?
    /// .connect_lazy();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// INVALID_ARGUMENT when `authority` is not a valid authority.
    pub fn with_resolver(
        authority: &str,
        resolver: impl Resolver,
    ) -> Result<ChannelBuilder, Status> {
        Ok(ChannelBuilder::new(
            Connector::Tcp(Arc::new(resolver)),
            parse_authority(authority)?,
        ))
    }

    /// A builder for a channel whose connections `connect` opens, to a
    /// server known as `authority` (the `:authority` of its calls, such as
    /// `example.com` or `localhost:50051`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rgrpc::Status> {
    /// let channel = rgrpc::Channel::with_connector("localhost", || {
    ///     tokio::net::TcpStream::connect("127.0.0.1:50051")
    /// })?
    /// .connect_lazy();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// INVALID_ARGUMENT when `authority` is not a valid authority.
    pub fn with_connector(
        authority: &str,
        connect: impl Connect,
    ) -> Result<ChannelBuilder, Status> {
        Ok(ChannelBuilder::new(
            Connector::Custom(Arc::new(connect)),
            parse_authority(authority)?,
        ))
    }

    /// Where the channel's connection is now.
    pub fn state(&self) -> ConnectivityState {
        *self.inner.state.borrow()
    }

    /// Waits until the channel's state is other than `from`, and gives the
    /// new one (grpc-go's `WaitForStateChange`). A channel connects when a
    /// call needs it: to connect one that is idle, make a call, or build it
    /// with [`ChannelBuilder::connect`].
    pub async fn state_changed(&self, from: ConnectivityState) -> ConnectivityState {
        let mut states = self.inner.state.subscribe();
        // The sender lives as long as the channel this borrows: the wait
        // ends with a change.
        match states.wait_for(|state| *state != from).await {
            Ok(state) => *state,
            Err(_) => from,
        }
    }

    /// The channel's interceptors, when it has any that `wanted` says fit.
    pub(crate) fn interceptors(
        &self,
        wanted: impl FnOnce(&Interceptors) -> bool,
    ) -> Option<Arc<Interceptors>> {
        self.inner
            .interceptors
            .as_ref()
            .filter(|interceptors| wanted(interceptors))
            .cloned()
    }

    /// What the requests of a call with `options` are compressed with.
    pub(crate) fn compression(&self, options: &CallOptions) -> Option<Compression> {
        options.compression_or(self.inner.send_compression)
    }

    /// The limit on request messages of a call, unless the call sets its own.
    pub(crate) fn max_send_message_size(&self) -> usize {
        self.inner.max_send_message_size
    }

    /// A connection ready for a new stream, connecting or reconnecting as
    /// needed; `wait_for_ready` when the call waits out failed attempts to
    /// connect instead of failing with them.
    async fn ready(&self, wait_for_ready: bool) -> Result<(SendRequest<Bytes>, Link), Status> {
        // Taken apart before the wait, so that the future holds each part once.
        let current = self.current();
        let failed = match current {
            Some(Connection {
                generation,
                sender,
                end,
            }) => match sender.ready().await {
                Ok(sender) => return Ok((sender, end)),
                Err(_) => Some(generation),
            },
            None => None,
        };
        // Connecting takes a large future (TCP connect and HTTP/2 handshake);
        // boxed, it does not weigh on every call's future.
        Box::pin(self.reconnect(failed, wait_for_ready)).await
    }

    /// Replaces the connection of generation `failed` (none: no connection
    /// yet), unless another call did so meanwhile. After a failed attempt,
    /// the next waits for the backoff: calls fail with the last error until
    /// then, or, with `wait_for_ready`, wait and try again.
    async fn reconnect(
        &self,
        mut failed: Option<u64>,
        wait_for_ready: bool,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        let connection = loop {
            let connecting = self.inner.connecting.lock().await;
            match self.current() {
                // Another call reconnected meanwhile.
                Some(connection) if Some(connection.generation) != failed => break connection,
                current => failed = current.map(|c| c.generation).or(failed),
            }
            let waiting = crate::lock(&self.inner.failure).1.clone();
            let retry_at = match waiting {
                Some((retry_at, status)) if retry_at > tokio::time::Instant::now() => {
                    if !wait_for_ready {
                        return Err(status);
                    }
                    retry_at
                }
                _ => match self.connect(failed.map_or(0, |g| g + 1)).await {
                    Ok((sender, end)) => {
                        let mut failure = crate::lock(&self.inner.failure);
                        failure.0.reset();
                        failure.1 = None;
                        drop(failure);
                        let connection = Connection {
                            generation: failed.map_or(0, |g| g + 1),
                            sender,
                            end,
                        };
                        *crate::lock(&self.inner.connection) = Some(connection.clone());
                        self.inner.state.send_replace(ConnectivityState::Ready);
                        break connection;
                    }
                    Err(status) => {
                        self.inner
                            .state
                            .send_replace(ConnectivityState::TransientFailure);
                        let mut failure = crate::lock(&self.inner.failure);
                        let retry_at = tokio::time::Instant::now() + failure.0.next();
                        failure.1 = Some((retry_at, status.clone()));
                        drop(failure);
                        if !wait_for_ready {
                            return Err(status);
                        }
                        retry_at
                    }
                },
            };
            drop(connecting);
            tokio::time::sleep_until(retry_at).await;
        };
        let sender = connection
            .sender
            .ready()
            .await
            .map_err(|err| connection.end.status(&err))?;
        Ok((sender, connection.end))
    }

    /// The current connection, if any.
    fn current(&self) -> Option<Connection> {
        crate::lock(&self.inner.connection).clone()
    }

    /// Opens connection `generation`, within the connect timeout, or the
    /// backoff's current wait when that is longer.
    async fn connect(&self, generation: u64) -> Result<(SendRequest<Bytes>, Link), Status> {
        self.inner.state.send_replace(ConnectivityState::Connecting);
        let backoff = crate::lock(&self.inner.failure).0.current();
        let timeout = self.inner.connect_timeout.max(backoff);
        tokio::time::timeout(timeout, self.open_connection(generation))
            .await
            .unwrap_or_else(|_| {
                Err(Status::unavailable(format!(
                    "could not connect to {} within {timeout:?}",
                    self.inner.authority
                )))
            })
    }

    async fn open_connection(&self, generation: u64) -> Result<(SendRequest<Bytes>, Link), Status> {
        match &self.inner.connector {
            Connector::Tcp(resolver) => {
                let socket = self.connect_first(&**resolver).await?;
                self.handshake(socket, generation).await
            }
            #[cfg(unix)]
            Connector::Unix(path) => {
                let socket = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|err| transport::cannot_connect(&path.display(), &err))?;
                self.handshake(socket, generation).await
            }
            Connector::Custom(connect) => {
                let authority = &self.inner.authority;
                let io = connect
                    .connect()
                    .await
                    .map_err(|err| transport::cannot_connect(authority, &err))?;
                self.handshake(io, generation).await
            }
            #[cfg(feature = "server")]
            Connector::InProcess(server) => {
                let (client, server_side) = transport::pipe();
                server.serve_io(server_side);
                self.handshake(client, generation).await
            }
        }
    }

    /// A TCP connection to the first of the resolver's addresses that
    /// accepts one (gRPC's `pick_first`).
    async fn connect_first(
        &self,
        resolver: &dyn Resolver,
    ) -> Result<tokio::net::TcpStream, Status> {
        let name = &self.inner.authority;
        let addresses = self.inner.resolved.addresses(resolver, name).await?;
        let mut failure = None;
        for address in addresses.iter() {
            match transport::connect_tcp(*address).await {
                Ok(socket) => return Ok(socket),
                Err(status) => failure = Some(status),
            }
        }
        Err(match (failure, addresses.len()) {
            (Some(status), 1) => status,
            (Some(status), tried) => Status::unavailable(format!(
                "cannot connect to any of the {tried} addresses of {name}; the last: {}",
                status.message()
            )),
            (None, _) => Status::unavailable(format!("{name} resolved to no address")),
        })
    }

    /// The handshakes over connection `generation`, `io`: TLS if the
    /// channel has it, then HTTP/2. When it ends, the channel is idle again,
    /// unless another connection has taken its place.
    async fn handshake(
        &self,
        io: impl Io,
        generation: u64,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        let keepalive = self.inner.keepalive;
        let inner = Arc::downgrade(&self.inner);
        let on_end = move || {
            if let Some(inner) = inner.upgrade() {
                let current = crate::lock(&inner.connection)
                    .as_ref()
                    .map(|connection| connection.generation);
                if current == Some(generation) {
                    inner.state.send_replace(ConnectivityState::Idle);
                }
            }
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.inner.tls {
            let tls = match tls {
                Tls::Given(tls) => tls,
                Tls::System(loaded) => loaded
                    .get_or_init(|| {
                        ClientTls::new()
                            .connector(self.inner.authority.host())
                            .map_err(|err| Status::unavailable(err.to_string()))
                    })
                    .as_ref()
                    .map_err(Clone::clone)?,
            };
            // Boxed: the HTTP/2 connection's code is not made again for
            // each kind of socket under TLS.
            let io: Box<dyn Io> = Box::new(tls.connect(io).await?);
            return transport::handshake(io, keepalive, on_end).await;
        }
        transport::handshake(io, keepalive, on_end).await
    }

    /// Whether the channel's connections encrypt what they carry: only
    /// with TLS, since rgrpc cannot vouch for a connector of the user's.
    fn encrypts(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.inner.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Opens a stream for a call to `path` with `options` and sends the
    /// request headers with `metadata`, saying that the requests are
    /// compressed with `compression`; response messages are limited to the
    /// call's limit, or the channel's.
    pub(crate) async fn start(
        &self,
        path: &'static str,
        metadata: [&Metadata; 2],
        bounds: &Bounds,
        options: &CallOptions,
        compression: Option<Compression>,
    ) -> Result<(SendStream<Bytes>, Receiving), Status> {
        // Ready first: the request is built after the waits, so the
        // future does not hold it while waiting.
        let (mut sender, end) = self.ready(options.waits_for_ready()).await?;
        let credentials = match &self.inner.credentials {
            // Boxed: only the calls of channels with credentials carry
            // this wait in their futures.
            Some(credentials) => Some(Box::pin(self.credentials(credentials, path)).await?),
            None => None,
        };
        let mut request = protocol::request(
            self.encrypts(),
            &self.inner.authority,
            path,
            metadata,
            bounds.deadline().map(remaining),
            compression,
        )?;
        if let Some(credentials) = &credentials {
            protocol::write_metadata(credentials, request.headers_mut());
        }
        let (response, stream) = sender
            .send_request(request, false)
            .map_err(|err| end.status(&err))?;
        let limit = options
            .receive_limit()
            .unwrap_or(self.inner.max_receive_message_size);
        Ok((stream, Receiving::new(response, end, bounds.clone(), limit)))
    }

    /// The metadata `credentials` give a call to `path`.
    ///
    /// # Errors
    /// UNAUTHENTICATED when they must not go over this connection, which
    /// does not encrypt; their own error when they fail.
    async fn credentials(
        &self,
        credentials: &Arc<dyn CallCredentials>,
        path: &'static str,
    ) -> Result<Metadata, Status> {
        if credentials.require_secure() && !self.encrypts() {
            return Err(Status::unauthenticated(
                "these credentials require a connection that encrypts, and this one does not",
            ));
        }
        credentials.metadata(path).await
    }
}
