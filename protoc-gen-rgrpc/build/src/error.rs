//! [`Error`]: every way generation can fail. Its `Display` is what protoc prints.

use std::fmt;

/// Why code could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A plugin option (`--rgrpc_opt`) is unknown or malformed.
    Option(String),
    /// The .proto input uses something this generator does not support, or is inconsistent.
    Input(String),
    /// Two generated files would have the same output path.
    OutputClash {
        /// The output path.
        path: String,
        /// The .proto files that both map to it.
        first: String,
        /// The second .proto file.
        second: String,
    },
    /// The embedded .proto parser rejected the input. The text says where
    /// as protoc does, `file:line:column: message`, followed by the line and
    /// a mark under the fault, when the parser knows.
    Parse(String),
    /// The generator produced Rust it cannot parse back: a bug in protoc-gen-rgrpc.
    Internal(String),
    /// Reading or writing files failed (build-script use only).
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Option(message)
            | Self::Input(message)
            | Self::Parse(message)
            | Self::Io(message) => f.write_str(message),
            Self::OutputClash {
                path,
                first,
                second,
            } => write!(
                f,
                "{first} and {second} would both be generated as {path}; \
                 use paths=source_relative or give the files different names"
            ),
            Self::Internal(message) => write!(
                f,
                "internal error in protoc-gen-rgrpc (please report it): {message}"
            ),
        }
    }
}

impl std::error::Error for Error {}
