//! The receiving side of a client call, untyped: the response headers,
//! the payloads of the response messages, then the status in the trailers.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use h2::client::ResponseFuture;

use crate::call::before;
use crate::transport::{self, Incoming};
use crate::{Code, Message, Metadata, Status, protocol};

/// The receiving side of a client call: response headers, messages, trailers.
pub(crate) struct Receiving {
    state: State,
    deadline: Option<Instant>,
    max_message_size: usize,
    headers: Metadata,
    trailers: Option<Metadata>,
    /// Set by the sending side when it ends the call itself.
    aborted: Option<Aborted>,
}

/// The status the sending side of a call ended it with, which the receiving
/// side reports in place of the reset that followed.
pub(crate) type Aborted = Arc<OnceLock<Status>>;

enum State {
    Waiting(ResponseFuture),
    Body(Incoming),
    Ended(Result<(), Status>),
}

impl Receiving {
    pub(crate) fn new(
        response: ResponseFuture,
        deadline: Option<Instant>,
        max_message_size: usize,
    ) -> Self {
        Self {
            state: State::Waiting(response),
            deadline,
            max_message_size,
            headers: Metadata::new(),
            trailers: None,
            aborted: None,
        }
    }

    /// Where the sending side records the status it ends the call with.
    pub(crate) fn aborted(&mut self) -> Aborted {
        self.aborted.get_or_insert_with(Default::default).clone()
    }

    /// Ends the call with the sending side's status, if it set one.
    #[inline]
    fn check_aborted(&mut self) -> Result<(), Status> {
        match self.aborted.as_ref().and_then(|aborted| aborted.get()) {
            Some(status) if !matches!(self.state, State::Ended(_)) => {
                let status = status.clone();
                self.end(Err(status))
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, result: Result<(), Status>) -> Result<(), Status> {
        self.state = State::Ended(result.clone());
        result
    }

    /// Waits for the response headers; a trailers-only response ends the call here.
    async fn await_headers(&mut self) -> Result<(), Status> {
        let State::Waiting(response) = &mut self.state else {
            return Ok(());
        };
        let response = match before(self.deadline, async {
            response.await.map_err(|e| transport::h2_status(&e))
        })
        .await
        {
            Ok(response) => response,
            Err(status) => return self.end(Err(status)),
        };
        let (parts, body) = response.into_parts();
        if let Err(status) = protocol::read_response(&parts) {
            return self.end(Err(status));
        }
        if body.is_end_stream() {
            // Trailers-only: the status is in the headers.
            let status = protocol::read_status(&parts.headers);
            self.trailers = Some(status.metadata().clone());
            return self.end(ok_or(status));
        }
        self.headers = protocol::metadata_from_headers(&parts.headers);
        self.state = State::Body(Incoming::new(body, self.max_message_size));
        Ok(())
    }

    /// The response headers.
    pub(crate) async fn headers(&mut self) -> Result<&Metadata, Status> {
        self.check_aborted()?;
        self.await_headers().await?;
        if let State::Ended(Err(status)) = &self.state
            && self.headers.is_empty()
        {
            return Err(status.clone());
        }
        Ok(&self.headers)
    }

    /// Whether a message already received is ready to decode, without
    /// waiting; when not (or when the call has failed), [`Receiving::next`]
    /// says what comes. Streamed messages often arrive many to a DATA frame,
    /// and this takes them without a future.
    #[inline]
    pub(crate) fn ready_now(&mut self) -> bool {
        let aborted = self
            .aborted
            .as_ref()
            .is_some_and(|aborted| aborted.get().is_some());
        match &mut self.state {
            State::Body(incoming) if !aborted => incoming.ready().unwrap_or(false),
            _ => false,
        }
    }

    /// Waits for the next message: true when one is ready to decode
    /// ([`Receiving::decode`]), false at the end of an OK call.
    pub(crate) async fn next(&mut self) -> Result<bool, Status> {
        self.check_aborted()?;
        // A message already received needs no waiting (nor deadline).
        if let State::Body(incoming) = &mut self.state {
            match incoming.ready() {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(status) => return self.end(Err(status)).map(|()| false),
            }
        }
        self.await_headers().await?;
        let incoming = match &mut self.state {
            State::Body(incoming) => incoming,
            State::Ended(result) => return result.clone().map(|()| false),
            State::Waiting(_) => {
                return Err(Status::internal("response headers were not received"));
            }
        };
        let next = before(self.deadline, async {
            if incoming.next().await? {
                return Ok(None);
            }
            let trailers = incoming.trailers().await?;
            Ok(Some(match trailers {
                Some(trailers) => protocol::read_status(&trailers),
                // As grpc-go: a stream the server ends without trailers is INTERNAL.
                None => Status::internal("the server ended the stream without trailers"),
            }))
        })
        .await;
        match next {
            Ok(None) => Ok(true),
            Ok(Some(status)) => {
                self.trailers = Some(status.metadata().clone());
                self.end(ok_or(status)).map(|()| false)
            }
            Err(status) => self.end(Err(status)).map(|()| false),
        }
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
    fn fail(&mut self, status: Status) -> Status {
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

    /// The trailers, once the call has ended.
    pub(crate) fn trailers(&self) -> Option<&Metadata> {
        self.trailers.as_ref()
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

    /// Takes over the whole call's deadline: a caller that bounds the call
    /// itself saves each receive a timer of its own.
    pub(crate) fn drop_deadline(&mut self) {
        self.deadline = None;
    }
}

/// The status of a call the client cancelled.
pub(crate) fn cancelled() -> Status {
    Status::cancelled("the call was cancelled by the client")
}

/// `Ok` for an OK status, else the status as the error.
fn ok_or(status: Status) -> Result<(), Status> {
    if status.code() == Code::Ok {
        Ok(())
    } else {
        Err(status)
    }
}
