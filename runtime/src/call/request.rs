//! [`Request`] and [`Response`]: a message with its metadata, both ways.

use std::time::{Duration, Instant};

use super::CallContext;
use crate::Metadata;

/// A request message with its metadata, and on the server the context of
/// the call it came with.
///
/// On the client, build one with [`Request::new`] (or pass a message, which
/// converts) and add metadata; how the call is made (its timeout, its
/// limits) is set on the call, with `CallOptions`. On the server, a handler
/// reads the metadata the client sent and the call's [`CallContext`]: its
/// deadline, its cancellation, the method and the peer.
#[derive(Debug, Clone)]
pub struct Request<T> {
    message: T,
    metadata: Metadata,
    context: CallContext,
}

impl<T> Request<T> {
    /// A request carrying `message`, with no metadata.
    pub fn new(message: T) -> Self {
        Self {
            message,
            metadata: Metadata::new(),
            context: CallContext::default(),
        }
    }

    /// A request as the server received it.
    #[cfg(feature = "server")]
    pub(crate) fn from_parts(message: T, metadata: Metadata, context: CallContext) -> Self {
        Self {
            message,
            metadata,
            context,
        }
    }

    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The message, to change.
    pub fn message_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, giving up the metadata.
    pub fn into_message(self) -> T {
        self.message
    }

    /// The request metadata (headers).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The request metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// This request with `metadata` added.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata.extend(metadata);
        self
    }

    /// On the server, the context of the call: deadline, cancellation,
    /// method and peer. On the client, no call's.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// On the server, the deadline the client sent in `grpc-timeout`.
    pub fn deadline(&self) -> Option<Instant> {
        self.context.deadline()
    }

    /// The time left before [`Request::deadline`], zero once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.context.remaining()
    }

    /// The message and the metadata.
    #[cfg(feature = "client")]
    pub(crate) fn into_parts(self) -> (T, Metadata) {
        (self.message, self.metadata)
    }

    /// The request with its message changed by `f`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            message: f(self.message),
            metadata: self.metadata,
            context: self.context,
        }
    }

    /// The request with its message changed by `f`, unless it fails.
    pub(crate) fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Request<U>, E> {
        Ok(Request {
            message: f(self.message)?,
            metadata: self.metadata,
            context: self.context,
        })
    }
}

impl<T> From<T> for Request<T> {
    fn from(message: T) -> Self {
        Request::new(message)
    }
}

/// A response message with the headers and trailers that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    message: T,
    headers: Metadata,
    trailers: Metadata,
}

impl<T> Response<T> {
    /// A response carrying `message`, with no metadata.
    pub fn new(message: T) -> Self {
        Self {
            message,
            headers: Metadata::new(),
            trailers: Metadata::new(),
        }
    }

    #[cfg(feature = "client")]
    pub(crate) fn from_parts(message: T, headers: Metadata, trailers: Metadata) -> Self {
        Self {
            message,
            headers,
            trailers,
        }
    }

    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The message, to change.
    pub fn message_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, giving up the metadata.
    pub fn into_message(self) -> T {
        self.message
    }

    /// The response headers.
    pub fn headers(&self) -> &Metadata {
        &self.headers
    }

    /// The response headers, to change (on the server, before returning).
    pub fn headers_mut(&mut self) -> &mut Metadata {
        &mut self.headers
    }

    /// The trailers.
    pub fn trailers(&self) -> &Metadata {
        &self.trailers
    }

    /// The trailers, to change (on the server, before returning).
    pub fn trailers_mut(&mut self) -> &mut Metadata {
        &mut self.trailers
    }

    /// The response with its message changed by `f`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            message: f(self.message),
            headers: self.headers,
            trailers: self.trailers,
        }
    }

    /// The response with its message changed by `f`, unless it fails.
    pub(crate) fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Response<U>, E> {
        Ok(Response {
            message: f(self.message)?,
            headers: self.headers,
            trailers: self.trailers,
        })
    }

    #[cfg(feature = "server")]
    pub(crate) fn into_parts(self) -> (T, Metadata, Metadata) {
        (self.message, self.headers, self.trailers)
    }
}

impl<T> From<T> for Response<T> {
    fn from(message: T) -> Self {
        Response::new(message)
    }
}
