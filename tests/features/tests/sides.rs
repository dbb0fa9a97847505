//! What each combination of rgrpc's features gives generated code.
//!
//! `cargo test -p rgrpc-features` builds rgrpc without default features:
//! messages alone. `--features client` and `--features server` add one side.

use rgrpc::Message;
use rgrpc_features::pb::echo::EchoRequest;
use rgrpc_features::pb::user::v1::{Role, User};

#[test]
fn messages_encode_and_decode_whatever_the_features() {
    let user = User {
        id: "7".into(),
        name: "Ada".into(),
        role: Role::ADMIN,
        created_at: Some(rgrpc::wkt::Timestamp {
            seconds: 1_700_000_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(User::decode(&user.encode_to_vec()), Ok(user));
    let request = EchoRequest {
        message: "hi".into(),
        ..Default::default()
    };
    assert_eq!(EchoRequest::decode(&request.encode_to_vec()), Ok(request));
    // Status and Metadata are part of the protobuf layer too.
    let status = rgrpc::Status::not_found("no user 7");
    assert_eq!(status.code(), rgrpc::Code::NotFound);
}

#[test]
fn descriptors_link_to_imports_generated_elsewhere_or_not_at_all() {
    use rgrpc_features::pb::coverage::annotated::FILE_COVERAGE_ANNOTATED_PROTO;

    // annotations.proto was not generated: the module tree holds its
    // descriptor; descriptor.proto's comes with rgrpc.
    let names: Vec<&str> = FILE_COVERAGE_ANNOTATED_PROTO
        .with_dependencies()
        .iter()
        .map(|file| file.name())
        .collect();
    assert_eq!(
        names,
        [
            "google/protobuf/descriptor.proto",
            "coverage/annotations.proto",
            "coverage/annotated.proto"
        ]
    );
    let decoded = FILE_COVERAGE_ANNOTATED_PROTO.decode().expect("decodes");
    assert_eq!(decoded.service[0].name(), "Pinger");
    assert_eq!(decoded.dependency, ["coverage/annotations.proto"]);
}

#[cfg(feature = "server")]
#[test]
fn the_server_side_serves_a_generated_service() {
    use rgrpc_features::pb::echo::{Echo, EchoServer};

    struct Silent;
    impl Echo for Silent {}

    let server = rgrpc::Server::builder()
        .add_service(EchoServer::new(Silent))
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let serving = tokio::spawn(server.serve_with_shutdown(listener, async {}));
        serving
            .await
            .expect("the server stops when asked")
            .expect("the listener was bound");
        assert!(address.port() > 0);
    });
}

#[cfg(feature = "client")]
#[tokio::test]
async fn the_client_side_calls_and_reports_an_unreachable_server() {
    use rgrpc_features::pb::echo::EchoClient;

    // Port 1 on loopback: nothing listens there.
    let channel = rgrpc::Channel::builder("127.0.0.1:1")
        .expect("valid target")
        .connect_lazy();
    let err = EchoClient::new(channel)
        .echo_message(EchoRequest::default())
        .await
        .expect_err("nothing listens on port 1");
    assert_eq!(err.code(), rgrpc::Code::Unavailable);
}

/// Without the `tls` feature, an `https://` target says what it needs.
#[cfg(feature = "client")]
#[test]
fn an_https_target_without_tls_says_why_it_is_refused() {
    let err = rgrpc::Channel::builder("https://example.com:443")
        .err()
        .expect("no TLS, no https://");
    assert_eq!(err.code(), rgrpc::Code::InvalidArgument);
    assert!(err.message().contains("`tls` feature"), "{err:?}");
}

#[test]
fn generated_code_has_exactly_the_sides_built() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/echo/echo.rs"))
        .expect("the generated echo.rs");
    assert_eq!(
        generated.contains("pub struct EchoServer"),
        cfg!(feature = "server")
    );
    assert_eq!(
        generated.contains("pub struct EchoClient"),
        cfg!(feature = "client")
    );
    assert_eq!(
        generated.contains("pub mod echo_service"),
        cfg!(any(feature = "client", feature = "server"))
    );
}
