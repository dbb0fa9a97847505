//! The rules of gRPC over HTTP/2 (PROTOCOL-HTTP2.md) as pure functions:
//! request and response headers, metadata as headers, the status in
//! trailers, and `grpc-timeout`. `http` types in, `http` types out; the
//! transport sends them, and nothing here does I/O.
//!
//! `client` holds what the client writes and reads, `server` what the
//! server reads and writes, `headers` what both share.

#[cfg(feature = "client")]
mod client;
mod headers;
#[cfg(feature = "server")]
mod server;
mod timeout;

#[cfg(feature = "client")]
pub(crate) use client::{
    previous_attempts, read_response, read_status, request, response_compression, retry_pushback,
};
#[cfg(feature = "client")]
pub(crate) use headers::{metadata_from_headers, write_metadata};
#[cfg(feature = "server")]
pub(crate) use server::{
    check_request, plain_response, read_request, response, trailers_only, write_status,
};

/// Both sides together: what one writes, the other reads back.
#[cfg(all(test, feature = "client", feature = "server"))]
mod tests {
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;
    use crate::Status;

    #[test]
    fn a_status_round_trips_through_trailers() {
        let mut status = Status::not_found("no user ☺").with_details_bin(vec![1, 2, 3]);
        status.metadata_mut().insert("retry-after", "5").unwrap();
        let mut trailers = HeaderMap::new();
        write_status(&status, &mut trailers);
        assert_eq!(read_status(&trailers), Err(status));
    }

    #[test]
    fn messages_are_percent_encoded_and_decoded() {
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n 100%";
        let encoded = server::encode_message(message);
        assert!(
            encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "{encoded}"
        );
        assert!(encoded.ends_with(" 100%25"), "{encoded}");
        assert_eq!(client::decode_message(encoded.as_bytes()), message);
    }

    #[test]
    fn timeouts_decode_as_they_were_encoded() {
        for timeout in [
            Duration::from_millis(1),
            Duration::from_secs(7),
            Duration::from_nanos(12_345),
        ] {
            let encoded = timeout::encode(timeout);
            assert_eq!(timeout::decode(encoded.as_bytes()), Some(timeout));
        }
    }
}
