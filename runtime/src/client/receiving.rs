//! The receiving side of a client call, untyped: the response headers,
//! the response messages, then the status in the trailers. A poll-based
//! state machine, so that the typed handle can be a `Stream`.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use h2::client::ResponseFuture;
use http::HeaderMap;

use super::retry::Pushback;
use crate::call::{Bounds, Expiry};
use crate::transport::{Incoming, Link};
use crate::{Message, Metadata, Status, protocol};

/// The receiving side of a client call: response headers, messages, trailers.
pub(crate) struct Receiving {
    state: State,
    bounds: Bounds,
    /// The bounds as a timer, made when a wait first needs them.
    expiry: Option<Expiry>,
    max_message_size: usize,
    headers: Metadata,
    trailers: Option<Metadata>,
    /// What the trailers of a failed call said of trying it again.
    pushback: Option<Pushback>,
    /// Whether the server refused the stream before handling it.
    refused: bool,
    /// Set by the sending side when it ends the call itself.
    aborted: Option<Aborted>,
}

/// The status the sending side of a call ended it with, which the receiving
/// side reports in place of the reset that followed.
pub(crate) type Aborted = Arc<OnceLock<Status>>;

enum State {
    Waiting(ResponseFuture, Link),
    Body(Incoming),
    Ended(Result<(), Status>),
}

impl Receiving {
    /// The response side of a call on the connection `end` explains.
    pub(crate) fn new(
        response: ResponseFuture,
        end: Link,
        bounds: Bounds,
        max_message_size: usize,
    ) -> Self {
        Self {
            state: State::Waiting(response, end),
            bounds,
            expiry: None,
            max_message_size,
            headers: Metadata::new(),
            trailers: None,
            pushback: None,
            refused: false,
            aborted: None,
        }
    }

    /// What explains the errors of the call's connection, for the sending
    /// side, which is made before the response headers arrive.
    pub(crate) fn link(&self) -> Link {
        match &self.state {
            State::Waiting(_, end) => end.clone(),
            _ => Link::default(),
        }
    }

    /// Where the sending side records the status it ends the call with.
    pub(crate) fn aborted(&mut self) -> Aborted {
        self.aborted.get_or_insert_with(Default::default).clone()
    }

    /// The status the sending side ended the call with, if it did.
    #[inline]
    fn aborted_with(&self) -> Option<&Status> {
        self.aborted.as_ref().and_then(|aborted| aborted.get())
    }

    /// Ends the call with the sending side's status, if it set one.
    #[inline]
    fn check_aborted(&mut self) -> Result<(), Status> {
        match self.aborted_with() {
            Some(status) if !matches!(self.state, State::Ended(_)) => {
                let status = status.clone();
                Err(self.fail(status))
            }
            _ => Ok(()),
        }
    }

    /// Takes in the response headers; a trailers-only response ends the
    /// call here.
    fn received_headers(
        &mut self,
        response: Result<http::Response<h2::RecvStream>, h2::Error>,
        end: Link,
    ) {
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                // REFUSED_STREAM, or past the last stream of a graceful
                // GOAWAY from the server (h2 fails only those with its
                // error; after one with an error code, it fails every
                // stream with it, handled or not): the server did not
                // handle it.
                let reason = err.reason();
                self.refused = reason == Some(h2::Reason::REFUSED_STREAM)
                    || (err.is_go_away()
                        && err.is_remote()
                        && reason == Some(h2::Reason::NO_ERROR));
                self.state = State::Ended(Err(end.status(&err)));
                return;
            }
        };
        let (parts, body) = response.into_parts();
        if let Err(status) = protocol::read_response(&parts) {
            self.state = State::Ended(Err(status));
        } else if body.is_end_stream() {
            // Trailers-only: the status is in the headers.
            self.received_status(&parts.headers);
        } else {
            match protocol::response_compression(&parts.headers) {
                Ok(compression) => {
                    self.headers = protocol::metadata_from_headers(&parts.headers);
                    let incoming = Incoming::new(body, end, self.max_message_size, compression);
                    self.state = State::Body(incoming);
                }
                Err(status) => self.state = State::Ended(Err(status)),
            }
        }
    }

    /// Ends the call with the status in `trailers`.
    fn received_status(&mut self, trailers: &HeaderMap) {
        let (metadata, result) = match protocol::read_status(trailers) {
            Ok(metadata) => (metadata, Ok(())),
            Err(status) => {
                self.pushback = protocol::retry_pushback(trailers).map(|wait| match wait {
                    Some(wait) => Pushback::After(wait),
                    None => Pushback::Never,
                });
                (status.metadata().clone(), Err(status))
            }
        };
        let trailers = metadata;
        self.trailers = Some(trailers);
        self.state = State::Ended(result);
    }

    /// Moves the call on until it is past `Waiting` or, unless
    /// `headers_only`, until a message is ready or the call has ended.
    fn poll_state(&mut self, cx: &mut Context<'_>, headers_only: bool) -> Poll<()> {
        loop {
            match &mut self.state {
                State::Waiting(response, end) => match Pin::new(response).poll(cx) {
                    Poll::Ready(response) => {
                        let end = std::mem::take(end);
                        self.received_headers(response, end);
                    }
                    Poll::Pending => break,
                },
                State::Body(_) if headers_only => return Poll::Ready(()),
                State::Body(incoming) => match incoming.poll_next(cx) {
                    Poll::Ready(Ok(true)) => return Poll::Ready(()),
                    Poll::Ready(Ok(false)) => match incoming.poll_trailers(cx) {
                        Poll::Ready(Ok(Some(trailers))) => self.received_status(&trailers),
                        // As grpc-go: a stream the server ends without trailers is INTERNAL.
                        Poll::Ready(Ok(None)) => {
                            self.state = State::Ended(Err(Status::internal(
                                "the server ended the stream without trailers",
                            )));
                        }
                        Poll::Ready(Err(status)) => self.state = State::Ended(Err(status)),
                        Poll::Pending => break,
                    },
                    Poll::Ready(Err(status)) => self.state = State::Ended(Err(status)),
                    Poll::Pending => break,
                },
                State::Ended(_) => return Poll::Ready(()),
            }
        }
        // Waiting: within the call's bounds.
        let bounds = &self.bounds;
        let expiry = self.expiry.get_or_insert_with(|| bounds.expiry());
        match expiry.poll_expired(cx) {
            Poll::Ready(status) => {
                self.state = State::Ended(Err(status));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Shares `aborted` with the sending side of an earlier attempt at the
    /// same call.
    pub(crate) fn share_aborted(&mut self, aborted: Aborted) {
        self.aborted = Some(aborted);
    }

    /// Moves the call on until the response headers come: ready with the
    /// status when the server or the connection ended the call before
    /// them, else with `Ok` (the headers came, the call ended OK, or the
    /// sending side ended it, which later polls report).
    pub(crate) fn poll_headers(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        if self.aborted_with().is_some() {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(self.poll_state(cx, true));
        Poll::Ready(match &self.state {
            State::Ended(Err(status)) if self.aborted_with().is_none() => Err(status.clone()),
            _ => Ok(()),
        })
    }

    /// The response headers.
    pub(crate) async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.check_aborted()?;
        poll_fn(|cx| self.poll_state(cx, true)).await;
        if let State::Ended(Err(status)) = &self.state
            && self.headers.is_empty()
        {
            return Err(status.clone());
        }
        Ok(&self.headers)
    }

    /// A message already received, decoded, without waiting; `None` when
    /// there is none (or the call has failed), and [`Receiving::next`] says
    /// what comes. Streamed messages often arrive many to a DATA frame, and
    /// this takes them without a poll.
    #[inline]
    pub(crate) fn received<T: Message>(&mut self) -> Option<Result<T, Status>> {
        let aborted = self.aborted_with().is_some();
        match &mut self.state {
            State::Body(incoming) if !aborted => match incoming.next_received("response") {
                Ok(Some(message)) => Some(Ok(message)),
                Ok(None) => None,
                Err(status) => Some(Err(self.fail(status))),
            },
            _ => None,
        }
    }

    /// The next message: true when one is ready to decode
    /// ([`Receiving::decode`]), false at the end of an OK call.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Status>> {
        if let Err(status) = self.check_aborted() {
            return Poll::Ready(Err(status));
        }
        std::task::ready!(self.poll_state(cx, false));
        Poll::Ready(match &self.state {
            State::Body(_) => Ok(true),
            State::Ended(result) => result.clone().map(|()| false),
            State::Waiting(..) => Err(Status::internal("response headers were not received")),
        })
    }

    /// [`Receiving::poll_next`] as a future.
    pub(crate) async fn next(&mut self) -> Result<bool, Status> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Decodes the message [`Receiving::next`] found.
    ///
    /// # Errors
    /// INTERNAL when it does not decode, which ends the call.
    #[inline]
    pub(crate) fn decode<T: Message>(&mut self) -> Result<T, Status> {
        let result = match &mut self.state {
            State::Body(incoming) => incoming.decode("response"),
            _ => Err(Status::internal("no response message is ready")),
        };
        result.map_err(|status| self.fail(status))
    }

    /// Ends the call with `status`; returns it.
    #[cold]
    pub(crate) fn fail(&mut self, status: Status) -> Status {
        self.state = State::Ended(Err(status.clone()));
        status
    }

    /// Gives up on the response; what follows reports CANCELLED. Dropping
    /// the response stream resets the HTTP/2 stream once the sending side is
    /// gone too.
    pub(crate) fn cancel(&mut self) {
        if !matches!(self.state, State::Ended(_)) {
            self.state = State::Ended(Err(cancelled()));
        }
    }

    /// Whether the server refused the call's stream without handling it
    /// (REFUSED_STREAM, or GOAWAY before it), so that it can be made again
    /// without the server having seen it.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// What the server said of trying the call again, if it failed and
    /// the server said.
    pub(crate) fn pushback(&self) -> Option<Pushback> {
        self.pushback
    }

    /// The trailers, once the call has ended; empty before.
    pub(crate) fn trailers(&self) -> &Metadata {
        static NONE: Metadata = Metadata::new();
        self.trailers.as_ref().unwrap_or(&NONE)
    }

    /// Waits for the only message of a unary or client-streaming response,
    /// to decode.
    ///
    /// # Errors
    /// The call's status, or INTERNAL when it ended OK without a message.
    pub(crate) async fn first(&mut self) -> Result<(), Status> {
        if self.next().await? {
            Ok(())
        } else {
            Err(Status::internal(
                "the server ended the call without a response",
            ))
        }
    }

    /// After the only message: the end of the call, and its headers and
    /// trailers.
    ///
    /// # Errors
    /// The call's status, or INTERNAL when another message follows.
    pub(crate) async fn end_of_single(&mut self) -> Result<(Metadata, Metadata), Status> {
        if self.next().await? {
            return Err(Status::internal("the server sent more than one response"));
        }
        let trailers = self.trailers.clone().unwrap_or_default();
        Ok((std::mem::take(&mut self.headers), trailers))
    }

    /// Leaves the call's bounds to the caller: one that bounds the whole
    /// call itself saves the receive a timer of its own.
    pub(crate) fn unbound(&mut self) {
        self.bounds = Bounds::default();
        self.expiry = None;
    }
}

/// The status of a call the client cancelled.
pub(crate) fn cancelled() -> Status {
    Status::cancelled("the call was cancelled by the client")
}
