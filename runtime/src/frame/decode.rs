//! Receiving: DATA chunks split into message payloads, with the size limit
//! checked before anything is buffered.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use super::{Compression, HEADER_LEN};
use crate::message::decode_prefix;
use crate::wire::DecodeErrorKind;
use crate::{Message, Status};

/// A DATA chunk up to this size that continues an incomplete frame is copied
/// rather than queued, so a peer that sends a message a few bytes per DATA
/// frame costs a copy of those bytes, not a queue entry (and a hold on the
/// connection's read buffer) each.
const COPIED_CHUNK_MAX: usize = 1024;

/// Splits a stream of DATA chunks into messages and decodes them.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    /// Bytes of an incomplete frame, carried over from earlier chunks.
    pending: BytesMut,
    /// Chunks not yet looked at (usually one), after `pending`.
    chunks: VecDeque<Bytes>,
    /// The bytes in `pending` and `chunks`.
    buffered: usize,
    state: State,
    /// The error that ended the stream: once a frame is bad, what follows
    /// cannot be trusted to start a frame.
    failed: Option<Status>,
    max_size: usize,
    /// The compression the peer said its compressed messages use.
    compression: Option<Compression>,
    /// Whether the last message taken was compressed.
    last_compressed: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    Body {
        len: usize,
        compressed: bool,
    },
    /// The message of `len` bytes is buffered, for `decode` to take.
    Ready {
        len: usize,
        compressed: bool,
    },
}

impl FrameDecoder {
    /// A decoder refusing messages larger than `max_size` bytes.
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            pending: BytesMut::new(),
            chunks: Default::default(),
            buffered: 0,
            state: State::Header,
            failed: None,
            max_size,
            compression: None,
            last_compressed: false,
        }
    }

    /// Takes compressed messages to be in `compression`, as the peer's
    /// `grpc-encoding` says.
    pub(crate) fn set_compression(&mut self, compression: Option<Compression>) {
        self.compression = compression;
    }

    /// Whether the last message decoded came compressed.
    #[cfg(feature = "server")]
    pub(crate) fn last_compressed(&self) -> bool {
        self.last_compressed
    }

    /// Adds a DATA chunk.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        let continues = self.buffered > 0;
        self.buffered += chunk.len();
        if continues && chunk.len() <= COPIED_CHUNK_MAX {
            // What is buffered already is the start of a frame (callers take
            // the complete ones with `next` before pushing more), which is
            // joined into `pending` to be decoded anyway.
            for queued in self.chunks.drain(..) {
                self.pending.extend_from_slice(&queued);
            }
            self.pending.extend_from_slice(&chunk);
        } else {
            self.chunks.push_back(chunk);
        }
    }

    /// Takes exactly `n` buffered bytes, joining what `pending` and the chunks hold.
    fn take(&mut self, n: usize) -> Bytes {
        while self.pending.len() < n {
            let Some(mut front) = self.chunks.pop_front() else {
                break;
            };
            let wanted = n - self.pending.len();
            if front.len() > wanted {
                self.pending.extend_from_slice(&front.split_to(wanted));
                self.chunks.push_front(front);
            } else {
                self.pending.extend_from_slice(&front);
            }
        }
        let taken = self.pending.split_to(n).freeze();
        self.buffered -= taken.len();
        taken
    }

    /// The first chunk, when nothing is pending before it and it holds `n` bytes.
    #[inline]
    fn front_holding(&mut self, n: usize) -> Option<&mut Bytes> {
        if !self.pending.is_empty() {
            return None;
        }
        self.chunks.front_mut().filter(|front| front.len() >= n)
    }

    /// Drops the first `n` bytes of the first chunk, which holds them.
    #[inline]
    fn consume_front(&mut self, n: usize) {
        if let Some(front) = self.chunks.front_mut() {
            front.advance(n);
            if front.is_empty() {
                self.chunks.pop_front();
            }
            self.buffered -= n;
        }
    }

    /// Reads the 5-byte header, known to be buffered: in place when one
    /// chunk holds it (the common case), else through `take`.
    fn header(&mut self) -> (u8, usize) {
        if let Some(front) = self.front_holding(HEADER_LEN) {
            let header = (
                front[0],
                u32::from_be_bytes([front[1], front[2], front[3], front[4]]) as usize,
            );
            self.consume_front(HEADER_LEN);
            return header;
        }
        let mut header = self.take(HEADER_LEN);
        (header.get_u8(), header.get_u32() as usize)
    }

    /// The bytes buffered, of messages or of a message not yet complete.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether the chunks so far hold a complete message, ready for
    /// [`FrameDecoder::decode`]; asked again before it is decoded, the answer
    /// stays the same.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED for a message over the limit (checked before
    /// buffering it), INTERNAL for a compressed message (no `grpc-encoding`
    /// was agreed) or an invalid flag.
    ///
    /// An error ends the stream: every later call returns it again.
    #[inline]
    pub(crate) fn ready(&mut self) -> Result<bool, Status> {
        if let Some(status) = &self.failed {
            return Err(status.clone());
        }
        self.next_len().map_err(|status| self.fail(status))
    }

    /// Decodes the message [`FrameDecoder::ready`] found, which is `what`
    /// (`request` or `response`), and consumes it.
    ///
    /// A message within one chunk (the common case) is decoded where it
    /// lies, its `bytes` fields sharing the chunk; one spread over chunks is
    /// joined first.
    ///
    /// # Errors
    /// INTERNAL when the message does not decode (the peer sent something
    /// other than what the method takes), which ends the stream as
    /// [`FrameDecoder::ready`]'s errors do, or when no message is ready.
    #[inline]
    pub(crate) fn decode<T: Message>(&mut self, what: &str) -> Result<T, Status> {
        let State::Ready { len, compressed } = self.state else {
            return Err(Status::internal(format!("no {what} message is ready")));
        };
        self.state = State::Header;
        self.last_compressed = compressed;
        if compressed {
            return self.decode_compressed(len, what);
        }
        let decoded = match self.front_holding(len) {
            Some(front) => {
                let decoded = decode_prefix(front, len);
                self.consume_front(len);
                decoded
            }
            None => T::decode_bytes(&self.take(len)),
        };
        decoded.map_err(|err| self.undecodable(&err, what))
    }

    /// Decompresses the message of `len` bytes that is ready, then decodes it.
    #[cold]
    fn decode_compressed<T: Message>(&mut self, len: usize, what: &str) -> Result<T, Status> {
        let compressed = self.take(len);
        // A compressed frame is only ready with a compression agreed.
        let Some(compression) = self.compression else {
            return Err(self.fail(Status::internal("no compression agreed")));
        };
        let message = compression
            .decompress(&compressed, self.max_size)
            .map_err(|status| self.fail(status))?;
        T::decode_bytes(&Bytes::from(message)).map_err(|err| self.undecodable(&err, what))
    }

    /// Ends the stream for a message that did not decode.
    #[cold]
    fn undecodable(&mut self, err: &crate::DecodeError, what: &str) -> Status {
        let message = format!("could not decode the {what}: {err}");
        // Too large in memory is the input's size, not its form.
        self.fail(match err.kind() {
            DecodeErrorKind::MemoryLimit => Status::resource_exhausted(message),
            _ => Status::internal(message),
        })
    }

    /// The next message, decoded, if the chunks so far hold it whole: what
    /// [`FrameDecoder::ready`] and [`FrameDecoder::decode`] do, in one step
    /// for the loop that drains a chunk of many small messages.
    ///
    /// # Errors
    /// As theirs.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn next<T: Message>(&mut self, what: &str) -> Result<Option<T>, Status> {
        if self.ready()? {
            self.decode(what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Ends the stream with `status`: every later call returns it; returns it.
    #[cold]
    pub(crate) fn fail(&mut self, status: Status) -> Status {
        self.failed = Some(status.clone());
        status
    }

    /// Whether the next message is all buffered (the state is then
    /// `Ready`, its frame header consumed).
    fn next_len(&mut self) -> Result<bool, Status> {
        loop {
            match self.state {
                State::Header => {
                    if self.buffered < HEADER_LEN {
                        return Ok(false);
                    }
                    let (flag, len) = self.header();
                    match flag {
                        0 => {}
                        1 if self.compression.is_some() => {}
                        // PROTOCOL-HTTP2.md: a Compressed-Flag of 1 without a
                        // Message-Encoding is a protocol error: INTERNAL.
                        1 => {
                            return Err(Status::internal(
                                "compressed message received, but no grpc-encoding was negotiated",
                            ));
                        }
                        _ => {
                            return Err(Status::internal(format!(
                                "invalid message frame flag {flag}"
                            )));
                        }
                    }
                    // Oversized messages are RESOURCE_EXHAUSTED, as grpc-go reports them.
                    if len > self.max_size {
                        return Err(Status::resource_exhausted(format!(
                            "received message larger than max ({len} vs. {})",
                            self.max_size
                        )));
                    }
                    self.state = State::Body {
                        len,
                        compressed: flag == 1,
                    };
                }
                State::Body { len, compressed } => {
                    if self.buffered < len {
                        return Ok(false);
                    }
                    self.state = State::Ready { len, compressed };
                    return Ok(true);
                }
                State::Ready { .. } => return Ok(true),
            }
        }
    }

    /// Checks that the stream did not end inside a frame.
    ///
    /// # Errors
    /// INTERNAL when bytes of an incomplete frame are left.
    pub(crate) fn finish(&self) -> Result<(), Status> {
        match (self.state, self.buffered) {
            (State::Header, 0) => Ok(()),
            _ => Err(Status::internal(
                "stream ended in the middle of a message frame",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::frame::{DEFAULT_MAX_RECEIVE_SIZE, tests::encode_frame};
    use crate::wkt::{BytesValue, StringValue};

    fn frames(messages: &[&str]) -> Vec<u8> {
        messages
            .iter()
            .flat_map(|m| {
                encode_frame(&StringValue {
                    value: (*m).into(),
                    ..Default::default()
                })
                .to_vec()
            })
            .collect()
    }

    fn decode_all(decoder: &mut FrameDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while decoder.ready().unwrap() {
            out.push(decoder.decode::<StringValue>("request").unwrap().value);
        }
        out
    }

    #[test]
    fn frames_split_at_every_boundary_decode_the_same() {
        let wire = frames(&["first", "", "third message"]);
        for cut in 0..=wire.len() {
            let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
            decoder.push(Bytes::copy_from_slice(&wire[..cut]));
            let mut got = decode_all(&mut decoder);
            decoder.push(Bytes::copy_from_slice(&wire[cut..]));
            got.extend(decode_all(&mut decoder));
            assert_eq!(got, ["first", "", "third message"], "cut at {cut}");
            decoder.finish().unwrap();
        }
    }

    #[test]
    fn byte_at_a_time_decodes() {
        let wire = frames(&["a", "bc"]);
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        let mut got = Vec::new();
        for byte in wire {
            decoder.push(Bytes::from(vec![byte]));
            got.extend(decode_all(&mut decoder));
        }
        assert_eq!(got, ["a", "bc"]);
    }

    #[test]
    fn a_message_a_byte_per_chunk_is_joined_as_it_comes() {
        let message = BytesValue {
            value: Bytes::from((0..200_000).map(|i| i as u8).collect::<Vec<u8>>()),
            ..Default::default()
        };
        let wire = encode_frame(&message);
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        let mut decoded = None;
        for i in 0..wire.len() {
            decoder.push(wire.slice(i..=i));
            assert!(
                decoder.chunks.len() <= 1,
                "{} chunks queued",
                decoder.chunks.len()
            );
            assert_eq!(
                decoder.buffered,
                decoder.pending.len() + decoder.chunks.iter().map(Bytes::len).sum::<usize>()
            );
            if decoder.ready().unwrap() {
                assert_eq!(i, wire.len() - 1, "decoded only once all of it is there");
                decoded = Some(decoder.decode::<BytesValue>("request").unwrap());
            }
        }
        assert_eq!(decoded, Some(message));
        decoder.finish().unwrap();
    }

    #[test]
    fn after_a_bad_frame_the_stream_stays_failed() {
        let mut decoder = FrameDecoder::new(10);
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 11]));
        let first = decoder.ready().unwrap_err();
        // The body that follows looks like a valid frame; it is not read as one.
        decoder.push(Bytes::from(frames(&["hidden"])));
        let again = decoder.ready().unwrap_err();
        assert_eq!(
            (again.code(), again.message()),
            (first.code(), first.message())
        );
    }

    #[test]
    fn a_message_within_one_chunk_shares_it() {
        let value = |text: &'static str| BytesValue {
            value: Bytes::from_static(text.as_bytes()),
            ..Default::default()
        };
        let mut wire = encode_frame(&value("zero-copy")).to_vec();
        wire.extend_from_slice(&encode_frame(&value("next")));
        let wire = Bytes::from(wire);
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        decoder.push(wire.clone());
        // The value follows the frame header, the field's tag and its length.
        assert!(decoder.ready().unwrap());
        assert!(decoder.ready().unwrap(), "asking again changes nothing");
        let first = decoder.decode::<BytesValue>("request").unwrap();
        assert_eq!(first.value.as_ptr(), wire[HEADER_LEN + 2..].as_ptr());
        assert!(decoder.ready().unwrap());
        let second = decoder.decode::<BytesValue>("request").unwrap();
        assert_eq!(second.value, "next");
        assert!(!decoder.ready().unwrap());
        let err = decoder.decode::<BytesValue>("request").unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        decoder.finish().unwrap();
    }

    #[test]
    fn oversized_messages_are_resource_exhausted_before_buffering() {
        let mut decoder = FrameDecoder::new(10);
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 11]));
        let err = decoder.ready().unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(
            err.message(),
            "received message larger than max (11 vs. 10)"
        );
    }

    #[test]
    fn a_compressed_flag_without_encoding_is_internal() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        decoder.push(Bytes::from_static(&[1, 0, 0, 0, 0]));
        assert_eq!(decoder.ready().unwrap_err().code(), Code::Internal);
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        decoder.push(Bytes::from_static(&[2, 0, 0, 0, 0]));
        assert_eq!(decoder.ready().unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn ending_inside_a_frame_is_an_error() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 3, b'a']));
        assert!(!decoder.ready().unwrap());
        assert_eq!(decoder.finish().unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn a_message_that_does_not_decode_is_internal_names_the_side_and_ends_the_stream() {
        // Field 1 of StringValue with a length running past the message.
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE);
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 2, 0x0a, 5]));
        decoder.push(Bytes::from(frames(&["next"])));
        assert!(decoder.ready().unwrap());
        let err = decoder.decode::<StringValue>("response").unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(
            err.message().starts_with("could not decode the response: "),
            "{}",
            err.message()
        );
        assert_eq!(decoder.ready().unwrap_err().message(), err.message());
    }
}
