//! Message compression, as gRPC peers agree on it by `grpc-encoding`: each
//! message is compressed on its own, and a flag in its frame says whether
//! it was. Decompression stops at the receive limit, so a small message
//! that would inflate past it costs no more than the limit in memory.

#[cfg(any(feature = "gzip", feature = "deflate"))]
use std::io::{Read, Write};

use crate::Status;

/// A compression of messages (`grpc-encoding`). Which ones rgrpc has
/// depends on its features: `gzip`, and `deflate` (the zlib format, as
/// gRPC names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// gzip (RFC 1952).
    #[cfg(feature = "gzip")]
    Gzip,
    /// zlib (RFC 1950), which gRPC calls `deflate`.
    #[cfg(feature = "deflate")]
    Deflate,
}

/// Every compression this build has, in the order it prefers them.
const ALL: &[Compression] = &[
    #[cfg(feature = "gzip")]
    Compression::Gzip,
    #[cfg(feature = "deflate")]
    Compression::Deflate,
];

/// What a `grpc-accept-encoding` lists for this build: every compression it
/// has, and `identity`, which needs none.
pub(crate) const ACCEPTED: &str = if cfg!(all(feature = "gzip", feature = "deflate")) {
    "identity,gzip,deflate"
} else if cfg!(feature = "gzip") {
    "identity,gzip"
} else if cfg!(feature = "deflate") {
    "identity,deflate"
} else {
    "identity"
};

impl Compression {
    /// Its name in `grpc-encoding`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Compression::Gzip => "gzip",
            #[cfg(feature = "deflate")]
            Compression::Deflate => "deflate",
        }
    }

    /// The compression `name` stands for, if this build has it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        ALL.iter()
            .copied()
            .find(|compression| compression.name() == name)
    }

    /// `compression` as a number, 0 for none, for an atomic cell.
    pub(crate) fn to_u8(compression: Option<Self>) -> u8 {
        compression.map_or(0, |compression| compression as u8 + 1)
    }

    /// The compression [`Compression::to_u8`] made `number` of.
    #[cfg(feature = "server")]
    pub(crate) fn from_u8(number: u8) -> Option<Self> {
        ALL.get(usize::from(number).checked_sub(1)?).copied()
    }

    /// Its bit in an [`Accepted`] set.
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Appends `input`, compressed, to `out`.
    pub(crate) fn compress(self, input: &[u8], out: &mut Vec<u8>) {
        #[cfg(not(any(feature = "gzip", feature = "deflate")))]
        let _ = (input, &out);
        // Writing into a Vec does not fail.
        let _ = match self {
            #[cfg(feature = "gzip")]
            Compression::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(out, flate2::Compression::default());
                encoder.write_all(input).and_then(|()| encoder.try_finish())
            }
            #[cfg(feature = "deflate")]
            Compression::Deflate => {
                let mut encoder =
                    flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
                encoder.write_all(input).and_then(|()| encoder.try_finish())
            }
        };
    }

    /// `input`, decompressed, if that is at most `limit` bytes.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED as soon as the output passes `limit`, having
    /// held no more than that; INTERNAL when `input` is not valid.
    pub(crate) fn decompress(self, input: &[u8], limit: usize) -> Result<Vec<u8>, Status> {
        #[cfg(not(any(feature = "gzip", feature = "deflate")))]
        let _ = (input, limit);
        match self {
            #[cfg(feature = "gzip")]
            // Every member, as other gRPC implementations read gzip.
            Compression::Gzip => read_within(flate2::read::MultiGzDecoder::new(input), self, limit),
            #[cfg(feature = "deflate")]
            Compression::Deflate => read_within(flate2::read::ZlibDecoder::new(input), self, limit),
        }
    }
}

/// Everything `reader` yields, growing the output no further than `limit`
/// (plus one byte, to tell a message of exactly the limit from a larger one).
#[cfg(any(feature = "gzip", feature = "deflate"))]
fn read_within(
    mut reader: impl Read,
    compression: Compression,
    limit: usize,
) -> Result<Vec<u8>, Status> {
    let most = limit.saturating_add(1);
    let mut out = Vec::new();
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if out.len() >= most {
                return Err(Status::resource_exhausted(format!(
                    "received message larger than max (more than {limit} bytes once decompressed)"
                )));
            }
            let grow = out.len().max(4096).min(most - out.len());
            out.reserve_exact(grow);
            out.resize(out.len() + grow, 0);
        }
        match reader.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(Status::internal(format!(
                    "could not decompress the message ({}): {err}",
                    compression.name()
                )));
            }
        }
    }
    out.truncate(filled);
    Ok(out)
}

/// The compressions a peer accepts, from its `grpc-accept-encoding`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Accepted(u8);

impl Accepted {
    /// The compressions of a `grpc-accept-encoding` value that this build
    /// has; the others are left out.
    #[cfg(feature = "server")]
    pub(crate) fn parse(value: &str) -> Self {
        let bits = value
            .split(',')
            .filter_map(|name| Compression::from_name(name.trim()))
            .fold(0, |bits, compression| bits | compression.bit());
        Self(bits)
    }

    /// Whether `compression` is among them.
    pub(crate) fn has(self, compression: Compression) -> bool {
        self.0 & compression.bit() != 0
    }
}
