//! [`CallContext`]: what a call being handled carries into the code it
//! runs: its deadline, its cancellation, and what the call is.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::frame::{Accepted, Compression};
use tokio::sync::futures::OwnedNotified;

/// The shape of a call: whether the client, the server or both send a
/// stream of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// A stream each way.
    BidiStreaming,
}

impl CallKind {
    /// Whether the client sends a stream of requests.
    pub fn client_streams(self) -> bool {
        matches!(self, CallKind::ClientStreaming | CallKind::BidiStreaming)
    }

    /// Whether the server sends a stream of responses.
    pub fn server_streams(self) -> bool {
        matches!(self, CallKind::ServerStreaming | CallKind::BidiStreaming)
    }
}

/// What a call is: its method, its shape, and on the server the peer it
/// comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    path: &'static str,
    kind: CallKind,
    /// Shared by the calls of one connection.
    peer: Option<Arc<Peer>>,
}

/// Who is at the other end of a server's connection: its address, and over
/// TLS the certificates it showed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) address: Option<SocketAddr>,
    #[cfg(feature = "tls")]
    pub(crate) certificates: Option<Arc<[rustls_pki_types::CertificateDer<'static>]>>,
}

impl Peer {
    /// A peer at `address`, that showed no certificate.
    #[cfg(feature = "server")]
    pub(crate) fn at(address: Option<SocketAddr>) -> Self {
        Self {
            address,
            #[cfg(feature = "tls")]
            certificates: None,
        }
    }
}

impl CallInfo {
    /// The information of a call to `path` (`/package.Service/Method`).
    pub(crate) fn new(path: &'static str, kind: CallKind, peer: Option<Arc<Peer>>) -> Self {
        Self { path, kind, peer }
    }

    /// The method's path, such as `/echo.Echo/EchoMessage`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The full service name, such as `echo.Echo`.
    pub fn service(&self) -> &'static str {
        self.split().0
    }

    /// The method name, such as `EchoMessage`.
    pub fn method(&self) -> &'static str {
        self.split().1
    }

    fn split(&self) -> (&'static str, &'static str) {
        self.path
            .strip_prefix('/')
            .and_then(|path| path.rsplit_once('/'))
            .unwrap_or(("", self.path))
    }

    /// The call's shape.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// The address of the peer, for a call a server received over TCP.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer.as_ref()?.address
    }

    /// The certificate chain the client showed, its own first, for a call a
    /// server received over mutual TLS: what an interceptor authorizes on
    /// (parse it with an X.509 crate for the subject and names). The
    /// server's TLS verified it against its client roots.
    #[cfg(feature = "tls")]
    pub fn peer_certificates(&self) -> Option<&[rustls_pki_types::CertificateDer<'static>]> {
        self.peer.as_ref()?.certificates.as_deref()
    }
}

/// The context of a call being handled: its deadline, whether it has been
/// cancelled, and what the call is.
///
/// A server gives every handler one (`Request::context`,
/// `RequestStream::context`). It is cheap to clone and can be moved into
/// tasks the handler spawns; it is cancelled when the call is over for any
/// reason (the handler returned, the deadline passed, the client went away),
/// so that work done for the call can stop.
///
/// Calls made while handling one inherit its deadline and its cancellation:
/// those made on the handler's own task do so by themselves, and others
/// when given the context ([`CallOptions::context`](crate::client::CallOptions::context)),
/// or when run inside [`CallContext::scope`].
///
/// ```no_run
/// # async fn handle(request: rgrpc::Request<()>) {
/// let context = request.context().clone();
/// tokio::spawn(context.clone().scope(async move {
///     tokio::select! {
///         () = context.cancelled() => {}   // the call is over: stop
///         () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
///     }
/// }));
/// # }
/// ```
#[derive(Clone, Default)]
pub struct CallContext {
    /// None: no call (a request made by a client, or code not handling a call).
    inner: Option<Arc<Inner>>,
}

struct Inner {
    info: CallInfo,
    deadline: Option<Instant>,
    /// What the client accepts compressed responses in.
    accepted: Accepted,
    /// What the responses are to be compressed with
    /// ([`Compression::to_u8`]).
    compression: AtomicU8,
    /// The last request message received came compressed.
    request_compressed: AtomicBool,
    cancelled: AtomicBool,
    /// Made by the first task that waits for the cancellation.
    notify: OnceLock<Arc<Notify>>,
}

tokio::task_local! {
    /// The context of the call whose handler runs on this task.
    static CURRENT: CallContext;
}

impl CallContext {
    /// The context of a call the server is handling, whose client accepts
    /// `accepted` compressions; the responses are compressed with
    /// `compression` unless the handler says otherwise.
    #[cfg(any(feature = "server", test))]
    pub(crate) fn new(
        info: CallInfo,
        deadline: Option<Instant>,
        accepted: Accepted,
        compression: Option<Compression>,
    ) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                info,
                deadline,
                accepted,
                compression: AtomicU8::new(Compression::to_u8(compression)),
                request_compressed: AtomicBool::new(false),
                cancelled: AtomicBool::new(false),
                notify: OnceLock::new(),
            })),
        }
    }

    /// The context of the call being handled on this task (inside a handler,
    /// or inside [`CallContext::scope`]), if any.
    pub fn current() -> Option<CallContext> {
        CURRENT
            .try_with(|context| context.clone())
            .ok()
            .filter(|context| context.inner.is_some())
    }

    /// Runs `future` with this context as [`CallContext::current`], so that
    /// the calls it makes inherit the deadline and the cancellation.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, future)
    }

    /// What the call is; `None` outside a call.
    pub fn info(&self) -> Option<&CallInfo> {
        self.inner.as_ref().map(|inner| &inner.info)
    }

    /// When the call must be over: the deadline the client sent in
    /// `grpc-timeout`, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.as_ref().and_then(|inner| inner.deadline)
    }

    /// The time left before the deadline, zero once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// Compresses the call's response messages with `compression`, or
    /// with none, instead of the server's choice
    /// ([`ServerBuilder::send_compressed`](crate::ServerBuilder::send_compressed)),
    /// as grpc-go's `SetSendCompressor` does. It holds for the whole call
    /// once the first response message or the headers are on their way, so
    /// it is set before. Returns false, and changes nothing, when the client
    /// does not accept `compression` (its `grpc-accept-encoding` does not
    /// name it) or outside a call.
    pub fn set_compression(&self, compression: Option<Compression>) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        if compression.is_some_and(|compression| !inner.accepted.has(compression)) {
            return false;
        }
        inner
            .compression
            .store(Compression::to_u8(compression), Ordering::Relaxed);
        true
    }

    /// Whether the last request message the handler received came
    /// compressed: a server that must check what its clients send (such
    /// as gRPC's interoperability tests) can. False outside a call.
    pub fn request_compressed(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.request_compressed.load(Ordering::Relaxed))
    }

    /// Records whether the request message just received came compressed.
    #[cfg(feature = "server")]
    pub(crate) fn received(&self, compressed: bool) {
        if let Some(inner) = &self.inner {
            inner
                .request_compressed
                .store(compressed, Ordering::Relaxed);
        }
    }

    /// What the responses are to be compressed with.
    #[cfg(feature = "server")]
    pub(crate) fn compression(&self) -> Option<Compression> {
        let inner = self.inner.as_ref()?;
        Compression::from_u8(inner.compression.load(Ordering::Relaxed))
    }

    /// Whether the call is over (it ended, its deadline passed or its client
    /// cancelled it).
    pub fn is_cancelled(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.cancelled.load(Ordering::SeqCst))
    }

    /// Completes once the call is over; never, outside a call.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            inner: self.inner.clone(),
            notified: None,
        }
    }

    /// Marks the call over and wakes what waits for that.
    #[cfg(any(feature = "server", test))]
    pub(crate) fn cancel(&self) {
        if let Some(inner) = &self.inner {
            // Set before the notify is looked at: a waiter that makes the
            // notify after this looks finds the flag set (see `Cancelled`).
            inner.cancelled.store(true, Ordering::SeqCst);
            if let Some(notify) = inner.notify.get() {
                notify.notify_waiters();
            }
        }
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(inner) => f
                .debug_struct("CallContext")
                .field("info", &inner.info)
                .field("deadline", &inner.deadline)
                .field("cancelled", &self.is_cancelled())
                .finish(),
            None => f.write_str("CallContext(none)"),
        }
    }
}

/// The future of [`CallContext::cancelled`]: completes once the call is over.
pub struct Cancelled {
    inner: Option<Arc<Inner>>,
    /// Registered with the context's notify once polled; boxed, so that the
    /// futures that hold this and seldom wait stay small.
    notified: Option<Pin<Box<OwnedNotified>>>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Cancelled { inner, notified } = self.get_mut();
        let Some(inner) = inner else {
            return Poll::Pending;
        };
        loop {
            if inner.cancelled.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            match notified {
                // A notified future hears every notify_waiters from its
                // creation on, so the flag is checked again after creating it.
                None => {
                    let notify = inner.notify.get_or_init(Default::default).clone();
                    *notified = Some(Box::pin(notify.notified_owned()));
                }
                Some(waiting) => {
                    if waiting.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *notified = None;
                }
            }
        }
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(deadline: Option<Instant>) -> CallContext {
        CallContext::new(
            CallInfo::new("/echo.Echo/EchoMessage", CallKind::Unary, None),
            deadline,
            Accepted::default(),
            None,
        )
    }

    #[test]
    fn info_splits_the_path() {
        let context = context(None);
        let info = context.info().expect("a call");
        assert_eq!(
            (info.service(), info.method()),
            ("echo.Echo", "EchoMessage")
        );
        assert!(CallContext::default().info().is_none());
    }

    #[tokio::test]
    async fn waiters_before_and_after_the_cancel_all_wake() {
        let context = context(None);
        let early = tokio::spawn({
            let context = context.clone();
            async move { context.cancelled().await }
        });
        tokio::task::yield_now().await;
        assert!(!context.is_cancelled());
        context.cancel();
        assert!(context.is_cancelled());
        early.await.expect("the early waiter wakes");
        context.cancelled().await;
    }

    #[tokio::test]
    async fn outside_a_call_nothing_is_cancelled_or_current() {
        let none = CallContext::default();
        assert!(!none.is_cancelled());
        let waited = tokio::time::timeout(Duration::from_millis(10), none.cancelled()).await;
        assert!(waited.is_err(), "never completes");
        assert!(CallContext::current().is_none());
        let context = context(Some(Instant::now() + Duration::from_secs(5)));
        let inside = context
            .clone()
            .scope(async { CallContext::current().and_then(|c| c.deadline()) })
            .await;
        assert_eq!(inside, context.deadline());
    }
}
