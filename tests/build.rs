//! Generates code for every .proto file under proto/ with the embedded parser,
//! and records their names for the tests (`rgrpc_tests::PROTO_FILES`).

use std::path::{Path, PathBuf};

fn protos(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            protos(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut files = Vec::new();
    protos(&root, &mut files);
    if let Err(err) = rgrpc_build::compile_protos(&files, &[&root]) {
        panic!("generating code for proto/: {err}");
    }
    let names: Vec<String> = files
        .iter()
        .map(|file| {
            file.strip_prefix(&root)
                .expect("under proto/")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(
        Path::new(&out_dir).join("proto_files.rs"),
        format!("&{names:?}"),
    )
    .expect("write proto_files.rs");
}
