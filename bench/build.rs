//! Generates the benchmark code from the same .proto files with rgrpc (into
//! `rgrpc/`, with serde impls), prost-build and pbjson-build (prost's
//! messages and their serde impls, into `prost/`) and tonic-prost-build
//! (echo.proto, into `tonic/`). The peers are given descriptors from the
//! embedded parser, so no protoc is needed.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = [root.join("bench/v1/bench.proto"), root.join("echo.proto")];
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    let options = rgrpc_build::Options {
        json: true,
        ..Default::default()
    };
    let generated = rgrpc_build::generate_from_protos(&files, &[&root], &options)
        .unwrap_or_else(|err| panic!("rgrpc: {err}"));
    rgrpc_build::write_files(&out.join("rgrpc"), &generated)
        .unwrap_or_else(|err| panic!("rgrpc: {err}"));

    let encoded = |files: &[PathBuf]| {
        rgrpc_build::parse_protos(files, &[&root])
            .unwrap_or_else(|err| panic!("parse: {err}"))
            .0
    };
    let set = |files: &[PathBuf]| {
        prost::Message::decode(encoded(files).as_slice()).expect("a FileDescriptorSet")
    };
    let prost_out = out.join("prost");
    std::fs::create_dir_all(&prost_out).expect("prost output dir");
    prost_build::Config::new()
        // bytes::Bytes on both sides, so both can decode without copying.
        .bytes(["."])
        .out_dir(&prost_out)
        .compile_fds(set(&files))
        .unwrap_or_else(|err| panic!("prost-build: {err}"));
    pbjson_build::Builder::new()
        .register_descriptors(&encoded(&files))
        .and_then(|builder| builder.out_dir(&prost_out).build(&[".bench", ".echo"]))
        .unwrap_or_else(|err| panic!("pbjson-build: {err}"));
    // tonic's messages and services for echo.proto, from the same descriptors.
    let tonic_out = out.join("tonic");
    std::fs::create_dir_all(&tonic_out).expect("tonic output dir");
    tonic_prost_build::configure()
        .out_dir(&tonic_out)
        .compile_fds(set(&[root.join("echo.proto")]))
        .unwrap_or_else(|err| panic!("tonic-prost-build: {err}"));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}
