//! `interop-client --server_host H --server_port P --test_case NAME
//! [--use_tls=false]`: runs one gRPC interop test case; exits 0 when it passes.

use std::process::ExitCode;

use rgrpc::Channel;
use rgrpc_interop::cases;
use rgrpc_interop::flags::Flags;

#[tokio::main]
async fn main() -> ExitCode {
    let known = [
        "server_host",
        "server_port",
        "test_case",
        "use_tls",
        "server_host_override",
    ];
    let flags = match Flags::parse(std::env::args().skip(1), &known) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("interop-client: {message}");
            return ExitCode::from(2);
        }
    };
    let port = match flags.port("server_port") {
        Ok(port) => port,
        Err(message) => {
            eprintln!("interop-client: {message}");
            return ExitCode::from(2);
        }
    };
    let case = flags.get("test_case", "large_unary");
    if !cases::ALL.contains(&case) {
        eprintln!(
            "interop-client: unknown test case {case:?}; supported: {}",
            cases::ALL.join(", ")
        );
        return ExitCode::from(2);
    }
    let host = flags.get("server_host", "localhost");
    let channel = match Channel::builder(&format!("{host}:{port}")) {
        Ok(builder) => builder.connect_lazy(),
        Err(status) => {
            eprintln!("interop-client: {status}");
            return ExitCode::from(2);
        }
    };
    match cases::run(case, channel).await {
        Ok(()) => {
            println!("{case}: passed");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("{case}: FAILED: {reason}");
            ExitCode::FAILURE
        }
    }
}
