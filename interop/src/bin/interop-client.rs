//! `interop-client --server_host H --server_port P --test_case NAME
//! [--use_tls=true [--ca_file F] [--server_host_override NAME]]`: runs one
//! gRPC interop test case; exits 0 when it passes. Over TLS, the server's
//! certificate is checked against the authorities of `--ca_file` (PEM), or
//! the system's, and must name `--server_host_override` if given, else the
//! host.

use std::process::ExitCode;

use rgrpc::Channel;
use rgrpc::tls::{ClientTls, Roots};
use rgrpc_interop::cases;
use rgrpc_interop::flags::Flags;

#[tokio::main]
async fn main() -> ExitCode {
    let known = [
        "server_host",
        "server_port",
        "test_case",
        "use_tls",
        "ca_file",
        "server_host_override",
    ];
    let (case, channel) = match Flags::parse(std::env::args().skip(1), &known).and_then(|flags| {
        let case = flags.get("test_case", "large_unary").to_owned();
        if !cases::ALL.contains(&case.as_str()) {
            return Err(format!(
                "unknown test case {case:?}; supported: {}",
                cases::ALL.join(", ")
            ));
        }
        Ok((case, channel(&flags)?))
    }) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("interop-client: {message}");
            return ExitCode::from(2);
        }
    };
    match cases::run(&case, channel).await {
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

/// The channel the flags describe.
fn channel(flags: &Flags) -> Result<Channel, String> {
    let host = flags.get("server_host", "localhost");
    let port = flags.port("server_port")?;
    if !flags.enabled("use_tls")? {
        let builder = Channel::builder(&format!("{host}:{port}")).map_err(|s| s.to_string())?;
        return Ok(builder.connect_lazy());
    }
    let mut tls = ClientTls::new();
    let ca_file = flags.get("ca_file", "");
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file).map_err(|err| format!("--ca_file={ca_file}: {err}"))?;
        tls = tls.roots(Roots::from_pem(pem).map_err(|err| err.to_string())?);
    }
    let name = flags.get("server_host_override", "");
    if !name.is_empty() {
        tls = tls.server_name(name);
    }
    let builder = Channel::builder(&format!("https://{host}:{port}")).map_err(|s| s.to_string())?;
    Ok(builder
        .tls(tls)
        .map_err(|err| err.to_string())?
        .connect_lazy())
}
