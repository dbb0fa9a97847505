//! The context of a call, shared by both sides: the request and response
//! with their metadata; the [`CallContext`] a handler is given (deadline,
//! cancellation, what the call is), which calls made while handling it
//! inherit; and the [`CallOptions`] a client makes a call with.

mod context;
#[cfg(feature = "client")]
mod credentials;
#[cfg(feature = "client")]
mod deadline;
mod intercept;
#[cfg(feature = "client")]
mod options;
mod request;
mod telemetry;

#[cfg(feature = "server")]
pub(crate) use context::Peer;
pub use context::{CallContext, CallInfo, CallKind, Cancelled};
#[cfg(feature = "client")]
pub use credentials::{BearerToken, CallCredentials};
#[cfg(feature = "client")]
pub(crate) use deadline::{Bounds, Expiry, remaining};
pub use intercept::{AnyRequest, AnyResponse, BoxFuture, StreamLayer};
pub(crate) use intercept::{Chain, Layers, Step, push_link};
#[cfg(feature = "client")]
pub use options::CallOptions;
pub use request::{Request, Response};
#[cfg(feature = "client")]
pub(crate) use telemetry::ended_here;
pub(crate) use telemetry::{CallSpan, connection_failed};
#[cfg(feature = "server")]
pub(crate) use telemetry::{accept_failed, handshake_failed};

/// The next item of `stream`: what `StreamExt::next` is, without the
/// dependency.
pub(crate) async fn next_item<S: futures_core::Stream>(
    mut stream: std::pin::Pin<&mut S>,
) -> Option<S::Item> {
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}
