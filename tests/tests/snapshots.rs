//! Snapshots of the code generated for every .proto file in proto/, with the
//! request built by the real protoc; and the embedded parser's output, which
//! the compiled tests use, must be identical.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;
use rgrpc_build::{GeneratedFile, Options, Paths, generate, generate_from_protos};
use rgrpc_tests::{PROTO_FILES, proto_root};

/// Each file of an encoded `FileDescriptorSet`, as encoded there.
fn set_files(mut set: &[u8]) -> Vec<&[u8]> {
    let mut files = Vec::new();
    while !set.is_empty() {
        let (number, wire) = prost::encoding::decode_key(&mut set).expect("a key");
        assert_eq!(
            (number, wire),
            (1, prost::encoding::WireType::LengthDelimited)
        );
        let len = prost::encoding::decode_varint(&mut set).expect("a length") as usize;
        files.push(&set[..len]);
        set = &set[len..];
    }
    files
}

/// What protoc writes for `files` with `--descriptor_set_out`, imports
/// included, with `extra` arguments.
fn protoc_set(files: &[&str], extra: &[&str]) -> Vec<u8> {
    // Tests run in parallel: every call gets its own descriptor set file.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("snapshots-{}-{call}.pb", std::process::id()));
    let status = Command::new("protoc")
        .arg("-I")
        .arg(proto_root())
        .arg("--include_imports")
        .args(extra)
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(files)
        .status()
        .expect("protoc runs (scripts/setup.sh installs protobuf-compiler)");
    assert!(status.success(), "protoc failed");
    let set = std::fs::read(&out).expect("descriptor set");
    std::fs::remove_file(&out).ok();
    set
}

/// A plugin request as protoc builds it, encoded: descriptors with source
/// info, imports included, each as protoc encoded it.
fn protoc_request(parameter: &str) -> Vec<u8> {
    protoc_request_for(PROTO_FILES, parameter)
}

/// [`protoc_request`] for `files` alone.
fn protoc_request_for(files: &[&str], parameter: &str) -> Vec<u8> {
    let set = protoc_set(files, &["--include_source_info"]);
    let mut request = CodeGeneratorRequest {
        file_to_generate: files.iter().map(|f| f.to_string()).collect(),
        parameter: Some(parameter.to_owned()),
        ..Default::default()
    }
    .encode_to_vec();
    // The set's files (field 1) become the request's (field 15), unchanged.
    for file in set_files(&set) {
        prost::encoding::encode_key(15, prost::encoding::WireType::LengthDelimited, &mut request);
        prost::encoding::encode_varint(file.len() as u64, &mut request);
        request.extend_from_slice(file);
    }
    request
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
fn code_generated_with_options_matches_the_snapshots_and_the_compiled_code() {
    let (parameter, files) = rgrpc_tests::OPTIONS;
    let from_protoc = generate(&protoc_request_for(files, parameter)).expect("generate");
    let options: Options = parameter.parse().expect("the options parse");
    let embedded = generate_from_protos(files, &[proto_root()], &options).expect("embedded");
    assert_eq!(
        from_protoc, embedded,
        "protoc and the embedded parser disagree"
    );
    for file in &from_protoc {
        let name = format!("options.{}", file.name.replace('/', "__"));
        snapshot(file, &name);
    }
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

/// Every file's descriptor that the compiled code holds, by name: the
/// files of proto/, and the runtime's.
fn compiled_descriptors() -> Vec<&'static rgrpc::FileDescriptor> {
    use rgrpc_tests::pb;
    let mut files = vec![
        &pb::FILE_COVERAGE_NO_PACKAGE_PROTO,
        &pb::bench::v1::FILE_BENCH_V1_BENCH_PROTO,
        &pb::chat::FILE_CHAT_PROTO,
        &pb::coverage::annotated::FILE_COVERAGE_ANNOTATED_PROTO,
        &pb::coverage::annotations::FILE_COVERAGE_ANNOTATIONS_PROTO,
        &pb::coverage::deprecated::FILE_COVERAGE_DEPRECATED_PROTO,
        &pb::coverage::edge::FILE_COVERAGE_EDGE_CASES_PROTO,
        &pb::coverage::outcome::FILE_COVERAGE_OUTCOME_PROTO,
        &pb::coverage::v2::FILE_COVERAGE_PROTO2_PROTO,
        &pb::coverage::v3::FILE_COVERAGE_PROTO3_PROTO,
        &pb::coverage::split::FILE_COVERAGE_SPLIT_A_PROTO,
        &pb::coverage::split::FILE_COVERAGE_SPLIT_B_PROTO,
        &pb::coverage::twice::twice::FILE_COVERAGE_TWICE_PROTO,
        &pb::echo::FILE_ECHO_PROTO,
        &pb::google::rpc::FILE_GOOGLE_RPC_STATUS_PROTO,
        &pb::google::rpc::FILE_GOOGLE_RPC_CODE_PROTO,
        &pb::google::rpc::FILE_GOOGLE_RPC_ERROR_DETAILS_PROTO,
        &pb::user::v1::FILE_USER_V1_USER_PROTO,
    ];
    // With each file, everything it imports: the runtime's files included.
    let mut all: Vec<&'static rgrpc::FileDescriptor> = Vec::new();
    for file in files.drain(..) {
        for file in file.with_dependencies() {
            if !all.iter().any(|seen| std::ptr::eq(*seen, file)) {
                all.push(file);
            }
        }
    }
    all
}

#[test]
fn compiled_descriptors_are_what_protoc_writes_without_source_info() {
    let set = protoc_set(PROTO_FILES, &[]);
    let from_protoc: Vec<(String, &[u8])> = set_files(&set)
        .into_iter()
        .map(|file| {
            let name = prost_types::FileDescriptorProto::decode(file)
                .expect("a file")
                .name()
                .to_owned();
            (name, file)
        })
        .collect();
    let compiled = compiled_descriptors();
    for name in PROTO_FILES {
        assert!(
            compiled.iter().any(|file| file.name() == *name),
            "{name}: no compiled descriptor"
        );
    }
    // Custom options survive: the decoder of the request knows nothing of them.
    let annotated = compiled
        .iter()
        .find(|file| file.name() == "coverage/annotated.proto")
        .expect("annotated.proto");
    assert!(
        annotated.encoded().windows(8).any(|w| w == b"/v1/ping"),
        "the method's custom option is lost"
    );
    for file in compiled {
        let expected = from_protoc
            .iter()
            .find(|(name, _)| name == file.name())
            .unwrap_or_else(|| panic!("protoc wrote no {}", file.name()));
        assert!(
            file.encoded() == expected.1,
            "{}: the compiled descriptor differs from protoc's",
            file.name()
        );
    }
}
