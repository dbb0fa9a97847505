//! [`Subchannel`]: the connection to one address, its state, and the
//! backoff between failed attempts to open it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::time::Instant;

use super::backoff::{Backoffs, ConnectBackoff};
use super::dial::{Dialer, Endpoint};
use crate::Status;
use crate::transport::Link;

/// Where a connection is, as gRPC names the states: a channel's, or one of
/// its subchannels'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// No connection, and none being opened: the channel connects on its
    /// next call. Where a channel starts, and returns when its connections
    /// end.
    Idle,
    /// A connection is being opened.
    Connecting,
    /// A connection is open and takes calls.
    Ready,
    /// The last attempts to connect failed; the next wait for the
    /// connection backoff, and calls fail at once meanwhile unless they
    /// wait for ready.
    TransientFailure,
    /// Shut down for good: the channel by [`Channel::shutdown`], or a
    /// subchannel whose address the resolver no longer gives. New calls
    /// fail; those under way finish.
    ///
    /// [`Channel::shutdown`]: super::Channel::shutdown
    Shutdown,
}

/// An open connection: its sender, and what tells why it ended if it has.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) sender: SendRequest<Bytes>,
    pub(crate) end: Link,
    /// The subchannel it belongs to.
    owner: Weak<Subchannel>,
}

impl Connection {
    /// The connection could not take a stream: its subchannel has lost it.
    pub(crate) fn lost(&self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.lost_if(|now| {
                now.connection
                    .as_ref()
                    .is_some_and(|c| c.end.same(&self.end))
            });
        }
    }
}

/// A failed attempt to connect: its error, and when the next may be made.
#[derive(Clone)]
pub(crate) struct Failure {
    pub(crate) status: Status,
    pub(crate) retry_at: Instant,
}

impl Failure {
    /// `failure`, while the next attempt must still wait for it.
    pub(crate) fn pending(failure: &Option<Failure>) -> Option<Failure> {
        failure
            .clone()
            .filter(|failure| failure.retry_at > Instant::now())
    }

    /// What an attempt on a channel or subchannel that was shut down
    /// meets: for good, so nothing waits to try again.
    pub(crate) fn shut_down() -> Failure {
        Failure {
            status: shut_down(),
            retry_at: Instant::now(),
        }
    }
}

/// Told of each change of a subchannel's state.
pub(crate) trait Watcher: Send + Sync + 'static {
    /// `subchannel`'s state changed; `lost` when a connection it had ended.
    fn changed(&self, subchannel: &Arc<Subchannel>, lost: bool);
}

/// One address of a channel's target, and the connection to it.
pub(crate) struct Subchannel {
    endpoint: Endpoint,
    dialer: Arc<Dialer>,
    watcher: Weak<dyn Watcher>,
    now: Mutex<Now>,
    /// Held while connecting, so that one caller connects and the others
    /// wait for it.
    connecting: tokio::sync::Mutex<()>,
    /// Whether a task keeps trying to connect it.
    kept: AtomicBool,
}

/// A subchannel's state, and what goes with it.
struct Now {
    state: ConnectivityState,
    connection: Option<Connection>,
    /// The number of attempts to connect: the current connection's
    /// generation, which tells it from one that ended before.
    generations: u64,
    backoffs: Backoffs,
    failure: Option<Failure>,
}

impl Subchannel {
    /// A subchannel to `endpoint`, idle; `watcher` is told of its changes.
    pub(crate) fn new(
        endpoint: Endpoint,
        dialer: Arc<Dialer>,
        backoff: ConnectBackoff,
        watcher: Weak<dyn Watcher>,
    ) -> Arc<Self> {
        Arc::new(Subchannel {
            endpoint,
            dialer,
            watcher,
            now: Mutex::new(Now {
                state: ConnectivityState::Idle,
                connection: None,
                generations: 0,
                backoffs: Backoffs::new(backoff),
                failure: None,
            }),
            connecting: tokio::sync::Mutex::new(()),
            kept: AtomicBool::new(false),
        })
    }

    /// Where it connects.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn state(&self) -> ConnectivityState {
        crate::lock(&self.now).state
    }

    /// Its connection, when it has one.
    pub(crate) fn connection(&self) -> Option<Connection> {
        crate::lock(&self.now).connection.clone()
    }

    /// The last failed attempt to connect, while the next must wait for it.
    pub(crate) fn waiting(&self) -> Option<Failure> {
        Failure::pending(&crate::lock(&self.now).failure)
    }

    /// Its connection, opened now unless it has one or its backoff runs.
    ///
    /// # Errors
    /// The failed attempt: this one, or the last while its backoff runs.
    pub(crate) async fn connect(self: &Arc<Self>) -> Result<Connection, Failure> {
        let _connecting = self.connecting.lock().await;
        let (generation, at_least) = {
            let mut now = crate::lock(&self.now);
            if let Some(connection) = &now.connection {
                return Ok(connection.clone());
            }
            if now.state == ConnectivityState::Shutdown {
                return Err(Failure::shut_down());
            }
            if let Some(failure) = Failure::pending(&now.failure) {
                return Err(failure);
            }
            now.state = ConnectivityState::Connecting;
            now.generations += 1;
            (now.generations, now.backoffs.current())
        };
        self.tell(false);
        let this = Arc::downgrade(self);
        let on_end = move || {
            if let Some(this) = this.upgrade() {
                this.lost_if(|now| now.generations == generation);
            }
        };
        let opened = self.dialer.open(&self.endpoint, at_least, on_end).await;
        let mut now = crate::lock(&self.now);
        if now.state == ConnectivityState::Shutdown {
            // Shut down meanwhile: what opened closes with this.
            return Err(Failure::shut_down());
        }
        let result = match opened {
            Ok((sender, end)) => {
                let connection = Connection {
                    sender,
                    end,
                    owner: Arc::downgrade(self),
                };
                now.state = ConnectivityState::Ready;
                now.connection = Some(connection.clone());
                now.backoffs.reset();
                now.failure = None;
                Ok(connection)
            }
            Err(status) => {
                let retry_at = Instant::now() + now.backoffs.next();
                let failure = Failure { status, retry_at };
                now.state = ConnectivityState::TransientFailure;
                now.failure = Some(failure.clone());
                Err(failure)
            }
        };
        drop(now);
        self.tell(false);
        result
    }

    /// The current connection is over if `is` says so: the subchannel is
    /// idle.
    fn lost_if(self: &Arc<Self>, is: impl FnOnce(&Now) -> bool) {
        let mut now = crate::lock(&self.now);
        if now.connection.is_none() || !is(&now) {
            return;
        }
        now.connection = None;
        now.state = ConnectivityState::Idle;
        drop(now);
        self.tell(true);
    }

    /// Shuts the subchannel down: it lets go of its connection, which
    /// closes once the calls on it end, and opens no other.
    pub(crate) fn shut_down(&self) {
        let mut now = crate::lock(&self.now);
        now.state = ConnectivityState::Shutdown;
        now.connection = None;
    }

    /// Keeps trying to connect, on a task of its own, waiting for the
    /// backoff after each failure, until connected or dropped; unless a
    /// task does so already.
    pub(crate) fn keep_connecting(self: &Arc<Self>) {
        if matches!(
            self.state(),
            ConnectivityState::Ready | ConnectivityState::Shutdown
        ) || self.kept.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(subchannel) = this.upgrade() {
                match subchannel.connect().await {
                    Ok(_) => {
                        subchannel.kept.store(false, Ordering::Release);
                        // A connection lost meanwhile found the task still
                        // running: it is followed here.
                        if subchannel.state() == ConnectivityState::Ready
                            || subchannel.kept.swap(true, Ordering::AcqRel)
                        {
                            return;
                        }
                    }
                    Err(_) if subchannel.state() == ConnectivityState::Shutdown => return,
                    Err(failure) => {
                        drop(subchannel);
                        tokio::time::sleep_until(failure.retry_at).await;
                    }
                }
            }
        });
    }

    /// Tells the watcher; never with the state locked.
    fn tell(self: &Arc<Self>, lost: bool) {
        if let Some(watcher) = self.watcher.upgrade() {
            watcher.changed(self, lost);
        }
    }
}

/// Why a call fails on a channel that was shut down.
pub(crate) fn shut_down() -> Status {
    Status::unavailable("the channel was shut down")
}
