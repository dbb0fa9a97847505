//! Reading a message from JSON, through any serde `Deserializer`: each
//! value is checked against its field's type, and an error names the path
//! of the field it is in (`child.values[2]`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::dynamic::{Dynamic, FieldValue, MapKey, Value};
use super::scalar;
use super::types::{Field, Kind, MessageType, Registry, Shape};
use super::wkt::{self, Special};
use crate::wire::RECURSION_LIMIT;

/// How JSON is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    ignore_unknown_fields: bool,
}

impl ParseOptions {
    /// Skips object keys that name no field, and enum value names that
    /// are not declared, instead of failing. Off by default.
    #[must_use]
    pub fn ignore_unknown_fields(mut self, yes: bool) -> Self {
        self.ignore_unknown_fields = yes;
        self
    }
}

/// What is read with: the types and the options, and how deep in messages
/// the reading is.
#[derive(Clone, Copy)]
pub(crate) struct Parsing<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) options: &'a ParseOptions,
    pub(crate) depth: u32,
}

impl Parsing<'_> {
    /// One message deeper.
    fn deeper(self) -> Self {
        Parsing {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// Where a value is in the message being read.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
        }
    }
}

impl Path<'_> {
    /// `err`, at this path.
    fn error<E: de::Error>(&self, err: impl fmt::Display) -> E {
        match self {
            Path::Root => E::custom(err),
            _ => E::custom(format_args!("{self}: {err}")),
        }
    }
}

/// Reads a message of type `ty`.
pub(crate) struct MessageSeed<'a> {
    pub(crate) at: Parsing<'a>,
    pub(crate) ty: &'a Arc<MessageType>,
    pub(crate) path: Path<'a>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Dynamic;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Dynamic, D::Error> {
        // As deep as the binary format lets messages nest, whatever the
        // deserializer's own limit.
        if self.at.depth > RECURSION_LIMIT {
            return Err(self
                .path
                .error("messages nested deeper than the recursion limit"));
        }
        match Special::of(&self.ty.name) {
            None => deserializer.deserialize_map(self),
            Some(Special::Any) => self.any(deserializer),
            Some(special) => {
                let bytes =
                    wkt::deserialize(special, deserializer).map_err(|err| self.path.error(err))?;
                Dynamic::decode(self.at.registry, self.ty, &bytes)
                    .map_err(|err| self.path.error(err))
            }
        }
    }
}

impl MessageSeed<'_> {
    /// An `Any`: `@type` names the type, and either the other keys are the
    /// fields of the message it holds, or `value` holds that message's
    /// special form.
    fn any<'de, D: Deserializer<'de>>(self, deserializer: D) -> Result<Dynamic, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        let serde_json::Value::Object(mut object) = json else {
            return Err(self.path.error("an Any must be a JSON object"));
        };
        let type_url = match object.remove("@type") {
            Some(serde_json::Value::String(url)) => url,
            Some(_) => return Err(self.path.error("an Any's @type must be a string")),
            None if object.is_empty() => {
                return Ok(Dynamic::new(self.ty.clone()));
            }
            None => return Err(self.path.error("an Any with fields must have an @type")),
        };
        let Some(name) = wkt::type_name(&type_url) else {
            return Err(self
                .path
                .error(format_args!("invalid type URL {type_url:?}")));
        };
        let registry = self.at.registry;
        let ty = registry.message(name).ok_or_else(|| {
            self.path
                .error(format_args!("{type_url} is not in the registry"))
        })?;
        let seed = MessageSeed {
            at: self.at.deeper(),
            ty,
            path: self.path,
        };
        let inner = match Special::of(name) {
            Some(_) => {
                let value = object.remove("value").unwrap_or(serde_json::Value::Null);
                if let Some(key) = object.keys().next() {
                    return Err(self
                        .path
                        .error(format_args!("unexpected key {key:?} in an Any of {name}")));
                }
                seed.deserialize(value)
            }
            None => seed.deserialize(serde_json::Value::Object(object)),
        }
        .map_err(D::Error::custom)?;
        let value = inner.encode_to_vec().into();
        Ok(Dynamic::any(self.ty.clone(), type_url, value))
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Dynamic;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object for {}", self.ty.name)?;
        match self.path {
            Path::Root => Ok(()),
            path => write!(f, " at {path}"),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dynamic, A::Error> {
        let mut message = Dynamic::new(self.ty.clone());
        // Every field given, null or not, to refuse one given twice.
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let Some(index) = self.ty.field_by_name(&key) else {
                if self.at.options.ignore_unknown_fields {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                return Err(self
                    .path
                    .error(format_args!("{} has no field {key:?}", self.ty.name)));
            };
            let field = &self.ty.fields[index];
            let path = Path::Field(&self.path, &field.json_name);
            if seen.contains(&index) {
                return Err(path.error("the field is given twice"));
            }
            seen.push(index);
            let value = map.next_value_seed(FieldSeed {
                at: self.at,
                field,
                path,
            })?;
            let Some(value) = value else {
                continue;
            };
            if let Some(oneof) = field.oneof {
                let members = &self.ty.oneofs[oneof];
                if let Some(other) = members.iter().find(|m| message.fields.contains(**m)) {
                    return Err(path.error(format_args!(
                        "{} is set already, and they are in one oneof",
                        self.ty.fields[*other].json_name
                    )));
                }
            }
            message.set(index, value);
        }
        Ok(message)
    }
}

/// Whether `null` is a value of `kind` rather than the absence of one.
fn null_is_a_value(kind: &Kind) -> bool {
    match kind {
        Kind::Enum(name) => &**name == wkt::NULL_VALUE,
        Kind::Message { name, .. } => Special::of(name) == Some(Special::Value),
        _ => false,
    }
}

/// Reads a field's value: `None` when it is `null` (the field is then
/// not set) or, with unknown fields ignored, an unknown enum name.
struct FieldSeed<'a> {
    at: Parsing<'a>,
    field: &'a Field,
    path: Path<'a>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Option<FieldValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.field.shape == Shape::Single && null_is_a_value(&self.field.kind) {
            return self.present(deserializer);
        }
        deserializer.deserialize_option(self)
    }
}

impl FieldSeed<'_> {
    /// The field's value, not `null`.
    fn present<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<FieldValue>, D::Error> {
        let value = ValueSeed {
            at: self.at,
            kind: &self.field.kind,
            path: self.path,
        };
        match &self.field.shape {
            Shape::Single => Ok(value.deserialize(deserializer)?.map(FieldValue::Single)),
            Shape::Repeated => deserializer
                .deserialize_seq(ListSeed(value))
                .map(|list| Some(FieldValue::List(list))),
            Shape::Map { key, value: kind } => deserializer
                .deserialize_map(MapSeed {
                    at: self.at,
                    key,
                    value: kind,
                    path: self.path,
                })
                .map(|map| Some(FieldValue::Map(map))),
        }
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Option<FieldValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value for {}", self.path)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.present(deserializer)
    }
}

/// Reads a list's elements.
struct ListSeed<'a>(ValueSeed<'a>);

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON array for {}", self.0.path)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut list = Vec::new();
        loop {
            let element = ValueSeed {
                path: Path::Index(&self.0.path, list.len()),
                ..self.0
            };
            let Some(value) = seq.next_element_seed(NotNull(element))? else {
                return Ok(list);
            };
            // An unknown enum name, ignored.
            if let Some(value) = value {
                list.push(value);
            }
        }
    }
}

/// Reads a map's entries.
struct MapSeed<'a> {
    at: Parsing<'a>,
    key: &'a Kind,
    value: &'a Kind,
    path: Path<'a>,
}

impl<'de> Visitor<'de> for MapSeed<'_> {
    type Value = BTreeMap<MapKey, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object for {}", self.path)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(text) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let path = Path::Key(&self.path, &text);
            let key = map_key(self.key, &text).map_err(|err| path.error(err))?;
            let value = map.next_value_seed(NotNull(ValueSeed {
                at: self.at,
                kind: self.value,
                path,
            }))?;
            let Some(value) = value else {
                continue;
            };
            if entries.insert(key, value).is_some() {
                return Err(path.error("the key is given twice"));
            }
        }
        Ok(entries)
    }
}

/// A map key of `kind`, from its JSON text.
fn map_key(kind: &Kind, text: &str) -> Result<MapKey, String> {
    let integer = || format!("{text:?} is not an integer key");
    Ok(match kind {
        Kind::String => MapKey::String(text.to_owned()),
        Kind::Bool => match text {
            "true" => MapKey::Bool(true),
            "false" => MapKey::Bool(false),
            _ => return Err(format!("{text:?} is not a bool key")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            MapKey::Signed(text.parse::<i32>().map_err(|_| integer())?.into())
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            MapKey::Signed(text.parse::<i64>().map_err(|_| integer())?)
        }
        Kind::Uint32 | Kind::Fixed32 => {
            MapKey::Unsigned(text.parse::<u32>().map_err(|_| integer())?.into())
        }
        Kind::Uint64 | Kind::Fixed64 => {
            MapKey::Unsigned(text.parse::<u64>().map_err(|_| integer())?)
        }
        _ => return Err("this key type cannot be a map key".to_owned()),
    })
}

/// A list element or map value, where `null` is refused unless it is a
/// value of the kind.
struct NotNull<'a>(ValueSeed<'a>);

impl<'de> DeserializeSeed<'de> for NotNull<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if null_is_a_value(self.0.kind) {
            return self.0.deserialize(deserializer);
        }
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for NotNull<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value for {}", self.0.path)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(self.0.path.error("null is not a value here"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer)
    }
}

/// Reads one value of `kind`: `None` for an unknown enum name that is
/// ignored.
#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    at: Parsing<'a>,
    kind: &'a Kind,
    path: Path<'a>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let path = self.path;
        let at = |err: D::Error| path.error::<D::Error>(err);
        Ok(Some(match self.kind {
            Kind::Double => Value::F64(scalar::deserialize_f64(deserializer).map_err(at)?),
            Kind::Float => Value::F32(scalar::deserialize_f32(deserializer).map_err(at)?),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Value::I64(scalar::deserialize_i64(deserializer).map_err(at)?)
            }
            Kind::Uint64 | Kind::Fixed64 => {
                Value::U64(scalar::deserialize_u64(deserializer).map_err(at)?)
            }
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Value::I32(scalar::deserialize_i32(deserializer).map_err(at)?)
            }
            Kind::Uint32 | Kind::Fixed32 => {
                Value::U32(scalar::deserialize_u32(deserializer).map_err(at)?)
            }
            Kind::Bool => Value::Bool(bool::deserialize(deserializer).map_err(at)?),
            Kind::String => Value::String(String::deserialize(deserializer).map_err(at)?),
            Kind::Bytes => {
                Value::Bytes(scalar::deserialize_bytes(deserializer).map_err(at)?.into())
            }
            Kind::Enum(name) => {
                let Some(enumeration) = self.at.registry.enumeration(name) else {
                    return Err(path.error(format_args!("the enum {name} is not known")));
                };
                let seed = EnumSeed {
                    name,
                    values: enumeration,
                    ignore_unknown: self.at.options.ignore_unknown_fields,
                    path,
                };
                return Ok(deserializer.deserialize_any(seed)?.map(Value::Enum));
            }
            Kind::Message { name, .. } => {
                let Some(ty) = self.at.registry.message(name) else {
                    return Err(path.error(format_args!("the message {name} is not known")));
                };
                let seed = MessageSeed {
                    at: self.at.deeper(),
                    ty,
                    path,
                };
                Value::Message(Box::new(seed.deserialize(deserializer)?))
            }
        }))
    }
}

/// Reads an enum value, by name or number.
struct EnumSeed<'a> {
    name: &'a str,
    values: &'a super::types::EnumType,
    ignore_unknown: bool,
    path: Path<'a>,
}

impl<'de> Visitor<'de> for EnumSeed<'_> {
    type Value = Option<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of {}, by name or number", self.name)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<i32>, E> {
        match self.values.number(text) {
            Some(number) => Ok(Some(number)),
            None if self.ignore_unknown => Ok(None),
            None => Err(self
                .path
                .error(format_args!("{text:?} is not a value of {}", self.name))),
        }
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Option<i32>, E> {
        let number = i32::try_from(number).map_err(|_| {
            self.path
                .error(format_args!("{number} is out of range for an enum"))
        })?;
        if self.values.closed && self.values.name(number).is_none() {
            return match self.ignore_unknown {
                true => Ok(None),
                false => Err(self.path.error(format_args!(
                    "{number} is not a value of the closed enum {}",
                    self.name
                ))),
            };
        }
        Ok(Some(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Option<i32>, E> {
        match i64::try_from(number) {
            Ok(number) => self.visit_i64(number),
            Err(_) => Err(self
                .path
                .error(format_args!("{number} is out of range for an enum"))),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i32>, E> {
        match self.name {
            wkt::NULL_VALUE => Ok(Some(0)),
            _ => Err(self.path.error("null is not a value here")),
        }
    }
}
