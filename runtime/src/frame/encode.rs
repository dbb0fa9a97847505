//! Sending: a message measured against the send limit, then written as a
//! frame into a buffer shared with other small frames.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

use super::{Compression, HEADER_LEN};
use crate::message::Measured;
use crate::{Message, Status};

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
    #[inline(always)]
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

    /// The frame in a buffer of its own, its message compressed with
    /// `compression` if there is one.
    ///
    /// # Errors
    /// As [`Frame::write_compressed`].
    #[inline]
    pub(crate) fn encode_with(&self, compression: Option<Compression>) -> Result<Bytes, Status> {
        let Some(compression) = compression else {
            return Ok(self.encode());
        };
        let mut buf = Vec::new();
        self.write_compressed(&mut buf, compression)?;
        Ok(buf.into())
    }

    /// Appends the frame to `buf`, its message compressed with
    /// `compression`.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED in the unlikely case that compressing makes the
    /// message too large for a frame; nothing is appended then.
    #[cold]
    pub(crate) fn write_compressed(
        &self,
        buf: &mut Vec<u8>,
        compression: Compression,
    ) -> Result<(), Status> {
        let mut plain = Vec::with_capacity(self.0.len());
        self.0.write(&mut plain);
        let start = buf.len();
        buf.extend_from_slice(&[1, 0, 0, 0, 0]);
        compression.compress(&plain, buf);
        let len = buf.len() - start - HEADER_LEN;
        if len > SEND_MAX {
            buf.truncate(start);
            return Err(Status::resource_exhausted(format!(
                "{} message to send too large for a frame once compressed ({len} bytes)",
                M::NAME
            )));
        }
        // Within `SEND_MAX`, checked above.
        buf[start + 1..start + HEADER_LEN].copy_from_slice(&(len as u32).to_be_bytes());
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::frame::tests::encode_frame;
    use crate::wkt::{BytesValue, StringValue};

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
}
