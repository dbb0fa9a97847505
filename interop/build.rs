//! Generates grpc.testing from the official protos (Debian package
//! grpc-proto, installed by scripts/setup.sh) with the embedded parser.

use std::path::Path;

const ROOT: &str = "/usr/share/grpc-proto";

fn main() {
    let files = [
        "grpc/testing/test.proto",
        "grpc/testing/messages.proto",
        "grpc/testing/empty.proto",
    ]
    .map(|file| Path::new(ROOT).join(file));
    if !files[0].exists() {
        panic!(
            "{} is missing: run scripts/setup.sh (Debian package grpc-proto)",
            files[0].display()
        );
    }
    if let Err(err) = rgrpc_build::compile_protos(&files, &[ROOT]) {
        panic!("generating grpc.testing: {err}");
    }
}
