//! The plugin's handling of a `CodeGeneratorRequest`: whatever protoc (or
//! anything else) sends, the answer is a response, with an error if need
//! be, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = CodeGeneratorRequest::decode(data) {
        let _ = rgrpc_build::respond(&request);
    }
});
