//! The text forms proto3's JSON mapping gives [`Timestamp`] (RFC 3339 in
//! UTC, `1972-01-01T10:00:20.021Z`), [`Duration`] (seconds with an `s`,
//! `-1.5s`) and [`FieldMask`] (its paths in lowerCamelCase, joined by
//! commas), written and parsed.

use std::fmt;
use std::str::FromStr;

use super::{Duration, FieldMask, Timestamp};

/// A text form that does not parse, or a value that has none (out of the
/// type's range, or not normalized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    what: &'static str,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
}

impl std::error::Error for FormError {}

fn error(what: &'static str) -> FormError {
    FormError { what }
}

const NANOS_PER_SECOND: i32 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of a Timestamp.
const MIN_TIMESTAMP: i64 = -62_135_596_800;
const MAX_TIMESTAMP: i64 = 253_402_300_799;
/// About 10,000 years, the range of a Duration either way.
const MAX_DURATION: i64 = 315_576_000_000;

/// `nanos` as a fraction: nothing, or 3, 6 or 9 digits after a dot, as
/// few as hold it.
fn fraction(nanos: u32) -> String {
    match nanos {
        0 => String::new(),
        n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
        n => format!(".{n:09}"),
    }
}

/// The nanoseconds of a fraction's digits (1 to 9 of them).
fn nanos_of(digits: &str) -> Option<i32> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    format!("{digits:0<9}").parse().ok()
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let of_era = year - era * 400;
    let of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let of_era_days = of_era * 365 + of_era / 4 - of_era / 100 + of_year;
    era * 146_097 + of_era_days - 719_468
}

/// The date of a number of days since 1970-01-01: year, month, day.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let of_era = days - era * 146_097;
    let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
    let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * of_year + 2) / 153;
    let day = of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

impl Timestamp {
    /// The time in RFC 3339, in UTC, as proto3's JSON mapping writes it:
    /// `1972-01-01T10:00:20.021Z`, with 0, 3, 6 or 9 digits of fraction.
    ///
    /// ```
    /// # fn main() -> Result<(), rgrpc::wkt::FormError> {
    /// use rgrpc::wkt::{Duration, FieldMask, Timestamp};
    ///
    /// let at: Timestamp = "1972-01-01T10:00:20.021+01:00".parse()?;
    /// assert_eq!(at.to_rfc3339()?, "1972-01-01T09:00:20.021Z");
    /// let timeout: Duration = "1.5s".parse()?;
    /// assert_eq!(timeout.to_json_string()?, "1.500s");
    /// let mask: FieldMask = "user.displayName,photo".parse()?;
    /// assert_eq!(mask.paths, ["user.display_name", "photo"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the time is outside 0001-01-01 to 9999-12-31, or `nanos`
    /// outside `0..1_000_000_000`.
    pub fn to_rfc3339(&self) -> Result<String, FormError> {
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&self.seconds) {
            return Err(error(
                "a Timestamp must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
            ));
        }
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < NANOS_PER_SECOND as u32)
            .ok_or_else(|| error("Timestamp.nanos must be in 0..1_000_000_000"))?;
        let (days, second) = (
            self.seconds.div_euclid(SECONDS_PER_DAY),
            self.seconds.rem_euclid(SECONDS_PER_DAY),
        );
        let (year, month, day) = civil_from_days(days);
        Ok(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{}Z",
            second / 3600,
            second / 60 % 60,
            second % 60,
            fraction(nanos)
        ))
    }
}

impl FromStr for Timestamp {
    type Err = FormError;

    /// Reads RFC 3339: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to
    /// 9 digits, then `Z` or an offset `±HH:MM`.
    fn from_str(text: &str) -> Result<Self, FormError> {
        let bad = || error("expected an RFC 3339 time such as 1972-01-01T10:00:20.021Z");
        let bytes = text.as_bytes();
        if bytes.len() < 20 || !text.is_ascii() {
            return Err(bad());
        }
        let number = |from: usize, to: usize| -> Result<i64, FormError> {
            let digits = &text[from..to];
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            digits.parse().map_err(|_| bad())
        };
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(at, byte)| bytes[at] != byte) {
            return Err(bad());
        }
        let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
        let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
        if year == 0
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(error("the date or time of day does not exist"));
        }
        let rest = &text[19..];
        let (nanos, zone) = match rest.strip_prefix('.') {
            Some(fraction) => {
                let digits = fraction
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(fraction.len());
                (
                    nanos_of(&fraction[..digits]).ok_or_else(bad)?,
                    &fraction[digits..],
                )
            }
            None => (0, rest),
        };
        let offset = match zone.as_bytes() {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(bad());
                }
                let (hours, minutes) = (
                    i64::from((h1 - b'0') * 10 + (h2 - b'0')),
                    i64::from((m1 - b'0') * 10 + (m2 - b'0')),
                );
                if hours > 23 || minutes > 59 {
                    return Err(bad());
                }
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'+' { offset } else { -offset }
            }
            _ => return Err(bad()),
        };
        let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second
            - offset;
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&seconds) {
            return Err(error(
                "a Timestamp must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
            ));
        }
        Ok(Timestamp {
            seconds,
            nanos,
            ..Default::default()
        })
    }
}

impl Duration {
    /// The duration as proto3's JSON mapping writes it: seconds with 0, 3,
    /// 6 or 9 digits of fraction and an `s`, such as `1.5s` or `-0.010s`.
    ///
    /// # Errors
    /// When it is longer than about 10,000 years either way, or `seconds`
    /// and `nanos` differ in sign, or `nanos` is a second or more.
    pub fn to_json_string(&self) -> Result<String, FormError> {
        let (seconds, nanos) = (self.seconds, self.nanos);
        if !(-MAX_DURATION..=MAX_DURATION).contains(&seconds) {
            return Err(error(
                "a Duration must be within 315,576,000,000 seconds either way",
            ));
        }
        if nanos.unsigned_abs() >= NANOS_PER_SECOND as u32
            || (seconds > 0 && nanos < 0)
            || (seconds < 0 && nanos > 0)
        {
            return Err(error(
                "Duration.nanos must be under a second, with the sign of seconds",
            ));
        }
        let sign = if seconds < 0 || nanos < 0 { "-" } else { "" };
        Ok(format!(
            "{sign}{}{}s",
            seconds.unsigned_abs(),
            fraction(nanos.unsigned_abs())
        ))
    }
}

impl FromStr for Duration {
    type Err = FormError;

    /// Reads seconds, optionally signed and with 1 to 9 digits of
    /// fraction, followed by `s`: `1.5s`, `-0.001s`, `30s`.
    fn from_str(text: &str) -> Result<Self, FormError> {
        let bad = || error("expected a duration such as 1.5s");
        let body = text.strip_suffix('s').ok_or_else(bad)?;
        let (negative, body) = match body.strip_prefix('-') {
            Some(body) => (true, body),
            None => (false, body),
        };
        let (whole, fraction) = match body.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (body, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seconds: i64 = whole.parse().map_err(|_| bad())?;
        let nanos = match fraction {
            Some(digits) => nanos_of(digits).ok_or_else(bad)?,
            None => 0,
        };
        if seconds > MAX_DURATION {
            return Err(error(
                "a Duration must be within 315,576,000,000 seconds either way",
            ));
        }
        let sign = if negative { -1 } else { 1 };
        Ok(Duration {
            seconds: sign * seconds,
            nanos: sign as i32 * nanos,
            ..Default::default()
        })
    }
}

impl FieldMask {
    /// The mask as proto3's JSON mapping writes it: each path in
    /// lowerCamelCase (`user.display_name` as `user.displayName`), joined
    /// by commas.
    ///
    /// # Errors
    /// When a path would not read back the same: one with an upper-case
    /// letter, or an underscore not followed by a lower-case letter.
    pub fn to_json_string(&self) -> Result<String, FormError> {
        let mut paths = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            let mut camel = String::with_capacity(path.len());
            let mut upper = false;
            for c in path.chars() {
                match c {
                    '_' if upper => return Err(unmappable()),
                    '_' => upper = true,
                    c if c.is_ascii_uppercase() => return Err(unmappable()),
                    c if upper && !c.is_ascii_lowercase() => return Err(unmappable()),
                    c if upper => {
                        camel.push(c.to_ascii_uppercase());
                        upper = false;
                    }
                    c => camel.push(c),
                }
            }
            if upper {
                return Err(unmappable());
            }
            paths.push(camel);
        }
        Ok(paths.join(","))
    }
}

fn unmappable() -> FormError {
    error(
        "a FieldMask path in JSON must be lower_snake_case, each underscore followed by a \
         lower-case letter",
    )
}

impl FromStr for FieldMask {
    type Err = FormError;

    /// Reads comma-joined lowerCamelCase paths into snake_case ones; the
    /// empty string is no paths.
    fn from_str(text: &str) -> Result<Self, FormError> {
        let mut paths = Vec::new();
        for path in text.split(',').filter(|_| !text.is_empty()) {
            let mut snake = String::with_capacity(path.len() + 4);
            for c in path.chars() {
                if c == '_' {
                    return Err(error(
                        "a FieldMask path in JSON is lowerCamelCase, without underscores",
                    ));
                }
                if c.is_ascii_uppercase() {
                    snake.push('_');
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            paths.push(snake);
        }
        Ok(FieldMask {
            paths,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp {
            seconds,
            nanos,
            ..Default::default()
        }
    }

    fn duration(seconds: i64, nanos: i32) -> Duration {
        Duration {
            seconds,
            nanos,
            ..Default::default()
        }
    }

    #[test]
    fn timestamps_are_written_in_utc_with_as_few_digits_as_hold_them() {
        for (seconds, nanos, text) in [
            (0, 0, "1970-01-01T00:00:00Z"),
            (63_108_020, 21_000_000, "1972-01-01T10:00:20.021Z"),
            (1, 10_000, "1970-01-01T00:00:01.000010Z"),
            (-1, 999_999_999, "1969-12-31T23:59:59.999999999Z"),
            (951_782_400, 0, "2000-02-29T00:00:00Z"),
            (MIN_TIMESTAMP, 0, "0001-01-01T00:00:00Z"),
            (MAX_TIMESTAMP, 999_999_999, "9999-12-31T23:59:59.999999999Z"),
        ] {
            assert_eq!(timestamp(seconds, nanos).to_rfc3339().unwrap(), text);
            assert_eq!(text.parse::<Timestamp>(), Ok(timestamp(seconds, nanos)));
        }
        assert!(timestamp(MAX_TIMESTAMP + 1, 0).to_rfc3339().is_err());
        assert!(timestamp(MIN_TIMESTAMP - 1, 0).to_rfc3339().is_err());
        assert!(timestamp(0, -1).to_rfc3339().is_err());
        assert!(timestamp(0, NANOS_PER_SECOND).to_rfc3339().is_err());
    }

    #[test]
    fn timestamps_read_offsets_and_short_fractions_and_refuse_the_rest() {
        let at = |text: &str| text.parse::<Timestamp>();
        assert_eq!(at("1970-01-01T01:00:00+01:00"), Ok(timestamp(0, 0)));
        assert_eq!(at("1969-12-31T23:30:00-00:30"), Ok(timestamp(0, 0)));
        assert_eq!(at("1970-01-01T00:00:00.5Z"), Ok(timestamp(0, 500_000_000)));
        for bad in [
            "1970-01-01 00:00:00Z",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00:00z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00.1234567890Z",
            "1970-13-01T00:00:00Z",
            "1970-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:60Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "1970-01-01T00:00:00+1:00",
            "1970-01-01T00:00:00+01:60",
            "+970-01-01T00:00:00Z",
            "1970-01-01T00:00:00Zé",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_seconds_with_an_s() {
        for (seconds, nanos, text) in [
            (0, 0, "0s"),
            (1, 500_000_000, "1.500s"),
            (-1, -500_000_000, "-1.500s"),
            (0, -10_000_000, "-0.010s"),
            (0, 1, "0.000000001s"),
            (MAX_DURATION, 999_999_999, "315576000000.999999999s"),
        ] {
            assert_eq!(duration(seconds, nanos).to_json_string().unwrap(), text);
            assert_eq!(text.parse::<Duration>(), Ok(duration(seconds, nanos)));
        }
        assert_eq!("1.5s".parse::<Duration>(), Ok(duration(1, 500_000_000)));
        for bad in [
            "1",
            "s",
            "-s",
            "1.s",
            ".5s",
            "+1s",
            "1e3s",
            "315576000001s",
            " 1s",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
        for bad in [
            duration(1, -1),
            duration(-1, 1),
            duration(0, NANOS_PER_SECOND),
            duration(MAX_DURATION + 1, 0),
        ] {
            assert!(bad.to_json_string().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn field_masks_are_camel_case_paths_joined_by_commas() {
        let mask = FieldMask {
            paths: vec!["user.display_name".into(), "photo".into(), "a_b_c".into()],
            ..Default::default()
        };
        let text = "user.displayName,photo,aBC";
        assert_eq!(mask.to_json_string().unwrap(), text);
        assert_eq!(text.parse::<FieldMask>(), Ok(mask));
        assert_eq!("".parse::<FieldMask>(), Ok(FieldMask::default()));
        for bad in ["fooBar", "foo__bar", "foo_", "foo_3"] {
            let mask = FieldMask {
                paths: vec![bad.into()],
                ..Default::default()
            };
            assert!(mask.to_json_string().is_err(), "{bad}");
        }
        assert!("foo_bar".parse::<FieldMask>().is_err());
    }
}
