//! `grpc-timeout`: at most eight digits and a unit (PROTOCOL-HTTP2.md).

use std::time::Duration;

#[cfg(feature = "client")]
const MAX_VALUE: u128 = 99_999_999;

/// Encodes with the finest unit that fits eight digits, rounding up so
/// that the peer never gets less time than the caller gave.
#[cfg(feature = "client")]
pub(crate) fn encode(timeout: Duration) -> String {
    let nanos = timeout.as_nanos();
    for (unit, per) in [
        ('n', 1u128),
        ('u', 1_000),
        ('m', 1_000_000),
        ('S', 1_000_000_000),
        ('M', 60_000_000_000),
        ('H', 3_600_000_000_000),
    ] {
        let value = nanos.div_ceil(per);
        if value <= MAX_VALUE {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX_VALUE}H")
}

/// Decodes a `grpc-timeout` value; `None` when it is malformed.
#[cfg(feature = "server")]
pub(crate) fn decode(value: &[u8]) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit[0] {
        b'H' => Duration::from_secs(value * 3600),
        b'M' => Duration::from_secs(value * 60),
        b'S' => Duration::from_secs(value),
        b'm' => Duration::from_millis(value),
        b'u' => Duration::from_micros(value),
        b'n' => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "client")]
    fn timeouts_use_the_finest_unit_that_fits_and_round_up() {
        assert_eq!(encode(Duration::from_nanos(1)), "1n");
        // 99,999,999 ns is the most that fits eight digits; 100 ms does not.
        assert_eq!(encode(Duration::from_nanos(99_999_999)), "99999999n");
        assert_eq!(encode(Duration::from_millis(100)), "100000u");
        assert_eq!(encode(Duration::from_millis(150)), "150000u");
        assert_eq!(encode(Duration::from_secs(1000)), "1000000m");
        assert_eq!(encode(Duration::from_nanos(100_000_001)), "100001u");
        assert_eq!(encode(Duration::from_secs(u64::MAX)), "99999999H");
    }

    #[test]
    #[cfg(feature = "server")]
    fn timeouts_decode_and_malformed_ones_are_rejected() {
        assert_eq!(decode(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(decode(b"2M"), Some(Duration::from_secs(120)));
        assert_eq!(decode(b"3S"), Some(Duration::from_secs(3)));
        assert_eq!(decode(b"4m"), Some(Duration::from_millis(4)));
        assert_eq!(decode(b"5u"), Some(Duration::from_micros(5)));
        assert_eq!(decode(b"99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"123456789S",
            b"1s",
            b"-1S",
            b"1.5S",
            b" 1S",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
