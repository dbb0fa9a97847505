//! The client's side of the protocol: the headers of a request, and the
//! response's headers and status read back.

use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::headers::{
    CONTENT_TYPE, GRPC_MESSAGE, GRPC_PREVIOUS_RPC_ATTEMPTS, GRPC_RETRY_PUSHBACK_MS, GRPC_STATUS,
    GRPC_STATUS_DETAILS, GRPC_TIMEOUT, decode_binary, is_grpc, metadata_from_headers,
    read_encoding, write_accepted, write_encoding, write_metadata,
};
use super::timeout;
use crate::frame::Compression;
use crate::{Code, Metadata, Status};

/// What rgrpc calls itself in `user-agent`.
const USER_AGENT: &str = concat!("rgrpc/", env!("CARGO_PKG_VERSION"));

/// The headers of a call to `path` on `authority`, over `https` or not,
/// carrying the entries of both `metadata` and the time the call has left,
/// its compressed messages in `compression`.
///
/// # Errors
/// INTERNAL when `path` cannot be a request path.
pub(crate) fn request(
    https: bool,
    authority: &Authority,
    path: &'static str,
    metadata: [&Metadata; 2],
    timeout: Option<Duration>,
    compression: Option<Compression>,
) -> Result<http::Request<()>, Status> {
    let invalid = |err: &dyn std::fmt::Display| {
        Status::internal(format!("invalid request for {path}: {err}"))
    };
    // The URI is put together from parts that need no parsing or copying.
    let uri = Uri::builder()
        .scheme(if https { Scheme::HTTPS } else { Scheme::HTTP })
        .authority(authority.clone())
        .path_and_query(
            PathAndQuery::from_maybe_shared(Bytes::from_static(path.as_bytes()))
                .map_err(|err| invalid(&err))?,
        )
        .build()
        .map_err(|err| invalid(&err))?;
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .body(())
        .map_err(|err| invalid(&err))?;
    let headers = request.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    if let Some(timeout) = timeout {
        let value = timeout::encode(timeout);
        headers.insert(
            GRPC_TIMEOUT,
            HeaderValue::from_str(&value).map_err(|err| invalid(&err))?,
        );
    }
    write_encoding(compression, headers);
    write_accepted(headers);
    for metadata in metadata {
        write_metadata(metadata, headers);
    }
    Ok(request)
}

/// Says in a retried call's `request` how many attempts came before it
/// (`grpc-previous-rpc-attempts`).
pub(crate) fn previous_attempts(request: &mut http::Request<()>, attempts: u32) {
    request
        .headers_mut()
        .insert(GRPC_PREVIOUS_RPC_ATTEMPTS, HeaderValue::from(attempts));
}

/// Checks that a response is a gRPC response.
///
/// # Errors
/// For an HTTP status other than 200, the code that
/// doc/http-grpc-status-mapping.md gives it; UNKNOWN when the content type
/// is not gRPC's.
pub(crate) fn read_response(parts: &http::response::Parts) -> Result<(), Status> {
    if parts.status != StatusCode::OK {
        let code = Code::from_http_status(parts.status.as_u16());
        return Err(Status::new(
            code,
            format!("unexpected HTTP status {}", parts.status),
        ));
    }
    if !is_grpc(&parts.headers) {
        return Err(Status::unknown(format!(
            "the response is not gRPC (content-type {:?})",
            parts.headers.get(http::header::CONTENT_TYPE)
        )));
    }
    Ok(())
}

/// What the compressed messages of a response with `headers` are
/// compressed with.
///
/// # Errors
/// INTERNAL for a message encoding this build does not have.
pub(crate) fn response_compression(headers: &HeaderMap) -> Result<Option<Compression>, Status> {
    read_encoding(headers).map_err(|name| {
        Status::internal(format!(
            "the server compressed its messages with {name:?}, which this client does not have"
        ))
    })
}

/// The status in trailers (or in a trailers-only response's headers): the
/// trailers' metadata for OK, which needs no `Status` built, else the
/// status carrying them.
///
/// # Errors
/// The status when it is not OK. As in grpc-go: UNKNOWN when there is no
/// `grpc-status`, INTERNAL when it or `grpc-status-details-bin` is
/// malformed.
pub(crate) fn read_status(headers: &HeaderMap) -> Result<Metadata, Status> {
    let Some(code) = headers.get(GRPC_STATUS) else {
        return Err(Status::unknown("the response ended without a grpc-status"));
    };
    let code = match code.as_bytes() {
        b"0" => return Ok(metadata_from_headers(headers)),
        number => match std::str::from_utf8(number)
            .ok()
            .and_then(|c| c.parse::<i32>().ok())
        {
            Some(number) => Code::from_i32(number),
            None => return Err(Status::internal(format!("malformed grpc-status {code:?}"))),
        },
    };
    let message = headers
        .get(GRPC_MESSAGE)
        .map(|m| decode_message(m.as_bytes()))
        .unwrap_or_default();
    let mut status = Status::new(code, message);
    if let Some(details) = headers.get(GRPC_STATUS_DETAILS) {
        match decode_binary(details.as_bytes()) {
            Some(details) => status = status.with_details_bin(details),
            None => {
                return Err(Status::internal(
                    "malformed grpc-status-details-bin: not base64",
                ));
            }
        }
    }
    *status.metadata_mut() = metadata_from_headers(headers);
    if status.code() == Code::Ok {
        // A number that reads as 0 without being "0", such as "00".
        Ok(std::mem::take(status.metadata_mut()))
    } else {
        Err(status)
    }
}

/// What `grpc-retry-pushback-ms` in a failed call's trailers says: `None`
/// when it is absent; `Some(None)` when it says not to try again (a
/// negative or malformed value, as gRFC A6 says); else how long to wait.
pub(crate) fn retry_pushback(trailers: &HeaderMap) -> Option<Option<Duration>> {
    let value = trailers.get(GRPC_RETRY_PUSHBACK_MS)?;
    Some(
        std::str::from_utf8(value.as_bytes())
            .ok()
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(Duration::from_millis),
    )
}

/// Decodes a percent-encoded `grpc-message`. Malformed escapes are kept as
/// they are, and invalid UTF-8 is replaced, as the spec asks of receivers.
pub(super) fn decode_message(encoded: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            encoded[i],
            encoded.get(i + 1).and_then(|b| hex(*b)),
            encoded.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                bytes.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_malformed_statuses_follow_grpc_go() {
        let code = |headers: &HeaderMap| read_status(headers).err().map(|status| status.code());
        assert_eq!(code(&HeaderMap::new()), Some(Code::Unknown));
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("x"));
        assert_eq!(code(&trailers), Some(Code::Internal));
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        trailers.insert("grpc-status-details-bin", HeaderValue::from_static("!!"));
        assert_eq!(code(&trailers), Some(Code::Internal));
    }

    #[test]
    fn an_ok_status_gives_the_trailers_metadata() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("grpc-message", HeaderValue::from_static("ignored"));
        trailers.insert("load", HeaderValue::from_static("7"));
        let metadata = read_status(&trailers).expect("OK");
        assert_eq!(metadata.get("load"), Some("7"));
        assert_eq!(metadata.len(), 1);
        trailers.insert("grpc-status", HeaderValue::from_static("00"));
        assert_eq!(read_status(&trailers).expect("OK"), metadata);
    }

    #[test]
    fn a_malformed_escape_is_kept_and_invalid_utf8_replaced() {
        assert_eq!(decode_message(b"50%zz"), "50%zz");
        assert_eq!(decode_message(b"%FF"), "\u{fffd}");
    }
}
