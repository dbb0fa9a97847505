//! [`Metadata`]: the headers and trailers of a call, as gRPC defines them.

use std::fmt;

use bytes::Bytes;

/// The value of one metadata entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataValue {
    /// A printable ASCII value, under a key that does not end in `-bin`.
    Ascii(String),
    /// Arbitrary bytes, under a key ending in `-bin` (sent base64-encoded).
    Binary(Bytes),
}

/// Why a key or value cannot be metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMetadata(String);

impl fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidMetadata {}

/// The metadata of a call: request headers, response headers or trailers.
///
/// Keys are case-insensitive (stored lowercase) and may repeat. Keys ending in
/// `-bin` hold binary values; others hold printable ASCII. Keys that gRPC
/// itself uses (`grpc-*`, `content-type`, `te`, `user-agent`, pseudo-headers)
/// cannot be set and are not reported.
///
/// ```
/// let mut metadata = rgrpc::Metadata::new();
/// metadata.insert("Authorization", "Bearer token")?;
/// metadata.insert_bin("trace-bin", vec![0xde, 0xad])?;
/// assert_eq!(metadata.get("authorization"), Some("Bearer token"));
/// assert!(metadata.insert("grpc-timeout", "1S").is_err());
/// # Ok::<(), rgrpc::InvalidMetadata>(())
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, MetadataValue)>,
}

/// Keys gRPC uses itself, and HTTP/2 connection headers.
pub(crate) fn is_reserved(key: &str) -> bool {
    key.starts_with("grpc-")
        || matches!(
            key,
            "content-type"
                | "te"
                | "user-agent"
                | "host"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
        )
}

fn check_key(key: &str, binary: bool) -> Result<String, InvalidMetadata> {
    let key = key.to_ascii_lowercase();
    let valid = !key.is_empty()
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if !valid {
        return Err(InvalidMetadata(format!(
            "invalid metadata key {key:?}: keys are made of 0-9, a-z, '-', '_' and '.'"
        )));
    }
    if is_reserved(&key) {
        return Err(InvalidMetadata(format!(
            "metadata key {key:?} is reserved for gRPC"
        )));
    }
    if key.ends_with("-bin") != binary {
        return Err(InvalidMetadata(if binary {
            format!("binary metadata key {key:?} must end in \"-bin\"")
        } else {
            format!("metadata key {key:?} ends in \"-bin\": use insert_bin or append_bin")
        }));
    }
    Ok(key)
}

fn check_ascii(key: &str, value: String) -> Result<MetadataValue, InvalidMetadata> {
    if value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(MetadataValue::Ascii(value))
    } else {
        Err(InvalidMetadata(format!(
            "metadata value for {key:?} is not printable ASCII; use a \"-bin\" key for binary data"
        )))
    }
}

impl Metadata {
    /// No entries.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Sets `key` to the ASCII `value`, replacing any values it had.
    ///
    /// # Errors
    /// When the key is invalid, reserved or ends in `-bin`, or the value is not printable ASCII.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> Result<(), InvalidMetadata> {
        let key = check_key(key, false)?;
        let value = check_ascii(&key, value.into())?;
        self.replace(key, value);
        Ok(())
    }

    /// Adds the ASCII `value` to `key`, keeping values it had.
    ///
    /// # Errors
    /// As [`Metadata::insert`].
    pub fn append(&mut self, key: &str, value: impl Into<String>) -> Result<(), InvalidMetadata> {
        let key = check_key(key, false)?;
        let value = check_ascii(&key, value.into())?;
        self.entries.push((key, value));
        Ok(())
    }

    /// Sets the binary `key` (ending in `-bin`) to `value`, replacing any values it had.
    ///
    /// # Errors
    /// When the key is invalid, reserved or does not end in `-bin`.
    pub fn insert_bin(
        &mut self,
        key: &str,
        value: impl Into<Bytes>,
    ) -> Result<(), InvalidMetadata> {
        let key = check_key(key, true)?;
        self.replace(key, MetadataValue::Binary(value.into()));
        Ok(())
    }

    /// Adds the binary `value` to `key` (ending in `-bin`), keeping values it had.
    ///
    /// # Errors
    /// As [`Metadata::insert_bin`].
    pub fn append_bin(
        &mut self,
        key: &str,
        value: impl Into<Bytes>,
    ) -> Result<(), InvalidMetadata> {
        let key = check_key(key, true)?;
        self.entries
            .push((key, MetadataValue::Binary(value.into())));
        Ok(())
    }

    fn replace(&mut self, key: String, value: MetadataValue) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
    }

    /// The first ASCII value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key).find_map(|value| match value {
            MetadataValue::Ascii(text) => Some(text.as_str()),
            MetadataValue::Binary(_) => None,
        })
    }

    /// The first binary value of `key` (any case).
    pub fn get_bin(&self, key: &str) -> Option<&Bytes> {
        self.get_all(key).find_map(|value| match value {
            MetadataValue::Binary(bytes) => Some(bytes),
            MetadataValue::Ascii(_) => None,
        })
    }

    /// Every value of `key` (any case), in order.
    pub fn get_all<'a, 'k>(
        &'a self,
        key: &'k str,
    ) -> impl Iterator<Item = &'a MetadataValue> + use<'a, 'k> {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    }

    /// Removes every value of `key` (any case); true when there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.entries.len() != before
    }

    /// All entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetadataValue)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an entry read off the wire: `key` is a header name HTTP/2
    /// already checked (lowercase, a valid token) and not reserved, and an
    /// ASCII value is printable.
    #[cfg(any(feature = "client", feature = "server"))]
    pub(crate) fn push_received(&mut self, key: &str, value: MetadataValue) {
        self.entries.push((key.to_owned(), value));
    }

    /// Adds every entry of `other`, keeping the entries already here.
    pub fn extend(&mut self, other: Metadata) {
        self.entries.extend(other.entries);
    }
}

/// The entries as a map of keys to values, text quoted and bytes as
/// bytes: `{"x-user": "alice", "trace-bin": b"\x01\x02"}`.
impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn value(value: &MetadataValue) -> &dyn fmt::Debug {
            match value {
                MetadataValue::Ascii(text) => text,
                MetadataValue::Binary(bytes) => bytes,
            }
        }
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, value(v))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_validated() {
        let mut metadata = Metadata::new();
        metadata.insert("X-Request-ID", "42").unwrap();
        assert_eq!(metadata.get("x-request-id"), Some("42"));
        assert_eq!(metadata.get("X-REQUEST-ID"), Some("42"));
        assert!(metadata.insert("bad key", "v").is_err());
        assert!(metadata.insert("grpc-status", "0").is_err());
        assert!(metadata.insert("content-type", "text/plain").is_err());
        assert!(
            metadata.insert("data-bin", "v").is_err(),
            "binary keys take insert_bin"
        );
        assert!(
            metadata.insert_bin("data", vec![1]).is_err(),
            "binary keys end in -bin"
        );
        assert!(metadata.insert("k", "line\nbreak").is_err());
    }

    #[test]
    fn insert_replaces_and_append_keeps() {
        let mut metadata = Metadata::new();
        metadata.append("k", "a").unwrap();
        metadata.append("k", "b").unwrap();
        assert_eq!(metadata.get_all("k").count(), 2);
        metadata.insert("k", "c").unwrap();
        assert_eq!(
            metadata.get_all("k").collect::<Vec<_>>(),
            [&MetadataValue::Ascii("c".into())]
        );
        assert!(metadata.remove("K"));
        assert!(metadata.is_empty());
    }

    #[test]
    fn debug_shows_values_as_they_read() {
        let mut metadata = Metadata::new();
        metadata.insert("sent", "3").unwrap();
        metadata.insert_bin("trace-bin", vec![1, 2]).unwrap();
        assert_eq!(
            format!("{metadata:?}"),
            r#"{"sent": "3", "trace-bin": b"\x01\x02"}"#
        );
    }
}
