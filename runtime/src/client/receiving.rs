//! The receiving side of a client call, untyped: the response headers,
//! the payloads of the response messages, then the status in the trailers.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use h2::client::ResponseFuture;

use crate::call::before;
use crate::transport::{self, Incoming};
use crate::{Code, Metadata, Status, protocol};

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

/// What comes next on a response stream: a message or the final status.
enum Next {
    Message(Bytes),
    End(Status),
}

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

    /// The next message's payload, `None` at the end of an OK call.
    pub(crate) async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        self.check_aborted()?;
        // A message already received needs no waiting (nor deadline).
        if let State::Body(incoming) = &mut self.state {
            match incoming.buffered() {
                Ok(Some(message)) => return Ok(Some(message)),
                Ok(None) => {}
                Err(status) => return self.end(Err(status)).map(|()| None),
            }
        }
        self.await_headers().await?;
        let incoming = match &mut self.state {
            State::Body(incoming) => incoming,
            State::Ended(result) => return result.clone().map(|()| None),
            State::Waiting(_) => {
                return Err(Status::internal("response headers were not received"));
            }
        };
        let next = before(self.deadline, async {
            match incoming.message().await? {
                Some(message) => Ok(Next::Message(message)),
                None => {
                    let trailers = incoming.trailers().await?;
                    Ok(Next::End(match trailers {
                        Some(trailers) => protocol::read_status(&trailers),
                        // As grpc-go: a stream the server ends without
                        // trailers is INTERNAL.
                        None => Status::internal("the server ended the stream without trailers"),
                    }))
                }
            }
        })
        .await;
        match next {
            Ok(Next::Message(message)) => Ok(Some(message)),
            Ok(Next::End(status)) => {
                self.trailers = Some(status.metadata().clone());
                self.end(ok_or(status)).map(|()| None)
            }
            Err(status) => self.end(Err(status)).map(|()| None),
        }
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

    /// The only message of a unary or client-streaming response, with the
    /// headers and trailers.
    pub(crate) async fn single(&mut self) -> Result<(Bytes, Metadata, Metadata), Status> {
        let Some(message) = self.message().await? else {
            return Err(Status::internal(
                "the server ended the call without a response",
            ));
        };
        if self.message().await?.is_some() {
            return Err(Status::internal("the server sent more than one response"));
        }
        let trailers = self.trailers.clone().unwrap_or_default();
        Ok((message, std::mem::take(&mut self.headers), trailers))
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
