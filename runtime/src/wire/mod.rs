//! The protobuf binary wire format: varints, zigzag, fixed-width values,
//! length-delimited values, groups, skipping and unknown fields.
//!
//! This layer knows bytes and tags, not messages: the generated code and
//! [`crate::Message`] build on it. Nothing here does I/O.

mod decoder;
mod error;
mod unknown;
mod varint;
mod writer;

pub use decoder::Decoder;
pub use error::{DecodeError, DecodeErrorKind};
pub use unknown::UnknownFields;
pub use varint::{
    count_varints, get_varint, put_varint, unzigzag32, unzigzag64, varint_len, zigzag32, zigzag64,
};
pub use writer::{Sizes, Writer};

/// How deeply messages and groups may nest before decoding fails, as in the
/// reference implementations.
pub const RECURSION_LIMIT: u32 = 100;

/// The memory a decoded message may take beyond its strings and bytes, per
/// byte of its input: the buffers of its repeated fields (counted by
/// capacity), its map nodes and its boxes. A hostile input (thousands of
/// empty entries of a large message type, each a few bytes on the wire)
/// fails with [`DecodeErrorKind::MemoryLimit`] instead of taking
/// gigabytes; ordinary messages take a few times their size.
pub const MEMORY_PER_INPUT_BYTE: usize = 64;

/// Memory any message may take whatever its size, on top of
/// [`MEMORY_PER_INPUT_BYTE`], so that a small input may still decode into
/// a few large values.
pub const MEMORY_ALLOWANCE: usize = 64 * 1024;

/// The largest field number a tag may carry (2^29 - 1).
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// The wire type in the low three bits of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireType {
    /// `int32`, `int64`, `uint32`, `uint64`, `sint32`, `sint64`, `bool`, `enum`.
    Varint = 0,
    /// `fixed64`, `sfixed64`, `double`.
    Fixed64 = 1,
    /// `string`, `bytes`, messages, packed repeated fields.
    LengthDelimited = 2,
    /// The start of a proto2 group.
    StartGroup = 3,
    /// The end of a proto2 group.
    EndGroup = 4,
    /// `fixed32`, `sfixed32`, `float`.
    Fixed32 = 5,
}

impl WireType {
    fn from_bits(bits: u64) -> Option<Self> {
        Some(match bits {
            0 => Self::Varint,
            1 => Self::Fixed64,
            2 => Self::LengthDelimited,
            3 => Self::StartGroup,
            4 => Self::EndGroup,
            5 => Self::Fixed32,
            _ => return None,
        })
    }
}

/// The tag of field `number` with wire type `wire_type`, as the varint value it is encoded as.
#[inline]
pub const fn tag(number: u32, wire_type: WireType) -> u64 {
    ((number as u64) << 3) | wire_type as u64
}

/// The bytes the tag of field `number` takes.
#[inline]
pub const fn tag_len(number: u32) -> usize {
    varint_len((number as u64) << 3)
}
