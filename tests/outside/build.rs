//! Generates the chat service, and a file with no package that the crate
//! leaves unused, with no protoc, as the README's build script does.

fn main() {
    let protos = ["proto/chat.proto", "proto/greeting.proto"];
    if let Err(err) = rgrpc_build::compile_protos(&protos, &["proto"]) {
        panic!("{err}");
    }
}
