//! Generates the examples' code from proto/ with the embedded parser: no protoc needed.

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
    let files =
        ["echo.proto", "chat.proto", "user/v1/user.proto"].map(|file| format!("{root}/{file}"));
    if let Err(err) = rgrpc_build::compile_protos(&files, &[root]) {
        panic!("generating the examples' code: {err}");
    }
}
