//! [`Decoder`]: a bounds-checked cursor over an encoded message.

use bytes::Bytes;

use super::{
    DecodeError, DecodeErrorKind, MEMORY_ALLOWANCE, MEMORY_PER_INPUT_BYTE, RECURSION_LIMIT,
    UnknownFields, WireType, get_varint, put_varint,
};

/// Reads the wire format from a byte slice.
///
/// Every read is checked against the end of the innermost length-delimited
/// value being decoded, so a length can never reach past its parent, and no
/// allocation is made for more bytes than the input holds.
pub struct Decoder<'a> {
    /// What is left of the innermost length-delimited value (or of the input).
    rest: &'a [u8],
    /// How many more levels of messages and groups may be entered.
    depth: u32,
    /// The `Bytes` that the input views, so `bytes` fields can share it instead of copying.
    shared: Option<&'a Bytes>,
    /// The memory the decoded values may still take (see [`Decoder::charge`]).
    budget: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf`; `bytes` fields are copied out of it.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            rest: buf,
            depth: RECURSION_LIMIT,
            shared: None,
            budget: buf
                .len()
                .saturating_mul(MEMORY_PER_INPUT_BYTE)
                .saturating_add(MEMORY_ALLOWANCE),
        }
    }

    /// A decoder over `buf` whose `bytes` fields are slices of it, which
    /// holds a message nested in others, so that messages within it may
    /// nest `depth` deep at most.
    #[cfg(feature = "json")]
    pub(crate) fn shared_within(buf: &'a Bytes, depth: u32) -> Self {
        Self {
            depth,
            ..Self::shared(buf)
        }
    }

    /// A decoder over `buf` whose `bytes` fields are slices of `buf` (no copy).
    #[inline]
    pub fn shared(buf: &'a Bytes) -> Self {
        Self::shared_prefix(buf, buf.len())
    }

    /// A decoder over the first `len` bytes of `buf`, whose `bytes` fields
    /// are slices of `buf` (no copy).
    ///
    /// # Panics
    /// When `len` is past the end of `buf`.
    #[inline]
    pub(crate) fn shared_prefix(buf: &'a Bytes, len: usize) -> Self {
        Self {
            shared: Some(buf),
            ..Self::new(&buf[..len])
        }
    }

    /// Counts `bytes` of memory that decoded values take beyond their input:
    /// the buffers of repeated fields, map nodes, boxes. Strings, bytes and
    /// unknown fields are not counted, being no larger than what they were
    /// read from.
    ///
    /// # Errors
    /// [`DecodeErrorKind::MemoryLimit`] past the budget, which is
    /// [`MEMORY_PER_INPUT_BYTE`] for each byte of input, plus
    /// [`MEMORY_ALLOWANCE`].
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(DecodeErrorKind::MemoryLimit.into()),
        }
    }

    /// Gives back `bytes` counted by [`Decoder::charge`] that are no longer
    /// taken (a buffer replaced by a larger one).
    #[inline]
    pub(crate) fn refund(&mut self, bytes: usize) {
        self.budget = self.budget.saturating_add(bytes);
    }

    /// How many bytes are left in the innermost length-delimited value (or the input).
    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// True once the innermost length-delimited value (or the input) is used up.
    #[inline(always)]
    pub fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// A mark of the current position, for [`Decoder::since`].
    #[inline]
    pub fn mark(&self) -> &'a [u8] {
        self.rest
    }

    /// The bytes read since `mark` was taken (in the same length-delimited value).
    #[inline]
    pub fn since(&self, mark: &'a [u8]) -> &'a [u8] {
        &mark[..mark.len() - self.rest.len()]
    }

    /// Consumes `len` bytes, which the caller has checked are there.
    #[inline(always)]
    fn advance(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        taken
    }

    /// Reads the next tag, or `None` at the end of the current value, or
    /// at the end-group tag that closes group `group`.
    ///
    /// The tag is not validated beyond fitting in 32 bits: callers match it
    /// against the tags they know and pass any other to [`Decoder::skip_tag`],
    /// which rejects field number 0 and wire types 6 and 7.
    #[inline(always)]
    pub fn next_tag(&mut self, group: Option<u32>) -> Result<Option<u32>, DecodeError> {
        if self.rest.is_empty() {
            return match group {
                None => Ok(None),
                Some(_) => Err(DecodeErrorKind::UnexpectedEof.into()),
            };
        }
        let tag = u32::try_from(self.varint()?).map_err(|_| DecodeErrorKind::InvalidFieldNumber)?;
        if tag & 7 == WireType::EndGroup as u32 {
            return if group == Some(tag >> 3) {
                Ok(None)
            } else {
                Err(DecodeErrorKind::UnmatchedEndGroup.into())
            };
        }
        Ok(Some(tag))
    }

    /// Reads a varint.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let (value, len) = get_varint(self.rest)?;
        self.advance(len);
        Ok(value)
    }

    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (bytes, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeErrorKind::UnexpectedEof)?;
        self.rest = rest;
        Ok(*bytes)
    }

    /// Reads four little-endian bytes.
    #[inline]
    pub fn fixed32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    /// Reads eight little-endian bytes.
    #[inline]
    pub fn fixed64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    /// Reads a length prefix, checked against what is left.
    #[inline(always)]
    fn length(&mut self) -> Result<usize, DecodeError> {
        let len = self.varint()?;
        if len > self.rest.len() as u64 {
            return Err(DecodeErrorKind::UnexpectedEof.into());
        }
        Ok(len as usize)
    }

    /// Reads a length-delimited value as a slice of the input.
    #[inline(always)]
    pub fn slice(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.length()?;
        Ok(self.advance(len))
    }

    /// Reads a length-delimited value as [`Bytes`], sharing the input when it is shared.
    #[inline]
    pub fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let slice = self.slice()?;
        Ok(match self.shared {
            Some(shared) => shared.slice_ref(slice),
            None => Bytes::copy_from_slice(slice),
        })
    }

    /// Reads a length-delimited value as UTF-8 text.
    #[inline(always)]
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.slice()?;
        if is_ascii(bytes) {
            // The ASCII check reads words at any alignment, where the full
            // check walks short or unaligned text a byte at a time.
            // SAFETY: bytes below 0x80 are each a whole UTF-8 character.
            #[allow(unsafe_code)]
            return Ok(unsafe { String::from_utf8_unchecked(bytes.to_vec()) });
        }
        // Checked after the copy: the copy is aligned, which the check's
        // word-at-a-time fast path needs, and the input often is not.
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeErrorKind::InvalidUtf8.into())
    }

    /// Enters one more level of nesting, failing past [`RECURSION_LIMIT`].
    #[inline]
    fn descend(&mut self) -> Result<(), DecodeError> {
        self.depth = self
            .depth
            .checked_sub(1)
            .ok_or(DecodeErrorKind::RecursionLimit)?;
        Ok(())
    }

    /// Runs `f` over the next length-delimited value and checks that `f`
    /// consumed exactly that value.
    #[inline]
    pub fn delimited<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        let len = self.length()?;
        let (inner, after) = self.rest.split_at(len);
        self.rest = inner;
        let result = f(self)?;
        if !self.rest.is_empty() {
            return Err(DecodeErrorKind::LengthMismatch.into());
        }
        self.rest = after;
        Ok(result)
    }

    /// Like [`Decoder::delimited`], one nesting level deeper: for embedded messages.
    #[inline]
    pub fn nested<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        self.descend()?;
        let result = self.delimited(f)?;
        self.depth += 1;
        Ok(result)
    }

    /// Runs `f` over the fields of a group that started with field `number`, one
    /// nesting level deeper; `f` returns once it has read the matching end-group tag.
    #[inline]
    pub fn group<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        self.descend()?;
        let result = f(self)?;
        self.depth += 1;
        Ok(result)
    }

    /// Skips the value after `tag`, which was just read.
    pub fn skip_tag(&mut self, tag: u32) -> Result<(), DecodeError> {
        let number = tag >> 3;
        if number == 0 {
            return Err(DecodeErrorKind::InvalidFieldNumber.into());
        }
        let wire_type =
            WireType::from_bits(u64::from(tag & 7)).ok_or(DecodeErrorKind::InvalidWireType)?;
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed64().map(drop),
            WireType::Fixed32 => self.fixed32().map(drop),
            WireType::LengthDelimited => self.slice().map(drop),
            WireType::StartGroup => self.group(|d| {
                while let Some(inner) = d.next_tag(Some(number))? {
                    d.skip_tag(inner)?;
                }
                Ok(())
            }),
            WireType::EndGroup => Err(DecodeErrorKind::UnmatchedEndGroup.into()),
        }
    }

    /// Skips the value after `tag` and keeps the field, tag and value, in `unknown`.
    #[inline(never)]
    pub fn skip_unknown(
        &mut self,
        tag: u32,
        unknown: &mut UnknownFields,
    ) -> Result<(), DecodeError> {
        let mark = self.mark();
        self.skip_tag(tag)?;
        let buf = unknown.buffer();
        put_varint(buf, u64::from(tag));
        buf.extend_from_slice(self.since(mark));
        Ok(())
    }
}

/// True when every byte of `bytes` is below 0x80.
///
/// Text up to 16 bytes, the usual length of a field value, is checked with
/// two overlapping reads of the first and last bytes instead of a byte loop.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let len = bytes.len();
    let spread = match len {
        0 => return true,
        1..=3 => u64::from(bytes[0] | bytes[len / 2] | bytes[len - 1]),
        4..=7 => match (bytes.first_chunk(), bytes.last_chunk()) {
            (Some(first), Some(last)) => {
                u64::from(u32::from_le_bytes(*first) | u32::from_le_bytes(*last))
            }
            _ => unreachable!("four bytes or more"),
        },
        8..=16 => match (bytes.first_chunk(), bytes.last_chunk()) {
            (Some(first), Some(last)) => u64::from_le_bytes(*first) | u64::from_le_bytes(*last),
            _ => unreachable!("eight bytes or more"),
        },
        _ => return bytes.is_ascii(),
    };
    spread & HIGH == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MAX_FIELD_NUMBER;

    fn kind<T: std::fmt::Debug>(result: Result<T, DecodeError>) -> DecodeErrorKind {
        result.expect_err("decoding should fail").kind()
    }

    /// Reads a tag and skips its value.
    fn skip_one(input: &[u8]) -> Result<(), DecodeError> {
        let mut d = Decoder::new(input);
        let tag = d.next_tag(None)?.expect("a tag");
        d.skip_tag(tag)
    }

    #[test]
    fn tags_with_bad_numbers_or_wire_types_are_rejected() {
        assert_eq!(
            kind(skip_one(&[0x00, 0x00])),
            DecodeErrorKind::InvalidFieldNumber
        );
        assert_eq!(kind(skip_one(&[0x07])), DecodeErrorKind::InvalidFieldNumber);
        assert_eq!(kind(skip_one(&[0x0e])), DecodeErrorKind::InvalidWireType);
        assert_eq!(kind(skip_one(&[0x0f])), DecodeErrorKind::InvalidWireType);
        // Field number 2^29 does not fit.
        assert_eq!(
            kind(Decoder::new(&[0x80, 0x80, 0x80, 0x80, 0x20]).next_tag(None)),
            DecodeErrorKind::InvalidFieldNumber
        );
        let max = Decoder::new(&[0xf8, 0xff, 0xff, 0xff, 0x0f]).next_tag(None);
        assert_eq!(max.unwrap().map(|tag| tag >> 3), Some(MAX_FIELD_NUMBER));
        skip_one(&[0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]).unwrap();
    }

    #[test]
    fn lengths_past_the_end_are_rejected_before_reading() {
        assert_eq!(
            kind(Decoder::new(&[0x05, 1, 2, 3]).slice()),
            DecodeErrorKind::UnexpectedEof
        );
        // A huge length must not be trusted for an allocation.
        assert_eq!(
            kind(Decoder::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).bytes()),
            DecodeErrorKind::UnexpectedEof
        );
        assert_eq!(
            kind(Decoder::new(&[1, 2, 3]).fixed32()),
            DecodeErrorKind::UnexpectedEof
        );
        assert_eq!(
            kind(Decoder::new(&[1, 2, 3, 4, 5, 6, 7]).fixed64()),
            DecodeErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn a_nested_length_cannot_reach_past_its_parent() {
        // Outer value of 2 bytes whose content claims 3 more bytes.
        let input = [0x02, 0x03, 0xaa, 0xbb, 0xcc];
        let mut d = Decoder::new(&input);
        assert_eq!(
            kind(d.nested(|d| d.slice().map(drop))),
            DecodeErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn nested_values_must_be_consumed_exactly() {
        let input = [0x02, 0x01, 0x01];
        let mut d = Decoder::new(&input);
        assert_eq!(
            kind(d.nested(|d| d.varint())),
            DecodeErrorKind::LengthMismatch
        );
    }

    #[test]
    fn shared_bytes_are_not_copied() {
        let input = Bytes::from_static(&[0x03, b'a', b'b', b'c', 0x01, b'z']);
        let mut d = Decoder::shared(&input);
        let abc = d.bytes().unwrap();
        assert_eq!(&abc[..], b"abc");
        assert_eq!(
            abc.as_ptr(),
            input[1..].as_ptr(),
            "the value views the input"
        );
        let z = d.bytes().unwrap();
        assert_eq!(z.as_ptr(), input[5..].as_ptr());
        assert!(d.at_end());
        let copied = Decoder::new(&input).bytes().unwrap();
        assert_ne!(copied.as_ptr(), input[1..].as_ptr());
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        assert_eq!(
            kind(Decoder::new(&[0x02, 0xc3, 0x28]).string()),
            DecodeErrorKind::InvalidUtf8
        );
        assert_eq!(Decoder::new(&[0x02, 0xc3, 0xa9]).string().unwrap(), "é");
    }

    #[test]
    fn the_ascii_check_sees_a_high_bit_at_every_length_and_position() {
        for len in 0..40 {
            let text = vec![0x7f; len];
            assert!(is_ascii(&text), "all below 0x80, length {len}");
            for at in 0..len {
                let mut high = text.clone();
                high[at] = 0x80;
                assert!(!is_ascii(&high), "0x80 at {at} of {len}");
            }
        }
    }

    #[test]
    fn text_is_checked_at_every_length_and_position() {
        let delimited = |text: &[u8]| {
            let mut buf = Vec::new();
            put_varint(&mut buf, text.len() as u64);
            buf.extend_from_slice(text);
            buf
        };
        for len in 0..80 {
            let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let input = delimited(&ascii);
            assert_eq!(Decoder::new(&input).string().unwrap().as_bytes(), ascii);
            for at in 0..len {
                let mut valid = ascii.clone();
                valid.splice(at..=at, "é".bytes());
                let input = delimited(&valid);
                assert_eq!(Decoder::new(&input).string().unwrap().as_bytes(), valid);
                let mut invalid = ascii.clone();
                invalid[at] = 0xff;
                assert_eq!(
                    kind(Decoder::new(&delimited(&invalid)).string()),
                    DecodeErrorKind::InvalidUtf8,
                    "0xff at {at} of {len}"
                );
            }
        }
    }

    #[test]
    fn groups_are_skipped_to_their_matching_end() {
        // Field 1 start-group, inner field 2 varint 5, inner group 3 (empty), end group 1, then varint.
        let input = [0x0b, 0x10, 0x05, 0x1b, 0x1c, 0x0c, 0x08, 0x01];
        let mut d = Decoder::new(&input);
        let tag = d.next_tag(None).unwrap().unwrap();
        let mut unknown = UnknownFields::default();
        d.skip_unknown(tag, &mut unknown).unwrap();
        assert_eq!(unknown.as_bytes(), &input[..6]);
        assert_eq!(d.next_tag(None).unwrap(), Some(0x08));
        assert_eq!(d.varint().unwrap(), 1);
        assert!(d.at_end());
    }

    #[test]
    fn mismatched_or_unterminated_groups_are_rejected() {
        // Group 1 ended by end-group 2.
        assert_eq!(
            kind(skip_one(&[0x0b, 0x14])),
            DecodeErrorKind::UnmatchedEndGroup
        );
        // Group 1 never ended.
        assert_eq!(
            kind(skip_one(&[0x0b, 0x10, 0x05])),
            DecodeErrorKind::UnexpectedEof
        );
        // A lone end-group.
        assert_eq!(
            kind(Decoder::new(&[0x0c]).next_tag(None)),
            DecodeErrorKind::UnmatchedEndGroup
        );
        // The end-group that closes the group being read ends it.
        assert_eq!(Decoder::new(&[0x0c]).next_tag(Some(1)), Ok(None));
    }

    #[test]
    fn deeply_nested_unknown_groups_hit_the_recursion_limit() {
        let depth = RECURSION_LIMIT as usize + 1;
        let mut input = vec![0x0b; depth];
        input.extend(std::iter::repeat_n(0x0c, depth));
        assert_eq!(kind(skip_one(&input)), DecodeErrorKind::RecursionLimit);

        let mut input = vec![0x0b; depth - 1];
        input.extend(std::iter::repeat_n(0x0c, depth - 1));
        skip_one(&input).unwrap();
    }
}
