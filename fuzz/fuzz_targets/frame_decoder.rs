//! The gRPC frame decoder, fed a stream in chunks the input chooses.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rgrpc::__fuzz::frame_decoder(data));
