//! [`Registry`]: the message and enum types the JSON mapping knows, read
//! from file descriptors, with what the mapping needs of each field
//! resolved (its JSON name, its presence, whether it is a map, whether it
//! is written delimited, whether its enum is closed), whatever the file's
//! syntax or edition.

use std::collections::HashMap;
use std::sync::Arc;

use crate::descriptor::FileDescriptor;
use crate::wire::{Decoder, MAX_FIELD_NUMBER, UnknownFields, WireType};
use crate::wkt::field_descriptor_proto::{Label, Type};
use crate::wkt::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto};
use crate::{DecodeError, Message};

/// The message and enum types that JSON can be read into and written from,
/// and that an `Any` may hold.
///
/// A registry always knows the well-known types (`google.protobuf.*`) and
/// the `google.rpc` types rgrpc ships.
/// Add generated files with [`Registry::add`] (which adds their imports
/// too), or encoded `FileDescriptorProto`s, such as server reflection
/// returns, with [`Registry::add_encoded`]. Cloning is cheap.
#[derive(Clone)]
pub struct Registry {
    types: Arc<Types>,
}

#[derive(Clone, Default)]
struct Types {
    files: std::collections::BTreeSet<String>,
    messages: HashMap<String, Arc<MessageType>>,
    enums: HashMap<String, Arc<EnumType>>,
    /// Extensions of message types not added yet, by extendee.
    pending: HashMap<String, Vec<Field>>,
}

/// A message type, as the mapping reads and writes it.
#[derive(Clone)]
pub(crate) struct MessageType {
    /// The full name, such as `pkg.Outer.Inner`.
    pub(crate) name: String,
    /// In declaration order.
    pub(crate) fields: Vec<Field>,
    /// Each real oneof's members, by index into `fields`.
    pub(crate) oneofs: Vec<Vec<usize>>,
    by_number: HashMap<u32, usize>,
    by_name: HashMap<String, usize>,
}

/// One field of a message type, or an extension of it, whose name (JSON
/// or not) is its full name in brackets: `[pkg.ext]`.
#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) json_name: String,
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) shape: Shape,
    /// The real oneof it is a member of, by index into `oneofs`.
    pub(crate) oneof: Option<usize>,
    /// Whether a singular field has explicit presence.
    pub(crate) explicit: bool,
    /// Whether it is an extension.
    pub(crate) extension: bool,
}

impl Field {
    /// Whether the field tracks presence: a singular field with explicit
    /// presence, or an extension. The others (repeated fields, maps,
    /// proto3's plain singular fields) are what
    /// `always_print_fields_without_presence` prints.
    pub(crate) fn has_presence(&self) -> bool {
        self.extension || (self.shape == Shape::Single && self.explicit)
    }
}

/// How many values a field holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Single,
    Repeated,
    /// A map, whose keys and values are of its entry type's fields 1 and
    /// 2 (the field's own kind is the entry type).
    Map {
        key: Kind,
        value: Kind,
    },
}

/// The type of a field's values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    /// By the enum's full name.
    Enum(Arc<str>),
    /// By the message's full name; delimited ones are written as groups.
    Message {
        name: Arc<str>,
        delimited: bool,
    },
}

impl Kind {
    /// The wire type of one value of this kind.
    pub(crate) fn wire_type(&self) -> WireType {
        match self {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => WireType::Fixed64,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => WireType::Fixed32,
            Kind::String | Kind::Bytes => WireType::LengthDelimited,
            Kind::Message {
                delimited: true, ..
            } => WireType::StartGroup,
            Kind::Message { .. } => WireType::LengthDelimited,
            _ => WireType::Varint,
        }
    }
}

/// An enum type.
pub(crate) struct EnumType {
    /// The first name declared for each number.
    names: HashMap<i32, String>,
    numbers: HashMap<String, i32>,
    /// The first value declared: a closed enum's default.
    first: i32,
    /// Whether numbers it does not declare are refused.
    pub(crate) closed: bool,
}

impl EnumType {
    /// The name of `number`, when declared.
    pub(crate) fn name(&self, number: i32) -> Option<&str> {
        self.names.get(&number).map(String::as_str)
    }

    /// The number declared as `name`.
    pub(crate) fn number(&self, name: &str) -> Option<i32> {
        self.numbers.get(name).copied()
    }

    /// The default value: the first declared.
    pub(crate) fn default_value(&self) -> i32 {
        self.first
    }
}

impl MessageType {
    /// The field numbered `number`.
    pub(crate) fn field_by_number(&self, number: u32) -> Option<usize> {
        self.by_number.get(&number).copied()
    }

    /// The field whose JSON name or proto name is `name`.
    pub(crate) fn field_by_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// Why a descriptor could not be added to a [`Registry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError(String);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegistryError {}

impl From<DecodeError> for RegistryError {
    fn from(err: DecodeError) -> Self {
        RegistryError(format!("invalid FileDescriptorProto: {err}"))
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("files", &self.types.files)
            .finish()
    }
}

impl Registry {
    /// A registry of the well-known types, and of the `google.rpc` types
    /// rgrpc ships (`Status`, `Code` and the error details).
    pub fn new() -> Self {
        use crate::{rpc, wkt};
        let mut registry = Registry {
            types: Arc::default(),
        };
        for file in [
            &wkt::FILE_GOOGLE_PROTOBUF_ANY_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_API_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_DURATION_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_EMPTY_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_FIELD_MASK_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_STRUCT_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_TIMESTAMP_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_TYPE_PROTO,
            &wkt::FILE_GOOGLE_PROTOBUF_WRAPPERS_PROTO,
            &rpc::FILE_GOOGLE_RPC_CODE_PROTO,
            &rpc::FILE_GOOGLE_RPC_ERROR_DETAILS_PROTO,
            &rpc::FILE_GOOGLE_RPC_STATUS_PROTO,
        ] {
            registry
                .add(file)
                .expect("the shipped types' descriptors are valid");
        }
        registry
    }

    /// Adds the types of `file` and of the files it imports.
    ///
    /// # Errors
    /// When a descriptor is not a valid `FileDescriptorProto`, which
    /// generated code never gives.
    pub fn add(&mut self, file: &'static FileDescriptor) -> Result<(), RegistryError> {
        for file in file.with_dependencies() {
            if !self.has_file(file.name()) {
                self.add_file(file.decode()?)?;
            }
        }
        Ok(())
    }

    /// Adds the types of one encoded `FileDescriptorProto`, such as server
    /// reflection returns. The types its fields refer to must be added too
    /// (before or after) for those fields to be read or written.
    ///
    /// # Errors
    /// When `encoded` is not a valid `FileDescriptorProto`.
    pub fn add_encoded(&mut self, encoded: &[u8]) -> Result<(), RegistryError> {
        let file = FileDescriptorProto::decode(encoded)?;
        if self.has_file(file.name()) {
            return Ok(());
        }
        self.add_file(file)
    }

    /// Whether a message type of this full name is known.
    pub fn contains(&self, message: &str) -> bool {
        self.types.messages.contains_key(message)
    }

    /// Whether the file `name` has been added.
    pub(crate) fn has_file(&self, name: &str) -> bool {
        self.types.files.contains(name)
    }

    fn add_file(&mut self, file: FileDescriptorProto) -> Result<(), RegistryError> {
        let edition = match file.syntax() {
            "proto3" => edition::PROTO3,
            "editions" => varint_field(file.unknown_fields.as_bytes(), EDITION_FIELD)
                .ok_or_else(|| RegistryError(format!("{}: no edition", file.name())))?,
            _ => edition::PROTO2,
        };
        let defaults = Features::of(edition).ok_or_else(|| {
            RegistryError(format!(
                "{}: edition {edition} is not supported",
                file.name()
            ))
        })?;
        let features = defaults.with(
            file.options.as_ref().map(|o| &o.unknown_fields),
            features_in::FILE,
        );
        let scope = Scope { edition, features };
        // Built on a copy, kept only whole: a file that fails adds nothing.
        let mut copy = (*self.types).clone();
        let types = &mut copy;
        for message in &file.message_type {
            add_message(types, &scope, file.package(), message)?;
        }
        for enumeration in &file.enum_type {
            add_enum(types, &scope.features, file.package(), enumeration);
        }
        add_extensions(types, &scope, file.package(), &file.extension)?;
        types.files.insert(file.name().to_owned());
        self.types = Arc::new(copy);
        Ok(())
    }

    /// The message type `name` (a full name, without a leading dot).
    pub(crate) fn message(&self, name: &str) -> Option<&Arc<MessageType>> {
        self.types.messages.get(name)
    }

    /// The enum type `name`.
    pub(crate) fn enumeration(&self, name: &str) -> Option<&Arc<EnumType>> {
        self.types.enums.get(name)
    }
}

/// `FileDescriptorProto.edition`, newer than the descriptor types shipped.
const EDITION_FIELD: u32 = 14;
/// `features` in `FileOptions`, `MessageOptions`, `FieldOptions` and
/// `EnumOptions`.
mod features_in {
    pub(super) const FILE: u32 = 50;
    pub(super) const MESSAGE: u32 = 12;
    pub(super) const FIELD: u32 = 21;
    pub(super) const ENUM: u32 = 7;
}

/// `Edition` values.
mod edition {
    pub(super) const PROTO2: i32 = 998;
    pub(super) const PROTO3: i32 = 999;
    pub(super) const E2023: i32 = 1000;
    pub(super) const E2024: i32 = 1001;
}

/// The features the mapping depends on, resolved.
#[derive(Clone, Copy)]
struct Features {
    /// `field_presence`: 1 EXPLICIT, 2 IMPLICIT, 3 LEGACY_REQUIRED.
    field_presence: i32,
    /// `enum_type`: 1 OPEN, 2 CLOSED.
    enum_type: i32,
    /// `message_encoding`: 1 LENGTH_PREFIXED, 2 DELIMITED.
    message_encoding: i32,
}

const IMPLICIT: i32 = 2;
const CLOSED: i32 = 2;
const DELIMITED: i32 = 2;

impl Features {
    fn of(edition: i32) -> Option<Self> {
        let (field_presence, enum_type) = match edition {
            edition::PROTO2 => (1, CLOSED),
            edition::PROTO3 => (IMPLICIT, 1),
            edition::E2023 | edition::E2024 => (1, 1),
            _ => return None,
        };
        Some(Features {
            field_presence,
            enum_type,
            message_encoding: 1,
        })
    }

    /// These features with the overrides in `options`' `features` (field
    /// `number` of the options), if any.
    fn with(mut self, options: Option<&UnknownFields>, number: u32) -> Self {
        let Some(set) = options.and_then(|o| delimited_field(o, number)) else {
            return self;
        };
        let slots = [
            (1, &mut self.field_presence),
            (2, &mut self.enum_type),
            (5, &mut self.message_encoding),
        ];
        for (number, slot) in slots {
            if let Some(value) = varint_field(&set, number) {
                *slot = value;
            }
        }
        self
    }
}

/// The last value of varint field `number` in the encoded fields
/// `fields`, up to the first that does not read.
fn varint_field(fields: &[u8], number: u32) -> Option<i32> {
    let mut found = None;
    let mut d = Decoder::new(fields);
    while let Ok(Some(tag)) = d.next_tag(None) {
        let read = match tag == number << 3 {
            true => d.varint().map(|value| found = Some(value as i32)),
            false => d.skip_tag(tag),
        };
        if read.is_err() {
            break;
        }
    }
    found
}

/// The length-delimited field `number` among `fields`, its occurrences
/// joined (as a message field's are merged).
fn delimited_field(fields: &UnknownFields, number: u32) -> Option<Vec<u8>> {
    let mut found: Option<Vec<u8>> = None;
    let mut d = Decoder::new(fields.as_bytes());
    while let Ok(Some(tag)) = d.next_tag(None) {
        if tag == (number << 3) | WireType::LengthDelimited as u32 {
            found
                .get_or_insert_default()
                .extend_from_slice(d.slice().ok()?);
        } else {
            d.skip_tag(tag).ok()?;
        }
    }
    found
}

/// What a file's types are read in: its edition, and the features of the
/// file or message around them.
struct Scope {
    edition: i32,
    features: Features,
}

fn full_name(parent: &str, name: &str) -> String {
    match parent {
        "" => name.to_owned(),
        _ => format!("{parent}.{name}"),
    }
}

fn add_message(
    types: &mut Types,
    scope: &Scope,
    parent: &str,
    message: &DescriptorProto,
) -> Result<(), RegistryError> {
    let name = full_name(parent, message.name());
    let features = Scope {
        features: scope.features.with(
            message.options.as_ref().map(|o| &o.unknown_fields),
            features_in::MESSAGE,
        ),
        edition: scope.edition,
    };
    for nested in &message.nested_type {
        add_message(types, &features, &name, nested)?;
    }
    for enumeration in &message.enum_type {
        add_enum(types, &features.features, &name, enumeration);
    }
    add_extensions(types, &features, &name, &message.extension)?;
    // Real oneofs only: a proto3 `optional` field's is synthetic.
    let mut real = vec![None; message.oneof_decl.len()];
    let mut oneofs: Vec<Vec<usize>> = Vec::new();
    let mut fields = Vec::with_capacity(message.field.len());
    for field in &message.field {
        let oneof = match field.oneof_index {
            Some(i) if !field.proto3_optional() => {
                let slot = real
                    .get_mut(i as usize)
                    .ok_or_else(|| RegistryError(format!("{name}: invalid oneof index")))?;
                let index = *slot.get_or_insert_with(|| {
                    oneofs.push(Vec::new());
                    oneofs.len() - 1
                });
                oneofs[index].push(fields.len());
                Some(index)
            }
            _ => None,
        };
        let field_features = features.features.with(
            field.options.as_ref().map(|o| &o.unknown_fields),
            features_in::FIELD,
        );
        fields.push(resolve_field(
            &features,
            &field_features,
            message,
            field,
            oneof,
        )?);
    }
    let by_number = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.number, i))
        .collect();
    let mut by_name = HashMap::new();
    for (i, field) in fields.iter().enumerate() {
        by_name.insert(field.name.clone(), i);
        by_name.insert(field.json_name.clone(), i);
    }
    let mut resolved = MessageType {
        name: name.clone(),
        fields,
        oneofs,
        by_number,
        by_name,
    };
    for extension in types.pending.remove(&name).unwrap_or_default() {
        resolved.extend(extension);
    }
    types.messages.insert(name, Arc::new(resolved));
    Ok(())
}

impl MessageType {
    /// Adds an extension field.
    fn extend(&mut self, extension: Field) {
        let index = self.fields.len();
        self.by_number.insert(extension.number, index);
        self.by_name.insert(extension.json_name.clone(), index);
        self.fields.push(extension);
    }
}

/// Adds the extensions declared in `parent` (a package or a message) to
/// the types they extend, or keeps them until those are added.
fn add_extensions(
    types: &mut Types,
    scope: &Scope,
    parent: &str,
    extensions: &[FieldDescriptorProto],
) -> Result<(), RegistryError> {
    for extension in extensions {
        let features = scope.features.with(
            extension.options.as_ref().map(|o| &o.unknown_fields),
            features_in::FIELD,
        );
        let mut field = resolve_field(
            scope,
            &features,
            &DescriptorProto::default(),
            extension,
            None,
        )?;
        field.name = format!("[{}]", full_name(parent, extension.name()));
        field.json_name = field.name.clone();
        field.explicit = true;
        field.extension = true;
        let extendee = extension.extendee().trim_start_matches('.').to_owned();
        match types.messages.get_mut(&extendee) {
            Some(ty) => Arc::make_mut(ty).extend(field),
            None => types.pending.entry(extendee).or_default().push(field),
        }
    }
    Ok(())
}

fn resolve_field(
    scope: &Scope,
    features: &Features,
    message: &DescriptorProto,
    field: &FieldDescriptorProto,
    oneof: Option<usize>,
) -> Result<Field, RegistryError> {
    let type_name: Arc<str> = field.type_name().trim_start_matches('.').into();
    let mut kind = match field.r#type() {
        Type::DOUBLE => Kind::Double,
        Type::FLOAT => Kind::Float,
        Type::INT64 => Kind::Int64,
        Type::UINT64 => Kind::Uint64,
        Type::INT32 => Kind::Int32,
        Type::FIXED64 => Kind::Fixed64,
        Type::FIXED32 => Kind::Fixed32,
        Type::BOOL => Kind::Bool,
        Type::STRING => Kind::String,
        Type::BYTES => Kind::Bytes,
        Type::UINT32 => Kind::Uint32,
        Type::SFIXED32 => Kind::Sfixed32,
        Type::SFIXED64 => Kind::Sfixed64,
        Type::SINT32 => Kind::Sint32,
        Type::SINT64 => Kind::Sint64,
        Type::ENUM => Kind::Enum(type_name),
        Type::GROUP => Kind::Message {
            name: type_name,
            delimited: true,
        },
        Type::MESSAGE => Kind::Message {
            name: type_name,
            delimited: scope.edition >= edition::E2023 && features.message_encoding == DELIMITED,
        },
        other => {
            return Err(RegistryError(format!(
                "{}: field {} has unknown type {}",
                message.name(),
                field.name(),
                other.0
            )));
        }
    };
    let repeated = field.label() == Label::REPEATED;
    let shape = match &mut kind {
        Kind::Message { name, delimited } if repeated => match map_entry(message, name) {
            Some(entry) => {
                // Map entries are never delimited.
                *delimited = false;
                map_shape(scope, features, entry)?
            }
            None => Shape::Repeated,
        },
        _ if repeated => Shape::Repeated,
        _ => Shape::Single,
    };
    let explicit = match scope.edition {
        _ if matches!(kind, Kind::Message { .. }) || oneof.is_some() => true,
        edition::PROTO3 => field.proto3_optional(),
        edition::PROTO2 => true,
        _ => features.field_presence != IMPLICIT,
    };
    let json_name = match &field.json_name {
        Some(name) => name.clone(),
        None => camel_case(field.name()),
    };
    let number = u32::try_from(field.number())
        .ok()
        .filter(|n| (1..=MAX_FIELD_NUMBER).contains(n))
        .ok_or_else(|| {
            RegistryError(format!(
                "{}: field {} has the invalid number {}",
                message.name(),
                field.name(),
                field.number()
            ))
        })?;
    Ok(Field {
        name: field.name().to_owned(),
        json_name,
        number,
        kind,
        shape,
        oneof,
        explicit,
        extension: false,
    })
}

/// The map entry type `entry` (a full name), when it is one of `message`'s
/// nested types.
fn map_entry<'m>(message: &'m DescriptorProto, entry: &str) -> Option<&'m DescriptorProto> {
    let short = entry.rsplit('.').next()?;
    message.nested_type.iter().find(|nested| {
        nested.name() == short && nested.options.as_ref().is_some_and(|o| o.map_entry())
    })
}

/// The shape of a map field whose entry type is `entry`.
fn map_shape(
    scope: &Scope,
    features: &Features,
    entry: &DescriptorProto,
) -> Result<Shape, RegistryError> {
    let mut kinds = [1, 2].map(|number| {
        let field = entry.field.iter().find(|f| f.number() == number);
        let field = field.ok_or_else(|| {
            RegistryError(format!(
                "{}: a map entry without field {number}",
                entry.name()
            ))
        })?;
        // Resolved outside `message`, so that an entry's field is never
        // itself a map (a hostile descriptor would recurse without end).
        resolve_field(scope, features, &DescriptorProto::default(), field, None).map(|f| f.kind)
    });
    // Map values are never delimited.
    if let Ok(Kind::Message { delimited, .. }) = &mut kinds[1] {
        *delimited = false;
    }
    let [key, value] = kinds;
    Ok(Shape::Map {
        key: key?,
        value: value?,
    })
}

fn add_enum(
    types: &mut Types,
    features: &Features,
    parent: &str,
    enumeration: &EnumDescriptorProto,
) {
    let features = features.with(
        enumeration.options.as_ref().map(|o| &o.unknown_fields),
        features_in::ENUM,
    );
    let mut names = HashMap::new();
    let mut numbers = HashMap::new();
    for value in &enumeration.value {
        names
            .entry(value.number())
            .or_insert_with(|| value.name().to_owned());
        numbers.insert(value.name().to_owned(), value.number());
    }
    types.enums.insert(
        full_name(parent, enumeration.name()),
        Arc::new(EnumType {
            names,
            numbers,
            first: enumeration.value.first().map_or(0, |v| v.number()),
            closed: features.enum_type == CLOSED,
        }),
    );
}

/// A field's default JSON name: its name in lowerCamelCase, as protoc
/// derives it.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
