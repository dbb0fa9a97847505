//! The headers of requests and responses, and metadata as headers.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};

use super::timeout;
use crate::{Code, Metadata, MetadataValue, Status};

/// The content type of gRPC requests and responses.
const CONTENT_TYPE: &str = "application/grpc";

/// What rgrpc calls itself in `user-agent`.
const USER_AGENT: &str = concat!("rgrpc/", env!("CARGO_PKG_VERSION"));

/// Binary values are sent unpadded and accepted with or without padding
/// (PROTOCOL-HTTP2.md: "implementations MUST accept padded and un-padded values").
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64 as gRPC sends binary headers (standard alphabet, no padding).
pub(super) fn encode_binary(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes a binary header value, padded or not.
pub(super) fn decode_binary(text: &[u8]) -> Option<Vec<u8>> {
    BASE64.decode(text.trim_ascii()).ok()
}

/// True when the `content-type` is gRPC's: `application/grpc`, with or
/// without a subtype (`+proto`) or parameters (`;…`); not gRPC-Web's.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().strip_prefix(CONTENT_TYPE.as_bytes()))
        .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')))
}

/// The user metadata among HTTP headers. Headers that are not metadata
/// (reserved keys, keys outside gRPC's alphabet, values that are not
/// printable ASCII) are left out, and so is a binary value that is not
/// valid base64: it cannot be what the peer meant.
pub(crate) fn metadata_from_headers(headers: &HeaderMap) -> Metadata {
    let mut metadata = Metadata::new();
    for (name, value) in headers {
        let key = name.as_str();
        // Leaving out what cannot be metadata: nothing to report it to.
        let _ = if key.ends_with("-bin") {
            // Values may also be comma-separated base64 chunks.
            match value
                .as_bytes()
                .split(|b| *b == b',')
                .map(decode_binary)
                .collect::<Option<Vec<_>>>()
            {
                Some(parts) => metadata.append_bin(key, parts.concat()),
                None => continue,
            }
        } else {
            match value.to_str() {
                Ok(text) => metadata.append(key, text),
                Err(_) => continue,
            }
        };
    }
    metadata
}

/// Adds the entries of `metadata` to HTTP headers; binary values are
/// base64-encoded.
pub(crate) fn write_metadata(metadata: &Metadata, headers: &mut HeaderMap) {
    for (key, value) in metadata.iter() {
        // Keys and ASCII values were checked when they were added.
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            match value {
                MetadataValue::Ascii(text) => HeaderValue::from_str(text),
                MetadataValue::Binary(bytes) => HeaderValue::from_str(&encode_binary(bytes)),
            },
        ) else {
            continue;
        };
        headers.append(name, value);
    }
}

/// The headers of a call to `path` on `authority`, carrying `metadata` and
/// the time the call has left.
///
/// # Errors
/// INTERNAL when `path` cannot be a request path.
pub(crate) fn request(
    authority: &Authority,
    path: &'static str,
    metadata: &Metadata,
    timeout: Option<Duration>,
) -> Result<http::Request<()>, Status> {
    let invalid = |err: &dyn std::fmt::Display| {
        Status::internal(format!("invalid request for {path}: {err}"))
    };
    // The URI is put together from parts that need no parsing or copying.
    let uri = Uri::builder()
        .scheme(Scheme::HTTP)
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
            "grpc-timeout",
            HeaderValue::from_str(&value).map_err(|err| invalid(&err))?,
        );
    }
    write_metadata(metadata, headers);
    Ok(request)
}

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
}

/// Reads the headers of a request that passed [`check_request`].
///
/// # Errors
/// UNIMPLEMENTED for a message encoding other than `identity`, INTERNAL for
/// a malformed `grpc-timeout`.
pub(crate) fn read_request(headers: &HeaderMap) -> Result<RequestHead, Status> {
    if let Some(encoding) = headers.get("grpc-encoding")
        && encoding != "identity"
    {
        return Err(Status::unimplemented(format!(
            "message encoding {encoding:?} is not supported"
        )));
    }
    let timeout = match headers.get("grpc-timeout") {
        Some(value) => Some(
            timeout::decode(value.as_bytes())
                .ok_or_else(|| Status::internal(format!("malformed grpc-timeout {value:?}")))?,
        ),
        None => None,
    };
    Ok(RequestHead {
        metadata: metadata_from_headers(headers),
        timeout,
    })
}

/// The headers of a response carrying `metadata`.
pub(crate) fn response(metadata: &Metadata) -> http::Response<()> {
    let mut response = http::Response::new(());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    write_metadata(metadata, headers);
    response
}

/// An answer to a request that is not a gRPC call: an HTTP status alone.
pub(crate) fn plain_response(status: StatusCode) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = status;
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_base64_for_binary_values() {
        let mut metadata = Metadata::new();
        metadata.insert("plain", "value").unwrap();
        metadata
            .insert_bin("blob-bin", vec![0u8, 1, 2, 0xfe, 0xff])
            .unwrap();
        let mut headers = HeaderMap::new();
        write_metadata(&metadata, &mut headers);
        assert_eq!(headers["blob-bin"], "AAEC/v8");
        headers.insert("grpc-status", HeaderValue::from_static("0"));
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        assert_eq!(metadata_from_headers(&headers), metadata);
    }

    #[test]
    fn padded_and_comma_separated_binary_values_are_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert("a-bin", HeaderValue::from_static("AAEC/v8="));
        headers.insert("b-bin", HeaderValue::from_static("AQ, Ag"));
        headers.insert("bad-bin", HeaderValue::from_static("!!!"));
        let metadata = metadata_from_headers(&headers);
        assert_eq!(
            metadata.get_bin("a-bin").map(|b| &b[..]),
            Some(&[0u8, 1, 2, 0xfe, 0xff][..])
        );
        assert_eq!(
            metadata.get_bin("b-bin").map(|b| &b[..]),
            Some(&[1u8, 2][..])
        );
        assert_eq!(metadata.get_bin("bad-bin"), None);
        assert_eq!(
            decode_binary(encode_binary(b"xyz").as_bytes()).unwrap(),
            b"xyz"
        );
    }

    #[test]
    fn headers_that_cannot_be_metadata_are_left_out() {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", HeaderValue::from_static("grpc-go/1.0"));
        headers.insert("grpc-timeout", HeaderValue::from_static("1S"));
        headers.insert("x!odd", HeaderValue::from_static("v"));
        headers.insert("kept", HeaderValue::from_static("v"));
        let metadata = metadata_from_headers(&headers);
        assert_eq!(
            metadata.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["kept"]
        );
    }

    #[test]
    fn content_types_are_grpc_with_a_subtype_or_parameters_only() {
        let grpc = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_grpc(&headers)
        };
        assert!(grpc("application/grpc"));
        assert!(grpc("application/grpc+proto"));
        assert!(grpc("application/grpc;charset=utf-8"));
        assert!(!grpc("application/grpc-web"));
        assert!(!grpc("application/grpcx"));
        assert!(!grpc("text/plain"));
    }
}
