//! HTTP/2 plumbing shared by the server and the client: the gRPC headers,
//! `grpc-timeout`, status in trailers, flow-controlled sending and framed
//! receiving on h2 streams.

use std::future::poll_fn;
use std::time::Duration;

use bytes::Bytes;
use h2::{RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::codec::FrameDecoder;
use crate::metadata::{decode_binary, encode_binary};
use crate::status::{decode_message, encode_message};
use crate::{Code, Message, Metadata, Status};

/// The content type of gRPC requests and responses.
pub(crate) const CONTENT_TYPE: &str = "application/grpc";

/// What rgrpc calls itself in `user-agent`.
pub(crate) const USER_AGENT: &str = concat!("rgrpc/", env!("CARGO_PKG_VERSION"));

/// Flow-control windows: larger than HTTP/2's 64 KiB default so that one
/// connection can carry throughput, still bounded so that a slow reader holds
/// back its sender.
pub(crate) const STREAM_WINDOW: u32 = 1024 * 1024;
pub(crate) const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// The largest DATA frame payload rgrpc accepts: above HTTP/2's 16 KiB
/// default, so that a peer can send a message of several kilobytes, with its
/// prefix, in one frame instead of splitting it.
pub(crate) const MAX_FRAME_SIZE: u32 = 256 * 1024;

/// `grpc-timeout`: at most eight digits and a unit (PROTOCOL-HTTP2.md).
pub(crate) mod timeout {
    use std::time::Duration;

    const MAX_VALUE: u128 = 99_999_999;

    /// Encodes with the finest unit that fits eight digits, rounding up so
    /// that the peer never gets less time than the caller gave.
    pub(crate) fn encode(timeout: Duration) -> String {
        let nanos = timeout.as_nanos();
        for (unit, per) in [
            ('n', 1u128),
            ('u', 1_000),
            ('m', 1_000_000),
            ('S', 1_000_000_000),
            ('M', 60_000_000_000),
            ('H', 3_600_000_000_000),
        ] {
            let value = nanos.div_ceil(per);
            if value <= MAX_VALUE {
                return format!("{value}{unit}");
            }
        }
        format!("{MAX_VALUE}H")
    }

    /// Decodes a `grpc-timeout` value; `None` when it is malformed.
    pub(crate) fn decode(value: &[u8]) -> Option<Duration> {
        let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
        if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        Some(match unit[0] {
            b'H' => Duration::from_secs(value * 3600),
            b'M' => Duration::from_secs(value * 60),
            b'S' => Duration::from_secs(value),
            b'm' => Duration::from_millis(value),
            b'u' => Duration::from_micros(value),
            b'n' => Duration::from_nanos(value),
            _ => return None,
        })
    }
}

/// True when the `content-type` is gRPC's: `application/grpc`, with or
/// without a subtype (`+proto`) or parameters (`;…`); not gRPC-Web's.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().strip_prefix(CONTENT_TYPE.as_bytes()))
        .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')))
}

/// The status as trailers (or in a trailers-only response's headers).
pub(crate) fn write_status(status: &Status, headers: &mut HeaderMap) {
    // Names and values from constants: made from text or a number, each
    // would be an allocation per call.
    headers.insert(
        HeaderName::from_static("grpc-status"),
        HeaderValue::from_static(status.code().number()),
    );
    // Both values are printable ASCII by construction, so they always convert.
    if !status.message().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_message(status.message()))
    {
        headers.insert(HeaderName::from_static("grpc-message"), value);
    }
    if !status.details_bin().is_empty()
        && let Ok(value) = HeaderValue::from_str(&encode_binary(status.details_bin()))
    {
        headers.insert(HeaderName::from_static("grpc-status-details-bin"), value);
    }
    status.metadata().write_headers(headers);
}

/// The status in trailers (or in a trailers-only response's headers).
///
/// As in grpc-go: UNKNOWN when there is no `grpc-status`, INTERNAL when it
/// or `grpc-status-details-bin` is malformed.
pub(crate) fn read_status(headers: &HeaderMap) -> Status {
    let Some(code) = headers.get("grpc-status") else {
        return Status::unknown("the response ended without a grpc-status");
    };
    let code = match code.to_str().ok().and_then(|c| c.parse::<i32>().ok()) {
        Some(code) => Code::from_i32(code),
        None => return Status::internal(format!("malformed grpc-status {code:?}")),
    };
    let message = headers
        .get("grpc-message")
        .map(|m| decode_message(m.as_bytes()))
        .unwrap_or_default();
    let mut status = Status::new(code, message);
    if let Some(details) = headers.get("grpc-status-details-bin") {
        match decode_binary(details.as_bytes()) {
            Some(details) => status = status.with_details_bin(details),
            None => return Status::internal("malformed grpc-status-details-bin: not base64"),
        }
    }
    *status.metadata_mut() = Metadata::from_headers(headers);
    status
}

/// The status for an h2 error, following the RST_STREAM mapping of PROTOCOL-HTTP2.md.
pub(crate) fn h2_status(err: &h2::Error) -> Status {
    // Checked first: a GOAWAY has a reason too, but only a reset takes the
    // RST_STREAM mapping. Calls cut off by GOAWAY can be retried elsewhere.
    if err.is_io() || err.is_go_away() {
        return Status::unavailable(format!("connection lost: {err}"));
    }
    if err.is_reset()
        && let Some(reason) = err.reason()
    {
        let code = match reason {
            h2::Reason::CANCEL => Code::Cancelled,
            h2::Reason::REFUSED_STREAM => Code::Unavailable,
            h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
            h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
            _ => Code::Internal,
        };
        let by = if err.is_remote() {
            "peer"
        } else {
            "local endpoint"
        };
        return Status::new(code, format!("stream reset by the {by}: {reason}"));
    }
    Status::internal(format!("HTTP/2 error: {err}"))
}

/// What flow control has not let out yet of the last message sent on a
/// stream whose sends may be cancelled.
#[derive(Default)]
pub(crate) struct Unsent {
    rest: Option<Bytes>,
    /// While `rest` is left: some of the message has gone to h2, so the
    /// rest must follow it.
    begun: bool,
}

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
            let capacity = match poll_fn(|cx| sending.stream.poll_capacity(cx)).await {
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
struct Sending<'a> {
    unsent: &'a mut Unsent,
    stream: &'a mut SendStream<Bytes>,
}

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

/// The receiving half of a gRPC stream: DATA frames split into messages.
pub(crate) struct Incoming {
    body: RecvStream,
    decoder: FrameDecoder,
    ended: bool,
}

impl Incoming {
    /// The messages of `body`, which are `what` (`request` or `response`),
    /// each at most `max_message_size` bytes.
    pub(crate) fn new(body: RecvStream, max_message_size: usize, what: &'static str) -> Self {
        Self {
            body,
            decoder: FrameDecoder::new(max_message_size, what),
            ended: false,
        }
    }

    /// A message already buffered, without waiting.
    pub(crate) fn buffered_message<T: Message>(&mut self) -> Result<Option<T>, Status> {
        self.decoder.next()
    }

    /// The next message, or `None` at the end of the stream.
    ///
    /// Flow-control capacity is given back only as data is read here, so a
    /// handler that stops reading stops its peer once the window is full.
    pub(crate) async fn message<T: Message>(&mut self) -> Result<Option<T>, Status> {
        loop {
            if let Some(message) = self.decoder.next()? {
                return Ok(Some(message));
            }
            if self.ended {
                self.decoder.finish()?;
                return Ok(None);
            }
            match self.body.data().await {
                Some(Ok(chunk)) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.decoder.push(chunk);
                }
                Some(Err(err)) => return Err(h2_status(&err)),
                None => self.ended = true,
            }
        }
    }

    /// The trailers after the last message.
    pub(crate) async fn trailers(&mut self) -> Result<Option<HeaderMap>, Status> {
        self.body.trailers().await.map_err(|err| h2_status(&err))
    }
}

/// A deadline as a timeout from now, for `grpc-timeout`.
pub(crate) fn remaining(deadline: std::time::Instant) -> Duration {
    deadline.saturating_duration_since(std::time::Instant::now())
}

#[cfg(test)]
mod tests {
    use super::timeout;
    use std::time::Duration;

    #[test]
    fn timeouts_use_the_finest_unit_that_fits_and_round_up() {
        assert_eq!(timeout::encode(Duration::from_nanos(1)), "1n");
        // 99,999,999 ns is the most that fits eight digits; 100 ms does not.
        assert_eq!(
            timeout::encode(Duration::from_nanos(99_999_999)),
            "99999999n"
        );
        assert_eq!(timeout::encode(Duration::from_millis(100)), "100000u");
        assert_eq!(timeout::encode(Duration::from_millis(150)), "150000u");
        assert_eq!(timeout::encode(Duration::from_secs(1000)), "1000000m");
        assert_eq!(
            timeout::encode(Duration::from_nanos(100_000_001)),
            "100001u"
        );
        assert_eq!(timeout::encode(Duration::from_secs(u64::MAX)), "99999999H");
    }

    #[test]
    fn timeouts_decode_and_malformed_ones_are_rejected() {
        assert_eq!(timeout::decode(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(timeout::decode(b"2M"), Some(Duration::from_secs(120)));
        assert_eq!(timeout::decode(b"3S"), Some(Duration::from_secs(3)));
        assert_eq!(timeout::decode(b"4m"), Some(Duration::from_millis(4)));
        assert_eq!(timeout::decode(b"5u"), Some(Duration::from_micros(5)));
        assert_eq!(
            timeout::decode(b"99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"123456789S",
            b"1s",
            b"-1S",
            b"1.5S",
            b" 1S",
        ] {
            assert_eq!(
                timeout::decode(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for timeout in [
            Duration::from_millis(1),
            Duration::from_secs(7),
            Duration::from_nanos(12_345),
        ] {
            let encoded = timeout::encode(timeout);
            assert_eq!(timeout::decode(encoded.as_bytes()), Some(timeout));
        }
    }
}
