//! What interceptors on both sides share: the boxed future they return, the
//! dyn forms of requests and responses, and [`StreamLayer`], through which
//! every message of a streaming call passes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Request, Response};
use crate::{DynMessage, Message, Status};

/// A boxed future, as interceptors return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request as interceptors see it: the message of any type.
pub type AnyRequest = Request<Box<dyn DynMessage>>;

/// A response as interceptors see it: the message of any type.
pub type AnyResponse = Response<Box<dyn DynMessage>>;

/// What a stream interceptor puts between a streaming call and its messages,
/// as grpc-go's wrapped `SendMsg` and `RecvMsg` do: every message sent and
/// received on the call passes through it, in order.
///
/// A call's layers see a message sent from the outermost interceptor's
/// inwards, and a message received from the innermost outwards. An error
/// ends the call with that status: a message sent is then not sent, and a
/// message received is not handed over; the receiving side reports the
/// error from then on (on the server, the handler's `recv` does, and the
/// call ends with it when the handler returns it).
pub trait StreamLayer: Send + Sync + 'static {
    /// A message about to be sent.
    ///
    /// # Errors
    /// The status to end the call with instead.
    fn sent(&self, message: &dyn DynMessage) -> Result<(), Status> {
        let _ = message;
        Ok(())
    }

    /// A message just received, which this may change.
    ///
    /// # Errors
    /// The status to end the call with instead.
    fn received(&self, message: &mut dyn DynMessage) -> Result<(), Status> {
        let _ = message;
        Ok(())
    }
}

/// Where a call is in a chain of interceptors: the links after the current
/// one, then the end of the chain (the handler, or the call itself).
pub(crate) struct Chain<I: ?Sized, E> {
    links: Arc<[Arc<I>]>,
    index: usize,
    end: E,
}

/// The next step down a chain.
pub(crate) enum Step<I: ?Sized, E> {
    /// An interceptor, and the chain after it.
    Link(Arc<I>, Chain<I, E>),
    /// The end of the chain.
    End(E),
}

impl<I: ?Sized, E> Chain<I, E> {
    /// A chain through `links`, outermost first, to `end`.
    pub(crate) fn new(links: Arc<[Arc<I>]>, end: E) -> Self {
        Self {
            links,
            index: 0,
            end,
        }
    }

    /// The next step.
    pub(crate) fn step(self) -> Step<I, E> {
        match self.links.get(self.index).cloned() {
            Some(link) => Step::Link(
                link,
                Self {
                    index: self.index + 1,
                    ..self
                },
            ),
            None => Step::End(self.end),
        }
    }
}

/// Adds `link` to the end of `links`, when a builder is given one.
pub(crate) fn push_link<I: ?Sized>(links: &mut Arc<[Arc<I>]>, link: Arc<I>) {
    *links = links.iter().cloned().chain([link]).collect();
}

/// The layers of one streaming call, outermost first.
#[derive(Clone, Default)]
pub(crate) struct Layers(Option<Arc<[Arc<dyn StreamLayer>]>>);

impl Layers {
    /// The layers `layers` (outermost first).
    pub(crate) fn new(layers: Vec<Arc<dyn StreamLayer>>) -> Self {
        Self((!layers.is_empty()).then(|| layers.into()))
    }

    /// Whether there are none.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Passes a message about to be sent through the layers.
    #[inline]
    pub(crate) fn sent(&self, message: &dyn DynMessage) -> Result<(), Status> {
        match &self.0 {
            Some(layers) => send_through(layers, message),
            None => Ok(()),
        }
    }

    /// Passes a message just received through the layers.
    #[inline]
    pub(crate) fn received(&self, message: &mut dyn DynMessage) -> Result<(), Status> {
        match &self.0 {
            Some(layers) => receive_through(layers, message),
            None => Ok(()),
        }
    }
}

/// Out of line, so that a call without layers pays one test per message.
#[inline(never)]
fn send_through(layers: &[Arc<dyn StreamLayer>], message: &dyn DynMessage) -> Result<(), Status> {
    layers.iter().try_for_each(|layer| layer.sent(message))
}

/// Out of line, as [`send_through`].
#[inline(never)]
fn receive_through(
    layers: &[Arc<dyn StreamLayer>],
    message: &mut dyn DynMessage,
) -> Result<(), Status> {
    layers
        .iter()
        .rev()
        .try_for_each(|layer| layer.received(message))
}

impl<T: Message> Request<T> {
    /// This request with its message boxed, for interceptors.
    pub(crate) fn into_dyn(self) -> AnyRequest {
        self.map(|message| Box::new(message) as Box<dyn DynMessage>)
    }
}

impl AnyRequest {
    /// The request with its message as a `T`.
    ///
    /// # Errors
    /// INTERNAL when an interceptor put a message of another type in it.
    pub(crate) fn downcast<T: Message>(self) -> Result<Request<T>, Status> {
        self.try_map(|message| downcast(message, "request"))
    }
}

impl<T: Message> Response<T> {
    /// This response with its message boxed, for interceptors.
    pub(crate) fn into_dyn(self) -> AnyResponse {
        self.map(|message| Box::new(message) as Box<dyn DynMessage>)
    }
}

impl AnyResponse {
    /// The response with its message as a `T`.
    ///
    /// # Errors
    /// INTERNAL when an interceptor put a message of another type in it.
    pub(crate) fn downcast<T: Message>(self) -> Result<Response<T>, Status> {
        self.try_map(|message| downcast(message, "response"))
    }
}

/// `message` as a `T`, which a method's `what` (`request` or `response`) is.
fn downcast<T: Message>(message: Box<dyn DynMessage>, what: &str) -> Result<T, Status> {
    message
        .downcast::<T>()
        .map(|message| *message)
        .map_err(|other| {
            Status::internal(format!(
                "an interceptor replaced the {what} with a {}, where the method takes a {}",
                other.full_name(),
                T::NAME
            ))
        })
}
