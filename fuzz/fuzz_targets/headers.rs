//! Metadata, `grpc-timeout`, a request's head and a response's status,
//! read from arbitrary header lines.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rgrpc::__fuzz::headers(data));
