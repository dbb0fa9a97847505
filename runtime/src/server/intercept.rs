//! Server interceptors: [`UnaryInterceptor`] around unary calls,
//! [`StreamInterceptor`] around streaming ones, chained in the order they
//! were added to the [`ServerBuilder`](super::ServerBuilder): the first is
//! the outermost.

use std::future::Future;
use std::sync::Arc;

use super::driver::Shared;
use crate::call::{Chain, Step};
use crate::{AnyRequest, AnyResponse, BoxFuture, CallContext, Metadata, Status, StreamLayer};

/// An interceptor around the unary calls of a server: it sees the request
/// (metadata, context, the message as a [`DynMessage`](crate::DynMessage))
/// before the handler and the response after it, and can change either,
/// answer in the handler's place, or fail the call.
///
/// Any `async` closure or function taking an [`AnyRequest`] and a
/// [`UnaryNext`] is one:
///
/// ```
/// use rgrpc::{AnyRequest, Status};
/// use rgrpc::server::UnaryNext;
///
/// let logging = |request: AnyRequest, next: UnaryNext| async move {
///     let path = request.context().info().map(|info| info.path());
///     let result = next.run(request).await;
///     println!("{path:?}: {:?}", result.as_ref().err().map(Status::code));
///     result
/// };
/// let server = rgrpc::Server::builder().unary_interceptor(logging).build();
/// ```
pub trait UnaryInterceptor: Send + Sync + 'static {
    /// Handles `request`, calling `next.run` to go on to the next
    /// interceptor and finally the handler, or not.
    fn intercept<'a>(
        &'a self,
        request: AnyRequest,
        next: UnaryNext,
    ) -> BoxFuture<'a, Result<AnyResponse, Status>>;
}

impl<F, Fut> UnaryInterceptor for F
where
    F: Fn(AnyRequest, UnaryNext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyResponse, Status>> + Send + 'static,
{
    fn intercept<'a>(
        &'a self,
        request: AnyRequest,
        next: UnaryNext,
    ) -> BoxFuture<'a, Result<AnyResponse, Status>> {
        Box::pin(self(request, next))
    }
}

/// An interceptor around the streaming calls of a server (client,
/// server and bidirectional streaming): it sees the call before the
/// handler, with its metadata and context, and its result after; it can set
/// response headers and trailers, refuse the call, and put a
/// [`StreamLayer`] on it, through which every message passes.
///
/// Any `async` closure or function taking a [`ServerStream`] and a
/// [`StreamNext`] is one.
pub trait StreamInterceptor: Send + Sync + 'static {
    /// Handles the call `stream`, calling `next.run` to go on to the next
    /// interceptor and finally the handler, or not.
    fn intercept<'a>(
        &'a self,
        stream: ServerStream,
        next: StreamNext,
    ) -> BoxFuture<'a, Result<(), Status>>;
}

impl<F, Fut> StreamInterceptor for F
where
    F: Fn(ServerStream, StreamNext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    fn intercept<'a>(
        &'a self,
        stream: ServerStream,
        next: StreamNext,
    ) -> BoxFuture<'a, Result<(), Status>> {
        Box::pin(self(stream, next))
    }
}

/// The interceptors of a server, outermost first.
pub(crate) struct Interceptors {
    pub(crate) unary: Arc<[Arc<dyn UnaryInterceptor>]>,
    pub(crate) stream: Arc<[Arc<dyn StreamInterceptor>]>,
}

impl Default for Interceptors {
    fn default() -> Self {
        Self {
            unary: Arc::new([]),
            stream: Arc::new([]),
        }
    }
}

/// The handler at the end of a unary chain.
type UnaryHandler =
    Box<dyn FnOnce(AnyRequest) -> BoxFuture<'static, Result<AnyResponse, Status>> + Send>;

/// The handler at the end of a streaming chain.
type StreamHandler = Box<dyn FnOnce(ServerStream) -> BoxFuture<'static, Result<(), Status>> + Send>;

/// The rest of a unary call's chain: the interceptors after this one, then
/// the handler.
pub struct UnaryNext(Chain<dyn UnaryInterceptor, UnaryHandler>);

impl UnaryNext {
    /// The chain of `interceptors` ending in `handler`.
    pub(crate) fn new(interceptors: &Interceptors, handler: UnaryHandler) -> Self {
        Self(Chain::new(interceptors.unary.clone(), handler))
    }

    /// Goes on with `request`: the next interceptor, or the handler.
    ///
    /// # Errors
    /// The status the rest of the chain fails the call with.
    pub async fn run(self, request: AnyRequest) -> Result<AnyResponse, Status> {
        match self.0.step() {
            Step::Link(interceptor, rest) => interceptor.intercept(request, Self(rest)).await,
            Step::End(handler) => handler(request).await,
        }
    }
}

/// The rest of a streaming call's chain: the interceptors after this one,
/// then the handler.
pub struct StreamNext(Chain<dyn StreamInterceptor, StreamHandler>);

impl StreamNext {
    /// The chain of `interceptors` ending in `handler`.
    pub(crate) fn new(interceptors: &Interceptors, handler: StreamHandler) -> Self {
        Self(Chain::new(interceptors.stream.clone(), handler))
    }

    /// Goes on with `stream`: the next interceptor, or the handler, which
    /// returns when the call is done.
    ///
    /// # Errors
    /// The status the rest of the chain fails the call with.
    pub async fn run(self, stream: ServerStream) -> Result<(), Status> {
        match self.0.step() {
            Step::Link(interceptor, rest) => interceptor.intercept(stream, Self(rest)).await,
            Step::End(handler) => handler(stream).await,
        }
    }
}

/// A streaming call as server stream interceptors see it.
pub struct ServerStream {
    metadata: Metadata,
    context: CallContext,
    sink: Shared,
    layers: Vec<Arc<dyn StreamLayer>>,
}

impl ServerStream {
    pub(crate) fn new(metadata: Metadata, context: CallContext, sink: Shared) -> Self {
        Self {
            metadata,
            context,
            sink,
            layers: Vec::new(),
        }
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The request metadata, to change before the handler sees it.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The call's context: what the call is, its deadline, its cancellation.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// Adds to the response headers, sent with the first message.
    pub fn set_header(&mut self, metadata: Metadata) {
        self.sink.add_headers(metadata);
    }

    /// Adds to the trailers sent with the status.
    pub fn set_trailer(&mut self, metadata: Metadata) {
        self.sink.add_trailers(metadata);
    }

    /// Puts `layer` on the call: every message sent and received passes
    /// through it, inside the layers of the interceptors before this one.
    pub fn add_layer(&mut self, layer: impl StreamLayer) {
        self.layers.push(Arc::new(layer));
    }

    /// The parts the handler is given.
    pub(crate) fn into_parts(self) -> (Metadata, CallContext, Shared, Vec<Arc<dyn StreamLayer>>) {
        (self.metadata, self.context, self.sink, self.layers)
    }
}
