//! The JSON forms of scalar values where proto3's mapping differs from
//! serde's defaults.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// A 64-bit integer: written as a decimal string, since JSON numbers lose
/// precision past 2^53.
pub(crate) fn serialize_i64<S: Serializer>(value: i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&value)
}

/// An unsigned 64-bit integer, as [`serialize_i64`].
pub(crate) fn serialize_u64<S: Serializer>(value: u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&value)
}

/// A double: a number, or `"NaN"`, `"Infinity"` or `"-Infinity"`.
pub(crate) fn serialize_f64<S: Serializer>(value: f64, serializer: S) -> Result<S::Ok, S::Error> {
    match special(value) {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_f64(value),
    }
}

/// A float, as [`serialize_f64`].
pub(crate) fn serialize_f32<S: Serializer>(value: f32, serializer: S) -> Result<S::Ok, S::Error> {
    match special(f64::from(value)) {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_f32(value),
    }
}

fn special(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value == f64::INFINITY {
        Some("Infinity")
    } else if value == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// Bytes: standard base64, padded.
pub(crate) fn serialize_bytes<S: Serializer>(
    value: &[u8],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&general_purpose::STANDARD.encode(value))
}

/// Reads standard or URL-safe base64, padded or not.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Bytes from base64, standard or URL-safe, padded or not.
pub(crate) fn deserialize_bytes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<u8>, D::Error> {
    struct Base64;
    impl Visitor<'_> for Base64 {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bytes in base64")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            let standard: String = text
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            LENIENT
                .decode(standard)
                .map_err(|err| E::custom(format!("invalid base64: {err}")))
        }
    }
    deserializer.deserialize_str(Base64)
}

/// An integer of type `T` from a JSON number (integral, in range) or a
/// string holding one.
fn deserialize_integer<'de, D, T>(deserializer: D, kind: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    struct Integer<T> {
        kind: &'static str,
        _type: std::marker::PhantomData<T>,
    }
    impl<T: TryFrom<i64> + TryFrom<u64>> Visitor<'_> for Integer<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}, as a number or a string", self.kind)
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
            T::try_from(value)
                .map_err(|_| E::custom(format!("{value} is out of range for {}", self.kind)))
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
            T::try_from(value)
                .map_err(|_| E::custom(format!("{value} is out of range for {}", self.kind)))
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
            // An integral number written with a fraction or an exponent.
            if value.fract() != 0.0 || !value.is_finite() {
                return Err(E::custom(format!("{value} is not an integer")));
            }
            if (0.0..18_446_744_073_709_551_616.0).contains(&value) {
                self.visit_u64(value as u64)
            } else if (-9_223_372_036_854_775_808.0..0.0).contains(&value) {
                self.visit_i64(value as i64)
            } else {
                Err(E::custom(format!(
                    "{value} is out of range for {}",
                    self.kind
                )))
            }
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            if text.trim() != text || text.is_empty() {
                return Err(E::custom(format!("{text:?} is not an integer")));
            }
            if let Ok(value) = text.parse::<i64>() {
                return self.visit_i64(value);
            }
            if let Ok(value) = text.parse::<u64>() {
                return self.visit_u64(value);
            }
            if json_number(text) && !text.contains(['.', 'e', 'E']) {
                // Digits alone, past 64 bits: a float would round them.
                return Err(E::custom(format!(
                    "{text} is out of range for {}",
                    self.kind
                )));
            }
            match text.parse::<f64>() {
                Ok(value) if json_number(text) => self.visit_f64(value),
                _ => Err(E::custom(format!("{text:?} is not an integer"))),
            }
        }
    }
    deserializer.deserialize_any(Integer {
        kind,
        _type: std::marker::PhantomData,
    })
}

/// Whether `text` is written as a JSON number is (what Rust's float parser
/// takes besides, such as `inf` or `1.`, is not).
fn json_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => (&digits[..at], Some(&digits[at + 1..])),
        None => (digits, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(all_digits)
        && exponent.is_none_or(|e| all_digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// A 64-bit integer, from a number or a string.
pub(crate) fn deserialize_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserialize_integer(deserializer, "an int64")
}

/// An unsigned 64-bit integer, from a number or a string.
pub(crate) fn deserialize_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserialize_integer(deserializer, "a uint64")
}

/// A 32-bit integer, from a number or a string.
pub(crate) fn deserialize_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    deserialize_integer(deserializer, "an int32")
}

/// An unsigned 32-bit integer, from a number or a string.
pub(crate) fn deserialize_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    deserialize_integer(deserializer, "a uint32")
}

/// A double from a number, a string holding one, or `"NaN"`,
/// `"Infinity"` or `"-Infinity"`.
pub(crate) fn deserialize_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    struct Double;
    impl Visitor<'_> for Double {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, as a number or a string")
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
            Ok(value)
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
            Ok(value as f64)
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
            Ok(value as f64)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<f64, E> {
            match text {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ if json_number(text) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .ok_or_else(|| E::custom(format!("{text} is out of range for a double"))),
                _ => Err(E::custom(format!("{text:?} is not a number"))),
            }
        }
    }
    deserializer.deserialize_any(Double)
}

/// A float, as [`deserialize_f64`], within a float's range.
pub(crate) fn deserialize_f32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
    let value = deserialize_f64(deserializer)?;
    if value.is_finite() && value.abs() > f64::from(f32::MAX) {
        return Err(de::Error::custom(format!(
            "{value} is out of range for a float"
        )));
    }
    Ok(value as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T>(
        serialize: impl Fn(
            T,
            &mut serde_json::Serializer<&mut Vec<u8>>,
        ) -> Result<(), serde_json::Error>,
        value: T,
    ) -> String {
        let mut out = Vec::new();
        serialize(value, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn read<T>(
        deserialize: fn(
            &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
        ) -> Result<T, serde_json::Error>,
        text: &str,
    ) -> Result<T, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        deserialize(&mut deserializer).map_err(|err| err.to_string())
    }

    #[test]
    fn sixty_four_bit_integers_are_strings_and_read_from_either() {
        assert_eq!(
            json(|v, s| serialize_i64(v, s), i64::MIN),
            "\"-9223372036854775808\""
        );
        assert_eq!(
            json(|v, s| serialize_u64(v, s), u64::MAX),
            "\"18446744073709551615\""
        );
        assert_eq!(read(|d| deserialize_i64(d), "\"-12\""), Ok(-12));
        assert_eq!(read(|d| deserialize_i64(d), "-12"), Ok(-12));
        assert_eq!(
            read(|d| deserialize_u64(d), "\"18446744073709551615\""),
            Ok(u64::MAX)
        );
        assert_eq!(read(|d| deserialize_i32(d), "1e5"), Ok(100_000));
        assert_eq!(read(|d| deserialize_i32(d), "\"1e5\""), Ok(100_000));
        for bad in [
            "1.5",
            "\"1.5\"",
            "2147483648",
            "\"\"",
            "\" 1\"",
            "\"0x10\"",
            "true",
            "\"inf\"",
        ] {
            assert!(read(|d| deserialize_i32(d), bad).is_err(), "{bad}");
        }
        assert!(read(|d| deserialize_u32(d), "-1").is_err());
        assert!(read(|d| deserialize_u64(d), "\"18446744073709551616\"").is_err());
    }

    #[test]
    fn floats_name_their_special_values() {
        assert_eq!(json(|v, s| serialize_f64(v, s), f64::NAN), "\"NaN\"");
        assert_eq!(
            json(|v, s| serialize_f64(v, s), f64::NEG_INFINITY),
            "\"-Infinity\""
        );
        assert_eq!(
            json(|v, s| serialize_f32(v, s), f32::INFINITY),
            "\"Infinity\""
        );
        assert_eq!(json(|v, s| serialize_f64(v, s), 1.5), "1.5");
        assert!(read(|d| deserialize_f64(d), "\"NaN\"").unwrap().is_nan());
        assert_eq!(
            read(|d| deserialize_f64(d), "\"-Infinity\""),
            Ok(f64::NEG_INFINITY)
        );
        assert_eq!(read(|d| deserialize_f64(d), "\"2.5e3\""), Ok(2500.0));
        assert_eq!(read(|d| deserialize_f64(d), "7"), Ok(7.0));
        for bad in ["\"nan\"", "\"inf\"", "\"1.\"", "\"\"", "\"1e400\"", "null"] {
            assert!(read(|d| deserialize_f64(d), bad).is_err(), "{bad}");
        }
        assert!(read(|d| deserialize_f32(d), "3.5e38").is_err());
        assert_eq!(
            read(|d| deserialize_f32(d), "\"Infinity\""),
            Ok(f32::INFINITY)
        );
    }

    #[test]
    fn bytes_are_base64_read_in_either_alphabet_padded_or_not() {
        assert_eq!(
            json(|v: &[u8], s| serialize_bytes(v, s), &[0xfb, 0xff][..]),
            "\"+/8=\""
        );
        for text in ["\"+/8=\"", "\"+/8\"", "\"-_8=\"", "\"-_8\""] {
            assert_eq!(
                read(|d| deserialize_bytes(d), text),
                Ok(vec![0xfb, 0xff]),
                "{text}"
            );
        }
        assert!(read(|d| deserialize_bytes(d), "\"!!\"").is_err());
    }
}
