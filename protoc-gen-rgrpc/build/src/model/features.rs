//! Features: what decides a field's presence, a repeated field's encoding,
//! an enum's openness and a message field's encoding, resolved as the
//! editions specification says (each edition's defaults, then the file's,
//! message's, oneof's, field's and enum's overrides), and, for proto2 and
//! proto3 files, as their syntax always has.
//!
//! The features are read from the file's encoded descriptor: the
//! descriptor types the generator decodes predate editions.

use std::collections::HashMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{FieldDescriptorProto, FileDescriptorProto};

use crate::Error;
use crate::encoded;

/// `FileDescriptorProto.edition` values.
pub mod edition {
    /// proto2.
    pub const PROTO2: i32 = 998;
    /// proto3.
    pub const PROTO3: i32 = 999;
    /// Edition 2023.
    pub const E2023: i32 = 1000;
    /// Edition 2024.
    pub const E2024: i32 = 1001;
}

/// `FeatureSet` field numbers, and the values this generator acts on.
mod feature {
    pub const FIELD_PRESENCE: u32 = 1;
    pub const ENUM_TYPE: u32 = 2;
    pub const REPEATED_FIELD_ENCODING: u32 = 3;
    pub const MESSAGE_ENCODING: u32 = 5;
    pub const JSON_FORMAT: u32 = 6;

    pub const EXPLICIT: i32 = 1;
    pub const IMPLICIT: i32 = 2;
    pub const LEGACY_REQUIRED: i32 = 3;
    pub const OPEN: i32 = 1;
    pub const CLOSED: i32 = 2;
    pub const PACKED: i32 = 1;
    pub const EXPANDED: i32 = 2;
    pub const LENGTH_PREFIXED: i32 = 1;
    pub const DELIMITED: i32 = 2;
    pub const ALLOW: i32 = 1;
    pub const LEGACY_BEST_EFFORT: i32 = 2;
}

/// The features of one element that the generated code depends on,
/// resolved. (`utf8_validation` does not change it: a `String` holds UTF-8,
/// so strings are checked whatever it says, as proto2's always were.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `field_presence`: EXPLICIT, IMPLICIT or LEGACY_REQUIRED.
    pub field_presence: i32,
    /// `enum_type`: OPEN or CLOSED.
    pub enum_type: i32,
    /// `repeated_field_encoding`: PACKED or EXPANDED.
    pub repeated_field_encoding: i32,
    /// `message_encoding`: LENGTH_PREFIXED or DELIMITED.
    pub message_encoding: i32,
    /// `json_format`: ALLOW (a message's fields must have distinct JSON
    /// names) or LEGACY_BEST_EFFORT.
    pub json_format: i32,
}

impl Features {
    /// The defaults of `edition`, or None for an edition this generator does
    /// not know.
    fn defaults(edition: i32) -> Option<Self> {
        use feature::*;
        let proto2 = Features {
            field_presence: EXPLICIT,
            enum_type: CLOSED,
            repeated_field_encoding: EXPANDED,
            message_encoding: LENGTH_PREFIXED,
            json_format: LEGACY_BEST_EFFORT,
        };
        let proto3 = Features {
            field_presence: IMPLICIT,
            enum_type: OPEN,
            repeated_field_encoding: PACKED,
            message_encoding: LENGTH_PREFIXED,
            json_format: ALLOW,
        };
        match edition {
            edition::PROTO2 => Some(proto2),
            edition::PROTO3 => Some(proto3),
            edition::E2023 | edition::E2024 => Some(Features {
                field_presence: EXPLICIT,
                ..proto3
            }),
            _ => None,
        }
    }

    /// These features with what `set` (an encoded `FeatureSet`) overrides.
    fn with(mut self, set: &[(u32, i32)]) -> Self {
        for &(number, value) in set {
            let slot = match number {
                feature::FIELD_PRESENCE => &mut self.field_presence,
                feature::ENUM_TYPE => &mut self.enum_type,
                feature::REPEATED_FIELD_ENCODING => &mut self.repeated_field_encoding,
                feature::MESSAGE_ENCODING => &mut self.message_encoding,
                feature::JSON_FORMAT => &mut self.json_format,
                _ => continue,
            };
            *slot = value;
        }
        self
    }
}

/// How a field's values are held and written, whatever the syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRules {
    /// Explicit presence (`Option<T>`) for a singular field.
    pub explicit: bool,
    /// A required field (proto2 `required`, `LEGACY_REQUIRED`).
    pub required: bool,
    /// A repeated scalar field written packed.
    pub packed: bool,
    /// A message field written delimited, as a group.
    pub delimited: bool,
}

/// The features of one file's elements, by descriptor path.
pub struct FileFeatures {
    /// The file's edition (proto2 and proto3 count as editions).
    edition: i32,
    /// Its edition's defaults.
    defaults: Features,
    /// The `features` each element declares, by path (the file's is `[]`).
    declared: HashMap<Vec<i32>, Vec<(u32, i32)>>,
}

/// What an element of a descriptor holds, by kind: which field numbers are
/// child elements of which kind, and which holds its options, and which
/// field of those the `features`.
#[derive(Clone, Copy)]
enum Kind {
    File,
    Message,
    Field,
    Enum,
    Value,
    Oneof,
}

impl Kind {
    fn child(self, number: u32) -> Option<Kind> {
        match (self, number) {
            (Kind::File, 4) | (Kind::Message, 3) => Some(Kind::Message),
            (Kind::File, 5) | (Kind::Message, 4) => Some(Kind::Enum),
            (Kind::File, 7) | (Kind::Message, 2 | 6) => Some(Kind::Field),
            (Kind::Message, 8) => Some(Kind::Oneof),
            (Kind::Enum, 2) => Some(Kind::Value),
            _ => None,
        }
    }

    /// The options field, and the `features` field within the options.
    fn options(self) -> (u32, u32) {
        match self {
            Kind::File => (8, 50),
            Kind::Message => (7, 12),
            Kind::Field => (8, 21),
            Kind::Enum => (3, 7),
            Kind::Value => (3, 2),
            Kind::Oneof => (2, 1),
        }
    }
}

/// `FileDescriptorProto.edition`.
const FILE_EDITION: u32 = 14;

/// `MessageOptions.deprecated_legacy_json_field_conflicts`: the message's
/// `json_format` is LEGACY_BEST_EFFORT.
const LEGACY_JSON_FIELD_CONFLICTS: u32 = 11;

impl FileFeatures {
    /// The features of `file`, encoded as `encoded`.
    pub fn of(file: &FileDescriptorProto, encoded: &[u8]) -> Result<Self, Error> {
        let mut declared = HashMap::new();
        let edition = match file.syntax() {
            "" | "proto2" => edition::PROTO2,
            "proto3" => edition::PROTO3,
            "editions" => encoded::varint_fields(encoded, "a FileDescriptorProto")?
                .into_iter()
                .rev()
                .find(|(number, _)| *number == FILE_EDITION)
                .map(|(_, edition)| edition)
                .unwrap_or_default(),
            other => {
                return Err(Error::Input(format!(
                    "{}: syntax \"{other}\" is not supported (protoc-gen-rgrpc supports proto2, \
                     proto3 and editions 2023 and 2024)",
                    file.name()
                )));
            }
        };
        // Any syntax: proto2 and proto3 declare no features, but a message's
        // `deprecated_legacy_json_field_conflicts` is its json_format.
        collect(encoded, Kind::File, &mut Vec::new(), &mut declared)?;
        let defaults = Features::defaults(edition).ok_or_else(|| {
            Error::Input(format!(
                "{}: edition {edition} is not supported (protoc-gen-rgrpc supports proto2, \
                 proto3 and editions 2023 and 2024)",
                file.name()
            ))
        })?;
        Ok(FileFeatures {
            edition,
            defaults,
            declared,
        })
    }

    /// The features of the element at `path`, inherited along `chain` (the
    /// paths of the elements that hold it, outermost first).
    fn resolve<'p>(&self, chain: impl IntoIterator<Item = &'p [i32]>) -> Features {
        std::iter::once(&[][..])
            .chain(chain)
            .fold(self.defaults, |features, path| {
                match self.declared.get(path) {
                    Some(set) => features.with(set),
                    None => features,
                }
            })
    }

    /// Whether the message at `path` must give its fields distinct JSON
    /// names (`json_format` ALLOW).
    pub fn json_names_distinct(&self, path: &[i32]) -> bool {
        self.resolve(ancestors(path)).json_format == feature::ALLOW
    }

    /// Whether the enum at `path` is closed: undeclared values go to the
    /// unknown fields.
    pub fn enum_closed(&self, path: &[i32]) -> bool {
        self.resolve(ancestors(path)).enum_type == feature::CLOSED
    }

    /// The rules of the field at `path` (`[..message, 2, index]`), a member
    /// of the oneof `oneof` of its message if it is in a real one.
    pub fn field(
        &self,
        path: &[i32],
        field: &FieldDescriptorProto,
        oneof: Option<i32>,
    ) -> FieldRules {
        let repeated = field.label() == Label::Repeated;
        let is_message = matches!(field.r#type(), Type::Message | Type::Group);
        if matches!(self.edition, edition::PROTO2 | edition::PROTO3) {
            // The syntax decides, with the `packed` option and proto3 `optional`.
            let proto3 = self.edition == edition::PROTO3;
            let packed_option = field.options.as_ref().and_then(|o| o.packed);
            return FieldRules {
                explicit: !proto3 || field.proto3_optional() || is_message || oneof.is_some(),
                required: field.label() == Label::Required,
                packed: repeated && packed_option.unwrap_or(proto3),
                delimited: field.r#type() == Type::Group,
            };
        }
        let message = &path[..path.len().saturating_sub(2)];
        let oneof_path: Option<Vec<i32>> = oneof.map(|index| [message, &[8, index]].concat());
        let mut chain: Vec<&[i32]> = ancestors(message).collect();
        chain.extend(oneof_path.as_deref());
        chain.push(path);
        let features = self.resolve(chain);
        FieldRules {
            explicit: features.field_presence != feature::IMPLICIT || is_message || oneof.is_some(),
            required: features.field_presence == feature::LEGACY_REQUIRED,
            packed: repeated && features.repeated_field_encoding == feature::PACKED,
            delimited: field.r#type() == Type::Group
                || (field.r#type() == Type::Message
                    && features.message_encoding == feature::DELIMITED),
        }
    }
}

/// `path` and the paths of the elements holding it, outermost first (each
/// element's path is a pair longer than its parent's).
fn ancestors(path: &[i32]) -> impl Iterator<Item = &[i32]> {
    (1..=path.len() / 2).map(move |pairs| &path[..pairs * 2])
}

/// Records the `features` declared by the element `bytes` (of `kind`, at
/// `path`) and by every element inside it.
fn collect(
    bytes: &[u8],
    kind: Kind,
    path: &mut Vec<i32>,
    declared: &mut HashMap<Vec<i32>, Vec<(u32, i32)>>,
) -> Result<(), Error> {
    let what = "a descriptor";
    let (options_field, features_field) = kind.options();
    let mut counts: HashMap<u32, i32> = HashMap::new();
    for (number, value) in encoded::children(bytes, what)? {
        if number == options_field {
            for set in encoded::files(value, features_field, what)? {
                let features = encoded::varint_fields(set, what)?;
                declared.entry(path.clone()).or_default().extend(features);
            }
            let legacy_json = matches!(kind, Kind::Message)
                && encoded::varint_fields(value, what)?
                    .iter()
                    .any(|&(number, on)| number == LEGACY_JSON_FIELD_CONFLICTS && on != 0);
            if legacy_json {
                declared
                    .entry(path.clone())
                    .or_default()
                    .push((feature::JSON_FORMAT, feature::LEGACY_BEST_EFFORT));
            }
        } else if let Some(child) = kind.child(number) {
            let index = counts.entry(number).or_default();
            path.extend([number as i32, *index]);
            collect(value, child, path, declared)?;
            path.truncate(path.len() - 2);
            *index += 1;
        }
    }
    Ok(())
}
