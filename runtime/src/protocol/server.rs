//! The server's side of the protocol: a request's headers checked and read,
//! and the headers and status of the response.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::headers::{
    CONTENT_TYPE, GRPC_ACCEPT_ENCODING, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS,
    GRPC_TIMEOUT, encode_binary, is_grpc, metadata_from_headers, read_encoding, write_accepted,
    write_encoding, write_metadata,
};
use super::timeout;
use crate::frame::{ACCEPTED, Accepted, Compression};
use crate::{Code, Metadata, Status};

/// Checks that a request is a gRPC call at all.
///
/// # Errors
/// The HTTP status to answer with: 405 for a method other than POST, 415
/// for a content type that is not gRPC's (PROTOCOL-HTTP2.md).
pub(crate) fn check_request(parts: &http::request::Parts) -> Result<(), StatusCode> {
    if parts.method != Method::POST {
        return Err(StatusCode::METHOD_NOT_ALLOWED);
    }
    if !is_grpc(&parts.headers) {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    Ok(())
}

/// What a server takes from the headers of a gRPC request.
pub(crate) struct RequestHead {
    /// The client's metadata.
    pub(crate) metadata: Metadata,
    /// The time the client gave the call, from `grpc-timeout`.
    pub(crate) timeout: Option<Duration>,
    /// What the client's compressed messages are compressed with.
    pub(crate) compression: Option<Compression>,
    /// What the client accepts compressed responses in.
    pub(crate) accepted: Accepted,
}

/// Reads the headers of a request that passed [`check_request`].
///
/// # Errors
/// UNIMPLEMENTED for a message encoding this build does not have (the
/// response's `grpc-accept-encoding` lists those it has), INTERNAL for a
/// malformed `grpc-timeout`, DEADLINE_EXCEEDED for a zero one: the call's
/// time is up before it starts, and its handler must not run.
pub(crate) fn read_request(headers: &HeaderMap) -> Result<RequestHead, Status> {
    let compression = read_encoding(headers).map_err(|name| {
        Status::unimplemented(format!(
            "message encoding {name:?} is not supported; supported: {ACCEPTED}"
        ))
    })?;
    let accepted = headers
        .get(GRPC_ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .map(Accepted::parse)
        .unwrap_or_default();
    let timeout = match headers.get(GRPC_TIMEOUT) {
        Some(value) => Some(
            timeout::decode(value.as_bytes())
                .ok_or_else(|| Status::internal(format!("malformed grpc-timeout {value:?}")))?,
        ),
        None => None,
    };
    if timeout.is_some_and(|timeout| timeout.is_zero()) {
        return Err(Status::deadline_exceeded(
            "the deadline passed before the call started",
        ));
    }
    Ok(RequestHead {
        metadata: metadata_from_headers(headers),
        timeout,
        compression,
        accepted,
    })
}

/// The headers of a response carrying `metadata`, its compressed messages
/// in `compression`.
pub(crate) fn response(
    metadata: &Metadata,
    compression: Option<Compression>,
) -> http::Response<()> {
    let mut response = http::Response::new(());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    write_encoding(compression, headers);
    write_metadata(metadata, headers);
    response
}

/// An answer to a request that is not a gRPC call: an HTTP status alone.
pub(crate) fn plain_response(status: StatusCode) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = status;
    response
}

/// The code's number as the text `grpc-status` carries, from a constant:
/// made from a number, the value would be an allocation per call.
fn code_value(code: Code) -> HeaderValue {
    const NUMBERS: [&str; 17] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    ];
    HeaderValue::from_static(NUMBERS[code.as_i32() as usize])
}

/// A trailers-only response, carrying `metadata` and `status`, and listing
/// the compressions the server accepts: the answer to a request in one it
/// does not (UNIMPLEMENTED) must, and an error costs little more for it.
pub(crate) fn trailers_only(metadata: &Metadata, status: &Status) -> http::Response<()> {
    let mut response = response(metadata, None);
    let headers = response.headers_mut();
    write_accepted(headers);
    write_status(status, headers);
    response
}

/// The status as trailers (or in a trailers-only response's headers).
pub(crate) fn write_status(status: &Status, headers: &mut HeaderMap) {
    headers.insert(GRPC_STATUS, code_value(status.code()));
    // Both values are printable ASCII by construction, so they always convert.
    if !status.message().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_message(status.message()))
    {
        headers.insert(GRPC_MESSAGE, value);
    }
    if !status.details_bin().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_binary(status.details_bin()))
    {
        headers.insert(GRPC_STATUS_DETAILS, value);
    }
    write_metadata(status.metadata(), headers);
}

/// Percent-encodes a `grpc-message`: bytes outside printable ASCII, and `%`
/// itself, become `%XX` (PROTOCOL-HTTP2.md, "Percent-Encoded").
pub(super) fn encode_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &byte in message.as_bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_sent_as_its_number() {
        for number in 0..17 {
            let code = Code::from_i32(number);
            assert_eq!(code_value(code), number.to_string().as_str());
        }
    }
}
