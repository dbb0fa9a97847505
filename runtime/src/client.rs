//! The gRPC client: a [`Channel`] (one HTTP/2 connection multiplexing every
//! call, opened lazily and reopened after a failure) and the calls of the
//! four shapes that generated clients make on it.

use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;
use h2::client::{ResponseFuture, SendRequest};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Method, Request as HttpRequest, Uri};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::codec::{DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_MAX_SEND_SIZE, Frame};
use crate::server::{CALL_DEADLINE, Server};
use crate::stream::{BidiStreamingCall, ClientStreamingCall, RequestSink, ResponseStream, before};
use crate::transport::{
    self, CONNECTION_WINDOW, CONTENT_TYPE, Incoming, MAX_FRAME_SIZE, STREAM_WINDOW, USER_AGENT,
    timeout,
};
use crate::{Code, Message, Metadata, Request, Response, Status};

/// How a channel reaches its server.
#[derive(Clone)]
enum Connector {
    Tcp(String),
    InMemory(Server),
}

/// Builds a [`Channel`].
pub struct ChannelBuilder {
    connector: Connector,
    authority: Authority,
    max_receive_message_size: usize,
    max_send_message_size: usize,
}

impl ChannelBuilder {
    /// The largest response message accepted, 4 MiB by default; larger ones
    /// fail the call with RESOURCE_EXHAUSTED.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.max_receive_message_size = bytes;
        self
    }

    /// The largest request message sent, [`DEFAULT_MAX_SEND_SIZE`] by
    /// default; a larger one is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED.
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.max_send_message_size = bytes;
        self
    }

    /// The channel; it connects on its first call.
    pub fn connect_lazy(self) -> Channel {
        Channel {
            inner: std::sync::Arc::new(Inner {
                connector: self.connector,
                authority: self.authority,
                max_receive_message_size: self.max_receive_message_size,
                max_send_message_size: self.max_send_message_size,
                connection: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The channel, connected now.
    ///
    /// # Errors
    /// UNAVAILABLE when the server cannot be reached.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = self.connect_lazy();
        channel.ready().await?;
        Ok(channel)
    }
}

/// A connection to a gRPC server, shared by every client made from it.
/// Cloning is cheap; clones share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), rgrpc::Status> {
/// let channel = rgrpc::Channel::builder("http://127.0.0.1:50051")?.connect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    connector: Connector,
    authority: Authority,
    max_receive_message_size: usize,
    max_send_message_size: usize,
    /// The current connection and its generation, so that concurrent calls
    /// that see it fail replace it only once. Held only to copy or replace it.
    connection: Mutex<Option<(u64, SendRequest<Bytes>)>>,
    /// Held while connecting, so that one call connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
}

impl Channel {
    /// A builder for a channel to `target`: `host:port` or `http://host:port`.
    ///
    /// # Errors
    /// INVALID_ARGUMENT when the target is not of that form.
    pub fn builder(target: &str) -> Result<ChannelBuilder, Status> {
        let address = target
            .strip_prefix("http://")
            .unwrap_or(target)
            .trim_end_matches('/');
        let invalid = || {
            Status::invalid_argument(format!(
                "invalid target {target:?}: expected host:port or http://host:port"
            ))
        };
        let valid = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid || address.contains('/') {
            return Err(invalid());
        }
        Ok(ChannelBuilder {
            connector: Connector::Tcp(address.to_owned()),
            authority: address.parse().map_err(|_| invalid())?,
            max_receive_message_size: DEFAULT_MAX_RECEIVE_SIZE,
            max_send_message_size: DEFAULT_MAX_SEND_SIZE,
        })
    }

    /// A channel to `server` in this process, without a socket: for tests.
    pub fn in_memory(server: &Server) -> ChannelBuilder {
        ChannelBuilder {
            connector: Connector::InMemory(server.clone()),
            authority: Authority::from_static("in-memory"),
            max_receive_message_size: DEFAULT_MAX_RECEIVE_SIZE,
            max_send_message_size: DEFAULT_MAX_SEND_SIZE,
        }
    }

    /// A connection ready for a new stream, connecting or reconnecting as needed.
    async fn ready(&self) -> Result<SendRequest<Bytes>, Status> {
        let failed = match self.current() {
            Some((generation, sender)) => match sender.ready().await {
                Ok(sender) => return Ok(sender),
                Err(_) => Some(generation),
            },
            None => None,
        };
        // Connecting takes a large future (TCP connect and HTTP/2 handshake);
        // boxed, it does not weigh on every call's future.
        Box::pin(self.reconnect(failed)).await
    }

    /// Replaces the connection of generation `failed` (none: no connection
    /// yet), unless another call did so meanwhile.
    async fn reconnect(&self, failed: Option<u64>) -> Result<SendRequest<Bytes>, Status> {
        let connecting = self.inner.connecting.lock().await;
        let sender = match self.current() {
            // Another call reconnected meanwhile.
            Some((generation, sender)) if Some(generation) != failed => sender,
            _ => {
                let generation = failed.map_or(0, |g| g + 1);
                let sender = self.connect().await?;
                *crate::lock(&self.inner.connection) = Some((generation, sender.clone()));
                sender
            }
        };
        drop(connecting);
        sender
            .ready()
            .await
            .map_err(|err| Status::unavailable(format!("connection failed: {err}")))
    }

    /// The current connection, if any, and its generation.
    fn current(&self) -> Option<(u64, SendRequest<Bytes>)> {
        crate::lock(&self.inner.connection).clone()
    }

    async fn connect(&self) -> Result<SendRequest<Bytes>, Status> {
        match &self.inner.connector {
            Connector::Tcp(address) => {
                let socket = TcpStream::connect(address).await.map_err(|err| {
                    Status::unavailable(format!("cannot connect to {address}: {err}"))
                })?;
                // Small messages must not wait for Nagle's algorithm.
                socket.set_nodelay(true).map_err(|err| {
                    Status::unavailable(format!("cannot configure the connection: {err}"))
                })?;
                handshake(socket).await
            }
            Connector::InMemory(server) => {
                let (client, server_side) = tokio::io::duplex(256 * 1024);
                server.spawn_connection(server_side);
                handshake(client).await
            }
        }
    }

    /// Opens a stream for a call to `path` and sends the request headers.
    async fn start(
        &self,
        path: &'static str,
        metadata: &Metadata,
        deadline: Option<Instant>,
        max_receive_message_size: Option<usize>,
    ) -> Result<(SendStream<Bytes>, Receiving), Status> {
        // Ready first: the request is built after the only wait, so the
        // future does not hold it while waiting.
        let mut sender = self.ready().await?;
        // The URI is put together from parts that need no parsing or copying.
        let invalid = |err: &dyn std::fmt::Display| {
            Status::internal(format!("invalid request for {path}: {err}"))
        };
        let uri = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.inner.authority.clone())
            .path_and_query(
                PathAndQuery::from_maybe_shared(Bytes::from_static(path.as_bytes()))
                    .map_err(|err| invalid(&err))?,
            )
            .build()
            .map_err(|err| invalid(&err))?;
        let mut request = HttpRequest::builder()
            .method(Method::POST)
            .uri(uri)
            .body(())
            .map_err(|err| invalid(&err))?;
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE),
        );
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        if let Some(deadline) = deadline {
            let value = timeout::encode(transport::remaining(deadline));
            headers.insert(
                "grpc-timeout",
                HeaderValue::from_str(&value).map_err(|e| Status::internal(e.to_string()))?,
            );
        }
        metadata.write_headers(headers);
        let (response, stream) = sender
            .send_request(request, false)
            .map_err(|err| transport::h2_status(&err))?;
        let limit = max_receive_message_size.unwrap_or(self.inner.max_receive_message_size);
        let receiving = Receiving::new(response, deadline, limit);
        Ok((stream, receiving))
    }
}

async fn handshake<IO>(io: IO) -> Result<SendRequest<Bytes>, Status>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        .handshake(io)
        .await
        .map_err(|err| Status::unavailable(format!("HTTP/2 handshake failed: {err}")))?;
    // The connection runs on its own task; calls see its end as errors.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

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

/// The receiving side of a client call: response headers, messages, trailers.
pub(crate) struct Receiving {
    state: State,
    deadline: Option<Instant>,
    max_message_size: usize,
    headers: Metadata,
    trailers: Option<Metadata>,
    /// Set by the sending side when it ends the call itself.
    aborted: Option<Aborted>,
}

/// The status the sending side of a call ended it with, which the receiving
/// side reports in place of the reset that followed.
pub(crate) type Aborted = std::sync::Arc<std::sync::OnceLock<Status>>;

/// What comes next on a response stream: a message or the final status.
enum Next<T> {
    Message(T),
    End(Status),
}

enum State {
    Waiting(ResponseFuture),
    Body(Incoming),
    Ended(Result<(), Status>),
}

impl Receiving {
    fn new(response: ResponseFuture, deadline: Option<Instant>, max_message_size: usize) -> Self {
        Self {
            state: State::Waiting(response),
            deadline,
            max_message_size,
            headers: Metadata::new(),
            trailers: None,
            aborted: None,
        }
    }

    /// Where the sending side records the status it ends the call with.
    pub(crate) fn aborted(&mut self) -> Aborted {
        self.aborted.get_or_insert_with(Default::default).clone()
    }

    /// Ends the call with the sending side's status, if it set one.
    #[inline]
    fn check_aborted(&mut self) -> Result<(), Status> {
        match self.aborted.as_ref().and_then(|aborted| aborted.get()) {
            Some(status) if !matches!(self.state, State::Ended(_)) => {
                let status = status.clone();
                self.end(Err(status))
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, result: Result<(), Status>) -> Result<(), Status> {
        self.state = State::Ended(result.clone());
        result
    }

    /// Waits for the response headers; a trailers-only response ends the call here.
    async fn await_headers(&mut self) -> Result<(), Status> {
        let State::Waiting(response) = &mut self.state else {
            return Ok(());
        };
        let response = match before(self.deadline, async {
            response.await.map_err(|e| transport::h2_status(&e))
        })
        .await
        {
            Ok(response) => response,
            Err(status) => return self.end(Err(status)),
        };
        let (parts, body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            let code = Code::from_http_status(parts.status.as_u16());
            return self.end(Err(Status::new(
                code,
                format!("unexpected HTTP status {}", parts.status),
            )));
        }
        let grpc = transport::is_grpc(&parts.headers);
        if !grpc {
            return self.end(Err(Status::unknown(format!(
                "the response is not gRPC (content-type {:?})",
                parts.headers.get(http::header::CONTENT_TYPE)
            ))));
        }
        if body.is_end_stream() {
            // Trailers-only: the status is in the headers.
            let status = transport::read_status(&parts.headers);
            self.trailers = Some(status.metadata().clone());
            return self.end(ok_or(status));
        }
        self.headers = Metadata::from_headers(&parts.headers);
        self.state = State::Body(Incoming::new(body, self.max_message_size, "response"));
        Ok(())
    }

    /// The response headers.
    pub(crate) async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.check_aborted()?;
        self.await_headers().await?;
        if let State::Ended(Err(status)) = &self.state
            && self.headers.is_empty()
        {
            return Err(status.clone());
        }
        Ok(&self.headers)
    }

    /// The next message, `None` at the end of an OK call.
    pub(crate) async fn message<T: Message>(&mut self) -> Result<Option<T>, Status> {
        self.check_aborted()?;
        // A message already received needs no waiting (nor deadline).
        if let State::Body(incoming) = &mut self.state {
            match incoming.buffered_message() {
                Ok(Some(message)) => return Ok(Some(message)),
                Ok(None) => {}
                Err(status) => return self.end(Err(status)).map(|()| None),
            }
        }
        self.await_headers().await?;
        let incoming = match &mut self.state {
            State::Body(incoming) => incoming,
            State::Ended(result) => return result.clone().map(|()| None),
            State::Waiting(_) => {
                return Err(Status::internal("response headers were not received"));
            }
        };
        let next = before(self.deadline, async {
            match incoming.message().await? {
                Some(message) => Ok(Next::Message(message)),
                None => {
                    let trailers = incoming.trailers().await?;
                    Ok(Next::End(match trailers {
                        Some(trailers) => transport::read_status(&trailers),
                        // As grpc-go: a stream the server ends without
                        // trailers is INTERNAL.
                        None => Status::internal("the server ended the stream without trailers"),
                    }))
                }
            }
        })
        .await;
        match next {
            Ok(Next::Message(message)) => Ok(Some(message)),
            Ok(Next::End(status)) => {
                self.trailers = Some(status.metadata().clone());
                self.end(ok_or(status)).map(|()| None)
            }
            Err(status) => self.end(Err(status)).map(|()| None),
        }
    }

    /// Gives up on the response; what follows reports CANCELLED. Dropping
    /// the response stream resets the HTTP/2 stream once the sending side is
    /// gone too.
    pub(crate) fn cancel(&mut self) {
        if !matches!(self.state, State::Ended(_)) {
            self.state = State::Ended(Err(cancelled()));
        }
    }

    /// The trailers, once the call has ended.
    pub(crate) fn trailers(&self) -> Option<&Metadata> {
        self.trailers.as_ref()
    }

    /// The only message of a unary or client-streaming response.
    pub(crate) async fn single_message<T: Message>(&mut self) -> Result<Response<T>, Status> {
        let Some(message) = self.message().await? else {
            return Err(Status::internal(
                "the server ended the call without a response",
            ));
        };
        if self.message::<T>().await?.is_some() {
            return Err(Status::internal("the server sent more than one response"));
        }
        let trailers = self.trailers.clone().unwrap_or_default();
        Ok(Response::from_parts(
            message,
            std::mem::take(&mut self.headers),
            trailers,
        ))
    }
}

/// The status of a call the client cancelled.
pub(crate) fn cancelled() -> Status {
    Status::cancelled("the call was cancelled by the client")
}

/// `Ok` for an OK status, else the status as the error.
fn ok_or(status: Status) -> Result<(), Status> {
    if status.code() == Code::Ok {
        Ok(())
    } else {
        Err(status)
    }
}

impl Channel {
    /// The limit on request messages of a call with these options.
    fn max_send_message_size<T>(&self, options: &Request<T>) -> usize {
        options
            .max_send_message_size()
            .unwrap_or(self.inner.max_send_message_size)
    }

    /// Starts a call whose request is one message: sends it and half-closes.
    /// When sending fails, the server may have ended the call already, and
    /// its status says why.
    async fn send_request<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: &Request<Req>,
        deadline: Option<Instant>,
    ) -> Result<Receiving, Status> {
        // Encoded first: a message over the limit fails the call before it starts.
        let frame =
            Frame::measure(request.message(), self.max_send_message_size(request))?.encode();
        let limit = request.max_receive_message_size();
        let (mut stream, mut receiving) = self
            .start(path, request.metadata(), deadline, limit)
            .await?;
        // One message, whole, with END_STREAM: h2 buffers it until the window allows.
        if let Err(err) = stream.send_data(frame, true) {
            // Rare, so boxed: every call's future stays the smaller for it.
            return Err(Box::pin(receiving.message::<Resp>())
                .await
                .err()
                .unwrap_or_else(|| transport::h2_status(&err)));
        }
        Ok(receiving)
    }

    /// A unary call.
    ///
    /// The returned future holds `request` once and lends it to the call;
    /// nothing runs before it is first polled.
    #[doc(hidden)]
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would hold `request` twice: as its argument and as the local it moves into"
    )]
    pub fn unary<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: Request<Req>,
    ) -> impl Future<Output = Result<Response<Resp>, Status>> + '_ {
        async move {
            let deadline = effective_deadline(&request);
            before(deadline, async {
                let mut receiving = self
                    .send_request::<Req, Resp>(path, &request, deadline)
                    .await?;
                // This `before` covers the whole call: receiving needs no timer of its own.
                receiving.deadline = None;
                receiving.single_message().await
            })
            .await
        }
    }

    /// A server-streaming call.
    #[doc(hidden)]
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would hold `request` twice: as its argument and as the local it moves into"
    )]
    pub fn server_streaming<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        request: Request<Req>,
    ) -> impl Future<Output = Result<ResponseStream<Resp>, Status>> + '_ {
        async move {
            let deadline = effective_deadline(&request);
            let receiving = before(
                deadline,
                self.send_request::<Req, Resp>(path, &request, deadline),
            )
            .await?;
            Ok(ResponseStream::new(receiving))
        }
    }

    /// Starts a call whose requests are streamed: both halves.
    async fn start_streaming<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        options: Request<()>,
    ) -> Result<(RequestSink<Req>, ResponseStream<Resp>), Status> {
        let deadline = effective_deadline(&options);
        let limit = options.max_receive_message_size();
        let (stream, mut receiving) = before(
            deadline,
            self.start(path, options.metadata(), deadline, limit),
        )
        .await?;
        let limit = self.max_send_message_size(&options);
        Ok((
            RequestSink::new(stream, deadline, limit, receiving.aborted()),
            ResponseStream::new(receiving),
        ))
    }

    /// A client-streaming call.
    #[doc(hidden)]
    pub async fn client_streaming<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        options: Request<()>,
    ) -> Result<ClientStreamingCall<Req, Resp>, Status> {
        let (requests, responses) = self.start_streaming(path, options).await?;
        Ok(ClientStreamingCall::new(requests, responses))
    }

    /// A bidirectional-streaming call.
    #[doc(hidden)]
    pub async fn bidi_streaming<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        options: Request<()>,
    ) -> Result<BidiStreamingCall<Req, Resp>, Status> {
        let (requests, responses) = self.start_streaming(path, options).await?;
        Ok(BidiStreamingCall::new(requests, responses))
    }
}
