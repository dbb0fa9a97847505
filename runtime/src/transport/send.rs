//! Sending on an h2 stream under flow control: the first message at once,
//! the rest as capacity comes, and nothing cut short when a send is
//! cancelled.

use bytes::Bytes;
use h2::SendStream;

/// What flow control has not let out yet of the last message sent on a
/// stream whose sends may be cancelled.
#[cfg(feature = "client")]
#[derive(Default)]
pub(crate) struct Unsent {
    rest: Option<Bytes>,
    /// While `rest` is left: some of the message has gone to h2, so the
    /// rest must follow it.
    begun: bool,
}

#[cfg(feature = "client")]
impl Unsent {
    /// Starts sending `data`, the next part of a message stream on `stream`
    /// (see [`start_sending`]); [`Unsent::flush`] sends the rest.
    pub(crate) fn start(
        &mut self,
        stream: &mut SendStream<Bytes>,
        data: Bytes,
        first: bool,
    ) -> Result<(), h2::Error> {
        self.rest = start_sending(stream, data, first)?;
        // The first data goes whole; later data waits for capacity.
        self.begun = first;
        Ok(())
    }

    /// Sends the rest on `stream` as flow-control capacity arrives, so that a
    /// slow receiver slows the sender instead of data piling up.
    ///
    /// Cancel-safe, and a message is never cut short on the wire: when this
    /// is dropped before any of the message has gone to h2, the message is
    /// forgotten (it counts as not sent) and its capacity request withdrawn;
    /// after, the rest stays here for the next call to send.
    pub(crate) async fn flush(&mut self, stream: &mut SendStream<Bytes>) -> Result<(), h2::Error> {
        let sending = Sending {
            unsent: self,
            stream,
        };
        while sending.unsent.rest.is_some() {
            let capacity = match std::future::poll_fn(|cx| sending.stream.poll_capacity(cx)).await {
                Some(capacity) => capacity?,
                None => return Err(h2::Error::from(h2::Reason::STREAM_CLOSED)),
            };
            if let Some(data) = sending.unsent.rest.take() {
                sending.unsent.rest = send_within(sending.stream, data, capacity)?;
                sending.unsent.begun |= capacity > 0;
            }
        }
        Ok(())
    }
}

/// An [`Unsent::flush`] under way; when dropped, forgets a message not begun.
#[cfg(feature = "client")]
struct Sending<'a> {
    unsent: &'a mut Unsent,
    stream: &'a mut SendStream<Bytes>,
}

#[cfg(feature = "client")]
impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if !self.unsent.begun && self.unsent.rest.take().is_some() {
            self.stream.reserve_capacity(0);
        }
    }
}

/// Starts sending `data`, the next part of a message stream on `stream`,
/// and returns what waits for flow-control capacity.
///
/// The `first` data of a stream goes to h2 at once: its HEADERS are not out
/// yet, so h2 cannot grant capacity before its connection task has run, and
/// waiting would add that round trip to every call. h2 buffers that one
/// message until the window allows it. Later data waits for capacity, so
/// that a slow receiver slows the sender.
pub(crate) fn start_sending(
    stream: &mut SendStream<Bytes>,
    data: Bytes,
    first: bool,
) -> Result<Option<Bytes>, h2::Error> {
    send_within(stream, data, if first { usize::MAX } else { 0 })
}

/// Sends as much of `data` on `stream` as `capacity` allows, and asks for
/// capacity for the rest, which it returns: one step of [`Unsent::flush`],
/// for senders that wait for capacity themselves.
pub(crate) fn send_within(
    stream: &mut SendStream<Bytes>,
    mut data: Bytes,
    capacity: usize,
) -> Result<Option<Bytes>, h2::Error> {
    let chunk = data.split_to(capacity.min(data.len()));
    if !chunk.is_empty() {
        stream.send_data(chunk, false)?;
    }
    if data.is_empty() {
        return Ok(None);
    }
    stream.reserve_capacity(data.len());
    Ok(Some(data))
}
