//! The one untyped handler: what the router holds for each method, the
//! call it is given, and what it leaves to send. The typed edge that
//! generated code registers (`__codegen::server`) decodes and encodes
//! around it.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;

use super::driver::{Finish, Shared};
use crate::transport::Incoming;
use crate::{Metadata, Status};

/// A future as the dispatch boundary boxes it.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A method's handler: given a call, the future that answers it.
pub(crate) type Handler = Box<dyn Fn(Call) -> BoxFuture<Result<Finish, Status>> + Send + Sync>;

/// One call as a handler receives it.
pub(crate) struct Call {
    /// The request metadata.
    pub(crate) metadata: Metadata,
    /// The deadline the client gave.
    pub(crate) deadline: Option<Instant>,
    /// The request messages.
    pub(crate) incoming: Incoming,
    /// Where response messages, headers and trailers go.
    pub(crate) sink: Shared,
}

impl Call {
    /// The only request message of a unary or server-streaming call.
    ///
    /// # Errors
    /// INTERNAL when the request has no message or more than one.
    pub(crate) async fn single_request(&mut self) -> Result<Bytes, Status> {
        let Some(message) = self.incoming.message().await? else {
            return Err(Status::internal("the request ended without a message"));
        };
        if self.incoming.message().await?.is_some() {
            return Err(Status::internal(
                "the request has more than one message for a method that takes one",
            ));
        }
        Ok(message)
    }
}
