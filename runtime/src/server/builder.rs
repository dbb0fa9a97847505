//! [`ServerBuilder`]: the services and settings of a [`Server`].

use std::sync::Arc;
use std::time::Duration;

use super::intercept::{Interceptors, StreamInterceptor, UnaryInterceptor};
use super::router::Routes;
use super::{Server, Service};
use crate::call::push_link;
use crate::frame::{DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE};

/// Server settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_receive_message_size: usize,
    pub(crate) max_send_message_size: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
}

/// How long a new connection may take to start HTTP/2, as grpc-go's default.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

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
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            },
            interceptors: Interceptors::default(),
        }
    }

    /// Adds a service (a generated `XServer` wrapping your implementation).
    pub fn add_service<S: Service>(mut self, service: S) -> Self {
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

    /// How long a new connection may take to start HTTP/2 (the server's
    /// settings sent, the client's preface received) before it is closed,
    /// 120 seconds by default.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
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
    pub fn build(self) -> Server {
        Server::new(self.routes, self.config, self.interceptors)
    }
}
