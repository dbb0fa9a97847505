//! The one untyped handler: what the router holds for each method, the
//! call it is given, and what it leaves to send. The typed edge that
//! generated code registers (`__codegen::server`) decodes and encodes
//! around it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::driver::{Finish, Shared};
use super::intercept::Interceptors;
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
    /// The server's interceptors, when it has any.
    pub(crate) interceptors: Option<Arc<Interceptors>>,
}
