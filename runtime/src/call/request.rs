//! [`Request`] and [`Response`]: a message with its metadata, both ways.

use std::time::{Duration, Instant};

use crate::Metadata;

/// A request message with its metadata and deadline.
///
/// On the client, build one with [`Request::new`] (or pass a message, which
/// converts) and set metadata and a timeout. On the server, a handler reads the
/// metadata the client sent and the deadline it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<T> {
    message: T,
    metadata: Metadata,
    deadline: Option<Instant>,
    inherit_deadline: bool,
    max_receive_message_size: Option<usize>,
    max_send_message_size: Option<usize>,
}

impl<T> Request<T> {
    /// A request carrying `message`, no metadata and no deadline of its own.
    pub fn new(message: T) -> Self {
        Self {
            message,
            metadata: Metadata::new(),
            deadline: None,
            inherit_deadline: true,
            max_receive_message_size: None,
            max_send_message_size: None,
        }
    }

    #[cfg(feature = "server")]
    pub(crate) fn from_parts(message: T, metadata: Metadata, deadline: Option<Instant>) -> Self {
        Self {
            message,
            metadata,
            deadline,
            inherit_deadline: true,
            max_receive_message_size: None,
            max_send_message_size: None,
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

    /// When the call must be over: on the server, the deadline the client
    /// sent in `grpc-timeout`; on the client, the one set here.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The time left before [`Request::deadline`], zero once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// Sets the deadline `timeout` from now (sent as `grpc-timeout`). A
    /// timeout too long for the clock to express (such as `Duration::MAX`)
    /// means no deadline of its own.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Instant::now().checked_add(timeout);
        self
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Does not take over the deadline of the call being handled when this
    /// request is sent from inside a handler. By default it does, as
    /// grpc-go's context propagation does.
    pub fn without_inherited_deadline(mut self) -> Self {
        self.inherit_deadline = false;
        self
    }

    /// Limits the response messages of this call (on the client), instead of
    /// the channel's limit; larger ones fail the call with RESOURCE_EXHAUSTED.
    pub fn with_max_receive_message_size(mut self, bytes: usize) -> Self {
        self.max_receive_message_size = Some(bytes);
        self
    }

    #[cfg(feature = "client")]
    pub(crate) fn max_receive_message_size(&self) -> Option<usize> {
        self.max_receive_message_size
    }

    /// Limits the request messages of this call (on the client), instead of
    /// the channel's limit; a larger one is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED.
    pub fn with_max_send_message_size(mut self, bytes: usize) -> Self {
        self.max_send_message_size = Some(bytes);
        self
    }

    #[cfg(feature = "client")]
    pub(crate) fn max_send_message_size(&self) -> Option<usize> {
        self.max_send_message_size
    }

    #[cfg(feature = "client")]
    pub(crate) fn inherits_deadline(&self) -> bool {
        self.inherit_deadline
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
