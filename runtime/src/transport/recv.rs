//! Receiving on an h2 stream: DATA chunks split into messages, with
//! flow-control capacity given back as they are read.

use std::task::{Context, Poll, ready};

use h2::RecvStream;

use super::ConnectionEnd;
use crate::frame::FrameDecoder;
use crate::{Message, Status};

/// The receiving half of a gRPC stream: its messages, then its trailers.
pub(crate) struct Incoming {
    body: RecvStream,
    decoder: FrameDecoder,
    ended: bool,
    /// Why the connection ended, when the stream fails with it.
    connection: ConnectionEnd,
}

impl Incoming {
    /// The messages of `body`, a stream of `connection`, each at most
    /// `max_message_size` bytes.
    pub(crate) fn new(
        body: RecvStream,
        connection: ConnectionEnd,
        max_message_size: usize,
    ) -> Self {
        Self {
            body,
            decoder: FrameDecoder::new(max_message_size),
            ended: false,
            connection,
        }
    }

    /// Waits for the next message: true when one is ready to decode, false
    /// at the end of the stream.
    ///
    /// Flow-control capacity is given back only as data is read here, so a
    /// reader that stops reading stops its peer once the window is full.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Status>> {
        loop {
            if self.decoder.ready()? {
                return Poll::Ready(Ok(true));
            }
            if self.ended {
                self.decoder.finish()?;
                return Poll::Ready(Ok(false));
            }
            match ready!(self.body.poll_data(cx)) {
                Some(Ok(chunk)) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.decoder.push(chunk);
                }
                Some(Err(err)) => return Poll::Ready(Err(self.connection.status(&err))),
                None => self.ended = true,
            }
        }
    }

    /// The next message, decoded, if it has been received whole, without
    /// waiting.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn next_received<T: Message>(&mut self, what: &str) -> Result<Option<T>, Status> {
        self.decoder.next(what)
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
            .map(|trailers| trailers.map_err(|err| self.connection.status(&err)))
    }
}
