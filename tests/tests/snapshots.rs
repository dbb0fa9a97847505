//! Snapshots of the code generated for every .proto file in proto/, with the
//! request built by the real protoc; and the embedded parser's output, which
//! the compiled tests use, must be identical.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use prost::Message;
use prost_types::FileDescriptorSet;
use prost_types::compiler::CodeGeneratorRequest;
use rgrpc_build::{GeneratedFile, Options, Paths, generate, generate_from_protos};
use rgrpc_tests::{PROTO_FILES, proto_root};

/// A plugin request as protoc builds it: descriptors with source info, imports included.
fn protoc_request(parameter: &str) -> CodeGeneratorRequest {
    // Tests run in parallel: every call gets its own descriptor set file.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("snapshots-{}-{call}.pb", std::process::id()));
    let status = Command::new("protoc")
        .arg("-I")
        .arg(proto_root())
        .args(["--include_imports", "--include_source_info"])
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(PROTO_FILES)
        .status()
        .expect("protoc runs (scripts/setup.sh installs protobuf-compiler)");
    assert!(status.success(), "protoc failed");
    let set = FileDescriptorSet::decode(std::fs::read(&out).expect("descriptor set").as_slice())
        .expect("decode");
    std::fs::remove_file(&out).ok();
    CodeGeneratorRequest {
        file_to_generate: PROTO_FILES.iter().map(|f| f.to_string()).collect(),
        parameter: Some(parameter.to_owned()),
        proto_file: set.file,
        ..Default::default()
    }
}

fn snapshot(file: &GeneratedFile, name: &str) {
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => file.name.clone(),
    }, {
        insta::assert_snapshot!(name, file.content);
    });
}

#[test]
fn generated_code_matches_the_snapshots() {
    let files = generate(&protoc_request("")).expect("generate");
    assert_eq!(
        files.len(),
        PROTO_FILES.len() + 1,
        "one file per .proto and the module tree"
    );
    for file in &files {
        snapshot(file, &file.name.replace('/', "__"));
    }
}

#[test]
fn source_relative_paths_change_only_the_layout() {
    let import = generate(&protoc_request("paths=import")).expect("generate");
    let relative = generate(&protoc_request("paths=source_relative")).expect("generate");
    let names: Vec<&str> = relative.iter().map(|f| f.name.as_str()).collect();
    let expected: Vec<String> = PROTO_FILES
        .iter()
        .map(|f| f.replace(".proto", ".rs"))
        .chain(["mod.rs".to_owned()])
        .collect();
    assert_eq!(names, expected);
    for (a, b) in import.iter().zip(&relative).take(PROTO_FILES.len()) {
        assert_eq!(a.content, b.content, "{} and {} differ", a.name, b.name);
    }
    let tree = relative.last().expect("module tree");
    snapshot(tree, "mod.source_relative.rs");
}

#[test]
fn the_embedded_parser_generates_the_same_code_as_protoc() {
    let from_protoc = generate(&protoc_request("")).expect("generate");
    let embedded =
        generate_from_protos(PROTO_FILES, &[proto_root()], &Options::default()).expect("embedded");
    assert_eq!(from_protoc.len(), embedded.len());
    for (a, b) in from_protoc.iter().zip(&embedded) {
        assert_eq!(a.name, b.name);
        assert!(
            a.content == b.content,
            "{}: protoc and the embedded parser disagree",
            a.name
        );
    }
    let relative = Options {
        paths: Paths::SourceRelative,
        ..Options::default()
    };
    let embedded = generate_from_protos(PROTO_FILES, &[proto_root()], &relative).expect("embedded");
    let from_protoc = generate(&protoc_request("paths=source_relative")).expect("generate");
    assert_eq!(from_protoc, embedded);
}
