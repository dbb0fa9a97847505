//! The plugin's handling of a `CodeGeneratorRequest`: whatever protoc (or
//! anything else) sends, the answer is a response, with an error if need
//! be, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rgrpc_build::respond(data);
});
