//! [`UnknownFields`]: the fields a message did not recognise, kept to be re-emitted.

use std::fmt;

/// The fields a decoded message did not recognise, kept as their original
/// encoding (tag and value) in the order they arrived, and written back after
/// the known fields when the message is encoded again.
///
/// Extensions, fields added to a newer version of the schema, and unknown
/// values of closed enums all land here.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct UnknownFields(Vec<u8>);

impl UnknownFields {
    /// True when nothing unknown was kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kept fields, encoded.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Forgets the kept fields, so that they are not written again.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl fmt::Debug for UnknownFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnknownFields({} bytes)", self.0.len())
    }
}
