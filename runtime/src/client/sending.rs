//! The sending side of a client-streaming or bidirectional call, untyped:
//! framed messages out under flow control, then the half-close.

use bytes::Bytes;
use h2::SendStream;

use std::sync::Arc;

use super::receiving::{Aborted, cancelled};
use super::replay::Replay;
use crate::Status;
use crate::call::Bounds;
use crate::frame::Compression;
use crate::transport::{Link, Unsent};

/// Where the request stream stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Open, nothing sent yet: the first message goes to h2 at once (see
    /// `transport::start_sending`).
    Fresh,
    /// Open, messages sent.
    Started,
    /// Half-closed: the server's `recv` has ended.
    Closed,
    /// Reset: the call is over.
    Cancelled,
}

/// The request messages of a call, going out on its h2 stream.
pub(crate) struct Sending {
    stream: SendStream<Bytes>,
    /// Why the connection ended, when a send fails with it.
    connection: Link,
    bounds: Bounds,
    state: State,
    /// What is left to send of the last message.
    unsent: Unsent,
    max_message_size: usize,
    /// The status this side ends the call with, for the receiving side.
    aborted: Aborted,
    /// What the messages are compressed with.
    compression: Option<Compression>,
    /// The next message goes uncompressed.
    skip_compression: bool,
    /// Under a retry policy, until the call commits: what is kept to send
    /// again on a new attempt.
    replay: Option<Arc<Replay>>,
}

impl Sending {
    /// The sending side of a call on `stream`, of the connection
    /// `connection` explains, its messages compressed with `compression`,
    /// as the request headers said.
    pub(crate) fn new(
        stream: SendStream<Bytes>,
        connection: Link,
        bounds: Bounds,
        max_message_size: usize,
        aborted: Aborted,
        compression: Option<Compression>,
    ) -> Self {
        Self {
            stream,
            connection,
            bounds,
            state: State::Fresh,
            unsent: Unsent::default(),
            max_message_size,
            aborted,
            compression,
            skip_compression: false,
            replay: None,
        }
    }

    /// Keeps what is sent in `replay`, for new attempts at the call.
    pub(crate) fn replay_with(&mut self, replay: Arc<Replay>) {
        self.replay = Some(replay);
    }

    /// The call's bounds.
    pub(crate) fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// What the call's messages are compressed with.
    pub(crate) fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Goes on on a newer attempt's `stream`, on the connection `link`
    /// explains, what was sent before already on it.
    fn switch(&mut self, (stream, link): (SendStream<Bytes>, Link)) {
        self.stream = stream;
        self.connection = link;
        self.unsent = Unsent::default();
        self.state = State::Started;
    }

    /// Sends the next message uncompressed.
    pub(crate) fn skip_compression(&mut self) {
        self.skip_compression = true;
    }

    /// What the next message is compressed with.
    pub(crate) fn next_compression(&mut self) -> Option<Compression> {
        let skip = std::mem::take(&mut self.skip_compression);
        self.compression.filter(|_| !skip)
    }

    /// The limit on request messages.
    pub(crate) fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Checks that the stream is open for another message.
    ///
    /// # Errors
    /// The status the call was cancelled with, or INTERNAL after a close.
    pub(crate) fn check_open(&self) -> Result<(), Status> {
        match self.state {
            State::Fresh | State::Started => Ok(()),
            State::Cancelled => Err(self.aborted.get().cloned().unwrap_or_else(cancelled)),
            State::Closed => Err(Status::internal("send after the request stream was closed")),
        }
    }

    /// Ends the call with `status`, which the receiving side then reports;
    /// returns it.
    pub(crate) fn abort(&mut self, status: Status) -> Status {
        let _ = self.aborted.set(status.clone());
        self.cancel();
        status
    }

    /// Sends a framed message; see `RequestSink::send`. Under a retry
    /// policy, a send that fails on an attempt the call may still replace
    /// is not an error: the message goes again with the next attempt.
    pub(crate) async fn send(&mut self, frame: Bytes) -> Result<(), Status> {
        self.check_open()?;
        let Some(replay) = self.replay.clone() else {
            return self.send_now(frame).await;
        };
        if let Some(newer) = replay.sending(&frame) {
            self.switch(newer);
        }
        match self.send_now(frame).await {
            Err(_) if !replay.committed() => Ok(()),
            sent => sent,
        }
    }

    async fn send_now(&mut self, frame: Bytes) -> Result<(), Status> {
        // The rest of a message whose send was cancelled after it began.
        self.flush().await?;
        let first = self.state == State::Fresh;
        self.state = State::Started;
        self.unsent
            .start(&mut self.stream, frame, first)
            .map_err(|err| self.connection.status(&err))?;
        self.flush().await
    }

    /// Sends what is left of the last message, within the call's deadline.
    async fn flush(&mut self) -> Result<(), Status> {
        self.bounds
            .bound(async {
                self.unsent
                    .flush(&mut self.stream)
                    .await
                    .map_err(|err| self.connection.status(&err))
            })
            .await
    }

    /// Resets the stream (RST_STREAM CANCEL).
    pub(crate) fn cancel(&mut self) {
        self.state = State::Cancelled;
        self.stream.send_reset(h2::Reason::CANCEL);
        if let Some(replay) = &self.replay {
            replay.cancel();
        }
    }

    /// Half-closes the stream, once what is left of the last message is
    /// out; under a retry policy, as [`Sending::send`] does.
    pub(crate) async fn close(&mut self) -> Result<(), Status> {
        if matches!(self.state, State::Closed | State::Cancelled) {
            return Ok(());
        }
        let Some(replay) = self.replay.clone() else {
            return self.close_now().await;
        };
        if let Some(newer) = replay.closing() {
            self.switch(newer);
        }
        match self.close_now().await {
            Err(_) if !replay.committed() => Ok(()),
            closed => closed,
        }
    }

    async fn close_now(&mut self) -> Result<(), Status> {
        self.flush().await?;
        self.state = State::Closed;
        self.stream
            .send_data(Bytes::new(), true)
            .map_err(|err| self.connection.status(&err))
    }
}
