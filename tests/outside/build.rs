//! Generates the chat service with no protoc, as the README's build script
//! does.

fn main() {
    if let Err(err) = rgrpc_build::compile_protos(&["proto/chat.proto"], &["proto"]) {
        panic!("{err}");
    }
}
