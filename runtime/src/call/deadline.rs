//! The bounds of a client call: its deadline, and the cancellation of the
//! call it was made for. [`Bounds::bound`] makes a future end with the
//! call's status when either comes first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{CallContext, Cancelled};
use crate::Status;

/// When a client call must end: at its deadline, or when the call it was
/// made for is over.
#[derive(Clone, Default)]
pub(crate) struct Bounds {
    deadline: Option<Instant>,
    parent: CallContext,
}

impl Bounds {
    /// A call ending at `deadline`, or once `parent` is cancelled.
    pub(crate) fn new(deadline: Option<Instant>, parent: CallContext) -> Self {
        Self { deadline, parent }
    }

    /// The deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Runs `operation` within the bounds: it fails with DEADLINE_EXCEEDED
    /// when the deadline passes first, with CANCELLED when the parent call
    /// is over first.
    pub(crate) fn bound<T, F>(&self, operation: F) -> Before<F>
    where
        F: Future<Output = Result<T, Status>>,
    {
        Before {
            operation,
            expiry: self.expiry(),
        }
    }

    /// Waits `wait` within the bounds, as [`Bounds::bound`] says: between
    /// two attempts at a call.
    #[cfg(feature = "client")]
    pub(crate) async fn sleep(&self, wait: std::time::Duration) -> Result<(), Status> {
        self.bound(async {
            tokio::time::sleep(wait).await;
            Ok(())
        })
        .await
    }

    /// The bounds as something to poll, for a state machine that waits
    /// without a future of its own; [`Bounds::bound`] is the future form.
    pub(crate) fn expiry(&self) -> Expiry {
        Expiry {
            timer: self
                .deadline
                .map(|deadline| Box::pin(tokio::time::sleep_until(deadline.into()))),
            cancelled: self.parent.cancelled(),
        }
    }
}

/// [`Bounds`] to poll: the deadline's timer and the parent's cancellation.
pub(crate) struct Expiry {
    // Boxed: a timer is large, and the futures that hold this are boxed by
    // their callers, where size decides the allocator's fast path.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Never completes when there is no parent call.
    cancelled: Cancelled,
}

impl Expiry {
    /// The status the call ends with once its deadline has passed or its
    /// parent is over.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Status> {
        if let Some(timer) = &mut self.timer
            && timer.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(deadline_exceeded());
        }
        Pin::new(&mut self.cancelled)
            .poll(cx)
            .map(|()| parent_over())
    }
}

/// The status of a call whose deadline passed.
fn deadline_exceeded() -> Status {
    Status::deadline_exceeded("deadline exceeded")
}

/// The status of a call whose parent call is over.
fn parent_over() -> Status {
    Status::cancelled("the call this one was made for has ended")
}

pin_project_lite::pin_project! {
    /// A future bounded by a deadline and a parent's cancellation.
    ///
    /// It holds the operation once, in place; an `async fn` taking the
    /// operation would hold it twice (the argument and the running future),
    /// which for the nested futures of a call adds up to kilobytes.
    pub(crate) struct Before<F> {
        #[pin]
        operation: F,
        expiry: Expiry,
    }
}

impl<T, F> Future for Before<F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The operation goes first: a result that is ready counts even when
        // the deadline has passed meanwhile.
        if let Poll::Ready(result) = this.operation.poll(cx) {
            return Poll::Ready(result);
        }
        this.expiry.poll_expired(cx).map(Err)
    }
}

/// A deadline as a timeout from now, for `grpc-timeout`.
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
