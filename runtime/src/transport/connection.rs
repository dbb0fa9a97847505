//! Connections: TCP without Nagle's algorithm, an in-process pipe, and the
//! HTTP/2 handshake on either side with rgrpc's settings, over a socket
//! that remembers why the connection ended.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
#[cfg(feature = "server")]
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(feature = "server")]
use super::frames::{Guard, Verdict};
#[cfg(feature = "client")]
use super::keepalive::{Keepalive, keep_alive};
use super::link::{Link, LinkLimits};
use super::{CONNECTION_WINDOW, MAX_FRAME_SIZE, STREAM_WINDOW};
#[cfg(feature = "client")]
use crate::Status;

/// A connection: any stream of bytes both ways, such as one that a
/// [`Connect`](crate::client::Connect) opened.
#[cfg(any(feature = "client", feature = "tls"))]
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

#[cfg(any(feature = "client", feature = "tls"))]
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// The buffer of each direction of an in-process pipe.
#[cfg(all(feature = "client", feature = "server"))]
const PIPE_BUFFER: usize = 256 * 1024;

/// A TCP connection to `address`, with Nagle's algorithm off: small
/// messages must not wait for it.
///
/// # Errors
/// UNAVAILABLE when the connection cannot be made.
#[cfg(feature = "client")]
pub(crate) async fn connect_tcp(
    address: std::net::SocketAddr,
) -> Result<tokio::net::TcpStream, Status> {
    let socket = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|err| cannot_connect(&address, &err))?;
    socket
        .set_nodelay(true)
        .map_err(|err| Status::unavailable(format!("cannot configure the connection: {err}")))?;
    Ok(socket)
}

/// The status of a connection to `to` that could not be opened.
#[cfg(feature = "client")]
pub(crate) fn cannot_connect(to: &dyn std::fmt::Display, err: &io::Error) -> Status {
    Status::unavailable(format!("cannot connect to {to}: {err}"))
}

/// The client's HTTP/2 handshake over `io`. The connection then runs on a
/// task of its own, with `keepalive` if any, and the calls on it see its
/// end as errors, which the [`Link`] returned explains.
///
/// # Errors
/// UNAVAILABLE when the handshake fails.
#[cfg(feature = "client")]
pub(crate) async fn handshake<IO>(
    io: IO,
    keepalive: Option<Keepalive>,
    on_end: impl FnOnce() + Send + 'static,
) -> Result<(h2::client::SendRequest<Bytes>, Link), Status>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, link) = Watched::new(io, None);
    let (sender, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        .handshake(io)
        .await
        .map_err(|err| Status::unavailable(format!("HTTP/2 handshake failed: {err}")))?;
    let ping_pong = keepalive.and_then(|_| connection.ping_pong());
    // Told when the connection ends, however it ends (keepalive aborts it).
    let ended = OnEnd(Some(on_end));
    let mut running = tokio::spawn(async move {
        let _ended = ended;
        if let Err(err) = connection.await {
            crate::call::connection_failed("client", &err);
        }
    });
    if let (Some(keepalive), Some(mut ping_pong)) = (keepalive, ping_pong) {
        let link = link.clone();
        tokio::spawn(async move {
            // Besides the calls, the link is held by the socket, this task
            // and the channel.
            let busy = || link.in_use(3);
            tokio::select! {
                () = keep_alive(&mut ping_pong, &link, keepalive, busy) => running.abort(),
                _ = &mut running => {}
            }
        });
    }
    Ok((sender, link))
}

/// Runs its function when dropped: when the task holding it ends or is
/// aborted.
#[cfg(feature = "client")]
struct OnEnd<F: FnOnce()>(Option<F>);

#[cfg(feature = "client")]
impl<F: FnOnce()> Drop for OnEnd<F> {
    fn drop(&mut self) {
        if let Some(on_end) = self.0.take() {
            on_end();
        }
    }
}

/// What a server's connections are accepted with.
#[cfg(feature = "server")]
#[derive(Debug, Clone)]
pub(crate) struct Accept {
    /// How long the handshakes (TLS if any, then HTTP/2) may take.
    pub(crate) timeout: Duration,
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams past it are refused.
    pub(crate) max_concurrent_streams: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: larger header blocks are refused.
    pub(crate) max_header_list_size: u32,
    /// What the connection's calls may hold and cancel.
    pub(crate) link: LinkLimits,
}

/// The server's HTTP/2 handshake over `io`, with `settings`: `None` when it
/// fails or is not over by `by`. The connection's calls share the [`Link`]
/// returned.
#[cfg(feature = "server")]
pub(crate) async fn accept<IO>(
    io: IO,
    settings: &Accept,
    by: std::time::Instant,
) -> Option<(h2::server::Connection<Watched<IO>, Bytes>, Link)>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (io, link) = Watched::new(io, Some(settings.link));
    let handshake = h2::server::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        .max_concurrent_streams(settings.max_concurrent_streams)
        .max_header_list_size(settings.max_header_list_size)
        .handshake::<_, Bytes>(io);
    let connection = tokio::time::timeout_at(by.into(), handshake)
        .await
        .ok()?
        .ok()?;
    Some((connection, link))
}

/// A socket that records in its connection's [`Link`] the first failure it
/// meets or its end of file and that the peer is sending; on a server, it
/// also keeps the [`Guard`] over the client's frames.
pub(crate) struct Watched<IO> {
    io: IO,
    link: Link,
    /// A client's, until the server's first bytes are in.
    awaiting_server: bool,
    #[cfg(feature = "server")]
    guard: Option<Guard>,
}

impl<IO> Watched<IO> {
    /// `io`, and the link of its connection, under `limits`. A server's
    /// (with limits) guards against its client.
    fn new(io: IO, limits: Option<LinkLimits>) -> (Self, Link) {
        let link = Link::new(limits);
        let watched = Self {
            io,
            awaiting_server: limits.is_none(),
            #[cfg(feature = "server")]
            guard: limits.map(|limits| Guard::new(limits.pings)),
            link: link.clone(),
        };
        (watched, link)
    }

    /// Takes note of `bytes`, just read.
    fn read(&mut self, bytes: &[u8]) {
        if std::mem::take(&mut self.awaiting_server) && speaks_tls(bytes) {
            self.link.ended(|| {
                "the server speaks TLS, and this channel does not: use an https:// target \
                 or ChannelBuilder::tls"
                    .into()
            });
        }
        self.link.count_read();
        #[cfg(feature = "server")]
        if let Some(guard) = &mut self.guard {
            match guard.read(bytes, || self.link.in_flight() > 0) {
                Verdict::Fine => {}
                Verdict::Opened => self.link.set_opened(),
                Verdict::TooMany => self.link.misbehave(),
            }
        }
        #[cfg(not(feature = "server"))]
        let _ = bytes;
    }

    /// Takes note of the first `n` bytes of `bufs`, just written.
    fn written(&mut self, bufs: &[io::IoSlice<'_>], n: usize) {
        #[cfg(feature = "server")]
        if let Some(guard) = &mut self.guard {
            let mut n = n;
            for buf in bufs {
                let part = &buf[..n.min(buf.len())];
                guard.written(part);
                n -= part.len();
                if n == 0 {
                    break;
                }
            }
        }
        #[cfg(not(feature = "server"))]
        let _ = (bufs, n);
    }

    fn watch<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(err) = &result {
            #[cfg(all(feature = "tls", feature = "client"))]
            self.link.ended(|| super::tls::explain(err));
            #[cfg(not(all(feature = "tls", feature = "client")))]
            self.link.ended(|| err.to_string());
        }
        result
    }
}

/// Whether a server's first bytes are a TLS record: an alert or a
/// handshake, of TLS 1.x, where HTTP/2 would send its SETTINGS.
fn speaks_tls(first: &[u8]) -> bool {
    matches!(first, [0x15 | 0x16, 0x03, ..])
}

impl<IO: AsyncWrite + Unpin> Watched<IO> {
    /// Writes `bufs` with `write`, after the guard's GOAWAY if one is due,
    /// and takes note of what went out.
    fn poll_watched_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        write: impl FnOnce(Pin<&mut IO>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Err(err) = ready!(this.poll_farewell(cx)) {
            return Poll::Ready(this.watch(Err(err)));
        }
        let result = ready!(write(Pin::new(&mut this.io), cx));
        if let Ok(n) = result {
            this.written(bufs, n);
        }
        Poll::Ready(this.watch(result))
    }

    /// Writes the guard's GOAWAY first, when it is due.
    fn poll_farewell(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(feature = "server")]
        if let Some(guard) = &mut self.guard {
            while let Some(farewell) = guard.farewell() {
                let n = ready!(Pin::new(&mut self.io).poll_write(cx, farewell))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                bytes::Buf::advance(farewell, n);
            }
        }
        #[cfg(not(feature = "server"))]
        let _ = cx;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        let filled = buf.filled().len();
        let result = ready!(Pin::new(&mut self.io).poll_read(cx, buf));
        if result.is_ok() {
            if buf.filled().len() > filled {
                let this = &mut *self;
                this.read(&buf.filled()[filled..]);
            } else if room > 0 {
                self.link.ended(|| "the peer closed the connection".into());
            }
        }
        Poll::Ready(self.watch(result))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_watched_write(cx, &[io::IoSlice::new(buf)], |io, cx| {
            io.poll_write(cx, buf)
        })
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_watched_write(cx, bufs, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = ready!(Pin::new(&mut self.io).poll_flush(cx));
        Poll::Ready(self.watch(result))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
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
