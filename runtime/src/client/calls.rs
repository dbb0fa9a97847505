//! The calls of the four shapes, as generated clients make them
//! (re-exported in `__codegen::client`): each encodes its request, opens the
//! call on the channel and wraps the untyped sides in typed handles.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;

use super::Channel;
use super::handles::{
    BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream, single_response,
};
use super::receiving::Receiving;
use super::sending::Sending;
use crate::call::{CALL_DEADLINE, before};
use crate::frame::Frame;
use crate::transport;
use crate::{Message, Metadata, Request, Response, Status};

/// The deadline a call made now should have: its own, or else that of the
/// call being handled on this task.
fn effective_deadline<T>(request: &Request<T>) -> Option<Instant> {
    request.deadline().or_else(|| {
        if request.inherits_deadline() {
            CALL_DEADLINE.try_with(|deadline| *deadline).ok().flatten()
        } else {
            None
        }
    })
}

impl Channel {
    /// Starts a call whose request is one message, `frame`: sends it and
    /// half-closes. When sending fails, the server may have ended the call
    /// already, and its status says why.
    async fn send_single(
        &self,
        path: &'static str,
        frame: Bytes,
        metadata: &Metadata,
        deadline: Option<Instant>,
        max_receive_message_size: Option<usize>,
    ) -> Result<Receiving, Status> {
        let (mut stream, mut receiving) = self
            .start(path, metadata, deadline, max_receive_message_size)
            .await?;
        // One message, whole, with END_STREAM: h2 buffers it until the window allows.
        if let Err(err) = stream.send_data(frame, true) {
            // Rare, so boxed: every call's future stays the smaller for it.
            return Err(Box::pin(receiving.next())
                .await
                .err()
                .unwrap_or_else(|| transport::h2_status(&err)));
        }
        Ok(receiving)
    }

    /// Starts a call whose requests are streamed: both sides, untyped.
    async fn start_streaming(
        &self,
        path: &'static str,
        options: &Request<()>,
    ) -> Result<(Sending, Receiving), Status> {
        let deadline = effective_deadline(options);
        let (stream, mut receiving) = before(
            deadline,
            self.start(
                path,
                options.metadata(),
                deadline,
                options.max_receive_message_size(),
            ),
        )
        .await?;
        let limit = options
            .max_send_message_size()
            .unwrap_or(self.max_send_message_size());
        let aborted = receiving.aborted();
        Ok((Sending::new(stream, deadline, limit, aborted), receiving))
    }

    /// Starts a call whose request is `request`'s one message. It is
    /// encoded first: a message over the send limit fails the call before
    /// it starts.
    async fn send_request<Req: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        deadline: Option<Instant>,
    ) -> Result<Receiving, Status> {
        let limit = request
            .max_send_message_size()
            .unwrap_or(self.max_send_message_size());
        let frame = Frame::measure(request.message(), limit)?.encode();
        let limit = request.max_receive_message_size();
        self.send_single(path, frame, request.metadata(), deadline, limit)
            .await
    }
}

/// A unary call.
///
/// The returned future holds `request` once and lends it to the call;
/// nothing runs before it is first polled.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold `request` twice: as its argument and as the local it moves into"
)]
pub fn unary<Req: Message, Resp: Message>(
    channel: &Channel,
    path: &'static str,
    request: Request<Req>,
) -> impl Future<Output = Result<Response<Resp>, Status>> {
    async move {
        let deadline = effective_deadline(&request);
        before(deadline, async {
            let mut receiving = channel.send_request(path, &request, deadline).await?;
            // This `before` covers the whole call: receiving needs no timer of its own.
            receiving.drop_deadline();
            single_response(&mut receiving).await
        })
        .await
    }
}

/// A server-streaming call.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold `request` twice: as its argument and as the local it moves into"
)]
pub fn server_streaming<Req: Message, Resp: Message>(
    channel: &Channel,
    path: &'static str,
    request: Request<Req>,
) -> impl Future<Output = Result<ResponseStream<Resp>, Status>> {
    async move {
        let deadline = effective_deadline(&request);
        let receiving = before(deadline, channel.send_request(path, &request, deadline)).await?;
        Ok(ResponseStream::new(receiving))
    }
}

/// A client-streaming call.
pub async fn client_streaming<Req: Message, Resp: Message>(
    channel: &Channel,
    path: &'static str,
    options: Request<()>,
) -> Result<ClientStreamingCall<Req, Resp>, Status> {
    let (sending, receiving) = channel.start_streaming(path, &options).await?;
    Ok(ClientStreamingCall::new(
        RequestSink::new(sending),
        ResponseStream::new(receiving),
    ))
}

/// A bidirectional-streaming call.
pub async fn bidi_streaming<Req: Message, Resp: Message>(
    channel: &Channel,
    path: &'static str,
    options: Request<()>,
) -> Result<BidiStreamingCall<Req, Resp>, Status> {
    let (sending, receiving) = channel.start_streaming(path, &options).await?;
    Ok(BidiStreamingCall::new(
        RequestSink::new(sending),
        ResponseStream::new(receiving),
    ))
}
