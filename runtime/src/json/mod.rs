//! proto3's JSON mapping, through serde (feature `json`).
//!
//! Messages are written and read by their descriptors, which a
//! [`Registry`] holds: generated files add theirs with [`Registry::add`],
//! and a client that learnt a server's types through reflection adds the
//! encoded descriptors with [`Registry::add_encoded`]. The mapping is the
//! canonical one:
//! - fields by their JSON name (`fieldName`); reading accepts the .proto
//!   name too, and refuses a field given twice, or two members of a oneof;
//! - 64-bit integers as strings, read from strings or numbers;
//!   `NaN`, `Infinity` and `-Infinity` as strings; bytes as base64, read in
//!   either alphabet, padded or not;
//! - enums by name, read by name or number;
//! - `null` for a field is the field not set (and for
//!   `google.protobuf.Value`, JSON's null);
//! - the well-known types in their own forms: `Timestamp` as an RFC 3339
//!   string, `Duration` as `"1.5s"`, `FieldMask` as `"a.b,cD"`, the
//!   wrappers as their value, `Struct`, `Value` and `ListValue` as any
//!   JSON, and `Any` as `{"@type": "type.googleapis.com/pkg.Msg", ...}`,
//!   its message's type looked up in the registry.
//!
//! [`PrintOptions`] and [`ParseOptions`] hold the usual choices.
//!
//! The well-known types implement serde's `Serialize` and `Deserialize`,
//! and so do messages generated with the `json=true` option, in the
//! canonical form with the default options. Those of generated messages
//! and of `Any` read and write by the [global registry](registry), which
//! each generated type adds its own file to (and the files it imports) the
//! first time it is used; a type that is only ever inside an `Any` must be
//! [`register`]ed.

mod dynamic;
mod parse;
mod print;
mod scalar;
mod types;
mod wkt;

use std::fmt;
use std::sync::{PoisonError, RwLock};

use serde::de::DeserializeSeed;
use serde::{Deserializer, Serialize, Serializer};

pub use parse::ParseOptions;
pub use print::PrintOptions;
pub use types::{Registry, RegistryError};

use crate::{FileDescriptor, Message};
use dynamic::Dynamic;
use parse::{MessageSeed, Parsing, Path};
use print::{Print, Printing};
use types::MessageType;

/// A message could not be written as JSON or read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl From<serde_json::Error> for JsonError {
    fn from(err: serde_json::Error) -> Self {
        JsonError(err.to_string())
    }
}

impl Registry {
    /// `message` as JSON text.
    ///
    /// # Errors
    /// When its type, or that of a message in it, is not in the registry,
    /// or a value has no JSON form (a `Timestamp` out of range, a `Value`
    /// holding NaN).
    pub fn to_json<M: Message>(
        &self,
        message: &M,
        options: &PrintOptions,
    ) -> Result<String, JsonError> {
        self.encoded_to_json(M::NAME, &message.encode_to_vec(), options)
    }

    /// Writes `message` as JSON through any serde `serializer`.
    ///
    /// # Errors
    /// As [`Registry::to_json`], and the serializer's own.
    pub fn serialize<M: Message, S: Serializer>(
        &self,
        message: &M,
        options: &PrintOptions,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        self.serialize_encoded(M::NAME, &message.encode_to_vec(), options, serializer)
    }

    /// The message of type `type_name` (a full name, `pkg.Msg`), encoded
    /// in the binary format as `encoded`, as JSON text.
    ///
    /// # Errors
    /// As [`Registry::to_json`], and when `encoded` does not decode.
    pub fn encoded_to_json(
        &self,
        type_name: &str,
        encoded: &[u8],
        options: &PrintOptions,
    ) -> Result<String, JsonError> {
        let mut out = Vec::new();
        self.serialize_encoded(
            type_name,
            encoded,
            options,
            &mut serde_json::Serializer::new(&mut out),
        )?;
        String::from_utf8(out).map_err(|err| JsonError(err.to_string()))
    }

    /// Writes the message of type `type_name`, encoded as `encoded`, as
    /// JSON through any serde `serializer` (such as serde_json's pretty
    /// one).
    ///
    /// # Errors
    /// As [`Registry::encoded_to_json`], and the serializer's own.
    pub fn serialize_encoded<S: Serializer>(
        &self,
        type_name: &str,
        encoded: &[u8],
        options: &PrintOptions,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let ty = self.known(type_name).map_err(S::Error::custom)?;
        let message = Dynamic::decode(self, ty, encoded)
            .map_err(|err| S::Error::custom(format!("{type_name}: {err}")))?;
        Print {
            at: Printing {
                registry: self,
                options,
                depth: 0,
            },
            message: &message,
        }
        .serialize(serializer)
    }

    /// Reads an `M` from JSON text.
    ///
    /// # Errors
    /// When the text is not JSON, or not an `M` in JSON: the error names the
    /// field path where it went wrong.
    pub fn from_json<M: Message>(
        &self,
        text: &str,
        options: &ParseOptions,
    ) -> Result<M, JsonError> {
        let encoded = self.json_to_encoded(M::NAME, text, options)?;
        M::decode(&encoded).map_err(|err| JsonError(err.to_string()))
    }

    /// Reads an `M` through any serde `deserializer`.
    ///
    /// # Errors
    /// As [`Registry::from_json`], and the deserializer's own.
    pub fn deserialize<'de, M: Message, D: Deserializer<'de>>(
        &self,
        options: &ParseOptions,
        deserializer: D,
    ) -> Result<M, D::Error> {
        use serde::de::Error;
        let ty = self.known(M::NAME).map_err(D::Error::custom)?;
        let message = self.read(ty, options, deserializer)?;
        M::decode(&message.encode_to_vec()).map_err(D::Error::custom)
    }

    /// Reads a message of type `type_name` from JSON text, and encodes it
    /// in the binary format.
    ///
    /// # Errors
    /// As [`Registry::from_json`].
    pub fn json_to_encoded(
        &self,
        type_name: &str,
        text: &str,
        options: &ParseOptions,
    ) -> Result<Vec<u8>, JsonError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let encoded = self.deserialize_encoded(type_name, options, &mut deserializer)?;
        deserializer.end()?;
        Ok(encoded)
    }

    /// Reads a message of type `type_name` through any serde
    /// `deserializer`, and encodes it in the binary format.
    ///
    /// # Errors
    /// As [`Registry::from_json`], and the deserializer's own.
    pub fn deserialize_encoded<'de, D: Deserializer<'de>>(
        &self,
        type_name: &str,
        options: &ParseOptions,
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        use serde::de::Error;
        let ty = self.known(type_name).map_err(D::Error::custom)?;
        Ok(self.read(ty, options, deserializer)?.encode_to_vec())
    }

    fn read<'de, D: Deserializer<'de>>(
        &self,
        ty: &std::sync::Arc<MessageType>,
        options: &ParseOptions,
        deserializer: D,
    ) -> Result<Dynamic, D::Error> {
        MessageSeed {
            at: Parsing {
                registry: self,
                options,
                depth: 0,
            },
            ty,
            path: Path::Root,
        }
        .deserialize(deserializer)
    }

    fn known(&self, type_name: &str) -> Result<&std::sync::Arc<MessageType>, JsonError> {
        self.message(type_name).ok_or_else(|| {
            JsonError(format!(
                "the message type {type_name} is not in the registry"
            ))
        })
    }
}

/// The registry that generated messages' serde impls use.
static GLOBAL: RwLock<Option<Registry>> = RwLock::new(None);

/// Adds `file` (and the files it imports) to the global registry, so that
/// an `Any` holding one of its messages can be written and read by the
/// serde impls of generated messages.
///
/// # Errors
/// When a descriptor is not a valid `FileDescriptorProto`, which
/// generated code never gives.
pub fn register(file: &'static FileDescriptor) -> Result<(), RegistryError> {
    global(Some(file)).map(drop)
}

/// The global registry as it is now: the well-known and `google.rpc` types,
/// and every file registered or used by a generated message's serde impls
/// so far.
pub fn registry() -> Registry {
    global(None).expect("with no file to add, nothing fails")
}

/// The global registry, made if there is none yet, with `file` added if
/// one is given and it was not.
pub(crate) fn global(file: Option<&'static FileDescriptor>) -> Result<Registry, RegistryError> {
    if let Some(registry) = &*GLOBAL.read().unwrap_or_else(PoisonError::into_inner)
        && file.is_none_or(|file| registry.has_file(file.name()))
    {
        return Ok(registry.clone());
    }
    let mut global = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    let registry = global.get_or_insert_with(Registry::new);
    if let Some(file) = file {
        registry.add(file)?;
    }
    Ok(registry.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::put_varint;

    #[test]
    fn anys_within_anys_nest_no_deeper_than_messages_may() {
        // Each Any holds the next: the bytes are built from the inside out,
        // reversed, so that building them takes linear time.
        let url = b"type.googleapis.com/google.protobuf.Any";
        let nest = |levels: usize| {
            let mut reversed: Vec<u8> = Vec::new();
            for _ in 0..levels {
                let mut header = vec![0x0a];
                put_varint(&mut header, url.len() as u64);
                header.extend_from_slice(url);
                header.push(0x12);
                put_varint(&mut header, reversed.len() as u64);
                reversed.extend(header.iter().rev());
            }
            reversed.reverse();
            reversed
        };
        let registry = Registry::new();
        let options = PrintOptions::default();
        // Two Anys, the inner holding an empty Any.
        let shallow = registry.encoded_to_json("google.protobuf.Any", &nest(2), &options);
        assert_eq!(
            shallow.unwrap(),
            concat!(
                r#"{"@type":"type.googleapis.com/google.protobuf.Any","value":"#,
                r#"{"@type":"type.googleapis.com/google.protobuf.Any","value":{}}}"#
            )
        );
        // Far past the recursion limit: an error, not a stack overflow.
        let err = registry
            .encoded_to_json("google.protobuf.Any", &nest(50_000), &options)
            .unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }
}
