//! [`DecodeError`]: why a protobuf message could not be decoded, and where.

use std::fmt;

/// What went wrong while decoding. Read it through [`DecodeError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a varint.
    TruncatedVarint,
    /// A varint ran past ten bytes or past 64 bits.
    VarintOverflow,
    /// A length, a fixed-width value or a group ran past the end of its input.
    UnexpectedEof,
    /// A tag carried field number 0 or a number above 2^29 - 1.
    InvalidFieldNumber,
    /// A tag carried wire type 6 or 7.
    InvalidWireType,
    /// An end-group tag arrived outside its group, or for another field number.
    UnmatchedEndGroup,
    /// A length-delimited value did not end where its length said.
    LengthMismatch,
    /// A `string` field held bytes that are not valid UTF-8.
    InvalidUtf8,
    /// Messages and groups were nested deeper than [`RECURSION_LIMIT`](super::RECURSION_LIMIT).
    RecursionLimit,
    /// A proto2 `required` field was absent.
    MissingRequired,
    /// The decoded message would take more memory than its input justifies
    /// (see [`MEMORY_PER_INPUT_BYTE`](super::MEMORY_PER_INPUT_BYTE)).
    MemoryLimit,
    /// A field's message type is not among the descriptors a message is
    /// decoded by (when decoding by descriptor, for the JSON mapping).
    UnknownType,
}

impl DecodeErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::TruncatedVarint => "truncated varint",
            Self::VarintOverflow => "varint longer than 64 bits",
            Self::UnexpectedEof => "value runs past the end of the input",
            Self::InvalidFieldNumber => "invalid field number",
            Self::InvalidWireType => "invalid wire type",
            Self::UnmatchedEndGroup => "unmatched end-group tag",
            Self::LengthMismatch => "length-delimited value does not end at its length",
            Self::InvalidUtf8 => "invalid UTF-8 in a string field",
            Self::RecursionLimit => "messages nested deeper than the recursion limit",
            Self::MissingRequired => "required field is missing",
            Self::MemoryLimit => "the decoded message would take too much memory for its size",
            Self::UnknownType => "the message type of a field is not known",
        }
    }
}

/// A message could not be decoded.
///
/// Its [`Display`](fmt::Display) names the field path from the outermost
/// message inwards, then the problem: `pkg.Outer.child.name: invalid UTF-8 in a string field`.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Inner>);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: DecodeErrorKind,
    /// `(message full name, field name)`, innermost first.
    path: Vec<(&'static str, &'static str)>,
}

impl DecodeError {
    /// An error of the given kind with an empty path.
    #[cold]
    pub fn new(kind: DecodeErrorKind) -> Self {
        Self(Box::new(Inner {
            kind,
            path: Vec::new(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.0.kind
    }

    /// The field path, outermost first, as `(message full name, field name)` pairs.
    pub fn path(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.0.path.iter().rev().copied()
    }

    /// Records that the error happened inside `field` of `message`.
    #[cold]
    pub(crate) fn within(mut self, message: &'static str, field: &'static str) -> Self {
        self.0.path.push((message, field));
        self
    }
}

impl From<DecodeErrorKind> for DecodeError {
    #[cold]
    fn from(kind: DecodeErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path = self.path();
        if let Some((message, field)) = path.next() {
            write!(f, "{message}.{field}")?;
            for (_, field) in path {
                write!(f, ".{field}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(self.0.kind.describe())
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecodeError({self})")
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_path_outermost_first() {
        let err = DecodeError::new(DecodeErrorKind::InvalidUtf8)
            .within("pkg.Inner", "name")
            .within("pkg.Outer", "child");
        assert_eq!(
            err.to_string(),
            "pkg.Outer.child.name: invalid UTF-8 in a string field"
        );
        assert_eq!(
            err.path().collect::<Vec<_>>(),
            [("pkg.Outer", "child"), ("pkg.Inner", "name")]
        );
    }

    #[test]
    fn display_without_path_is_the_problem_alone() {
        assert_eq!(
            DecodeError::new(DecodeErrorKind::TruncatedVarint).to_string(),
            "truncated varint"
        );
    }
}
