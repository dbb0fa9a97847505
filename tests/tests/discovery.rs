//! Health checking and server reflection: with rgrpc's own clients, and
//! with Python grpcio's (`grpcio-health-checking`, `grpcio-reflection`)
//! through `tests/interop/python/discovery.py`, run by the venv that
//! `scripts/setup.sh` makes.

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use rgrpc::health::{HealthCheckRequest, HealthClient, HealthReporter, ServingStatus};
use rgrpc::reflection::v1::server_reflection_request::MessageRequest;
use rgrpc::reflection::v1::server_reflection_response::MessageResponse;
use rgrpc::reflection::v1::{ExtensionRequest, ServerReflectionClient, ServerReflectionRequest};
use rgrpc::reflection::{Reflection, v1alpha};
use rgrpc::wkt::FileDescriptorProto;
use rgrpc::{Channel, Code, Message, Server, ServerBuilder, Status};
use rgrpc_tests::Echoing;
use rgrpc_tests::pb::coverage::annotated::{Pinger, PingerServer};
use rgrpc_tests::pb::echo::EchoServer;
use rgrpc_tests::python::Killed;

struct Silent;

impl Pinger for Silent {}

/// A server with echo.Echo, health, reflection and `more`, on a loopback
/// port; its address and the task serving it until `stop` is sent.
async fn serve(
    builder: ServerBuilder,
    health: &HealthReporter,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let server = builder
        .add_service(EchoServer::new(Echoing))
        .add_service(health.service())
        .add_service(Reflection::new())
        .build();
    let bound = server.bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", bound.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    (address, stop, serving)
}

fn check(name: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: name.into(),
        ..Default::default()
    }
}

async fn status_of(client: &HealthClient, name: &str) -> Result<ServingStatus, Status> {
    Ok(client.check(check(name)).await?.into_message().status)
}

#[tokio::test]
async fn check_answers_each_registered_service_and_what_the_application_sets() {
    let health = HealthReporter::new();
    // Set before the server is built: kept, not overwritten by SERVING.
    health.set_status("echo.Echo", ServingStatus::NOT_SERVING);
    let (address, _stop, _serving) = serve(Server::builder(), &health).await;
    let client = HealthClient::new(Channel::builder(&address).unwrap().connect_lazy());

    for name in [
        "",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert_eq!(
            status_of(&client, name).await,
            Ok(ServingStatus::SERVING),
            "{name}"
        );
    }
    assert_eq!(
        status_of(&client, "echo.Echo").await,
        Ok(ServingStatus::NOT_SERVING)
    );
    let err = status_of(&client, "no.Such").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    health.set_status("echo.Echo", ServingStatus::SERVING);
    assert_eq!(
        status_of(&client, "echo.Echo").await,
        Ok(ServingStatus::SERVING)
    );
    health.clear_status("echo.Echo");
    assert_eq!(
        status_of(&client, "echo.Echo").await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn watch_sends_every_change_and_waits_out_unknown_services() {
    let health = HealthReporter::new();
    let (address, _stop, _serving) = serve(Server::builder(), &health).await;
    let client = HealthClient::new(Channel::builder(&address).unwrap().connect_lazy());

    let mut watch = client.watch(check("later.Service")).await.unwrap();
    let mut next = async || watch.recv().await.unwrap().map(|r| r.status);
    assert_eq!(next().await, Some(ServingStatus::SERVICE_UNKNOWN));
    health.set_status("later.Service", ServingStatus::SERVING);
    assert_eq!(next().await, Some(ServingStatus::SERVING));
    // The same status again is no change; the next one is.
    health.set_status("later.Service", ServingStatus::SERVING);
    health.set_status("later.Service", ServingStatus::NOT_SERVING);
    assert_eq!(next().await, Some(ServingStatus::NOT_SERVING));
    health.clear_status("later.Service");
    assert_eq!(next().await, Some(ServingStatus::SERVICE_UNKNOWN));
    // Shutting the reporter down ignores changes until it resumes.
    health.set_status("later.Service", ServingStatus::SERVING);
    assert_eq!(next().await, Some(ServingStatus::SERVING));
    health.shutdown();
    assert_eq!(next().await, Some(ServingStatus::NOT_SERVING));
    health.set_status("later.Service", ServingStatus::SERVING);
    assert_eq!(
        health.status("later.Service"),
        Some(ServingStatus::NOT_SERVING)
    );
    health.resume();
    assert_eq!(next().await, Some(ServingStatus::SERVING));
}

#[tokio::test]
async fn shutting_down_sets_not_serving_first_and_ends_the_watches() {
    let health = HealthReporter::new();
    let builder = Server::builder().shutdown_grace(Duration::from_secs(30));
    let (address, stop, serving) = serve(builder, &health).await;
    let client = HealthClient::new(Channel::builder(&address).unwrap().connect_lazy());
    let mut watch = client.watch(check("")).await.unwrap();
    assert_eq!(
        watch.recv().await.unwrap().map(|r| r.status),
        Some(ServingStatus::SERVING)
    );

    let started = Instant::now();
    stop.send(()).unwrap();
    assert_eq!(
        watch.recv().await.unwrap().map(|r| r.status),
        Some(ServingStatus::NOT_SERVING)
    );
    let ended = watch.recv().await.unwrap_err();
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    // The watch does not hold the shutdown for its grace period.
    serving.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(health.status("echo.Echo"), Some(ServingStatus::NOT_SERVING));
}

/// One reflection request on `stream`, and its answer.
async fn ask(
    stream: &mut rgrpc::client::BidiStreamingCall<
        ServerReflectionRequest,
        rgrpc::reflection::v1::ServerReflectionResponse,
    >,
    request: Option<MessageRequest>,
) -> MessageResponse {
    let request = ServerReflectionRequest {
        host: "reflected".into(),
        message_request: request,
        ..Default::default()
    };
    stream.send(&request).await.unwrap();
    let response = stream.recv().await.unwrap().expect("a response");
    assert_eq!(response.valid_host, "reflected");
    assert_eq!(response.original_request.as_ref(), Some(&request));
    response.message_response.expect("an answer")
}

fn file_names(response: &MessageResponse) -> Vec<String> {
    let MessageResponse::FileDescriptorResponse(files) = response else {
        panic!("not files: {response:?}");
    };
    files
        .file_descriptor_proto
        .iter()
        .map(|file| FileDescriptorProto::decode(file).unwrap().name().to_owned())
        .collect()
}

fn error_code(response: &MessageResponse) -> Code {
    let MessageResponse::ErrorResponse(error) = response else {
        panic!("not an error: {response:?}");
    };
    Code::from_i32(error.error_code)
}

#[tokio::test]
async fn reflection_describes_the_services_their_files_and_their_imports() {
    let health = HealthReporter::new();
    // Added after reflection: described all the same.
    let builder = Server::builder().add_service(PingerServer::new(Silent));
    let (address, _stop, _serving) = serve(builder, &health).await;
    let client = ServerReflectionClient::new(Channel::builder(&address).unwrap().connect_lazy());
    let mut stream = client.server_reflection_info().await.unwrap();

    let listed = ask(
        &mut stream,
        Some(MessageRequest::ListServices(String::new())),
    )
    .await;
    let MessageResponse::ListServicesResponse(listed) = listed else {
        panic!("{listed:?}");
    };
    let names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "coverage.annotated.Pinger",
            "echo.Echo",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );

    // Every kind of symbol, nested ones included, finds its file, which
    // comes first, with every file it imports after it.
    for symbol in [
        "echo.Echo",
        "echo.Echo.EchoMessage",
        "echo.EchoRequest",
        "echo.EchoRequest.message",
    ] {
        let files = ask(
            &mut stream,
            Some(MessageRequest::FileContainingSymbol(symbol.into())),
        )
        .await;
        assert_eq!(file_names(&files), ["echo.proto"], "{symbol}");
    }
    for symbol in [
        "grpc.health.v1.HealthCheckResponse.ServingStatus",
        "grpc.health.v1.HealthCheckResponse.SERVING",
    ] {
        let files = ask(
            &mut stream,
            Some(MessageRequest::FileContainingSymbol(symbol.into())),
        )
        .await;
        assert_eq!(
            file_names(&files),
            ["grpc/health/v1/health.proto"],
            "{symbol}"
        );
    }
    let files = ask(
        &mut stream,
        Some(MessageRequest::FileByFilename(
            "coverage/annotated.proto".into(),
        )),
    )
    .await;
    assert_eq!(
        file_names(&files),
        [
            "coverage/annotated.proto",
            "google/protobuf/descriptor.proto",
            "coverage/annotations.proto",
        ]
    );
    // The bytes are the generated code's, custom options and all.
    let MessageResponse::FileDescriptorResponse(sent) = &files else {
        unreachable!()
    };
    assert_eq!(
        sent.file_descriptor_proto[0],
        rgrpc_tests::pb::coverage::annotated::FILE_COVERAGE_ANNOTATED_PROTO.encoded()
    );

    // Extensions: annotations.proto extends descriptor.proto's options.
    let extension = ExtensionRequest {
        containing_type: "google.protobuf.MethodOptions".into(),
        extension_number: 50003,
        ..Default::default()
    };
    let files = ask(
        &mut stream,
        Some(MessageRequest::FileContainingExtension(extension)),
    )
    .await;
    assert_eq!(file_names(&files)[0], "coverage/annotations.proto");
    let numbers = ask(
        &mut stream,
        Some(MessageRequest::AllExtensionNumbersOfType(
            "google.protobuf.FileOptions".into(),
        )),
    )
    .await;
    let MessageResponse::AllExtensionNumbersResponse(numbers) = numbers else {
        panic!("{numbers:?}");
    };
    assert_eq!(numbers.base_type_name, "google.protobuf.FileOptions");
    assert_eq!(numbers.extension_number, [50001]);
    let numbers = ask(
        &mut stream,
        Some(MessageRequest::AllExtensionNumbersOfType(
            "echo.EchoRequest".into(),
        )),
    )
    .await;
    assert!(
        matches!(&numbers, MessageResponse::AllExtensionNumbersResponse(n) if n.extension_number.is_empty()),
        "{numbers:?}"
    );

    // What is not there, or not asked, is an error in the stream, which goes on.
    for request in [
        MessageRequest::FileContainingSymbol("no.Such".into()),
        MessageRequest::FileContainingSymbol(String::new()),
        MessageRequest::FileByFilename("no/such.proto".into()),
        MessageRequest::AllExtensionNumbersOfType("no.Such".into()),
        MessageRequest::FileContainingExtension(ExtensionRequest {
            containing_type: "google.protobuf.MethodOptions".into(),
            extension_number: 1,
            ..Default::default()
        }),
    ] {
        let answer = ask(&mut stream, Some(request.clone())).await;
        assert_eq!(error_code(&answer), Code::NotFound, "{request:?}");
    }
    let answer = ask(&mut stream, None).await;
    assert_eq!(error_code(&answer), Code::InvalidArgument);
    let files = ask(
        &mut stream,
        Some(MessageRequest::FileContainingSymbol("echo.Echo".into())),
    )
    .await;
    assert_eq!(file_names(&files), ["echo.proto"]);
    stream.close_send().await.unwrap();
    assert_eq!(stream.recv().await.unwrap(), None);
}

#[tokio::test]
async fn v1alpha_answers_as_v1_does_and_a_list_limits_what_is_described() {
    let server = Server::builder()
        .add_service(EchoServer::new(Echoing))
        .add_service(PingerServer::new(Silent))
        .add_service(Reflection::new().services(["echo.Echo"]))
        .build();
    let client = v1alpha::ServerReflectionClient::new(Channel::in_memory(&server).connect_lazy());
    let mut stream = client.server_reflection_info().await.unwrap();
    let request = |message_request| v1alpha::ServerReflectionRequest {
        message_request: Some(message_request),
        ..Default::default()
    };
    use v1alpha::server_reflection_request::MessageRequest as Alpha;
    use v1alpha::server_reflection_response::MessageResponse as AlphaResponse;

    stream
        .send(&request(Alpha::ListServices(String::new())))
        .await
        .unwrap();
    let listed = stream.recv().await.unwrap().unwrap().message_response;
    let Some(AlphaResponse::ListServicesResponse(listed)) = listed else {
        panic!("{listed:?}");
    };
    assert_eq!(listed.service.len(), 1);
    assert_eq!(listed.service[0].name, "echo.Echo");

    stream
        .send(&request(Alpha::FileContainingSymbol(
            "coverage.annotated.Pinger".into(),
        )))
        .await
        .unwrap();
    let answer = stream.recv().await.unwrap().unwrap().message_response;
    let Some(AlphaResponse::ErrorResponse(error)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(error.error_code, Code::NotFound.as_i32());
}

/// `discovery.py` with its arguments, its output piped.
fn python(args: &[&str]) -> Command {
    let mut command = rgrpc_tests::python::script("discovery.py", args);
    command.stdout(Stdio::piped());
    command
}

/// The next line the Python process prints, read off the runtime's threads.
async fn line(lines: &mut Option<Lines<BufReader<ChildStdout>>>) -> String {
    let mut taken = lines.take().expect("lines");
    let (line, taken) = tokio::task::spawn_blocking(move || {
        let line = taken.next().map(|line| line.expect("a line"));
        (line, taken)
    })
    .await
    .unwrap();
    *lines = Some(taken);
    line.unwrap_or_default()
}

#[tokio::test]
async fn grpcio_health_checking_sees_the_statuses_and_their_changes() {
    let health = HealthReporter::new();
    let (address, _stop, _serving) = serve(Server::builder(), &health).await;
    let port = address.rsplit(':').next().unwrap().to_owned();
    let mut child = Killed(python(&["health", "--port", &port]).spawn().unwrap());
    let mut lines = Some(BufReader::new(child.0.stdout.take().unwrap()).lines());

    assert_eq!(line(&mut lines).await, "watching echo.Echo");
    health.set_status("echo.Echo", ServingStatus::NOT_SERVING);
    assert_eq!(line(&mut lines).await, "watching later.Service");
    health.set_status("later.Service", ServingStatus::SERVING);
    assert_eq!(line(&mut lines).await, "ok");
    assert!(child.0.wait().unwrap().success());
}

#[tokio::test]
async fn grpcio_reflection_builds_a_request_from_reflection_alone_and_calls() {
    let health = HealthReporter::new();
    let (address, _stop, _serving) = serve(Server::builder(), &health).await;
    let port = address.rsplit(':').next().unwrap().to_owned();
    let mut child = Killed(python(&["reflect", "--port", &port]).spawn().unwrap());
    let mut lines = Some(BufReader::new(child.0.stdout.take().unwrap()).lines());
    assert_eq!(line(&mut lines).await, "ok");
    assert!(child.0.wait().unwrap().success());
}
