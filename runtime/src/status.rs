//! [`Status`] and [`Code`]: how a gRPC call ends.

use std::fmt;

use bytes::Bytes;

use crate::wkt::Any;
use crate::{DecodeError, Message, Metadata, rpc};

/// A gRPC status code (grpc's doc/statuscodes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// An error with no better code, or from another error space.
    Unknown = 2,
    /// The client specified an invalid argument.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity that a client attempted to create already exists.
    AlreadyExists = 6,
    /// The caller does not have permission to execute the operation.
    PermissionDenied = 7,
    /// Some resource has been exhausted (a quota, a message size limit).
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation's execution.
    FailedPrecondition = 9,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The operation was attempted past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported.
    Unimplemented = 12,
    /// An invariant expected by the system is broken.
    Internal = 13,
    /// The service is currently unavailable; retrying may help.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request does not have valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    pub(crate) const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code for a `grpc-status` number; numbers outside 0..=16 are `Unknown`,
    /// as the status codes document says clients must treat them.
    pub fn from_i32(value: i32) -> Code {
        usize::try_from(value)
            .ok()
            .and_then(|i| Code::ALL.get(i).copied())
            .unwrap_or(Code::Unknown)
    }

    /// The code's number, as sent in `grpc-status`.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code's name in the reference implementations, such as `DEADLINE_EXCEEDED`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code for a response whose HTTP status is not 200, following the
    /// table in grpc's doc/http-grpc-status-mapping.md.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

/// The same code, as the `google.rpc.Code` enum.
impl From<Code> for rpc::Code {
    fn from(code: Code) -> Self {
        rpc::Code(code.as_i32())
    }
}

/// The code `google.rpc.Code` holds; a number no code has is UNKNOWN.
impl From<rpc::Code> for Code {
    fn from(code: rpc::Code) -> Self {
        Code::from_i32(code.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a call ended: a [`Code`], a message for people, optional details
/// (`grpc-status-details-bin`, an encoded `google.rpc.Status`), and the
/// trailing metadata that came with it.
#[derive(Clone, PartialEq)]
pub struct Status(Box<Inner>);

#[derive(Clone, PartialEq)]
struct Inner {
    code: Code,
    message: String,
    details: Bytes,
    metadata: Metadata,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status(Box::new(Inner {
            code,
            message: message.into(),
            details: Bytes::new(),
            metadata: Metadata::new(),
        }))
    }

    constructors! {
        /// `CANCELLED` with `message`.
        cancelled => Cancelled,
        /// `UNKNOWN` with `message`.
        unknown => Unknown,
        /// `INVALID_ARGUMENT` with `message`.
        invalid_argument => InvalidArgument,
        /// `DEADLINE_EXCEEDED` with `message`.
        deadline_exceeded => DeadlineExceeded,
        /// `NOT_FOUND` with `message`.
        not_found => NotFound,
        /// `ALREADY_EXISTS` with `message`.
        already_exists => AlreadyExists,
        /// `PERMISSION_DENIED` with `message`.
        permission_denied => PermissionDenied,
        /// `RESOURCE_EXHAUSTED` with `message`.
        resource_exhausted => ResourceExhausted,
        /// `FAILED_PRECONDITION` with `message`.
        failed_precondition => FailedPrecondition,
        /// `ABORTED` with `message`.
        aborted => Aborted,
        /// `OUT_OF_RANGE` with `message`.
        out_of_range => OutOfRange,
        /// `UNIMPLEMENTED` with `message`.
        unimplemented => Unimplemented,
        /// `INTERNAL` with `message`.
        internal => Internal,
        /// `UNAVAILABLE` with `message`.
        unavailable => Unavailable,
        /// `DATA_LOSS` with `message`.
        data_loss => DataLoss,
        /// `UNAUTHENTICATED` with `message`.
        unauthenticated => Unauthenticated,
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// This status with structured details: sent in `grpc-status-details-bin`
    /// as a `google.rpc.Status` holding this status's code and message and
    /// `details`. Pack each detail with [`Any::pack`].
    pub fn with_details(self, details: impl IntoIterator<Item = Any>) -> Status {
        let rich = rpc::Status {
            code: self.0.code.as_i32(),
            message: self.0.message.clone(),
            details: details.into_iter().collect(),
            ..rpc::Status::default()
        };
        self.with_details_bin(rich.encode_to_vec())
    }

    /// The structured details: those of the `google.rpc.Status` in
    /// `grpc-status-details-bin`, none when there is none. Get each one out
    /// with [`Any::unpack`].
    ///
    /// # Errors
    /// A [`DecodeError`] when `grpc-status-details-bin` is not an encoded
    /// `google.rpc.Status`.
    pub fn details(&self) -> Result<Vec<Any>, DecodeError> {
        Ok(rpc::Status::decode_bytes(&self.0.details)?.details)
    }

    /// The encoded `google.rpc.Status` sent as `grpc-status-details-bin`, or empty.
    pub fn details_bin(&self) -> &Bytes {
        &self.0.details
    }

    /// This status with `details` (an encoded `google.rpc.Status`) as its
    /// `grpc-status-details-bin`.
    pub fn with_details_bin(mut self, details: impl Into<Bytes>) -> Status {
        self.0.details = details.into();
        self
    }

    /// The trailing metadata sent with the status.
    pub fn metadata(&self) -> &Metadata {
        &self.0.metadata
    }

    /// The trailing metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.0.metadata
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Status");
        debug
            .field("code", &self.0.code)
            .field("message", &self.0.message);
        if !self.0.details.is_empty() {
            debug.field("details", &self.0.details);
        }
        if !self.0.metadata.is_empty() {
            debug.field("metadata", &self.0.metadata);
        }
        debug.finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.message.is_empty() {
            write!(f, "{}", self.0.code)
        } else {
            write!(f, "{}: {}", self.0.code, self.0.message)
        }
    }
}

impl std::error::Error for Status {}

/// A handler that builds metadata it cannot send has a bug: INTERNAL, so
/// that `?` works on [`Metadata::insert`](crate::Metadata::insert).
impl From<crate::InvalidMetadata> for Status {
    fn from(err: crate::InvalidMetadata) -> Self {
        Status::internal(err.to_string())
    }
}

/// A message that does not decode (an `Any`'s payload, say) is INTERNAL,
/// as grpc-go answers a request it cannot unmarshal; a handler that blames
/// its client instead says INVALID_ARGUMENT itself.
impl From<crate::DecodeError> for Status {
    fn from(err: crate::DecodeError) -> Self {
        Status::internal(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_convert_to_and_from_google_rpc_code() {
        for code in Code::ALL {
            let proto = rpc::Code::from(code);
            assert_eq!(proto.0, code.as_i32());
            assert_eq!(Code::from(proto), code);
        }
        assert_eq!(rpc::Code::from(Code::NotFound), rpc::Code::NOT_FOUND);
        assert_eq!(Code::from(rpc::Code(99)), Code::Unknown);
    }

    #[test]
    fn codes_round_trip_and_unknown_numbers_are_unknown() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(Code::from_i32(i as i32), *code);
            assert_eq!(code.as_i32(), i as i32);
        }
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::DeadlineExceeded.to_string(), "DEADLINE_EXCEEDED");
    }

    #[test]
    fn details_travel_in_a_google_rpc_status_with_the_code_and_message() {
        use crate::wkt::{Any, Duration, StringValue};
        let retry = Duration {
            seconds: 2,
            ..Default::default()
        };
        let reason = StringValue {
            value: "quota".into(),
            ..Default::default()
        };
        let status = Status::resource_exhausted("slow down")
            .with_details([Any::pack(&retry), Any::pack(&reason)]);
        let rich = crate::rpc::Status::decode_bytes(status.details_bin()).unwrap();
        assert_eq!(rich.code, Code::ResourceExhausted.as_i32());
        assert_eq!(rich.message, "slow down");
        let details = status.details().unwrap();
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].unpack::<Duration>(), Ok(Some(retry)));
        assert_eq!(details[1].unpack::<StringValue>(), Ok(Some(reason)));
    }

    #[test]
    fn a_status_without_details_has_none_and_bad_details_are_an_error() {
        assert!(Status::internal("x").details().unwrap().is_empty());
        let bad = Status::internal("x").with_details_bin(vec![0x1a, 0x05, 0x01]);
        assert!(bad.details().is_err());
    }

    #[test]
    fn http_statuses_map_as_the_spec_says() {
        assert_eq!(Code::from_http_status(400), Code::Internal);
        assert_eq!(Code::from_http_status(401), Code::Unauthenticated);
        assert_eq!(Code::from_http_status(403), Code::PermissionDenied);
        assert_eq!(Code::from_http_status(404), Code::Unimplemented);
        for status in [429, 502, 503, 504] {
            assert_eq!(Code::from_http_status(status), Code::Unavailable);
        }
        assert_eq!(Code::from_http_status(500), Code::Unknown);
    }

    #[test]
    fn status_is_small_and_displays_code_and_message() {
        assert_eq!(std::mem::size_of::<Status>(), std::mem::size_of::<usize>());
        let status = Status::not_found("no user 7");
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.to_string(), "NOT_FOUND: no user 7");
        assert_eq!(Status::new(Code::Aborted, "").to_string(), "ABORTED");
    }

    #[test]
    fn metadata_and_decode_errors_convert_for_question_marks() {
        fn set(metadata: &mut crate::Metadata) -> Result<(), Status> {
            metadata.insert("bad key!", "x")?;
            Ok(())
        }
        let err = set(&mut crate::Metadata::new()).unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(err.message().contains("bad key!"), "{err:?}");

        fn decode(bytes: &[u8]) -> Result<crate::wkt::StringValue, Status> {
            Ok(crate::Message::decode(bytes)?)
        }
        let err = decode(&[0x0a, 0x05]).unwrap_err();
        assert_eq!(err.code(), Code::Internal);
    }
}
