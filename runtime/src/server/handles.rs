//! The typed handles a streaming handler is given: the request messages of
//! a client- or bidirectional-streaming call, and the sink for the response
//! messages of a server- or bidirectional-streaming call. They encode and
//! decode; the call's untyped state does the rest.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures_core::Stream;

use super::driver::Shared;
use crate::call::{Layers, next_item};
use crate::frame::Frame;
use crate::transport::Incoming;
use crate::{CallContext, Message, Metadata, Request, Response, Status};

/// The server's view of the request messages of a client- or
/// bidirectional-streaming call: [`RequestStream::recv`] them, or use it as
/// a [`Stream`] of them, which ends after the first error.
pub struct RequestStream<T> {
    incoming: Incoming,
    metadata: Metadata,
    context: CallContext,
    /// What stream interceptors put between the call and its messages.
    layers: Layers,
    /// As a `Stream`: ended or failed, so it gives nothing more.
    done: bool,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message> RequestStream<T> {
    pub(crate) fn new(
        incoming: Incoming,
        metadata: Metadata,
        context: CallContext,
        layers: Layers,
    ) -> Self {
        Self {
            incoming,
            metadata,
            context,
            layers,
            done: false,
            _message: PhantomData,
        }
    }

    /// The next request message, or `None` once the client has closed its side.
    ///
    /// # Errors
    /// When the client cancelled the call, a message was too large or could not be decoded.
    pub async fn recv(&mut self) -> Result<Option<T>, Status> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Status>> {
        if !ready!(self.incoming.poll_next(cx))? {
            return Poll::Ready(Ok(None));
        }
        let mut message: T = self.incoming.decode("request")?;
        self.context.received(self.incoming.last_compressed());
        if let Err(status) = self.layers.received(&mut message) {
            return Poll::Ready(Err(self.incoming.fail(status)));
        }
        Poll::Ready(Ok(Some(message)))
    }

    /// The only request message of a unary or server-streaming call, with
    /// the metadata and context.
    ///
    /// # Errors
    /// INTERNAL when the request has no message or more than one.
    pub(crate) async fn single(mut self) -> Result<Request<T>, Status> {
        let Some(message) = self.recv().await? else {
            return Err(Status::internal("the request ended without a message"));
        };
        if self.recv().await?.is_some() {
            return Err(Status::internal(
                "the request has more than one message for a method that takes one",
            ));
        }
        Ok(Request::from_parts(message, self.metadata, self.context))
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The deadline the client gave, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.context.deadline()
    }

    /// The call's context: deadline, cancellation, method and peer.
    pub fn context(&self) -> &CallContext {
        &self.context
    }
}

impl<T> Drop for ResponseSink<T> {
    fn drop(&mut self) {
        self.shared.sink_dropped();
    }
}

impl<T: Message> Stream for RequestStream<T> {
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

/// The server's side for sending response messages of a server- or
/// bidirectional-streaming call.
///
/// It can be moved to another task, as a handler that feeds it from a
/// channel does: the call ends when the handler has returned **and** the
/// sink is dropped, with the handler's OK. A handler that returns an error
/// ends the call at once, with that error, and sending fails from then on,
/// as it does once the client has gone or the deadline has passed.
pub struct ResponseSink<T> {
    shared: Shared,
    /// What stream interceptors put between the call and its messages.
    layers: Layers,
    _message: PhantomData<fn(T)>,
}

impl<T: Message> ResponseSink<T> {
    pub(crate) fn new(shared: Shared, layers: Layers) -> Self {
        shared.sink_made();
        Self {
            shared,
            layers,
            _message: PhantomData,
        }
    }

    /// Answers a client-streaming call with `response`, through the sink
    /// (and its layers).
    pub(crate) async fn reply(mut self, response: Response<T>) -> Result<(), Status> {
        let (message, headers, trailers) = response.into_parts();
        self.shared.add_headers(headers);
        self.shared.add_trailers(trailers);
        self.send(&message).await
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
        if let Err(status) = self.layers.sent(message) {
            return Err(self.shared.fail(status));
        }
        let frame = Frame::measure(message, self.shared.max_message_size())
            .map_err(|status| self.shared.fail(status))?;
        let mut room = poll_fn(|cx| self.shared.poll_room(cx)).await?;
        match room.buffer() {
            (buffer, None) => {
                frame.write(buffer);
                Ok(())
            }
            (buffer, Some(compression)) => {
                let written = frame.write_compressed(buffer, compression);
                drop(room);
                written.map_err(|status| self.shared.fail(status))
            }
        }
    }

    /// Sends the next message uncompressed, whatever the call's
    /// compression (as grpcio's `disable_next_message_compression`): for a
    /// message that would not shrink, or must not be compressed alongside
    /// secrets.
    pub fn disable_next_message_compression(&mut self) {
        self.shared.skip_compression();
    }

    /// Sends every message of `messages`, in order, until it ends; an
    /// error it yields ends the call with that status.
    ///
    /// ```no_run
    /// # async fn run(mut sink: rgrpc::server::ResponseSink<rgrpc::wkt::StringValue>) -> Result<(), rgrpc::Status> {
    /// let (sender, receiver) = tokio::sync::mpsc::channel(16);
    /// tokio::spawn(async move {
    ///     let _ = sender.send(Ok(rgrpc::wkt::StringValue::default())).await;
    /// });
    /// sink.send_all(tokio_stream::wrappers::ReceiverStream::new(receiver)).await
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`ResponseSink::send`], or the error `messages` yielded.
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
