//! [`ConnectBackoff`]: how long a channel waits between failed attempts to
//! connect, as gRPC's connection-backoff document says.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How long a channel waits before trying again to connect after a failed
/// attempt: `initial` after the first failure, then `multiplier` times
/// longer after each, up to `max`, each wait made up to `jitter` shorter
/// or longer at random, so that clients that failed together do not come
/// back together. A successful connection starts the count over. The
/// defaults are gRPC's: 1 s, 1.6, 0.2 and 120 s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectBackoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// How much longer each wait is than the one before.
    pub multiplier: f64,
    /// How much shorter or longer a wait may be, as a fraction of it.
    pub jitter: f64,
    /// The longest wait.
    pub max: Duration,
}

impl Default for ConnectBackoff {
    fn default() -> Self {
        ConnectBackoff {
            initial: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max: Duration::from_secs(120),
        }
    }
}

/// The waits of one channel: where it is in the sequence.
#[derive(Debug)]
pub(crate) struct Backoffs {
    settings: ConnectBackoff,
    /// The wait before jitter for the next failure.
    current: Duration,
}

impl Backoffs {
    pub(crate) fn new(settings: ConnectBackoff) -> Self {
        Backoffs {
            settings,
            current: settings.initial,
        }
    }

    /// The wait before jitter after the next failure; at least the connect
    /// timeout is given to an attempt that follows a wait this long.
    pub(crate) fn current(&self) -> Duration {
        self.current
    }

    /// The wait after a failure, with `random` in [-1, 1] as its jitter;
    /// the next one is longer.
    pub(crate) fn next_with(&mut self, random: f64) -> Duration {
        let ConnectBackoff {
            multiplier,
            jitter,
            max,
            ..
        } = self.settings;
        let wait = self
            .current
            .mul_f64((1.0 + jitter * random.clamp(-1.0, 1.0)).max(0.0));
        self.current = self.current.mul_f64(multiplier.max(1.0)).min(max);
        wait
    }

    /// [`Backoffs::next_with`] a random jitter.
    pub(crate) fn next(&mut self) -> Duration {
        self.next_with(random_unit() * 2.0 - 1.0)
    }

    /// After a connection: the next failure waits `initial` again.
    pub(crate) fn reset(&mut self) {
        self.current = self.settings.initial;
    }
}

/// A random number in [0, 1), good enough to spread waits: 53 bits of
/// the standard library's randomly keyed hasher.
pub(crate) fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_the_multiplier_up_to_the_maximum() {
        let mut backoffs = Backoffs::new(ConnectBackoff::default());
        let waits: Vec<u128> = (0..14)
            .map(|_| backoffs.next_with(0.0).as_millis())
            .collect();
        assert_eq!(
            waits,
            [
                1000, 1600, 2560, 4096, 6553, 10485, 16777, 26843, 42949, 68719, 109951, 120000,
                120000, 120000
            ]
        );
        backoffs.reset();
        assert_eq!(backoffs.next_with(0.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_a_fifth_either_way() {
        let mut backoffs = Backoffs::new(ConnectBackoff::default());
        assert_eq!(backoffs.next_with(-1.0), Duration::from_millis(800));
        assert_eq!(backoffs.next_with(1.0), Duration::from_millis(1920));
        for _ in 0..1000 {
            backoffs.reset();
            let wait = backoffs.next();
            assert!(
                wait >= Duration::from_millis(800) && wait <= Duration::from_millis(1200),
                "{wait:?}"
            );
        }
    }
}
