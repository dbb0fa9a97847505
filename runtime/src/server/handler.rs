//! The one untyped handler: what the router holds for each method, the
//! call it is given, and what it leaves to send. The typed edge that
//! generated code registers (`__codegen::server`) decodes and encodes
//! around it.

use std::future::Future;
use std::pin::Pin;

use super::driver::{Finish, Shared};
use crate::transport::Incoming;
use crate::{CallContext, Metadata, Status};

/// A future as the dispatch boundary boxes it.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A method's handler: given a call, the future that answers it.
pub(crate) type Handler = Box<dyn Fn(Call) -> BoxFuture<Result<Finish, Status>> + Send + Sync>;

/// One call as a handler receives it.
pub(crate) struct Call {
    /// The request metadata.
    pub(crate) metadata: Metadata,
    /// The call's deadline, cancellation and information.
    pub(crate) context: CallContext,
    /// The request messages.
    pub(crate) incoming: Incoming,
    /// Where response messages, headers and trailers go.
    pub(crate) sink: Shared,
}

impl Call {
    /// Waits for the only request message of a unary or server-streaming
    /// call, to decode.
    ///
    /// # Errors
    /// INTERNAL when the request has no message.
    pub(crate) async fn first_request(&mut self) -> Result<(), Status> {
        if self.incoming.next().await? {
            Ok(())
        } else {
            Err(Status::internal("the request ended without a message"))
        }
    }

    /// Checks that the request message just decoded was the only one.
    ///
    /// # Errors
    /// INTERNAL when another follows.
    pub(crate) async fn no_more_requests(&mut self) -> Result<(), Status> {
        if self.incoming.next().await? {
            return Err(Status::internal(
                "the request has more than one message for a method that takes one",
            ));
        }
        Ok(())
    }
}
