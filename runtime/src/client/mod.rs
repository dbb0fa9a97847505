//! The gRPC client: a [`Channel`] to a server, and the calls of the four
//! shapes that generated clients make on it, over the transport.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `channel` | [`Channel`] and [`ChannelBuilder`]: the connection to the first address that accepts, and opening a call's stream |
//! | `backoff` | [`ConnectBackoff`]: the waits between failed attempts to connect |
//! | `target` | targets as gRPC's naming document writes them, and the [`Resolver`]s that give their addresses |
//! | `call` | [`Call`]: a call with its options, and the typed start of each shape |
//! | `sending` | a call's request messages going out, untyped |
//! | `receiving` | a call's response headers, messages and status, untyped |
//! | `handles` | the typed handles of a call in progress |
//! | `intercept` | the interceptors, and the chains calls run through |

mod backoff;
pub(crate) mod call;
mod channel;
mod handles;
mod intercept;
mod receiving;
mod sending;
mod target;

pub use crate::call::{BearerToken, CallCredentials, CallOptions};
pub use crate::transport::Io;
pub use backoff::ConnectBackoff;
pub use call::{BidiStreaming, Call, ClientStreaming, ServerStreaming, Shape, Unary};
pub use channel::{
    Channel, ChannelBuilder, Connect, ConnectivityState, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_MIN_RESOLVE_INTERVAL,
};
pub use handles::{BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream};
pub use intercept::{
    ClientCall, StartedStream, StreamInterceptor, StreamNext, UnaryInterceptor, UnaryNext,
};
pub use target::Resolver;
