//! [`Writer`] and [`Sizes`]: encoding in two passes, each nested length computed once.
//!
//! The size pass walks the message tree in field order and records the length
//! of every nested message (and packed field) in [`Sizes`]. The write pass walks
//! the same tree in the same order and takes those lengths back for the length
//! prefixes, so no length is computed twice and deep nesting stays linear.

use super::{UnknownFields, WireType, put_varint, tag};

/// The lengths recorded by the size pass, in the order the write pass needs them.
#[derive(Debug, Default)]
pub struct Sizes(Vec<usize>);

impl Sizes {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves the next slot, to be filled with [`Sizes::set`] once the length is known.
    #[inline]
    pub fn slot(&mut self) -> usize {
        self.0.push(0);
        self.0.len() - 1
    }

    /// Records the length of the value that reserved `slot`.
    #[inline]
    pub fn set(&mut self, slot: usize, len: usize) {
        self.0[slot] = len;
    }
}

/// Appends an encoding to a buffer, taking nested lengths from a [`Sizes`] table.
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    sizes: &'a [usize],
    next: usize,
}

impl<'a> Writer<'a> {
    /// A writer appending to `buf`, with the lengths the size pass recorded.
    pub fn new(buf: &'a mut Vec<u8>, sizes: &'a Sizes) -> Self {
        Self {
            buf,
            sizes: &sizes.0,
            next: 0,
        }
    }

    /// The next length the size pass recorded.
    ///
    /// # Panics
    /// When the write pass asks for more lengths than the size pass recorded,
    /// which only a `Message` implementation whose two passes disagree can cause.
    #[inline]
    pub fn next_size(&mut self) -> usize {
        let len = self.sizes[self.next];
        self.next += 1;
        len
    }

    /// Writes a tag.
    #[inline]
    pub fn tag(&mut self, number: u32, wire_type: WireType) {
        put_varint(self.buf, tag(number, wire_type));
    }

    /// Writes a varint.
    #[inline]
    pub fn varint(&mut self, value: u64) {
        put_varint(self.buf, value);
    }

    /// Writes four little-endian bytes.
    #[inline]
    pub fn fixed32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// Writes eight little-endian bytes.
    #[inline]
    pub fn fixed64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// Writes a length prefix and then `bytes`.
    #[inline]
    pub fn length_delimited(&mut self, bytes: &[u8]) {
        put_varint(self.buf, bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// Writes the kept unknown fields as they arrived.
    #[inline]
    pub fn unknown(&mut self, fields: &UnknownFields) {
        if !fields.is_empty() {
            self.buf.extend_from_slice(fields.as_bytes());
        }
    }
}
