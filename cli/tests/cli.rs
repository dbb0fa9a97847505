//! `rgrpc-cli` against rgrpc's own server, and against Python grpcio's
//! reflection server (`tests/interop/python/discovery.py serve`, v1alpha
//! alone).

use std::process::Output;

use rgrpc::Server;
use rgrpc::health::HealthReporter;
use rgrpc::reflection::Reflection;
use rgrpc_tests::Echoing;
use rgrpc_tests::pb::coverage::v3::FILE_COVERAGE_PROTO3_PROTO;
use rgrpc_tests::pb::echo::EchoServer;
use rgrpc_tests::python::serve;

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
