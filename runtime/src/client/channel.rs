//! [`Channel`]: one HTTP/2 connection multiplexing every call, opened
//! lazily and reopened after a failure, and the opening of each call's
//! stream on it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::SendStream;
use http::uri::Authority;

use super::backoff::ConnectBackoff;
use super::balancer::{Addresses, Balancer, LoadBalancing};
#[cfg(feature = "tls")]
use super::dial::Tls;
use super::dial::{Connect, Dialer, Endpoint};
use super::intercept::{Interceptors, StreamInterceptor, UnaryInterceptor};
use super::receiving::Receiving;
use super::retry::{DEFAULT_RETRY_BUFFER_SIZE, Throttle};
use super::service_config::{MethodConfig, RetryPolicy, ServiceConfig};
use super::subchannel::ConnectivityState;
use super::target::{self, Resolver, Target};
use crate::call::{Bounds, CallCredentials, CallOptions, push_link, remaining};
use crate::frame::{Compression, DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE};
use crate::transport::Keepalive;
#[cfg(feature = "server")]
use crate::transport::ServeIo;
#[cfg(feature = "tls")]
use crate::transport::tls::{self, ClientTls};
use crate::{Metadata, Status, protocol};

/// Where a channel's connections go.
enum Source {
    /// To the addresses a resolver gives.
    Resolver(Arc<dyn Resolver>),
    /// One way to the server.
    One(Endpoint),
}

/// How long a connection may take to open (the socket and HTTP/2's
/// handshake), gRPC's connection-backoff minimum.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The least time between two resolutions of a channel's target: grpc-go's
/// for DNS.
pub const DEFAULT_MIN_RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// How often a channel in use resolves its target again, to find servers
/// that came or went: the time DNS answers are commonly cached for.
pub const DEFAULT_RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// Builds a [`Channel`].
pub struct ChannelBuilder {
    source: Source,
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
    resolve_interval: Duration,
    load_balancing: LoadBalancing,
    service_config: Option<ServiceConfig>,
    retry_buffer_size: usize,
    credentials: Option<Arc<dyn CallCredentials>>,
    send_compression: Option<Compression>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
}

impl ChannelBuilder {
    fn new(source: Source, authority: Authority) -> Self {
        Self {
            source,
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
            resolve_interval: DEFAULT_RESOLVE_INTERVAL,
            load_balancing: LoadBalancing::default(),
            service_config: None,
            retry_buffer_size: DEFAULT_RETRY_BUFFER_SIZE,
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
            Source::One(Endpoint::InProcess(server)),
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
        if matches!(self.source, Source::One(Endpoint::InProcess(_))) {
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
    /// its target when it first connects, and again after a connection is
    /// lost or cannot be made, but not more often than this, so that a
    /// server that is down does not turn every call into a DNS query.
    pub fn min_resolve_interval(mut self, interval: Duration) -> Self {
        self.min_resolve_interval = interval;
        self
    }

    /// How often the target is resolved again while the channel is in use,
    /// [`DEFAULT_RESOLVE_INTERVAL`] by default, so that servers added
    /// behind its name (a service scaled up) get calls too. The calls do
    /// not wait for it: they go on over the connections there are, and a
    /// channel nobody calls resolves nothing.
    pub fn resolve_interval(mut self, interval: Duration) -> Self {
        self.resolve_interval = interval;
        self
    }

    /// How calls are spread over the addresses of the target:
    /// [`LoadBalancing::PickFirst`] by default, or
    /// [`LoadBalancing::RoundRobin`].
    pub fn load_balancing(mut self, policy: LoadBalancing) -> Self {
        self.load_balancing = policy;
        self
    }

    /// The channel's service config, in the JSON of gRFC A2 and A6:
    ///
    /// - `methodConfig`, each for the methods its `name` list gives (a
    ///   `service` and `method`, a whole `service`, or `{}` for every
    ///   method; the most specific applies): `timeout` (the call's
    ///   deadline, unless it has an earlier one), `waitForReady` (unless
    ///   the call says), `maxRequestMessageBytes` and
    ///   `maxResponseMessageBytes` (unless the call sets its own, and no
    ///   more than the channel's), and a `retryPolicy`: `maxAttempts` (2
    ///   to 5), `initialBackoff`, `maxBackoff`, `backoffMultiplier` and
    ///   `retryableStatusCodes`;
    /// - `retryThrottling`: `maxTokens` and `tokenRatio`;
    /// - `loadBalancingConfig`: the first of its policies that the channel
    ///   has (`pick_first`, `round_robin`), which replaces
    ///   [`ChannelBuilder::load_balancing`]'s.
    ///
    /// A call under a retry policy is made again after an attempt fails
    /// with one of its codes, until the server sends the response headers
    /// (the call is then committed), after a random wait under a backoff
    /// that grows by the multiplier, or as long as the server says in
    /// `grpc-retry-pushback-ms`, and within the call's deadline. What the
    /// call sent goes again with each attempt; one that sent more than
    /// [`ChannelBuilder::retry_buffer_size`] commits. Streaming calls
    /// behind stream interceptors are not retried.
    ///
    /// ```
    /// # fn build() -> Result<(), rgrpc::Status> {
    /// let channel = rgrpc::Channel::builder("dns:///echo.internal:50051")?
    ///     .service_config(r#"{
    ///         "loadBalancingConfig": [{"round_robin": {}}],
    ///         "methodConfig": [{
    ///             "name": [{"service": "echo.Echo"}],
    ///             "timeout": "2s",
    ///             "retryPolicy": {
    ///                 "maxAttempts": 3,
    ///                 "initialBackoff": "0.1s",
    ///                 "maxBackoff": "1s",
    ///                 "backoffMultiplier": 2,
    ///                 "retryableStatusCodes": ["UNAVAILABLE"]
    ///             }
    ///         }]
    ///     }"#)?
    ///     .connect_lazy();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// INVALID_ARGUMENT, saying where and why, when `json` is not a valid
    /// service config. Fields it does not know are left alone, as gRPC
    /// does; a `hedgingPolicy` is refused, since hedging is not supported.
    pub fn service_config(mut self, json: &str) -> Result<Self, Status> {
        let config = ServiceConfig::from_json(json)?;
        if let Some(policy) = config.load_balancing {
            self.load_balancing = policy;
        }
        self.service_config = Some(config);
        Ok(self)
    }

    /// How much of what a call under a retry policy sends it keeps to send
    /// again, [`DEFAULT_RETRY_BUFFER_SIZE`] by default: a call that sends
    /// more commits, and is not retried after.
    pub fn retry_buffer_size(mut self, bytes: usize) -> Self {
        self.retry_buffer_size = bytes;
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
        let dialer = Arc::new(Dialer {
            authority: self.authority,
            keepalive: self.keepalive_time.map(|time| Keepalive {
                time,
                timeout: self.keepalive_timeout,
                while_idle: self.keepalive_while_idle,
            }),
            connect_timeout: self.connect_timeout,
            #[cfg(feature = "tls")]
            tls: self.tls,
        });
        let addresses = match self.source {
            Source::Resolver(resolver) => Addresses::Resolved {
                resolver,
                min_interval: self.min_resolve_interval,
                every: self.resolve_interval,
            },
            Source::One(endpoint) => Addresses::One(endpoint),
        };
        Channel {
            inner: Arc::new(Inner {
                balancer: Balancer::new(
                    self.load_balancing,
                    addresses,
                    dialer.clone(),
                    self.backoff,
                ),
                dialer,
                max_receive_message_size: self.max_receive_message_size,
                max_send_message_size: self.max_send_message_size,
                throttle: self
                    .service_config
                    .as_ref()
                    .and_then(|config| config.throttling)
                    .map(Throttle::new),
                service_config: self.service_config,
                retry_buffer_size: self.retry_buffer_size,
                credentials: self.credentials,
                send_compression: self.send_compression,
                interceptors: any.then(|| Arc::new(self.interceptors)),
            }),
        }
    }

    /// The channel, connected now.
    ///
    /// # Errors
    /// UNAVAILABLE when the server cannot be reached.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = self.connect_lazy();
        channel.inner.balancer.pick(false).await?;
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
    balancer: Balancer,
    dialer: Arc<Dialer>,
    max_receive_message_size: usize,
    max_send_message_size: usize,
    service_config: Option<ServiceConfig>,
    throttle: Option<Throttle>,
    retry_buffer_size: usize,
    credentials: Option<Arc<dyn CallCredentials>>,
    send_compression: Option<Compression>,
    /// None when there are none, so that calls pay nothing for them.
    interceptors: Option<Arc<Interceptors>>,
}

/// `authority`, given by the application, as calls carry it.
fn parse_authority(authority: &str) -> Result<Authority, Status> {
    authority
        .parse()
        .map_err(|_| Status::invalid_argument(format!("invalid authority {authority:?}")))
}

/// How long a client's keepalive ping may go unanswered: grpc-go's default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

impl Channel {
    /// A builder for a channel to `target`, written as gRPC's naming
    /// document says:
    ///
    /// - `host:port`, `dns:host[:port]` or `dns:///host[:port]` (port 443
    ///   when not given): the addresses the system's resolver gives for
    ///   `host`;
    /// - `dns://server[:port]/host[:port]`, with the `hickory-dns` feature:
    ///   the addresses the DNS server `server` gives for `host`;
    /// - `ipv4:address[:port][,address[:port]...]`, `ipv6:address` or
    ///   `ipv6:[address]:port` in a list the same way: those addresses;
    /// - `http://host:port`, and `https://host:port` with the `tls` feature,
    ///   which trusts the system's certificate authorities (see
    ///   [`ChannelBuilder::tls`] for others);
    /// - `unix:path` (relative or absolute) or `unix:///absolute/path`: a
    ///   Unix domain socket.
    ///
    /// The channel spreads its calls over the addresses as its load
    /// balancing says ([`ChannelBuilder::load_balancing`]), and resolves
    /// the target again as it goes (see
    /// [`ChannelBuilder::min_resolve_interval`] and
    /// [`ChannelBuilder::resolve_interval`]). [`Channel::with_resolver`]
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
                    Source::One(Endpoint::Unix(Arc::new(path))),
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
        let builder = ChannelBuilder::new(Source::Resolver(resolver), authority);
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
            Source::Resolver(Arc::new(resolver)),
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
            Source::One(Endpoint::Custom(Arc::new(connect))),
            parse_authority(authority)?,
        ))
    }

    /// Where the channel's connections are now: ready when one of them
    /// is; connecting when none is but one is being opened; in transient
    /// failure when every attempt failed.
    pub fn state(&self) -> ConnectivityState {
        self.inner.balancer.state()
    }

    /// Shuts the channel down, and every clone of it: new calls fail with
    /// UNAVAILABLE, calls under way finish, and each connection closes once
    /// its calls have ended. The state becomes
    /// [`ConnectivityState::Shutdown`], for good. (Dropping the last clone
    /// of a channel closes its connections the same way.)
    pub fn shutdown(&self) {
        self.inner.balancer.shut_down();
    }

    /// Waits until the channel's state is other than `from`, and gives the
    /// new one (grpc-go's `WaitForStateChange`). A channel connects when a
    /// call needs it: to connect one that is idle, make a call, or build it
    /// with [`ChannelBuilder::connect`].
    pub async fn state_changed(&self, from: ConnectivityState) -> ConnectivityState {
        self.inner.balancer.state_changed(from).await
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

    /// `options` with what the service config says of calls to `path`
    /// where they leave it to the channel.
    pub(crate) fn configure(&self, path: &str, mut options: CallOptions) -> CallOptions {
        let Some(config) = self.method_config(path) else {
            return options;
        };
        if let Some(timeout) = config.timeout {
            options = options.timeout_at_most(timeout);
        }
        if let Some(wait) = config.wait_for_ready
            && !options.says_wait_for_ready()
        {
            options = options.wait_for_ready(wait);
        }
        if let Some(bytes) = config.max_request_message_bytes
            && options.send_limit().is_none()
        {
            options = options.max_send_message_size(bytes.min(self.inner.max_send_message_size));
        }
        if let Some(bytes) = config.max_response_message_bytes
            && options.receive_limit().is_none()
        {
            options =
                options.max_receive_message_size(bytes.min(self.inner.max_receive_message_size));
        }
        options
    }

    /// What the service config says of calls to `path`, if anything.
    fn method_config(&self, path: &str) -> Option<&MethodConfig> {
        self.inner
            .service_config
            .as_ref()?
            .method(path)
            .map(|config| &**config)
    }

    /// The retry policy of calls to `path`, if they have one, and the
    /// largest request they keep to send again.
    pub(crate) fn retry_policy(&self, path: &str) -> Option<(&RetryPolicy, usize)> {
        let policy = self.method_config(path)?.retry.as_ref()?;
        Some((policy, self.inner.retry_buffer_size))
    }

    /// The channel's retry throttle, if its service config has one.
    pub(crate) fn throttle(&self) -> Option<&Throttle> {
        self.inner.throttle.as_ref()
    }

    /// A call under a retry policy committed with the response headers:
    /// the retry throttle counts it a success.
    pub(crate) fn committed(&self) {
        if let Some(throttle) = self.throttle() {
            throttle.succeeded();
        }
    }

    /// Opens a stream for a call to `path` with `options` and sends the
    /// request headers with `metadata`, saying that the requests are
    /// compressed with `compression`, and how many `previous` attempts the
    /// call made; response messages are limited to the call's limit, or
    /// the channel's.
    pub(crate) async fn start(
        &self,
        path: &'static str,
        metadata: [&Metadata; 2],
        bounds: &Bounds,
        options: &CallOptions,
        compression: Option<Compression>,
        previous: u32,
    ) -> Result<(SendStream<Bytes>, Receiving), Status> {
        // Ready first: the request is built after the waits, so the
        // future does not hold it while waiting.
        let (mut sender, end) = self.inner.balancer.pick(options.waits_for_ready()).await?;
        let credentials = match &self.inner.credentials {
            // Boxed: only the calls of channels with credentials carry
            // this wait in their futures.
            Some(credentials) => Some(Box::pin(self.credentials(credentials, path)).await?),
            None => None,
        };
        let mut request = protocol::request(
            self.inner.dialer.encrypts(),
            &self.inner.dialer.authority,
            path,
            metadata,
            bounds.deadline().map(remaining),
            compression,
        )?;
        if let Some(credentials) = &credentials {
            protocol::write_metadata(credentials, request.headers_mut());
        }
        if previous > 0 {
            protocol::previous_attempts(&mut request, previous);
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
        if credentials.require_secure() && !self.inner.dialer.encrypts() {
            return Err(Status::unauthenticated(
                "these credentials require a connection that encrypts, and this one does not",
            ));
        }
        credentials.metadata(path).await
    }
}
