//! The typed handles of a client call in progress: the response stream,
//! the request sink, and the two streaming calls that hold both. They
//! encode and decode; the untyped sending and receiving sides do the rest.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

use super::receiving::Receiving;
use super::replay::Retrier;
use super::sending::Sending;
use crate::call::{CallSpan, Layers, next_item};
use crate::frame::Frame;
use crate::{Code, Message, Metadata, Response, Status};

/// The client's side for sending request messages of a client- or
/// bidirectional-streaming call.
pub struct RequestSink<T> {
    sending: Sending,
    /// What stream interceptors put between the call and its messages.
    layers: Layers,
    _message: PhantomData<fn(T)>,
}

impl<T: Message> RequestSink<T> {
    pub(crate) fn new(sending: Sending, layers: Layers) -> Self {
        Self {
            sending,
            layers,
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
        self.sending.check_open()?;
        let compression = self.sending.next_compression();
        let frame = self
            .layers
            .sent(message)
            .and_then(|()| Frame::measure(message, self.sending.max_message_size()))
            .and_then(|frame| frame.encode_with(compression))
            .map_err(|status| self.sending.abort(status))?;
        self.sending.send(frame).await
    }

    /// Sends the next message uncompressed, whatever the call's
    /// compression.
    pub fn disable_next_message_compression(&mut self) {
        self.sending.skip_compression();
    }

    /// Sends every message of `messages`, in order, until it ends; an
    /// error it yields stops the sending and is returned (the call goes on:
    /// cancel or close it).
    ///
    /// # Errors
    /// As [`RequestSink::send`], or the error `messages` yielded.
    pub async fn send_all<S>(&mut self, messages: S) -> Result<(), Status>
    where
        S: Stream<Item = Result<T, Status>>,
    {
        let mut messages = std::pin::pin!(messages);
        while let Some(message) = next_item(messages.as_mut()).await {
            self.send(&message?).await?;
        }
        Ok(())
    }

    /// Cancels the call: the stream is reset (RST_STREAM CANCEL) and the
    /// server's handler is dropped. Later sends fail with CANCELLED.
    pub fn cancel(&mut self) {
        self.sending.cancel();
    }

    /// Closes the sending side (half-close): the server's `recv` then ends.
    ///
    /// # Errors
    /// When the call has already failed.
    pub async fn close(&mut self) -> Result<(), Status> {
        self.sending.close().await
    }
}

/// The client's view of the response messages of a server- or
/// bidirectional-streaming call: [`ResponseStream::recv`] them, or use it as
/// a [`Stream`] of them, which ends after the first error.
pub struct ResponseStream<T> {
    receiving: Receiving,
    /// What stream interceptors put between the call and its messages.
    layers: Layers,
    /// The call's span, until its end is recorded.
    span: Option<CallSpan>,
    /// As a `Stream`: ended or failed, so it gives nothing more.
    done: bool,
    /// Under a retry policy, until the call commits: what makes new
    /// attempts.
    retrier: Option<Box<Retrier>>,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message> ResponseStream<T> {
    pub(crate) fn new(receiving: Receiving, layers: Layers, span: CallSpan) -> Self {
        Self {
            receiving,
            layers,
            span: Some(span),
            done: false,
            retrier: None,
            _message: PhantomData,
        }
    }

    /// The stream of a call that `retrier` makes again until it commits.
    pub(crate) fn retried_by(mut self, retrier: Box<Retrier>) -> Self {
        self.retrier = Some(retrier);
        self
    }

    /// Ready once the call can no longer be retried: the response headers
    /// came, or it failed in a way its policy does not retry.
    fn poll_committed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(retrier) = &mut self.retrier {
            ready!(retrier.poll_committed(&mut self.receiving, cx));
            self.retrier = None;
        }
        Poll::Ready(())
    }

    /// The next response message; `None` once the server ended the call with
    /// OK, after which [`ResponseStream::trailers`] holds its trailers.
    ///
    /// # Errors
    /// The call's status when it ended with another code.
    pub async fn recv(&mut self) -> Result<Option<T>, Status> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Status>> {
        ready!(self.poll_committed(cx));
        // Streamed messages often arrive many to a DATA frame: one already
        // received is taken first, without a poll.
        let received = match self.receiving.received() {
            // The common case, kept short: a message, and no layers.
            Some(Ok(message)) if self.layers.is_empty() => return Poll::Ready(Ok(Some(message))),
            Some(message) => message.and_then(|message| self.layered(message)).map(Some),
            None => ready!(self.poll_message(cx)),
        };
        if !matches!(received, Ok(Some(_))) {
            self.ended(received.as_ref().map(|_| ()));
        }
        Poll::Ready(received)
    }

    /// Records the end of the call in its span, once.
    fn ended(&mut self, result: Result<(), &Status>) {
        if let Some(span) = self.span.take() {
            span.ended(result.map_or_else(Status::code, |()| Code::Ok));
        }
    }

    /// The only message of a client-streaming response, with the headers
    /// and trailers.
    async fn single(&mut self) -> Result<Response<T>, Status> {
        poll_fn(|cx| self.poll_committed(cx)).await;
        let result = single_response(&mut self.receiving, &self.layers).await;
        self.ended(result.as_ref().map(|_| ()));
        result
    }

    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Status>> {
        if !ready!(self.receiving.poll_next(cx))? {
            return Poll::Ready(Ok(None));
        }
        let message = self.receiving.decode()?;
        Poll::Ready(self.layered(message).map(Some))
    }

    /// A message received, passed through the layers.
    #[inline]
    fn layered(&mut self, mut message: T) -> Result<T, Status> {
        match self.layers.received(&mut message) {
            Ok(()) => Ok(message),
            Err(status) => Err(self.receiving.fail(status)),
        }
    }

    /// The response headers, waiting for them if they have not arrived.
    ///
    /// # Errors
    /// The call's status when it failed before sending headers.
    pub async fn headers(&mut self) -> Result<&Metadata, Status> {
        poll_fn(|cx| self.poll_committed(cx)).await;
        self.receiving.headers().await
    }

    /// The trailers the server sent with its status, once the stream has
    /// ended (`recv` gave `None` or an error); empty before, as in grpc-go.
    /// The same type as a unary [`Response::trailers`].
    pub fn trailers(&self) -> &Metadata {
        self.receiving.trailers()
    }

    /// Cancels the call: nothing more is received (`recv` reports
    /// CANCELLED) and the stream is reset once the sending side is gone.
    pub fn cancel(&mut self) {
        self.receiving.cancel();
    }
}

impl<T: Message> Stream for ResponseStream<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let item = ready!(this.poll_recv(cx)).transpose();
        this.done = !matches!(item, Some(Ok(_)));
        Poll::Ready(item)
    }
}

/// The only message of a unary or client-streaming response, through
/// `layers`, with the headers and trailers.
pub(crate) async fn single_response<T: Message>(
    receiving: &mut Receiving,
    layers: &Layers,
) -> Result<Response<T>, Status> {
    receiving.first().await?;
    let mut message: T = receiving.decode()?;
    if let Err(status) = layers.received(&mut message) {
        return Err(receiving.fail(status));
    }
    let (headers, trailers) = receiving.end_of_single().await?;
    Ok(Response::from_parts(message, headers, trailers))
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

    /// Sends every message of `messages`: see [`RequestSink::send_all`].
    ///
    /// # Errors
    /// As [`RequestSink::send_all`].
    pub async fn send_all<S>(&mut self, messages: S) -> Result<(), Status>
    where
        S: Stream<Item = Result<Req, Status>>,
    {
        self.requests.send_all(messages).await
    }

    /// Sends the next request message uncompressed: see
    /// [`RequestSink::disable_next_message_compression`].
    pub fn disable_next_message_compression(&mut self) {
        self.requests.disable_next_message_compression();
    }

    /// Closes the request stream and waits for the response.
    ///
    /// # Errors
    /// The call's status when it did not end with OK and one response.
    pub async fn close_and_recv(mut self) -> Result<Response<Resp>, Status> {
        // A failed close means the call already ended: its status says why.
        let _ = self.requests.close().await;
        self.responses.single().await
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

    /// Sends every message of `messages`: see [`RequestSink::send_all`].
    ///
    /// # Errors
    /// As [`RequestSink::send_all`].
    pub async fn send_all<S>(&mut self, messages: S) -> Result<(), Status>
    where
        S: Stream<Item = Result<Req, Status>>,
    {
        self.requests.send_all(messages).await
    }

    /// Sends the next request message uncompressed: see
    /// [`RequestSink::disable_next_message_compression`].
    pub fn disable_next_message_compression(&mut self) {
        self.requests.disable_next_message_compression();
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

    /// The trailers, once the response stream has ended; empty before
    /// (see [`ResponseStream::trailers`]).
    pub fn trailers(&self) -> &Metadata {
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
