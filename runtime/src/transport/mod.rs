//! The transport: gRPC calls as HTTP/2 streams, with h2 on tokio. It opens
//! connections (TCP, Unix sockets, an in-process pipe, the user's own),
//! secures them with TLS, and runs the HTTP/2 handshake
//! with rgrpc's settings; it sends frames under flow control and receives
//! them as message payloads; it maps h2's errors to statuses. It knows
//! nothing of handlers, channels or message types.

mod connection;
mod error;
#[cfg(feature = "server")]
mod frames;
mod keepalive;
mod link;
mod recv;
mod send;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(any(feature = "client", feature = "tls"))]
pub use connection::Io;
#[cfg(feature = "server")]
pub(crate) use connection::{Accept, accept};
#[cfg(all(feature = "client", feature = "server"))]
pub(crate) use connection::{ServeIo, pipe};
#[cfg(feature = "client")]
pub(crate) use connection::{cannot_connect, connect_tcp, handshake};
pub(crate) use error::h2_status;
#[cfg(feature = "server")]
pub(crate) use frames::PingPolicy;
pub(crate) use keepalive::Keepalive;
#[cfg(feature = "server")]
pub(crate) use keepalive::keep_alive;
pub(crate) use link::Link;
#[cfg(feature = "server")]
pub(crate) use link::LinkLimits;
pub(crate) use recv::Incoming;
#[cfg(feature = "client")]
pub(crate) use send::Unsent;
#[cfg(feature = "server")]
pub(crate) use send::{send_within, start_sending};

/// The flow-control window of each stream: larger than HTTP/2's 64 KiB
/// default so that one stream can carry throughput, still bounded so that a
/// slow reader holds back its sender. What a peer can make a connection
/// buffer is this times the streams it may have open.
const STREAM_WINDOW: u32 = 1024 * 1024;

/// The connection's window: the largest HTTP/2 allows, so that only the
/// streams' windows hold data back. h2 gives connection credit back only as
/// the application reads, so a smaller one would let a few streams nobody
/// reads (a response the client ignores, a request the handler leaves)
/// take all of it and stall every other call on the connection. grpc-go
/// avoids this by crediting the connection as data arrives; this is the
/// same in effect. A dropped stream's unread data is credited back.
const CONNECTION_WINDOW: u32 = (1 << 31) - 1;

/// The largest DATA frame payload rgrpc accepts: above HTTP/2's 16 KiB
/// default, so that a peer can send a message of several kilobytes, with its
/// prefix, in one frame instead of splitting it.
const MAX_FRAME_SIZE: u32 = 256 * 1024;
