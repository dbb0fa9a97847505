//! The `protoc-gen-rgrpc` binary as protoc runs it, and as a program on its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use rgrpc_build::{Options, Paths, generate_from_protos};

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
fn supported_features_declare_proto3_optional_only() {
    let output = run_plugin(&CodeGeneratorRequest::default().encode_to_vec(), &[]);
    let response = CodeGeneratorResponse::decode(output.stdout.as_slice()).unwrap();
    assert_eq!(
        response.supported_features,
        Some(1),
        "FEATURE_PROTO3_OPTIONAL and nothing else"
    );
    assert_eq!(response.error, None);
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
