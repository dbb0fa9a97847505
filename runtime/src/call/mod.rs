//! The context of a call, shared by both sides: the request and response
//! with their metadata, the call's deadline, and the deadline that calls
//! made while handling one inherit.

#[cfg(feature = "client")]
mod deadline;
mod request;

#[cfg(feature = "client")]
pub(crate) use deadline::{before, remaining};
pub use request::{Request, Response};

use std::time::Instant;

tokio::task_local! {
    /// The deadline of the call whose handler is running, for calls it makes.
    pub(crate) static CALL_DEADLINE: Option<Instant>;
}
