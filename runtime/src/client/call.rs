//! [`Call`]: a call about to start, with its options; awaiting it starts
//! it. Each shape's start is the typed edge of the client: it encodes the
//! request, opens the call on the channel and wraps the untyped sides in
//! typed handles.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use super::Channel;
use super::handles::{
    BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream, single_response,
};
use super::intercept::{ClientCall, StartedStream, StreamNext, UnaryNext};
use super::receiving::Receiving;
use super::sending::Sending;
use crate::call::{Bounds, CallContext, CallOptions, Layers};
use crate::frame::Frame;
use crate::transport;
use crate::{AnyRequest, CallInfo, CallKind, Message, Metadata, Request, Response, Status};

/// A boxed call future, as [`Call`] gives it to `await`.
type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// A call a generated client method made, not started yet: set its options,
/// then `.await` it.
///
/// ```no_run
/// # use std::time::Duration;
/// # async fn run(call: rgrpc::client::Call<'_, rgrpc::client::Unary<rgrpc::wkt::Empty, rgrpc::wkt::Empty>>) -> Result<(), rgrpc::Status> {
/// // client.echo_message(request) is such a call:
/// let response = call.timeout(Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
///
/// What `.await` gives depends on the call's shape `S`: [`Unary`] gives a
/// [`Response`], [`ServerStreaming`] a [`ResponseStream`],
/// [`ClientStreaming`] a [`ClientStreamingCall`], [`BidiStreaming`] a
/// [`BidiStreamingCall`].
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'c, S> {
    channel: &'c Channel,
    path: &'static str,
    shape: S,
    options: CallOptions,
}

impl<'c, S> Call<'c, S> {
    /// A call to `path` on `channel`.
    pub(crate) fn new(channel: &'c Channel, path: &'static str, shape: S) -> Self {
        Self {
            channel,
            path,
            shape,
            options: CallOptions::default(),
        }
    }

    /// Makes the call with `options` (instead of the defaults).
    pub fn with_options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// The options the call will be made with, to change.
    pub fn options_mut(&mut self) -> &mut CallOptions {
        &mut self.options
    }

    /// The call must be over `timeout` after it starts: see
    /// [`CallOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options = std::mem::take(&mut self.options).timeout(timeout);
        self
    }

    /// Makes the call for `context`'s call: see [`CallOptions::context`].
    pub fn context(mut self, context: &CallContext) -> Self {
        self.options = std::mem::take(&mut self.options).context(context);
        self
    }
}

impl<'c, S: Shape> IntoFuture for Call<'c, S> {
    type Output = Result<S::Output, Status>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.shape.start(self.channel, self.path, self.options)
    }
}

/// A call's shape, as [`Call`] starts it: [`Unary`], [`ServerStreaming`],
/// [`ClientStreaming`] or [`BidiStreaming`].
pub trait Shape: Send + Sized + 'static {
    /// What the started call gives.
    type Output;

    /// Starts the call.
    #[doc(hidden)]
    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
    ) -> BoxFuture<'c, Result<Self::Output, Status>>;
}

/// A unary call's shape: one request, one [`Response`].
pub struct Unary<Req, Resp> {
    request: Request<Req>,
    _response: PhantomData<fn() -> Resp>,
}

/// A server-streaming call's shape: one request, a [`ResponseStream`].
pub struct ServerStreaming<Req, Resp> {
    request: Request<Req>,
    _response: PhantomData<fn() -> Resp>,
}

/// A client-streaming call's shape: a [`ClientStreamingCall`].
pub struct ClientStreaming<Req, Resp> {
    _messages: PhantomData<fn(Req) -> Resp>,
}

/// A bidirectional-streaming call's shape: a [`BidiStreamingCall`].
pub struct BidiStreaming<Req, Resp> {
    _messages: PhantomData<fn(Req) -> Resp>,
}

/// A unary call to `path` on `channel`.
pub fn unary<'c, Req, Resp>(
    channel: &'c Channel,
    path: &'static str,
    request: Request<Req>,
) -> Call<'c, Unary<Req, Resp>> {
    let shape = Unary {
        request,
        _response: PhantomData,
    };
    Call::new(channel, path, shape)
}

/// A server-streaming call to `path` on `channel`.
pub fn server_streaming<'c, Req, Resp>(
    channel: &'c Channel,
    path: &'static str,
    request: Request<Req>,
) -> Call<'c, ServerStreaming<Req, Resp>> {
    let shape = ServerStreaming {
        request,
        _response: PhantomData,
    };
    Call::new(channel, path, shape)
}

/// A client-streaming call to `path` on `channel`.
pub fn client_streaming<'c, Req, Resp>(
    channel: &'c Channel,
    path: &'static str,
) -> Call<'c, ClientStreaming<Req, Resp>> {
    let shape = ClientStreaming {
        _messages: PhantomData,
    };
    Call::new(channel, path, shape)
}

/// A bidirectional-streaming call to `path` on `channel`.
pub fn bidi_streaming<'c, Req, Resp>(
    channel: &'c Channel,
    path: &'static str,
) -> Call<'c, BidiStreaming<Req, Resp>> {
    let shape = BidiStreaming {
        _messages: PhantomData,
    };
    Call::new(channel, path, shape)
}

impl<Req: Message, Resp: Message> Shape for Unary<Req, Resp> {
    type Output = Response<Resp>;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
    ) -> BoxFuture<'c, Result<Response<Resp>, Status>> {
        Box::pin(async move {
            let Some(interceptors) = channel.interceptors(|chain| !chain.unary.is_empty()) else {
                return channel.unary(path, &self.request, options).await;
            };
            let channel = channel.clone();
            let caller = Box::new(move |call: ClientCall, request: AnyRequest| {
                Box::pin(async move {
                    let request = request.downcast::<Req>()?;
                    let response: Response<Resp> =
                        channel.unary(path, &request, call.into_options()).await?;
                    Ok(response.into_dyn())
                }) as _
            });
            let call = ClientCall::new(CallInfo::new(path, CallKind::Unary, None), options);
            let next = UnaryNext::new(interceptors, caller);
            next.run(call, self.request.into_dyn()).await?.downcast()
        })
    }
}

impl<Req: Message, Resp: Message> Shape for ServerStreaming<Req, Resp> {
    type Output = ResponseStream<Resp>;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
    ) -> BoxFuture<'c, Result<ResponseStream<Resp>, Status>> {
        Box::pin(async move {
            if channel
                .interceptors(|chain| !chain.stream.is_empty())
                .is_none()
            {
                let bounds = options.bounds();
                let receiving = bounds
                    .bound(channel.send_request(path, &self.request, &options, &bounds))
                    .await?;
                return Ok(ResponseStream::new(receiving, Layers::default()));
            }
            // Behind interceptors, the request goes out through their
            // layers, and its metadata with the options'.
            let (message, metadata) = self.request.into_parts();
            let options = options.metadata(metadata);
            let kind = CallKind::ServerStreaming;
            let (sending, receiving, layers) = channel.open(path, kind, options).await?;
            let mut requests = RequestSink::<Req>::new(sending, layers.clone());
            requests.send(&message).await?;
            requests.close().await?;
            Ok(ResponseStream::new(receiving, layers))
        })
    }
}

impl<Req: Message, Resp: Message> Shape for ClientStreaming<Req, Resp> {
    type Output = ClientStreamingCall<Req, Resp>;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
    ) -> BoxFuture<'c, Result<ClientStreamingCall<Req, Resp>, Status>> {
        Box::pin(async move {
            let kind = CallKind::ClientStreaming;
            let (sending, receiving, layers) = channel.open(path, kind, options).await?;
            Ok(ClientStreamingCall::new(
                RequestSink::new(sending, layers.clone()),
                ResponseStream::new(receiving, layers),
            ))
        })
    }
}

impl<Req: Message, Resp: Message> Shape for BidiStreaming<Req, Resp> {
    type Output = BidiStreamingCall<Req, Resp>;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
    ) -> BoxFuture<'c, Result<BidiStreamingCall<Req, Resp>, Status>> {
        Box::pin(async move {
            let kind = CallKind::BidiStreaming;
            let (sending, receiving, layers) = channel.open(path, kind, options).await?;
            Ok(BidiStreamingCall::new(
                RequestSink::new(sending, layers.clone()),
                ResponseStream::new(receiving, layers),
            ))
        })
    }
}

impl Channel {
    /// A unary call, as made past the interceptors.
    async fn unary<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        options: CallOptions,
    ) -> Result<Response<Resp>, Status> {
        let bounds = options.bounds();
        bounds
            .bound(async {
                let mut receiving = self.send_request(path, request, &options, &bounds).await?;
                // The whole call is bounded here: receiving needs no
                // timer of its own.
                receiving.unbound();
                single_response(&mut receiving).await
            })
            .await
    }

    /// Opens a streaming call, behind the channel's stream interceptors if
    /// it has any: its two sides, and the layers they put on it.
    async fn open(
        &self,
        path: &'static str,
        kind: CallKind,
        options: CallOptions,
    ) -> Result<(Sending, Receiving, Layers), Status> {
        let Some(interceptors) = self.interceptors(|chain| !chain.stream.is_empty()) else {
            let (sending, receiving) = self.start_streaming(path, &options).await?;
            return Ok((sending, receiving, Layers::default()));
        };
        let channel = self.clone();
        let starter = Box::new(move |call: ClientCall| {
            Box::pin(async move {
                let (sending, receiving) =
                    channel.start_streaming(path, &call.into_options()).await?;
                Ok(StartedStream::new(sending, receiving))
            }) as _
        });
        let call = ClientCall::new(CallInfo::new(path, kind, None), options);
        let started = StreamNext::new(interceptors, starter).run(call).await?;
        Ok(started.into_parts())
    }

    /// Starts a call whose request is `request`'s one message. It is
    /// encoded first: a message over the send limit fails the call before
    /// it starts.
    async fn send_request<Req: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        options: &CallOptions,
        bounds: &Bounds,
    ) -> Result<Receiving, Status> {
        let limit = options.send_limit().unwrap_or(self.max_send_message_size());
        let frame = Frame::measure(request.message(), limit)?.encode();
        let metadata = [request.metadata(), options.request_metadata()];
        self.send_single(path, frame, &metadata, bounds, options.receive_limit())
            .await
    }

    /// Starts a call whose request is one message, `frame`: sends it and
    /// half-closes. When sending fails, the server may have ended the call
    /// already, and its status says why.
    async fn send_single(
        &self,
        path: &'static str,
        frame: Bytes,
        metadata: &[&Metadata],
        bounds: &Bounds,
        max_receive_message_size: Option<usize>,
    ) -> Result<Receiving, Status> {
        let (mut stream, mut receiving) = self
            .start(path, metadata, bounds, max_receive_message_size)
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
        options: &CallOptions,
    ) -> Result<(Sending, Receiving), Status> {
        let bounds = options.bounds();
        let metadata = [options.request_metadata()];
        let (stream, mut receiving) = bounds
            .bound(self.start(path, &metadata, &bounds, options.receive_limit()))
            .await?;
        let limit = options.send_limit().unwrap_or(self.max_send_message_size());
        let aborted = receiving.aborted();
        Ok((Sending::new(stream, bounds, limit, aborted), receiving))
    }
}
