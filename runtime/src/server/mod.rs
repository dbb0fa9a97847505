//! The gRPC server: routing by `:path` to the handlers of registered
//! services, deadlines, cancellation and graceful shutdown, over h2.

mod call;

pub(crate) use call::Shared as SinkShared;
use call::{Finish, Shared};

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use http::{HeaderMap, Method, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;

use crate::codec::{DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE};
use crate::stream::{RequestStream, ResponseSink};
use crate::transport::{self, CONNECTION_WINDOW, Incoming, MAX_FRAME_SIZE, STREAM_WINDOW, timeout};
use crate::{Message, Metadata, Request, Response, Status};

/// A future as the dispatch boundary boxes it.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

tokio::task_local! {
    /// The deadline of the call whose handler is running, for calls it makes.
    pub(crate) static CALL_DEADLINE: Option<Instant>;
}

/// A gRPC service: what `protoc-gen-rgrpc` generates as `XServer` for each
/// service, to be added to a [`Server`].
pub trait Service: Send + 'static {
    /// The full service name, such as `echo.Echo`.
    const NAME: &'static str;

    /// Adds a handler for each of the service's methods.
    #[doc(hidden)]
    fn register(self, routes: &mut Routes);
}

/// The handlers of a server, by method path.
#[derive(Default)]
pub struct Routes {
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    services: HashSet<&'static str>,
}

/// One call as a handler receives it.
pub(crate) struct Call {
    metadata: Metadata,
    deadline: Option<Instant>,
    incoming: Incoming,
    sink: Shared,
}

trait Handler: Send + Sync {
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Result<Finish, Status>>;
}

/// Reads the only message of a unary or server-streaming request.
async fn single_message<T: Message>(incoming: &mut Incoming) -> Result<T, Status> {
    let Some(message) = incoming.message().await? else {
        return Err(Status::internal("the request ended without a message"));
    };
    if incoming.message::<T>().await?.is_some() {
        return Err(Status::internal(
            "the request has more than one message for a method that takes one",
        ));
    }
    Ok(message)
}

/// The types a [`MethodHandler`] is generic over, as a function type so the
/// handler is `Send` and `Sync` whatever they are.
type Signature<Req, Resp, Fut, Shape> = fn(Req, Shape) -> (Resp, Fut);

/// A handler made from a service and a closure calling one of its methods.
struct MethodHandler<S, F, Fut, Req, Resp, Shape> {
    service: Arc<S>,
    method: F,
    _types: PhantomData<Signature<Req, Resp, Fut, Shape>>,
}

impl<S, F, Fut, Req, Resp, Shape> MethodHandler<S, F, Fut, Req, Resp, Shape> {
    fn new(service: &Arc<S>, method: F) -> Self {
        MethodHandler {
            service: service.clone(),
            method,
            _types: PhantomData,
        }
    }
}

/// Call shapes, as handler markers.
struct UnaryShape;
struct ServerStreamingShape;
struct ClientStreamingShape;
struct BidiShape;

impl<S, F, Fut, Req, Resp> Handler for MethodHandler<S, F, Fut, Req, Resp, UnaryShape>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Result<Finish, Status>> {
        Box::pin(async move {
            let Call {
                metadata,
                deadline,
                mut incoming,
                sink,
            } = call;
            let message = single_message::<Req>(&mut incoming).await?;
            let request = Request::from_parts(message, metadata, deadline);
            let response = (self.method)(self.service.clone(), request).await?;
            Finish::reply(response, sink.max_message_size())
        })
    }
}

impl<S, F, Fut, Req, Resp> Handler for MethodHandler<S, F, Fut, Req, Resp, ServerStreamingShape>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Req>, ResponseSink<Resp>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Result<Finish, Status>> {
        Box::pin(async move {
            let Call {
                metadata,
                deadline,
                mut incoming,
                sink,
            } = call;
            let message = single_message::<Req>(&mut incoming).await?;
            let request = Request::from_parts(message, metadata, deadline);
            (self.method)(self.service.clone(), request, ResponseSink::new(sink)).await?;
            Ok(Finish::streamed())
        })
    }
}

impl<S, F, Fut, Req, Resp> Handler for MethodHandler<S, F, Fut, Req, Resp, ClientStreamingShape>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, RequestStream<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Result<Finish, Status>> {
        Box::pin(async move {
            let Call {
                metadata,
                deadline,
                incoming,
                sink,
            } = call;
            let requests = RequestStream::new(incoming, metadata, deadline);
            let response = (self.method)(self.service.clone(), requests).await?;
            Finish::reply(response, sink.max_message_size())
        })
    }
}

impl<S, F, Fut, Req, Resp> Handler for MethodHandler<S, F, Fut, Req, Resp, BidiShape>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, RequestStream<Req>, ResponseSink<Resp>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Result<Finish, Status>> {
        Box::pin(async move {
            let Call {
                metadata,
                deadline,
                incoming,
                sink,
            } = call;
            let requests = RequestStream::new(incoming, metadata, deadline);
            (self.method)(self.service.clone(), requests, ResponseSink::new(sink)).await?;
            Ok(Finish::streamed())
        })
    }
}

impl Routes {
    fn add<H: Handler + 'static>(&mut self, path: &'static str, handler: H) {
        if let Some((service, _)) = split_path(path) {
            self.services.insert(service);
        }
        self.handlers.insert(path, Arc::new(handler));
    }

    /// Registers a unary method.
    #[doc(hidden)]
    pub fn unary<S, F, Fut, Req, Resp>(&mut self, path: &'static str, service: &Arc<S>, method: F)
    where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
        Req: Message,
        Resp: Message,
    {
        self.add(
            path,
            MethodHandler::<_, _, _, _, _, UnaryShape>::new(service, method),
        );
    }

    /// Registers a server-streaming method.
    #[doc(hidden)]
    pub fn server_streaming<S, F, Fut, Req, Resp>(
        &mut self,
        path: &'static str,
        service: &Arc<S>,
        method: F,
    ) where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>, Request<Req>, ResponseSink<Resp>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Status>> + Send + 'static,
        Req: Message,
        Resp: Message,
    {
        self.add(
            path,
            MethodHandler::<_, _, _, _, _, ServerStreamingShape>::new(service, method),
        );
    }

    /// Registers a client-streaming method.
    #[doc(hidden)]
    pub fn client_streaming<S, F, Fut, Req, Resp>(
        &mut self,
        path: &'static str,
        service: &Arc<S>,
        method: F,
    ) where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>, RequestStream<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
        Req: Message,
        Resp: Message,
    {
        self.add(
            path,
            MethodHandler::<_, _, _, _, _, ClientStreamingShape>::new(service, method),
        );
    }

    /// Registers a bidirectional-streaming method.
    #[doc(hidden)]
    pub fn bidi_streaming<S, F, Fut, Req, Resp>(
        &mut self,
        path: &'static str,
        service: &Arc<S>,
        method: F,
    ) where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>, RequestStream<Req>, ResponseSink<Resp>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Status>> + Send + 'static,
        Req: Message,
        Resp: Message,
    {
        self.add(
            path,
            MethodHandler::<_, _, _, _, _, BidiShape>::new(service, method),
        );
    }

    /// The handler for `path`, or the UNIMPLEMENTED status grpc-go gives.
    fn route(&self, path: &str) -> Result<Arc<dyn Handler>, Status> {
        if let Some(handler) = self.handlers.get(path) {
            return Ok(handler.clone());
        }
        let (service, method) = split_path(path).unwrap_or(("", path));
        Err(if self.services.contains(service) {
            Status::unimplemented(format!("unknown method {method} for service {service}"))
        } else {
            Status::unimplemented(format!("unknown service {service}"))
        })
    }
}

/// `/pkg.Service/Method` as the service and the method.
fn split_path(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix('/')?.rsplit_once('/')
}

/// Whether an accept error is about one connection that went away before
/// it was accepted, rather than about the listener.
fn gone_before_accepted(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}

/// Server settings.
#[derive(Debug, Clone)]
struct Config {
    max_receive_message_size: usize,
    max_send_message_size: usize,
    handshake_timeout: Duration,
}

/// How long a new connection may take to start HTTP/2, as grpc-go's default.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// The first and the longest pause before accepting again after an error.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// Builds a [`Server`].
pub struct ServerBuilder {
    routes: Routes,
    config: Config,
}

impl ServerBuilder {
    /// Adds a service (a generated `XServer` wrapping your implementation).
    pub fn add_service<S: Service>(mut self, service: S) -> Self {
        service.register(&mut self.routes);
        self
    }

    /// The largest request message accepted, 4 MiB by default; larger ones
    /// fail the call with RESOURCE_EXHAUSTED.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.config.max_receive_message_size = bytes;
        self
    }

    /// How long a new connection may take to start HTTP/2 (the server's
    /// settings sent, the client's preface received) before it is closed,
    /// 120 seconds by default.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// The largest response message sent, [`DEFAULT_MAX_SEND_SIZE`] by
    /// default. A larger response is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED, which a stream's `send` also returns.
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.config.max_send_message_size = bytes;
        self
    }

    /// The server, ready to serve.
    pub fn build(self) -> Server {
        Server {
            inner: Arc::new(Inner {
                routes: self.routes,
                config: self.config,
            }),
        }
    }
}

/// A gRPC server over HTTP/2 (h2 on tokio).
///
/// ```no_run
/// # async fn run(service: impl rgrpc::server::Service) -> std::io::Result<()> {
/// rgrpc::Server::builder()
///     .add_service(service)
///     .build()
///     .serve("127.0.0.1:50051")
///     .await
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Routes,
    config: Config,
}

impl Server {
    /// A builder with no services and default settings.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            routes: Routes::default(),
            config: Config {
                max_receive_message_size: DEFAULT_MAX_RECEIVE_SIZE,
                max_send_message_size: DEFAULT_MAX_SEND_SIZE,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            },
        }
    }

    /// Binds `addr` and serves for as long as the future runs (see
    /// [`Server::serve_with_shutdown`]).
    ///
    /// # Errors
    /// When binding fails.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, std::future::pending())
            .await;
        Ok(())
    }

    /// Serves connections from `listener` until `shutdown` completes, then
    /// stops accepting, sends GOAWAY on every connection and waits for the
    /// calls in flight to finish.
    ///
    /// Failing to accept a connection does not stop the server: one that
    /// the peer gave up on is skipped, and after any other error (such as
    /// running out of file descriptors) accepting resumes after a pause that
    /// grows from 5 ms to 1 s, the schedule grpc-go uses.
    ///
    /// Runs on a tokio runtime with its time driver enabled (as with
    /// `#[tokio::main]`, or `enable_all` on a runtime builder): pauses,
    /// handshake timeouts and deadlines use it.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) {
        let (stop, stopped) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = None;
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => {
                        backoff = None;
                        // Small messages must not wait for Nagle's algorithm;
                        // a socket that refuses is served all the same.
                        let _ = socket.set_nodelay(true);
                        connections.spawn(self.inner.clone().serve_connection(socket, stopped.clone()));
                    }
                    Err(err) if gone_before_accepted(&err) => {}
                    Err(_) => {
                        let pause = backoff.map_or(ACCEPT_BACKOFF.0, |last: Duration| {
                            (last * 2).min(ACCEPT_BACKOFF.1)
                        });
                        backoff = Some(pause);
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = &mut shutdown => break,
                        }
                    }
                },
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        let _ = stop.send(true);
        while connections.join_next().await.is_some() {}
    }

    /// Serves one connection over any byte stream (used by the in-memory transport).
    pub(crate) fn spawn_connection<IO>(&self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            // In-memory connections take no part in a graceful shutdown: the
            // stop signal is never sent, and its sender lives as long as they do.
            let (_never_sent, stopped) = watch::channel(false);
            inner.serve_connection(io, stopped).await;
        });
    }
}

impl Inner {
    async fn serve_connection<IO>(self: Arc<Self>, io: IO, mut stop: watch::Receiver<bool>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let handshake = h2::server::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_frame_size(MAX_FRAME_SIZE)
            .handshake::<_, Bytes>(io);
        let Ok(Ok(mut connection)) =
            tokio::time::timeout(self.config.handshake_timeout, handshake).await
        else {
            return;
        };
        // One wait for the stop signal, made once: a new one per accepted
        // call would register and unregister with the signal each time.
        let mut stopped = std::pin::pin!(async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        });
        let mut stopping = false;
        loop {
            tokio::select! {
                accepted = connection.accept() => match accepted {
                    Some(Ok((request, respond))) => {
                        // The checks run on the call's own task: this one
                        // does the I/O of every call on the connection.
                        let inner = self.clone();
                        tokio::spawn(call::started_by(move || inner.start_call(request, respond)));
                    }
                    Some(Err(_)) | None => return,
                },
                () = &mut stopped, if !stopping => {
                    stopping = true;
                    connection.graceful_shutdown();
                }
            }
        }
    }

    /// Checks a new call and returns the future that runs it; a call that
    /// fails the checks is answered here and needs none. The call's task
    /// runs this first (see `call::started_by`), and the future holds only
    /// what the call needs from here on.
    fn start_call(
        &self,
        request: http::Request<RecvStream>,
        mut respond: SendResponse<Bytes>,
    ) -> Option<impl Future<Output = ()> + Send + use<>> {
        let (parts, body) = request.into_parts();
        if parts.method != Method::POST {
            let _ = respond.send_response(plain_response(StatusCode::METHOD_NOT_ALLOWED), true);
            return None;
        }
        let grpc = transport::is_grpc(&parts.headers);
        if !grpc {
            // PROTOCOL-HTTP2.md: a content type that is not application/grpc gets HTTP 415.
            let _ = respond.send_response(plain_response(StatusCode::UNSUPPORTED_MEDIA_TYPE), true);
            return None;
        }
        let Prepared {
            handler,
            metadata,
            deadline,
        } = match self.prepare(&parts.headers, parts.uri.path()) {
            Ok(prepared) => prepared,
            Err(status) => {
                call::reject(respond, &status);
                return None;
            }
        };
        let shared = Shared::new(self.config.max_send_message_size);
        let call = Call {
            metadata,
            deadline,
            incoming: Incoming::new(body, self.config.max_receive_message_size, "request"),
            sink: shared.clone(),
        };
        let handler = CALL_DEADLINE.scope(deadline, handler.call(call));
        Some(call::drive(respond, handler, shared, deadline))
    }

    /// Checks the request headers and finds the handler.
    fn prepare(&self, headers: &HeaderMap, path: &str) -> Result<Prepared, Status> {
        let handler = self.routes.route(path)?;
        if let Some(encoding) = headers.get("grpc-encoding")
            && encoding != "identity"
        {
            return Err(Status::unimplemented(format!(
                "message encoding {encoding:?} is not supported"
            )));
        }
        let deadline = match headers.get("grpc-timeout") {
            Some(value) => match timeout::decode(value.as_bytes()) {
                Some(timeout) => Some(Instant::now() + timeout),
                None => {
                    return Err(Status::internal(format!(
                        "malformed grpc-timeout {value:?}"
                    )));
                }
            },
            None => None,
        };
        Ok(Prepared {
            handler,
            metadata: Metadata::from_headers(headers),
            deadline,
        })
    }
}

/// A call whose headers passed the checks.
struct Prepared {
    handler: Arc<dyn Handler>,
    metadata: Metadata,
    deadline: Option<Instant>,
}

fn plain_response(status: StatusCode) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = status;
    response
}
