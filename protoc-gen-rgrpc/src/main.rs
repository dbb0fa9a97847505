//! `protoc-gen-rgrpc`: a protoc plugin. Reads a `CodeGeneratorRequest` on
//! stdin, writes a `CodeGeneratorResponse` on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;

const HELP: &str = "\
protoc-gen-rgrpc: generates Rust messages and gRPC services for the rgrpc runtime.

Run by protoc, not by hand:
    protoc --rgrpc_out=OUT_DIR [--rgrpc_opt=OPTIONS] FILE.proto...

Options (comma-separated):
    paths=import|source_relative      where output files go (default: import)
    well_known_types=runtime|generate google.protobuf types and google.rpc.Status from
                                      ::rgrpc::wkt and ::rgrpc::rpc (default) or generated
    services=all|client|server|none   which sides of each service to generate, to match
                                      rgrpc's features (default: all; none: messages only)
    descriptors=true|false            whether each file carries its encoded descriptor, which
                                      server reflection serves (default: true)
    type_attribute=PATH=ATTRIBUTES    Rust attributes for the messages, enums and oneofs PATH
                                      matches (.pkg.Msg, Msg, or . for all); repeatable
    field_attribute=PATH=ATTRIBUTES   the same for fields (.pkg.Msg.field, Msg.field)
    extern_path=.PACKAGE=RUST_PATH    the types of PACKAGE are RUST_PATH's (::other_crate::pb),
                                      not generated; repeatable
    bytes=bytes|vec                   bytes fields as rgrpc::Bytes (default) or Vec<u8>
    map=btree|hash                    map fields as BTreeMap (default) or HashMap

A comma inside a value is written \\, and a backslash \\\\.

Flags:
    -h, --help       print this help
    -V, --version    print the version
";

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        return match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                ExitCode::SUCCESS
            }
            "-V" | "--version" => {
                println!("protoc-gen-rgrpc {}", env!("CARGO_PKG_VERSION"));
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("protoc-gen-rgrpc: unknown argument {arg:?}\n\n{HELP}");
                ExitCode::from(2)
            }
        };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("protoc-gen-rgrpc: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|err| format!("cannot read the request from stdin: {err}"))?;
    CodeGeneratorRequest::decode(input.as_slice()).map_err(|err| {
        format!("stdin is not a CodeGeneratorRequest (this program is run by protoc): {err}")
    })?;
    let response = rgrpc_build::respond(&input);
    std::io::stdout()
        .write_all(&rgrpc_build::encode_response(&response))
        .and_then(|()| std::io::stdout().flush())
        .map_err(|err| format!("cannot write the response to stdout: {err}"))
}
