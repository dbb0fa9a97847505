//! The transport: gRPC calls as HTTP/2 streams, with h2 on tokio. It opens
//! connections (TCP, or an in-process pipe) and runs the HTTP/2 handshake
//! with rgrpc's settings; it sends frames under flow control and receives
//! them as message payloads; it maps h2's errors to statuses. It knows
//! nothing of handlers, channels or message types.

mod connection;
mod error;
mod recv;
mod send;

#[cfg(feature = "server")]
pub(crate) use connection::accept;
#[cfg(all(feature = "client", feature = "server"))]
pub(crate) use connection::{ServeIo, pipe};
#[cfg(feature = "client")]
pub(crate) use connection::{connect_tcp, handshake};
pub(crate) use error::h2_status;
pub(crate) use recv::Incoming;
#[cfg(feature = "client")]
pub(crate) use send::Unsent;
#[cfg(feature = "server")]
pub(crate) use send::{send_within, start_sending};

/// Flow-control windows: larger than HTTP/2's 64 KiB default so that one
/// connection can carry throughput, still bounded so that a slow reader holds
/// back its sender.
const STREAM_WINDOW: u32 = 1024 * 1024;
const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// The largest DATA frame payload rgrpc accepts: above HTTP/2's 16 KiB
/// default, so that a peer can send a message of several kilobytes, with its
/// prefix, in one frame instead of splitting it.
const MAX_FRAME_SIZE: u32 = 256 * 1024;
