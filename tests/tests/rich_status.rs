//! Rich error statuses (`grpc-status-details-bin`) against Python grpcio, in
//! both directions, with `tests/interop/python/rich_status.py` run by the venv
//! that `scripts/setup.sh` makes.

use std::process::Command;

use rgrpc::wkt::{Any, StringValue};
use rgrpc::{Channel, Code, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};

/// `rich_status.py` with its arguments.
fn python(args: &[&str]) -> Command {
    rgrpc_tests::python::script("rich_status.py", args)
}

fn string_value(text: &str) -> StringValue {
    StringValue {
        value: text.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_rgrpc_client_reads_the_details_a_grpcio_server_sends() {
    let (_server, port) = rgrpc_tests::python::serve("rich_status.py", &["serve", "--port", "0"]);

    let channel = Channel::builder(&format!("127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let err = EchoClient::new(channel)
        .echo_message(EchoRequest {
            message: "hello".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(err.message(), "rich status from python");
    let details = err.details().expect("the details decode");
    assert_eq!(details.len(), 1);
    assert_eq!(
        details[0].unpack(),
        Ok(Some(string_value("detail from python")))
    );
}

struct RichFailure;

impl Echo for RichFailure {
    async fn echo_message(
        &self,
        _: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Err(
            Status::new(Code::FailedPrecondition, "rich status from rust")
                .with_details([Any::pack(&string_value("detail from rust"))]),
        )
    }
}

#[tokio::test]
async fn a_grpcio_client_reads_the_details_an_rgrpc_server_sends() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = Server::builder()
        .add_service(EchoServer::new(RichFailure))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    // The server runs on this task's runtime while the client runs apart.
    let output = tokio::task::spawn_blocking(move || python(&["call", "--port", &port]).output())
        .await
        .unwrap()
        .expect("run rich_status.py call");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim() == "ok",
        "rich_status.py call: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
