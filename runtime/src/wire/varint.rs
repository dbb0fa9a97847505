//! Base-128 varints and zigzag encoding.

use std::mem::MaybeUninit;

use super::DecodeErrorKind;

/// The number of bytes `value` takes as a varint: 1 to 10.
#[inline]
pub const fn varint_len(value: u64) -> usize {
    // Each byte carries 7 bits: ceil(significant bits / 7), with 0 taking one byte.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

/// The most bytes a varint takes.
const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as a varint.
#[inline(always)]
pub fn put_varint(buf: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        buf.push(value as u8);
        return;
    }
    // Written into reserved space and committed once: pushing byte by byte
    // stores the length back to the vector after every byte.
    buf.reserve(MAX_VARINT_LEN);
    let len = buf.len();
    let written = match buf.spare_capacity_mut().first_chunk_mut() {
        Some(spare) => write_varint(spare, value),
        None => unreachable!("ten bytes were reserved"),
    };
    // SAFETY: `write_varint` initialized the first `written` bytes after `len`,
    // all within the capacity reserved above.
    #[allow(unsafe_code)]
    unsafe {
        buf.set_len(len + written);
    }
}

/// Writes `value` as a varint at the start of `out`, returning the bytes it took.
#[inline(always)]
fn write_varint(out: &mut [MaybeUninit<u8>; MAX_VARINT_LEN], mut value: u64) -> usize {
    let mut i = 0;
    while value >= 0x80 {
        out[i].write((value as u8) | 0x80);
        value >>= 7;
        i += 1;
    }
    out[i].write(value as u8);
    i + 1
}

/// Reads a varint from the front of `buf`, returning it and the bytes it took.
///
/// A varint is at most ten bytes, and the tenth may only carry the 64th bit.
#[inline(always)]
pub fn get_varint(buf: &[u8]) -> Result<(u64, usize), DecodeErrorKind> {
    match *buf {
        [b, ..] if b < 0x80 => Ok((u64::from(b), 1)),
        // Two bytes (most tags above field 15, values below 2^14) need no
        // ten-byte lookahead, so they stay fast at the end of a message too.
        [low, high, ..] if high < 0x80 => Ok((u64::from(low & 0x7f) | (u64::from(high) << 7), 2)),
        _ => match buf.first_chunk::<10>() {
            Some(chunk) => get_varint_unrolled(chunk),
            None => get_varint_short(buf),
        },
    }
}

/// Decodes from ten bytes known to be there, without per-byte bounds checks.
#[inline]
fn get_varint_unrolled(bytes: &[u8; 10]) -> Result<(u64, usize), DecodeErrorKind> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(9) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, i + 1));
        }
    }
    // The tenth byte may only carry bit 63.
    if bytes[9] > 1 {
        return Err(DecodeErrorKind::VarintOverflow);
    }
    Ok((value | (u64::from(bytes[9]) << 63), 10))
}

/// Decodes near the end of the input, where fewer than ten bytes are left.
#[inline(never)]
fn get_varint_short(buf: &[u8]) -> Result<(u64, usize), DecodeErrorKind> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().take(10).enumerate() {
        if i == 9 && byte > 1 {
            return Err(DecodeErrorKind::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(DecodeErrorKind::VarintOverflow)
    } else {
        Err(DecodeErrorKind::TruncatedVarint)
    }
}

/// The number of varints that `bytes` ends: the bytes with the top bit clear.
///
/// For a packed run of varints this is the exact number of values.
pub fn count_varints(bytes: &[u8]) -> usize {
    // Blocks of 64 are summed in a byte each, which the compiler vectorizes.
    let mut blocks = bytes.chunks_exact(64);
    let mut count = 0;
    for block in &mut blocks {
        count += usize::from(block.iter().map(|&b| u8::from(b < 0x80)).sum::<u8>());
    }
    count + blocks.remainder().iter().filter(|&&b| b < 0x80).count()
}

/// Maps signed to unsigned so that small magnitudes stay small (`sint32`).
#[inline]
pub const fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// Inverse of [`zigzag32`].
#[inline]
pub const fn unzigzag32(value: u32) -> i32 {
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

/// Maps signed to unsigned so that small magnitudes stay small (`sint64`).
#[inline]
pub const fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag64`].
#[inline]
pub const fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values on both sides of every 7-bit boundary, plus the extremes.
    fn boundary_values() -> Vec<(u64, usize)> {
        let mut values = vec![(0, 1), (u64::MAX, 10)];
        for bytes in 1..10 {
            let limit = 1u64 << (7 * bytes);
            values.push((limit - 1, bytes));
            values.push((limit, bytes + 1));
        }
        values
    }

    #[test]
    fn length_and_round_trip_at_every_boundary() {
        for (value, len) in boundary_values() {
            assert_eq!(varint_len(value), len, "varint_len({value})");
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), len, "encoding of {value}");
            assert_eq!(get_varint(&buf), Ok((value, len)), "decoding of {value}");
            buf.push(0x55);
            assert_eq!(
                get_varint(&buf),
                Ok((value, len)),
                "trailing byte after {value}"
            );
        }
    }

    #[test]
    fn put_varint_appends_to_a_full_buffer() {
        for (value, len) in boundary_values() {
            let mut buf = vec![0xaa; 3];
            buf.shrink_to_fit();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), 3 + len, "encoding of {value}");
            assert_eq!(buf[..3], [0xaa; 3]);
            assert_eq!(get_varint(&buf[3..]), Ok((value, len)));
        }
    }

    #[test]
    fn known_encodings() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 150);
        assert_eq!(buf, [0x96, 0x01]);
        assert_eq!(
            get_varint(&[0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>()),
            Ok((u64::MAX, 10))
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (value, len) in boundary_values() {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            for cut in 0..len {
                assert_eq!(
                    get_varint(&buf[..cut]),
                    Err(DecodeErrorKind::TruncatedVarint),
                    "{value} cut to {cut} bytes"
                );
            }
        }
    }

    #[test]
    fn overlong_varints_are_rejected() {
        assert_eq!(
            get_varint(&[0x80; 11]),
            Err(DecodeErrorKind::VarintOverflow)
        );
        assert_eq!(
            get_varint(&[0x80; 10]),
            Err(DecodeErrorKind::VarintOverflow)
        );
        let mut high_bits = [0xff; 10];
        high_bits[9] = 0x02;
        assert_eq!(get_varint(&high_bits), Err(DecodeErrorKind::VarintOverflow));
    }

    #[test]
    fn count_varints_counts_every_value_of_a_packed_run() {
        // Runs long enough to cross several 64-byte blocks, cut at every length.
        let mut run = Vec::new();
        let mut ends = vec![0];
        for (value, _) in boundary_values().into_iter().cycle().take(90) {
            put_varint(&mut run, value);
            ends.push(run.len());
        }
        for (count, &end) in ends.iter().enumerate() {
            assert_eq!(count_varints(&run[..end]), count, "{end} bytes");
        }
        assert_eq!(count_varints(&[0x80; 200]), 0);
        assert_eq!(count_varints(&[0x7f; 200]), 200);
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_values() {
        for (signed, unsigned) in [
            (0, 0),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i32::MAX, u32::MAX - 1),
            (i32::MIN, u32::MAX),
        ] {
            assert_eq!(zigzag32(signed), unsigned);
            assert_eq!(unzigzag32(unsigned), signed);
            assert_eq!(zigzag64(i64::from(signed)), u64::from(unsigned));
            assert_eq!(unzigzag64(u64::from(unsigned)), i64::from(signed));
        }
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
        assert_eq!(unzigzag64(u64::MAX), i64::MIN);
    }
}
