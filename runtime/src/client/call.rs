//! [`Call`]: a call about to start, with its options; awaiting it starts
//! it. Each shape's start is the typed edge of the client: it encodes the
//! request, opens the call on the channel and wraps the untyped sides in
//! typed handles.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use h2::SendStream;

use super::Channel;
use super::handles::{
    BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream, single_response,
};
use super::intercept::{ClientCall, StartedStream, StreamNext, UnaryNext};
use super::receiving::Receiving;
use super::replay::{Replay, Restart, Retrier};
use super::retry::Attempts;
use super::sending::Sending;
use super::service_config::RetryPolicy;
use crate::call::{Bounds, CallContext, CallOptions, CallSpan, Layers, ended_here};
use crate::frame::{Compression, Frame};
use crate::transport;
use crate::{
    AnyRequest, AnyResponse, CallInfo, CallKind, Code, Message, Metadata, Request, Response, Status,
};

/// A call's request, encoded, as each attempt sends it.
struct Attempt<'a> {
    path: &'static str,
    frame: Bytes,
    metadata: [&'a Metadata; 2],
    options: &'a CallOptions,
    bounds: &'a Bounds,
    compression: Option<Compression>,
}

/// What a call that carries no metadata of its own sends besides its options'.
static NO_METADATA: Metadata = Metadata::new();

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

    /// Waits for the channel to be ready rather than failing at once when
    /// it cannot connect: see [`CallOptions::wait_for_ready`].
    pub fn wait_for_ready(mut self, wait: bool) -> Self {
        self.options = std::mem::take(&mut self.options).wait_for_ready(wait);
        self
    }
}

impl<'c, S: Shape> IntoFuture for Call<'c, S> {
    type Output = Result<S::Output, Status>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        let span = CallSpan::client(&CallInfo::new(self.path, S::KIND, None));
        let options = self.channel.configure(self.path, self.options);
        self.shape.start(self.channel, self.path, options, span)
    }
}

/// A call's shape, as [`Call`] starts it: [`Unary`], [`ServerStreaming`],
/// [`ClientStreaming`] or [`BidiStreaming`].
pub trait Shape: Send + Sized + 'static {
    /// What the started call gives.
    type Output;

    /// The call's shape.
    const KIND: CallKind;

    /// Starts the call, reporting to `span`.
    #[doc(hidden)]
    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
        span: CallSpan,
    ) -> BoxFuture<'c, Result<Self::Output, Status>>;
}

/// Records how a unary call ended, in the span its future runs in.
fn ended<T>(result: Result<T, Status>) -> Result<T, Status> {
    ended_here(result.as_ref().map_or_else(Status::code, |_| Code::Ok));
    result
}

/// Records how a streaming call that failed to start ended, in the span its
/// future runs in; one that started is recorded by its response stream.
fn ended_on_error<T>(result: Result<T, Status>) -> Result<T, Status> {
    if let Err(status) = &result {
        ended_here(status.code());
    }
    result
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

/// A unary call to `path` (`/package.Service/Method`) on `channel`.
///
/// Generated clients make their calls with this and its three siblings;
/// code without generated types (a gateway, a command line) calls them
/// itself, with [`wkt::Empty`](crate::wkt::Empty) as the message type when
/// the messages stay encoded: it keeps every field it does not know, and
/// writes them back unchanged.
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

/// A server-streaming call to `path` on `channel`, as [`unary`] says.
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

/// A client-streaming call to `path` on `channel`, as [`unary`] says.
pub fn client_streaming<'c, Req, Resp>(
    channel: &'c Channel,
    path: &'static str,
) -> Call<'c, ClientStreaming<Req, Resp>> {
    let shape = ClientStreaming {
        _messages: PhantomData,
    };
    Call::new(channel, path, shape)
}

/// A bidirectional-streaming call to `path` on `channel`, as [`unary`]
/// says.
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
    const KIND: CallKind = CallKind::Unary;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
        span: CallSpan,
    ) -> BoxFuture<'c, Result<Response<Resp>, Status>> {
        // Each path boxes only its own future: a box holds the whole of what
        // it is given, and the direct path's is the smaller by far.
        let Some(interceptors) = channel.interceptors(|chain| !chain.unary.is_empty()) else {
            return Box::pin(
                span.wrap(async move { ended(channel.unary(path, &self.request, &options).await) }),
            );
        };
        let channel = channel.clone();
        let caller = Box::new(move |call: ClientCall, request: AnyRequest| {
            Box::pin(async move {
                let request = request.downcast::<Req>()?;
                let options = call.into_options();
                let response: Response<Resp> = channel.unary(path, &request, &options).await?;
                Ok(response.into_dyn())
            }) as _
        });
        let call = ClientCall::new(CallInfo::new(path, Self::KIND, None), options);
        let next = UnaryNext::new(&interceptors, caller);
        Box::pin(span.wrap(async move {
            let response = next.run(call, self.request.into_dyn()).await;
            ended(response.and_then(AnyResponse::downcast))
        }))
    }
}

impl<Req: Message, Resp: Message> Shape for ServerStreaming<Req, Resp> {
    type Output = ResponseStream<Resp>;
    const KIND: CallKind = CallKind::ServerStreaming;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
        span: CallSpan,
    ) -> BoxFuture<'c, Result<ResponseStream<Resp>, Status>> {
        let stream_span = span.clone();
        // Each path boxes only its own future, as for unary calls.
        if channel
            .interceptors(|chain| !chain.stream.is_empty())
            .is_none()
        {
            return Box::pin(span.wrap(async move {
                let bounds = options.bounds();
                let sent = channel.send_request(path, &self.request, &options, &bounds);
                let receiving = ended_on_error(bounds.bound(sent).await)?;
                Ok(ResponseStream::new(
                    receiving,
                    Layers::default(),
                    stream_span,
                ))
            }));
        }
        Box::pin(span.wrap(async move {
            // Behind interceptors, the request goes out through their
            // layers, and its metadata with the options'.
            let (message, metadata) = self.request.into_parts();
            let options = options.metadata(metadata);
            let opened = channel.open(path, Self::KIND, options).await;
            let (sending, receiving, layers) = ended_on_error(opened)?;
            let mut requests = RequestSink::<Req>::new(sending, layers.clone());
            let sent = async {
                requests.send(&message).await?;
                requests.close().await
            };
            ended_on_error(sent.await)?;
            Ok(ResponseStream::new(receiving, layers, stream_span))
        }))
    }
}

impl<Req: Message, Resp: Message> Shape for ClientStreaming<Req, Resp> {
    type Output = ClientStreamingCall<Req, Resp>;
    const KIND: CallKind = CallKind::ClientStreaming;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
        span: CallSpan,
    ) -> BoxFuture<'c, Result<ClientStreamingCall<Req, Resp>, Status>> {
        open_both(
            channel,
            path,
            Self::KIND,
            options,
            span,
            ClientStreamingCall::new,
        )
    }
}

impl<Req: Message, Resp: Message> Shape for BidiStreaming<Req, Resp> {
    type Output = BidiStreamingCall<Req, Resp>;
    const KIND: CallKind = CallKind::BidiStreaming;

    fn start<'c>(
        self,
        channel: &'c Channel,
        path: &'static str,
        options: CallOptions,
        span: CallSpan,
    ) -> BoxFuture<'c, Result<BidiStreamingCall<Req, Resp>, Status>> {
        open_both(
            channel,
            path,
            Self::KIND,
            options,
            span,
            BidiStreamingCall::new,
        )
    }
}

/// Opens a client- or bidirectional-streaming call and hands its typed
/// sides to `handle`.
fn open_both<'c, Req: Message, Resp: Message, H: 'static>(
    channel: &'c Channel,
    path: &'static str,
    kind: CallKind,
    options: CallOptions,
    span: CallSpan,
    handle: fn(RequestSink<Req>, ResponseStream<Resp>) -> H,
) -> BoxFuture<'c, Result<H, Status>> {
    let stream_span = span.clone();
    Box::pin(span.wrap(async move {
        if let Some((policy, buffer)) = channel.retry_policy(path)
            && channel
                .interceptors(|chain| !chain.stream.is_empty())
                .is_none()
        {
            let started = channel.start_retried(path, options, policy, buffer).await;
            let (sending, receiving, retrier) = ended_on_error(started)?;
            let layers = Layers::default();
            return Ok(handle(
                RequestSink::new(sending, layers.clone()),
                ResponseStream::new(receiving, layers, stream_span).retried_by(retrier),
            ));
        }
        let opened = channel.open(path, kind, options).await;
        let (sending, receiving, layers) = ended_on_error(opened)?;
        Ok(handle(
            RequestSink::new(sending, layers.clone()),
            ResponseStream::new(receiving, layers, stream_span),
        ))
    }))
}

impl Channel {
    /// A unary call, as made past the interceptors.
    async fn unary<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        options: &CallOptions,
    ) -> Result<Response<Resp>, Status> {
        let bounds = options.bounds();
        bounds
            .bound(async {
                let (result, refused) = self.unary_once(path, request, options, &bounds).await?;
                if refused {
                    // The server refused the stream unhandled: the call is
                    // made once more, on the connection the balancer picks
                    // now (gRFC A6's transparent retry). Rare, so boxed.
                    let again = Box::pin(self.unary_once(path, request, options, &bounds));
                    return again.await?.0;
                }
                result
            })
            .await
    }

    /// One attempt at a unary call: its result, and whether the server
    /// refused it unhandled.
    async fn unary_once<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        options: &CallOptions,
        bounds: &Bounds,
    ) -> Result<(Result<Response<Resp>, Status>, bool), Status> {
        let mut receiving = self.send_request(path, request, options, bounds).await?;
        // The whole call is bounded by the caller: receiving needs no timer
        // of its own.
        receiving.unbound();
        let result = single_response(&mut receiving, &Layers::default()).await;
        Ok((result, receiving.refused()))
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
        let started = StreamNext::new(&interceptors, starter).run(call).await?;
        Ok(started.into_parts())
    }

    /// Starts a call whose request is `request`'s one message: sends it and
    /// half-closes, and under a retry policy, sends it again while the
    /// policy says. It is encoded first: a message over the send limit fails
    /// the call before it starts.
    async fn send_request<Req: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        options: &CallOptions,
        bounds: &Bounds,
    ) -> Result<Receiving, Status> {
        let limit = options.send_limit().unwrap_or(self.max_send_message_size());
        let compression = self.compression(options);
        let frame = Frame::measure(request.message(), limit)?.encode_with(compression)?;
        let request = Attempt {
            path,
            frame,
            metadata: [request.metadata(), options.request_metadata()],
            options,
            bounds,
            compression,
        };
        if let Some((policy, buffer)) = self.retry_policy(path)
            && request.frame.len() <= buffer
        {
            // Boxed: calls without a policy do not carry its future.
            return Box::pin(self.send_retrying(&request, policy)).await;
        }
        self.send_frame(&request, 0).await
    }

    /// Sends `request` once, after `previous` attempts. When sending fails,
    /// the server may have ended the call already, and its status says why.
    async fn send_frame(&self, request: &Attempt<'_>, previous: u32) -> Result<Receiving, Status> {
        let Attempt {
            path,
            metadata,
            options,
            bounds,
            compression,
            ..
        } = *request;
        let (mut stream, mut receiving) = self
            .start(path, metadata, bounds, options, compression, previous)
            .await?;
        // One message, whole, with END_STREAM: h2 buffers it until the window allows.
        if let Err(err) = stream.send_data(request.frame.clone(), true) {
            // Rare, so boxed: every call's future stays the smaller for it.
            return Err(Box::pin(receiving.next())
                .await
                .err()
                .unwrap_or_else(|| transport::h2_status(&err)));
        }
        Ok(receiving)
    }

    /// Sends `request` until an attempt is answered with response headers
    /// (the call is then committed), or fails in a way `policy` does not
    /// try again.
    async fn send_retrying(
        &self,
        request: &Attempt<'_>,
        policy: &RetryPolicy,
    ) -> Result<Receiving, Status> {
        let mut attempts = Attempts::new(policy.clone());
        loop {
            let previous = attempts.start();
            let (status, pushback) = match self.send_frame(request, previous).await {
                Ok(mut receiving) => match receiving.headers().await {
                    Ok(_) => {
                        self.committed();
                        return Ok(receiving);
                    }
                    Err(status) => (status, receiving.pushback()),
                },
                Err(status) => (status, None),
            };
            let Some(wait) = attempts.retry_after(&status, pushback, self.throttle()) else {
                return Err(status);
            };
            request.bounds.sleep(wait).await?;
        }
    }

    /// Starts a call whose requests are streamed under a retry `policy`,
    /// keeping up to `buffer` bytes of them to send again: both sides, and
    /// what makes new attempts until the call commits. A first attempt
    /// that cannot start is made again as the policy says.
    async fn start_retried(
        &self,
        path: &'static str,
        options: CallOptions,
        policy: &RetryPolicy,
        buffer: usize,
    ) -> Result<(Sending, Receiving, Box<Retrier>), Status> {
        let mut attempts = Attempts::new(policy.clone());
        // Every attempt within the call's one deadline.
        let bounds = options.bounds();
        let (mut sending, mut receiving) = loop {
            attempts.start();
            let status = match self
                .start_streaming_within(path, &options, bounds.clone())
                .await
            {
                Ok(started) => break started,
                Err(status) => status,
            };
            let Some(wait) = attempts.retry_after(&status, None, self.throttle()) else {
                return Err(status);
            };
            bounds.sleep(wait).await?;
        };
        let replay = Replay::new(buffer);
        sending.replay_with(replay.clone());
        let restart = Restart {
            channel: self.clone(),
            path,
            bounds: sending.bounds().clone(),
            compression: sending.compression(),
            options,
        };
        let retrier = Retrier::new(restart, attempts, replay, receiving.aborted());
        Ok((sending, receiving, retrier))
    }

    /// Starts a call whose requests are streamed: both sides, untyped.
    async fn start_streaming(
        &self,
        path: &'static str,
        options: &CallOptions,
    ) -> Result<(Sending, Receiving), Status> {
        self.start_streaming_within(path, options, options.bounds())
            .await
    }

    /// [`Channel::start_streaming`] within `bounds`.
    async fn start_streaming_within(
        &self,
        path: &'static str,
        options: &CallOptions,
        bounds: Bounds,
    ) -> Result<(Sending, Receiving), Status> {
        let compression = self.compression(options);
        let (stream, mut receiving) = bounds
            .bound(self.start_streamed(path, &bounds, options, compression, 0))
            .await?;
        let limit = options.send_limit().unwrap_or(self.max_send_message_size());
        let aborted = receiving.aborted();
        let sending = Sending::new(
            stream,
            receiving.link(),
            bounds,
            limit,
            aborted,
            compression,
        );
        Ok((sending, receiving))
    }

    /// Opens the stream of an attempt, after `previous` others, at a call
    /// whose requests are streamed, its metadata its options'.
    pub(crate) async fn start_streamed(
        &self,
        path: &'static str,
        bounds: &Bounds,
        options: &CallOptions,
        compression: Option<Compression>,
        previous: u32,
    ) -> Result<(SendStream<Bytes>, Receiving), Status> {
        let metadata = [options.request_metadata(), &NO_METADATA];
        self.start(path, metadata, bounds, options, compression, previous)
            .await
    }
}
