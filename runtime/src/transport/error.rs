//! h2's errors as gRPC statuses, and the failure that ended a connection.

use std::sync::{Arc, OnceLock};

use crate::{Code, Status};

/// The status for an h2 error, following the RST_STREAM mapping of PROTOCOL-HTTP2.md.
pub(crate) fn h2_status(err: &h2::Error) -> Status {
    // Checked first: a GOAWAY has a reason too, but only a reset takes the
    // RST_STREAM mapping. Calls cut off by GOAWAY can be retried elsewhere.
    if err.is_io() || err.is_go_away() {
        return Status::unavailable(format!("connection lost: {err}"));
    }
    if err.is_reset()
        && let Some(reason) = err.reason()
    {
        let code = match reason {
            h2::Reason::CANCEL => Code::Cancelled,
            h2::Reason::REFUSED_STREAM => Code::Unavailable,
            h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
            h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
            _ => Code::Internal,
        };
        let by = if err.is_remote() {
            "peer"
        } else {
            "local endpoint"
        };
        return Status::new(code, format!("stream reset by the {by}: {reason}"));
    }
    Status::internal(format!("HTTP/2 error: {err}"))
}

/// Why a connection ended, as its socket saw it. h2 tells the streams of a
/// connection that failed or closed only that it is gone ("broken pipe");
/// this names the failure itself: a reset, an end of file, a timeout. The
/// default knows nothing, and costs nothing.
#[derive(Clone, Default)]
pub(crate) struct ConnectionEnd(Option<Arc<OnceLock<String>>>);

impl ConnectionEnd {
    /// One to record the end of a new connection in.
    pub(super) fn new() -> Self {
        Self(Some(Arc::default()))
    }

    /// Records `why`, unless an earlier failure was recorded.
    pub(super) fn record(&self, why: impl FnOnce() -> String) {
        if let Some(end) = &self.0
            && end.get().is_none()
        {
            let _ = end.set(why());
        }
    }

    /// The status of a call on the connection that failed with `err`.
    pub(crate) fn status(&self, err: &h2::Error) -> Status {
        match self.0.as_ref().and_then(|end| end.get()) {
            Some(why) if err.is_io() => Status::unavailable(format!("connection lost: {why}")),
            _ => h2_status(err),
        }
    }
}
