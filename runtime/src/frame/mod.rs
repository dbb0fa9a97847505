//! The gRPC message frame: a compressed flag, a 4-byte big-endian length and
//! the encoded message (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
//! Bytes in, bytes out: no I/O here.
//!
//! [`Frame`] measures and encodes one message for sending; [`FrameDecoder`]
//! splits received DATA chunks into message payloads, which the typed edges
//! decode with [`decode`].

mod decode;
mod encode;

pub(crate) use decode::FrameDecoder;
pub(crate) use encode::{Frame, WriteFrame};

use bytes::Bytes;

use crate::{Message, Status};

/// The bytes before each message: the compressed flag and the length.
pub(crate) const HEADER_LEN: usize = 5;

/// The default limit on a received message, as in grpc-go and grpc-java.
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 4 * 1024 * 1024;

/// The default limit on a sent message, as in grpc-go: the largest length a
/// peer that keeps lengths in a signed 32-bit integer can read.
pub const DEFAULT_MAX_SEND_SIZE: usize = i32::MAX as usize;

/// Decodes a received message payload, which is `what` (`request` or
/// `response`); its `bytes` fields share `payload`.
///
/// # Errors
/// INTERNAL when the payload is not an encoding of `T`: the peer sent
/// something other than what the method takes.
#[inline]
pub(crate) fn decode<T: Message>(payload: &Bytes, what: &str) -> Result<T, Status> {
    T::decode_bytes(payload)
        .map_err(|err| Status::internal(format!("could not decode the {what}: {err}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Code;
    use crate::wkt::StringValue;

    /// `message` as a frame, for tests that need wire bytes.
    pub(crate) fn encode_frame<M: Message>(message: &M) -> Bytes {
        Frame::measure(message, DEFAULT_MAX_SEND_SIZE)
            .expect("within the send limit")
            .encode()
    }

    #[test]
    fn a_message_that_does_not_decode_is_internal_and_names_the_side() {
        // Field 1 of StringValue with a length running past the message.
        let err = decode::<StringValue>(&Bytes::from_static(&[0x0a, 5]), "response").unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(
            err.message().starts_with("could not decode the response: "),
            "{}",
            err.message()
        );
    }
}
