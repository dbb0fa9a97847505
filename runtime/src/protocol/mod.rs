//! The rules of gRPC over HTTP/2 (PROTOCOL-HTTP2.md) as pure functions:
//! request and response headers, metadata as headers, the status in
//! trailers, and `grpc-timeout`. `http` types in, `http` types out; the
//! transport sends them, and nothing here does I/O.

mod headers;
mod status;
pub(crate) mod timeout;

pub(crate) use headers::{
    check_request, metadata_from_headers, plain_response, read_request, read_response, request,
    response,
};
pub(crate) use status::{read_status, write_status};
