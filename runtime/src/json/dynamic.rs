//! A message of any type the registry knows, held by field: what JSON is
//! written from and read into, decoded from and encoded to the binary
//! format by its descriptor.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::types::{Field, Kind, MessageType, Registry, Shape};
use crate::DecodeError;
use crate::wire::{
    DecodeErrorKind, Decoder, Sizes, WireType, Writer, unzigzag32, unzigzag64, zigzag32, zigzag64,
};

/// A message: its type, and its fields that are set.
#[derive(Clone)]
pub(crate) struct Dynamic {
    pub(crate) ty: Arc<MessageType>,
    pub(crate) fields: Fields,
}

/// The fields of a message that are set, by index into its type's fields,
/// in that order.
#[derive(Clone, Default)]
pub(crate) struct Fields(Vec<(usize, FieldValue)>);

impl Fields {
    /// Where field `index` is, or would go.
    fn position(&self, index: usize) -> Result<usize, usize> {
        // Fields mostly come in order: after the last one.
        match self.0.last() {
            Some((last, _)) if *last < index => Err(self.0.len()),
            None => Err(0),
            _ => self.0.binary_search_by_key(&index, |(i, _)| *i),
        }
    }

    /// The value of field `index`, if set.
    pub(crate) fn get(&self, index: usize) -> Option<&FieldValue> {
        self.position(index).ok().map(|at| &self.0[at].1)
    }

    /// The value of field `index`, if set, to change.
    fn get_mut(&mut self, index: usize) -> Option<&mut FieldValue> {
        self.position(index).ok().map(|at| &mut self.0[at].1)
    }

    /// Whether field `index` is set.
    pub(crate) fn contains(&self, index: usize) -> bool {
        self.position(index).is_ok()
    }

    /// Unsets field `index`, giving its value.
    fn remove(&mut self, index: usize) -> Option<FieldValue> {
        self.position(index).ok().map(|at| self.0.remove(at).1)
    }

    /// Sets field `index` to `value`.
    fn insert(&mut self, index: usize, value: FieldValue) {
        match self.position(index) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (index, value)),
        }
    }

    /// The value of field `index`, set to `empty()` first if it was not.
    fn get_or_insert_with(
        &mut self,
        index: usize,
        empty: impl FnOnce() -> FieldValue,
    ) -> &mut FieldValue {
        let at = match self.position(index) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (index, empty()));
                at
            }
        };
        &mut self.0[at].1
    }

    /// The fields set, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &FieldValue)> {
        self.0.iter().map(|(index, value)| (*index, value))
    }
}

/// The value of one field.
#[derive(Clone)]
pub(crate) enum FieldValue {
    Single(Value),
    List(Vec<Value>),
    Map(BTreeMap<MapKey, Value>),
}

/// One value of a field, a list element or a map value.
#[derive(Clone)]
pub(crate) enum Value {
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    String(String),
    Bytes(Bytes),
    Enum(i32),
    Message(Box<Dynamic>),
}

/// A map key: integer keys of any width, bools and strings.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MapKey {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    String(String),
}

impl MapKey {
    /// The key a map entry's key value makes.
    pub(crate) fn from_value(value: Value) -> Option<MapKey> {
        Some(match value {
            Value::Bool(v) => MapKey::Bool(v),
            Value::I32(v) => MapKey::Signed(v.into()),
            Value::I64(v) => MapKey::Signed(v),
            Value::U32(v) => MapKey::Unsigned(v.into()),
            Value::U64(v) => MapKey::Unsigned(v),
            Value::String(v) => MapKey::String(v),
            _ => return None,
        })
    }

    /// The value of a key of `kind`.
    fn to_value(&self, kind: &Kind) -> Value {
        match (self, kind) {
            (MapKey::Bool(v), _) => Value::Bool(*v),
            (MapKey::String(v), _) => Value::String(v.clone()),
            (MapKey::Signed(v), Kind::Int64 | Kind::Sint64 | Kind::Sfixed64) => Value::I64(*v),
            (MapKey::Signed(v), _) => Value::I32(*v as i32),
            (MapKey::Unsigned(v), Kind::Uint64 | Kind::Fixed64) => Value::U64(*v),
            (MapKey::Unsigned(v), _) => Value::U32(*v as u32),
        }
    }
}

/// What each value decoded is charged against the input's memory budget.
const VALUE_COST: usize = std::mem::size_of::<Value>() + 16;

impl Value {
    /// The default value of `kind`, as a field without presence holds when
    /// not set; `None` for messages, which have no default value.
    pub(crate) fn default_of(kind: &Kind) -> Option<Value> {
        Some(match kind {
            Kind::Double => Value::F64(0.0),
            Kind::Float => Value::F32(0.0),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(0),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(0),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(0),
            Kind::Bool => Value::Bool(false),
            Kind::String => Value::String(String::new()),
            Kind::Bytes => Value::Bytes(Bytes::new()),
            Kind::Enum(_) => Value::Enum(0),
            Kind::Message { .. } => return None,
        })
    }

    /// Whether this is its kind's default value (-0.0 is not).
    pub(crate) fn is_default(&self) -> bool {
        match self {
            Value::Bool(v) => !v,
            Value::I32(v) | Value::Enum(v) => *v == 0,
            Value::U32(v) => *v == 0,
            Value::I64(v) => *v == 0,
            Value::U64(v) => *v == 0,
            Value::F32(v) => v.to_bits() == 0,
            Value::F64(v) => v.to_bits() == 0,
            Value::String(v) => v.is_empty(),
            Value::Bytes(v) => v.is_empty(),
            Value::Message(_) => false,
        }
    }
}

impl Dynamic {
    /// An empty message of type `ty`.
    pub(crate) fn new(ty: Arc<MessageType>) -> Self {
        Dynamic {
            ty,
            fields: Fields::default(),
        }
    }

    /// Decodes a message of type `ty` from `bytes`.
    pub(crate) fn decode(
        registry: &Registry,
        ty: &Arc<MessageType>,
        bytes: &[u8],
    ) -> Result<Dynamic, DecodeError> {
        let mut message = Dynamic::new(ty.clone());
        message.merge(registry, &mut Decoder::new(bytes), None)?;
        Ok(message)
    }

    /// Decodes a message of type `ty` from `bytes`, whose `bytes` fields
    /// then share it, and in which messages may nest `depth` deep at most:
    /// those of an `Any` count with the messages around it.
    pub(crate) fn decode_within(
        registry: &Registry,
        ty: &Arc<MessageType>,
        bytes: &Bytes,
        depth: u32,
    ) -> Result<Dynamic, DecodeError> {
        let mut message = Dynamic::new(ty.clone());
        let mut d = Decoder::shared_within(bytes, depth);
        message.merge(registry, &mut d, None)?;
        Ok(message)
    }

    /// An `Any`, of type `ty`, holding `value`, of the type `type_url`
    /// names: what [`Dynamic::any_parts`] takes apart.
    pub(crate) fn any(ty: Arc<MessageType>, type_url: String, value: Bytes) -> Dynamic {
        let mut any = Dynamic::new(ty);
        for (number, part) in [(1, Value::String(type_url)), (2, Value::Bytes(value))] {
            if let Some(index) = any.ty.field_by_number(number) {
                any.set(index, FieldValue::Single(part));
            }
        }
        any
    }

    /// An `Any`'s type URL and the message it holds, encoded.
    pub(crate) fn any_parts(&self) -> (&str, Bytes) {
        let field = |number| {
            self.ty
                .field_by_number(number)
                .and_then(|index| self.fields.get(index))
        };
        let type_url = match field(1) {
            Some(FieldValue::Single(Value::String(url))) => url.as_str(),
            _ => "",
        };
        let value = match field(2) {
            Some(FieldValue::Single(Value::Bytes(value))) => value.clone(),
            _ => Bytes::new(),
        };
        (type_url, value)
    }

    /// Sets field `index` to `value`, clearing the other members of its
    /// oneof.
    pub(crate) fn set(&mut self, index: usize, value: FieldValue) {
        if let Some(oneof) = self.ty.fields[index].oneof {
            for &member in &self.ty.oneofs[oneof] {
                self.fields.remove(member);
            }
        }
        self.fields.insert(index, value);
    }

    /// Merges the fields read from `d` (up to the end of the group
    /// `group`, if it is one) into this message, as the binary format
    /// merges: the last scalar wins, messages merge, lists and maps grow.
    /// Fields it does not know, or in a wire type not their own, are
    /// skipped: JSON has no place for them.
    fn merge(
        &mut self,
        registry: &Registry,
        d: &mut Decoder<'_>,
        group: Option<u32>,
    ) -> Result<(), DecodeError> {
        let ty = self.ty.clone();
        while let Some(tag) = d.next_tag(group)? {
            let Some(index) = ty.field_by_number(tag >> 3) else {
                d.skip_tag(tag)?;
                continue;
            };
            let field = &ty.fields[index];
            let wire = tag & 7;
            let own = field.kind.wire_type() as u32;
            // A message field may come in either encoding: parsers take both.
            let message = matches!(field.kind, Kind::Message { .. })
                && !matches!(field.shape, Shape::Map { .. })
                && (wire == WireType::StartGroup as u32
                    || wire == WireType::LengthDelimited as u32);
            if wire == own || message {
                self.merge_value(registry, d, index, field, wire)?;
            } else if wire == WireType::LengthDelimited as u32
                && field.shape == Shape::Repeated
                && own != WireType::LengthDelimited as u32
                && own != WireType::StartGroup as u32
            {
                d.delimited(|d| {
                    while !d.at_end() {
                        self.merge_value(registry, d, index, field, own)?;
                    }
                    Ok(())
                })?;
            } else {
                d.skip_tag(tag)?;
            }
        }
        Ok(())
    }

    /// Reads one value of `field`, in wire type `wire`, and merges it in.
    fn merge_value(
        &mut self,
        registry: &Registry,
        d: &mut Decoder<'_>,
        index: usize,
        field: &Field,
        wire: u32,
    ) -> Result<(), DecodeError> {
        d.charge(VALUE_COST)?;
        match &field.shape {
            Shape::Map { key, value } => {
                let Kind::Message { name, .. } = &field.kind else {
                    unreachable!("a map's entries are messages");
                };
                let entry_type = known(registry, name)?;
                let mut entry = Dynamic::new(entry_type.clone());
                let raw = d.nested(|d| {
                    let mark = d.mark();
                    entry.merge(registry, d, None)?;
                    Ok(d.since(mark))
                })?;
                let closed = match value {
                    Kind::Enum(name) => registry.enumeration(name).filter(|e| e.closed),
                    _ => None,
                };
                let mut part = |number: u32, kind: &Kind| -> Result<Option<Value>, DecodeError> {
                    let taken = entry_type
                        .field_by_number(number)
                        .and_then(|i| entry.fields.remove(i));
                    Ok(Some(match (taken, kind) {
                        (Some(FieldValue::Single(value)), _) => value,
                        // A closed enum's number it does not declare: the
                        // binary format keeps the whole entry as unknown.
                        (_, Kind::Enum(_)) if closed.is_some() && has_field(raw, number) => {
                            return Ok(None);
                        }
                        (_, Kind::Message { name, .. }) => {
                            Value::Message(Box::new(Dynamic::new(known(registry, name)?.clone())))
                        }
                        (_, Kind::Enum(_)) => Value::Enum(closed.map_or(0, |e| e.default_value())),
                        (_, kind) => Value::default_of(kind).expect("not a message"),
                    }))
                };
                let (Some(key), Some(value)) = (part(1, key)?, part(2, value)?) else {
                    return Ok(());
                };
                let key = MapKey::from_value(key)
                    .ok_or_else(|| DecodeError::new(DecodeErrorKind::InvalidWireType))?;
                match self
                    .fields
                    .get_or_insert_with(index, || FieldValue::Map(BTreeMap::new()))
                {
                    FieldValue::Map(map) => map.insert(key, value),
                    _ => unreachable!("a map field holds a map"),
                };
            }
            Shape::Repeated => {
                if let Some(value) = read_value(registry, d, field, wire)? {
                    match self
                        .fields
                        .get_or_insert_with(index, || FieldValue::List(Vec::new()))
                    {
                        FieldValue::List(list) => list.push(value),
                        _ => unreachable!("a repeated field holds a list"),
                    }
                }
            }
            Shape::Single => {
                // A message merges into the one there.
                if let Some(FieldValue::Single(Value::Message(existing))) =
                    self.fields.get_mut(index)
                {
                    merge_message(registry, d, field, wire, existing)?;
                } else if let Some(value) = read_value(registry, d, field, wire)? {
                    self.set(index, FieldValue::Single(value));
                }
            }
        }
        Ok(())
    }

    /// Writes this message in the binary format.
    fn write(&self, w: &mut Writer<'_>) {
        for (index, value) in self.fields.iter() {
            let field = &self.ty.fields[index];
            match value {
                FieldValue::Single(value) => {
                    if field.explicit || !value.is_default() {
                        write_value(w, field.number, &field.kind, value);
                    }
                }
                FieldValue::List(values) => {
                    for value in values {
                        write_value(w, field.number, &field.kind, value);
                    }
                }
                FieldValue::Map(map) => {
                    let Shape::Map { key, value: kind } = &field.shape else {
                        unreachable!("a map field is a map");
                    };
                    for (k, v) in map {
                        let mut entry = Vec::new();
                        let sizes = Sizes::new();
                        let mut e = Writer::new(&mut entry, &sizes);
                        write_value(&mut e, 1, key, &k.to_value(key));
                        write_value(&mut e, 2, kind, v);
                        w.tag(field.number, WireType::LengthDelimited);
                        w.length_delimited(&entry);
                    }
                }
            }
        }
    }

    /// This message, encoded.
    pub(crate) fn encode_to_vec(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let sizes = Sizes::new();
        self.write(&mut Writer::new(&mut buf, &sizes));
        buf
    }
}

/// The message type `name`, which a field refers to.
pub(crate) fn known<'r>(
    registry: &'r Registry,
    name: &str,
) -> Result<&'r Arc<MessageType>, DecodeError> {
    registry
        .message(name)
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::UnknownType))
}

/// Reads one value of `field`'s kind, in wire type `wire`; `None` for a
/// number a closed enum does not declare (which the binary format keeps as
/// an unknown field, and JSON drops).
fn read_value(
    registry: &Registry,
    d: &mut Decoder<'_>,
    field: &Field,
    wire: u32,
) -> Result<Option<Value>, DecodeError> {
    Ok(Some(match &field.kind {
        Kind::Double => Value::F64(f64::from_bits(d.fixed64()?)),
        Kind::Float => Value::F32(f32::from_bits(d.fixed32()?)),
        Kind::Int64 => Value::I64(d.varint()? as i64),
        Kind::Uint64 => Value::U64(d.varint()?),
        Kind::Int32 => Value::I32(d.varint()? as i32),
        Kind::Fixed64 => Value::U64(d.fixed64()?),
        Kind::Fixed32 => Value::U32(d.fixed32()?),
        Kind::Bool => Value::Bool(d.varint()? != 0),
        Kind::String => Value::String(d.string()?),
        Kind::Bytes => Value::Bytes(d.bytes()?),
        Kind::Uint32 => Value::U32(d.varint()? as u32),
        Kind::Sfixed32 => Value::I32(d.fixed32()? as i32),
        Kind::Sfixed64 => Value::I64(d.fixed64()? as i64),
        Kind::Sint32 => Value::I32(unzigzag32(d.varint()? as u32)),
        Kind::Sint64 => Value::I64(unzigzag64(d.varint()?)),
        Kind::Enum(name) => {
            let number = d.varint()? as i32;
            let closed = registry.enumeration(name).filter(|e| e.closed);
            if closed.is_some_and(|e| e.name(number).is_none()) {
                return Ok(None);
            }
            Value::Enum(number)
        }
        Kind::Message { name, .. } => {
            let mut message = Dynamic::new(known(registry, name)?.clone());
            merge_message(registry, d, field, wire, &mut message)?;
            Value::Message(Box::new(message))
        }
    }))
}

/// Reads a message of `field`, in wire type `wire`, into `message`.
fn merge_message(
    registry: &Registry,
    d: &mut Decoder<'_>,
    field: &Field,
    wire: u32,
    message: &mut Dynamic,
) -> Result<(), DecodeError> {
    if wire == WireType::StartGroup as u32 {
        d.group(|d| message.merge(registry, d, Some(field.number)))
    } else {
        d.nested(|d| message.merge(registry, d, None))
    }
}

/// Whether the encoded message `raw` holds field `number`.
fn has_field(raw: &[u8], number: u32) -> bool {
    let mut d = Decoder::new(raw);
    while let Ok(Some(tag)) = d.next_tag(None) {
        if tag >> 3 == number {
            return true;
        }
        if d.skip_tag(tag).is_err() {
            return false;
        }
    }
    false
}

/// Writes `value`, of `kind`, as field `number`.
fn write_value(w: &mut Writer<'_>, number: u32, kind: &Kind, value: &Value) {
    w.tag(number, kind.wire_type());
    match (kind, value) {
        (Kind::Sint32, Value::I32(v)) => w.varint(u64::from(zigzag32(*v))),
        (Kind::Sint64, Value::I64(v)) => w.varint(zigzag64(*v)),
        (Kind::Sfixed32, Value::I32(v)) => w.fixed32(*v as u32),
        (Kind::Fixed32, Value::U32(v)) => w.fixed32(*v),
        (Kind::Sfixed64, Value::I64(v)) => w.fixed64(*v as u64),
        (Kind::Fixed64, Value::U64(v)) => w.fixed64(*v),
        (_, Value::F32(v)) => w.fixed32(v.to_bits()),
        (_, Value::F64(v)) => w.fixed64(v.to_bits()),
        // Negative int32 and enum values take ten bytes, sign-extended.
        (_, Value::I32(v) | Value::Enum(v)) => w.varint(i64::from(*v) as u64),
        (_, Value::I64(v)) => w.varint(*v as u64),
        (_, Value::U32(v)) => w.varint(u64::from(*v)),
        (_, Value::U64(v)) => w.varint(*v),
        (_, Value::Bool(v)) => w.varint(u64::from(*v)),
        (_, Value::String(v)) => w.length_delimited(v.as_bytes()),
        (_, Value::Bytes(v)) => w.length_delimited(v),
        (
            Kind::Message {
                delimited: true, ..
            },
            Value::Message(message),
        ) => {
            message.write(w);
            w.tag(number, WireType::EndGroup);
        }
        (_, Value::Message(message)) => w.length_delimited(&message.encode_to_vec()),
    }
}
