//! [`Link`]: what the calls of one connection share with it.

#[cfg(feature = "server")]
use std::sync::Mutex;
#[cfg(feature = "server")]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
#[cfg(feature = "server")]
use std::time::{Duration, Instant};

#[cfg(feature = "server")]
use tokio::sync::Notify;

#[cfg(feature = "server")]
use super::frames::PingPolicy;

use super::h2_status;
use crate::Status;

/// What the calls of one connection share with it: why it ended, as its
/// socket saw it; the bytes their incomplete messages hold, against a
/// limit; and the calls its peer cancelled, against a budget.
///
/// h2 tells the streams of a connection that failed or closed only that it
/// is gone ("broken pipe"); the link names the failure itself: a reset, an
/// end of file, a timeout. The default link knows nothing, limits nothing
/// and costs nothing.
#[derive(Clone, Default)]
pub(crate) struct Link(Option<Arc<Shared>>);

/// The limits a server puts on each connection's link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkLimits {
    /// Bytes the incomplete messages of all the connection's calls may hold.
    pub(crate) held: usize,
    /// Calls the peer may cancel within `per`.
    #[cfg(feature = "server")]
    pub(crate) resets: u32,
    #[cfg(feature = "server")]
    pub(crate) per: Duration,
    /// How often the peer may ping.
    #[cfg(feature = "server")]
    pub(crate) pings: PingPolicy,
}

struct Shared {
    end: OnceLock<String>,
    held: AtomicUsize,
    limits: Option<LinkLimits>,
    /// Reads that brought bytes: the peer's activity, for keepalive.
    reads: AtomicU64,
    /// The client's first frame (its SETTINGS) has arrived.
    #[cfg(feature = "server")]
    opened: AtomicBool,
    /// Calls of the connection that have started and ended.
    #[cfg(feature = "server")]
    started_calls: AtomicU64,
    #[cfg(feature = "server")]
    ended_calls: AtomicU64,
    /// The peer's cancellations in the current window, and when it began.
    #[cfg(feature = "server")]
    resets: Mutex<(Instant, u32)>,
    /// Woken when the peer has broken a limit on what it may make the
    /// server do.
    #[cfg(feature = "server")]
    misbehaved: Notify,
}

impl Link {
    /// The link of a new connection, under `limits` if any.
    pub(crate) fn new(limits: Option<LinkLimits>) -> Self {
        Self(Some(Arc::new(Shared {
            end: OnceLock::new(),
            held: AtomicUsize::new(0),
            limits,
            reads: AtomicU64::new(0),
            #[cfg(feature = "server")]
            opened: AtomicBool::new(false),
            #[cfg(feature = "server")]
            started_calls: AtomicU64::new(0),
            #[cfg(feature = "server")]
            ended_calls: AtomicU64::new(0),
            #[cfg(feature = "server")]
            resets: Mutex::new((Instant::now(), 0)),
            #[cfg(feature = "server")]
            misbehaved: Notify::new(),
        })))
    }

    /// Whether `other` is the link of the same connection.
    #[cfg(feature = "client")]
    pub(crate) fn same(&self, other: &Link) -> bool {
        match (&self.0, &other.0) {
            (Some(this), Some(other)) => Arc::ptr_eq(this, other),
            _ => false,
        }
    }

    /// Records why the connection ended, unless an earlier failure was.
    pub(crate) fn ended(&self, why: impl FnOnce() -> String) {
        if let Some(shared) = &self.0
            && shared.end.get().is_none()
        {
            let _ = shared.end.set(why());
        }
    }

    /// Counts a read that brought bytes.
    pub(crate) fn count_read(&self) {
        if let Some(shared) = &self.0 {
            shared.reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads that brought bytes so far: when it has not moved, the peer has
    /// been silent.
    pub(crate) fn reads(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |shared| shared.reads.load(Ordering::Relaxed))
    }

    /// Whether anything besides the connection itself (its socket, its
    /// task, `holders` in all) holds the link: calls in flight do.
    #[cfg(feature = "client")]
    pub(crate) fn in_use(&self, holders: usize) -> bool {
        self.0
            .as_ref()
            .is_some_and(|shared| Arc::strong_count(shared) > holders)
    }

    /// Records that the client's first frame, its SETTINGS, has arrived.
    #[cfg(feature = "server")]
    pub(crate) fn set_opened(&self) {
        if let Some(shared) = &self.0 {
            shared.opened.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the client's SETTINGS have arrived.
    #[cfg(feature = "server")]
    pub(crate) fn opened(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|shared| shared.opened.load(Ordering::Relaxed))
    }

    /// Counts a call of the connection that started.
    #[cfg(feature = "server")]
    pub(crate) fn call_started(&self) {
        if let Some(shared) = &self.0 {
            shared.started_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Calls of the connection that have started.
    #[cfg(feature = "server")]
    pub(crate) fn started_calls(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |shared| shared.started_calls.load(Ordering::Relaxed))
    }

    /// Calls of the connection in flight.
    #[cfg(feature = "server")]
    pub(crate) fn in_flight(&self) -> u64 {
        self.0.as_ref().map_or(0, |shared| {
            let ended = shared.ended_calls.load(Ordering::Relaxed);
            shared
                .started_calls
                .load(Ordering::Relaxed)
                .saturating_sub(ended)
        })
    }

    /// Counts a call of the connection that ended.
    #[cfg(feature = "server")]
    pub(crate) fn call_ended(&self) {
        if let Some(shared) = &self.0 {
            shared.ended_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The status of a call on the connection that failed with `err`: why
    /// the connection ended, as its socket saw it, when that explains the
    /// failure (the socket failed, or what came in made no sense).
    pub(crate) fn status(&self, err: &h2::Error) -> Status {
        let explains = err.is_io() || (err.is_go_away() && !err.is_remote());
        match self.0.as_ref().and_then(|shared| shared.end.get()) {
            Some(why) if explains => Status::unavailable(format!("connection lost: {why}")),
            _ => h2_status(err),
        }
    }

    /// Changes what one call's incomplete message holds from `*held` to
    /// `now` bytes.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED when the connection's calls would hold more than
    /// their limit; the call's charge is then released.
    pub(crate) fn hold(&self, held: &mut u32, now: u32) -> Result<(), Status> {
        let Some(shared) = &self.0 else {
            return Ok(());
        };
        if now == *held {
            return Ok(());
        }
        let limit = shared.limits.map_or(usize::MAX, |limits| limits.held);
        if now > *held {
            let more = (now - *held) as usize;
            let total = shared.held.fetch_add(more, Ordering::Relaxed) + more;
            *held = now;
            if total > limit {
                self.hold(held, 0)?;
                return Err(Status::resource_exhausted(format!(
                    "the connection's incomplete messages would hold more than {limit} bytes"
                )));
            }
        } else {
            shared
                .held
                .fetch_sub((*held - now) as usize, Ordering::Relaxed);
            *held = now;
        }
        Ok(())
    }

    /// Counts a call the peer cancelled; past the budget, wakes
    /// [`Link::misbehaved`].
    #[cfg(feature = "server")]
    pub(crate) fn peer_cancelled(&self) {
        let Some(shared) = &self.0 else {
            return;
        };
        let Some(limits) = shared.limits else {
            return;
        };
        let mut resets = crate::lock(&shared.resets);
        let now = Instant::now();
        if now.duration_since(resets.0) > limits.per {
            *resets = (now, 0);
        }
        resets.1 += 1;
        if resets.1 > limits.resets {
            self.misbehave();
        }
    }

    /// Records that the peer broke a limit, which wakes
    /// [`Link::misbehaved`].
    #[cfg(feature = "server")]
    pub(crate) fn misbehave(&self) {
        if let Some(shared) = &self.0 {
            shared.misbehaved.notify_one();
        }
    }

    /// Completes once the peer has broken a limit: cancelled more calls
    /// than its budget, pinged or sent SETTINGS too often.
    #[cfg(feature = "server")]
    pub(crate) async fn misbehaved(&self) {
        match &self.0 {
            Some(shared) => shared.misbehaved.notified().await,
            None => std::future::pending().await,
        }
    }
}
