//! Interceptors on both sides: chain order, what they see, what they can
//! change, short-circuits, and stream layers that every message passes
//! through.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rgrpc::client::{ClientCall, StartedStream, StreamNext as ClientStreamNext};
use rgrpc::server::{
    RequestStream, ResponseSink, ServerStream, StreamNext as ServerStreamNext, UnaryNext,
};
use rgrpc::{
    AnyRequest, AnyResponse, CallKind, Channel, ChannelBuilder, Code, DynMessage, Message,
    Metadata, Request, Response, Server, ServerBuilder, Status, StreamLayer,
};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};

/// What happened, in order.
type Log = Arc<Mutex<Vec<String>>>;

fn record(log: &Log, event: impl Into<String>) {
    log.lock().unwrap().push(event.into());
}

fn events(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// An echo service that logs what its handlers see.
struct Logged {
    log: Log,
}

impl Echo for Logged {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let tag = request.metadata().get("x-tag").unwrap_or("-").to_owned();
        record(
            &self.log,
            format!("handler {} {tag}", request.message().message),
        );
        if request.message().message == "hang" {
            std::future::pending::<()>().await;
        }
        Ok(Response::new(response(request.into_message().message)))
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut texts = Vec::new();
        while let Some(request) = requests.recv().await? {
            texts.push(request.message);
        }
        record(&self.log, "handler stream");
        Ok(Response::new(response(texts.join(","))))
    }

    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        while let Some(request) = requests.recv().await? {
            if request.message == "hang" {
                std::future::pending::<()>().await;
            }
            responses.send(&response(request.message)).await?;
        }
        Ok(())
    }
}

/// A server unary interceptor that logs its start and end under `name`.
fn around(
    log: &Log,
    name: &'static str,
) -> impl Fn(AnyRequest, UnaryNext) -> rgrpc::BoxFuture<'static, Result<AnyResponse, Status>>
+ Send
+ Sync
+ 'static {
    let log = log.clone();
    move |request, next| {
        let log = log.clone();
        Box::pin(async move {
            record(&log, format!("{name} starts"));
            let result = next.run(request).await;
            record(&log, format!("{name} finishes"));
            result
        })
    }
}

fn client_for(log: &Log, server: impl FnOnce(ServerBuilder) -> ServerBuilder) -> EchoClient {
    client_with(log, server, |channel| channel)
}

fn client_with(
    log: &Log,
    server: impl FnOnce(ServerBuilder) -> ServerBuilder,
    channel: impl FnOnce(ChannelBuilder) -> ChannelBuilder,
) -> EchoClient {
    let builder = Server::builder().add_service(EchoServer::new(Logged { log: log.clone() }));
    let server = server(builder).build();
    EchoClient::new(channel(Channel::in_memory(&server)).connect_lazy())
}

#[tokio::test]
async fn the_first_registered_server_interceptor_is_the_outermost() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        server
            .unary_interceptor(around(&log, "A"))
            .unary_interceptor(around(&log, "B"))
    });
    client.echo_message(request("hi")).await.unwrap();
    assert_eq!(
        events(&log),
        [
            "A starts",
            "B starts",
            "handler hi -",
            "B finishes",
            "A finishes"
        ]
    );
}

#[tokio::test]
async fn a_server_interceptor_sees_the_call_and_the_typed_message() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Log::default();
    let client = client_for(&log, {
        let seen = seen.clone();
        move |server| {
            server.unary_interceptor(move |request: AnyRequest, next: UnaryNext| {
                let seen = seen.clone();
                async move {
                    let info = request.context().info().expect("a call").clone();
                    let message: &dyn DynMessage = request.message().as_ref();
                    let typed = message
                        .downcast_ref::<EchoRequest>()
                        .expect("an EchoRequest");
                    seen.lock().unwrap().push(format!(
                        "{} {:?} {} deadline={} {:?} {}",
                        info.path(),
                        info.kind(),
                        message.full_name(),
                        request.deadline().is_some(),
                        typed.message,
                        message.encode_vec() == typed.encode_to_vec(),
                    ));
                    // Debug prints the message as its type does.
                    assert!(format!("{message:?}").contains("EchoRequest"));
                    next.run(request).await
                }
            })
        }
    });
    client
        .echo_message(request("look"))
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["/echo.Echo/EchoMessage Unary echo.EchoRequest deadline=true \"look\" true"]
    );
}

#[tokio::test]
async fn a_server_interceptor_changes_metadata_sets_headers_and_replaces_the_response() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        server.unary_interceptor(|mut request: AnyRequest, next: UnaryNext| async move {
            request.metadata_mut().insert("x-tag", "tagged").unwrap();
            let mut response = next.run(request).await?;
            let echoed = response
                .message()
                .downcast_ref::<EchoResponse>()
                .map(|echoed| echoed.message.clone())
                .unwrap_or_default();
            *response.message_mut() = Box::new(rgrpc_tests::response(format!("[{echoed}]")));
            response.headers_mut().insert("x-seen", "yes").unwrap();
            response.trailers_mut().insert("x-done", "yes").unwrap();
            Ok(response)
        })
    });
    let reply = client.echo_message(request("hi")).await.unwrap();
    assert_eq!(events(&log), ["handler hi tagged"]);
    assert_eq!(reply.message().message, "[hi]");
    assert_eq!(reply.headers().get("x-seen"), Some("yes"));
    assert_eq!(reply.trailers().get("x-done"), Some("yes"));
}

#[tokio::test]
async fn an_interceptor_error_stops_the_chain_before_the_handler() {
    let log = Log::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let client = client_for(&log, |server| {
        let refused = refused.clone();
        server
            .unary_interceptor(around(&log, "A"))
            .unary_interceptor(move |request: AnyRequest, next: UnaryNext| {
                let refused = refused.clone();
                async move {
                    if request.metadata().get("authorization").is_none() {
                        refused.fetch_add(1, Ordering::SeqCst);
                        return Err(Status::unauthenticated("no token"));
                    }
                    next.run(request).await
                }
            })
            .unary_interceptor(around(&log, "C"))
    });
    let err = client.echo_message(request("hi")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        events(&log),
        ["A starts", "A finishes"],
        "neither C nor the handler ran"
    );
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    let mut authorized = Request::new(request("hi"));
    authorized
        .metadata_mut()
        .insert("authorization", "t")
        .unwrap();
    client.echo_message(authorized).await.unwrap();
    assert_eq!(
        events(&log),
        [
            "A starts",
            "C starts",
            "handler hi -",
            "C finishes",
            "A finishes"
        ]
    );
}

#[tokio::test]
async fn a_response_of_another_type_is_internal() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        server.unary_interceptor(|request: AnyRequest, next: UnaryNext| async move {
            let mut response = next.run(request).await?;
            *response.message_mut() = Box::new(EchoRequest::default());
            Ok(response)
        })
    });
    let err = client.echo_message(request("hi")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(err.message().contains("echo.EchoRequest"), "{err}");
}

#[tokio::test]
async fn a_panicking_interceptor_is_internal_and_the_server_goes_on() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        server.unary_interceptor(|request: AnyRequest, next: UnaryNext| async move {
            let boom = request
                .message()
                .downcast_ref::<EchoRequest>()
                .is_some_and(|m| m.message == "boom");
            assert!(!boom, "an interceptor that panics");
            next.run(request).await
        })
    });
    let err = client.echo_message(request("boom")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    client.echo_message(request("fine")).await.unwrap();
}

/// Counts the messages passing a call, and upper-cases what it receives.
struct Counting {
    name: &'static str,
    log: Log,
}

impl StreamLayer for Counting {
    fn sent(&self, message: &dyn DynMessage) -> Result<(), Status> {
        record(
            &self.log,
            format!("{} sent {}", self.name, message.full_name()),
        );
        Ok(())
    }

    fn received(&self, message: &mut dyn DynMessage) -> Result<(), Status> {
        if let Some(request) = message.downcast_mut::<EchoRequest>() {
            if request.message == "forbidden" {
                return Err(Status::permission_denied("forbidden message"));
            }
            request.message = request.message.to_uppercase();
        }
        record(&self.log, format!("{} received", self.name));
        Ok(())
    }
}

#[tokio::test]
async fn server_stream_layers_see_every_message_in_chain_order() {
    let log = Log::default();
    let layer = |name: &'static str, log: &Log| {
        let log = log.clone();
        move |mut stream: ServerStream, next: ServerStreamNext| {
            let log = log.clone();
            async move {
                assert_eq!(
                    stream.context().info().map(|info| info.kind()),
                    Some(CallKind::BidiStreaming)
                );
                stream.add_layer(Counting {
                    name,
                    log: log.clone(),
                });
                let mut headers = Metadata::new();
                headers
                    .insert(&format!("x-{}", name.to_lowercase()), "on")
                    .unwrap();
                stream.set_header(headers);
                next.run(stream).await
            }
        }
    };
    let client = client_for(&log, |server| {
        server
            .stream_interceptor(layer("A", &log))
            .stream_interceptor(layer("B", &log))
    });
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    call.send(&request("one")).await.unwrap();
    let echoed = call.recv().await.unwrap().unwrap();
    assert_eq!(echoed.message, "ONE", "both layers upper-cased it");
    call.close_send().await.unwrap();
    assert!(call.recv().await.unwrap().is_none());
    let headers = call.headers().await.unwrap();
    assert_eq!(
        (headers.get("x-a"), headers.get("x-b")),
        (Some("on"), Some("on"))
    );
    let events = events(&log);
    // Received: the innermost layer first; sent: the outermost first.
    assert_eq!(
        events,
        [
            "B received",
            "A received",
            "A sent echo.EchoResponse",
            "B sent echo.EchoResponse",
        ]
    );
}

#[tokio::test]
async fn a_layer_that_refuses_a_message_ends_the_call() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        let log = log.clone();
        server.stream_interceptor(move |mut stream: ServerStream, next: ServerStreamNext| {
            stream.add_layer(Counting {
                name: "L",
                log: log.clone(),
            });
            next.run(stream)
        })
    });
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&request("fine")).await.unwrap();
    call.send(&request("forbidden")).await.unwrap();
    let err = call.close_and_recv().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The first message passed; the second ended the call before the handler saw it.
    assert_eq!(events(&log), ["L received"]);
}

#[tokio::test]
async fn a_server_stream_interceptor_can_refuse_the_call() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        server.stream_interceptor(|stream: ServerStream, next: ServerStreamNext| async move {
            if stream.metadata().get("authorization").is_none() {
                return Err(Status::unauthenticated("no token"));
            }
            next.run(stream).await
        })
    });
    let mut call = client.echo_client_streaming().await.unwrap();
    let _ = call.send(&request("a")).await;
    let err = call.close_and_recv().await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(events(&log).is_empty(), "the handler never ran");
}

#[tokio::test]
async fn client_unary_interceptors_chain_add_headers_and_short_circuit() {
    let log = Log::default();
    let order = Log::default();
    let step = |name: &'static str, order: &Log| {
        let order = order.clone();
        move |call: ClientCall, mut request: AnyRequest, next: rgrpc::client::UnaryNext| {
            let order = order.clone();
            async move {
                record(&order, format!("{name} starts {}", call.info().method()));
                if name == "B" {
                    request
                        .metadata_mut()
                        .insert("x-tag", "from-client")
                        .unwrap();
                }
                let result = next.run(call, request).await;
                record(&order, format!("{name} finishes"));
                result
            }
        }
    };
    let client = client_with(
        &log,
        |server| server,
        |channel| {
            channel
                .unary_interceptor(step("A", &order))
                .unary_interceptor(step("B", &order))
        },
    );
    client.echo_message(request("hi")).await.unwrap();
    assert_eq!(events(&log), ["handler hi from-client"]);
    assert_eq!(
        events(&order),
        [
            "A starts EchoMessage",
            "B starts EchoMessage",
            "B finishes",
            "A finishes"
        ]
    );

    // Answered on the client: the server is never reached.
    let cached = client_with(
        &log,
        |server| server,
        |channel| {
            channel.unary_interceptor(
                |_: ClientCall, _: AnyRequest, _: rgrpc::client::UnaryNext| async move {
                    Ok(Response::new(
                        Box::new(response("cached")) as Box<dyn DynMessage>
                    ))
                },
            )
        },
    );
    let reply = cached.echo_message(request("hi")).await.unwrap();
    assert_eq!(reply.message().message, "cached");
    assert!(events(&log).is_empty());
}

#[tokio::test]
async fn a_client_stream_interceptor_sets_a_timeout_and_layers_messages() {
    let log = Log::default();
    let sent = Log::default();
    let client = client_with(
        &log,
        |server| server,
        |channel| {
            let sent = sent.clone();
            channel.stream_interceptor(move |mut call: ClientCall, next: ClientStreamNext| {
                let sent = sent.clone();
                async move {
                    // A deadline for every stream that has none.
                    let options = std::mem::take(call.options_mut());
                    *call.options_mut() = options.timeout(Duration::from_millis(200));
                    let mut stream: StartedStream = next.run(call).await?;
                    stream.add_layer(Counting {
                        name: "client",
                        log: sent,
                    });
                    Ok(stream)
                }
            })
        },
    );
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    call.send(&request("one")).await.unwrap();
    // The layer changes requests only; responses pass through it as they are.
    assert_eq!(call.recv().await.unwrap().unwrap().message, "one");
    call.send(&request("hang")).await.unwrap();
    let err = call.recv().await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_eq!(
        events(&sent),
        [
            "client sent echo.EchoRequest",
            "client received",
            "client sent echo.EchoRequest",
        ]
    );
}

#[tokio::test]
async fn no_interceptor_runs_for_the_other_kind_of_call() {
    let log = Log::default();
    let client = client_for(&log, |server| {
        let log = log.clone();
        server.stream_interceptor(move |stream: ServerStream, next: ServerStreamNext| {
            record(&log, "stream interceptor");
            next.run(stream)
        })
    });
    client.echo_message(request("unary")).await.unwrap();
    assert_eq!(events(&log), ["handler unary -"]);
}
