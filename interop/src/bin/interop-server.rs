//! `interop-server --port N [--use_tls=false]`: serves grpc.testing.TestService
//! on 127.0.0.1 for the gRPC interop tests.

use std::process::ExitCode;

use rgrpc::Server;
use rgrpc_interop::InteropService;
use rgrpc_interop::flags::Flags;
use rgrpc_interop::pb::grpc::testing::TestServiceServer;

#[tokio::main]
async fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args().skip(1), &["port", "use_tls"]) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("interop-server: {message}");
            return ExitCode::from(2);
        }
    };
    let port = match flags.port("port") {
        Ok(port) => port,
        Err(message) => {
            eprintln!("interop-server: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("interop-server: cannot listen on port {port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {port}");
    let server = Server::builder()
        .add_service(TestServiceServer::new(InteropService))
        .build();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server.serve_with_shutdown(listener, shutdown).await;
    ExitCode::SUCCESS
}
