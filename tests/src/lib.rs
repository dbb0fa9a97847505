//! The code generated for the project's own .proto files, compiled; the
//! tests under `tests/` exercise it.

use std::path::PathBuf;

pub mod counting;
pub mod daemon;
pub mod pki;
pub mod python;
pub mod raw;

/// Everything generated for proto/, one module per package.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}

/// A few of the files of proto/ generated again with the generator options
/// that change the code: [`OPTIONS`].
pub mod pb_options {
    include!(concat!(env!("OUT_DIR"), "/options/mod.rs"));
}

/// tests/editions/proto/ in editions 2023 and 2024, as grpcio-tools'
/// protoc and the plugin generate it (the committed tests/editions/generated/,
/// which `protoc-gen-rgrpc`'s `editions` test keeps current).
pub mod pb_editions {
    include!("../editions/generated/mod.rs");
}

/// The plugin parameter that [`pb_options`] was generated with, and its files.
pub const OPTIONS: (&str, &[&str]) = include!(concat!(env!("OUT_DIR"), "/options.rs"));

/// The .proto files under proto/, relative to it, in the order they were generated.
pub const PROTO_FILES: &[&str] = include!(concat!(env!("OUT_DIR"), "/proto_files.rs"));

/// The proto/ directory.
pub fn proto_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../proto"))
}

/// An echo request carrying `message`.
pub fn request(message: &str) -> pb::echo::EchoRequest {
    pb::echo::EchoRequest {
        message: message.into(),
        ..Default::default()
    }
}

/// An echo response carrying `message`.
pub fn response(message: impl Into<String>) -> pb::echo::EchoResponse {
    pb::echo::EchoResponse {
        message: message.into(),
        ..Default::default()
    }
}

/// An echo service that answers `EchoMessage` with the request's message,
/// and leaves the streaming methods UNIMPLEMENTED.
pub struct Echoing;

impl pb::echo::Echo for Echoing {
    async fn echo_message(
        &self,
        request: rgrpc::Request<pb::echo::EchoRequest>,
    ) -> Result<rgrpc::Response<pb::echo::EchoResponse>, rgrpc::Status> {
        Ok(rgrpc::Response::new(response(
            request.into_message().message,
        )))
    }
}

/// An [`Echoing`] server on a loopback port: its address, and the switch
/// that stops it (dropping it stops it too).
pub async fn echo_server() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let bound = rgrpc::Server::builder()
        .add_service(pb::echo::EchoServer::new(Echoing))
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = bound.local_addr().expect("the bound address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// A loopback address nobody listens on.
pub async fn closed_port() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    listener.local_addr().expect("the bound address")
}
