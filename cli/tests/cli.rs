//! `rgrpc-cli` against rgrpc's own server, and against Python grpcio's
//! reflection server (`tests/interop/python/discovery.py serve`, v1alpha
//! alone).

use std::process::Output;

use rgrpc::health::HealthReporter;
use rgrpc::reflection::Reflection;
use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Request, Response, Server, Status};
use rgrpc_tests::pb::coverage::v3::FILE_COVERAGE_PROTO3_PROTO;
use rgrpc_tests::pb::echo::{Echo, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::python::serve;
use rgrpc_tests::{Echoing, response};

/// Runs the command line with `args`, off the runtime's threads.
async fn cli(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rgrpc-cli"))
            .args(args)
            .output()
            .expect("rgrpc-cli runs")
    })
    .await
    .unwrap()
}

/// What the command line printed, having succeeded.
async fn printed(args: &[&str]) -> String {
    let output = cli(args).await;
    assert!(
        output.status.success(),
        "rgrpc-cli {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// An rgrpc server on a loopback port, with reflection unless `reflection`
/// is false; its address.
async fn rgrpc_server(reflection: bool) -> String {
    let health = HealthReporter::new();
    let mut builder = Server::builder()
        .add_service(EchoServer::new(Echoing))
        .add_service(health.service());
    if reflection {
        builder = builder.add_service(Reflection::new().file(&FILE_COVERAGE_PROTO3_PROTO));
    }
    let bound = builder.build().bind("127.0.0.1:0").await.unwrap();
    let address = bound.local_addr().unwrap().to_string();
    tokio::spawn(bound.serve());
    address
}

const ECHO: &str = "\
echo.Echo is a service:
service Echo {
  rpc EchoMessage ( .echo.EchoRequest ) returns ( .echo.EchoResponse );
  rpc EchoServerStreaming ( .echo.EchoRequest ) returns ( stream .echo.EchoResponse );
  rpc EchoClientStreaming ( stream .echo.EchoRequest ) returns ( .echo.EchoResponse );
  rpc EchoBidirectionalStreaming ( stream .echo.EchoRequest ) returns ( stream .echo.EchoResponse );
}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_describes_an_rgrpc_server() {
    let address = rgrpc_server(true).await;
    assert_eq!(
        printed(&[&address, "list"]).await,
        "echo.Echo\ngrpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\n\
         grpc.reflection.v1alpha.ServerReflection\n"
    );
    assert_eq!(
        printed(&[&address, "list", "grpc.health.v1.Health"]).await,
        "grpc.health.v1.Health.Check\ngrpc.health.v1.Health.Watch\n"
    );
    assert_eq!(printed(&[&address, "describe", "echo.Echo"]).await, ECHO);
    assert_eq!(
        printed(&[&address, "describe", "echo.Echo.EchoClientStreaming"]).await,
        "echo.Echo.EchoClientStreaming is a method:\n\
         rpc EchoClientStreaming ( stream .echo.EchoRequest ) returns ( .echo.EchoResponse );\n"
    );
    assert_eq!(
        printed(&[&address, "describe", "echo.EchoRequest"]).await,
        "echo.EchoRequest is a message:\nmessage EchoRequest {\n  string message = 1;\n}\n"
    );
    assert_eq!(
        printed(&[&address, "describe", "grpc.health.v1.HealthCheckResponse"]).await,
        "\
grpc.health.v1.HealthCheckResponse is a message:
message HealthCheckResponse {
  .grpc.health.v1.HealthCheckResponse.ServingStatus status = 1;
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
}
"
    );
    // A file described besides the services: nesting, oneofs, maps, labels.
    let composite = printed(&[&address, "describe", "coverage.v3.Composite"]).await;
    for line in [
        "coverage.v3.Composite is a message:\nmessage Composite {\n",
        "\n  .coverage.v3.Composite.Inner inner = 1;\n",
        "\n  repeated .coverage.v3.Composite.Inner inners = 2;\n",
        "\n  oneof payload {\n    string text = 4;\n    int64 number = 5;\n",
        "\n  map<string, int32> counts = 10;\n",
        "\n  map<int64, .coverage.v3.Composite.Inner> inner_by_id = 11;\n",
        "\n  enum Mode {\n    MODE_OFF = 0;\n    MODE_ON = 1;\n  }\n",
        "\n  message Inner {\n    int32 value = 1;\n    string label = 2;\n  }\n}\n",
    ] {
        assert!(composite.contains(line), "{line:?} not in:\n{composite}");
    }
    assert!(
        !composite.contains("Entry"),
        "map entries are maps: {composite}"
    );
    assert_eq!(
        printed(&[&address, "describe", "coverage.v3.Scalars.o_int32"]).await,
        "coverage.v3.Scalars.o_int32 is a field:\noptional int32 o_int32 = 21;\n"
    );
    assert_eq!(
        printed(&[&address, "describe", "coverage.v3.Composite.MODE_ON"]).await,
        "coverage.v3.Composite.MODE_ON is an enum value:\nMODE_ON = 1;\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_there_is_a_clear_error() {
    let address = rgrpc_server(true).await;
    let output = cli(&[&address, "describe", "no.Such"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "rgrpc-cli: symbol not found: no.Such\n"
    );
    let output = cli(&[&address, "list", "echo.EchoRequest"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "rgrpc-cli: service not found: echo.EchoRequest\n"
    );

    let without = rgrpc_server(false).await;
    let output = cli(&[&without, "list"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("rgrpc-cli: the server does not support reflection"),
        "{stderr}"
    );

    let output = cli(&[&address, "frobnicate"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("rgrpc-cli: unknown command frobnicate")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_describes_a_grpcio_server() {
    let (_server, port) = serve("discovery.py", &["serve", "--port", "0"]);
    let address = format!("127.0.0.1:{port}");

    assert_eq!(
        printed(&[&address, "list"]).await,
        "echo.Echo\ngrpc.health.v1.Health\ngrpc.reflection.v1alpha.ServerReflection\n"
    );
    assert_eq!(printed(&[&address, "describe", "echo.Echo"]).await, ECHO);
    assert_eq!(
        printed(&[&address, "describe", "echo.EchoResponse"]).await,
        "echo.EchoResponse is a message:\nmessage EchoResponse {\n  string message = 1;\n}\n"
    );
    // grpcio finds services, messages and enums by name; a method is found
    // through its service.
    assert_eq!(
        printed(&[&address, "describe", "grpc.health.v1.Health.Watch"]).await,
        "grpc.health.v1.Health.Watch is a method:\n\
         rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );\n"
    );
}

/// Echo in all four shapes: the unary method answers the request's `x-tag`
/// metadata for the message "tag" (fails for "fail", and takes five
/// seconds for "slow"), server streaming
/// answers each word, client streaming joins the messages with `+`, and
/// bidi answers each message in capitals.
struct Shapes;

impl Echo for Shapes {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        match request.message().message.as_str() {
            "tag" => Ok(Response::new(response(
                request.metadata().get("x-tag").unwrap_or("none"),
            ))),
            "fail" => Err(Status::not_found("no such thing")),
            "slow" => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                Ok(Response::new(response("late")))
            }
            other => Ok(Response::new(response(other))),
        }
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        for word in request.message().message.split(' ') {
            responses.send(&response(word)).await?;
        }
        Ok(())
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut texts = Vec::new();
        while let Some(request) = requests.recv().await? {
            texts.push(request.message);
        }
        Ok(Response::new(response(texts.join("+"))))
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

/// A [`Shapes`] server with reflection; its address.
async fn shapes_server() -> String {
    let bound = Server::builder()
        .add_service(EchoServer::new(Shapes))
        .add_service(Reflection::new())
        .build()
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let address = bound.local_addr().unwrap().to_string();
    tokio::spawn(bound.serve());
    address
}

/// The messages of `responses`, printed as pretty JSON one after another.
fn messages(printed: &str) -> Vec<String> {
    serde_json::Deserializer::from_str(printed)
        .into_iter::<serde_json::Value>()
        .map(|value| value.unwrap()["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_methods_of_each_shape_with_json() {
    let address = shapes_server().await;
    assert_eq!(
        printed(&[
            &address,
            "call",
            "echo.Echo/EchoMessage",
            "-d",
            r#"{"message": "hi"}"#
        ])
        .await,
        "{\n  \"message\": \"hi\"\n}\n"
    );
    // The .proto field name is read too, and metadata goes with -H.
    let tagged = printed(&[
        &address,
        "call",
        "echo.Echo.EchoMessage",
        "-H",
        "X-Tag: seven",
        "-d",
        r#"{"message": "tag"}"#,
    ])
    .await;
    assert_eq!(messages(&tagged), ["seven"]);
    // Without -d, a call of one request sends {}; --emit-defaults prints
    // the empty message back.
    assert_eq!(
        printed(&[&address, "call", "echo.Echo/EchoMessage"]).await,
        "{}\n"
    );
    assert_eq!(
        printed(&[&address, "--emit-defaults", "call", "echo.Echo/EchoMessage"]).await,
        "{\n  \"message\": \"\"\n}\n"
    );
    let words = printed(&[
        &address,
        "call",
        "echo.Echo/EchoServerStreaming",
        "-d",
        r#"{"message": "a b c"}"#,
    ])
    .await;
    assert_eq!(messages(&words), ["a", "b", "c"]);
    let joined = printed(&[
        &address,
        "call",
        "echo.Echo/EchoClientStreaming",
        "-d",
        r#"{"message": "x"} {"message": "y"}{"message":"z"}"#,
    ])
    .await;
    assert_eq!(messages(&joined), ["x+y+z"]);
    // Requests from a file.
    let file = std::env::temp_dir().join(format!("rgrpc-cli-{}.json", std::process::id()));
    std::fs::write(&file, "{\"message\": \"p\"}\n{\"message\": \"q\"}\n").unwrap();
    let data = format!("@{}", file.display());
    let shouted = printed(&[
        &address,
        "call",
        "echo.Echo/EchoBidirectionalStreaming",
        "-d",
        &data,
    ])
    .await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(messages(&shouted), ["P", "Q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_fails_says_why() {
    let address = shapes_server().await;
    let failure = |output: Output| {
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8(output.stderr).unwrap()
    };
    let stderr = failure(
        cli(&[
            &address,
            "call",
            "echo.Echo/EchoMessage",
            "-d",
            r#"{"message": "fail"}"#,
        ])
        .await,
    );
    assert_eq!(stderr, "rgrpc-cli: NOT_FOUND: no such thing\n");
    let stderr = failure(
        cli(&[
            &address,
            "call",
            "echo.Echo/EchoMessage",
            "-d",
            r#"{"mesage": "hi"}"#,
        ])
        .await,
    );
    assert!(
        stderr.starts_with(
            "rgrpc-cli: request 1 (echo.EchoRequest): echo.EchoRequest has no field \"mesage\""
        ),
        "{stderr}"
    );
    let stderr = failure(
        cli(&[
            &address,
            "call",
            "echo.Echo/EchoMessage",
            "-d",
            r#"{"message": 5}"#,
        ])
        .await,
    );
    assert!(
        stderr.contains("message: invalid type: integer `5`"),
        "{stderr}"
    );
    let stderr = failure(cli(&[&address, "call", "echo.Echo/EchoMessage", "-d", "{} {}"]).await);
    assert_eq!(
        stderr,
        "rgrpc-cli: echo.Echo/EchoMessage takes one request; -d gave 2\n"
    );
    let stderr = failure(cli(&[&address, "call", "echo.Echo/Nothing"]).await);
    assert_eq!(stderr, "rgrpc-cli: method not found: echo.Echo/Nothing\n");
    let output = cli(&[&address, "call", "Nothing"]).await;
    assert_eq!(output.status.code(), Some(2));
    // --timeout is the call's deadline.
    let stderr = failure(
        cli(&[
            "--timeout",
            "0.3",
            &address,
            "call",
            "echo.Echo/EchoMessage",
            "-d",
            r#"{"message": "slow"}"#,
        ])
        .await,
    );
    assert!(
        stderr.starts_with("rgrpc-cli: DEADLINE_EXCEEDED"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_a_grpcio_server_with_json() {
    let (_server, port) = serve("discovery.py", &["serve", "--port", "0"]);
    let address = format!("127.0.0.1:{port}");
    let echoed = printed(&[
        &address,
        "call",
        "echo.Echo/EchoMessage",
        "-d",
        r#"{"message": "é"}"#,
    ])
    .await;
    assert_eq!(messages(&echoed), ["é"]);
    let health = printed(&[
        &address,
        "--emit-defaults",
        "call",
        "grpc.health.v1.Health/Check",
    ])
    .await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "SERVING");
}
