//! Generates the benchmark messages twice from the same .proto files: with
//! rgrpc (into `rgrpc/`) and with prost-build (into `prost/`). prost-build is
//! given descriptors from the embedded parser, so no protoc is needed.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = [root.join("bench/v1/bench.proto"), root.join("echo.proto")];
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    let generated =
        rgrpc_build::generate_from_protos(&files, &[&root], &rgrpc_build::Options::default())
            .unwrap_or_else(|err| panic!("rgrpc: {err}"));
    rgrpc_build::write_files(&out.join("rgrpc"), &generated)
        .unwrap_or_else(|err| panic!("rgrpc: {err}"));

    let (descriptors, _) =
        rgrpc_build::parse_protos(&files, &[&root]).unwrap_or_else(|err| panic!("parse: {err}"));
    let prost_out = out.join("prost");
    std::fs::create_dir_all(&prost_out).expect("prost output dir");
    prost_build::Config::new()
        // bytes::Bytes on both sides, so both can decode without copying.
        .bytes(["."])
        .out_dir(&prost_out)
        .compile_fds(prost_types::FileDescriptorSet { file: descriptors })
        .unwrap_or_else(|err| panic!("prost-build: {err}"));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}
