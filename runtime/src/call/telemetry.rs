//! What the runtime reports through `tracing` (feature `tracing`): a span
//! per call on both sides, named and with fields as the OpenTelemetry RPC
//! conventions name them, and events for failures that have nobody else
//! to report to. Without the feature, these functions do nothing and cost
//! nothing.

use super::CallInfo;
use crate::Code;

/// The span of one call, from its start to its status; subscribers time it.
#[cfg(feature = "tracing")]
#[derive(Clone)]
pub struct CallSpan {
    span: tracing::Span,
}

/// The span of one call: nothing, without the `tracing` feature.
#[cfg(not(feature = "tracing"))]
#[derive(Clone, Default)]
pub struct CallSpan;

impl CallSpan {
    /// The span of a call the server received.
    #[cfg(all(feature = "tracing", feature = "server"))]
    pub(crate) fn server(info: &CallInfo) -> Self {
        let peer = info.peer().map(|peer| peer.ip().to_string());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = info.path(),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = info.service(),
            rpc.method = info.method(),
            network.peer.address = peer,
            network.peer.port = info.peer().map(|peer| peer.port()),
            rpc.grpc.status_code = tracing::field::Empty,
        );
        Self { span }
    }

    /// The span of a call a client makes.
    #[cfg(all(feature = "tracing", feature = "client"))]
    pub(crate) fn client(info: &CallInfo) -> Self {
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = info.path(),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = info.service(),
            rpc.method = info.method(),
            rpc.grpc.status_code = tracing::field::Empty,
        );
        Self { span }
    }

    /// The span of a call the server received.
    #[cfg(all(not(feature = "tracing"), feature = "server"))]
    pub(crate) fn server(_: &CallInfo) -> Self {
        Self
    }

    /// The span of a call a client makes.
    #[cfg(all(not(feature = "tracing"), feature = "client"))]
    pub(crate) fn client(_: &CallInfo) -> Self {
        Self
    }

    /// Records the call's end with `code`.
    pub(crate) fn ended(&self, code: Code) {
        #[cfg(feature = "tracing")]
        record_end(&self.span, code);
        #[cfg(not(feature = "tracing"))]
        let _ = code;
    }

    /// `future`, run inside the span; inside it, [`ended_here`] records
    /// the end, so that the span is held once.
    pub(crate) fn wrap<F: std::future::Future>(
        self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        {
            tracing::Instrument::instrument(future, self.span)
        }
        #[cfg(not(feature = "tracing"))]
        {
            future
        }
    }
}

/// Records the end, with `code`, of the call whose span the running future
/// is wrapped in (see [`CallSpan::wrap`]).
#[cfg(feature = "client")]
pub(crate) fn ended_here(code: Code) {
    #[cfg(feature = "tracing")]
    record_end(&tracing::Span::current(), code);
    #[cfg(not(feature = "tracing"))]
    let _ = code;
}

#[cfg(feature = "tracing")]
fn record_end(span: &tracing::Span, code: Code) {
    span.record("rpc.grpc.status_code", code.as_i32());
    tracing::debug!(parent: span, code = %code, "call ended");
}

/// An accept that failed, to be retried after `pause`.
#[cfg(feature = "server")]
pub(crate) fn accept_failed(err: &std::io::Error, pause: std::time::Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(error = %err, retry_in = ?pause, "accepting a connection failed");
    #[cfg(not(feature = "tracing"))]
    let _ = (err, pause);
}

/// A connection whose handshake (TLS, then HTTP/2) failed or took too
/// long, and why.
#[cfg(feature = "server")]
pub(crate) fn handshake_failed(peer: Option<std::net::SocketAddr>, why: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::debug!(peer = ?peer, reason = %why, "a connection's handshake failed");
    #[cfg(not(feature = "tracing"))]
    let _ = (peer, why);
}

/// A connection that ended with an error.
pub(crate) fn connection_failed(side: &'static str, err: &h2::Error) {
    #[cfg(feature = "tracing")]
    tracing::debug!(side, error = %err, "a connection ended with an error");
    #[cfg(not(feature = "tracing"))]
    let _ = (side, err);
}
