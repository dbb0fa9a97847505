//! `interop-server --port N [--use_tls=true --tls_cert_file F --tls_key_file F]`:
//! serves grpc.testing.TestService on 127.0.0.1 for the gRPC interop tests,
//! in plaintext or over TLS with the certificate chain and key given (PEM),
//! with health checking and server reflection (v1 and v1alpha), so that any
//! reflection client can explore it.

use std::process::ExitCode;

use rgrpc::Server;
use rgrpc::health::HealthReporter;
use rgrpc::reflection::Reflection;
use rgrpc::tls::{Identity, ServerTls};
use rgrpc_interop::InteropService;
use rgrpc_interop::flags::Flags;
use rgrpc_interop::pb::grpc::testing::TestServiceServer;

#[tokio::main]
async fn main() -> ExitCode {
    let known = ["port", "use_tls", "tls_cert_file", "tls_key_file"];
    let (port, tls) = match Flags::parse(std::env::args().skip(1), &known).and_then(|flags| {
        let tls = match flags.enabled("use_tls")? {
            true => Some(server_tls(&flags)?),
            false => None,
        };
        Ok((flags.port("port")?, tls))
    }) {
        Ok(settings) => settings,
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
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = match builder.tls(tls) {
            Ok(builder) => builder,
            Err(err) => {
                eprintln!("interop-server: {err}");
                return ExitCode::from(2);
            }
        };
    }
    println!("listening on {port}");
    let health = HealthReporter::new();
    let server = builder
        .add_service(TestServiceServer::new(InteropService))
        .add_service(health.service())
        .add_service(Reflection::new())
        .build();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match server.serve_with_shutdown(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("interop-server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The TLS of `--tls_cert_file` and `--tls_key_file`.
fn server_tls(flags: &Flags) -> Result<ServerTls, String> {
    let read = |name: &str| {
        let path = flags.get(name, "");
        if path.is_empty() {
            return Err(format!("--use_tls=true needs --{name}"));
        }
        std::fs::read(path).map_err(|err| format!("--{name}={path}: {err}"))
    };
    let identity = Identity::from_pem(read("tls_cert_file")?, read("tls_key_file")?)
        .map_err(|err| err.to_string())?;
    Ok(ServerTls::new(identity))
}
