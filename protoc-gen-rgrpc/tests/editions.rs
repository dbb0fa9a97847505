//! Editions, through a protoc that knows them: grpcio-tools' (installed in
//! tools/venv by scripts/setup.sh; Debian's protoc predates editions) runs
//! the plugin over tests/editions/proto/, and what it writes must be the
//! committed tests/editions/generated/, which the tests crate compiles and
//! exercises.
//!
//! `RGRPC_BLESS=1 cargo test -p protoc-gen-rgrpc --test editions` rewrites
//! the committed copy after a generator change.

use std::path::{Path, PathBuf};
use std::process::Command;

const FILES: &[&str] = &["editions/v2023.proto", "editions/v2024.proto"];

fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The venv's python, which runs grpcio-tools' protoc.
fn python() -> PathBuf {
    let python = project("tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    python
}

/// Runs grpcio-tools' protoc with the plugin over `files` into `out`.
fn protoc(out: &Path, files: &[&str]) -> std::process::Output {
    let includes = Command::new(python())
        .args([
            "-c",
            "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))",
        ])
        .output()
        .expect("python runs");
    let well_known = String::from_utf8(includes.stdout).unwrap();
    Command::new(python())
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!(
            "--plugin=protoc-gen-rgrpc={}",
            env!("CARGO_BIN_EXE_protoc-gen-rgrpc")
        ))
        .arg(format!("--rgrpc_out={}", out.display()))
        .arg("-I")
        .arg(project("tests/editions/proto"))
        .arg("-I")
        .arg(well_known.trim())
        .args(files)
        .output()
        .expect("grpcio-tools' protoc runs")
}

fn read_tree(dir: &Path, tree: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(&path, tree);
        } else {
            tree.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn committed_editions_code_is_what_protoc_and_the_plugin_write() {
    let out =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("editions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let output = protoc(&out, FILES);
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let committed = project("tests/editions/generated");
    if std::env::var_os("RGRPC_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        let mut generated = Vec::new();
        read_tree(&out, &mut generated);
        for (path, content) in generated {
            let target = committed.join(path.strip_prefix(&out).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, content).unwrap();
        }
        return;
    }
    let (mut generated, mut expected) = (Vec::new(), Vec::new());
    read_tree(&out, &mut generated);
    read_tree(&committed, &mut expected);
    let relative = |tree: Vec<(PathBuf, String)>, root: &Path| -> Vec<(PathBuf, String)> {
        tree.into_iter()
            .map(|(path, content)| (path.strip_prefix(root).unwrap().to_owned(), content))
            .collect()
    };
    assert!(
        relative(generated, &out) == relative(expected, &committed),
        "tests/editions/generated is stale: run RGRPC_BLESS=1 cargo test -p protoc-gen-rgrpc --test editions"
    );
}

#[test]
fn an_edition_past_2024_is_a_clear_error() {
    // protoc lets an experimental edition through to the plugin, which
    // says what it supports.
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("editions-max-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("unstable.proto"),
        "edition = \"UNSTABLE\";\npackage unstable;\nmessage M {}\n",
    )
    .unwrap();
    let output = Command::new(python())
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!(
            "--plugin=protoc-gen-rgrpc={}",
            env!("CARGO_BIN_EXE_protoc-gen-rgrpc")
        ))
        .arg("--experimental_editions")
        .arg(format!("--rgrpc_out={}", dir.display()))
        .arg("-I")
        .arg(&dir)
        .arg("unstable.proto")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "unstable.proto: edition 9999 is not supported \
             (protoc-gen-rgrpc supports proto2, proto3 and editions 2023 and 2024)"
        ),
        "{stderr}"
    );
}
