//! [`FrameWalk`]: the HTTP/2 frames in the bytes a connection carries,
//! followed without buffering them, and [`Guard`], a server's watch over
//! what its client sends that h2 does not tell of: whether its SETTINGS
//! have arrived, and how often it sends PING and SETTINGS frames, which
//! each cost the server an answer.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};

/// The connection preface a client sends before its first frame.
const PREFACE_LEN: usize = 24;

/// An HTTP/2 frame header: length (3), type, flags, stream (4).
const HEADER_LEN: usize = 9;

/// Where the bytes seen so far stand in a sequence of frames.
#[derive(Debug)]
pub(crate) struct FrameWalk {
    /// Bytes of the preface still to come.
    preface: usize,
    /// The header of the frame being read, as far as it has arrived.
    header: [u8; HEADER_LEN],
    header_read: usize,
    /// Bytes of the current frame's payload still to come.
    payload: usize,
    /// Whole frames read.
    frames: u64,
}

impl FrameWalk {
    /// A walk over what a client sends: the preface, then frames.
    pub(crate) fn from_client() -> Self {
        Self::after(PREFACE_LEN)
    }

    /// A walk over what a server sends: frames from the start.
    pub(crate) fn from_server() -> Self {
        Self::after(0)
    }

    fn after(preface: usize) -> Self {
        Self {
            preface,
            header: [0; HEADER_LEN],
            header_read: 0,
            payload: 0,
            frames: 0,
        }
    }

    /// Whole frames read so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether the bytes so far end at the end of a frame (or the preface).
    pub(crate) fn at_boundary(&self) -> bool {
        self.header_read == 0 && self.payload == 0
    }

    /// Follows `bytes`, the next the connection carried, calling `frame`
    /// with the type and flags of each frame whose header is complete.
    pub(crate) fn read(&mut self, mut bytes: &[u8], mut frame: impl FnMut(u8, u8)) {
        while !bytes.is_empty() {
            if self.preface > 0 {
                let n = self.preface.min(bytes.len());
                self.preface -= n;
                bytes = &bytes[n..];
            } else if self.payload > 0 {
                let n = self.payload.min(bytes.len());
                self.payload -= n;
                bytes = &bytes[n..];
                self.end_of_payload();
            } else if let (0, Some(header)) = (self.header_read, bytes.first_chunk::<HEADER_LEN>())
            {
                // A whole header in view, the usual case: read where it lies.
                self.header_read = HEADER_LEN;
                self.start_payload(header, &mut frame);
                bytes = &bytes[HEADER_LEN..];
            } else {
                let n = (HEADER_LEN - self.header_read).min(bytes.len());
                self.header[self.header_read..self.header_read + n].copy_from_slice(&bytes[..n]);
                self.header_read += n;
                bytes = &bytes[n..];
                if self.header_read == HEADER_LEN {
                    let header = self.header;
                    self.start_payload(&header, &mut frame);
                }
            }
        }
    }

    /// Takes in a complete frame header.
    #[inline]
    fn start_payload(&mut self, header: &[u8; HEADER_LEN], frame: &mut impl FnMut(u8, u8)) {
        let [a, b, c, kind, flags, ..] = *header;
        self.payload = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        frame(kind, flags);
        self.end_of_payload();
    }

    /// Counts the frame when its payload is all in, and starts the next.
    fn end_of_payload(&mut self) {
        if self.payload == 0 {
            self.frames += 1;
            self.header_read = 0;
        }
    }
}

/// Frame types and flags the guard looks at (RFC 9113, section 6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// PINGs past the policy tolerated in a row, as grpc-go tolerates.
const MAX_PING_STRIKES: u32 = 2;

/// SETTINGS frames tolerated in a row while the server sends nothing of
/// substance: a client sends one at the start, and a few more as it
/// tunes its windows while data flows.
const MAX_SETTINGS_STRIKES: u32 = 10;

/// With no call in flight and pings not permitted then, a ping within
/// this long of the last is a strike, as in grpc-go.
const IDLE_PING_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);

/// How often a client may ping (grpc-go's `EnforcementPolicy`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PingPolicy {
    /// The least time between two pings.
    pub(crate) min_time: Duration,
    /// Whether a client may ping with no call in flight.
    pub(crate) permit_without_calls: bool,
}

/// What a server's watch over its client found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to act on.
    Fine,
    /// The client's first frame, its SETTINGS, is in.
    Opened,
    /// The client pinged or sent SETTINGS too often: it is sent GOAWAY
    /// `ENHANCE_YOUR_CALM`, and the connection is closed.
    TooMany,
}

/// A server's watch over the frames its client sends and it sends back.
#[derive(Debug)]
pub(crate) struct Guard {
    policy: PingPolicy,
    read: FrameWalk,
    written: FrameWalk,
    opened: bool,
    last_ping: Option<Instant>,
    ping_strikes: u32,
    settings_strikes: u32,
    /// A GOAWAY of the guard's own, with its reason in the debug data, to
    /// write at the next frame boundary.
    farewell: Option<Bytes>,
}

impl Guard {
    /// A watch under `policy` over a new connection.
    pub(crate) fn new(policy: PingPolicy) -> Self {
        Self {
            policy,
            read: FrameWalk::from_client(),
            written: FrameWalk::from_server(),
            opened: false,
            last_ping: None,
            ping_strikes: 0,
            settings_strikes: 0,
            farewell: None,
        }
    }

    /// Follows `bytes` the client sent; `busy` tells whether calls are in
    /// flight.
    pub(crate) fn read(&mut self, bytes: &[u8], busy: impl Fn() -> bool) -> Verdict {
        let mut pings = 0;
        let mut settings = 0;
        self.read.read(bytes, |kind, flags| match kind {
            PING if flags & ACK == 0 => pings += 1,
            SETTINGS if flags & ACK == 0 => settings += 1,
            _ => {}
        });
        for _ in 0..pings {
            self.ping(busy());
        }
        // The first SETTINGS is the client's preface.
        self.settings_strikes += settings;
        if !self.opened && self.read.frames() > 0 {
            self.opened = true;
            self.settings_strikes = self.settings_strikes.saturating_sub(1);
            if !self.too_many() {
                return Verdict::Opened;
            }
        }
        if self.farewell.is_none() && self.too_many() {
            let reason = if self.ping_strikes > MAX_PING_STRIKES {
                "too_many_pings"
            } else {
                "too_many_settings"
            };
            self.farewell = Some(goaway(reason));
            return Verdict::TooMany;
        }
        Verdict::Fine
    }

    fn too_many(&self) -> bool {
        self.ping_strikes > MAX_PING_STRIKES || self.settings_strikes > MAX_SETTINGS_STRIKES
    }

    /// Counts a ping against the policy, as grpc-go does.
    fn ping(&mut self, busy: bool) {
        let now = Instant::now();
        let since = self.last_ping.map(|last| now.duration_since(last));
        self.last_ping = Some(now);
        let interval = if !busy && !self.policy.permit_without_calls {
            IDLE_PING_INTERVAL
        } else {
            self.policy.min_time
        };
        if since.is_some_and(|since| since < interval) {
            self.ping_strikes += 1;
        }
    }

    /// Follows `bytes` the server wrote: headers or data to the client
    /// wipe the strikes, as pings and settings that come with traffic are
    /// no flood.
    pub(crate) fn written(&mut self, bytes: &[u8]) {
        let mut traffic = false;
        self.written
            .read(bytes, |kind, _| traffic |= matches!(kind, DATA | HEADERS));
        if traffic {
            self.ping_strikes = 0;
            self.settings_strikes = 0;
        }
    }

    /// The guard's GOAWAY, when it is due and the server's writes are at a
    /// frame boundary.
    pub(crate) fn farewell(&mut self) -> Option<&mut Bytes> {
        if self.written.at_boundary() {
            self.farewell
                .as_mut()
                .filter(|farewell| farewell.has_remaining())
        } else {
            None
        }
    }
}

/// A GOAWAY frame, `ENHANCE_YOUR_CALM` with `reason` as its debug data.
/// Its last stream id is the largest: h2's own GOAWAY follows with the
/// real one, which may only be smaller.
fn goaway(reason: &str) -> Bytes {
    let len = 8 + reason.len();
    let mut frame = Vec::with_capacity(9 + len);
    frame.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(&[GOAWAY, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(&0x7fff_ffff_u32.to_be_bytes());
    frame.extend_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
    frame.extend_from_slice(reason.as_bytes());
    frame.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len().to_be_bytes();
        let mut frame = vec![len[5], len[6], len[7], kind, 0, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn frames_are_counted_however_the_bytes_are_split() {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(0x4, &[0; 12]));
        bytes.extend(frame(0x6, &[7; 8]));
        bytes.extend(frame(0x4, &[]));
        for split in [1, 2, 5, 9, 24, 30, 100] {
            let mut walk = FrameWalk::from_client();
            let mut counts = Vec::new();
            for piece in bytes.chunks(split) {
                walk.read(piece, |_, _| {});
                counts.push(walk.frames());
            }
            assert_eq!(walk.frames(), 3, "split {split}");
            // Nothing counts before the first frame's payload is in.
            let first_whole = (24 + 9 + 12usize).div_ceil(split);
            assert!(
                counts[..first_whole - 1].iter().all(|&n| n == 0),
                "split {split}"
            );
        }
    }

    #[test]
    fn a_preface_alone_is_no_frame() {
        let mut walk = FrameWalk::from_client();
        walk.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", |_, _| {});
        walk.read(&frame(0x4, &[0; 6])[..12], |_, _| {});
        assert_eq!(walk.frames(), 0);
    }

    fn guard() -> Guard {
        let policy = PingPolicy {
            min_time: Duration::from_secs(300),
            permit_without_calls: false,
        };
        Guard::new(policy)
    }

    fn opened(guard: &mut Guard) {
        let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        opening.extend(frame(SETTINGS, &[]));
        assert_eq!(guard.read(&opening, || true), Verdict::Opened);
    }

    #[test]
    fn a_third_ping_too_soon_is_one_too_many_unless_data_went_out_between() {
        let mut guard = guard();
        opened(&mut guard);
        let ping = frame(PING, &[0; 8]);
        // The first ping, then two strikes.
        for _ in 0..3 {
            assert_eq!(guard.read(&ping, || true), Verdict::Fine);
        }
        // Response data wipes the strikes.
        guard.written(&frame(DATA, &[1, 2, 3]));
        for _ in 0..2 {
            assert_eq!(guard.read(&ping, || true), Verdict::Fine);
        }
        assert_eq!(guard.read(&ping, || true), Verdict::TooMany);
        let farewell = guard.farewell().expect("a GOAWAY is due").clone();
        assert_eq!(&farewell[3..4], &[GOAWAY]);
        assert!(farewell.ends_with(b"too_many_pings"));
    }

    #[test]
    fn the_goaway_waits_for_a_frame_boundary_in_what_the_server_writes() {
        let mut guard = guard();
        opened(&mut guard);
        let data = frame(DATA, &[0; 100]);
        guard.written(&data[..50]);
        let settings: Vec<u8> = (0..12).flat_map(|_| frame(SETTINGS, &[])).collect();
        assert_eq!(guard.read(&settings, || true), Verdict::TooMany);
        assert!(guard.farewell().is_none(), "not in the middle of a frame");
        guard.written(&data[50..]);
        assert!(
            guard
                .farewell()
                .expect("due")
                .ends_with(b"too_many_settings")
        );
    }
}
