//! The model: a resolved, typed view of the files to generate, built from
//! descriptors once. Emitters read only this; it holds no tokens.

mod comments;
mod features;
mod index;
mod validate;

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, ServiceDescriptorProto,
};

use crate::Error;
use crate::names::{self, RustPath, Scope};
use crate::options::{Options, Paths};
use comments::{Comments, path};
use features::{FieldRules, FileFeatures};
pub use index::ServiceNames;
use index::{Index, TypeKind};

/// The largest field number protobuf allows, 2^29 - 1: a tag (number and
/// 3-bit wire type) fits in a `u32`.
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// Everything to generate in one run.
#[derive(Debug)]
pub struct Model {
    /// The files to generate, in request order.
    pub files: Vec<File>,
    /// The descriptors of files that generated ones import, directly or
    /// not, that are neither generated nor shipped by the runtime: the
    /// module tree holds them, each in its package's module.
    pub imported: Vec<Imported>,
}

impl Model {
    /// Whether anything generated is marked `deprecated = true`: generated
    /// code then uses deprecated items itself.
    pub fn deprecates_anything(&self) -> bool {
        fn message(m: &Message) -> bool {
            m.deprecated
                || m.members.iter().any(|member| match member {
                    Member::Field(field) => field.deprecated,
                    Member::Oneof(oneof) => oneof.variants.iter().any(|v| v.deprecated),
                })
                || m.messages.iter().any(message)
                || m.enums.iter().any(enumeration)
        }
        fn enumeration(e: &Enum) -> bool {
            e.deprecated || e.values.iter().any(|v| v.deprecated)
        }
        self.files.iter().any(|file| {
            file.messages.iter().any(message)
                || file.enums.iter().any(enumeration)
                || file
                    .services
                    .iter()
                    .any(|s| s.deprecated || s.methods.iter().any(|m| m.deprecated))
        })
    }
}

/// The descriptor of a .proto file, as generated code embeds it.
#[derive(Debug)]
pub struct Descriptor {
    /// The .proto path, as importers name it.
    pub proto_path: String,
    /// The static's name.
    pub name: String,
    /// The encoded `FileDescriptorProto`, without source info.
    pub encoded: Vec<u8>,
    /// The statics of the files it imports, in import order.
    pub dependencies: Vec<RustPath>,
}

/// A descriptor in the module tree, for a file not generated.
#[derive(Debug)]
pub struct Imported {
    /// The proto package.
    pub package: String,
    /// The Rust modules of the package.
    pub modules: Vec<String>,
    /// The descriptor.
    pub descriptor: Descriptor,
}

/// One .proto file and the Rust file made from it.
#[derive(Debug)]
pub struct File {
    /// The .proto path, as protoc names it (`user/v1/user.proto`).
    pub proto_path: String,
    /// The output path of the generated Rust file, relative to the output directory.
    pub output_path: String,
    /// The proto package (`user.v1`), maybe empty.
    pub package: String,
    /// The Rust modules of the package.
    pub modules: Vec<String>,
    /// Top-level messages, in declaration order.
    pub messages: Vec<Message>,
    /// Top-level enums, in declaration order.
    pub enums: Vec<Enum>,
    /// Services, in declaration order.
    pub services: Vec<Service>,
    /// The file's descriptor, unless `descriptors=false`.
    pub descriptor: Option<Descriptor>,
}

/// A service and the traits, server and client generated for it.
#[derive(Debug)]
pub struct Service {
    /// The full proto name (`echo.Echo`).
    pub full_name: String,
    /// The proto comment.
    pub doc: String,
    /// The generated items' names.
    pub names: ServiceNames,
    /// The methods, in declaration order.
    pub methods: Vec<Method>,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
}

/// The call shape of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

/// A service method.
#[derive(Debug)]
pub struct Method {
    /// The proto name (`EchoMessage`).
    pub proto_name: String,
    /// The Rust method name on the traits and the client.
    pub name: String,
    /// The name of its path constant.
    pub constant: String,
    /// The wire path, `/echo.Echo/EchoMessage`.
    pub path: String,
    /// The call shape.
    pub kind: RpcKind,
    /// The request message type.
    pub input: RustPath,
    /// The response message type.
    pub output: RustPath,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
}

/// A message and the struct generated for it.
#[derive(Debug)]
pub struct Message {
    /// The full proto name (`pkg.Outer.Inner`).
    pub full_name: String,
    /// Where the struct is and what it is called.
    pub path: RustPath,
    /// The module holding nested types and oneofs, when there are any.
    pub nested_module: Option<String>,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
    /// Attributes from `type_attribute`.
    pub attributes: Vec<String>,
    /// Fields and oneofs, ordered by (lowest) field number.
    pub members: Vec<Member>,
    /// The struct field holding unknown fields.
    pub unknown_fields: String,
    /// Nested messages (map entries excluded).
    pub messages: Vec<Message>,
    /// Nested enums.
    pub enums: Vec<Enum>,
    /// Whether decoding must check proto2 `required` fields here or below.
    pub check_required: bool,
}

/// A member of a message struct.
#[derive(Debug)]
pub enum Member {
    /// A plain field.
    Field(Field),
    /// A oneof: one struct field holding an enum.
    Oneof(Oneof),
}

/// A field outside any oneof.
#[derive(Debug)]
pub struct Field {
    /// The proto name.
    pub proto_name: String,
    /// The struct field name.
    pub name: String,
    /// The field number, in `1..=MAX_FIELD_NUMBER`.
    pub number: u32,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
    /// Attributes from `field_attribute`.
    pub attributes: Vec<String>,
    /// How many values and how presence is tracked.
    pub cardinality: Cardinality,
    /// The element type (for maps, the value type).
    pub ty: FieldType,
    /// For scalar and enum fields with explicit presence: the getter returning the default when unset.
    pub getter: Option<Getter>,
}

/// A getter for a field with explicit presence.
#[derive(Debug)]
pub struct Getter {
    /// The method name.
    pub name: String,
    /// The value returned when the field is unset.
    pub default: DefaultValue,
}

/// How a field holds its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Cardinality {
    /// proto3 singular scalar without `optional`: the zero value is not encoded.
    Implicit,
    /// Explicit presence (`Option<T>`): proto2 `optional`, proto3 `optional`, messages.
    Optional,
    /// proto2 `required`: `Option<T>`, checked on decode.
    Required,
    /// `repeated`, written packed or unpacked.
    Repeated {
        /// Whether the field is written packed.
        packed: bool,
    },
    /// `map<K, V>`; the field's `ty` is the value type.
    Map {
        /// The key type.
        key: Scalar,
    },
}

/// A oneof and the enum generated for it.
#[derive(Debug)]
pub struct Oneof {
    /// The proto name.
    pub proto_name: String,
    /// The struct field name.
    pub name: String,
    /// The enum, in the message's nested module.
    pub path: RustPath,
    /// The proto comment.
    pub doc: String,
    /// Attributes from `type_attribute`, for the enum.
    pub attributes: Vec<String>,
    /// Attributes from `field_attribute`, for the struct field.
    pub field_attributes: Vec<String>,
    /// One variant per field.
    pub variants: Vec<Variant>,
}

/// A oneof field, as an enum variant.
#[derive(Debug)]
pub struct Variant {
    /// The proto name.
    pub proto_name: String,
    /// The variant name.
    pub name: String,
    /// The field number, in `1..=MAX_FIELD_NUMBER`.
    pub number: u32,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
    /// Attributes from `field_attribute`.
    pub attributes: Vec<String>,
    /// The value type.
    pub ty: FieldType,
}

/// The type of a field's values.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// A scalar.
    Scalar(Scalar),
    /// An enum.
    Enum {
        /// The enum type.
        path: RustPath,
        /// proto2 enums are closed: undeclared values go to unknown fields.
        closed: bool,
    },
    /// A message or group.
    Message {
        /// The message type.
        path: RustPath,
        /// Held in a `Box` because it is part of a cycle of inline fields.
        boxed: bool,
        /// Encoded as a proto2 group.
        group: bool,
        /// Decoding must check `required` fields inside it.
        checks_required: bool,
    },
}

impl FieldType {
    /// Whether repeated values of this type can be packed: scalars other than
    /// `string` and `bytes`, and enums.
    pub fn packable(&self) -> bool {
        match self {
            FieldType::Scalar(scalar) => !matches!(scalar, Scalar::String | Scalar::Bytes),
            FieldType::Enum { .. } => true,
            FieldType::Message { .. } => false,
        }
    }
}

/// A protobuf scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Bool,
    String,
    Bytes,
}

/// A default value for a getter.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// `bool`.
    Bool(bool),
    /// Any signed integer type.
    Int(i64),
    /// Any unsigned integer type.
    UInt(u64),
    /// `float`.
    Float32(f32),
    /// `double`.
    Float64(f64),
    /// `string`.
    String(String),
    /// `bytes`, unescaped.
    Bytes(Vec<u8>),
    /// An enum constant.
    Enum {
        /// The enum type.
        path: RustPath,
        /// The constant's name.
        constant: String,
    },
}

/// An enum and the newtype generated for it.
#[derive(Debug)]
pub struct Enum {
    /// The full proto name.
    pub full_name: String,
    /// Where the type is and what it is called.
    pub path: RustPath,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
    /// Attributes from `type_attribute`.
    pub attributes: Vec<String>,
    /// Declared values, in declaration order (aliases included).
    pub values: Vec<EnumValue>,
}

/// A declared enum value.
#[derive(Debug)]
pub struct EnumValue {
    /// The name in the .proto file.
    pub proto_name: String,
    /// The associated constant.
    pub name: String,
    /// The number.
    pub number: i32,
    /// The proto comment.
    pub doc: String,
    /// Marked `deprecated = true`.
    pub deprecated: bool,
}

impl Model {
    /// Builds the model of `files_to_generate`, resolving references
    /// against all of `files`, whose encodings (without source info) are
    /// `encoded`, in the same order.
    pub fn build(
        files: &[FileDescriptorProto],
        encoded: &[Vec<u8>],
        files_to_generate: &[String],
        options: &Options,
    ) -> Result<Self, Error> {
        validate::request(files)?;
        let features = files
            .iter()
            .zip(encoded)
            .map(|(file, encoded)| FileFeatures::of(file, encoded))
            .collect::<Result<Vec<_>, _>>()?;
        let index = Index::build(files, &features, options)?;
        // An extern_path takes a package: one naming a type would change
        // nothing, silently.
        for (proto, rust) in &options.extern_paths {
            if index.lookup(proto).is_ok() {
                return Err(Error::Option(format!(
                    "invalid option \"extern_path={proto}={rust}\": {} is a message or enum; \
                     extern_path takes a package (extern_path=.PACKAGE=RUST_PATH)",
                    proto.trim_start_matches('.')
                )));
            }
        }
        let mut outputs: BTreeMap<String, String> = BTreeMap::new();
        let mut model = Model {
            files: Vec::new(),
            imported: Vec::new(),
        };
        let descriptors = Descriptors {
            index: &index,
            files,
            encoded,
        };
        // The files of extern packages are another crate's.
        let mut generated = Vec::with_capacity(files_to_generate.len());
        for name in files_to_generate {
            let at = files.iter().position(|f| f.name() == name).ok_or_else(|| {
                Error::Input(format!(
                    "{name} is to be generated but its descriptor is missing"
                ))
            })?;
            if options.extern_package(files[at].package()).is_none() {
                generated.push((name.clone(), at));
            }
        }
        let files_to_generate: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
        for (name, at) in generated {
            let file = &files[at];
            let built = FileBuilder {
                index: &index,
                file,
                comments: Comments::of(file),
                generated: &files_to_generate,
                options,
                features: &features[at],
            }
            .build(&descriptors)?;
            if let Some(first) = outputs.insert(built.output_path.clone(), name.clone()) {
                return Err(Error::OutputClash {
                    path: built.output_path,
                    first,
                    second: name,
                });
            }
            model.files.push(built);
        }
        if options.descriptors {
            model.imported = descriptors.imported(&files_to_generate)?;
        }
        Ok(model)
    }
}

/// The descriptors of a request's files.
struct Descriptors<'a> {
    index: &'a Index,
    files: &'a [FileDescriptorProto],
    encoded: &'a [Vec<u8>],
}

impl Descriptors<'_> {
    /// The descriptor of the file `name`.
    fn of(&self, name: &str) -> Result<Descriptor, Error> {
        let position = self.files.iter().position(|f| f.name() == name);
        let (file, encoded) = position
            .and_then(|i| Some((&self.files[i], self.encoded.get(i)?)))
            .ok_or_else(|| Error::Input(format!("{name} is imported but not in the request")))?;
        Ok(Descriptor {
            proto_path: name.to_owned(),
            name: self.index.descriptor(name)?.name.clone(),
            encoded: encoded.clone(),
            dependencies: file
                .dependency
                .iter()
                .map(|dependency| self.index.descriptor(dependency).cloned())
                .collect::<Result<_, _>>()?,
        })
    }

    /// The descriptors the module tree must hold: of the files that
    /// `generated` import, directly or not, which are neither generated
    /// nor in the runtime, in request order.
    fn imported(&self, generated: &[String]) -> Result<Vec<Imported>, Error> {
        let mut needed = std::collections::HashSet::new();
        let mut stack: Vec<&str> = generated.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            if self.index.in_runtime(name) || !needed.insert(name) {
                continue;
            }
            let file = self.files.iter().find(|f| f.name() == name);
            stack.extend(
                file.into_iter()
                    .flat_map(|f| f.dependency.iter().map(String::as_str)),
            );
        }
        self.files
            .iter()
            .filter(|file| {
                needed.contains(file.name()) && !generated.iter().any(|g| g == file.name())
            })
            .map(|file| {
                Ok(Imported {
                    package: file.package().to_owned(),
                    modules: names::package_modules(file.package()),
                    descriptor: self.of(file.name())?,
                })
            })
            .collect()
    }
}

struct FileBuilder<'a> {
    index: &'a Index,
    file: &'a FileDescriptorProto,
    comments: Comments,
    /// The files generated in this run: the module tree holds only these.
    generated: &'a [String],
    options: &'a Options,
    /// The file's features.
    features: &'a FileFeatures,
}

impl FileBuilder<'_> {
    /// The `type_attribute`s for the type `full_name` (no leading dot).
    fn type_attributes(&self, full_name: &str) -> Vec<String> {
        attributes(&self.options.type_attributes, full_name)
    }

    /// The `field_attribute`s for the field `full_name` (no leading dot).
    fn field_attributes(&self, full_name: &str) -> Vec<String> {
        attributes(&self.options.field_attributes, full_name)
    }

    /// The type `type_name`, used by `user`; it must be generated in this run
    /// (or be a well-known type the runtime ships), or the code would not compile.
    fn resolve(&self, type_name: &str, user: &str) -> Result<&index::TypeEntry, Error> {
        let entry = self.index.lookup(type_name)?;
        if entry.path.root == names::Root::Local && !self.generated.contains(&entry.file) {
            return Err(Error::Input(format!(
                "{user} uses {} from {}, which is not being generated; \
                 generate {} in the same run (add it to the files given to protoc)",
                type_name.trim_start_matches('.'),
                entry.file,
                entry.file
            )));
        }
        Ok(entry)
    }

    fn build(&self, descriptors: &Descriptors<'_>) -> Result<File, Error> {
        let (file, options) = (self.file, self.options);
        let package = file.package().to_owned();
        let stem = file.name().strip_suffix(".proto").unwrap_or(file.name());
        let output_path = match options.paths {
            Paths::SourceRelative => format!("{stem}.rs"),
            Paths::Import => {
                let base = stem.rsplit('/').next().unwrap_or(stem);
                let mut dirs: Vec<&str> = package.split('.').filter(|s| !s.is_empty()).collect();
                dirs.push(base);
                format!("{}.rs", dirs.join("/"))
            }
        };
        let messages = file
            .message_type
            .iter()
            .enumerate()
            .filter(|(_, m)| !is_map_entry(m))
            .map(|(i, m)| self.message(m, &package, vec![path::FILE_MESSAGE, i as i32]))
            .collect::<Result<_, _>>()?;
        let enums = file
            .enum_type
            .iter()
            .enumerate()
            .map(|(i, e)| {
                self.enumeration(
                    &qualify(&package, e.name()),
                    vec![path::FILE_ENUM, i as i32],
                )
            })
            .collect::<Result<_, _>>()?;
        let services = file
            .service
            .iter()
            .enumerate()
            .map(|(i, service)| self.service(service, &package, vec![path::FILE_SERVICE, i as i32]))
            .collect::<Result<_, _>>()?;
        let descriptor = options
            .descriptors
            .then(|| descriptors.of(file.name()))
            .transpose()?;
        Ok(File {
            services,
            descriptor,
            proto_path: file.name().to_owned(),
            output_path,
            modules: names::package_modules(&package),
            package,
            messages,
            enums,
        })
    }

    fn service(
        &self,
        desc: &ServiceDescriptorProto,
        package: &str,
        loc: Vec<i32>,
    ) -> Result<Service, Error> {
        let full_name = qualify(package, desc.name());
        // The client's own methods; an rpc must not shadow them.
        let mut method_names = Scope::default();
        method_names.reserve("new");
        method_names.reserve("channel");
        let mut constants = Scope::default();
        constants.reserve("NAME");
        let message = |method: &str, type_name: &str| match self
            .resolve(type_name, &format!("{full_name}.{method}"))?
        {
            entry @ index::TypeEntry {
                kind: TypeKind::Message { map_entry: None },
                ..
            } => Ok(entry.path.clone()),
            _ => Err(Error::Input(format!(
                "{full_name}.{method}: {type_name} is not a message"
            ))),
        };
        let methods = desc
            .method
            .iter()
            .enumerate()
            .map(|(i, method)| {
                let kind = match (method.client_streaming(), method.server_streaming()) {
                    (false, false) => RpcKind::Unary,
                    (false, true) => RpcKind::ServerStreaming,
                    (true, false) => RpcKind::ClientStreaming,
                    (true, true) => RpcKind::Bidi,
                };
                Ok(Method {
                    proto_name: method.name().to_owned(),
                    name: method_names.claim(names::value_name(method.name())),
                    constant: constants.claim(names::constant_name(method.name())),
                    path: format!("/{full_name}/{}", method.name()),
                    kind,
                    input: message(method.name(), method.input_type())?,
                    output: message(method.name(), method.output_type())?,
                    doc: self
                        .comments
                        .get(&[&loc[..], &[path::SERVICE_METHOD, i as i32]].concat()),
                    deprecated: method.options.as_ref().is_some_and(|o| o.deprecated()),
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Service {
            deprecated: desc.options.as_ref().is_some_and(|o| o.deprecated()),
            doc: self.comments.get(&loc),
            names: self.index.service(&full_name)?.clone(),
            methods,
            full_name,
        })
    }

    fn message(
        &self,
        desc: &DescriptorProto,
        parent: &str,
        loc: Vec<i32>,
    ) -> Result<Message, Error> {
        let full_name = qualify(parent, desc.name());
        let entry = self.index.lookup(&full_name)?;
        if self.features.json_names_distinct(&loc) {
            distinct_json_names(&full_name, desc)?;
        }

        let mut fields = Scope::default();
        let mut members: Vec<(u32, Member)> = Vec::new();
        let mut oneofs: BTreeMap<i32, Oneof> = BTreeMap::new();
        let mut oneof_first: BTreeMap<i32, u32> = BTreeMap::new();
        for (i, field) in desc.field.iter().enumerate() {
            // In 1..=MAX_FIELD_NUMBER: validate::request checked it.
            let number = field.number() as u32;
            let doc = self
                .comments
                .get(&[&loc[..], &[path::MESSAGE_FIELD, i as i32]].concat());
            let deprecated = field.options.as_ref().is_some_and(|o| o.deprecated());
            let real_oneof = field.oneof_index.filter(|_| !field.proto3_optional());
            let rules = self.features.field(
                &[&loc[..], &[path::MESSAGE_FIELD, i as i32]].concat(),
                field,
                real_oneof,
            );
            if let Some(oneof_index) = real_oneof {
                let oneof = match oneofs.entry(oneof_index) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let decl = desc.oneof_decl.get(oneof_index as usize).ok_or_else(|| {
                            Error::Input(format!(
                                "{full_name}.{}: oneof index out of range",
                                field.name()
                            ))
                        })?;
                        oneof_first.insert(oneof_index, number);
                        let oneof_name = qualify(&full_name, decl.name());
                        v.insert(Oneof {
                            attributes: self.type_attributes(&oneof_name),
                            field_attributes: self.field_attributes(&oneof_name),
                            proto_name: decl.name().to_owned(),
                            name: fields.claim(names::value_name(decl.name())),
                            path: self.index.oneof(&full_name, decl.name())?.clone(),
                            doc: self
                                .comments
                                .get(&[&loc[..], &[path::MESSAGE_ONEOF, oneof_index]].concat()),
                            variants: Vec::new(),
                        })
                    }
                };
                let mut variant_scope = Scope::default();
                for v in &oneof.variants {
                    variant_scope.claim(v.name.clone());
                }
                oneof.variants.push(Variant {
                    deprecated,
                    attributes: self.field_attributes(&qualify(&full_name, field.name())),
                    proto_name: field.name().to_owned(),
                    name: variant_scope.claim(names::type_name(field.name())),
                    number,
                    doc,
                    ty: self.field_type(&full_name, field, true, rules.delimited)?,
                });
                continue;
            }
            let name = fields.claim(names::value_name(field.name()));
            let (cardinality, ty) = self.cardinality_and_type(&full_name, field, rules)?;
            let getter = match (&cardinality, &ty) {
                (
                    Cardinality::Optional | Cardinality::Required,
                    FieldType::Scalar(_) | FieldType::Enum { .. },
                ) => Some(Getter {
                    name: names::getter_name(&name),
                    default: self.default_value(&full_name, field, &ty)?,
                }),
                _ => None,
            };
            members.push((
                number,
                Member::Field(Field {
                    deprecated,
                    attributes: self.field_attributes(&qualify(&full_name, field.name())),
                    proto_name: field.name().to_owned(),
                    name,
                    number,
                    doc,
                    cardinality,
                    ty,
                    getter,
                }),
            ));
        }
        for (index, oneof) in oneofs {
            members.push((oneof_first[&index], Member::Oneof(oneof)));
        }
        members.sort_by_key(|(number, _)| *number);

        let messages = desc
            .nested_type
            .iter()
            .enumerate()
            .filter(|(_, m)| !is_map_entry(m))
            .map(|(i, m)| {
                self.message(
                    m,
                    &full_name,
                    [&loc[..], &[path::MESSAGE_NESTED, i as i32]].concat(),
                )
            })
            .collect::<Result<_, _>>()?;
        let enums = desc
            .enum_type
            .iter()
            .enumerate()
            .map(|(i, e)| {
                self.enumeration(
                    &qualify(&full_name, e.name()),
                    [&loc[..], &[path::MESSAGE_ENUM, i as i32]].concat(),
                )
            })
            .collect::<Result<_, _>>()?;

        Ok(Message {
            deprecated: desc.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes: self.type_attributes(&full_name),
            doc: self.comments.get(&loc),
            path: entry.path.clone(),
            nested_module: entry.nested_module.clone(),
            members: members.into_iter().map(|(_, m)| m).collect(),
            unknown_fields: fields.claim("unknown_fields".to_owned()),
            messages,
            enums,
            check_required: self.index.check_required(&full_name),
            full_name,
        })
    }

    fn cardinality_and_type(
        &self,
        message: &str,
        field: &FieldDescriptorProto,
        rules: FieldRules,
    ) -> Result<(Cardinality, FieldType), Error> {
        if field.label() == Label::Repeated {
            if let Some((key, value)) = self.index.map_entry(field.type_name()) {
                let key = match self.field_type(message, key, false, false)? {
                    FieldType::Scalar(scalar)
                        if !matches!(scalar, Scalar::Float | Scalar::Double | Scalar::Bytes) =>
                    {
                        scalar
                    }
                    _ => {
                        return Err(Error::Input(format!(
                            "{message}.{}: invalid map key type",
                            field.name()
                        )));
                    }
                };
                // A map's values are length-prefixed, whatever the features.
                return Ok((
                    Cardinality::Map { key },
                    self.field_type(message, value, false, false)?,
                ));
            }
            let ty = self.field_type(message, field, false, rules.delimited)?;
            let packed = ty.packable() && rules.packed;
            return Ok((Cardinality::Repeated { packed }, ty));
        }
        let ty = self.field_type(message, field, true, rules.delimited)?;
        let cardinality = if rules.required {
            Cardinality::Required
        } else if rules.explicit {
            Cardinality::Optional
        } else {
            Cardinality::Implicit
        };
        Ok((cardinality, ty))
    }

    /// The type of `field`'s values; `inline` when the struct holds the value
    /// itself (not in a `Vec` or map), so that a recursive type needs a `Box`;
    /// `delimited` when a message is written as a group.
    fn field_type(
        &self,
        message: &str,
        field: &FieldDescriptorProto,
        inline: bool,
        delimited: bool,
    ) -> Result<FieldType, Error> {
        Ok(FieldType::Scalar(match field.r#type() {
            Type::Double => Scalar::Double,
            Type::Float => Scalar::Float,
            Type::Int64 => Scalar::Int64,
            Type::Uint64 => Scalar::UInt64,
            Type::Int32 => Scalar::Int32,
            Type::Fixed64 => Scalar::Fixed64,
            Type::Fixed32 => Scalar::Fixed32,
            Type::Bool => Scalar::Bool,
            Type::String => Scalar::String,
            Type::Bytes => Scalar::Bytes,
            Type::Uint32 => Scalar::UInt32,
            Type::Sfixed32 => Scalar::SFixed32,
            Type::Sfixed64 => Scalar::SFixed64,
            Type::Sint32 => Scalar::SInt32,
            Type::Sint64 => Scalar::SInt64,
            Type::Enum => {
                let entry =
                    self.resolve(field.type_name(), &format!("{message}.{}", field.name()))?;
                let TypeKind::Enum { closed, .. } = &entry.kind else {
                    return Err(Error::Input(format!(
                        "{message}.{}: {} is not an enum",
                        field.name(),
                        field.type_name()
                    )));
                };
                return Ok(FieldType::Enum {
                    path: entry.path.clone(),
                    closed: *closed,
                });
            }
            Type::Message | Type::Group => {
                let entry =
                    self.resolve(field.type_name(), &format!("{message}.{}", field.name()))?;
                return Ok(FieldType::Message {
                    path: entry.path.clone(),
                    boxed: inline
                        && self
                            .index
                            .reaches(field.type_name().trim_start_matches('.'), message),
                    group: delimited,
                    checks_required: self
                        .index
                        .check_required(field.type_name().trim_start_matches('.')),
                });
            }
        }))
    }

    fn default_value(
        &self,
        message: &str,
        field: &FieldDescriptorProto,
        ty: &FieldType,
    ) -> Result<DefaultValue, Error> {
        let declared = field.default_value.as_deref();
        let invalid = || {
            Error::Input(format!(
                "{message}.{}: invalid default value {:?}",
                field.name(),
                declared.unwrap_or("")
            ))
        };
        Ok(match ty {
            FieldType::Enum { path, .. } => {
                let values = self.index.enum_values(field.type_name())?;
                let chosen = match declared {
                    Some(name) => values
                        .iter()
                        .find(|(proto, _)| proto == name)
                        .ok_or_else(invalid)?,
                    None => values.first().ok_or_else(invalid)?,
                };
                DefaultValue::Enum {
                    path: path.clone(),
                    constant: chosen.1.clone(),
                }
            }
            FieldType::Scalar(scalar) => match scalar {
                Scalar::Bool => DefaultValue::Bool(declared == Some("true")),
                Scalar::Int32
                | Scalar::Int64
                | Scalar::SInt32
                | Scalar::SInt64
                | Scalar::SFixed32
                | Scalar::SFixed64 => {
                    DefaultValue::Int(declared.map_or(Ok(0), str::parse).map_err(|_| invalid())?)
                }
                Scalar::UInt32 | Scalar::UInt64 | Scalar::Fixed32 | Scalar::Fixed64 => {
                    DefaultValue::UInt(declared.map_or(Ok(0), str::parse).map_err(|_| invalid())?)
                }
                Scalar::Float => {
                    DefaultValue::Float32(parse_float(declared).ok_or_else(invalid)? as f32)
                }
                Scalar::Double => DefaultValue::Float64(parse_float(declared).ok_or_else(invalid)?),
                Scalar::String => DefaultValue::String(declared.unwrap_or_default().to_owned()),
                Scalar::Bytes => DefaultValue::Bytes(
                    unescape_bytes(declared.unwrap_or_default()).ok_or_else(invalid)?,
                ),
            },
            FieldType::Message { .. } => return Err(invalid()),
        })
    }

    fn enumeration(&self, full_name: &str, loc: Vec<i32>) -> Result<Enum, Error> {
        let entry = self.index.lookup(full_name)?;
        let TypeKind::Enum {
            descriptor, values, ..
        } = &entry.kind
        else {
            return Err(Error::Input(format!("{full_name} is not an enum")));
        };
        Ok(Enum {
            deprecated: descriptor.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes: self.type_attributes(full_name),
            full_name: full_name.to_owned(),
            path: entry.path.clone(),
            doc: self.comments.get(&loc),
            values: descriptor
                .value
                .iter()
                .zip(values)
                .enumerate()
                .map(|(i, (value, (_, name)))| EnumValue {
                    deprecated: value.options.as_ref().is_some_and(|o| o.deprecated()),
                    proto_name: value.name().to_owned(),
                    name: name.clone(),
                    number: value.number(),
                    doc: self
                        .comments
                        .get(&[&loc[..], &[path::ENUM_VALUE, i as i32]].concat()),
                })
                .collect(),
        })
    }
}

/// The attributes of `list` whose paths match `full_name` (no leading dot).
fn attributes(list: &[(String, String)], full_name: &str) -> Vec<String> {
    Options::attributes(list, &format!(".{full_name}"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// `parent.name`, or `name` alone at the root.
fn qualify(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().is_some_and(|o| o.map_entry())
}

/// A float default as protoc spells it: a number, `inf`, `-inf` or `nan`.
fn parse_float(declared: Option<&str>) -> Option<f64> {
    match declared {
        None => Some(0.0),
        Some("inf") => Some(f64::INFINITY),
        Some("-inf") => Some(f64::NEG_INFINITY),
        Some("nan") => Some(f64::NAN),
        Some(number) => number.parse().ok(),
    }
}

/// Undoes protoc's C escaping of a `bytes` default (`\n`, `\\`, `\"`, `\'`, `\ooo`, `\xhh`).
fn unescape_bytes(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escaped = bytes.next()?;
        out.push(match escaped {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            b'\\' | b'\'' | b'"' | b'?' => escaped,
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                u8::try_from(value).ok()?
            }
            b'x' => {
                let mut value = 0u32;
                let mut digits = 0;
                while let Some(d) = bytes.peek().and_then(|d| (*d as char).to_digit(16)) {
                    value = value * 16 + d;
                    bytes.next();
                    digits += 1;
                }
                if digits == 0 {
                    return None;
                }
                u8::try_from(value).ok()?
            }
            _ => return None,
        });
    }
    Some(out)
}

/// An error when two fields of the message `full_name` have one JSON name,
/// which `json_format` ALLOW (proto3's and the editions' default) refuses.
fn distinct_json_names(full_name: &str, desc: &DescriptorProto) -> Result<(), Error> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for field in &desc.field {
        let json_name = match &field.json_name {
            Some(name) => name.clone(),
            None => names::json_name(field.name()),
        };
        if let Some(other) = seen.insert(json_name.clone(), field.name()) {
            return Err(Error::Input(format!(
                "{full_name}: fields {other} and {} have the same JSON name \"{json_name}\", \
                 which json_format ALLOW refuses (set features.json_format = LEGACY_BEST_EFFORT \
                 on the message to allow it)",
                field.name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_defaults_are_unescaped() {
        assert_eq!(
            unescape_bytes(r"a\nb\\\'\x41\101\0").unwrap(),
            b"a\nb\\'AA\0"
        );
        assert_eq!(unescape_bytes(r"\377").unwrap(), [0xff]);
        assert_eq!(unescape_bytes(r"\q"), None);
        assert_eq!(unescape_bytes("\\"), None);
    }
}
