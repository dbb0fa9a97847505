//! The call context a handler is given (what the call is, its deadline,
//! its cancellation, carried into spawned tasks and outgoing calls), panics
//! in handlers, and message streams as `futures_core::Stream`s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{CallContext, CallInfo, CallKind, Channel, Code, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

/// What a handler reports about its call.
#[derive(Default)]
struct Seen {
    info: Mutex<Option<CallInfo>>,
    /// Told when a task the handler spawned sees the call's cancellation.
    cancelled: Mutex<Option<oneshot::Sender<()>>>,
}

/// An echo service whose handlers show what their context says.
struct Contextual {
    seen: Arc<Seen>,
    /// For "relay": the service the handler calls from a task it spawns.
    relay_to: Option<EchoClient>,
}

impl Echo for Contextual {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let context = request.context().clone();
        *self.seen.info.lock().unwrap() = context.info().cloned();
        match request.message().message.as_str() {
            "panic" => panic!("a handler that panics"),
            "watch" => {
                // A task that outlives nothing: it waits for the call to be over.
                let cancelled = self.seen.cancelled.lock().unwrap().take();
                tokio::spawn(async move {
                    context.cancelled().await;
                    if let Some(cancelled) = cancelled {
                        let _ = cancelled.send(());
                    }
                });
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(Response::new(response("slept")))
            }
            "relay" => {
                // The call made from another task carries the context along.
                let client = self.relay_to.clone().expect("a relay target");
                let inner = tokio::spawn(async move {
                    client
                        .echo_message(self::request("watch"))
                        .context(&context)
                        .await
                });
                let status = inner.await.expect("the task ends").unwrap_err();
                Ok(Response::new(response(status.code().name())))
            }
            other => Ok(Response::new(response(other))),
        }
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        // Fed from a task through a channel, as tonic users do.
        let count: usize = request.message().message.parse().unwrap_or(3);
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(async move {
            for i in 0..count {
                if sender.send(Ok(response(i.to_string()))).await.is_err() {
                    break;
                }
            }
        });
        responses.send_all(ReceiverStream::new(receiver)).await
    }

    async fn echo_client_streaming(
        &self,
        requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        *self.seen.info.lock().unwrap() = requests.context().info().cloned();
        // The request stream as a Stream: StreamExt's adapters apply.
        let texts: Vec<String> = requests
            .map(|request| request.map(|request| request.message))
            .collect::<Result<_, _>>()
            .await?;
        Ok(Response::new(response(texts.join("+"))))
    }
}

fn server(seen: &Arc<Seen>, relay_to: Option<EchoClient>) -> Server {
    Server::builder()
        .add_service(EchoServer::new(Contextual {
            seen: seen.clone(),
            relay_to,
        }))
        .build()
}

#[tokio::test]
async fn a_handler_sees_the_method_the_shape_and_the_peer() {
    let seen = Arc::new(Seen::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server(&seen, None).serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = EchoClient::new(channel);
    client.echo_message(request("hi")).await.unwrap();
    let info = seen.info.lock().unwrap().clone().expect("a call");
    assert_eq!(info.path(), "/echo.Echo/EchoMessage");
    assert_eq!(
        (info.service(), info.method()),
        ("echo.Echo", "EchoMessage")
    );
    assert_eq!(info.kind(), CallKind::Unary);
    let peer = info.peer().expect("a TCP peer");
    assert!(peer.ip().is_loopback(), "{peer}");
    assert_ne!(
        peer.port(),
        address.port(),
        "the client's port, not the server's"
    );

    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&request("a")).await.unwrap();
    call.close_and_recv().await.unwrap();
    let info = seen.info.lock().unwrap().clone().expect("a call");
    assert_eq!(info.kind(), CallKind::ClientStreaming);
    assert!(info.kind().client_streams() && !info.kind().server_streams());
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_task_holding_the_context_sees_the_call_cancelled_when_the_client_leaves() {
    let seen = Arc::new(Seen::default());
    let (told, cancelled) = oneshot::channel();
    *seen.cancelled.lock().unwrap() = Some(told);
    let client = EchoClient::new(Channel::in_memory(&server(&seen, None)).connect_lazy());
    let call = client.echo_message(request("watch")).into_future();
    // The client gives up after a moment; the handler's spawned task hears it.
    let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    tokio::time::timeout(Duration::from_secs(5), cancelled)
        .await
        .expect("the spawned task sees the cancellation")
        .unwrap();
}

#[tokio::test]
async fn the_context_is_cancelled_at_the_deadline_too() {
    let seen = Arc::new(Seen::default());
    let (told, cancelled) = oneshot::channel();
    *seen.cancelled.lock().unwrap() = Some(told);
    let client = EchoClient::new(Channel::in_memory(&server(&seen, None)).connect_lazy());
    let err = client
        .echo_message(request("watch"))
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    tokio::time::timeout(Duration::from_secs(5), cancelled)
        .await
        .expect("the spawned task sees the cancellation")
        .unwrap();
}

#[tokio::test]
async fn a_call_made_with_the_context_from_another_task_ends_with_its_parent() {
    // The back end watches; the front end relays to it from a spawned task.
    let back_seen = Arc::new(Seen::default());
    let (told, back_cancelled) = oneshot::channel();
    *back_seen.cancelled.lock().unwrap() = Some(told);
    let back = EchoClient::new(Channel::in_memory(&server(&back_seen, None)).connect_lazy());
    let front_seen = Arc::new(Seen::default());
    let front =
        EchoClient::new(Channel::in_memory(&server(&front_seen, Some(back))).connect_lazy());
    // The front call's deadline passes: the back call, made for it, is
    // cancelled with it, and the back end's handler hears it.
    let err = front
        .echo_message(request("relay"))
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    tokio::time::timeout(Duration::from_secs(5), back_cancelled)
        .await
        .expect("the back end's call is over too")
        .unwrap();
}

#[tokio::test]
async fn a_scope_makes_a_context_current_for_spawned_work() {
    assert!(CallContext::current().is_none());
    let seen = Arc::new(Seen::default());
    let client = EchoClient::new(Channel::in_memory(&server(&seen, None)).connect_lazy());
    // Outside a handler, there is no current context; a default one is none.
    let none = CallContext::default();
    assert!(none.info().is_none() && !none.is_cancelled());
    let reply = none
        .scope(async { client.echo_message(request("inside")).await })
        .await
        .unwrap();
    assert_eq!(reply.message().message, "inside");
}

#[tokio::test]
async fn a_panicking_handler_is_internal_and_the_server_goes_on() {
    let seen = Arc::new(Seen::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let serving = tokio::spawn(server(&seen, None).serve_with_shutdown(listener, async {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }));
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    for _ in 0..3 {
        let err = client.echo_message(request("panic")).await.unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
        // The same connection serves the next call.
        let reply = client.echo_message(request("after")).await.unwrap();
        assert_eq!(reply.message().message, "after");
    }
    serving.abort();
}

#[tokio::test]
async fn streams_of_messages_work_with_stream_adapters_both_ways() {
    let seen = Arc::new(Seen::default());
    let client = EchoClient::new(Channel::in_memory(&server(&seen, None)).connect_lazy());
    // The response stream as a Stream, fed on the server from a channel.
    let responses = client.echo_server_streaming(request("5")).await.unwrap();
    let texts: Vec<String> = responses
        .map(|response| response.unwrap().message)
        .collect()
        .await;
    assert_eq!(texts, ["0", "1", "2", "3", "4"]);
    // The requests sent from a Stream; the server reads them as one.
    let mut call = client.echo_client_streaming().await.unwrap();
    let requests = tokio_stream::iter(["x", "y", "z"].map(|text| Ok(request(text))));
    call.send_all(requests).await.unwrap();
    assert_eq!(
        call.close_and_recv().await.unwrap().message().message,
        "x+y+z"
    );
}

#[tokio::test]
async fn a_stream_ends_after_its_first_error() {
    let seen = Arc::new(Seen::default());
    let client = EchoClient::new(Channel::in_memory(&server(&seen, None)).connect_lazy());
    // A bidirectional method this service leaves UNIMPLEMENTED.
    let call = client.echo_bidirectional_streaming().await.unwrap();
    let (_requests, responses) = call.split();
    let items: Vec<Result<EchoResponse, Status>> = responses.collect().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap_err().code(), Code::Unimplemented);
}
