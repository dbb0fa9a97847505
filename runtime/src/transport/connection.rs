//! Connections: TCP without Nagle's algorithm, an in-process pipe, and the
//! HTTP/2 handshake on either side with rgrpc's settings.

#[cfg(feature = "server")]
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{CONNECTION_WINDOW, MAX_FRAME_SIZE, STREAM_WINDOW};
#[cfg(feature = "client")]
use crate::Status;

/// The buffer of each direction of an in-process pipe.
#[cfg(all(feature = "client", feature = "server"))]
const PIPE_BUFFER: usize = 256 * 1024;

/// A TCP connection to `address`, with Nagle's algorithm off: small
/// messages must not wait for it.
///
/// # Errors
/// UNAVAILABLE when the connection cannot be made.
#[cfg(feature = "client")]
pub(crate) async fn connect_tcp(address: &str) -> Result<tokio::net::TcpStream, Status> {
    let socket = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|err| Status::unavailable(format!("cannot connect to {address}: {err}")))?;
    socket
        .set_nodelay(true)
        .map_err(|err| Status::unavailable(format!("cannot configure the connection: {err}")))?;
    Ok(socket)
}

/// The client's HTTP/2 handshake over `io`. The connection then runs on a
/// task of its own, and the calls on it see its end as errors.
///
/// # Errors
/// UNAVAILABLE when the handshake fails.
#[cfg(feature = "client")]
pub(crate) async fn handshake<IO>(io: IO) -> Result<h2::client::SendRequest<Bytes>, Status>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        .handshake(io)
        .await
        .map_err(|err| Status::unavailable(format!("HTTP/2 handshake failed: {err}")))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            crate::call::connection_failed("client", &err);
        }
    });
    Ok(sender)
}

/// The server's HTTP/2 handshake over `io`: `None` when it fails or takes
/// longer than `timeout`.
#[cfg(feature = "server")]
pub(crate) async fn accept<IO>(
    io: IO,
    timeout: Duration,
) -> Option<h2::server::Connection<IO, Bytes>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = h2::server::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        .handshake::<_, Bytes>(io);
    tokio::time::timeout(timeout, handshake).await.ok()?.ok()
}

/// The two ends of an in-process pipe: bytes written to one are read from
/// the other.
#[cfg(all(feature = "client", feature = "server"))]
pub(crate) fn pipe() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
    tokio::io::duplex(PIPE_BUFFER)
}

/// What serves the server end of an in-process pipe: a server, seen from
/// the transport, so that a channel can reach it without knowing servers.
#[cfg(all(feature = "client", feature = "server"))]
pub(crate) trait ServeIo: Send + Sync + 'static {
    /// Serves the connection whose server end is `io`, on a task of its own.
    fn serve_io(&self, io: tokio::io::DuplexStream);
}
