//! The `protoc-gen-rgrpc` binary as protoc runs it, and as a program on its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, MethodDescriptorProto, OneofDescriptorProto, ServiceDescriptorProto,
};
use rgrpc_build::{Options, Paths, generate_from_protos, respond};

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rgrpc");

fn proto_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("plugin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn protoc(out: &Path, option: Option<&str>, files: &[&str]) -> Output {
    let mut command = Command::new("protoc");
    command
        .arg(format!("--plugin=protoc-gen-rgrpc={PLUGIN}"))
        .arg(format!("--rgrpc_out={}", out.display()))
        .arg("-I")
        .arg(proto_root());
    if let Some(option) = option {
        command.arg(format!("--rgrpc_opt={option}"));
    }
    command
        .args(files)
        .output()
        .expect("protoc runs (scripts/setup.sh installs protobuf-compiler)")
}

fn run_plugin(stdin: &[u8], args: &[&str]) -> Output {
    let mut child = Command::new(PLUGIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("plugin finishes")
}

#[test]
fn protoc_writes_what_the_library_generates() {
    let files = ["echo.proto", "user/v1/user.proto", "coverage/proto3.proto"];
    let out = scratch("source-relative");
    let output = protoc(&out, Some("paths=source_relative"), &files);
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let options = Options {
        paths: Paths::SourceRelative,
        ..Options::default()
    };
    let expected = generate_from_protos(&files, &[proto_root()], &options).expect("generate");
    let names: Vec<&str> = expected.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["echo.rs", "user/v1/user.rs", "coverage/proto3.rs", "mod.rs"]
    );
    for file in &expected {
        let written =
            std::fs::read_to_string(out.join(&file.name)).expect("file written by protoc");
        assert!(
            written == file.content,
            "{} differs from the library's output",
            file.name
        );
    }
}

#[test]
fn the_default_layout_follows_packages() {
    let out = scratch("import");
    let output = protoc(
        &out,
        None,
        &[
            "user/v1/user.proto",
            "coverage/split_a.proto",
            "coverage/split_b.proto",
        ],
    );
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for path in [
        "user/v1/user.rs",
        "coverage/split/split_a.rs",
        "coverage/split/split_b.rs",
        "mod.rs",
    ] {
        assert!(out.join(path).is_file(), "{path} missing");
    }
    let tree = std::fs::read_to_string(out.join("mod.rs")).unwrap();
    assert!(tree.contains("include!(\"coverage/split/split_a.rs\");\n        include!(\"coverage/split/split_b.rs\");"), "{tree}");
}

#[test]
fn a_bad_option_is_reported_by_protoc() {
    let out = scratch("bad-option");
    let output = protoc(&out, Some("paths=sideways"), &["echo.proto"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "invalid option \"paths=sideways\": expected paths=import or source_relative"
        ),
        "{stderr}"
    );
    let output = protoc(&out, Some("colour=blue"), &["echo.proto"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown option \"colour\"; valid options: paths="),
        "{stderr}"
    );
}

#[test]
fn input_problems_are_a_response_error_with_exit_code_zero() {
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["missing.proto".into()],
        parameter: Some("well_known_types=maybe".into()),
        ..Default::default()
    };
    let output = run_plugin(&request.encode_to_vec(), &[]);
    assert!(output.status.success());
    let response =
        CodeGeneratorResponse::decode(output.stdout.as_slice()).expect("stdout is a response");
    assert_eq!(
        response.error.as_deref(),
        Some(
            "invalid option \"well_known_types=maybe\": expected well_known_types=runtime or generate"
        )
    );
    assert!(response.file.is_empty());

    let request = CodeGeneratorRequest {
        file_to_generate: vec!["missing.proto".into()],
        ..Default::default()
    };
    let response =
        CodeGeneratorResponse::decode(run_plugin(&request.encode_to_vec(), &[]).stdout.as_slice())
            .unwrap();
    assert_eq!(
        response.error.as_deref(),
        Some("missing.proto is to be generated but its descriptor is missing")
    );
}

#[test]
fn supported_features_declare_proto3_optional_and_editions_up_to_2024() {
    let output = run_plugin(&CodeGeneratorRequest::default().encode_to_vec(), &[]);
    let response = CodeGeneratorResponse::decode(output.stdout.as_slice()).unwrap();
    assert_eq!(
        response.supported_features,
        Some(3),
        "FEATURE_PROTO3_OPTIONAL and FEATURE_SUPPORTS_EDITIONS"
    );
    assert_eq!(response.error, None);
    // minimum_edition = EDITION_PROTO2 (998), maximum_edition = EDITION_2024
    // (1001): fields newer than prost-types' CodeGeneratorResponse.
    let mut tail = output.stdout.as_slice();
    let mut editions = Vec::new();
    while !tail.is_empty() {
        let (number, wire) = prost::encoding::decode_key(&mut tail).unwrap();
        if number == 3 || number == 4 {
            editions.push((number, prost::encoding::decode_varint(&mut tail).unwrap()));
        } else {
            prost::encoding::skip_field(wire, number, &mut tail, Default::default()).unwrap();
        }
    }
    assert_eq!(editions, [(3, 998), (4, 1001)]);
}

#[test]
fn an_unreadable_request_fails_on_stderr() {
    let output = run_plugin(b"\xff\xff\xff", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "stdout must not hold a partial response"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("protoc-gen-rgrpc: stdin is not a CodeGeneratorRequest"),
        "{stderr}"
    );
}

#[test]
fn version_and_help() {
    let version = run_plugin(b"", &["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("protoc-gen-rgrpc {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = run_plugin(b"", &["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("paths=import|source_relative"));
    let unknown = run_plugin(b"", &["--frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn buf_generate_with_the_repository_template() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let buf = repo.join("tools/node_modules/.bin/buf");
    assert!(
        buf.exists(),
        "{} is missing: run scripts/setup.sh",
        buf.display()
    );
    let out = scratch("buf");
    let plugin_dir = Path::new(PLUGIN).parent().expect("plugin directory");
    let path = std::env::join_paths(std::iter::once(plugin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let output = Command::new(&buf)
        .current_dir(&repo)
        .env("PATH", path)
        .env("BUF_CACHE_DIR", out.join("cache"))
        .args(["generate", "--template", "buf.gen.yaml", "--output"])
        .arg(&out)
        .output()
        .expect("buf runs");
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "buf warned: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // One plugin run over every file: the module tree includes them all, and
    // each file is what the library generates.
    let listed = Command::new(&buf)
        .current_dir(&repo)
        .args(["ls-files", "proto"])
        .output()
        .expect("buf ls-files");
    let protos: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|line| line.trim_start_matches("proto/").to_owned())
        .collect();
    assert!(
        protos.len() > 5,
        "buf lists the project's protos: {protos:?}"
    );
    let generated = out.join("gen");
    let tree = std::fs::read_to_string(generated.join("mod.rs")).expect("mod.rs");
    let options = Options {
        paths: Paths::SourceRelative,
        ..Options::default()
    };
    let expected = generate_from_protos(&protos, &[proto_root()], &options).expect("generate");
    for file in expected.iter().filter(|f| f.name != "mod.rs") {
        assert!(
            tree.contains(&format!("include!(\"{}\");", file.name)),
            "mod.rs lacks {}",
            file.name
        );
        let written =
            std::fs::read_to_string(generated.join(&file.name)).expect("file written by buf");
        assert!(
            written == file.content,
            "{} differs from the library's output",
            file.name
        );
    }
}

#[test]
fn descriptors_of_imports_left_out_of_the_run_go_in_the_module_tree() {
    let out = scratch("imported-descriptors");
    let output = protoc(&out, None, &["coverage/annotated.proto"]);
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = std::fs::read_to_string(out.join("coverage/annotated/annotated.rs")).unwrap();
    assert!(
        file.contains("&[&super::annotations::FILE_COVERAGE_ANNOTATIONS_PROTO]"),
        "{file}"
    );
    let tree = std::fs::read_to_string(out.join("mod.rs")).unwrap();
    let module = tree
        .split_once("pub mod annotations {")
        .map(|(_, module)| module)
        .unwrap_or_else(|| panic!("no annotations module: {tree}"));
    assert!(
        module.contains("pub static FILE_COVERAGE_ANNOTATIONS_PROTO")
            && module.contains("&[&::rgrpc::wkt::FILE_GOOGLE_PROTOBUF_DESCRIPTOR_PROTO]"),
        "{tree}"
    );

    // Without descriptors, neither the files nor the tree hold any.
    let out = scratch("no-descriptors");
    let output = protoc(
        &out,
        Some("descriptors=false"),
        &["coverage/annotated.proto", "echo.proto"],
    );
    assert!(output.status.success());
    for path in ["coverage/annotated/annotated.rs", "echo/echo.rs", "mod.rs"] {
        let text = std::fs::read_to_string(out.join(path)).unwrap();
        assert!(!text.contains("FileDescriptor"), "{path}: {text}");
    }
}

#[test]
fn a_type_from_a_file_left_out_of_the_run_is_an_error() {
    let out = scratch("missing-import");
    let output = protoc(&out, None, &["coverage/split_a.proto"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "coverage.split.Alpha.beta uses coverage.split.Beta from coverage/split_b.proto, which is not being generated"
        ),
        "{stderr}"
    );
    // Well-known types and google.rpc.Status come from the runtime and need
    // no generating, unless they are to be generated like any other package.
    for file in ["chat.proto", "coverage/outcome.proto"] {
        let output = protoc(&out, None, &[file]);
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Unless another crate has those types.
    let output = protoc(
        &out,
        Some("extern_path=.user.v1=::users::pb"),
        &["coverage/split_b.proto"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = std::fs::read_to_string(out.join("coverage/split/split_b.rs")).unwrap();
    assert!(
        generated.contains("::core::option::Option<::users::pb::User>"),
        "{generated}"
    );
    let generated = std::fs::read_to_string(out.join("coverage/outcome/outcome.rs"))
        .expect("coverage/outcome/outcome.rs");
    assert!(generated.contains("::rgrpc::rpc::Status"), "{generated}");
    let output = protoc(
        &out,
        Some("well_known_types=generate"),
        &["coverage/outcome.proto"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "uses google.rpc.Status from google/rpc/status.proto, which is not being generated"
        ),
        "{stderr}"
    );
}

/// `bad.proto`, package `pkg`: message `M` with field `a` = 1 and oneof `o`
/// holding field `b` = 2, enum `E` with value `E_ZERO`, and service `S` with
/// method `Call(M) returns (M)`. Tests break one part of it.
fn sample_file() -> FileDescriptorProto {
    let field = |name: &str, number: i32, oneof_index: Option<i32>| FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(Label::Optional.into()),
        r#type: Some(Type::Int32.into()),
        oneof_index,
        ..Default::default()
    };
    FileDescriptorProto {
        name: Some("bad.proto".into()),
        package: Some("pkg".into()),
        syntax: Some("proto3".into()),
        message_type: vec![DescriptorProto {
            name: Some("M".into()),
            field: vec![field("a", 1, None), field("b", 2, Some(0))],
            oneof_decl: vec![OneofDescriptorProto {
                name: Some("o".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        enum_type: vec![EnumDescriptorProto {
            name: Some("E".into()),
            value: vec![EnumValueDescriptorProto {
                name: Some("E_ZERO".into()),
                number: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        }],
        service: vec![ServiceDescriptorProto {
            name: Some("S".into()),
            method: vec![MethodDescriptorProto {
                name: Some("Call".into()),
                input_type: Some(".pkg.M".into()),
                output_type: Some(".pkg.M".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The plugin's response to a request generating `sample_file` changed by `change`.
fn respond_to_sample(change: impl FnOnce(&mut FileDescriptorProto)) -> CodeGeneratorResponse {
    let mut file = sample_file();
    change(&mut file);
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["bad.proto".into()],
        proto_file: vec![file],
        ..Default::default()
    };
    respond(&request.encode_to_vec())
}

fn assert_input_error(response: &CodeGeneratorResponse, expected: &str) {
    assert_eq!(response.error.as_deref(), Some(expected));
    assert!(response.file.is_empty(), "files despite the error");
}

/// A change to `sample_file` and the error it must give.
type Case = (fn(&mut FileDescriptorProto), &'static str);

/// Checks every case, without stopping at the first failure: changing the
/// sample by the case's function must give exactly the case's error, no
/// files, and no panic.
fn assert_input_errors(cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(change, expected)| {
            match std::panic::catch_unwind(|| respond_to_sample(change)) {
                Err(_) => Some(format!("panicked instead of reporting {expected:?}")),
                Ok(response) if response.error.as_deref() != Some(*expected) => Some(format!(
                    "error {:?} instead of {expected:?}",
                    response.error
                )),
                Ok(response) if !response.file.is_empty() => {
                    Some(format!("files despite {expected:?}"))
                }
                Ok(_) => None,
            }
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_sample_request_generates() {
    let response = respond_to_sample(|_| {});
    assert_eq!(response.error, None);
    assert_eq!(response.file.len(), 2, "pkg/bad.rs and mod.rs");
}

#[test]
fn names_that_are_not_identifiers_are_input_errors() {
    assert_input_errors(&[
        (
            |f| {
                f.message_type[0].name = Some("1Foo".into());
                f.service.clear();
            },
            "bad.proto: message pkg.1Foo: invalid name \"1Foo\": it starts with a digit",
        ),
        (
            |f| f.message_type[0].field[0].name = Some("a\u{b2}".into()),
            "bad.proto: field pkg.M.a\u{b2}: invalid name \"a\u{b2}\": it contains '\u{b2}'; \
             names may only contain ASCII letters, digits and underscores",
        ),
        (
            |f| f.message_type[0].oneof_decl[0].name = Some("1o".into()),
            "bad.proto: oneof pkg.M.1o: invalid name \"1o\": it starts with a digit",
        ),
        (
            |f| f.enum_type[0].name = Some("E F".into()),
            "bad.proto: enum pkg.E F: invalid name \"E F\": it contains ' '; \
             names may only contain ASCII letters, digits and underscores",
        ),
        (
            |f| f.enum_type[0].value[0].name = Some(String::new()),
            "bad.proto: enum value pkg.E.: invalid name \"\": it is empty",
        ),
        (
            |f| f.service[0].name = Some("1S".into()),
            "bad.proto: service pkg.1S: invalid name \"1S\": it starts with a digit",
        ),
        (
            |f| f.service[0].method[0].name = Some("1Call".into()),
            "bad.proto: method pkg.S.1Call: invalid name \"1Call\": it starts with a digit",
        ),
        (
            |f| f.service[0].method[0].name = Some("Do-It".into()),
            "bad.proto: method pkg.S.Do-It: invalid name \"Do-It\": it contains '-'; \
             names may only contain ASCII letters, digits and underscores",
        ),
        (
            |f| {
                f.package = Some("pkg.1v".into());
                f.service.clear();
            },
            "bad.proto: package pkg.1v: invalid name \"1v\": it starts with a digit",
        ),
        (
            |f| {
                f.package = Some("pkg..v1".into());
                f.service.clear();
            },
            "bad.proto: package pkg..v1: invalid name \"\": it is empty",
        ),
    ]);
}

#[test]
fn names_of_underscores_and_digits_generate() {
    let response = respond_to_sample(|f| {
        f.message_type[0].field[0].name = Some("_1".into());
        f.enum_type[0].value[0].name = Some("_2".into());
        f.service[0].method[0].name = Some("_3".into());
    });
    assert_eq!(response.error, None);
    let content = response.file[0].content();
    for expected in [
        "pub _1: i32",
        "pub const _2: Self",
        "fn _3(",
        "const _3: &str",
    ] {
        assert!(content.contains(expected), "no {expected:?} in {content}");
    }
}

#[test]
fn an_extern_path_naming_a_type_is_an_option_error() {
    for (proto, kind) in [(".pkg.M", "pkg.M"), (".pkg.E", "pkg.E")] {
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["bad.proto".into()],
            proto_file: vec![sample_file()],
            parameter: Some(format!("extern_path={proto}=::other::T")),
            ..Default::default()
        };
        let response = respond(&request.encode_to_vec());
        assert_input_error(
            &response,
            &format!(
                "invalid option \"extern_path={proto}=::other::T\": {kind} is a message or enum; \
                 extern_path takes a package (extern_path=.PACKAGE=RUST_PATH)"
            ),
        );
    }
}

#[test]
fn invalid_field_numbers_are_input_errors() {
    assert_input_errors(&[
        (
            |f| f.message_type[0].field[0].number = Some(0),
            "bad.proto: field pkg.M.a: invalid number 0: field numbers go from 1 to 536870911",
        ),
        (
            |f| f.message_type[0].field[0].number = Some(536_870_912),
            "bad.proto: field pkg.M.a: invalid number 536870912: \
             field numbers go from 1 to 536870911",
        ),
        (
            |f| f.message_type[0].field[1].number = Some(-1),
            "bad.proto: field pkg.M.b: invalid number -1: field numbers go from 1 to 536870911",
        ),
        (
            |f| f.message_type[0].field[1].number = Some(1),
            "bad.proto: field pkg.M.b: number 1 is already used by field pkg.M.a",
        ),
    ]);
}

#[test]
fn fields_of_one_json_name_are_an_input_error_where_json_format_is_allow() {
    // proto3 (and the editions) default to ALLOW.
    let response = respond_to_sample(|f| f.message_type[0].field[1].json_name = Some("a".into()));
    assert_input_error(
        &response,
        "pkg.M: fields a and b have the same JSON name \"a\", which json_format ALLOW refuses \
         (set features.json_format = LEGACY_BEST_EFFORT on the message to allow it)",
    );
    // Without a json_name, protoc's own: foo_bar and fooBar clash.
    let response = respond_to_sample(|f| {
        let mut clash = f.message_type[0].field[0].clone();
        f.message_type[0].field[0].name = Some("foo_bar".into());
        clash.name = Some("fooBar".into());
        clash.number = Some(3);
        f.message_type[0].field.push(clash);
    });
    assert!(
        response
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("pkg.M: fields foo_bar and fooBar have")),
        "{:?}",
        response.error
    );
    // proto2 defaults to LEGACY_BEST_EFFORT.
    let response = respond_to_sample(|f| {
        f.syntax = Some("proto2".into());
        f.message_type[0].field[1].json_name = Some("a".into());
    });
    assert_eq!(response.error, None);
    // So does a message with deprecated_legacy_json_field_conflicts (field
    // 11 of MessageOptions, newer than these descriptor types): written in
    // place of `deprecated = false`, which encodes to as many bytes.
    let mut file = sample_file();
    file.message_type[0].field[1].json_name = Some("a".into());
    file.message_type[0].options = Some(prost_types::MessageOptions {
        deprecated: Some(false),
        ..Default::default()
    });
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["bad.proto".into()],
        proto_file: vec![file],
        ..Default::default()
    }
    .encode_to_vec();
    let deprecated_false = [0x3a, 0x02, 0x18, 0x00];
    let at = request
        .windows(4)
        .position(|w| w == deprecated_false)
        .expect("the options are encoded");
    let mut legacy = request.clone();
    legacy[at..at + 4].copy_from_slice(&[0x3a, 0x02, 0x58, 0x01]);
    assert!(respond(&request).error.is_some());
    assert_eq!(respond(&legacy).error, None);
}

#[test]
fn the_largest_field_number_generates() {
    let response = respond_to_sample(|f| f.message_type[0].field[0].number = Some(536_870_911));
    assert_eq!(response.error, None);
    // (536870911 << 3) | 0, the varint tag of the field.
    assert!(response.file[0].content().contains("4294967288 =>"));
}

#[test]
fn the_plugin_reports_invalid_names_with_exit_code_zero() {
    let mut file = sample_file();
    file.message_type[0].name = Some("1Foo".into());
    file.service.clear();
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["bad.proto".into()],
        proto_file: vec![file],
        ..Default::default()
    };
    let output = run_plugin(&request.encode_to_vec(), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response = CodeGeneratorResponse::decode(output.stdout.as_slice()).unwrap();
    assert_input_error(
        &response,
        "bad.proto: message pkg.1Foo: invalid name \"1Foo\": it starts with a digit",
    );
}

#[test]
fn a_syntax_error_from_the_embedded_parser_says_where_it_is() {
    let dir = scratch("syntax-error");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("chat.proto"),
        "syntax = \"proto3\";\npackage chat;\nmessage Hello { string name = 1 }\n",
    )
    .unwrap();
    let err = generate_from_protos(&[dir.join("chat.proto")], &[&dir], &Options::default())
        .expect_err("a syntax error");
    let text = err.to_string();
    let mut lines = text.lines();
    // As protoc says it: file, line and column (1-based), then what.
    let first = lines.next().unwrap();
    assert!(first.starts_with("chat.proto:3:33: "), "{text}");
    assert!(first.contains("expected"), "{text}");
    // Then the line, and a mark under the token at fault.
    assert_eq!(
        lines.next(),
        Some("  message Hello { string name = 1 }"),
        "{text}"
    );
    assert_eq!(
        lines.next(),
        Some(format!("  {}^", " ".repeat(32)).as_str()),
        "{text}"
    );
}

#[test]
fn an_editions_file_given_to_the_embedded_parser_says_to_use_protoc_or_buf() {
    let dir = scratch("editions");
    std::fs::write(
        dir.join("modern.proto"),
        "edition = \"2023\";\npackage modern;\nmessage M { int32 a = 1; }\n",
    )
    .unwrap();
    let err = generate_from_protos(&["modern.proto"], &[&dir], &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("modern.proto:1:1: "), "{err}");
    assert!(
        err.ends_with(
            "modern.proto is written in editions, which the embedded parser (protox) \
             cannot read yet: generate it with protoc or buf and protoc-gen-rgrpc"
        ),
        "{err}"
    );
}
