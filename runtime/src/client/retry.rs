//! Retries as gRFC A6 says: when a failed attempt may be made again, how
//! long to wait first, and the channel's retry throttling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::backoff::random_unit;
use super::service_config::{RetryPolicy, Throttling};
use crate::Status;

/// How much of what a call that may be retried sends it keeps to send
/// again, by default: past it, the call is not retried.
pub const DEFAULT_RETRY_BUFFER_SIZE: usize = 256 * 1024;

/// What a server said of trying again, in `grpc-retry-pushback-ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushback {
    /// Not before this long.
    After(Duration),
    /// Not at all: a negative or malformed value.
    Never,
}

/// The attempts of one call under a retry policy.
pub(crate) struct Attempts {
    policy: RetryPolicy,
    /// Attempts made so far.
    made: u32,
    /// The backoff before jitter for the next retry.
    backoff: Duration,
}

impl Attempts {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Attempts {
            backoff: policy.initial_backoff,
            policy,
            made: 0,
        }
    }

    /// Counts an attempt about to be made: how many came before it.
    pub(crate) fn start(&mut self) -> u32 {
        self.made += 1;
        self.made - 1
    }

    /// After an attempt failed with `status` before the call committed:
    /// how long to wait before the next, or `None` when there is none (the
    /// code is not retried, the attempts are spent, the server said not
    /// to, or `throttle` holds retries back).
    pub(crate) fn retry_after(
        &mut self,
        status: &Status,
        pushback: Option<Pushback>,
        throttle: Option<&Throttle>,
    ) -> Option<Duration> {
        let retryable = self.policy.retries(status.code());
        // A failure counts against the throttle when its code is retryable
        // or the server pushed back, whether or not it is retried.
        let allowed = match throttle {
            Some(throttle) if retryable || pushback.is_some() => throttle.failed(),
            Some(throttle) => throttle.allows(),
            None => true,
        };
        if !retryable || !allowed || self.made >= self.policy.max_attempts {
            return None;
        }
        match pushback {
            Some(Pushback::Never) => None,
            Some(Pushback::After(wait)) => {
                // After a pushback, backoff starts over.
                self.backoff = self.policy.initial_backoff;
                Some(wait)
            }
            None => {
                let wait = self.backoff.mul_f64(random_unit());
                self.backoff = self
                    .backoff
                    .mul_f64(self.policy.backoff_multiplier)
                    .min(self.policy.max_backoff);
                Some(wait)
            }
        }
    }
}

/// A channel's retry throttling: a token bucket that failures drain and
/// successes refill; retries stop while it is at most half full.
#[derive(Debug)]
pub(crate) struct Throttle {
    settings: Throttling,
    /// In thousandths of a token.
    milli_tokens: AtomicU64,
}

impl Throttle {
    pub(crate) fn new(settings: Throttling) -> Self {
        Throttle {
            settings,
            milli_tokens: AtomicU64::new(settings.max_milli_tokens),
        }
    }

    /// Whether retries are allowed now.
    fn allows(&self) -> bool {
        self.milli_tokens.load(Ordering::Relaxed) > self.settings.max_milli_tokens / 2
    }

    /// A failure: one token less. Whether a retry is allowed after it.
    fn failed(&self) -> bool {
        let before = self
            .milli_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                Some(tokens.saturating_sub(1000))
            })
            .unwrap_or_default();
        before.saturating_sub(1000) > self.settings.max_milli_tokens / 2
    }

    /// A success: the token ratio more, up to the maximum.
    pub(crate) fn succeeded(&self) {
        let Throttling {
            max_milli_tokens,
            milli_token_ratio,
        } = self.settings;
        let _ = self
            .milli_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                (tokens < max_milli_tokens)
                    .then(|| (tokens + milli_token_ratio).min(max_milli_tokens))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::client::service_config::ServiceConfig;

    /// A policy retrying UNAVAILABLE, backing off from 1 s by 2.
    fn policy(max_attempts: u32, max_backoff: &str) -> RetryPolicy {
        let config = ServiceConfig::from_json(&format!(
            r#"{{"methodConfig": [{{"name": [{{}}], "retryPolicy": {{
                "maxAttempts": {max_attempts}, "initialBackoff": "1s",
                "maxBackoff": "{max_backoff}", "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"]}}}}]}}"#
        ))
        .unwrap();
        config.method("/a.A/M").unwrap().retry.clone().unwrap()
    }

    #[test]
    fn waits_stay_within_the_growing_backoff_and_attempts_run_out() {
        let policy = policy(4, "3s");
        let mut attempts = Attempts::new(policy.clone());
        let unavailable = Status::unavailable("down");
        let mut bounds = Vec::new();
        while attempts.start() < 10 {
            match attempts.retry_after(&unavailable, None, None) {
                Some(wait) => bounds.push(wait),
                None => break,
            }
        }
        // Three retries after four attempts in all: each wait random below
        // 1 s, 2 s, then 3 s (the maximum).
        assert_eq!(bounds.len(), 3);
        for (wait, most) in bounds.iter().zip([1, 2, 3]) {
            assert!(*wait < Duration::from_secs(most), "{wait:?}");
        }
        let mut attempts = Attempts::new(policy.clone());
        attempts.start();
        assert_eq!(
            attempts.retry_after(&Status::internal("bug"), None, None),
            None
        );
    }

    #[test]
    fn pushback_sets_the_wait_or_stops_retries() {
        let policy = policy(5, "8s");
        let mut attempts = Attempts::new(policy.clone());
        let status = Status::new(Code::Unavailable, "busy");
        attempts.start();
        let pushed = Some(Pushback::After(Duration::from_millis(1500)));
        assert_eq!(
            attempts.retry_after(&status, pushed, None),
            Some(Duration::from_millis(1500))
        );
        attempts.start();
        assert_eq!(
            attempts.retry_after(&status, Some(Pushback::Never), None),
            None
        );
    }

    #[test]
    fn the_throttle_stops_retries_at_half_its_tokens_and_refills() {
        let throttle = Throttle::new(Throttling {
            max_milli_tokens: 4000,
            milli_token_ratio: 500,
        });
        // 4 tokens: failures leave 3 (retry), then 2 (no retry: at half).
        assert!(throttle.failed());
        assert!(!throttle.failed());
        assert!(!throttle.allows());
        // A success brings half a token back: above half again.
        throttle.succeeded();
        assert!(throttle.allows());
        assert_eq!(throttle.milli_tokens.load(Ordering::Relaxed), 2500);
        // Never past the maximum.
        for _ in 0..10 {
            throttle.succeeded();
        }
        assert_eq!(throttle.milli_tokens.load(Ordering::Relaxed), 4000);
    }
}
