//! Client interceptors: [`UnaryInterceptor`] around unary calls,
//! [`StreamInterceptor`] around streaming ones, chained in the order they
//! were added to the [`ChannelBuilder`](super::ChannelBuilder): the first is
//! the outermost.

use std::future::Future;
use std::sync::Arc;

use super::receiving::Receiving;
use super::sending::Sending;
use crate::call::CallOptions;
use crate::call::{Chain, Layers, Step};
use crate::{AnyRequest, AnyResponse, BoxFuture, CallInfo, Status, StreamLayer};

/// A call as client interceptors see it before it starts: what it is, and
/// the options it will be made with, which they may change (add metadata,
/// set a deadline).
pub struct ClientCall {
    info: CallInfo,
    options: CallOptions,
}

impl ClientCall {
    pub(crate) fn new(info: CallInfo, options: CallOptions) -> Self {
        Self { info, options }
    }

    /// What the call is: its path and shape.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// The options the call will be made with.
    pub fn options(&self) -> &CallOptions {
        &self.options
    }

    /// The options the call will be made with, to change.
    pub fn options_mut(&mut self) -> &mut CallOptions {
        &mut self.options
    }

    /// The options, once the chain is done with them.
    pub(crate) fn into_options(self) -> CallOptions {
        self.options
    }
}

/// An interceptor around the unary calls of a channel: it sees the call and
/// the request (the message as a [`DynMessage`](crate::DynMessage)) before
/// they go out and the response after, and can change them, answer in the
/// server's place, or fail the call.
///
/// Any `async` closure or function taking a [`ClientCall`], an
/// [`AnyRequest`] and a [`UnaryNext`] is one:
///
/// ```
/// use rgrpc::AnyRequest;
/// use rgrpc::client::{ClientCall, UnaryNext};
///
/// let tagging = |call: ClientCall, mut request: AnyRequest, next: UnaryNext| async move {
///     request.metadata_mut().insert("x-client", "tagging").expect("a valid header");
///     next.run(call, request).await
/// };
/// let channel = rgrpc::Channel::builder("127.0.0.1:50051")?
///     .unary_interceptor(tagging)
///     .connect_lazy();
/// # Ok::<(), rgrpc::Status>(())
/// ```
pub trait UnaryInterceptor: Send + Sync + 'static {
    /// Makes the call, calling `next.run` to go on to the next interceptor
    /// and finally the server, or not.
    fn intercept<'a>(
        &'a self,
        call: ClientCall,
        request: AnyRequest,
        next: UnaryNext,
    ) -> BoxFuture<'a, Result<AnyResponse, Status>>;
}

impl<F, Fut> UnaryInterceptor for F
where
    F: Fn(ClientCall, AnyRequest, UnaryNext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyResponse, Status>> + Send + 'static,
{
    fn intercept<'a>(
        &'a self,
        call: ClientCall,
        request: AnyRequest,
        next: UnaryNext,
    ) -> BoxFuture<'a, Result<AnyResponse, Status>> {
        Box::pin(self(call, request, next))
    }
}

/// An interceptor around the streaming calls of a channel (client, server
/// and bidirectional streaming): it sees the call before it starts, can
/// change its options or refuse it, and can put a [`StreamLayer`] on the
/// started stream, through which every message passes.
///
/// Any `async` closure or function taking a [`ClientCall`] and a
/// [`StreamNext`] is one.
pub trait StreamInterceptor: Send + Sync + 'static {
    /// Starts the call, calling `next.run` to go on to the next
    /// interceptor and finally the server, or not.
    fn intercept<'a>(
        &'a self,
        call: ClientCall,
        next: StreamNext,
    ) -> BoxFuture<'a, Result<StartedStream, Status>>;
}

impl<F, Fut> StreamInterceptor for F
where
    F: Fn(ClientCall, StreamNext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<StartedStream, Status>> + Send + 'static,
{
    fn intercept<'a>(
        &'a self,
        call: ClientCall,
        next: StreamNext,
    ) -> BoxFuture<'a, Result<StartedStream, Status>> {
        Box::pin(self(call, next))
    }
}

/// The interceptors of a channel, outermost first.
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

/// The call at the end of a unary chain.
type UnaryCaller = Box<
    dyn FnOnce(ClientCall, AnyRequest) -> BoxFuture<'static, Result<AnyResponse, Status>> + Send,
>;

/// The start of the call at the end of a streaming chain.
type StreamStarter =
    Box<dyn FnOnce(ClientCall) -> BoxFuture<'static, Result<StartedStream, Status>> + Send>;

/// The rest of a unary call's chain: the interceptors after this one, then
/// the call itself.
pub struct UnaryNext(Chain<dyn UnaryInterceptor, UnaryCaller>);

impl UnaryNext {
    /// The chain of `interceptors` ending in `caller`.
    pub(crate) fn new(interceptors: &Interceptors, caller: UnaryCaller) -> Self {
        Self(Chain::new(interceptors.unary.clone(), caller))
    }

    /// Goes on with `call` and `request`: the next interceptor, or the
    /// call itself.
    ///
    /// # Errors
    /// The status the rest of the chain, or the server, fails the call with.
    pub async fn run(self, call: ClientCall, request: AnyRequest) -> Result<AnyResponse, Status> {
        match self.0.step() {
            Step::Link(interceptor, rest) => interceptor.intercept(call, request, Self(rest)).await,
            Step::End(caller) => caller(call, request).await,
        }
    }
}

/// The rest of a streaming call's chain: the interceptors after this one,
/// then the start of the call itself.
pub struct StreamNext(Chain<dyn StreamInterceptor, StreamStarter>);

impl StreamNext {
    /// The chain of `interceptors` ending in `starter`.
    pub(crate) fn new(interceptors: &Interceptors, starter: StreamStarter) -> Self {
        Self(Chain::new(interceptors.stream.clone(), starter))
    }

    /// Goes on with `call`: the next interceptor, or the start of the call.
    ///
    /// # Errors
    /// The status the rest of the chain fails the call with, or the call's
    /// own when it cannot start.
    pub async fn run(self, call: ClientCall) -> Result<StartedStream, Status> {
        match self.0.step() {
            Step::Link(interceptor, rest) => interceptor.intercept(call, Self(rest)).await,
            Step::End(starter) => starter(call).await,
        }
    }
}

/// A streaming call that has started, on its way back out through the
/// interceptors that started it.
pub struct StartedStream {
    sending: Sending,
    receiving: Receiving,
    /// Innermost first: each interceptor adds its layer on the way out.
    layers: Vec<Arc<dyn StreamLayer>>,
}

impl StartedStream {
    pub(crate) fn new(sending: Sending, receiving: Receiving) -> Self {
        Self {
            sending,
            receiving,
            layers: Vec::new(),
        }
    }

    /// Puts `layer` on the call: every message sent and received passes
    /// through it, outside the layers of the interceptors after this one.
    pub fn add_layer(&mut self, layer: impl StreamLayer) {
        self.layers.push(Arc::new(layer));
    }

    /// The call's two sides, and its layers outermost first.
    pub(crate) fn into_parts(mut self) -> (Sending, Receiving, Layers) {
        self.layers.reverse();
        (self.sending, self.receiving, Layers::new(self.layers))
    }
}
