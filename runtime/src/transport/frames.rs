//! [`FrameWalk`]: the HTTP/2 frames in the bytes a peer sends, followed
//! without buffering them, so that what h2 does not tell (that the peer's
//! SETTINGS have arrived, that it is still sending) can be known.

/// The connection preface a client sends before its first frame.
const PREFACE_LEN: usize = 24;

/// An HTTP/2 frame header: length (3), type, flags, stream (4).
const HEADER_LEN: usize = 9;

/// Where the bytes read so far stand in the peer's frame sequence.
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
        Self {
            preface: PREFACE_LEN,
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

    /// Follows `bytes`, the next the peer sent.
    pub(crate) fn read(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.preface > 0 {
                let n = self.preface.min(bytes.len());
                self.preface -= n;
                bytes = &bytes[n..];
            } else if self.header_read < HEADER_LEN {
                let n = (HEADER_LEN - self.header_read).min(bytes.len());
                self.header[self.header_read..self.header_read + n].copy_from_slice(&bytes[..n]);
                self.header_read += n;
                bytes = &bytes[n..];
                if self.header_read == HEADER_LEN {
                    let [a, b, c, ..] = self.header;
                    self.payload = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                    self.end_of_payload();
                }
            } else {
                let n = self.payload.min(bytes.len());
                self.payload -= n;
                bytes = &bytes[n..];
                self.end_of_payload();
            }
        }
    }

    /// Counts the frame when its payload is all in, and starts the next.
    fn end_of_payload(&mut self) {
        if self.payload == 0 {
            self.frames += 1;
            self.header_read = 0;
        }
    }
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
                walk.read(piece);
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
        walk.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        walk.read(&frame(0x4, &[0; 6])[..12]);
        assert_eq!(walk.frames(), 0);
    }
}
