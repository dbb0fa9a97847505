//! Entry points for the fuzz targets in `fuzz/`, compiled only when
//! cargo-fuzz builds them (`--cfg fuzzing`): the parsers that take bytes
//! from the network and are not public on their own.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::frame::FrameDecoder;
use crate::protocol;
use crate::wkt::BytesValue;

/// Feeds `data` to a frame decoder in chunks whose sizes `data` itself
/// chooses, taking every message out as it completes: decoding must fail
/// cleanly or succeed, and once failed, stay failed.
pub fn frame_decoder(data: &[u8]) {
    let Some((&limit, mut rest)) = data.split_first() else {
        return;
    };
    let mut decoder = FrameDecoder::new(usize::from(limit) * 16);
    let mut failed = None;
    while let Some((&size, after)) = rest.split_first() {
        let size = usize::from(size % 64).min(after.len());
        let (chunk, after) = after.split_at(size);
        rest = after;
        decoder.push(Bytes::copy_from_slice(chunk));
        loop {
            match decoder.ready() {
                Ok(true) => {
                    if let Err(status) = decoder.decode::<BytesValue>("request") {
                        failed = Some(status);
                        break;
                    }
                }
                Ok(false) => break,
                Err(status) => {
                    failed = Some(status);
                    break;
                }
            }
        }
        if let Some(status) = &failed {
            assert_eq!(decoder.ready().err().as_ref(), Some(status));
            return;
        }
    }
    let _ = decoder.finish();
}

/// Reads `data` as header lines (`name: value`, one per line) and runs what
/// reads headers from the network over them: metadata, `grpc-timeout`, a
/// request's head and a response's status.
pub fn headers(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let _ = protocol::metadata_from_headers(&headers);
    let _ = protocol::read_request(&headers);
    let _ = protocol::read_status(&headers);
    // The whole input as a `grpc-timeout`.
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut timeout = HeaderMap::new();
        timeout.insert("grpc-timeout", value);
        let _ = protocol::read_request(&timeout);
    }
}
