//! The typed stream handles of the four call shapes, both sides. They are
//! generic over the message type only; the work is done by the untyped
//! machinery in `server` and `client`.
//!
//! | side | receive | send |
//! | --- | --- | --- |
//! | server | [`RequestStream`] | [`ResponseSink`] |
//! | client | [`ResponseStream`] | [`RequestSink`] |
//!
//! End of stream is `Ok(None)` from `recv`, distinct from an error.

use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;

use crate::client::{Aborted, Receiving, cancelled};
use crate::codec::Frame;
use crate::server::SinkShared;
use crate::transport::{self, Incoming, Unsent};
use crate::{Message, Metadata, Response, Status};

pin_project_lite::pin_project! {
    /// A future that fails with DEADLINE_EXCEEDED when its deadline passes first.
    ///
    /// It holds the operation once, in place; an `async fn` taking the
    /// operation would hold it twice (the argument and the running future),
    /// which for the nested futures of a call adds up to kilobytes.
    pub(crate) struct Before<F> {
        #[pin]
        operation: F,
        #[pin]
        timer: Option<tokio::time::Sleep>,
    }
}

/// Runs `operation` before `deadline`, or fails with DEADLINE_EXCEEDED.
pub(crate) fn before<T, F>(deadline: Option<Instant>, operation: F) -> Before<F>
where
    F: Future<Output = Result<T, Status>>,
{
    Before {
        operation,
        timer: deadline.map(|deadline| tokio::time::sleep_until(deadline.into())),
    }
}

impl<T, F> Future for Before<F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The operation goes first: a result that is ready counts even when
        // the deadline has passed meanwhile.
        if let Poll::Ready(result) = this.operation.poll(cx) {
            return Poll::Ready(result);
        }
        match this.timer.as_pin_mut() {
            Some(timer) => timer
                .poll(cx)
                .map(|()| Err(Status::deadline_exceeded("deadline exceeded"))),
            None => Poll::Pending,
        }
    }
}

/// The server's view of the request messages of a client- or
/// bidirectional-streaming call.
pub struct RequestStream<T> {
    incoming: Incoming,
    metadata: Metadata,
    deadline: Option<Instant>,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message> RequestStream<T> {
    pub(crate) fn new(incoming: Incoming, metadata: Metadata, deadline: Option<Instant>) -> Self {
        Self {
            incoming,
            metadata,
            deadline,
            _message: PhantomData,
        }
    }

    /// The next request message, or `None` once the client has closed its side.
    ///
    /// # Errors
    /// When the client cancelled the call, a message was too large or could not be decoded.
    pub async fn recv(&mut self) -> Result<Option<T>, Status> {
        self.incoming.message().await
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The deadline the client gave, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// The server's side for sending response messages of a server- or
/// bidirectional-streaming call. It can be moved to another task; once the
/// handler has returned, sending fails.
pub struct ResponseSink<T> {
    shared: SinkShared,
    _message: PhantomData<fn(T)>,
}

impl<T: Message> ResponseSink<T> {
    pub(crate) fn new(shared: SinkShared) -> Self {
        Self {
            shared,
            _message: PhantomData,
        }
    }

    /// Sends a message. Messages go out in batches; `send` waits while the
    /// client is not reading (flow control), so a fast handler cannot run
    /// ahead of a slow client. The response headers go first if they have
    /// not been sent.
    ///
    /// # Errors
    /// CANCELLED once the call has ended (the client went away, the deadline
    /// passed or the handler returned). RESOURCE_EXHAUSTED for a message
    /// larger than the server's send limit: it is not sent, and the call
    /// ends with that status, as in grpc-go.
    pub async fn send(&mut self, message: &T) -> Result<(), Status> {
        let frame = Frame::measure(message, self.shared.max_message_size())
            .map_err(|status| self.shared.fail(status))?;
        poll_fn(|cx| self.shared.poll_push(cx, &frame)).await
    }

    /// Adds to the response headers, which are sent with the first message
    /// or by [`ResponseSink::send_header`].
    pub fn set_header(&mut self, metadata: Metadata) {
        self.shared.add_headers(metadata);
    }

    /// Sends the response headers now.
    ///
    /// # Errors
    /// As [`ResponseSink::send`].
    pub async fn send_header(&mut self) -> Result<(), Status> {
        self.shared.send_headers()
    }

    /// Adds to the trailers sent with the status when the call ends.
    pub fn set_trailer(&mut self, metadata: Metadata) {
        self.shared.add_trailers(metadata);
    }
}

/// The client's side for sending request messages of a client- or
/// bidirectional-streaming call.
pub struct RequestSink<T> {
    stream: SendStream<Bytes>,
    deadline: Option<Instant>,
    closed: bool,
    cancelled: bool,
    /// Whether a message has been given to h2 (see `Unsent::start`).
    started: bool,
    /// What is left to send of the last message.
    unsent: Unsent,
    max_message_size: usize,
    /// The status this side ends the call with, for the receiving side.
    aborted: Aborted,
    _message: PhantomData<fn(T)>,
}

impl<T: Message> RequestSink<T> {
    pub(crate) fn new(
        stream: SendStream<Bytes>,
        deadline: Option<Instant>,
        max_message_size: usize,
        aborted: Aborted,
    ) -> Self {
        Self {
            stream,
            deadline,
            closed: false,
            cancelled: false,
            started: false,
            unsent: Unsent::default(),
            max_message_size,
            aborted,
            _message: PhantomData,
        }
    }

    /// Sends a message, waiting while the server is not reading (flow control).
    ///
    /// Cancelling a send (dropping its future, in a `select!` or a timeout)
    /// leaves the stream well formed: a message none of which has gone out
    /// is not sent, and the rest of one that has begun goes out first on the
    /// next `send` or `close`.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED for a message larger than the send limit: it is
    /// not sent, and the call ends (its stream is reset, and the receiving
    /// side reports that status), as in grpc-go. Any other error means the
    /// call has ended or failed, and its status then comes from the
    /// receiving side (`recv`, `close_and_recv`).
    pub async fn send(&mut self, message: &T) -> Result<(), Status> {
        if self.cancelled {
            return Err(self.aborted.get().cloned().unwrap_or_else(cancelled));
        }
        if self.closed {
            return Err(Status::internal("send after the request stream was closed"));
        }
        let frame = match Frame::measure(message, self.max_message_size) {
            Ok(frame) => frame.encode(),
            Err(status) => {
                let _ = self.aborted.set(status.clone());
                self.cancel();
                return Err(status);
            }
        };
        // The rest of a message whose send was cancelled after it began.
        self.flush().await?;
        let first = !std::mem::replace(&mut self.started, true);
        self.unsent
            .start(&mut self.stream, frame, first)
            .map_err(|err| transport::h2_status(&err))?;
        self.flush().await
    }

    /// Sends what is left of the last message, within the call's deadline.
    async fn flush(&mut self) -> Result<(), Status> {
        before(self.deadline, async {
            self.unsent
                .flush(&mut self.stream)
                .await
                .map_err(|err| transport::h2_status(&err))
        })
        .await
    }

    /// Cancels the call: the stream is reset (RST_STREAM CANCEL) and the
    /// server's handler is dropped. Later sends fail with CANCELLED.
    pub fn cancel(&mut self) {
        self.closed = true;
        self.cancelled = true;
        self.stream.send_reset(h2::Reason::CANCEL);
    }

    /// Closes the sending side (half-close): the server's `recv` then ends.
    ///
    /// # Errors
    /// When the call has already failed.
    pub async fn close(&mut self) -> Result<(), Status> {
        if self.closed {
            return Ok(());
        }
        self.flush().await?;
        self.closed = true;
        self.stream
            .send_data(Bytes::new(), true)
            .map_err(|err| transport::h2_status(&err))
    }
}

/// The client's view of the response messages of a server- or
/// bidirectional-streaming call.
pub struct ResponseStream<T> {
    receiving: Receiving,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message> ResponseStream<T> {
    pub(crate) fn new(receiving: Receiving) -> Self {
        Self {
            receiving,
            _message: PhantomData,
        }
    }

    /// The next response message; `None` once the server ended the call with
    /// OK, after which [`ResponseStream::trailers`] holds its trailers.
    ///
    /// # Errors
    /// The call's status when it ended with another code.
    pub async fn recv(&mut self) -> Result<Option<T>, Status> {
        self.receiving.message().await
    }

    /// The response headers, waiting for them if they have not arrived.
    ///
    /// # Errors
    /// The call's status when it failed before sending headers.
    pub async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.receiving.headers().await
    }

    /// The trailers, once the stream has ended.
    pub fn trailers(&self) -> Option<&Metadata> {
        self.receiving.trailers()
    }

    /// Cancels the call: nothing more is received (`recv` reports
    /// CANCELLED) and the stream is reset once the sending side is gone.
    pub fn cancel(&mut self) {
        self.receiving.cancel();
    }
}

/// A client-streaming call in progress: send the requests, then
/// [`close_and_recv`](ClientStreamingCall::close_and_recv) the one response.
pub struct ClientStreamingCall<Req, Resp> {
    requests: RequestSink<Req>,
    responses: ResponseStream<Resp>,
}

impl<Req: Message, Resp: Message> ClientStreamingCall<Req, Resp> {
    pub(crate) fn new(requests: RequestSink<Req>, responses: ResponseStream<Resp>) -> Self {
        Self {
            requests,
            responses,
        }
    }

    /// Sends a request message.
    ///
    /// # Errors
    /// As [`RequestSink::send`]; `close_and_recv` then gives the call's status.
    pub async fn send(&mut self, message: &Req) -> Result<(), Status> {
        self.requests.send(message).await
    }

    /// Closes the request stream and waits for the response.
    ///
    /// # Errors
    /// The call's status when it did not end with OK and one response.
    pub async fn close_and_recv(mut self) -> Result<Response<Resp>, Status> {
        // A failed close means the call already ended: its status says why.
        let _ = self.requests.close().await;
        self.responses.receiving.single_message().await
    }

    /// The response headers, waiting for them if they have not arrived.
    ///
    /// # Errors
    /// The call's status when it failed before sending headers.
    pub async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.responses.headers().await
    }

    /// Cancels the call (RST_STREAM CANCEL); `close_and_recv` then reports CANCELLED.
    pub fn cancel(&mut self) {
        self.requests.cancel();
        self.responses.cancel();
    }
}

/// A bidirectional-streaming call in progress. [`split`](BidiStreamingCall::split)
/// gives the two directions to two tasks.
pub struct BidiStreamingCall<Req, Resp> {
    requests: RequestSink<Req>,
    responses: ResponseStream<Resp>,
}

impl<Req: Message, Resp: Message> BidiStreamingCall<Req, Resp> {
    pub(crate) fn new(requests: RequestSink<Req>, responses: ResponseStream<Resp>) -> Self {
        Self {
            requests,
            responses,
        }
    }

    /// Sends a request message.
    ///
    /// # Errors
    /// As [`RequestSink::send`].
    pub async fn send(&mut self, message: &Req) -> Result<(), Status> {
        self.requests.send(message).await
    }

    /// Closes the request stream (half-close); responses keep coming.
    ///
    /// # Errors
    /// When the call has already failed.
    pub async fn close_send(&mut self) -> Result<(), Status> {
        self.requests.close().await
    }

    /// The next response message, or `None` once the server ended with OK.
    ///
    /// # Errors
    /// The call's status when it ended with another code.
    pub async fn recv(&mut self) -> Result<Option<Resp>, Status> {
        self.responses.recv().await
    }

    /// The response headers, waiting for them if they have not arrived.
    ///
    /// # Errors
    /// The call's status when it failed before sending headers.
    pub async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.responses.headers().await
    }

    /// The trailers, once the response stream has ended.
    pub fn trailers(&self) -> Option<&Metadata> {
        self.responses.trailers()
    }

    /// Cancels the call (RST_STREAM CANCEL); `recv` then reports CANCELLED.
    pub fn cancel(&mut self) {
        self.requests.cancel();
        self.responses.cancel();
    }

    /// The sending and receiving halves, to use from two tasks.
    pub fn split(self) -> (RequestSink<Req>, ResponseStream<Resp>) {
        (self.requests, self.responses)
    }
}
