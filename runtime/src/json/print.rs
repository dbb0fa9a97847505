//! Writing a message as JSON, through any serde `Serializer`.

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::dynamic::{Dynamic, FieldValue, MapKey, Value};
use super::scalar;
use super::types::{Field, Kind, Registry, Shape};
use super::wkt::{self, Special};
use crate::wire::RECURSION_LIMIT;

/// How messages are written as JSON. The defaults are proto3's canonical
/// form.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintOptions {
    always_print_fields_without_presence: bool,
    proto_field_names: bool,
    enums_as_numbers: bool,
}

impl PrintOptions {
    /// Writes the fields that have no presence (proto3 singular fields
    /// not marked `optional`, repeated fields, maps) even when they hold
    /// their default value. Off by default.
    #[must_use]
    pub fn always_print_fields_without_presence(mut self, yes: bool) -> Self {
        self.always_print_fields_without_presence = yes;
        self
    }

    /// Names fields as the .proto file does (`field_name`) instead of by
    /// their JSON name (`fieldName`). Off by default.
    #[must_use]
    pub fn proto_field_names(mut self, yes: bool) -> Self {
        self.proto_field_names = yes;
        self
    }

    /// Writes enum values as numbers instead of names. Off by default.
    #[must_use]
    pub fn enums_as_numbers(mut self, yes: bool) -> Self {
        self.enums_as_numbers = yes;
        self
    }
}

/// What is written with: the types and the options, and how deep in
/// messages the writing is.
#[derive(Clone, Copy)]
pub(crate) struct Printing<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) options: &'a PrintOptions,
    pub(crate) depth: u32,
}

impl Printing<'_> {
    /// One message deeper.
    fn deeper(self) -> Self {
        Printing {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// A message, written as JSON.
pub(crate) struct Print<'a> {
    pub(crate) at: Printing<'a>,
    pub(crate) message: &'a Dynamic,
}

impl Serialize for Print<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match Special::of(&self.message.ty.name) {
            Some(Special::Any) => self.any(serializer),
            Some(special) => wkt::serialize(special, &self.message.encode_to_vec(), serializer),
            None => {
                let mut map = serializer.serialize_map(None)?;
                self.fields(&mut map)?;
                map.end()
            }
        }
    }
}

impl Print<'_> {
    /// Writes the message's fields as entries of `map`.
    fn fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let options = self.at.options;
        for (index, field) in self.message.ty.fields.iter().enumerate() {
            let key = match options.proto_field_names {
                true => &field.name,
                false => &field.json_name,
            };
            match self.message.fields.get(index) {
                Some(FieldValue::Single(value))
                    if !field.explicit
                        && value.is_default()
                        && !options.always_print_fields_without_presence => {}
                Some(value) => map.serialize_entry(key, &self.field(field, value))?,
                None if options.always_print_fields_without_presence && !field.has_presence() => {
                    let value = match &field.shape {
                        Shape::Repeated => FieldValue::List(Vec::new()),
                        Shape::Map { .. } => FieldValue::Map(Default::default()),
                        Shape::Single => match Value::default_of(&field.kind) {
                            Some(value) => FieldValue::Single(value),
                            None => continue,
                        },
                    };
                    map.serialize_entry(key, &self.field(field, &value))?;
                }
                None => {}
            }
        }
        Ok(())
    }

    fn field<'v>(&'v self, field: &'v Field, value: &'v FieldValue) -> PrintField<'v> {
        PrintField {
            at: self.at,
            field,
            value,
        }
    }

    /// An `Any`: its type URL as `@type`, then the fields of the message it
    /// holds, or that message's special form as `value`.
    fn any<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (type_url, bytes) = self.message.any_parts();
        let mut map = serializer.serialize_map(None)?;
        if type_url.is_empty() && bytes.is_empty() {
            return map.end();
        }
        let Some(name) = wkt::type_name(type_url) else {
            return Err(S::Error::custom(format!("invalid type URL {type_url:?}")));
        };
        let ty = self.at.registry.message(name).ok_or_else(|| {
            S::Error::custom(format!(
                "an Any holds {type_url}, which is not in the registry"
            ))
        })?;
        // The messages in an Any count with those around it, so that Anys
        // within Anys cannot nest without bound.
        let left = RECURSION_LIMIT.saturating_sub(self.at.depth + 1);
        if left == 0 {
            return Err(S::Error::custom(
                "messages and Anys nested deeper than the recursion limit",
            ));
        }
        let inner = Dynamic::decode_within(self.at.registry, ty, &bytes, left)
            .map_err(|err| S::Error::custom(format!("invalid {name} in an Any: {err}")))?;
        map.serialize_entry("@type", &type_url)?;
        let inner = Print {
            at: self.at.deeper(),
            message: &inner,
        };
        match Special::of(name) {
            Some(_) => map.serialize_entry("value", &inner)?,
            None => inner.fields(&mut map)?,
        }
        map.end()
    }
}

/// A field's value: one value, a list or a map.
struct PrintField<'a> {
    at: Printing<'a>,
    field: &'a Field,
    value: &'a FieldValue,
}

impl Serialize for PrintField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let one = |kind, value| PrintValue {
            at: self.at,
            kind,
            value,
        };
        match (self.value, &self.field.shape) {
            (FieldValue::Single(value), _) => one(&self.field.kind, value).serialize(serializer),
            (FieldValue::List(values), _) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    seq.serialize_element(&one(&self.field.kind, value))?;
                }
                seq.end()
            }
            (FieldValue::Map(entries), Shape::Map { value: kind, .. }) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(&KeyText(key), &one(kind, value))?;
                }
                map.end()
            }
            (FieldValue::Map(_), _) => Err(S::Error::custom("a map in a field that is not one")),
        }
    }
}

/// A map key, written as a string.
struct KeyText<'a>(&'a MapKey);

impl Serialize for KeyText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            MapKey::Bool(v) => serializer.collect_str(v),
            MapKey::Signed(v) => serializer.collect_str(v),
            MapKey::Unsigned(v) => serializer.collect_str(v),
            MapKey::String(v) => serializer.serialize_str(v),
        }
    }
}

/// One value of a field.
struct PrintValue<'a> {
    at: Printing<'a>,
    kind: &'a Kind,
    value: &'a Value,
}

impl Serialize for PrintValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Bool(v) => serializer.serialize_bool(*v),
            Value::I32(v) => serializer.serialize_i32(*v),
            Value::U32(v) => serializer.serialize_u32(*v),
            Value::I64(v) => scalar::serialize_i64(*v, serializer),
            Value::U64(v) => scalar::serialize_u64(*v, serializer),
            Value::F32(v) => scalar::serialize_f32(*v, serializer),
            Value::F64(v) => scalar::serialize_f64(*v, serializer),
            Value::String(v) => serializer.serialize_str(v),
            Value::Bytes(v) => scalar::serialize_bytes(v, serializer),
            Value::Enum(number) => {
                let Kind::Enum(name) = self.kind else {
                    return Err(S::Error::custom("an enum value in a field that is not one"));
                };
                if &**name == wkt::NULL_VALUE {
                    return serializer.serialize_unit();
                }
                let declared = self.at.registry.enumeration(name);
                match declared.and_then(|e| e.name(*number)) {
                    Some(text) if !self.at.options.enums_as_numbers => {
                        serializer.serialize_str(text)
                    }
                    _ => serializer.serialize_i32(*number),
                }
            }
            Value::Message(message) => Print {
                at: self.at.deeper(),
                message,
            }
            .serialize(serializer),
        }
    }
}
