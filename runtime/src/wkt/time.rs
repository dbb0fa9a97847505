//! [`Timestamp`] and [`Duration`] to and from [`SystemTime`] and [`std::time::Duration`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Duration, Timestamp};

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A time value that the target type cannot hold: out of range, negative
/// where only non-negative values exist, or not normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRangeError {
    what: &'static str,
}

impl fmt::Display for TimeRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
}

impl std::error::Error for TimeRangeError {}

fn error(what: &'static str) -> TimeRangeError {
    TimeRangeError { what }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (after.as_secs() as i64, after.subsec_nanos() as i32),
            Err(before) => {
                let before = before.duration();
                let (seconds, nanos) = (-(before.as_secs() as i64), before.subsec_nanos() as i32);
                // Nanos are always non-negative: borrow a second.
                if nanos > 0 {
                    (seconds - 1, NANOS_PER_SECOND as i32 - nanos)
                } else {
                    (seconds, 0)
                }
            }
        };
        Timestamp {
            seconds,
            nanos,
            ..Default::default()
        }
    }
}

impl TryFrom<&Timestamp> for SystemTime {
    type Error = TimeRangeError;

    /// Fails when `nanos` is outside `0..1_000_000_000` or the time does not fit a `SystemTime`.
    fn try_from(timestamp: &Timestamp) -> Result<Self, TimeRangeError> {
        let nanos = u32::try_from(timestamp.nanos)
            .ok()
            .filter(|n| i64::from(*n) < NANOS_PER_SECOND)
            .ok_or_else(|| error("Timestamp.nanos must be in 0..1_000_000_000"))?;
        let out_of_range = || error("Timestamp is out of the range of SystemTime");
        let whole = std::time::Duration::from_secs(timestamp.seconds.unsigned_abs());
        let base = if timestamp.seconds >= 0 {
            UNIX_EPOCH.checked_add(whole)
        } else {
            UNIX_EPOCH.checked_sub(whole)
        };
        base.and_then(|t| t.checked_add(std::time::Duration::from_nanos(u64::from(nanos))))
            .ok_or_else(out_of_range)
    }
}

impl TryFrom<Timestamp> for SystemTime {
    type Error = TimeRangeError;

    fn try_from(timestamp: Timestamp) -> Result<Self, TimeRangeError> {
        SystemTime::try_from(&timestamp)
    }
}

impl TryFrom<std::time::Duration> for Duration {
    type Error = TimeRangeError;

    /// Fails when the duration has more seconds than an `i64` holds.
    fn try_from(duration: std::time::Duration) -> Result<Self, TimeRangeError> {
        let seconds = i64::try_from(duration.as_secs())
            .map_err(|_| error("duration too long for google.protobuf.Duration"))?;
        Ok(Duration {
            seconds,
            nanos: duration.subsec_nanos() as i32,
            ..Default::default()
        })
    }
}

impl TryFrom<&Duration> for std::time::Duration {
    type Error = TimeRangeError;

    /// Fails for negative durations and for `nanos` outside `0..1_000_000_000`
    /// or of another sign than `seconds`.
    fn try_from(duration: &Duration) -> Result<Self, TimeRangeError> {
        if duration.seconds < 0 || duration.nanos < 0 {
            return Err(error("std::time::Duration cannot be negative"));
        }
        if i64::from(duration.nanos) >= NANOS_PER_SECOND {
            return Err(error("Duration.nanos must be below 1_000_000_000"));
        }
        Ok(std::time::Duration::new(
            duration.seconds as u64,
            duration.nanos as u32,
        ))
    }
}

impl TryFrom<Duration> for std::time::Duration {
    type Error = TimeRangeError;

    fn try_from(duration: Duration) -> Result<Self, TimeRangeError> {
        std::time::Duration::try_from(&duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_on_both_sides_of_the_epoch() {
        for (seconds, nanos) in [
            (0, 0),
            (1_700_000_000, 123_456_789),
            (-1, 999_999_999),
            (-86_400, 0),
        ] {
            let timestamp = Timestamp {
                seconds,
                nanos,
                ..Default::default()
            };
            let time = SystemTime::try_from(&timestamp).unwrap();
            assert_eq!(Timestamp::from(time), timestamp);
        }
        let before = UNIX_EPOCH - std::time::Duration::from_millis(1500);
        let timestamp = Timestamp::from(before);
        assert_eq!((timestamp.seconds, timestamp.nanos), (-2, 500_000_000));
    }

    #[test]
    fn invalid_timestamps_are_rejected() {
        let bad = Timestamp {
            seconds: 0,
            nanos: -1,
            ..Default::default()
        };
        assert!(SystemTime::try_from(&bad).is_err());
        let bad = Timestamp {
            seconds: 0,
            nanos: 1_000_000_000,
            ..Default::default()
        };
        assert!(SystemTime::try_from(&bad).is_err());
    }

    #[test]
    fn durations_convert_and_reject_negatives() {
        let duration = Duration::try_from(std::time::Duration::new(5, 250)).unwrap();
        assert_eq!((duration.seconds, duration.nanos), (5, 250));
        assert_eq!(
            std::time::Duration::try_from(&duration).unwrap(),
            std::time::Duration::new(5, 250)
        );
        let negative = Duration {
            seconds: -1,
            nanos: 0,
            ..Default::default()
        };
        assert!(std::time::Duration::try_from(&negative).is_err());
        let too_long = std::time::Duration::from_secs(u64::MAX);
        assert!(Duration::try_from(too_long).is_err());
    }
}
