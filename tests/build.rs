//! Generates code for every .proto file under proto/ with the embedded parser,
//! and records their names for the tests (`rgrpc_tests::PROTO_FILES`); and,
//! into `options/`, a few of them again with the generator options that
//! change the code (`rgrpc_tests::pb_options`), as [`OPTIONS`] says.

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

/// The options of the second tree, as a plugin parameter.
const OPTIONS: &str = concat!(
    r#"type_attribute=.echo=#[derive(Eq\, Hash)],"#,
    r#"field_attribute=EchoRequest.message=#[doc(alias = "text")],"#,
    "extern_path=.user.v1=crate::pb::user::v1,",
    "bytes=vec,map=hash,json=true",
);

/// The files of the second tree: user.proto is given, but its package is
/// extern.
const OPTIONS_FILES: &[&str] = &[
    "echo.proto",
    "coverage/split_b.proto",
    "user/v1/user.proto",
    "coverage/proto2.proto",
    "coverage/proto3.proto",
];

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
    let options: rgrpc_build::Options = OPTIONS.parse().expect("the options parse");
    let files: Vec<PathBuf> = OPTIONS_FILES.iter().map(|f| root.join(f)).collect();
    let generated = rgrpc_build::generate_from_protos(&files, &[&root], &options)
        .unwrap_or_else(|err| panic!("generating code with {OPTIONS}: {err}"));
    rgrpc_build::write_files(&Path::new(&out_dir).join("options"), &generated)
        .unwrap_or_else(|err| panic!("writing code generated with options: {err}"));
    std::fs::write(
        Path::new(&out_dir).join("options.rs"),
        format!("({OPTIONS:?}, &{OPTIONS_FILES:?})"),
    )
    .expect("write options.rs");
    std::fs::write(
        Path::new(&out_dir).join("proto_files.rs"),
        format!("&{names:?}"),
    )
    .expect("write proto_files.rs");
}
