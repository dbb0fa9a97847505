//! The gRPC message frame: a compressed flag, a 4-byte big-endian length and
//! the encoded message (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
//! Bytes in, bytes out: no I/O here.
//!
//! [`Frame`] measures and encodes one message for sending, compressed or
//! not; [`FrameDecoder`] splits received DATA chunks into messages,
//! decompresses those that are, and decodes each where it lies.

mod compression;
mod decode;
mod encode;

pub use compression::Compression;
pub(crate) use compression::{ACCEPTED, Accepted};
pub(crate) use decode::FrameDecoder;
pub(crate) use encode::Frame;

/// The bytes before each message: the compressed flag and the length.
pub(crate) const HEADER_LEN: usize = 5;

/// The default limit on a received message, as in grpc-go and grpc-java.
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 4 * 1024 * 1024;

/// The default limit on a sent message, as in grpc-go: the largest length a
/// peer that keeps lengths in a signed 32-bit integer can read.
pub const DEFAULT_MAX_SEND_SIZE: usize = i32::MAX as usize;

#[cfg(test)]
pub(crate) mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::Message;

    /// `message` as a frame, for tests that need wire bytes.
    pub(crate) fn encode_frame<M: Message>(message: &M) -> Bytes {
        Frame::measure(message, DEFAULT_MAX_SEND_SIZE)
            .expect("within the send limit")
            .encode()
    }
}
