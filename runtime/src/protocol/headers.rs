//! What both sides share: the content type, metadata as headers, and the
//! compression of messages.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::frame::{ACCEPTED, Compression};
use crate::metadata::is_reserved;
use crate::{Metadata, MetadataValue};

/// The content type of gRPC requests and responses.
pub(super) const CONTENT_TYPE: &str = "application/grpc";

// gRPC's own headers, made once at compile time: a name given as a `&str`
// is parsed and checked at every use.
pub(super) const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
pub(super) const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
pub(super) const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
pub(super) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub(super) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
pub(super) const GRPC_STATUS_DETAILS: HeaderName =
    HeaderName::from_static("grpc-status-details-bin");
#[cfg(feature = "client")]
pub(super) const GRPC_RETRY_PUSHBACK_MS: HeaderName =
    HeaderName::from_static("grpc-retry-pushback-ms");
#[cfg(feature = "client")]
pub(super) const GRPC_PREVIOUS_RPC_ATTEMPTS: HeaderName =
    HeaderName::from_static("grpc-previous-rpc-attempts");

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

/// The user metadata among HTTP headers. Reserved headers are left out, so
/// is a value that is not printable ASCII, and so is a binary value that
/// is not valid base64: it cannot be what the peer meant.
pub(crate) fn metadata_from_headers(headers: &HeaderMap) -> Metadata {
    let mut metadata = Metadata::new();
    for (name, value) in headers {
        let key = name.as_str();
        if is_reserved(key) {
            continue;
        }
        let value = if key.ends_with("-bin") {
            // Values may also be comma-separated base64 chunks.
            match value
                .as_bytes()
                .split(|b| *b == b',')
                .map(decode_binary)
                .collect::<Option<Vec<_>>>()
            {
                Some(parts) => MetadataValue::Binary(parts.concat().into()),
                None => continue,
            }
        } else {
            match value.to_str() {
                Ok(text) => MetadataValue::Ascii(text.to_owned()),
                Err(_) => continue,
            }
        };
        metadata.push_received(key, value);
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

/// The compression a peer's messages come in, from its `grpc-encoding`:
/// none without one or for `identity`.
///
/// # Errors
/// The encoding named, when this build does not have it.
pub(crate) fn read_encoding(headers: &HeaderMap) -> Result<Option<Compression>, String> {
    let Some(value) = headers.get(GRPC_ENCODING) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok("identity") => Ok(None),
        Ok(name) => Compression::from_name(name)
            .map(Some)
            .ok_or_else(|| name.to_owned()),
        Err(_) => Err(format!("{value:?}")),
    }
}

/// Writes `grpc-encoding` for the messages' `compression`, if any.
pub(crate) fn write_encoding(compression: Option<Compression>, headers: &mut HeaderMap) {
    if let Some(compression) = compression {
        headers.insert(GRPC_ENCODING, HeaderValue::from_static(compression.name()));
    }
}

/// Writes `grpc-accept-encoding` with every compression this build has, if
/// it has any.
pub(crate) fn write_accepted(headers: &mut HeaderMap) {
    if ACCEPTED != "identity" {
        headers.insert(GRPC_ACCEPT_ENCODING, HeaderValue::from_static(ACCEPTED));
    }
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
        headers.insert(
            "not-ascii",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
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
