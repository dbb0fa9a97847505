//! Receiving on an h2 stream: DATA chunks split into messages, with
//! flow-control capacity given back as they are read.

use std::task::{Context, Poll};

use h2::RecvStream;

use super::Link;
use crate::frame::FrameDecoder;
use crate::{Message, Status};

/// The receiving half of a gRPC stream: its messages, then its trailers.
pub(crate) struct Incoming {
    body: RecvStream,
    decoder: FrameDecoder,
    ended: bool,
    /// The connection's link: why it ended, when the stream fails with it,
    /// and the limit on what incomplete messages hold.
    link: Link,
    /// What this stream's incomplete message holds against that limit
    /// (4 GiB at most: kept small, as every call's future holds it).
    held: u32,
}

impl Incoming {
    /// The messages of `body`, a stream of the connection `link` stands
    /// for, each at most `max_message_size` bytes, those compressed in
    /// `compression`, as the peer's `grpc-encoding` says.
    pub(crate) fn new(
        body: RecvStream,
        link: Link,
        max_message_size: usize,
        compression: Option<crate::Compression>,
    ) -> Self {
        let mut decoder = FrameDecoder::new(max_message_size);
        decoder.set_compression(compression);
        Self {
            body,
            decoder,
            ended: false,
            link,
            held: 0,
        }
    }

    /// Waits for the next message: true when one is ready to decode, false
    /// at the end of the stream.
    ///
    /// Flow-control capacity is given back only as data is read here, so a
    /// reader that stops reading stops its peer once the window is full.
    /// While it waits for the rest of a message, what it holds counts
    /// against the connection's limit.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Status>> {
        loop {
            if self.decoder.ready()? {
                self.release();
                return Poll::Ready(Ok(true));
            }
            if self.ended {
                self.release();
                self.decoder.finish()?;
                return Poll::Ready(Ok(false));
            }
            match self.body.poll_data(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.decoder.push(chunk);
                }
                Poll::Ready(Some(Err(err))) => {
                    return Poll::Ready(Err(self.decoder.fail(self.link.status(&err))));
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => {
                    let holding = u32::try_from(self.decoder.buffered()).unwrap_or(u32::MAX);
                    if let Err(status) = self.link.hold(&mut self.held, holding) {
                        return Poll::Ready(Err(self.decoder.fail(status)));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Gives back what this stream held against the connection's limit.
    #[inline]
    fn release(&mut self) {
        if self.held != 0 {
            let _ = self.link.hold(&mut self.held, 0);
        }
    }

    /// The next message, decoded, if it has been received whole, without
    /// waiting.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn next_received<T: Message>(&mut self, what: &str) -> Result<Option<T>, Status> {
        self.decoder.next(what)
    }

    /// Whether the last message decoded came compressed.
    #[cfg(feature = "server")]
    pub(crate) fn last_compressed(&self) -> bool {
        self.decoder.last_compressed()
    }

    /// Ends the stream with `status`, which every later read returns; returns it.
    #[cfg(feature = "server")]
    pub(crate) fn fail(&mut self, status: Status) -> Status {
        self.decoder.fail(status)
    }

    /// Decodes the message that is ready, which is `what` (`request` or
    /// `response`).
    #[inline]
    pub(crate) fn decode<T: Message>(&mut self, what: &str) -> Result<T, Status> {
        self.decoder.decode(what)
    }

    /// The trailers after the last message.
    #[cfg(feature = "client")]
    pub(crate) fn poll_trailers(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<http::HeaderMap>, Status>> {
        self.body
            .poll_trailers(cx)
            .map(|trailers| trailers.map_err(|err| self.link.status(&err)))
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        self.release();
    }
}
