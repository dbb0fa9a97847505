//! Generated clients against generated servers: the four call shapes,
//! metadata, status, deadlines, cancellation, limits and shutdown.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rgrpc::client::{CallOptions, ClientStreamingCall};
use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::wkt::Any;
use rgrpc::{Channel, Code, Metadata, Request, Response, Server, ServerBuilder, Status};
use rgrpc_tests::pb::echo::{
    Echo, EchoClient, EchoRequest, EchoResponse, EchoServer, UnsafeEcho, echo_service,
};
use rgrpc_tests::{request, response};
use tokio::sync::Notify;

/// Records what the handlers saw, so tests can check the server side.
#[derive(Default)]
struct Observed {
    /// Set when a handler's future is dropped before it finished.
    cancelled: Notify,
    cancellations: AtomicUsize,
    /// Unary calls that reached their handler.
    unary_calls: AtomicUsize,
    /// Messages a streaming handler has sent.
    sent: AtomicUsize,
    /// The time left the last handler saw.
    remaining: std::sync::Mutex<Option<Duration>>,
}

/// Counts a cancellation when dropped before `done`.
struct DropGuard<'a> {
    observed: &'a Observed,
    done: bool,
}

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.observed.cancellations.fetch_add(1, Ordering::SeqCst);
            self.observed.cancelled.notify_one();
        }
    }
}

/// The echo service, implemented through the Unsafe trait (every method).
struct EchoService {
    observed: Arc<Observed>,
}

fn invalid(err: rgrpc::InvalidMetadata) -> Status {
    Status::internal(err.to_string())
}

impl UnsafeEcho for EchoService {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        self.observed.unary_calls.fetch_add(1, Ordering::SeqCst);
        *self.observed.remaining.lock().unwrap() = request.remaining();
        let text = request.message().message.clone();
        if let Some(rest) = text.strip_prefix("sleep ") {
            let mut guard = DropGuard {
                observed: &self.observed,
                done: false,
            };
            tokio::time::sleep(Duration::from_millis(rest.parse().unwrap())).await;
            guard.done = true;
        }
        if let Some(rest) = text.strip_prefix("fail ") {
            let mut status = Status::new(
                Code::from_i32(rest[..2].trim().parse().unwrap()),
                &rest[2..],
            );
            status = status.with_details([Any::pack(&response("detail"))]);
            status
                .metadata_mut()
                .insert("reason", "asked")
                .map_err(invalid)?;
            return Err(status);
        }
        let mut response = Response::new(response(text));
        // Echo the request metadata back: ASCII in the headers, binary in the trailers.
        if let Some(value) = request.metadata().get("x-echo") {
            response
                .headers_mut()
                .insert("x-echo", value)
                .map_err(invalid)?;
        }
        if let Some(value) = request.metadata().get_bin("x-echo-bin") {
            response
                .trailers_mut()
                .insert_bin("x-echo-bin", value.clone())
                .map_err(invalid)?;
        }
        Ok(response)
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let text = request.message().message.clone();
        let (count, size) = match text.split_once(' ') {
            Some((count, size)) => (count.parse().unwrap(), size.parse().unwrap()),
            None => (3, 0),
        };
        let mut headers = Metadata::new();
        headers.insert("x-stream", "yes").map_err(invalid)?;
        responses.set_header(headers);
        let mut trailers = Metadata::new();
        trailers
            .insert("x-count", count.to_string())
            .map_err(invalid)?;
        responses.set_trailer(trailers);
        for i in 0..count {
            let body = if size == 0 {
                format!("{text} #{i}")
            } else {
                "x".repeat(size)
            };
            responses.send(&response(body)).await?;
            self.observed.sent.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut joined = Vec::new();
        while let Some(request) = requests.recv().await? {
            joined.push(request.message);
        }
        Ok(Response::new(response(joined.join(","))))
    }

    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        while let Some(request) = requests.recv().await? {
            responses
                .send(&response(request.message.to_uppercase()))
                .await?;
        }
        Ok(())
    }
}

/// A service implementing nothing: every method answers UNIMPLEMENTED.
struct Nothing;
impl Echo for Nothing {}

fn server(observed: &Arc<Observed>) -> Server {
    configured_server(observed, |builder| builder)
}

/// The echo server with settings of its own.
fn configured_server(
    observed: &Arc<Observed>,
    configure: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> Server {
    let builder = Server::builder().add_service(EchoServer::new(EchoService {
        observed: observed.clone(),
    }));
    configure(builder).build()
}

fn in_memory(observed: &Arc<Observed>) -> EchoClient {
    EchoClient::new(Channel::in_memory(&server(observed)).connect_lazy())
}

/// A server on a loopback port, and a client connected to it.
async fn over_tcp(
    server: Server,
) -> (
    EchoClient,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let bound = server.bind("127.0.0.1:0").await.unwrap();
    let address = bound.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    let channel = Channel::builder(&format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    (EchoClient::new(channel), stop, serving)
}

#[tokio::test]
async fn unary_calls_carry_metadata_both_ways() {
    let observed = Arc::new(Observed::default());
    for client in [in_memory(&observed), over_tcp(server(&observed)).await.0] {
        let mut call = Request::new(request("hello"));
        call.metadata_mut().insert("X-Echo", "ascii value").unwrap();
        call.metadata_mut()
            .insert_bin("x-echo-bin", vec![0u8, 255, 7])
            .unwrap();
        let response = client.echo_message(call).await.unwrap();
        assert_eq!(response.message().message, "hello");
        assert_eq!(response.headers().get("x-echo"), Some("ascii value"));
        assert_eq!(
            response
                .trailers()
                .get_bin("x-echo-bin")
                .map(|b| b.to_vec()),
            Some(vec![0, 255, 7])
        );
    }
}

#[tokio::test]
async fn server_streaming_ends_with_none_then_trailers() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    let mut stream = client.echo_server_streaming(request("tick")).await.unwrap();
    assert_eq!(stream.headers().await.unwrap().get("x-stream"), Some("yes"));
    let mut received = Vec::new();
    while let Some(message) = stream.recv().await.unwrap() {
        received.push(message.message);
    }
    assert_eq!(received, ["tick #0", "tick #1", "tick #2"]);
    assert_eq!(stream.trailers().get("x-count"), Some("3"));
    // After the end, recv keeps saying so.
    assert_eq!(stream.recv().await.unwrap(), None);
}

#[tokio::test]
async fn client_streaming_sends_then_closes_and_receives() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    let mut call = client.echo_client_streaming().await.unwrap();
    for word in ["a", "b", "c"] {
        call.send(&request(word)).await.unwrap();
    }
    let response = call.close_and_recv().await.unwrap();
    assert_eq!(response.message().message, "a,b,c");
}

#[tokio::test]
async fn bidirectional_halves_work_from_two_tasks() {
    let observed = Arc::new(Observed::default());
    let (client, _stop, _serving) = over_tcp(server(&observed)).await;
    let call = client.echo_bidirectional_streaming().await.unwrap();
    let (mut requests, mut responses) = call.split();
    let sender = tokio::spawn(async move {
        for word in ["one", "two", "three"] {
            requests.send(&request(word)).await.unwrap();
        }
        requests.close().await.unwrap();
    });
    let mut received = Vec::new();
    while let Some(message) = responses.recv().await.unwrap() {
        received.push(message.message);
    }
    sender.await.unwrap();
    assert_eq!(received, ["ONE", "TWO", "THREE"]);
}

#[tokio::test]
async fn methods_left_out_answer_unimplemented() {
    let server = Server::builder()
        .add_service(EchoServer::new(Nothing))
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let err = client.echo_message(request("x")).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unimplemented, "method EchoMessage not implemented")
    );
    let mut stream = client.echo_server_streaming(request("x")).await.unwrap();
    let err = stream.recv().await.unwrap_err();
    assert_eq!(err.message(), "method EchoServerStreaming not implemented");
    let call = client.echo_client_streaming().await.unwrap();
    let err = call.close_and_recv().await.unwrap_err();
    assert_eq!(err.message(), "method EchoClientStreaming not implemented");
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    let err = call.recv().await.unwrap_err();
    assert_eq!(
        err.message(),
        "method EchoBidirectionalStreaming not implemented"
    );
}

#[tokio::test]
async fn unknown_services_and_methods_are_unimplemented() {
    let observed = Arc::new(Observed::default());
    let channel = Channel::in_memory(&server(&observed)).connect_lazy();
    // Paths no generated client has: through the door generated code uses.
    let call = |path| {
        rgrpc::__codegen::client::unary::<EchoRequest, EchoResponse>(
            &channel,
            path,
            Request::new(request("x")),
        )
    };
    let err = call("/echo.Nope/EchoMessage").await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unimplemented, "unknown service echo.Nope")
    );
    let err = call("/echo.Echo/Nope").await.unwrap_err();
    assert_eq!(err.message(), "unknown method Nope for service echo.Echo");
    assert_eq!(echo_service::NAME, "echo.Echo");
    assert_eq!(echo_service::ECHO_MESSAGE, "/echo.Echo/EchoMessage");
}

#[tokio::test]
async fn error_statuses_keep_code_message_details_and_trailers() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    let err = client
        .echo_message(request("fail 5 no such thing: ☺ 100%\n"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "no such thing: ☺ 100%\n");
    let details = err.details().expect("details decode");
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].unpack(), Ok(Some(response("detail"))));
    assert_eq!(details[0].unpack::<EchoRequest>(), Ok(None));
    assert_eq!(err.metadata().get("reason"), Some("asked"));
}

#[tokio::test]
async fn the_server_enforces_the_deadline_and_cancels_the_handler() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    let started = Instant::now();
    let err = client
        .echo_message(request("sleep 10000"))
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(5), observed.cancelled.notified())
        .await
        .expect("the handler is dropped");
    // The handler saw the deadline the client gave.
    let remaining = observed.remaining.lock().unwrap().expect("a deadline");
    assert!(
        remaining <= Duration::from_millis(100) && remaining > Duration::from_millis(20),
        "{remaining:?}"
    );
}

#[tokio::test]
async fn a_dropped_call_cancels_the_handler_promptly() {
    let observed = Arc::new(Observed::default());
    let (client, _stop, _serving) = over_tcp(server(&observed)).await;
    let call = tokio::spawn(async move { client.echo_message(request("sleep 10000")).await });
    // Give the call time to reach the handler, then drop it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    call.abort();
    tokio::time::timeout(Duration::from_secs(5), observed.cancelled.notified())
        .await
        .expect("the server's handler observes the cancellation");
    assert_eq!(observed.cancellations.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oversized_messages_are_resource_exhausted() {
    let observed = Arc::new(Observed::default());
    let server = configured_server(&observed, |builder| builder.max_receive_message_size(1024));
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let err = client
        .echo_message(request(&"x".repeat(2000)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message()
            .starts_with("received message larger than max"),
        "{}",
        err.message()
    );
    // The client limit applies to responses.
    let client = EchoClient::new(
        Channel::in_memory(&server)
            .max_receive_message_size(100)
            .connect_lazy(),
    );
    stream_resource_exhausted(&client, "1 500").await;
}

/// Starts a server-streaming call asking for `count size` messages, whose
/// first receive must fail with RESOURCE_EXHAUSTED.
async fn stream_resource_exhausted(client: &EchoClient, count_size: &str) {
    let mut stream = client
        .echo_server_streaming(request(count_size))
        .await
        .unwrap();
    assert_eq!(
        stream.recv().await.unwrap_err().code(),
        Code::ResourceExhausted
    );
}

/// Makes a unary call with `options` that must fail with
/// RESOURCE_EXHAUSTED; the status's message.
async fn resource_exhausted(
    client: &EchoClient,
    request: EchoRequest,
    options: CallOptions,
) -> String {
    let err = client
        .echo_message(request)
        .with_options(options)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
    err.message().to_owned()
}

#[tokio::test]
async fn requests_over_the_send_limit_are_refused_before_they_go_out() {
    let observed = Arc::new(Observed::default());
    let client = EchoClient::new(
        Channel::in_memory(&server(&observed))
            .max_send_message_size(100)
            .connect_lazy(),
    );
    // 500 bytes of text after a tag and a two-byte length.
    assert_eq!(
        resource_exhausted(&client, request(&"x".repeat(500)), CallOptions::new()).await,
        "echo.EchoRequest message to send larger than max (503 vs. 100)"
    );
    assert_eq!(observed.unary_calls.load(Ordering::SeqCst), 0);
    // A call's own limit replaces the channel's, either way.
    assert_eq!(
        client
            .echo_message(request(&"x".repeat(500)))
            .with_options(CallOptions::new().max_send_message_size(503))
            .await
            .unwrap()
            .message()
            .message
            .len(),
        500
    );
    let options = CallOptions::new().max_send_message_size(10);
    resource_exhausted(&client, request(&"x".repeat(50)), options).await;
    assert_eq!(observed.unary_calls.load(Ordering::SeqCst), 1);
    // On a stream, the message over the limit is not sent and the call ends
    // with that status, on both sides of the call.
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&request("a")).await.unwrap();
    let refused = call.send(&request(&"x".repeat(500))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    let after = call.send(&request("b")).await.unwrap_err();
    assert_eq!(after.message(), refused.message());
    let end = call.close_and_recv().await.unwrap_err();
    assert_eq!(end.message(), refused.message());
}

#[tokio::test]
async fn responses_over_the_server_send_limit_are_resource_exhausted() {
    let observed = Arc::new(Observed::default());
    let server = configured_server(&observed, |builder| builder.max_send_message_size(100));
    let (client, _stop, _serving) = over_tcp(server).await;
    assert_eq!(
        resource_exhausted(&client, request(&"x".repeat(500)), CallOptions::new()).await,
        "echo.EchoResponse message to send larger than max (503 vs. 100)"
    );
    assert_eq!(
        client
            .echo_message(request("small"))
            .await
            .unwrap()
            .message()
            .message,
        "small"
    );
    // A streaming handler's send fails, and the call ends with that status.
    stream_resource_exhausted(&client, "2 500").await;
    assert_eq!(observed.sent.load(Ordering::SeqCst), 0);
}

/// A server-streaming handler that sends a message, then one of 500 bytes,
/// ignoring how that goes, then another, and returns OK.
struct Heedless;

impl Echo for Heedless {
    async fn echo_server_streaming(
        &self,
        _request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        responses.send(&response("before")).await?;
        let _ = responses.send(&response("x".repeat(500))).await;
        let _ = responses.send(&response("after")).await;
        Ok(())
    }
}

#[tokio::test]
async fn a_response_over_the_limit_ends_the_call_even_when_the_handler_goes_on() {
    let server = Server::builder()
        .add_service(EchoServer::new(Heedless))
        .max_send_message_size(100)
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let mut stream = client.echo_server_streaming(request("")).await.unwrap();
    assert_eq!(stream.recv().await.unwrap().unwrap().message, "before");
    let end = stream.recv().await.unwrap_err();
    assert_eq!(
        (end.code(), end.message()),
        (
            Code::ResourceExhausted,
            "echo.EchoResponse message to send larger than max (503 vs. 100)"
        )
    );
}

#[tokio::test]
async fn a_slow_reader_holds_back_a_streaming_server() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    // 400 messages of 64 KiB: far more than the flow-control windows hold.
    let mut stream = client
        .echo_server_streaming(request("400 65536"))
        .await
        .unwrap();
    stream.headers().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_while_paused = observed.sent.load(Ordering::SeqCst);
    assert!(
        sent_while_paused < 100,
        "the server ran ahead: {sent_while_paused} messages"
    );
    let mut received = 0;
    while stream.recv().await.unwrap().is_some() {
        received += 1;
    }
    assert_eq!(received, 400);
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish() {
    let observed = Arc::new(Observed::default());
    let (client, stop, serving) = over_tcp(server(&observed)).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.echo_message(request("sleep 300")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.message().message, "sleep 300");
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the server stops")
        .unwrap();
    assert_eq!(observed.cancellations.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_and_the_channel_reconnects() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .connect_lazy();
    let client = EchoClient::new(channel);
    let err = client.echo_message(request("x")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);

    // The channel waits out its connection backoff (a second after the
    // failure) before it tries again; a call that waits for ready does too.
    let observed = Arc::new(Observed::default());
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(server(&observed).serve_with_shutdown(listener, std::future::pending()));
    assert_eq!(
        client
            .echo_message(request("back"))
            .wait_for_ready(true)
            .timeout(Duration::from_secs(10))
            .await
            .unwrap()
            .message()
            .message,
        "back"
    );
}

#[test]
fn invalid_targets_are_rejected() {
    for target in [
        "",
        "localhost",
        "http://",
        "http://host:port",
        "host:99999",
        "host:1/path",
        "bad host:80",
    ] {
        assert_eq!(
            Channel::builder(target).err().map(|s| s.code()),
            Some(Code::InvalidArgument),
            "{target}"
        );
    }
    assert!(Channel::builder("localhost:50051").is_ok());
    assert!(Channel::builder("http://[::1]:50051").is_ok());
}

#[test]
fn calls_are_lazy_and_small() {
    // Made, and made futures, outside any runtime: nothing (timer,
    // connection) may start before the first poll, or this would panic.
    let client = EchoClient::new(
        Channel::builder("127.0.0.1:1")
            .expect("valid target")
            .connect_lazy(),
    );
    let unary = client
        .echo_message(request("hi"))
        .timeout(Duration::from_secs(1))
        .into_future();
    let streaming = client.echo_server_streaming(request("hi")).into_future();
    let bidi = client
        .echo_bidirectional_streaming()
        .timeout(Duration::from_secs(1))
        .into_future();
    // A unary call's future is boxed once per call; kept within 1 KiB, the
    // box comes from the allocator's per-thread cache, its cheapest path.
    let size = std::mem::size_of_val(&*unary);
    assert!(size <= 1024, "a unary call's future takes {size} bytes");
    drop((streaming, bidi));
}

/// Calls the echo service from inside its own handler, without a timeout of
/// its own (or, for a name starting with "alone", refusing to inherit one).
struct Relay {
    echo: EchoClient,
}

impl rgrpc_tests::pb::chat::ChatService for Relay {
    async fn say_hello(
        &self,
        request: Request<rgrpc_tests::pb::chat::HelloRequest>,
    ) -> Result<Response<rgrpc_tests::pb::chat::HelloReply>, Status> {
        let mut options = CallOptions::new();
        if request.message().name.starts_with("alone") {
            options = options.detached();
        }
        self.echo
            .echo_message(self::request("relayed"))
            .with_options(options)
            .await?;
        Ok(Response::new(Default::default()))
    }
}

#[tokio::test]
async fn calls_made_in_a_handler_inherit_its_deadline() {
    use rgrpc_tests::pb::chat::{ChatServiceClient, ChatServiceServer, HelloRequest};
    let observed = Arc::new(Observed::default());
    let relay = Relay {
        echo: in_memory(&observed),
    };
    let server = Server::builder()
        .add_service(ChatServiceServer::new(relay))
        .build();
    let client = ChatServiceClient::new(Channel::in_memory(&server).connect_lazy());

    client
        .say_hello(HelloRequest::default())
        .timeout(Duration::from_secs(2))
        .await
        .unwrap();
    let remaining = observed
        .remaining
        .lock()
        .unwrap()
        .expect("the inner call has a deadline");
    assert!(
        remaining <= Duration::from_secs(2) && remaining > Duration::from_secs(1),
        "{remaining:?}"
    );

    let alone = HelloRequest {
        name: "alone".into(),
        ..Default::default()
    };
    client
        .say_hello(alone)
        .timeout(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        *observed.remaining.lock().unwrap(),
        None,
        "told not to inherit"
    );
}

#[tokio::test]
async fn a_timeout_too_long_for_the_clock_means_no_deadline() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    client
        .echo_message(request("forever"))
        .timeout(Duration::MAX)
        .await
        .unwrap();
    assert_eq!(*observed.remaining.lock().unwrap(), None);
}

#[tokio::test]
async fn the_receive_limit_can_be_set_per_call() {
    let observed = Arc::new(Observed::default());
    let client = in_memory(&observed);
    let limited = || CallOptions::new().max_receive_message_size(100);
    let call = client
        .echo_message(request(&"x".repeat(500)))
        .with_options(limited());
    assert_eq!(call.await.unwrap_err().code(), Code::ResourceExhausted);
    let call = client
        .echo_message(request(&"x".repeat(50)))
        .with_options(limited());
    assert!(call.await.is_ok());
}

/// A client-streaming handler that reads nothing until `open` is notified,
/// then answers with the lengths of the messages it received.
struct Gated {
    open: Arc<Notify>,
}

impl Echo for Gated {
    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        self.open.notified().await;
        let mut lengths = Vec::new();
        while let Some(request) = requests.recv().await? {
            lengths.push(request.message.len().to_string());
        }
        Ok(Response::new(response(lengths.join(","))))
    }
}

/// A client-streaming call to a `Gated` server, which has been sent "a",
/// and the notification that lets the server read.
async fn gated_call() -> (Arc<Notify>, ClientStreamingCall<EchoRequest, EchoResponse>) {
    let open = Arc::new(Notify::new());
    let server = Server::builder()
        .add_service(EchoServer::new(Gated { open: open.clone() }))
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&request("a")).await.unwrap();
    (open, call)
}

#[tokio::test]
async fn a_cancelled_send_leaves_the_request_stream_well_formed() {
    let (open, mut call) = gated_call().await;
    // Larger than the stream's window, to a server not reading: part of it
    // goes out, and the send is cancelled waiting for the rest.
    let big = request(&"x".repeat(3 << 20));
    let cut = tokio::time::timeout(Duration::from_millis(200), call.send(&big)).await;
    assert!(cut.is_err(), "the send waits for the server");
    open.notify_one();
    call.send(&request("ccc")).await.unwrap();
    let response = call.close_and_recv().await.unwrap();
    assert_eq!(
        response.message().message,
        format!("1,{},3", 3 << 20),
        "the cut message is finished before the next"
    );
}

#[tokio::test]
async fn a_send_cancelled_before_it_began_sends_nothing() {
    let (open, mut call) = gated_call().await;
    // With the first frame's 8 bytes, one of 1 MiB - 8 bytes fills the
    // server's 1 MiB stream window exactly.
    let filling = (1 << 20) - 8 - 9;
    call.send(&request(&"x".repeat(filling))).await.unwrap();
    let never = tokio::time::timeout(Duration::from_millis(100), call.send(&request("bb"))).await;
    assert!(never.is_err(), "the send waits for the server");
    open.notify_one();
    call.send(&request("ccc")).await.unwrap();
    let response = call.close_and_recv().await.unwrap();
    assert_eq!(response.message().message, format!("1,{filling},3"));
}

/// A streaming handler that hands its sink to a task.
struct Detached;

impl Echo for Detached {
    /// Answers each request from another task, which owns the sink.
    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let (forward, mut forwarded) = tokio::sync::mpsc::unbounded_channel::<String>();
        let answering = tokio::spawn(async move {
            while let Some(text) = forwarded.recv().await {
                responses.send(&response(text)).await?;
            }
            Ok::<_, Status>(())
        });
        while let Some(request) = requests.recv().await? {
            let _ = forward.send(request.message);
        }
        drop(forward);
        answering
            .await
            .map_err(|err| Status::internal(err.to_string()))?
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_moved_to_another_task_answers_every_request() {
    let server = Server::builder()
        .add_service(EchoServer::new(Detached))
        .build();
    let (client, _stop, _serving) = over_tcp(server).await;
    let call = client.echo_bidirectional_streaming().await.unwrap();
    let (mut requests, mut responses) = call.split();
    // Each answer is sent from the sink's task while the call's driver,
    // on another, may be about to wait.
    let rounds = async {
        for i in 0..1000 {
            requests.send(&request(&i.to_string())).await.unwrap();
            let answer = responses.recv().await.unwrap().unwrap();
            assert_eq!(answer.message, i.to_string());
        }
    };
    tokio::time::timeout(Duration::from_secs(30), rounds)
        .await
        .expect("every answer arrives");
    requests.close().await.unwrap();
    assert_eq!(responses.recv().await.unwrap(), None);
}

#[tokio::test]
async fn a_client_leaving_a_stream_stops_the_handler() {
    let observed = Arc::new(Observed::default());
    let (client, _stop, _serving) = over_tcp(server(&observed)).await;
    // An endless stream, as far as the client reads it.
    let mut stream = client
        .echo_server_streaming(request("1000000 1024"))
        .await
        .unwrap();
    for _ in 0..10 {
        stream.recv().await.unwrap().unwrap();
    }
    drop(stream);
    // The handler's sends fail once the stream is reset, so it stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = observed.sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        observed.sent.load(Ordering::SeqCst),
        sent,
        "the handler kept sending after the client left"
    );
    assert!(sent < 1_000_000);
}

/// Streams from a task of its own, fed by the handler through a channel:
/// the pattern of handlers that hand their sink to a task and return. A
/// request `fail` makes the handler return an error after spawning.
struct Spawning;

impl Echo for Spawning {
    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while let Some(text) = receiver.recv().await {
                if responses.send(&response(text)).await.is_err() {
                    break;
                }
            }
        });
        let fail = request.message().message == "fail";
        tokio::spawn(async move {
            for i in 0..3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if sender.send(format!("message {i}")).await.is_err() {
                    break;
                }
            }
        });
        if fail {
            return Err(Status::aborted("gave up"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_sink_moved_to_a_task_streams_until_that_task_drops_it() {
    let server = Server::builder()
        .add_service(EchoServer::new(Spawning))
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let mut stream = client.echo_server_streaming(request("go")).await.unwrap();
    let mut received = Vec::new();
    while let Some(message) = stream.recv().await.unwrap() {
        received.push(message.message);
    }
    // Ended with the handler's OK (recv gave None), once the task let go
    // of the sink.
    assert_eq!(received, ["message 0", "message 1", "message 2"]);
}

#[tokio::test]
async fn a_handler_s_error_ends_the_call_at_once_whoever_holds_the_sink() {
    let server = Server::builder()
        .add_service(EchoServer::new(Spawning))
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    let started = Instant::now();
    let mut stream = client.echo_server_streaming(request("fail")).await.unwrap();
    let err = stream.recv().await.expect_err("the handler's error");
    assert_eq!(err.code(), Code::Aborted);
    assert!(started.elapsed() < Duration::from_millis(500));
}
