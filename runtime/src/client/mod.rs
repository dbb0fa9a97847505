//! The gRPC client: a [`Channel`] to a server, and the calls of the four
//! shapes that generated clients make on it, over the transport.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `channel` | [`Channel`] and [`ChannelBuilder`]: the channel's settings, and opening a call's stream |
//! | `balancer` | [`LoadBalancing`]: a subchannel per address, resolving again, and picking a connection for each call |
//! | `subchannel` | the connection to one address, its [`ConnectivityState`] and backoff |
//! | `dial` | opening one connection: socket, TLS, HTTP/2 |
//! | `dns` | `dns://server/host` targets, asked of that server (feature `hickory-dns`) |
//! | `backoff` | [`ConnectBackoff`]: the waits between failed attempts to connect |
//! | `service_config` | the service config's JSON, read and checked: method configs, load balancing, retry throttling |
//! | `retry` | retries under a retry policy: when, how long to wait, and throttling |
//! | `replay` | retries of calls that stream their requests: what is kept to send again, and the new attempts |
//! | `target` | targets as gRPC's naming document writes them, and the [`Resolver`]s that give their addresses |
//! | `call` | [`Call`]: a call with its options, and the typed start of each shape |
//! | `sending` | a call's request messages going out, untyped |
//! | `receiving` | a call's response headers, messages and status, untyped |
//! | `handles` | the typed handles of a call in progress |
//! | `intercept` | the interceptors, and the chains calls run through |

mod backoff;
mod balancer;
pub(crate) mod call;
mod channel;
mod dial;
#[cfg(feature = "hickory-dns")]
mod dns;
mod handles;
mod intercept;
mod receiving;
mod replay;
mod retry;
mod sending;
mod service_config;
mod subchannel;
mod target;

pub use crate::call::{BearerToken, CallCredentials, CallOptions};
pub use crate::transport::Io;
pub use backoff::ConnectBackoff;
pub use balancer::LoadBalancing;
pub use call::{
    BidiStreaming, Call, ClientStreaming, ServerStreaming, Shape, Unary, bidi_streaming,
    client_streaming, server_streaming, unary,
};
pub use channel::{
    Channel, ChannelBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MIN_RESOLVE_INTERVAL, DEFAULT_RESOLVE_INTERVAL,
};
pub use dial::Connect;
pub use handles::{BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream};
pub use intercept::{
    ClientCall, StartedStream, StreamInterceptor, StreamNext, UnaryInterceptor, UnaryNext,
};
pub use retry::DEFAULT_RETRY_BUFFER_SIZE;
pub use subchannel::ConnectivityState;
pub use target::Resolver;
