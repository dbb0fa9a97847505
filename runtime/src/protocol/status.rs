//! The status of a call in trailers (or in the headers of a trailers-only
//! response): `grpc-status`, the percent-encoded `grpc-message`, and
//! `grpc-status-details-bin`.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::headers::{decode_binary, encode_binary, metadata_from_headers, write_metadata};
use crate::{Code, Status};

/// The code's number as the text `grpc-status` carries, from a constant:
/// made from a number, the value would be an allocation per call.
fn code_value(code: Code) -> HeaderValue {
    const NUMBERS: [&str; 17] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    ];
    HeaderValue::from_static(NUMBERS[code.as_i32() as usize])
}

/// The status as trailers (or in a trailers-only response's headers).
pub(crate) fn write_status(status: &Status, headers: &mut HeaderMap) {
    headers.insert(
        HeaderName::from_static("grpc-status"),
        code_value(status.code()),
    );
    // Both values are printable ASCII by construction, so they always convert.
    if !status.message().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_message(status.message()))
    {
        headers.insert(HeaderName::from_static("grpc-message"), value);
    }
    if !status.details_bin().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_binary(status.details_bin()))
    {
        headers.insert(HeaderName::from_static("grpc-status-details-bin"), value);
    }
    write_metadata(status.metadata(), headers);
}

/// The status in trailers (or in a trailers-only response's headers).
///
/// As in grpc-go: UNKNOWN when there is no `grpc-status`, INTERNAL when it
/// or `grpc-status-details-bin` is malformed.
pub(crate) fn read_status(headers: &HeaderMap) -> Status {
    let Some(code) = headers.get("grpc-status") else {
        return Status::unknown("the response ended without a grpc-status");
    };
    let code = match code.to_str().ok().and_then(|c| c.parse::<i32>().ok()) {
        Some(code) => Code::from_i32(code),
        None => return Status::internal(format!("malformed grpc-status {code:?}")),
    };
    let message = headers
        .get("grpc-message")
        .map(|m| decode_message(m.as_bytes()))
        .unwrap_or_default();
    let mut status = Status::new(code, message);
    if let Some(details) = headers.get("grpc-status-details-bin") {
        match decode_binary(details.as_bytes()) {
            Some(details) => status = status.with_details_bin(details),
            None => return Status::internal("malformed grpc-status-details-bin: not base64"),
        }
    }
    *status.metadata_mut() = metadata_from_headers(headers);
    status
}

/// Percent-encodes a `grpc-message`: bytes outside printable ASCII, and `%`
/// itself, become `%XX` (PROTOCOL-HTTP2.md, "Percent-Encoded").
fn encode_message(message: &str) -> String {
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

/// Decodes a percent-encoded `grpc-message`. Malformed escapes are kept as
/// they are, and invalid UTF-8 is replaced, as the spec asks of receivers.
fn decode_message(encoded: &[u8]) -> String {
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
    fn every_code_is_sent_as_its_number() {
        for number in 0..17 {
            let code = Code::from_i32(number);
            assert_eq!(code_value(code), number.to_string().as_str());
        }
    }

    #[test]
    fn messages_are_percent_encoded_and_decoded() {
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n 100%";
        let encoded = encode_message(message);
        assert!(
            encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "{encoded}"
        );
        assert!(encoded.ends_with(" 100%25"), "{encoded}");
        assert_eq!(decode_message(encoded.as_bytes()), message);
        // A malformed escape is kept; invalid UTF-8 is replaced.
        assert_eq!(decode_message(b"50%zz"), "50%zz");
        assert_eq!(decode_message(b"%FF"), "\u{fffd}");
    }

    #[test]
    fn a_status_round_trips_through_trailers() {
        let mut status = Status::not_found("no user ☺").with_details_bin(vec![1, 2, 3]);
        status.metadata_mut().insert("retry-after", "5").unwrap();
        let mut trailers = HeaderMap::new();
        write_status(&status, &mut trailers);
        assert_eq!(read_status(&trailers), status);
    }

    #[test]
    fn missing_or_malformed_statuses_follow_grpc_go() {
        assert_eq!(read_status(&HeaderMap::new()).code(), Code::Unknown);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("x"));
        assert_eq!(read_status(&trailers).code(), Code::Internal);
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        trailers.insert("grpc-status-details-bin", HeaderValue::from_static("!!"));
        assert_eq!(read_status(&trailers).code(), Code::Internal);
    }
}
