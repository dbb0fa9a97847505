//! Deadlines: a future bounded by one, and the time left before one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::Status;

pin_project_lite::pin_project! {
    /// A future that fails with DEADLINE_EXCEEDED when its deadline passes first.
    ///
    /// It holds the operation once, in place; an `async fn` taking the
    /// operation would hold it twice (the argument and the running future),
    /// which for the nested futures of a call adds up to kilobytes.
    pub(crate) struct Before<F> {
        #[pin]
        operation: F,
        #[pin]
        timer: Option<tokio::time::Sleep>,
    }
}

/// Runs `operation` before `deadline`, or fails with DEADLINE_EXCEEDED.
pub(crate) fn before<T, F>(deadline: Option<Instant>, operation: F) -> Before<F>
where
    F: Future<Output = Result<T, Status>>,
{
    Before {
        operation,
        timer: deadline.map(|deadline| tokio::time::sleep_until(deadline.into())),
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
        match this.timer.as_pin_mut() {
            Some(timer) => timer
                .poll(cx)
                .map(|()| Err(Status::deadline_exceeded("deadline exceeded"))),
            None => Poll::Pending,
        }
    }
}

/// A deadline as a timeout from now, for `grpc-timeout`.
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
