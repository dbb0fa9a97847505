//! The gRPC server: the accept loop and its connections, routing by `:path`
//! to the handlers of registered services, deadlines, cancellation and
//! graceful shutdown, over the transport.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `builder` | [`ServerBuilder`] and the server's settings |
//! | `serve` | [`Server`]: the accept loop and shutdown |
//! | `connection` | one connection, and the checks a new call passes |
//! | `router` | [`Service`], and the handlers by method path, with what the services built on the server learn of it |
//! | `handler` | the one untyped handler and the call it is given |
//! | `driver` | a call's response side, under flow control |
//! | `register` | the typed edge of each method, as generated code registers it |
//! | `intercept` | the interceptors, and the chains calls run through |
//! | `handles` | the typed handles of streaming handlers |

mod builder;
mod connection;
mod driver;
mod handler;
mod handles;
mod intercept;
pub(crate) mod register;
pub(crate) mod router;
mod serve;

pub use builder::{
    DEFAULT_KEEPALIVE_MIN_TIME, DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_CONNECTION_BUFFER, DEFAULT_MAX_HEADER_LIST_SIZE,
    DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW, ServerBuilder,
};
pub use handles::{RequestStream, ResponseSink};
pub use intercept::{ServerStream, StreamInterceptor, StreamNext, UnaryInterceptor, UnaryNext};
pub use router::Service;
pub use serve::{Bound, Listen, Server};
