//! Receiving on an h2 stream: DATA chunks split into message payloads, with
//! flow-control capacity given back as they are read.

use std::future::poll_fn;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::RecvStream;
use http::HeaderMap;

use super::h2_status;
use crate::Status;
use crate::frame::FrameDecoder;

/// The receiving half of a gRPC stream: the payloads of its messages, then
/// its trailers.
pub(crate) struct Incoming {
    body: RecvStream,
    decoder: FrameDecoder,
    ended: bool,
}

impl Incoming {
    /// The messages of `body`, each at most `max_message_size` bytes.
    pub(crate) fn new(body: RecvStream, max_message_size: usize) -> Self {
        Self {
            body,
            decoder: FrameDecoder::new(max_message_size),
            ended: false,
        }
    }

    /// A message already received, without waiting.
    pub(crate) fn buffered(&mut self) -> Result<Option<Bytes>, Status> {
        self.decoder.next()
    }

    /// The next message's payload, or `None` at the end of the stream.
    ///
    /// Flow-control capacity is given back only as data is read here, so a
    /// reader that stops reading stops its peer once the window is full.
    pub(crate) fn poll_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, Status>> {
        loop {
            if let Some(payload) = self.decoder.next()? {
                return Poll::Ready(Ok(Some(payload)));
            }
            if self.ended {
                self.decoder.finish()?;
                return Poll::Ready(Ok(None));
            }
            match ready!(self.body.poll_data(cx)) {
                Some(Ok(chunk)) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.decoder.push(chunk);
                }
                Some(Err(err)) => return Poll::Ready(Err(h2_status(&err))),
                None => self.ended = true,
            }
        }
    }

    /// [`Incoming::poll_message`] as a future.
    pub(crate) async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        poll_fn(|cx| self.poll_message(cx)).await
    }

    /// The trailers after the last message.
    pub(crate) async fn trailers(&mut self) -> Result<Option<HeaderMap>, Status> {
        self.body.trailers().await.map_err(|err| h2_status(&err))
    }
}
