//! A server against peers that stall, linger or vanish: shutdown with a
//! grace period, and flow control that keeps one stalled stream from
//! holding back the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Channel, Code, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};
use tokio::sync::oneshot;

/// What the handlers saw.
#[derive(Default)]
struct Seen {
    /// Calls whose context a task spawned by the handler saw cancelled.
    cancelled: AtomicUsize,
    /// Handlers that returned or were dropped.
    ended: AtomicUsize,
}

/// Counts its handler's end, however it ends.
struct Ending(Arc<Seen>);

impl Drop for Ending {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
    }
}

/// Echo, with requests that ask for slow or endless answers:
/// - unary `sleep N`: answers after N ms;
/// - server streaming `endless`: one message, then waits for the call to be
///   cancelled; `deaf`: one message, then waits for ever;
///   `N BYTES`: N messages of BYTES bytes;
/// - client streaming: answers once the requests end, or, for a first
///   request `stall`, waits for cancellation without reading on.
struct Slow {
    seen: Arc<Seen>,
}

impl Slow {
    /// Waits, for ever if need be, with a task watching for the call's
    /// cancellation, as a handler that hands its work to tasks does.
    async fn wait_for_cancel(&self, context: &rgrpc::CallContext) -> Result<(), Status> {
        let _ending = Ending(self.seen.clone());
        let seen = self.seen.clone();
        let context = context.clone();
        let watcher = tokio::spawn(async move {
            context.cancelled().await;
            seen.cancelled.fetch_add(1, Ordering::SeqCst);
        });
        let _ = watcher.await;
        Err(Status::cancelled("cancelled"))
    }
}

impl Echo for Slow {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let text = request.message().message.clone();
        if let Some(ms) = text.strip_prefix("sleep ") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        Ok(Response::new(response(text)))
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let text = request.message().message.clone();
        match text.as_str() {
            "endless" => {
                responses.send(&response("first")).await?;
                self.wait_for_cancel(request.context()).await
            }
            "deaf" => {
                let _ending = Ending(self.seen.clone());
                responses.send(&response("first")).await?;
                std::future::pending().await
            }
            _ => {
                let (count, size) = text.split_once(' ').unwrap();
                let message = response("x".repeat(size.parse().unwrap()));
                for _ in 0..count.parse::<usize>().unwrap() {
                    responses.send(&message).await?;
                }
                Ok(())
            }
        }
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut received = 0;
        while let Some(message) = requests.recv().await? {
            if message.message == "stall" {
                let context = requests.context().clone();
                return self
                    .wait_for_cancel(&context)
                    .await
                    .map(|()| unreachable!());
            }
            received += 1;
        }
        Ok(Response::new(response(received.to_string())))
    }
}

/// A server of [`Slow`] with `grace`, on a new port: its address, the
/// handlers' record, the stop signal and the serving task.
async fn serve(
    grace: Duration,
) -> (
    SocketAddr,
    Arc<Seen>,
    Server,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let seen = Arc::new(Seen::default());
    let server = Server::builder()
        .shutdown_grace(grace)
        .add_service(EchoServer::new(Slow { seen: seen.clone() }))
        .build();
    let bound = server.clone().bind("127.0.0.1:0").await.unwrap();
    let address = bound.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    (address, seen, server, stop, serving)
}

fn client(address: SocketAddr) -> EchoClient {
    EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    )
}

#[tokio::test]
async fn shutdown_stops_accepting_and_moves_clients_on_while_calls_finish() {
    let (address, _, _, stop, serving) = serve(Duration::from_secs(30)).await;
    let client = client(address);
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.echo_message(request("sleep 800")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The listener is closed: a new connection is refused at once.
    let refused = tokio::net::TcpStream::connect(address).await;
    assert!(
        refused.is_err(),
        "a connection was accepted during the drain"
    );
    // The channel heard the GOAWAY: a new call does not wait for the drain.
    let started = Instant::now();
    let err = client.echo_message(request("late")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    // The call in flight finishes, and then the server returns.
    let response = in_flight
        .await
        .unwrap()
        .expect("the call in flight finishes");
    assert_eq!(response.message().message, "sleep 800");
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the server returns once its calls are done")
        .unwrap();
}

#[tokio::test]
async fn past_the_grace_period_calls_left_are_cancelled_and_the_server_returns() {
    let (address, seen, _, stop, serving) = serve(Duration::from_millis(300)).await;
    let client = client(address);
    let mut endless = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    let mut deaf = client.echo_server_streaming(request("deaf")).await.unwrap();
    assert!(endless.recv().await.unwrap().is_some());
    assert!(deaf.recv().await.unwrap().is_some());

    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the server returns after the grace period")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "returned after {took:?}"
    );
    for stream in [&mut endless, &mut deaf] {
        let err = tokio::time::timeout(Duration::from_secs(5), stream.recv())
            .await
            .expect("the client hears the end")
            .unwrap_err();
        assert!(
            matches!(err.code(), Code::Unavailable | Code::Cancelled),
            "{err:?}"
        );
    }
    // Both handlers are over, and the one that watched for cancellation
    // saw it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.ended.load(Ordering::SeqCst), 2);
    assert_eq!(seen.cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn in_memory_connections_obey_shutdown() {
    let (_, seen, server, stop, serving) = serve(Duration::from_millis(200)).await;
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let mut endless = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    assert!(endless.recv().await.unwrap().is_some());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("in-memory calls do not hold the server past the grace period")
        .unwrap();
    assert!(endless.recv().await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.cancelled.load(Ordering::SeqCst), 1);
    // A stopped server takes no new in-memory connection either.
    let fresh = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let err = fresh.echo_message(request("late")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

/// More stalled streams than the old connection window held (4 MiB at
/// 1 MiB a stream).
const STALLED: usize = 6;

#[tokio::test]
async fn responses_nobody_reads_hold_back_only_their_own_streams() {
    let (address, _, _, _stop, _serving) = serve(Duration::from_secs(1)).await;
    let client = client(address);
    let mut unread = Vec::new();
    for _ in 0..STALLED {
        // 2 MiB each, more than a stream's window: the server is left
        // waiting for credit the client never gives.
        let stream = client
            .echo_server_streaming(request("8 262144"))
            .await
            .unwrap();
        unread.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answered = client
        .echo_message(request("still here"))
        .timeout(Duration::from_secs(3))
        .await
        .expect("a call beside stalled streams is answered");
    assert_eq!(answered.message().message, "still here");
    // The stalled streams were only held back: read now, they complete.
    for mut stream in unread {
        let mut received = 0;
        while stream.recv().await.unwrap().is_some() {
            received += 1;
        }
        assert_eq!(received, 8);
    }
}

#[tokio::test]
async fn requests_nobody_reads_hold_back_only_their_own_streams() {
    let (address, seen, _, stop, serving) = serve(Duration::from_millis(100)).await;
    let client = client(address);
    let mut uploads = Vec::new();
    for _ in 0..STALLED {
        let mut call = client.echo_client_streaming().await.unwrap();
        call.send(&request("stall")).await.unwrap();
        uploads.push(tokio::spawn(async move {
            // 2 MiB the handler never reads: the sends wait for credit.
            let chunk = request(&"x".repeat(256 * 1024));
            for _ in 0..8 {
                if call.send(&chunk).await.is_err() {
                    break;
                }
            }
            call
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answered = client
        .echo_message(request("still here"))
        .timeout(Duration::from_secs(3))
        .await
        .expect("a call beside stalled uploads is answered");
    assert_eq!(answered.message().message, "still here");
    // The uploads were held back, not refused: each is still sending.
    assert!(uploads.iter().all(|upload| !upload.is_finished()));
    stop.send(()).unwrap();
    serving.await.unwrap();
    assert_eq!(seen.ended.load(Ordering::SeqCst), STALLED);
}

#[tokio::test]
async fn a_lost_connection_is_reported_for_what_it_was() {
    // A server that takes one call and then resets the connection, or
    // closes it, without a word of HTTP/2.
    for (reset, expected) in [
        (true, "connection reset"),
        (false, "the peer closed the connection"),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            if reset {
                // Closed with a zero linger, the socket sends RST.
                #[allow(deprecated)]
                socket.set_linger(Some(Duration::ZERO)).unwrap();
            }
            let mut connection = h2::server::handshake(socket).await.unwrap();
            let _call = connection.accept().await;
        });
        let err = client(address)
            .echo_message(request("x"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert!(
            err.message().to_lowercase().contains(expected),
            "{:?} does not say {expected:?}",
            err.message()
        );
    }
}

/// A server of [`Slow`] built by `build` from a builder with its service.
async fn serve_with(
    build: impl FnOnce(rgrpc::ServerBuilder) -> rgrpc::ServerBuilder,
) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let builder = Server::builder().add_service(EchoServer::new(Slow { seen: seen.clone() }));
    let server = build(builder).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    (address, seen)
}

/// A raw HTTP/2 connection to `address` (the h2 crate's client, which
/// takes orders a gRPC client would not give), and its end.
async fn raw_client(
    address: SocketAddr,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let (sender, connection) = h2::client::handshake(socket).await.unwrap();
    (sender, tokio::spawn(connection))
}

/// A gRPC request to `method` of the echo service, for a raw client.
fn raw_request(method: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost/echo.Echo/{method}"))
        .header("content-type", "application/grpc")
        .body(())
        .unwrap()
}

/// The 5-byte gRPC frame header of a message of `len` bytes.
fn frame_header(len: usize) -> bytes::Bytes {
    let mut header = vec![0];
    header.extend_from_slice(&(len as u32).to_be_bytes());
    header.into()
}

#[tokio::test]
async fn calls_past_the_stream_limit_wait_for_a_free_slot() {
    let (address, _) = serve_with(|builder| builder.max_concurrent_streams(2)).await;
    let client = client(address);
    let mut first = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    let mut second = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    assert!(first.recv().await.unwrap().is_some());
    assert!(second.recv().await.unwrap().is_some());
    // A third call waits for a slot, here until its deadline.
    let err = client
        .echo_message(request("third"))
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // Once one ends, the next goes through.
    drop(first);
    let answered = client
        .echo_message(request("third"))
        .timeout(Duration::from_secs(3))
        .await
        .expect("a slot is free again");
    assert_eq!(answered.message().message, "third");
}

#[tokio::test]
async fn a_stream_past_the_limit_is_refused_with_refused_stream() {
    // A raw client does not wait for the limit the server announced.
    let (address, _) = serve_with(|builder| builder.max_concurrent_streams(1)).await;
    let socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let (sender, connection) = h2::client::Builder::new()
        // As if the server's SETTINGS had not arrived yet: h2 lets the
        // client open streams up to its own idea of the limit.
        .initial_max_send_streams(10)
        .handshake::<_, bytes::Bytes>(socket)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut sender = sender;
    let mut responses = Vec::new();
    for _ in 0..3 {
        let (response, mut stream) = sender
            .send_request(raw_request("EchoServerStreaming"), false)
            .unwrap();
        let message = rgrpc::Message::encode_to_vec(&request("endless"));
        stream
            .send_data(frame_header(message.len()), false)
            .unwrap();
        stream.send_data(message.into(), true).unwrap();
        responses.push(response);
    }
    let mut refused = 0;
    for response in responses {
        match tokio::time::timeout(Duration::from_secs(3), response).await {
            Ok(Err(err)) if err.reason() == Some(h2::Reason::REFUSED_STREAM) => refused += 1,
            Ok(Ok(_)) => {}
            other => panic!("neither answered nor refused: {other:?}"),
        }
    }
    assert_eq!(refused, 2, "the streams past the first are refused");
}

#[tokio::test]
async fn oversized_metadata_is_refused_and_the_connection_lives_on() {
    let (address, _) = serve_with(|builder| builder.max_header_list_size(4096)).await;
    let client = client(address);
    let mut call = Request::new(request("big"));
    call.metadata_mut()
        .insert("x-big", "y".repeat(8192))
        .unwrap();
    let err = client
        .echo_message(call)
        .timeout(Duration::from_secs(3))
        .await
        .unwrap_err();
    // HTTP 431, which gRPC's mapping of HTTP statuses makes UNKNOWN.
    assert_eq!(err.code(), Code::Unknown, "{err:?}");
    assert!(err.message().contains("431"), "{err:?}");
    let answered = client
        .echo_message(request("small"))
        .await
        .expect("the next call is served");
    assert_eq!(answered.message().message, "small");
}

#[tokio::test]
async fn incomplete_messages_share_one_budget_per_connection() {
    let (address, _) = serve_with(|builder| builder.max_connection_buffer(1024 * 1024)).await;
    let (mut sender, _connection) = raw_client(address).await;
    // Two uploads, each 600 KiB into a 2 MiB message that never completes.
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (response, mut stream) = sender
            .send_request(raw_request("EchoClientStreaming"), false)
            .unwrap();
        stream
            .send_data(frame_header(2 * 1024 * 1024), false)
            .unwrap();
        stream
            .send_data(vec![0x0a; 600 * 1024].into(), false)
            .unwrap();
        calls.push((response, stream));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The second pushed the connection past its budget.
    let (second, _stream) = calls.pop().unwrap();
    let response = tokio::time::timeout(Duration::from_secs(3), second)
        .await
        .expect("the call over budget is answered")
        .unwrap();
    // Trailers-only, or headers, data and trailers.
    let head = response.headers().get("grpc-status").cloned();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        chunk.unwrap();
    }
    let trailers = body.trailers().await.unwrap();
    let status = head.or_else(|| trailers.as_ref()?.get("grpc-status").cloned());
    assert_eq!(
        status.as_ref().map(|s| s.to_str().unwrap()),
        Some("8"),
        "{trailers:?}"
    );
}

/// Futures polled after they completed, on any thread of this binary: a
/// panic that a spawned task's end would hide.
static RESUMED_AFTER_COMPLETION: AtomicUsize = AtomicUsize::new(0);

/// Counts, from now on, the panics [`RESUMED_AFTER_COMPLETION`] counts.
fn count_resumed_futures() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.to_string().contains("resumed after completion") {
                RESUMED_AFTER_COMPLETION.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

#[tokio::test]
async fn a_client_that_cancels_too_many_calls_is_disconnected() {
    count_resumed_futures();
    let (address, _) = serve_with(|builder| builder.max_resets(5, Duration::from_secs(30))).await;
    let (mut sender, connection) = raw_client(address).await;
    for _ in 0..10 {
        let Ok(ready) = sender.clone().ready().await else {
            break;
        };
        sender = ready;
        let Ok((response, mut stream)) =
            sender.send_request(raw_request("EchoServerStreaming"), false)
        else {
            break;
        };
        let message = rgrpc::Message::encode_to_vec(&request("endless"));
        let _ = stream.send_data(frame_header(message.len()), false);
        let _ = stream.send_data(message.into(), true);
        // Started: the handler runs. Then cancelled.
        if response.await.is_err() {
            break;
        }
        stream.send_reset(h2::Reason::CANCEL);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ended = tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the server closes the connection")
        .unwrap();
    let err = ended.expect_err("closed with an error");
    assert_eq!(err.reason(), Some(h2::Reason::ENHANCE_YOUR_CALM), "{err:?}");
    // The connection's watch goes on past the order it gave, to its end.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(RESUMED_AFTER_COMPLETION.load(Ordering::SeqCst), 0);
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An empty SETTINGS frame.
const SETTINGS: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];

/// A raw connection to `address` that has sent the preface and SETTINGS.
async fn opened_socket(address: SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket
        .write_all(&[PREFACE, &SETTINGS].concat())
        .await
        .unwrap();
    socket
}

/// Reads what the peer sends until it closes the connection; `None` when
/// it is still open after `patience`.
async fn read_until_closed(
    socket: &mut tokio::net::TcpStream,
    patience: Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    match tokio::time::timeout(patience, socket.read_to_end(&mut received)).await {
        Ok(_) => Some(received),
        Err(_) => None,
    }
}

/// The types of the HTTP/2 frames in `bytes` (which hold whole frames).
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + len).min(bytes.len())..];
    }
    types
}

#[tokio::test]
async fn a_client_that_sends_no_settings_is_closed_after_the_handshake_timeout() {
    use tokio::io::AsyncWriteExt;
    let (address, _) =
        serve_with(|builder| builder.handshake_timeout(Duration::from_millis(300))).await;
    // The preface alone, then the preface and half a SETTINGS frame.
    for sent in [PREFACE.to_vec(), [PREFACE, &SETTINGS[..5]].concat()] {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket.write_all(&sent).await.unwrap();
        let started = Instant::now();
        read_until_closed(&mut socket, Duration::from_secs(5))
            .await
            .expect("the server closes a connection whose client never sends SETTINGS");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
    // With its SETTINGS, a client that then says nothing stays connected.
    let mut socket = opened_socket(address).await;
    assert!(
        read_until_closed(&mut socket, Duration::from_millis(800))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn an_idle_connection_is_sent_goaway_and_a_busy_one_is_not() {
    let (address, _) =
        serve_with(|builder| builder.max_connection_idle(Duration::from_millis(200))).await;
    // A connection with no calls is let go.
    let (_sender, connection) = raw_client(address).await;
    let ended = tokio::time::timeout(Duration::from_secs(3), connection)
        .await
        .expect("an idle connection is closed");
    ended.unwrap().expect("closed gracefully");
    // One with a call in flight is kept, however long the call.
    let client = client(address);
    let mut endless = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    assert!(endless.recv().await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let answered = client
        .echo_message(request("same connection"))
        .await
        .unwrap();
    assert_eq!(answered.message().message, "same connection");
    let still = tokio::time::timeout(Duration::from_millis(100), endless.recv()).await;
    assert!(still.is_err(), "the call in flight goes on: {still:?}");
}

#[tokio::test]
async fn an_old_connection_is_sent_goaway_then_closed_after_its_grace() {
    let (address, _) = serve_with(|builder| {
        builder
            .max_connection_age(Duration::from_millis(300))
            .max_connection_age_grace(Duration::from_millis(300))
    })
    .await;
    let client = client(address);
    let mut endless = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    assert!(endless.recv().await.unwrap().is_some());
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(5), endless.recv())
        .await
        .expect("the call is cut off after the grace")
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::Unavailable | Code::Cancelled),
        "{err:?}"
    );
    // Age, give or take a tenth, then the grace.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    // The client moves to a new connection.
    let answered = client
        .echo_message(request("new connection"))
        .await
        .unwrap();
    assert_eq!(answered.message().message, "new connection");
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once() {
    use tokio::io::AsyncWriteExt;
    let (address, _) = serve_with(|builder| builder.max_connections(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(opened_socket(address).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(address).await.unwrap();
    let _ = third.write_all(&[PREFACE, &SETTINGS].concat()).await;
    let received = read_until_closed(&mut third, Duration::from_secs(2))
        .await
        .expect("the third connection is closed at once");
    assert!(received.is_empty(), "the third connection was served");
    // Once one goes, there is room again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answered = client(address).echo_message(request("room")).await.unwrap();
    assert_eq!(answered.message().message, "room");
}

#[tokio::test]
async fn a_server_closes_a_connection_whose_client_stops_answering() {
    let (address, _) = serve_with(|builder| {
        builder
            .keepalive_time(Duration::from_millis(200))
            .keepalive_timeout(Duration::from_millis(200))
    })
    .await;
    // A client that opens the connection, then never answers anything.
    let mut socket = opened_socket(address).await;
    let received = read_until_closed(&mut socket, Duration::from_secs(5))
        .await
        .expect("the server gives up on a silent client");
    let types = frame_types(&received);
    assert!(types.contains(&0x6), "no PING was sent: {types:?}");
    assert_eq!(types.last(), Some(&0x7), "no GOAWAY at the end: {types:?}");
}

#[tokio::test]
async fn a_client_gives_up_on_a_server_that_stops_answering() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that opens the connection, then never answers anything.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket.write_all(&SETTINGS).await.unwrap();
        let mut sink = vec![0; 64 * 1024];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .keepalive_time(Duration::from_millis(200))
        .keepalive_timeout(Duration::from_millis(200))
        .connect_lazy();
    let started = Instant::now();
    // No deadline: only keepalive can end this call.
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        EchoClient::new(channel).echo_message(request("anyone?")),
    )
    .await
    .expect("keepalive ends the call")
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("keepalive"), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// A PING frame with `payload`.
fn ping(payload: u8) -> Vec<u8> {
    let mut frame = vec![0, 0, 8, 0x6, 0, 0, 0, 0, 0];
    frame.extend_from_slice(&[payload; 8]);
    frame
}

/// The error code and debug data of each GOAWAY frame in `bytes`.
fn goaways(mut bytes: &[u8]) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        let payload = &bytes[9..(9 + len).min(bytes.len())];
        if bytes[3] == 0x7 && payload.len() >= 8 {
            let code = u32::from_be_bytes(payload[4..8].try_into().unwrap());
            found.push((code, String::from_utf8_lossy(&payload[8..]).into_owned()));
        }
        bytes = &bytes[(9 + len).min(bytes.len())..];
    }
    found
}

/// What a server that tolerates a ping every `min_time` sends a client
/// that sends `frames` after opening the connection, until it closes it
/// (`None`: still open after two seconds).
async fn answer_to(min_time: Duration, frames: Vec<u8>) -> Option<Vec<u8>> {
    use tokio::io::AsyncWriteExt;
    let (address, _) = serve_with(|builder| builder.keepalive_min_time(min_time)).await;
    let mut socket = opened_socket(address).await;
    socket.write_all(&frames).await.unwrap();
    read_until_closed(&mut socket, Duration::from_secs(2)).await
}

const ENHANCE_YOUR_CALM: u32 = 0xb;

/// Checks that a server with the default ping policy answers `flood` with
/// GOAWAY `ENHANCE_YOUR_CALM`, `reason` as its debug data, and closes.
async fn flood_is_answered(flood: Vec<u8>, reason: &str) {
    let received = answer_to(Duration::from_secs(300), flood)
        .await
        .expect("the server closes the connection");
    let found = goaways(&received);
    assert!(
        found.contains(&(ENHANCE_YOUR_CALM, reason.into())),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_ping_flood_is_answered_with_too_many_pings() {
    flood_is_answered((0..10).flat_map(ping).collect(), "too_many_pings").await;
}

#[tokio::test]
async fn a_settings_flood_is_answered_with_too_many_settings() {
    flood_is_answered(
        (0..30).flat_map(|_| SETTINGS).collect(),
        "too_many_settings",
    )
    .await;
}

#[tokio::test]
async fn pings_within_the_policy_are_answered() {
    use tokio::io::AsyncWriteExt;
    let (address, _) = serve_with(|builder| {
        builder
            .keepalive_min_time(Duration::from_millis(50))
            .keepalive_permit_without_calls(true)
    })
    .await;
    let mut socket = opened_socket(address).await;
    for n in 0..6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.write_all(&ping(n)).await.unwrap();
    }
    assert!(
        read_until_closed(&mut socket, Duration::from_millis(500))
            .await
            .is_none(),
        "the connection stays open"
    );
}

#[tokio::test]
async fn a_client_keepalive_within_the_server_policy_keeps_its_connection() {
    let (address, _) = serve_with(|builder| {
        builder
            .keepalive_min_time(Duration::from_millis(100))
            .keepalive_permit_without_calls(true)
    })
    .await;
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .keepalive_time(Duration::from_millis(150))
        .keepalive_while_idle(true)
        .connect_lazy();
    let client = EchoClient::new(channel);
    let mut endless = client
        .echo_server_streaming(request("endless"))
        .await
        .unwrap();
    assert!(endless.recv().await.unwrap().is_some());
    // Quiet for several keepalive rounds: the call stays up.
    let quiet = tokio::time::timeout(Duration::from_millis(1200), endless.recv()).await;
    assert!(quiet.is_err(), "the call ended: {quiet:?}");
}
