//! The gRPC message frame: a compressed flag, a 4-byte big-endian length and
//! the encoded message (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
//! Bytes in, bytes out: no I/O here.

use std::cell::RefCell;

use bytes::{Buf, Bytes, BytesMut};

use crate::message::Measured;
use crate::{Message, Status};

/// The bytes before each message: the compressed flag and the length.
pub(crate) const HEADER_LEN: usize = 5;

/// The default limit on a received message, as in grpc-go and grpc-java.
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 4 * 1024 * 1024;

/// The default limit on a sent message, as in grpc-go: the largest length a
/// peer that keeps lengths in a signed 32-bit integer can read.
pub const DEFAULT_MAX_SEND_SIZE: usize = i32::MAX as usize;

/// The largest message sent, whatever the limit: its frame must fit in the
/// 2^31 - 1 bytes that h2 takes in one piece (and in the frame's 4-byte length).
const SEND_MAX: usize = i32::MAX as usize - HEADER_LEN;

/// Frames up to this size are copied into a block shared with other frames.
const SHARED_FRAME_MAX: usize = 16 * 1024;

/// The size of a block that small frames are carved out of.
const BLOCK_SIZE: usize = 64 * 1024;

/// A thread's buffers for [`Frame::encode`].
#[derive(Default)]
struct FrameBuffers {
    /// Where a small frame is encoded before it is copied into the block.
    scratch: Vec<u8>,
    /// What is left of the block that small frames are carved out of.
    block: BytesMut,
}

thread_local! {
    static FRAME_BUFFERS: RefCell<FrameBuffers> = RefCell::default();
}

/// A message measured for sending, within the send limit: its frame (the
/// uncompressed flag, the length and the encoding) is ready to be written.
pub(crate) struct Frame<'a, M>(Measured<'a, M>);

impl<'a, M: Message> Frame<'a, M> {
    /// Measures `message` for a frame.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED when the message is larger than `max_size` bytes,
    /// or than a frame can carry; nothing is encoded then.
    #[inline]
    pub(crate) fn measure(message: &'a M, max_size: usize) -> Result<Self, Status> {
        let measured = Measured::new(message);
        let max_size = max_size.min(SEND_MAX);
        if measured.len() > max_size {
            return Err(Status::resource_exhausted(format!(
                "{} message to send larger than max ({} vs. {max_size})",
                M::NAME,
                measured.len()
            )));
        }
        Ok(Self(measured))
    }

    /// The length of the frame, header included.
    #[inline]
    fn len(&self) -> usize {
        HEADER_LEN + self.0.len()
    }

    /// The frame in a buffer of its own.
    ///
    /// A small frame takes no allocation of its own: it is a slice of a
    /// block that the frames encoded on this thread share, which is freed
    /// once the last of them is dropped. A large frame is encoded into a
    /// buffer of its exact size.
    pub(crate) fn encode(&self) -> Bytes {
        let len = self.len();
        if len <= SHARED_FRAME_MAX
            && let Some(frame) = FRAME_BUFFERS.with(|buffers| {
                // Busy only if encoding a message encodes frames: not worth sharing then.
                let mut buffers = buffers.try_borrow_mut().ok()?;
                let FrameBuffers { scratch, block } = &mut *buffers;
                scratch.clear();
                self.write(scratch);
                if block.capacity() < len {
                    // Reuses the block when its frames are all gone, else starts a
                    // new one; the frames of the old one keep it alive.
                    block.reserve(BLOCK_SIZE);
                }
                block.extend_from_slice(scratch);
                Some(block.split().freeze())
            })
        {
            return frame;
        }
        let mut buf = Vec::with_capacity(len);
        self.write(&mut buf);
        buf.into()
    }

    /// Appends the frame to `buf`.
    #[inline]
    pub(crate) fn write(&self, buf: &mut Vec<u8>) {
        buf.reserve(self.len());
        buf.push(0);
        // Within `SEND_MAX`, checked by `measure`.
        buf.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        self.0.write(buf);
    }
}

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
    chunks: std::collections::VecDeque<Bytes>,
    /// The bytes in `pending` and `chunks`.
    buffered: usize,
    state: State,
    /// The error that ended the stream: once a frame is bad, what follows
    /// cannot be trusted to start a frame.
    failed: Option<Status>,
    max_size: usize,
    /// What the messages are (`request` or `response`), for decode errors.
    what: &'static str,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    Body { len: usize },
}

impl FrameDecoder {
    /// A decoder of `what` (`request` or `response`) messages, refusing
    /// messages larger than `max_size` bytes.
    pub(crate) fn new(max_size: usize, what: &'static str) -> Self {
        Self {
            pending: BytesMut::new(),
            chunks: Default::default(),
            buffered: 0,
            state: State::Header,
            failed: None,
            max_size,
            what,
        }
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

    /// The next complete message, decoded, if the chunks so far hold one.
    ///
    /// A message within one chunk (the common case) is decoded where it
    /// lies, its `bytes` fields sharing the chunk; one spread over chunks is
    /// joined first.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED for a message over the limit (checked before
    /// buffering it), INTERNAL for a compressed message (no `grpc-encoding`
    /// was agreed), an invalid flag or a message that does not decode.
    ///
    /// An error ends the stream: every later call returns it again.
    pub(crate) fn next<T: Message>(&mut self) -> Result<Option<T>, Status> {
        if let Some(status) = &self.failed {
            return Err(status.clone());
        }
        let result = self.decode_next();
        if let Err(status) = &result {
            self.failed = Some(status.clone());
        }
        result
    }

    fn decode_next<T: Message>(&mut self) -> Result<Option<T>, Status> {
        let Some(len) = self.next_len()? else {
            return Ok(None);
        };
        let decoded = if let Some(front) = self.front_holding(len) {
            let decoded = crate::message::decode_prefix(front, len);
            self.consume_front(len);
            decoded
        } else {
            T::decode_bytes(&self.take(len))
        };
        decoded
            .map(Some)
            .map_err(|err| Status::internal(format!("could not decode the {}: {err}", self.what)))
    }

    /// The length of the next message once it is all buffered; the frame
    /// header is consumed by then.
    fn next_len(&mut self) -> Result<Option<usize>, Status> {
        loop {
            match self.state {
                State::Header => {
                    if self.buffered < HEADER_LEN {
                        return Ok(None);
                    }
                    let (flag, len) = self.header();
                    match flag {
                        0 => {}
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
                    self.state = State::Body { len };
                }
                State::Body { len } => {
                    if self.buffered < len {
                        return Ok(None);
                    }
                    self.state = State::Header;
                    return Ok(Some(len));
                }
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
    use crate::wkt::{BytesValue, StringValue};

    fn encode_frame<M: Message>(message: &M) -> Bytes {
        Frame::measure(message, DEFAULT_MAX_SEND_SIZE)
            .expect("within the send limit")
            .encode()
    }

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
        while let Some(message) = decoder.next::<StringValue>().unwrap() {
            out.push(message.value);
        }
        out
    }

    #[test]
    fn frames_from_shared_blocks_stay_intact() {
        // Sizes on both sides of the shared-frame limit, enough frames to
        // fill several blocks, and frames dropped while others are kept.
        let message = |i: usize| BytesValue {
            value: Bytes::from(vec![i as u8; (i * 997) % (SHARED_FRAME_MAX + 2048)]),
            ..Default::default()
        };
        let mut kept = Vec::new();
        for i in 0..200 {
            let frame = encode_frame(&message(i));
            if i % 3 != 0 {
                kept.push((i, frame));
            }
        }
        for (i, frame) in kept {
            let expected = message(i);
            assert_eq!(frame[0], 0, "frame {i}");
            let len = u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize;
            assert_eq!(len, frame.len() - HEADER_LEN, "frame {i}");
            assert_eq!(
                BytesValue::decode(&frame[HEADER_LEN..]).unwrap(),
                expected,
                "frame {i}"
            );
        }
    }

    #[test]
    fn consecutive_small_frames_are_adjacent_in_one_block() {
        let small = |text: &str| {
            encode_frame(&StringValue {
                value: text.into(),
                ..Default::default()
            })
        };
        let end = |frame: &Bytes| frame.as_ptr() as usize + frame.len();
        // The first may start a new block; the second follows it there.
        let first = small("first");
        let second = small("second");
        assert_eq!(end(&first), second.as_ptr() as usize);
        // A large frame has a buffer of its own, and the block goes on after it.
        let large = encode_frame(&BytesValue {
            value: Bytes::from(vec![7; SHARED_FRAME_MAX + 1]),
            ..Default::default()
        });
        assert_ne!(end(&second), large.as_ptr() as usize);
        let third = small("third");
        assert_eq!(end(&second), third.as_ptr() as usize);
    }

    #[test]
    fn messages_over_the_send_limit_are_resource_exhausted() {
        let text = |len: usize| StringValue {
            value: "x".repeat(len),
            ..Default::default()
        };
        // A tag and a one-byte length before the text.
        assert!(Frame::measure(&text(98), 100).is_ok());
        let err = Frame::measure(&text(99), 100)
            .err()
            .expect("over the limit");
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(
            err.message(),
            "google.protobuf.StringValue message to send larger than max (101 vs. 100)"
        );
    }

    #[test]
    fn a_message_too_large_to_send_is_refused_whatever_the_limit() {
        // Zeroed allocations are mapped lazily: these 2 GiB are measured, never touched.
        let blob = |len: usize| BytesValue {
            value: Bytes::from(vec![0u8; len]),
            ..Default::default()
        };
        // A tag and a five-byte length before the value.
        assert!(Frame::measure(&blob(SEND_MAX - 6), usize::MAX).is_ok());
        let err = Frame::measure(&blob(SEND_MAX - 5), usize::MAX)
            .err()
            .expect("over what can be sent");
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(
            err.message(),
            format!(
                "google.protobuf.BytesValue message to send larger than max ({} vs. {SEND_MAX})",
                SEND_MAX + 1
            )
        );
    }

    #[test]
    fn frames_split_at_every_boundary_decode_the_same() {
        let wire = frames(&["first", "", "third message"]);
        for cut in 0..=wire.len() {
            let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
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
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
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
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
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
            if let Some(message) = decoder.next::<BytesValue>().unwrap() {
                assert_eq!(i, wire.len() - 1, "decoded only once all of it is there");
                decoded = Some(message);
            }
        }
        assert_eq!(decoded, Some(message));
        decoder.finish().unwrap();
    }

    #[test]
    fn after_a_bad_frame_the_stream_stays_failed() {
        let mut decoder = FrameDecoder::new(10, "request");
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 11]));
        let first = decoder.next::<StringValue>().unwrap_err();
        // The body that follows looks like a valid frame; it is not read as one.
        decoder.push(Bytes::from(frames(&["hidden"])));
        let again = decoder.next::<StringValue>().unwrap_err();
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
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
        decoder.push(wire.clone());
        // The value follows the frame header, the field's tag and its length.
        let first = decoder.next::<BytesValue>().unwrap().unwrap();
        assert_eq!(first.value.as_ptr(), wire[HEADER_LEN + 2..].as_ptr());
        let second = decoder.next::<BytesValue>().unwrap().unwrap();
        assert_eq!(second.value, "next");
        assert_eq!(decoder.next::<BytesValue>().unwrap(), None);
        decoder.finish().unwrap();
    }

    #[test]
    fn a_message_that_does_not_decode_is_internal_and_names_the_side() {
        // Field 1 of StringValue with a length running past the message.
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "response");
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 2, 0x0a, 5]));
        let err = decoder.next::<StringValue>().unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(
            err.message().starts_with("could not decode the response: "),
            "{}",
            err.message()
        );
    }

    #[test]
    fn oversized_messages_are_resource_exhausted_before_buffering() {
        let mut decoder = FrameDecoder::new(10, "request");
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 11]));
        let err = decoder.next::<StringValue>().unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(
            err.message(),
            "received message larger than max (11 vs. 10)"
        );
    }

    #[test]
    fn a_compressed_flag_without_encoding_is_internal() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
        decoder.push(Bytes::from_static(&[1, 0, 0, 0, 0]));
        assert_eq!(
            decoder.next::<StringValue>().unwrap_err().code(),
            Code::Internal
        );
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
        decoder.push(Bytes::from_static(&[2, 0, 0, 0, 0]));
        assert_eq!(
            decoder.next::<StringValue>().unwrap_err().code(),
            Code::Internal
        );
    }

    #[test]
    fn ending_inside_a_frame_is_an_error() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_RECEIVE_SIZE, "request");
        decoder.push(Bytes::from_static(&[0, 0, 0, 0, 3, b'a']));
        assert_eq!(decoder.next::<StringValue>().unwrap(), None);
        assert_eq!(decoder.finish().unwrap_err().code(), Code::Internal);
    }
}
