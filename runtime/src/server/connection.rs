//! One connection: its HTTP/2 handshake, the calls it accepts, and the
//! checks each call passes before its handler runs.

use std::future::Future;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::builder::Config;
use super::driver::{self, Shared};
use super::handler::Call;
use super::intercept::Interceptors;
use super::router::Routes;
use crate::call::{CallSpan, Peer, connection_failed, handshake_failed};
use crate::transport::{Keepalive, Link};
use crate::{CallContext, CallInfo, protocol, transport};

/// What every connection of a server serves with: its routes, settings and
/// interceptors.
pub(crate) struct Core {
    pub(crate) routes: Routes,
    pub(crate) config: Config,
    /// None when there are none, so that calls pay nothing for them.
    pub(crate) interceptors: Option<Arc<Interceptors>>,
    /// Tells every connection when to stop. Each holds a receiver while it
    /// lives, so the count of receivers is the count of connections.
    pub(crate) stop: watch::Sender<Stop>,
}

/// Where a server is in its life, as its connections follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Serving,
    /// No new calls: GOAWAY, and the calls in flight may finish.
    Draining,
    /// The grace period is over: the calls left are cut off.
    Closing,
}

/// How long a connection closed at the end of the grace period has to send
/// its GOAWAY before it is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

impl Core {
    /// Drains every connection, then, past the grace period, closes those
    /// left; returns once all have ended.
    pub(crate) async fn shut_down(&self) {
        // The services that care hear of it before any client does.
        if *self.stop.borrow() == Stop::Serving {
            self.routes.shutting_down();
        }
        self.stop.send_if_modified(|stop| {
            let starting = *stop == Stop::Serving;
            if starting {
                *stop = Stop::Draining;
            }
            starting
        });
        let drained = tokio::time::timeout(self.config.shutdown_grace, self.stop.closed());
        if drained.await.is_err() {
            self.stop.send_replace(Stop::Closing);
            self.stop.closed().await;
        }
    }

    /// Serves one connection accepted from `address`: TLS first if the
    /// server has it, then HTTP/2 (see [`Core::serve_http2`]).
    pub(crate) async fn serve_connection<IO>(self: Arc<Self>, io: IO, address: Option<SocketAddr>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Some((stop, opened_by)) = self.admit() else {
            return;
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            let mut stop = stop;
            let handshake = tokio::time::timeout_at(opened_by.into(), tls.accept(io));
            let (io, certificates) = tokio::select! {
                handshake = handshake => match handshake {
                    Ok(Ok(secured)) => secured,
                    Ok(Err(err)) => return handshake_failed(address, &format_args!("TLS: {err}")),
                    Err(_) => return handshake_failed(address, &"TLS took too long"),
                },
                _ = stop.changed() => return,
            };
            let peer = Peer {
                address,
                certificates,
            };
            // Boxed: the HTTP/2 connection's code is not made again for
            // each kind of socket under TLS.
            let io: Box<dyn transport::Io> = Box::new(io);
            return self.serve_http2(io, peer, stop, opened_by).await;
        }
        self.serve_http2(io, Peer::at(address), stop, opened_by)
            .await;
    }

    /// Serves an in-memory connection: HTTP/2 with no TLS, from no address.
    #[cfg(feature = "client")]
    pub(crate) async fn serve_in_memory<IO>(self: Arc<Self>, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if let Some((stop, opened_by)) = self.admit() {
            self.serve_http2(io, Peer::at(None), stop, opened_by).await;
        }
    }

    /// Admits a new connection, unless the server is stopping: the receiver
    /// it follows the server's stop by, and when its handshakes must be
    /// over.
    fn admit(&self) -> Option<(watch::Receiver<Stop>, Instant)> {
        let opened_by = Instant::now() + self.config.accept.timeout;
        let mut stop = self.stop.subscribe();
        let serving = *stop.borrow_and_update() == Stop::Serving;
        serving.then_some((stop, opened_by))
    }

    /// Serves HTTP/2 over `io`, from `peer`, until the peer closes it, the
    /// server shuts down (see [`Core::shut_down`]), or the connection's
    /// limits end it: a client that does not send its SETTINGS by
    /// `opened_by`, idleness, age, a silent peer, too many cancelled calls.
    async fn serve_http2<IO>(
        self: Arc<Self>,
        io: IO,
        peer: Peer,
        mut stop: watch::Receiver<Stop>,
        opened_by: Instant,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.config;
        let handshake = transport::accept(io, &config.accept, opened_by);
        let connection = tokio::select! {
            connection = handshake => connection,
            _ = stop.changed() => return,
        };
        let address = peer.address;
        let Some((mut connection, link)) = connection else {
            handshake_failed(address, &"HTTP/2 did not start in time");
            return;
        };
        let peer = Arc::new(peer);
        // The timers and signals that end a connection are watched on a
        // task of their own, so that this loop, woken for every call, polls
        // nothing but the connection and the orders.
        let orders = Arc::new(Orders::default());
        let watch = Watch {
            link: link.clone(),
            stop,
            ping_pong: connection.ping_pong(),
            orders: orders.clone(),
            opened_by,
            idle: Idle::new(config.max_connection_idle),
            age: config.max_connection_age.map(jittered),
            grace: config.max_connection_age_grace,
            keepalive: config.keepalive,
        };
        let _watching = AbortOnDrop(tokio::spawn(watch.run(address)));
        let mut obeyed = Order::None;
        // Why the connection is cut off, if it is.
        let reason = loop {
            tokio::select! {
                // New calls first: the orders are looked at only when
                // there are none, once per wakeup.
                biased;
                accepted = connection.accept() => match accepted {
                    Some(Ok((request, respond))) => {
                        link.call_started();
                        // The checks run on the call's own task: this one
                        // does the I/O of every call on the connection.
                        let core = self.clone();
                        let link = link.clone();
                        let peer = peer.clone();
                        tokio::spawn(driver::started_by(move || core.start_call(request, respond, peer, link)));
                    }
                    Some(Err(err)) => {
                        connection_failed("server", &err);
                        return;
                    }
                    None => return,
                },
                order = poll_fn(|cx| orders.poll(cx, obeyed)) => {
                    obeyed = order;
                    match order {
                        Order::None => {}
                        Order::Drain => connection.graceful_shutdown(),
                        Order::Close => break h2::Reason::NO_ERROR,
                        Order::Calm => break h2::Reason::ENHANCE_YOUR_CALM,
                        Order::Drop => return,
                    }
                }
            }
        };
        // The calls left see their streams end, and the client the
        // connection's, with `reason` in the GOAWAY.
        connection.abrupt_shutdown(reason);
        let closed = async { while connection.accept().await.is_some() {} };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, closed).await;
    }

    /// Checks a new call and returns the future that runs it; a call that
    /// fails the checks is answered here and needs none. The call's task
    /// runs this first (see `driver::started_by`), and the future holds
    /// only what the call needs from here on.
    fn start_call(
        &self,
        request: http::Request<RecvStream>,
        mut respond: SendResponse<Bytes>,
        peer: Arc<Peer>,
        link: Link,
    ) -> Option<impl Future<Output = ()> + Send + use<>> {
        let (parts, body) = request.into_parts();
        if let Err(status) = protocol::check_request(&parts) {
            let _ = respond.send_response(protocol::plain_response(status), true);
            link.call_ended();
            return None;
        }
        // Routed with any query string: a path with one names no method
        // (UNIMPLEMENTED, as in grpc-go).
        let path = parts.uri.path_and_query().map_or("", |path| path.as_str());
        let head = self
            .routes
            .route(path)
            .and_then(|route| Ok((route, protocol::read_request(&parts.headers)?)));
        let ((path, method), head) = match head {
            Ok(found) => found,
            Err(status) => {
                driver::reject(respond, &status);
                link.call_ended();
                return None;
            }
        };
        let deadline = head.timeout.map(|timeout| Instant::now() + timeout);
        let info = CallInfo::new(path, method.kind, Some(peer));
        let span = CallSpan::server(&info);
        // Responses are compressed as the server prefers, if the client
        // accepts it.
        let compression =
            (self.config.send_compression).filter(|compression| head.accepted.has(*compression));
        let context = CallContext::new(info, deadline, head.accepted, compression);
        let shared = Shared::new(self.config.max_send_message_size, context.clone());
        let incoming = transport::Incoming::new(
            body,
            link.clone(),
            self.config.max_receive_message_size,
            head.compression,
        );
        let call = Call {
            metadata: head.metadata,
            context: context.clone(),
            incoming,
            sink: shared.clone(),
            interceptors: self.interceptors.clone(),
        };
        let handler = context.clone().scope((method.handler)(call));
        Some(driver::drive(respond, handler, shared, context, span, link))
    }
}

/// What a connection's watch tells its loop to do, the graver the later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Order {
    None,
    /// Send GOAWAY, take no new calls, let those in flight finish.
    Drain,
    /// Cut the calls left off and close.
    Close,
    /// The same, with `ENHANCE_YOUR_CALM` in the GOAWAY: the client broke
    /// a limit.
    Calm,
    /// Close without a word: the client never finished its handshake.
    Drop,
}

impl Order {
    fn from_u8(order: u8) -> Self {
        match order {
            0 => Order::None,
            1 => Order::Drain,
            2 => Order::Close,
            3 => Order::Calm,
            _ => Order::Drop,
        }
    }
}

/// The gravest order a connection's watch has given its loop: a cell,
/// cheap for the loop to look at on every wakeup.
#[derive(Default)]
struct Orders {
    order: AtomicU8,
    loop_waker: AtomicWaker,
}

impl Orders {
    fn give(&self, order: Order) {
        self.order.fetch_max(order as u8, Ordering::AcqRel);
        self.loop_waker.wake();
    }

    /// An order graver than `obeyed`, once there is one.
    fn poll(&self, cx: &mut Context<'_>, obeyed: Order) -> Poll<Order> {
        let given = || Order::from_u8(self.order.load(Ordering::Acquire));
        if given() > obeyed {
            return Poll::Ready(given());
        }
        self.loop_waker.register(cx.waker());
        // Looked at again: an order given before the waker was in place
        // woke nobody.
        if given() > obeyed {
            Poll::Ready(given())
        } else {
            Poll::Pending
        }
    }
}

/// The timers and signals that end a connection: the server's shutdown,
/// the client's SETTINGS due by the end of the handshake timeout,
/// idleness, age, keepalive, and the client breaking a limit.
struct Watch {
    link: Link,
    stop: watch::Receiver<Stop>,
    ping_pong: Option<h2::PingPong>,
    orders: Arc<Orders>,
    opened_by: Instant,
    idle: Idle,
    age: Option<Duration>,
    grace: Option<Duration>,
    keepalive: Keepalive,
}

impl Watch {
    /// Watches until the connection's end (when its loop aborts this).
    async fn run(self, peer: Option<SocketAddr>) {
        let Watch {
            link,
            mut stop,
            mut ping_pong,
            orders,
            opened_by,
            mut idle,
            age,
            grace,
            keepalive,
        } = self;
        let keepalive = async {
            match &mut ping_pong {
                Some(ping_pong) => {
                    transport::keep_alive(ping_pong, &link, keepalive, || true).await
                }
                None => std::future::pending().await,
            }
        };
        let mut keepalive = std::pin::pin!(keepalive);
        let mut misbehaved = std::pin::pin!(link.misbehaved());
        let mut opening = std::pin::pin!(tokio::time::sleep_until(opened_by.into()));
        let mut idle_check = std::pin::pin!(tokio::time::sleep(idle.period()));
        let mut aged = std::pin::pin!(sleep_for(age));
        let mut graced = std::pin::pin!(sleep_for(None));
        let (mut opened, mut draining, mut calmed) = (false, false, false);
        loop {
            let order = tokio::select! {
                // The sender lives in the server: this never fails.
                Ok(()) = stop.changed() => match *stop.borrow_and_update() {
                    Stop::Serving => continue,
                    Stop::Draining => Order::Drain,
                    Stop::Closing => Order::Close,
                },
                // Once: the future is done after it.
                () = &mut misbehaved, if !calmed => {
                    calmed = true;
                    Order::Calm
                }
                // The handshake is over only once the client's SETTINGS are in.
                () = &mut opening, if !opened => {
                    opened = true;
                    if link.opened() {
                        continue;
                    }
                    handshake_failed(peer, &"no HTTP/2 SETTINGS from the client in time");
                    Order::Drop
                }
                () = &mut idle_check, if idle.limit.is_some() && !draining => {
                    idle_check.as_mut().reset((Instant::now() + idle.period()).into());
                    if !idle.check(link.in_flight(), link.started_calls()) {
                        continue;
                    }
                    Order::Drain
                }
                () = &mut aged, if !draining => {
                    graced.set(sleep_for(grace));
                    Order::Drain
                }
                () = &mut graced => Order::Close,
                () = &mut keepalive => Order::Close,
            };
            draining |= order == Order::Drain;
            orders.give(order);
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connection's idleness, checked every quarter of its limit: idle for
/// the limit once no call was in flight at that many checks in a row and
/// none started or ended in between, so it is never found idle early and
/// at most a quarter late.
struct Idle {
    limit: Option<Duration>,
    /// Calls in flight and started, at the last check.
    last: (u64, u64),
    /// How long the connection has been seen idle.
    idle_for: Duration,
}

impl Idle {
    fn new(limit: Option<Duration>) -> Self {
        Self {
            limit,
            last: (0, 0),
            idle_for: Duration::ZERO,
        }
    }

    /// The time between checks.
    fn period(&self) -> Duration {
        // Without a limit, the checks are off, and this is never used.
        self.limit
            .map_or(Duration::from_secs(3600), |limit| limit / 4)
    }

    /// Takes a check with `in_flight` calls of `started` so far; true once
    /// idle for the limit.
    fn check(&mut self, in_flight: u64, started: u64) -> bool {
        let now = (in_flight, started);
        if in_flight == 0 && now == self.last {
            self.idle_for += self.period();
        } else {
            self.idle_for = Duration::ZERO;
        }
        self.last = now;
        self.limit.is_some_and(|limit| self.idle_for >= limit)
    }
}

/// Sleeps for `duration`; for ever when there is none.
async fn sleep_for(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// `duration`, give or take up to a tenth, at random.
fn jittered(duration: Duration) -> Duration {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    // A factor in [0.9, 1.1).
    let factor = 0.9 + (random % 2000) as f64 / 10_000.0;
    duration.mul_f64(factor)
}
