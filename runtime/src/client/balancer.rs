//! [`LoadBalancing`]: how a channel spreads its calls over its target's
//! addresses; and the balancer that keeps a [`Subchannel`] per address,
//! resolves the target again, and picks a connection for each call.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::time::Instant;

use super::backoff::{Backoffs, ConnectBackoff};
use super::dial::{Dialer, Endpoint};
use super::subchannel::{Connection, ConnectivityState, Failure, Subchannel, Watcher, shut_down};
use super::target::Resolver;
use crate::Status;
use crate::transport::Link;

/// How a channel spreads its calls over the addresses of its target, as
/// gRPC's policies of the same names do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoadBalancing {
    /// Every call goes to one server: the first address, in the
    /// resolver's order, that accepts a connection. When that connection
    /// is lost, the next call resolves the target again and starts over.
    /// gRPC's default.
    #[default]
    PickFirst,
    /// The channel connects to every address, and each call goes to the
    /// next connected one in turn. An address whose connection fails is
    /// left out, and tried again after the connection backoff until it
    /// comes back.
    RoundRobin,
}

/// Where a channel's addresses come from.
pub(crate) enum Addresses {
    /// A resolver, asked when the channel first needs them, again after a
    /// connection is lost or cannot be made (not sooner than
    /// `min_interval` after the last time), and every `every` while the
    /// channel is in use.
    Resolved {
        resolver: Arc<dyn Resolver>,
        min_interval: Duration,
        every: Duration,
    },
    /// One way to the server, which needs no resolving.
    One(Endpoint),
}

/// The subchannels of a channel, and the picking of one for each call.
pub(crate) struct Balancer {
    shared: Arc<Shared>,
}

struct Shared {
    policy: LoadBalancing,
    addresses: Addresses,
    dialer: Arc<Dialer>,
    backoff: ConnectBackoff,
    pool: Mutex<Pool>,
    /// Where round robin is in its turn.
    turn: AtomicUsize,
    /// The channel's state, made of its subchannels'.
    state: tokio::sync::watch::Sender<ConnectivityState>,
    /// Held while resolving, so that one caller resolves at a time.
    resolving: tokio::sync::Mutex<()>,
}

/// The subchannels, and where the resolution is.
struct Pool {
    /// One per address, in the resolver's order.
    subchannels: Arc<[Arc<Subchannel>]>,
    /// Those that are ready, in the same order.
    ready: Vec<Arc<Subchannel>>,
    /// When the addresses were last resolved.
    resolved_at: Option<Instant>,
    /// Whether a connection was lost or failed since: the addresses may
    /// have changed.
    stale: bool,
    /// Whether a task is resolving them.
    resolving: bool,
    /// The waits between failed resolutions.
    backoffs: Backoffs,
    /// The last failed resolution, when there are no subchannels.
    failure: Option<Failure>,
    /// Whether the channel was shut down.
    shut_down: bool,
}

impl Balancer {
    pub(crate) fn new(
        policy: LoadBalancing,
        addresses: Addresses,
        dialer: Arc<Dialer>,
        backoff: ConnectBackoff,
    ) -> Self {
        let shared = Arc::new_cyclic(|shared: &Weak<Shared>| {
            let subchannels: Arc<[Arc<Subchannel>]> = match &addresses {
                Addresses::One(endpoint) => {
                    let watcher: Weak<dyn Watcher> = shared.clone();
                    [Subchannel::new(
                        endpoint.clone(),
                        dialer.clone(),
                        backoff,
                        watcher,
                    )]
                    .into()
                }
                Addresses::Resolved { .. } => Arc::new([]),
            };
            Shared {
                policy,
                addresses,
                dialer,
                backoff,
                pool: Mutex::new(Pool {
                    subchannels,
                    ready: Vec::new(),
                    resolved_at: None,
                    stale: false,
                    resolving: false,
                    backoffs: Backoffs::new(backoff),
                    failure: None,
                    shut_down: false,
                }),
                turn: AtomicUsize::new(0),
                state: tokio::sync::watch::Sender::new(ConnectivityState::Idle),
                resolving: tokio::sync::Mutex::new(()),
            }
        });
        Balancer { shared }
    }

    /// The channel's state.
    pub(crate) fn state(&self) -> ConnectivityState {
        *self.shared.state.borrow()
    }

    /// Waits until the channel's state is other than `from`, and gives it.
    pub(crate) async fn state_changed(&self, from: ConnectivityState) -> ConnectivityState {
        let mut states = self.shared.state.subscribe();
        // The sender lives as long as the balancer this borrows: the wait
        // ends with a change.
        match states.wait_for(|state| *state != from).await {
            Ok(state) => *state,
            Err(_) => from,
        }
    }

    /// Shuts the channel down: new calls fail, those under way finish, and
    /// each connection closes once its calls have ended.
    pub(crate) fn shut_down(&self) {
        let mut pool = crate::lock(&self.shared.pool);
        pool.shut_down = true;
        pool.ready.clear();
        let subchannels = std::mem::replace(&mut pool.subchannels, Arc::new([]));
        self.shared.state.send_replace(ConnectivityState::Shutdown);
        drop(pool);
        for subchannel in subchannels.iter() {
            subchannel.shut_down();
        }
    }

    /// A connection ready for a new stream, connecting as the policy says;
    /// `wait_for_ready` when the call waits out failed attempts to connect
    /// instead of failing with them.
    pub(crate) async fn pick(
        &self,
        wait_for_ready: bool,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        if let Some(mut connection) = self.shared.picked() {
            match std::future::poll_fn(|cx| connection.sender.poll_ready(cx)).await {
                Ok(()) => return Ok((connection.sender, connection.end)),
                Err(_) => connection.lost(),
            }
        }
        // Connecting takes a large future (TCP connect and HTTP/2
        // handshake); boxed, it does not weigh on every call's future.
        Box::pin(self.pick_slowly(wait_for_ready)).await
    }

    /// A connection when none is ready: connecting, or waiting for one.
    async fn pick_slowly(
        &self,
        wait_for_ready: bool,
    ) -> Result<(SendRequest<Bytes>, Link), Status> {
        let shared = &self.shared;
        let mut states = shared.state.subscribe();
        loop {
            if *states.borrow_and_update() == ConnectivityState::Shutdown {
                return Err(shut_down());
            }
            let subchannels = match shared.subchannels().await {
                Ok(subchannels) => subchannels,
                Err(failure) if wait_for_ready => {
                    // Until the next attempt, or a change.
                    let _ = tokio::time::timeout_at(failure.retry_at, states.changed()).await;
                    continue;
                }
                Err(failure) => return Err(failure.status),
            };
            if let Some(mut connection) = shared.picked() {
                match std::future::poll_fn(|cx| connection.sender.poll_ready(cx)).await {
                    Ok(()) => return Ok((connection.sender, connection.end)),
                    Err(_) => {
                        connection.lost();
                        continue;
                    }
                }
            }
            match shared.policy {
                LoadBalancing::PickFirst => match shared.first(&subchannels).await {
                    Ok(connection) => {
                        let sender = connection
                            .sender
                            .ready()
                            .await
                            .map_err(|err| connection.end.status(&err))?;
                        return Ok((sender, connection.end));
                    }
                    Err(failure) if wait_for_ready => {
                        let _ = tokio::time::timeout_at(failure.retry_at, states.changed()).await;
                    }
                    Err(failure) => return Err(failure.status),
                },
                LoadBalancing::RoundRobin => {
                    for subchannel in subchannels.iter() {
                        subchannel.keep_connecting();
                    }
                    if !wait_for_ready && let Some(failure) = all_failed(&subchannels) {
                        return Err(failure.status);
                    }
                    // Until one is ready, or they all failed.
                    let _ = states.changed().await;
                }
            }
        }
    }
}

/// The last failure of `subchannels`, when each waits out a backoff.
fn all_failed(subchannels: &[Arc<Subchannel>]) -> Option<Failure> {
    let mut last: Option<Failure> = None;
    for subchannel in subchannels {
        let failure = subchannel.waiting()?;
        if last
            .as_ref()
            .is_none_or(|last| failure.retry_at > last.retry_at)
        {
            last = Some(failure);
        }
    }
    last
}

impl Shared {
    /// The connection of the next ready subchannel, if one is; starts
    /// resolving the target again on a task when that is due.
    fn picked(self: &Arc<Self>) -> Option<Connection> {
        let mut pool = crate::lock(&self.pool);
        if !pool.resolving && !pool.shut_down && self.resolution_due(&pool) {
            pool.resolving = true;
            let this = self.clone();
            tokio::spawn(async move {
                let resolving = this.resolving.lock().await;
                if this.resolution_due(&crate::lock(&this.pool)) {
                    // A failure leaves the subchannels as they are.
                    let _ = this.resolve().await;
                }
                drop(resolving);
                crate::lock(&this.pool).resolving = false;
            });
        }
        let subchannel = match (pool.ready.len(), self.policy) {
            (0, _) => return None,
            (1, _) | (_, LoadBalancing::PickFirst) => pool.ready[0].clone(),
            (ready, LoadBalancing::RoundRobin) => {
                pool.ready[self.turn.fetch_add(1, Ordering::Relaxed) % ready].clone()
            }
        };
        drop(pool);
        subchannel.connection()
    }

    /// Whether the addresses should be resolved again now.
    fn resolution_due(&self, pool: &Pool) -> bool {
        let Addresses::Resolved {
            min_interval,
            every,
            ..
        } = &self.addresses
        else {
            return false;
        };
        match pool.resolved_at {
            None => true,
            Some(at) => {
                let elapsed = at.elapsed();
                elapsed >= *every || (pool.stale && elapsed >= *min_interval)
            }
        }
    }

    /// The subchannels to connect, the addresses resolved first when that
    /// is due and an attempt to connect follows.
    ///
    /// # Errors
    /// The last failed resolution, when there is no address to try.
    async fn subchannels(self: &Arc<Self>) -> Result<Arc<[Arc<Subchannel>]>, Failure> {
        let current = crate::lock(&self.pool).subchannels.clone();
        // When every subchannel waits out its backoff, no attempt follows.
        if !current.is_empty() && current.iter().all(|s| s.waiting().is_some()) {
            return Ok(current);
        }
        let _resolving = self.resolving.lock().await;
        {
            let pool = crate::lock(&self.pool);
            if let Some(failure) = Failure::pending(&pool.failure) {
                return Err(failure);
            }
            if !self.resolution_due(&pool) {
                return Ok(pool.subchannels.clone());
            }
        }
        self.resolve().await
    }

    /// Resolves the addresses and keeps a subchannel for each: those it
    /// had for the addresses that stay, new ones for the others. A failure
    /// leaves the subchannels as they were.
    ///
    /// # Errors
    /// The failure, when there are no subchannels.
    async fn resolve(self: &Arc<Self>) -> Result<Arc<[Arc<Subchannel>]>, Failure> {
        let Addresses::Resolved { resolver, .. } = &self.addresses else {
            return Ok(crate::lock(&self.pool).subchannels.clone());
        };
        let name = &self.dialer.authority;
        let found = match resolver.resolve().await {
            Ok(addresses) if addresses.is_empty() => Err(Status::unavailable(format!(
                "{name} resolved to no address"
            ))),
            Ok(addresses) => Ok(addresses),
            Err(err) => Err(Status::unavailable(format!("cannot resolve {name}: {err}"))),
        };
        let mut pool = crate::lock(&self.pool);
        if pool.shut_down {
            return Err(Failure::shut_down());
        }
        pool.resolved_at = Some(Instant::now());
        pool.stale = false;
        let addresses = match found {
            Ok(addresses) => addresses,
            Err(_) if !pool.subchannels.is_empty() => {
                // Tried again after the minimum interval.
                pool.stale = true;
                return Ok(pool.subchannels.clone());
            }
            Err(status) => {
                let retry_at = Instant::now() + pool.backoffs.next();
                let failure = Failure { status, retry_at };
                pool.failure = Some(failure.clone());
                self.refresh(&mut pool);
                return Err(failure);
            }
        };
        pool.failure = None;
        pool.backoffs.reset();
        let kept = self.subchannels_for(&pool.subchannels, &addresses);
        let before = std::mem::replace(&mut pool.subchannels, kept);
        self.refresh(&mut pool);
        let subchannels = pool.subchannels.clone();
        drop(pool);
        // Those whose address is gone.
        for subchannel in before.iter() {
            if !subchannels.iter().any(|kept| Arc::ptr_eq(kept, subchannel)) {
                subchannel.shut_down();
            }
        }
        if self.policy == LoadBalancing::RoundRobin {
            for subchannel in subchannels.iter() {
                subchannel.keep_connecting();
            }
        }
        Ok(subchannels)
    }

    /// A subchannel for each of `addresses`, once each, in order: the one
    /// in `current` for it, or a new one.
    fn subchannels_for(
        self: &Arc<Self>,
        current: &[Arc<Subchannel>],
        addresses: &[SocketAddr],
    ) -> Arc<[Arc<Subchannel>]> {
        let mut kept: Vec<Arc<Subchannel>> = Vec::with_capacity(addresses.len());
        for address in addresses {
            let is = |subchannel: &&Arc<Subchannel>| matches!(subchannel.endpoint(), Endpoint::Tcp(at) if at == address);
            if kept.iter().any(|s| is(&s)) {
                continue;
            }
            let subchannel = current.iter().find(is).cloned().unwrap_or_else(|| {
                let watcher: Weak<dyn Watcher> = Arc::downgrade(self) as Weak<Shared>;
                Subchannel::new(
                    Endpoint::Tcp(*address),
                    self.dialer.clone(),
                    self.backoff,
                    watcher,
                )
            });
            kept.push(subchannel);
        }
        kept.into()
    }

    /// `pick_first`: the connection of the first of `subchannels` that
    /// has one or opens one.
    ///
    /// # Errors
    /// When none does: the failure, and when the first of them may be
    /// tried again.
    async fn first(&self, subchannels: &[Arc<Subchannel>]) -> Result<Connection, Failure> {
        let mut failures = Vec::new();
        for subchannel in subchannels {
            match subchannel.connect().await {
                Ok(connection) => return Ok(connection),
                Err(failure) => failures.push(failure),
            }
        }
        let name = &self.dialer.authority;
        let (Some(last), Some(retry_at)) = (
            failures.last(),
            failures.iter().map(|failure| failure.retry_at).min(),
        ) else {
            return Err(Failure {
                status: Status::unavailable(format!("{name} resolved to no address")),
                retry_at: Instant::now(),
            });
        };
        let status = match failures.len() {
            1 => last.status.clone(),
            tried => Status::unavailable(format!(
                "cannot connect to any of the {tried} addresses of {name}; the last: {}",
                last.status.message()
            )),
        };
        Err(Failure { status, retry_at })
    }

    /// Sets the ready subchannels and the channel's state from the
    /// subchannels'.
    fn refresh(&self, pool: &mut Pool) {
        if pool.shut_down {
            return;
        }
        let states: Vec<ConnectivityState> = pool.subchannels.iter().map(|s| s.state()).collect();
        pool.ready = pool
            .subchannels
            .iter()
            .zip(&states)
            .filter(|(_, state)| **state == ConnectivityState::Ready)
            .map(|(subchannel, _)| subchannel.clone())
            .collect();
        let has = |wanted| states.contains(&wanted);
        let state = if has(ConnectivityState::Ready) {
            ConnectivityState::Ready
        } else if has(ConnectivityState::Connecting) {
            ConnectivityState::Connecting
        } else if has(ConnectivityState::TransientFailure) || pool.failure.is_some() {
            ConnectivityState::TransientFailure
        } else {
            ConnectivityState::Idle
        };
        self.state.send_if_modified(|now| {
            let changed = *now != state;
            *now = state;
            changed
        });
    }
}

impl Watcher for Shared {
    fn changed(&self, subchannel: &Arc<Subchannel>, lost: bool) {
        let mut pool = crate::lock(&self.pool);
        if !pool.subchannels.iter().any(|s| Arc::ptr_eq(s, subchannel)) {
            return;
        }
        if lost || subchannel.state() == ConnectivityState::TransientFailure {
            pool.stale = true;
        }
        self.refresh(&mut pool);
        drop(pool);
        if lost && self.policy == LoadBalancing::RoundRobin {
            subchannel.keep_connecting();
        }
    }
}
