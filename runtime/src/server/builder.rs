//! [`ServerBuilder`]: the services and settings of a [`Server`].

use std::sync::Arc;
use std::time::Duration;

use super::intercept::{Interceptors, StreamInterceptor, UnaryInterceptor};
use super::router::Routes;
use super::{Server, Service};
use crate::call::push_link;
use crate::frame::{Compression, DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE};
#[cfg(feature = "tls")]
use crate::transport::tls::{self, Acceptor, ServerTls};
use crate::transport::{Accept, Keepalive, LinkLimits, PingPolicy};

/// Server settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_receive_message_size: usize,
    pub(crate) max_send_message_size: usize,
    pub(crate) accept: Accept,
    pub(crate) shutdown_grace: Duration,
    /// Past this long without calls, a connection is sent GOAWAY.
    pub(crate) max_connection_idle: Option<Duration>,
    /// Past this age (give or take a tenth), a connection is sent GOAWAY,
    /// and past `max_connection_age_grace` more it is closed.
    pub(crate) max_connection_age: Option<Duration>,
    pub(crate) max_connection_age_grace: Option<Duration>,
    /// Connections served at once; more are closed as they come.
    pub(crate) max_connections: Option<usize>,
    pub(crate) keepalive: Keepalive,
    /// What responses are compressed with, when the client accepts it.
    pub(crate) send_compression: Option<Compression>,
    /// TLS on every connection accepted, in-memory ones excepted.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Acceptor>,
}

/// How long a new connection may take to start HTTP/2, as grpc-go's default.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// Concurrent calls on one connection: the least RFC 9113 recommends, the
/// default of many proxies, and, at 1 MiB of flow-control window each, a
/// bound of 100 MiB on what one connection's unread requests can hold.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;

/// The largest request header block, metadata included: gRPC C++'s limit.
/// Metadata is for small things (tokens, trace context), and every stream
/// may hold this much.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// What the incomplete request messages of one connection's calls may hold
/// in all: sixteen messages of the default 4 MiB limit being received at once.
pub const DEFAULT_MAX_CONNECTION_BUFFER: usize = 64 * 1024 * 1024;

/// The calls a client may cancel on one connection within
/// [`DEFAULT_RESET_WINDOW`] before the connection is closed: a cancelled
/// call still cost the server its start, and a client that cancels calls as
/// fast as it opens them is attacking (the HTTP/2 "rapid reset").
pub const DEFAULT_MAX_RESETS: u32 = 200;

/// The window [`DEFAULT_MAX_RESETS`] counts in.
pub const DEFAULT_RESET_WINDOW: Duration = Duration::from_secs(30);

/// Silence from a client after which the server pings it: grpc-go's
/// default.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(2 * 60 * 60);

/// How long a keepalive ping may go unanswered before the connection is
/// closed: grpc-go's default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The least time a client must leave between pings: grpc-go's default
/// `EnforcementPolicy.MinTime`.
pub const DEFAULT_KEEPALIVE_MIN_TIME: Duration = Duration::from_secs(5 * 60);

/// How long a graceful shutdown waits for calls in flight: the time
/// Kubernetes gives a pod between SIGTERM and SIGKILL by default.
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Builds a [`Server`].
pub struct ServerBuilder {
    routes: Routes,
    config: Config,
    interceptors: Interceptors,
}

impl ServerBuilder {
    /// A builder with no services and default settings.
    pub(crate) fn new() -> Self {
        ServerBuilder {
            routes: Routes::default(),
            config: Config {
                max_receive_message_size: DEFAULT_MAX_RECEIVE_SIZE,
                max_send_message_size: DEFAULT_MAX_SEND_SIZE,
                accept: Accept {
                    timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                    max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
                    max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
                    link: LinkLimits {
                        held: DEFAULT_MAX_CONNECTION_BUFFER,
                        resets: DEFAULT_MAX_RESETS,
                        per: DEFAULT_RESET_WINDOW,
                        pings: PingPolicy {
                            min_time: DEFAULT_KEEPALIVE_MIN_TIME,
                            permit_without_calls: false,
                        },
                    },
                },
                shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
                max_connection_idle: None,
                max_connection_age: None,
                max_connection_age_grace: None,
                max_connections: None,
                keepalive: Keepalive {
                    time: DEFAULT_KEEPALIVE_TIME,
                    timeout: DEFAULT_KEEPALIVE_TIMEOUT,
                    while_idle: true,
                },
                send_compression: None,
                #[cfg(feature = "tls")]
                tls: None,
            },
            interceptors: Interceptors::default(),
        }
    }

    /// Adds a service (a generated `XServer` wrapping your implementation).
    pub fn add_service<S: Service>(mut self, service: S) -> Self {
        if let Some(descriptor) = S::FILE_DESCRIPTOR {
            self.routes.describe(S::NAME, descriptor);
        }
        service.register(&mut self.routes);
        self
    }

    /// The largest request message accepted, 4 MiB by default; larger ones
    /// fail the call with RESOURCE_EXHAUSTED.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.config.max_receive_message_size = bytes;
        self
    }

    /// The largest response message sent, [`DEFAULT_MAX_SEND_SIZE`] by
    /// default. A larger response is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED, which a stream's `send` also returns.
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.config.max_send_message_size = bytes;
        self
    }

    /// Serves TLS, as `tls` says, on every connection the server accepts:
    /// from [`Server::serve`], a listener, or any stream of connections.
    /// Clients must agree on HTTP/2 by ALPN or send none. A client whose
    /// handshake fails is disconnected, and the server goes on. In-memory
    /// channels skip TLS: their calls never leave the process.
    ///
    /// # Errors
    /// When `tls` cannot be used (see [`tls::Error`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: ServerTls) -> Result<Self, tls::Error> {
        self.config.tls = Some(tls.acceptor()?);
        Ok(self)
    }

    /// Compresses response messages with `compression` whenever the
    /// client accepts it (its `grpc-accept-encoding` names it); otherwise
    /// they go uncompressed. A handler can choose otherwise for its call
    /// ([`CallContext::set_compression`](crate::CallContext::set_compression)),
    /// and a streaming one for a message
    /// ([`ResponseSink::disable_next_message_compression`](super::ResponseSink::disable_next_message_compression)).
    /// Requests are decompressed in every compression this build has,
    /// whatever this says; one in another is refused with UNIMPLEMENTED.
    pub fn send_compressed(mut self, compression: Compression) -> Self {
        self.config.send_compression = Some(compression);
        self
    }

    /// How long a new connection may take to start HTTP/2 (the TLS
    /// handshake if any, the server's settings sent, the client's preface
    /// received) before it is closed, 120 seconds by default.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.accept.timeout = timeout;
        self
    }

    /// How many calls one connection may have at once,
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`] by default. Clients wait for a
    /// free slot (gRPC clients queue calls past the limit the server
    /// announces); a stream opened regardless is refused with
    /// REFUSED_STREAM, which clients may retry.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.config.accept.max_concurrent_streams = streams;
        self
    }

    /// The largest request header block (metadata included) accepted,
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`] by default. A larger one is answered
    /// with HTTP 431 and the stream refused.
    pub fn max_header_list_size(mut self, bytes: u32) -> Self {
        self.config.accept.max_header_list_size = bytes;
        self
    }

    /// What the incomplete request messages of one connection's calls may
    /// hold in all, [`DEFAULT_MAX_CONNECTION_BUFFER`] by default. A call
    /// whose message would take it past this fails with RESOURCE_EXHAUSTED.
    pub fn max_connection_buffer(mut self, bytes: usize) -> Self {
        self.config.accept.link.held = bytes;
        self
    }

    /// How many calls a client may cancel on one connection within `per`
    /// before the connection is closed with GOAWAY ENHANCE_YOUR_CALM,
    /// [`DEFAULT_MAX_RESETS`] in [`DEFAULT_RESET_WINDOW`] by default.
    pub fn max_resets(mut self, resets: u32, per: Duration) -> Self {
        self.config.accept.link.resets = resets;
        self.config.accept.link.per = per;
        self
    }

    /// How long a shutdown waits for the calls in flight to finish, 30
    /// seconds by default. Past it, the calls left are cancelled: their
    /// handlers see [`CallContext::cancelled`](crate::CallContext::cancelled),
    /// their clients get UNAVAILABLE, and the server returns.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// Sends GOAWAY on a connection that has had no call for `idle`, so that
    /// idle clients let go of it (grpc-go's `MaxConnectionIdle`). Unset by
    /// default: connections may idle for ever, kept in check by keepalive.
    pub fn max_connection_idle(mut self, idle: Duration) -> Self {
        self.config.max_connection_idle = Some(idle);
        self
    }

    /// Sends GOAWAY on a connection once it is `age` old, give or take a
    /// tenth so that connections made together do not all go together
    /// (grpc-go's `MaxConnectionAge`): clients reconnect, and find new
    /// servers behind a load balancer. Unset by default.
    pub fn max_connection_age(mut self, age: Duration) -> Self {
        self.config.max_connection_age = Some(age);
        self
    }

    /// How long calls on a connection past its maximum age may go on before
    /// they are cancelled and the connection closed (grpc-go's
    /// `MaxConnectionAgeGrace`). Unset by default: they may finish.
    pub fn max_connection_age_grace(mut self, grace: Duration) -> Self {
        self.config.max_connection_age_grace = Some(grace);
        self
    }

    /// How many connections to serve at once; connections past it are
    /// closed as soon as they are accepted, rather than left to pile up.
    /// Unset by default. In-memory connections do not count.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = Some(connections);
        self
    }

    /// Pings a client after `time` without hearing from it,
    /// [`DEFAULT_KEEPALIVE_TIME`] by default (grpc-go's
    /// `ServerParameters.Time`).
    pub fn keepalive_time(mut self, time: Duration) -> Self {
        self.config.keepalive.time = time;
        self
    }

    /// Closes a connection whose client has not answered a keepalive ping
    /// within `timeout`, [`DEFAULT_KEEPALIVE_TIMEOUT`] by default; its calls
    /// are cancelled.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.config.keepalive.timeout = timeout;
        self
    }

    /// The least time a client must leave between two pings,
    /// [`DEFAULT_KEEPALIVE_MIN_TIME`] by default (grpc-go's
    /// `EnforcementPolicy.MinTime`). A client that pings more often three
    /// times in a row, with no response data or headers sent between, gets
    /// GOAWAY `ENHANCE_YOUR_CALM` with the debug data `too_many_pings`, and
    /// the connection is closed. Clients that send SETTINGS frames over and
    /// over are closed the same way (`too_many_settings`).
    pub fn keepalive_min_time(mut self, min_time: Duration) -> Self {
        self.config.accept.link.pings.min_time = min_time;
        self
    }

    /// Whether a client may ping with no call in flight, false by default
    /// (grpc-go's `EnforcementPolicy.PermitWithoutStream`): then a ping
    /// within two hours of the last counts against the client.
    pub fn keepalive_permit_without_calls(mut self, permit: bool) -> Self {
        self.config.accept.link.pings.permit_without_calls = permit;
        self
    }

    /// Adds an interceptor around every unary call. Interceptors run in
    /// the order they were added, the first outermost: A starts, B starts,
    /// the handler runs, B finishes, A finishes. One that fails the call
    /// stops the chain.
    pub fn unary_interceptor(mut self, interceptor: impl UnaryInterceptor) -> Self {
        push_link(&mut self.interceptors.unary, Arc::new(interceptor));
        self
    }

    /// Adds an interceptor around every streaming call (client, server and
    /// bidirectional streaming), in the same order as
    /// [`ServerBuilder::unary_interceptor`].
    pub fn stream_interceptor(mut self, interceptor: impl StreamInterceptor) -> Self {
        push_link(&mut self.interceptors.stream, Arc::new(interceptor));
        self
    }

    /// The server, ready to serve.
    pub fn build(mut self) -> Server {
        self.routes.built();
        Server::new(self.routes, self.config, self.interceptors)
    }
}
