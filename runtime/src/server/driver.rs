//! One call on the server: the state a [`ResponseSink`](super::ResponseSink)
//! shares with the call's driver, the response side of the h2 stream, and the
//! driver that ties the handler, the deadline and the client together.
//!
//! A sink encodes messages straight into a shared buffer; the driver takes the
//! whole buffer and writes it as one DATA frame, so a handler sending many
//! small messages costs one write per batch, not per message. The sink waits
//! only when the buffer passes [`HIGH_WATER`], which the driver empties only
//! as flow control lets it write: a client that reads slowly holds the
//! handler back, and nothing buffers without bound.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;
use h2::server::SendResponse;
use http::HeaderMap;

use crate::call::CallSpan;
use crate::frame::Compression;
use crate::transport::Link;
use crate::{CallContext, Code, Metadata, Status, protocol, transport};

/// Bytes of encoded messages a sink may queue before it waits for the driver.
const HIGH_WATER: usize = 32 * 1024;

/// What a handler leaves to send when it returns successfully.
pub(crate) struct Finish {
    pub(crate) headers: Metadata,
    /// The one response message of a unary or client-streaming call, framed.
    pub(crate) message: Option<Bytes>,
    pub(crate) trailers: Metadata,
}

impl Finish {
    /// The end of a call answered with one message: its `frame`, and the
    /// headers and trailers that go with it.
    pub(crate) fn reply(frame: Bytes, headers: Metadata, trailers: Metadata) -> Self {
        Finish {
            headers,
            message: Some(frame),
            trailers,
        }
    }

    /// The end of a streaming call: everything was sent through the sink.
    pub(crate) fn streamed() -> Self {
        Finish {
            headers: Metadata::new(),
            message: None,
            trailers: Metadata::new(),
        }
    }
}

#[derive(Default)]
struct State {
    headers: Metadata,
    trailers: Metadata,
    /// Framed messages the driver has not taken yet.
    outgoing: Vec<u8>,
    /// How many bytes the driver took last time: a handler streaming
    /// steadily fills the next buffer as far, so it starts that large.
    last_batch: usize,
    /// The headers are to go now (`send_header`), messages or not.
    send_headers: bool,
    /// The driver, waiting for something to send.
    driver: Option<Waker>,
    /// The sink, waiting for the driver to take `outgoing`.
    sink: Option<Waker>,
    /// A send failed, and the call is to end with this status.
    failed: Option<Status>,
    /// The call has ended: the sink can send nothing more.
    closed: bool,
    /// What the response messages are compressed with, once the first of
    /// them or the headers are on their way; fixed from then on.
    compression: Option<Option<Compression>>,
    /// The next message goes uncompressed.
    skip_compression: bool,
    /// The typed sinks alive: a streaming call whose handler returned OK
    /// goes on until the last is dropped.
    sinks: usize,
}

/// The buffer of framed messages, locked for one more; the driver is woken
/// when it is let go.
pub(crate) struct Room<'a>(MutexGuard<'a, State>, &'a CallContext);

impl Room<'_> {
    /// Where the frame goes, and what to compress its message with.
    pub(crate) fn buffer(&mut self) -> (&mut Vec<u8>, Option<Compression>) {
        let state = &mut *self.0;
        let compression = state.committed(self.1);
        let skip = std::mem::take(&mut state.skip_compression);
        (&mut state.outgoing, compression.filter(|_| !skip))
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        if let Some(driver) = self.0.driver.take() {
            driver.wake();
        }
    }
}

/// The state a call's sink and driver share.
#[derive(Clone)]
pub(crate) struct Shared(Arc<SharedState>);

struct SharedState {
    state: Mutex<State>,
    /// The limit on response messages.
    max_message_size: usize,
    /// The call's context, which says what to compress responses with.
    context: CallContext,
}

impl Shared {
    /// The state of a new call, of `context`, whose response messages are
    /// limited to `max_message_size` bytes.
    pub(crate) fn new(max_message_size: usize, context: CallContext) -> Self {
        Self(Arc::new(SharedState {
            state: Mutex::default(),
            max_message_size,
            context,
        }))
    }

    /// What the one response message of a unary or client-streaming call is
    /// compressed with; fixed from now on.
    pub(crate) fn reply_compression(&self) -> Option<Compression> {
        self.lock().committed(&self.0.context)
    }

    /// Sends the next message uncompressed.
    pub(crate) fn skip_compression(&self) {
        self.lock().skip_compression = true;
    }

    /// Counts a typed sink made over this state.
    pub(crate) fn sink_made(&self) {
        self.lock().sinks += 1;
    }

    /// Counts a typed sink dropped; the last wakes the driver, which may
    /// be waiting for it to end the call.
    pub(crate) fn sink_dropped(&self) {
        let mut state = self.lock();
        state.sinks -= 1;
        if state.sinks == 0
            && let Some(driver) = state.driver.take()
        {
            driver.wake();
        }
    }

    /// Whether a typed sink is still alive.
    fn sinks_alive(&self) -> bool {
        self.lock().sinks > 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.0.state)
    }

    /// The limit on response messages.
    pub(crate) fn max_message_size(&self) -> usize {
        self.0.max_message_size
    }

    /// Waits until the buffer is below the high water mark, then gives it,
    /// locked, for the typed sink to encode a message into. CANCELLED once
    /// the call has ended.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<Room<'_>, Status>> {
        let mut state = self.lock();
        if state.closed {
            return Poll::Ready(Err(Status::cancelled("the call has ended")));
        }
        if state.outgoing.len() >= HIGH_WATER {
            state.sink = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if state.outgoing.capacity() == 0 {
            let batch = state.last_batch.min(2 * HIGH_WATER);
            state.outgoing.reserve(batch);
        }
        Poll::Ready(Ok(Room(state, &self.0.context)))
    }

    /// Asks for the response headers to go now.
    pub(crate) fn send_headers(&self) -> Result<(), Status> {
        let mut state = self.lock();
        if state.closed {
            return Err(Status::cancelled("the call has ended"));
        }
        state.send_headers = true;
        state.committed(&self.0.context);
        if let Some(driver) = state.driver.take() {
            driver.wake();
        }
        Ok(())
    }

    /// Adds to the headers not sent yet.
    pub(crate) fn add_headers(&self, metadata: Metadata) {
        self.lock().headers.extend(metadata);
    }

    /// Adds to the trailers.
    pub(crate) fn add_trailers(&self, metadata: Metadata) {
        self.lock().trailers.extend(metadata);
    }

    fn take_headers(&self) -> Metadata {
        std::mem::take(&mut self.lock().headers)
    }

    fn take_trailers(&self) -> Metadata {
        std::mem::take(&mut self.lock().trailers)
    }

    /// What the sink has queued, if anything, without waiting. With `last`
    /// (the handler has returned) the sink is closed in the same step, so a
    /// later send fails rather than queue what nobody takes.
    fn take_outgoing(&self, last: bool) -> Option<Outgoing> {
        let mut state = self.lock();
        if last {
            state.close();
        }
        state.take_outgoing()
    }

    /// Waits for the sink to queue something, or, `until_no_sinks`, for
    /// the last typed sink to go (then with nothing).
    fn poll_outgoing(&self, cx: &mut Context<'_>, until_no_sinks: bool) -> Poll<Outgoing> {
        // Checked and registered under one lock: a send in between would
        // find no waker to wake.
        let mut state = self.lock();
        if let Some(outgoing) = state.take_outgoing() {
            return Poll::Ready(outgoing);
        }
        if until_no_sinks && state.sinks == 0 {
            return Poll::Ready(Outgoing::default());
        }
        state.driver = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Ends the sink's part: later sends fail, and a waiting send wakes to fail.
    fn close(&self) {
        self.lock().close();
    }

    /// Ends the call with `status`, which a send failed with, once what was
    /// sent before has gone out; returns it.
    pub(crate) fn fail(&self, status: Status) -> Status {
        let mut state = self.lock();
        if !state.closed {
            state.failed = Some(status.clone());
            state.close();
            if let Some(driver) = state.driver.take() {
                driver.wake();
            }
        }
        status
    }
}

impl State {
    /// What the response messages are compressed with: `context`'s choice,
    /// fixed from the first time this is asked.
    fn committed(&mut self, context: &CallContext) -> Option<Compression> {
        *self
            .compression
            .get_or_insert_with(|| context.compression())
    }

    /// The response headers not sent yet, and what the messages are
    /// compressed with.
    fn take_head(&mut self) -> Head {
        Head {
            metadata: std::mem::take(&mut self.headers),
            compression: self.compression.flatten(),
        }
    }

    /// What the sink has queued, if anything.
    fn take_outgoing(&mut self) -> Option<Outgoing> {
        if self.outgoing.is_empty() && !self.send_headers && self.failed.is_none() {
            return None;
        }
        let data = std::mem::take(&mut self.outgoing);
        // A failure alone leaves the headers to go with its status.
        let open = !data.is_empty() || std::mem::take(&mut self.send_headers);
        if !data.is_empty() {
            self.last_batch = data.len();
        }
        if let Some(sink) = self.sink.take() {
            sink.wake();
        }
        Some(Outgoing {
            headers: open.then(|| self.take_head()),
            data: (!data.is_empty()).then(|| data.into()),
            failed: self.failed.take(),
        })
    }

    /// Ends the sink's part: later sends fail, and a waiting send wakes to fail.
    fn close(&mut self) {
        self.closed = true;
        if let Some(sink) = self.sink.take() {
            sink.wake();
        }
    }
}

/// What the driver takes from the sink in one go.
#[derive(Default)]
struct Outgoing {
    /// The headers, when they are to go now.
    headers: Option<Head>,
    data: Option<Bytes>,
    /// The status a failed send ends the call with.
    failed: Option<Status>,
}

/// The response side of a call, owned by its driver alone (h2 keeps one
/// waker per stream for capacity and reset, so one task must poll both).
enum Out {
    Pending(SendResponse<Bytes>),
    /// Headers sent; `sent_data` once data has gone to h2.
    Open {
        stream: SendStream<Bytes>,
        sent_data: bool,
    },
    Closed,
}

/// The response headers: the handler's metadata, and what the messages
/// are compressed with.
#[derive(Default)]
struct Head {
    metadata: Metadata,
    compression: Option<Compression>,
}

enum Event {
    Gone,
    Capacity(usize),
}

impl Out {
    /// Sends the response headers if they have not been sent.
    fn open(&mut self, head: &Head) -> bool {
        if let Out::Pending(respond) = self {
            let response = protocol::response(&head.metadata, head.compression);
            match respond.send_response(response, false) {
                Ok(stream) => {
                    *self = Out::Open {
                        stream,
                        sent_data: false,
                    }
                }
                Err(_) => *self = Out::Closed,
            }
        }
        matches!(self, Out::Open { .. })
    }

    fn poll_event(&mut self, cx: &mut Context<'_>, want_capacity: bool) -> Poll<Event> {
        match self {
            Out::Pending(respond) => respond.poll_reset(cx).map(|_| Event::Gone),
            Out::Open { stream, .. } => {
                if stream.poll_reset(cx).is_ready() {
                    return Poll::Ready(Event::Gone);
                }
                if want_capacity {
                    match stream.poll_capacity(cx) {
                        Poll::Ready(Some(Ok(capacity))) => {
                            return Poll::Ready(Event::Capacity(capacity));
                        }
                        Poll::Ready(_) => return Poll::Ready(Event::Gone),
                        Poll::Pending => {}
                    }
                }
                Poll::Pending
            }
            Out::Closed => Poll::Ready(Event::Gone),
        }
    }

    /// Opens the response if needed and sends `data`, or asks for capacity
    /// for it and returns it to send when capacity comes. The first data goes
    /// to h2 at once (see `transport::start_sending`).
    fn queue(&mut self, data: Bytes, head: &Head) -> Option<Bytes> {
        if !self.open(head) {
            return None;
        }
        let Out::Open { stream, sent_data } = self else {
            return None;
        };
        let first = !std::mem::replace(sent_data, true);
        transport::start_sending(stream, data, first).unwrap_or_else(|_| self.refused())
    }

    /// Sends what the sink queued; returns data left waiting for capacity.
    fn apply(&mut self, headers: Option<Head>, data: Option<Bytes>) -> Option<Bytes> {
        match (data, headers) {
            (Some(data), headers) => self.queue(data, &headers.unwrap_or_default()),
            (None, Some(headers)) => {
                self.open(&headers);
                None
            }
            (None, None) => None,
        }
    }

    /// Sends as much of `data` as `capacity` allows; returns the rest.
    fn send_some(&mut self, data: Bytes, capacity: usize) -> Option<Bytes> {
        let Out::Open { stream, .. } = self else {
            return None;
        };
        transport::send_within(stream, data, capacity).unwrap_or_else(|_| self.refused())
    }

    /// Gives up on a stream that h2 refused data on: nothing more is sent,
    /// so nothing is left waiting for capacity.
    fn refused(&mut self) -> Option<Bytes> {
        *self = Out::Closed;
        None
    }

    /// Ends the call with `status`: in the trailers, or as a trailers-only
    /// response when no headers were sent.
    fn finish(&mut self, status: &Status, headers: &Metadata) {
        match std::mem::replace(self, Out::Closed) {
            Out::Pending(mut respond) => {
                let response = protocol::trailers_only(headers, status);
                let _ = respond.send_response(response, true);
            }
            Out::Open { mut stream, .. } => {
                let mut trailers = HeaderMap::new();
                protocol::write_status(status, &mut trailers);
                let _ = stream.send_trailers(trailers);
            }
            Out::Closed => {}
        }
    }
}

/// Answers a call that cannot be handled with `status`, trailers-only.
pub(crate) fn reject(respond: SendResponse<Bytes>, status: &Status) {
    Out::Pending(respond).finish(status, &Metadata::new());
}

pin_project_lite::pin_project! {
    /// A future made by `start` when first polled, holding either what
    /// `start` needs or the future it made, never both.
    #[project = StartedByProjection]
    pub(crate) enum StartedBy<S, F> {
        Starting { start: Option<S> },
        Running { #[pin] future: F },
    }
}

/// The future `start` makes (none: it finishes at once), made when first
/// polled, so a spawned task does the work of `start` itself.
pub(crate) fn started_by<S, F>(start: S) -> StartedBy<S, F>
where
    S: FnOnce() -> Option<F>,
    F: Future<Output = ()>,
{
    StartedBy::Starting { start: Some(start) }
}

impl<S, F> Future for StartedBy<S, F>
where
    S: FnOnce() -> Option<F>,
    F: Future<Output = ()>,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let StartedByProjection::Starting { start } = self.as_mut().project() {
            // `start` is gone only when it made nothing and this was polled again.
            match start.take().and_then(|start| start()) {
                Some(future) => self.set(StartedBy::Running { future }),
                None => return Poll::Ready(()),
            }
        }
        match self.project() {
            StartedByProjection::Running { future } => future.poll(cx),
            StartedByProjection::Starting { .. } => Poll::Ready(()),
        }
    }
}

/// Runs one call: polls the handler, writes what its sink queues as flow
/// control allows, and ends the call when the handler returns, the deadline
/// passes (DEADLINE_EXCEEDED) or the client resets the stream (the handler is
/// dropped). The call's context is cancelled then, whatever the reason, so
/// that what the handler spawned for the call can stop too.
pub(crate) async fn drive(
    respond: SendResponse<Bytes>,
    handler: impl Future<Output = Result<Finish, Status>> + Send,
    shared: Shared,
    context: CallContext,
    span: CallSpan,
    link: Link,
) {
    let mut out = Out::Pending(respond);
    let code = span
        .clone()
        .wrap(run(&mut out, handler, &shared, context.deadline(), &link))
        .await;
    shared.close();
    context.cancel();
    link.call_ended();
    span.ended(code);
}

/// Runs the call to its end; returns the code it ended with.
async fn run(
    out: &mut Out,
    handler: impl Future<Output = Result<Finish, Status>> + Send,
    shared: &Shared,
    deadline: Option<Instant>,
    link: &Link,
) -> Code {
    // Dropped (set to `None`) as soon as it is done or cancelled.
    let mut handler = std::pin::pin!(Some(handler));
    let mut finished: Option<Result<Finish, Status>> = None;
    // Data waiting for flow-control capacity.
    let mut pending: Option<Bytes> = None;
    let mut expired = std::pin::pin!(async move {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => std::future::pending().await,
        }
    });
    loop {
        if finished.is_some() {
            // The call's end is known (a failed send may decide it before
            // the handler returns): the handler goes.
            handler.set(None);
        }
        // A streaming handler that returned OK may have left its sink to a
        // task of its own: the call ends when that lets go of it.
        let sinks_out =
            matches!(finished, Some(Ok(Finish { message: None, .. }))) && shared.sinks_alive();
        if pending.is_none() {
            // What the sink queued goes out before the handler's result.
            let last = finished.is_some() && !sinks_out;
            if let Some(outgoing) = shared.take_outgoing(last) {
                pending = take_over(out, outgoing, &mut finished);
                continue;
            }
            if sinks_out {
                // Nothing to send yet: wait below for more, or for the end.
            } else if let Some(result) = finished.take() {
                match result {
                    Ok(Finish {
                        mut headers,
                        message: Some(frame),
                        trailers,
                    }) => {
                        let Head {
                            metadata,
                            compression,
                        } = shared.lock().take_head();
                        headers.extend(metadata);
                        let head = Head {
                            metadata: headers,
                            compression,
                        };
                        pending = out.queue(frame, &head);
                        finished = Some(Ok(Finish {
                            headers: Metadata::new(),
                            message: None,
                            trailers,
                        }));
                        continue;
                    }
                    Ok(Finish {
                        mut headers,
                        message: None,
                        trailers,
                    }) => {
                        headers.extend(shared.take_headers());
                        let mut status = Status::new(Code::Ok, "");
                        *status.metadata_mut() = trailers;
                        status.metadata_mut().extend(shared.take_trailers());
                        out.finish(&status, &headers);
                        return Code::Ok;
                    }
                    Err(mut status) => {
                        status.metadata_mut().extend(shared.take_trailers());
                        out.finish(&status, &shared.take_headers());
                        return status.code();
                    }
                }
            }
        }
        let want_capacity = pending.is_some();
        let accepting = pending.is_none() && (handler.is_some() || sinks_out);
        // The handler is polled before the stream's reset and capacity: a
        // unary handler is usually done on its first poll, and then nothing
        // is registered with h2, each registration being a lock on the state
        // the connection shares with all its calls.
        tokio::select! {
            biased;
            () = &mut expired => {
                handler.set(None);
                out.finish(&Status::deadline_exceeded("deadline exceeded"), &Metadata::new());
                return Code::DeadlineExceeded;
            }
            result = poll_fn(|cx| match handler.as_mut().as_pin_mut() {
                Some(handler) => poll_caught(handler, cx),
                None => Poll::Pending,
            }) => {
                handler.set(None);
                finished = Some(result);
            }
            event = poll_fn(|cx| out.poll_event(cx, want_capacity)) => match event {
                // The client reset the stream: it cancelled the call.
                Event::Gone => {
                    link.peer_cancelled();
                    return Code::Cancelled;
                }
                Event::Capacity(capacity) => {
                    if let Some(data) = pending.take() {
                        pending = out.send_some(data, capacity);
                    }
                }
            },
            outgoing = poll_fn(|cx| shared.poll_outgoing(cx, sinks_out)), if accepting => {
                pending = take_over(out, outgoing, &mut finished);
            }
        }
    }
}

/// Polls the handler; a panic in it (or in an interceptor it runs) ends the
/// call with INTERNAL, as grpc-go's recovery interceptors answer, instead
/// of taking down the task and with it the client's answer.
fn poll_caught<F>(handler: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<Result<Finish, Status>>
where
    F: Future<Output = Result<Finish, Status>>,
{
    // The handler is dropped right after a panic and never polled again,
    // so no broken state of it can be observed.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.poll(cx)))
        .unwrap_or_else(|_| Poll::Ready(Err(Status::internal("the handler panicked"))))
}

/// Sends what the sink handed over, or queues it for capacity; a send that
/// failed ends the call with its status once what came before it is out.
fn take_over(
    out: &mut Out,
    outgoing: Outgoing,
    finished: &mut Option<Result<Finish, Status>>,
) -> Option<Bytes> {
    if let Some(status) = outgoing.failed {
        *finished = Some(Err(status));
    }
    out.apply(outgoing.headers, outgoing.data)
}

/// The sink's state, without h2: what the handler queues, the driver takes.
#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::frame::Frame;
    use crate::wkt::StringValue;

    fn push(shared: &Shared, text: &str) -> Poll<Result<(), Status>> {
        let message = StringValue {
            value: text.into(),
            ..Default::default()
        };
        let frame = Frame::measure(&message, usize::MAX).expect("small");
        shared
            .poll_room(&mut Context::from_waker(Waker::noop()))
            .map_ok(|mut room| frame.write(room.buffer().0))
    }

    #[test]
    fn messages_queue_up_to_the_high_water_mark_and_go_out_as_one_batch() {
        let shared = Shared::new(usize::MAX, CallContext::default());
        let text = "x".repeat(1000);
        let mut queued = 0;
        while push(&shared, &text).is_ready() {
            queued += 1;
            assert!(queued < 1000, "the sink never waits");
        }
        // The sink waits once the buffer passes HIGH_WATER.
        assert!(queued * 1000 >= HIGH_WATER && queued * 1000 < HIGH_WATER + 2000);
        let outgoing = shared.take_outgoing(false).expect("queued messages");
        let data = outgoing.data.expect("data");
        assert_eq!(data.len(), queued * (1000 + 5 + 3));
        assert!(outgoing.headers.is_some(), "headers go with the first data");
        // Taken, the buffer has room again.
        assert!(push(&shared, "more").is_ready());
    }

    #[test]
    fn after_the_call_ends_sends_fail_and_a_failure_ends_the_call_once() {
        let shared = Shared::new(usize::MAX, CallContext::default());
        assert!(push(&shared, "a").is_ready());
        let failure = shared.fail(Status::resource_exhausted("too big"));
        assert_eq!(failure.code(), Code::ResourceExhausted);
        // What was queued before the failure still goes out, with the status.
        let outgoing = shared.take_outgoing(false).expect("queued");
        assert!(outgoing.data.is_some());
        assert_eq!(
            outgoing.failed.map(|s| s.code()),
            Some(Code::ResourceExhausted)
        );
        let Poll::Ready(Err(after)) = push(&shared, "b") else {
            panic!("a send after the end must fail");
        };
        assert_eq!(after.code(), Code::Cancelled);
        // A second failure changes nothing.
        shared.fail(Status::internal("later"));
        assert!(shared.take_outgoing(false).is_none());
    }

    #[test]
    fn headers_can_go_alone_and_trailers_are_kept_for_the_end() {
        let shared = Shared::new(usize::MAX, CallContext::default());
        let mut headers = Metadata::new();
        headers.insert("x-h", "1").unwrap();
        shared.add_headers(headers);
        let mut trailers = Metadata::new();
        trailers.insert("x-t", "2").unwrap();
        shared.add_trailers(trailers);
        assert!(
            shared.take_outgoing(false).is_none(),
            "nothing asked to go yet"
        );
        shared.send_headers().unwrap();
        let outgoing = shared.take_outgoing(false).expect("the headers");
        assert_eq!(
            outgoing
                .headers
                .as_ref()
                .and_then(|h| h.metadata.get("x-h")),
            Some("1")
        );
        assert!(outgoing.data.is_none());
        assert_eq!(shared.take_trailers().get("x-t"), Some("2"));
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn the_compression_is_fixed_by_the_first_message_and_skipped_for_one() {
        use crate::call::{CallInfo, CallKind};
        use crate::frame::Accepted;

        let context = CallContext::new(
            CallInfo::new("/echo.Echo/EchoMessage", CallKind::ServerStreaming, None),
            None,
            Accepted::parse("identity,gzip"),
            None,
        );
        let shared = Shared::new(usize::MAX, context.clone());
        let compression = || {
            let Poll::Ready(Ok(mut room)) =
                shared.poll_room(&mut Context::from_waker(Waker::noop()))
            else {
                panic!("room in an empty buffer");
            };
            let (buffer, compression) = room.buffer();
            buffer.push(0);
            compression
        };
        assert!(context.set_compression(Some(Compression::Gzip)));
        assert_eq!(compression(), Some(Compression::Gzip));
        shared.skip_compression();
        assert_eq!(compression(), None, "the one message skipped");
        assert_eq!(compression(), Some(Compression::Gzip));
        // Too late: the first message fixed it.
        assert!(context.set_compression(None));
        assert_eq!(compression(), Some(Compression::Gzip));
        let outgoing = shared.take_outgoing(false).expect("the headers");
        let head = outgoing.headers.expect("headers with the first message");
        assert_eq!(head.compression, Some(Compression::Gzip));
    }
}
