//! h2's errors as gRPC statuses.

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
