//! The [`Message`] trait that every generated message implements.

use std::any::Any;
use std::fmt;

use bytes::Bytes;

use crate::wire::{DecodeError, Decoder, Sizes, Writer};

/// A protobuf message: a generated struct that encodes to and decodes from the
/// binary wire format.
///
/// ```
/// use rgrpc::Message;
/// use rgrpc::wkt::Duration;
///
/// let timeout = Duration { seconds: 5, nanos: 250_000_000, ..Default::default() };
/// let bytes = timeout.encode_to_vec();
/// assert_eq!(Duration::decode(&bytes)?, timeout);
/// # Ok::<(), rgrpc::wire::DecodeError>(())
/// ```
pub trait Message: Default + Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The message's full protobuf name, such as `google.protobuf.Duration`.
    const NAME: &'static str;

    /// Field numbers and names, for naming the field in decode errors.
    #[doc(hidden)]
    const FIELD_NAMES: &'static [(u32, &'static str)];

    /// Whether the write pass takes lengths from the size pass (for nested
    /// messages, packed fields and maps). A message without such fields is
    /// encoded into a buffer without a size pass.
    #[doc(hidden)]
    const NESTED_LENGTHS: bool = true;

    /// Size pass: the encoded length, recording nested lengths in `sizes` in write order.
    #[doc(hidden)]
    fn compute_size(&self, sizes: &mut Sizes) -> usize;

    /// Write pass: the fields and then the unknown fields, taking nested lengths from `w`.
    #[doc(hidden)]
    fn write_fields(&self, w: &mut Writer<'_>);

    /// Merges fields until the end of the input or, for a group, until the
    /// end-group tag of field `group`. Fields it does not declare (or that
    /// arrive with another wire type) go to the unknown fields.
    #[doc(hidden)]
    fn merge_fields(&mut self, d: &mut Decoder<'_>, group: Option<u32>) -> Result<(), DecodeError>;

    /// Checks proto2 `required` fields, here and in nested messages.
    #[doc(hidden)]
    fn check_required(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// The length of the message's encoding, in bytes.
    fn encoded_len(&self) -> usize {
        self.compute_size(&mut Sizes::new())
    }

    /// Appends the message's encoding to `buf`, which grows as needed.
    fn encode(&self, buf: &mut Vec<u8>) {
        if Self::NESTED_LENGTHS {
            encode_reserved(self, buf);
        } else {
            // No lengths to measure first: written straight into `buf`.
            self.write_fields(&mut Writer::new(buf, &Sizes::new()));
        }
    }

    /// The message's encoding, in a buffer allocated once at its exact size.
    fn encode_to_vec(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_reserved(self, &mut buf);
        buf
    }

    /// Decodes a message; `bytes` fields are copied out of `buf`.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field path when `buf` is not a valid
    /// encoding of this message.
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut message = Self::default();
        message.merge(buf)?;
        Ok(message)
    }

    /// Decodes a message whose `bytes` fields share `buf` instead of copying it.
    ///
    /// # Errors
    /// As [`Message::decode`].
    fn decode_bytes(buf: &Bytes) -> Result<Self, DecodeError> {
        decode_prefix(buf, buf.len())
    }

    /// Merges an encoding into this message: singular fields present in `buf`
    /// replace, repeated fields append, and messages merge recursively.
    ///
    /// # Errors
    /// As [`Message::decode`]; the message may then hold part of `buf`.
    fn merge(&mut self, buf: &[u8]) -> Result<(), DecodeError> {
        merge_all(self, &mut Decoder::new(buf))
    }
}

/// A message whose size pass has run: its encoded length, and the nested
/// lengths its write pass takes back.
pub(crate) struct Measured<'a, M> {
    message: &'a M,
    sizes: Sizes,
    len: usize,
}

impl<'a, M: Message> Measured<'a, M> {
    /// Runs the size pass over `message`.
    #[inline]
    pub(crate) fn new(message: &'a M) -> Self {
        let mut sizes = Sizes::new();
        let len = message.compute_size(&mut sizes);
        Self {
            message,
            sizes,
            len,
        }
    }

    /// The length of the message's encoding.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends the encoding to `buf`, which the caller has given room for.
    #[inline]
    pub(crate) fn write(&self, buf: &mut Vec<u8>) {
        self.message
            .write_fields(&mut Writer::new(buf, &self.sizes));
    }
}

/// Appends the encoding of `message` to `buf`, reserving its exact length first.
#[inline]
fn encode_reserved<M: Message>(message: &M, buf: &mut Vec<u8>) {
    let measured = Measured::new(message);
    buf.reserve(measured.len());
    measured.write(buf);
}

/// Decodes the message in the first `len` bytes of `buf`; `bytes` fields share `buf`.
///
/// # Panics
/// When `len` is past the end of `buf`.
#[inline]
pub(crate) fn decode_prefix<M: Message>(buf: &Bytes, len: usize) -> Result<M, DecodeError> {
    let mut message = M::default();
    merge_all(&mut message, &mut Decoder::shared_prefix(buf, len))?;
    Ok(message)
}

fn merge_all<M: Message>(message: &mut M, d: &mut Decoder<'_>) -> Result<(), DecodeError> {
    message.merge_fields(d, None)?;
    message.check_required()
}

/// The name of field `number` of `M`, for error paths.
pub(crate) fn field_name<M: Message>(number: u32) -> Option<&'static str> {
    M::FIELD_NAMES
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| *name)
}

/// A message of any type, as interceptors see it: printable with `Debug`,
/// encodable, and downcast to its type with
/// `downcast_ref` and its siblings (on `dyn DynMessage`). Every
/// [`Message`] is one, so `&message` and `Box::new(message)` convert.
///
/// ```
/// use rgrpc::DynMessage;
/// use rgrpc::wkt::StringValue;
///
/// let message: Box<dyn DynMessage> = Box::new(StringValue { value: "hi".into(), ..Default::default() });
/// assert_eq!(message.full_name(), "google.protobuf.StringValue");
/// assert_eq!(message.downcast_ref::<StringValue>().map(|m| m.value.as_str()), Some("hi"));
/// assert_eq!(message.encode_vec(), [0x0a, 2, b'h', b'i']);
/// ```
pub trait DynMessage: Any + fmt::Debug + Send + Sync {
    /// The message's full protobuf name, such as `google.protobuf.Duration`.
    fn full_name(&self) -> &'static str;

    /// The length of the message's encoding, in bytes.
    fn encoded_size(&self) -> usize;

    /// Appends the message's encoding to `buf`.
    fn encode_into(&self, buf: &mut Vec<u8>);

    /// The message's encoding.
    fn encode_vec(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_size());
        self.encode_into(&mut buf);
        buf
    }

    /// The message as `Any`, to downcast.
    fn as_any(&self) -> &dyn Any;

    /// The message as `Any`, to downcast and change.
    fn as_any_mut(&mut self) -> &mut dyn Any;

    /// The message as `Any`, to downcast and take.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<M: Message> DynMessage for M {
    fn full_name(&self) -> &'static str {
        M::NAME
    }

    fn encoded_size(&self) -> usize {
        self.encoded_len()
    }

    fn encode_into(&self, buf: &mut Vec<u8>) {
        self.encode(buf);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl dyn DynMessage {
    /// The message, if it is an `M`.
    pub fn downcast_ref<M: Message>(&self) -> Option<&M> {
        self.as_any().downcast_ref()
    }

    /// The message, to change, if it is an `M`.
    pub fn downcast_mut<M: Message>(&mut self) -> Option<&mut M> {
        self.as_any_mut().downcast_mut()
    }

    /// The message, if it is an `M`; else the box as it was.
    ///
    /// # Errors
    /// The box, when the message is of another type.
    pub fn downcast<M: Message>(self: Box<Self>) -> Result<Box<M>, Box<dyn DynMessage>> {
        if self.as_any().is::<M>() {
            Ok(self
                .into_any()
                .downcast()
                .unwrap_or_else(|_| unreachable!("checked to be an M")))
        } else {
            Err(self)
        }
    }
}
