//! [`Index`]: every type of every file in the request, named once.
//!
//! Names are assigned here, per Rust module, in descriptor order, so that a
//! type has the same path whether its own file or a file importing it is
//! being generated.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use super::comments::path;
use super::features::FileFeatures;
use super::{is_map_entry, qualify};
use crate::Error;
use crate::names::{self, Root, RustPath, Scope};
use crate::options::{Options, WellKnownTypes};

/// The package the runtime ships types for.
const WELL_KNOWN_PACKAGE: &str = "google.protobuf";

/// The `google.rpc` files whose types the runtime ships, under `rgrpc::rpc`:
/// `Status`, `Code` and the error details.
const RPC_FILES: &[&str] = &[
    "google/rpc/status.proto",
    "google/rpc/code.proto",
    "google/rpc/error_details.proto",
];

/// A named type.
#[derive(Debug)]
pub struct TypeEntry {
    /// Where the type is and what it is called.
    pub path: RustPath,
    /// For messages with nested types or oneofs: the module holding them.
    pub nested_module: Option<String>,
    /// The .proto file that defines it.
    pub file: String,
    /// What kind of type it is.
    pub kind: TypeKind,
}

/// Message or enum.
#[derive(Debug)]
pub enum TypeKind {
    /// A message; map entries carry their key and value fields.
    Message {
        /// For synthetic map-entry messages: the key and value fields.
        map_entry: Option<Box<(FieldDescriptorProto, FieldDescriptorProto)>>,
    },
    /// An enum.
    Enum {
        /// Closed enums (proto2's, or `enum_type = CLOSED`) send undeclared
        /// values to the unknown fields.
        closed: bool,
        /// The descriptor.
        descriptor: EnumDescriptorProto,
        /// Each value's proto name and constant name, in declaration order.
        values: Vec<(String, String)>,
    },
}

/// The names generated for a service, all in its package's module.
#[derive(Debug, Clone)]
pub struct ServiceNames {
    /// The trait whose methods default to UNIMPLEMENTED.
    pub service_trait: String,
    /// The trait whose methods must all be implemented.
    pub unsafe_trait: String,
    /// The struct registering an implementation with a server.
    pub server: String,
    /// The client struct.
    pub client: String,
    /// The module of name and path constants.
    pub constants: String,
}

/// All types of a request.
pub struct Index {
    types: HashMap<String, TypeEntry>,
    services: HashMap<String, ServiceNames>,
    oneofs: HashMap<(String, String), RustPath>,
    /// Message -> messages held inline (singular or oneof fields).
    inline: HashMap<String, HashSet<String>>,
    /// Messages whose decoding must check `required` fields (their own or nested ones).
    required: HashSet<String>,
    /// File name -> the static holding its descriptor.
    descriptors: HashMap<String, RustPath>,
}

/// The file whose types are being indexed: its features, and where its
/// types live.
#[derive(Clone, Copy)]
struct At<'a> {
    features: &'a FileFeatures,
    root: &'a Root,
}

struct Builder<'a> {
    options: &'a Options,
    scopes: BTreeMap<Vec<String>, Scope>,
    index: Index,
    /// Message -> every message type its fields hold.
    holds: HashMap<String, HashSet<String>>,
    /// The file whose types are being indexed.
    file: String,
    /// Where the names of the file's types are claimed, before their
    /// modules: empty for this tree, the crate path for an extern package,
    /// whose names are another tree's.
    scope: Vec<String>,
}

impl Index {
    /// Names every type in `files`.
    pub fn build(
        files: &[FileDescriptorProto],
        features: &[FileFeatures],
        options: &Options,
    ) -> Result<Self, Error> {
        let mut builder = Builder {
            options,
            scopes: BTreeMap::new(),
            index: Index {
                types: HashMap::new(),
                services: HashMap::new(),
                oneofs: HashMap::new(),
                inline: HashMap::new(),
                required: HashSet::new(),
                descriptors: HashMap::new(),
            },
            holds: HashMap::new(),
            file: String::new(),
            scope: Vec::new(),
        };
        // Package modules first: a type or nested module never takes a package's name.
        for file in files {
            let modules = names::package_modules(file.package());
            for depth in 0..modules.len() {
                builder
                    .scopes
                    .entry(modules[..depth].to_vec())
                    .or_default()
                    .reserve(&modules[depth]);
            }
        }
        for (file, features) in files.iter().zip(features) {
            builder.file = file.name().to_owned();
            let (root, modules) = builder.root(file);
            builder.scope = match &root {
                Root::Extern(path) => vec![format!("extern {path}")],
                _ => Vec::new(),
            };
            let at = At {
                features,
                root: &root,
            };
            for (i, message) in file.message_type.iter().enumerate() {
                let path = [path::FILE_MESSAGE, i as i32];
                builder.message(message, file.package(), at, &modules, &path)?;
            }
            for (i, enumeration) in file.enum_type.iter().enumerate() {
                let path = [path::FILE_ENUM, i as i32];
                builder.enumeration(enumeration, file.package(), at, &modules, &path);
            }
            for service in &file.service {
                builder.service(service.name(), file.package(), &modules);
            }
        }
        // After the types, so that their names never depend on the files'.
        // The descriptors of extern packages' files are this tree's own.
        builder.scope = Vec::new();
        for file in files {
            let (root, modules) = match builder.root(file) {
                (Root::Extern(_), _) => (Root::Local, names::package_modules(file.package())),
                local => local,
            };
            let wanted = names::file_descriptor_name(file.name());
            let name = match root {
                Root::Local => builder.claim(&modules, wanted),
                Root::WellKnown | Root::Rpc | Root::Extern(_) => wanted,
            };
            let path = RustPath {
                root,
                modules,
                name,
            };
            builder
                .index
                .descriptors
                .insert(file.name().to_owned(), path);
        }
        builder.propagate_required();
        Ok(builder.index)
    }

    /// The type named `type_name` (with or without the leading dot).
    pub fn lookup(&self, type_name: &str) -> Result<&TypeEntry, Error> {
        let name = type_name.trim_start_matches('.');
        self.types.get(name).ok_or_else(|| {
            Error::Input(format!(
                "type {name} is referenced but not defined in the request"
            ))
        })
    }

    /// The names generated for service `full_name`.
    pub fn service(&self, full_name: &str) -> Result<&ServiceNames, Error> {
        self.services
            .get(full_name)
            .ok_or_else(|| Error::Input(format!("service {full_name} is not in the request")))
    }

    /// The static holding the descriptor of the file `name`.
    pub fn descriptor(&self, name: &str) -> Result<&RustPath, Error> {
        self.descriptors
            .get(name)
            .ok_or_else(|| Error::Input(format!("{name} is imported but not in the request")))
    }

    /// Whether the runtime ships the types (and descriptor) of the file `name`.
    pub fn in_runtime(&self, name: &str) -> bool {
        self.descriptors
            .get(name)
            .is_some_and(|path| matches!(path.root, Root::WellKnown | Root::Rpc))
    }

    /// The enum generated for oneof `oneof` of `message`.
    pub fn oneof(&self, message: &str, oneof: &str) -> Result<&RustPath, Error> {
        self.oneofs
            .get(&(message.to_owned(), oneof.to_owned()))
            .ok_or_else(|| Error::Input(format!("oneof {message}.{oneof} has no fields")))
    }

    /// The key and value fields when `type_name` is a map entry.
    pub fn map_entry(
        &self,
        type_name: &str,
    ) -> Option<(&FieldDescriptorProto, &FieldDescriptorProto)> {
        match &self.lookup(type_name).ok()?.kind {
            TypeKind::Message {
                map_entry: Some(entry),
            } => Some((&entry.0, &entry.1)),
            _ => None,
        }
    }

    /// The proto and constant names of the values of enum `type_name`.
    pub fn enum_values(&self, type_name: &str) -> Result<&[(String, String)], Error> {
        match &self.lookup(type_name)?.kind {
            TypeKind::Enum { values, .. } => Ok(values),
            TypeKind::Message { .. } => Err(Error::Input(format!("{type_name} is not an enum"))),
        }
    }

    /// Whether message `from` holds `to` inline, directly or through other
    /// inline fields (or is `to`): a field of type `from` inside `to` must then be boxed.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(message) = stack.pop() {
            if message == to {
                return true;
            }
            if seen.insert(message) {
                stack.extend(
                    self.inline
                        .get(message)
                        .into_iter()
                        .flatten()
                        .map(String::as_str),
                );
            }
        }
        false
    }

    /// Whether decoding `message` must check `required` fields.
    pub fn check_required(&self, message: &str) -> bool {
        self.required.contains(message)
    }
}

impl Builder<'_> {
    /// Where the types of `file` live.
    fn root(&self, file: &FileDescriptorProto) -> (Root, Vec<String>) {
        if let Some((path, rest)) = self.options.extern_package(file.package()) {
            return (Root::Extern(path.to_owned()), names::package_modules(rest));
        }
        let runtime = self.options.well_known_types == WellKnownTypes::Runtime;
        match file.package() {
            WELL_KNOWN_PACKAGE if runtime => (Root::WellKnown, Vec::new()),
            "google.rpc" if runtime && RPC_FILES.contains(&file.name()) => (Root::Rpc, Vec::new()),
            package => (Root::Local, names::package_modules(package)),
        }
    }

    fn claim(&mut self, modules: &[String], wanted: String) -> String {
        let key = self.scope.iter().chain(modules).cloned().collect();
        self.scopes.entry(key).or_default().claim(wanted)
    }

    fn message(
        &mut self,
        desc: &DescriptorProto,
        parent: &str,
        at: At<'_>,
        modules: &[String],
        path: &[i32],
    ) -> Result<(), Error> {
        let root = at.root;
        let full_name = qualify(parent, desc.name());
        let message_fields = desc
            .field
            .iter()
            .filter(|f| matches!(f.r#type(), Type::Message | Type::Group));
        self.index.inline.insert(
            full_name.clone(),
            message_fields
                .clone()
                .filter(|f| f.label() != Label::Repeated)
                .map(|f| f.type_name().trim_start_matches('.').to_owned())
                .collect(),
        );
        self.holds.insert(
            full_name.clone(),
            message_fields
                .map(|f| f.type_name().trim_start_matches('.').to_owned())
                .collect(),
        );
        let required = desc.field.iter().enumerate().any(|(i, f)| {
            let field_path = [path, &[path::MESSAGE_FIELD, i as i32]].concat();
            let oneof = f.oneof_index.filter(|_| !f.proto3_optional());
            at.features.field(&field_path, f, oneof).required
        });
        if required {
            self.index.required.insert(full_name.clone());
        }

        if is_map_entry(desc) {
            let field = |number: i32| {
                desc.field
                    .iter()
                    .find(|f| f.number() == number)
                    .cloned()
                    .ok_or_else(|| {
                        Error::Input(format!("map entry {full_name} lacks field {number}"))
                    })
            };
            let map_entry = Some(Box::new((field(1)?, field(2)?)));
            // Map entries get no Rust type: their fields become a map's key and value.
            self.insert(
                full_name,
                root,
                modules,
                String::new(),
                None,
                TypeKind::Message { map_entry },
            );
            return Ok(());
        }

        let name = self.claim(modules, names::type_name(desc.name()));
        let real_oneofs: Vec<&str> = desc
            .oneof_decl
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                desc.field
                    .iter()
                    .any(|f| f.oneof_index == Some(*i as i32) && !f.proto3_optional())
            })
            .map(|(_, o)| o.name())
            .collect();
        let has_nested = desc.nested_type.iter().any(|m| !is_map_entry(m))
            || !desc.enum_type.is_empty()
            || !real_oneofs.is_empty();
        let nested_module = has_nested.then(|| self.claim(modules, names::value_name(desc.name())));
        self.insert(
            full_name.clone(),
            root,
            modules,
            name,
            nested_module.clone(),
            TypeKind::Message { map_entry: None },
        );

        let inner: Vec<String> = modules.iter().cloned().chain(nested_module).collect();
        for (i, nested) in desc.nested_type.iter().enumerate() {
            let nested_path = [path, &[path::MESSAGE_NESTED, i as i32]].concat();
            self.message(nested, &full_name, at, &inner, &nested_path)?;
        }
        for (i, enumeration) in desc.enum_type.iter().enumerate() {
            let enum_path = [path, &[path::MESSAGE_ENUM, i as i32]].concat();
            self.enumeration(enumeration, &full_name, at, &inner, &enum_path);
        }
        for oneof in real_oneofs {
            let name = self.claim(&inner, names::type_name(oneof));
            self.index.oneofs.insert(
                (full_name.clone(), oneof.to_owned()),
                RustPath {
                    root: root.clone(),
                    modules: inner.clone(),
                    name,
                },
            );
        }
        Ok(())
    }

    fn enumeration(
        &mut self,
        desc: &EnumDescriptorProto,
        parent: &str,
        at: At<'_>,
        modules: &[String],
        path: &[i32],
    ) {
        let (root, closed) = (at.root, at.features.enum_closed(path));
        let full_name = qualify(parent, desc.name());
        let name = self.claim(modules, names::type_name(desc.name()));
        let constants = names::enum_value_names(desc.name(), desc.value.iter().map(|v| v.name()));
        let values = desc
            .value
            .iter()
            .map(|v| v.name().to_owned())
            .zip(constants)
            .collect();
        let kind = TypeKind::Enum {
            closed,
            descriptor: desc.clone(),
            values,
        };
        self.insert(full_name, root, modules, name, None, kind);
    }

    /// Records type `full_name`, named `name` in `modules` under `root`.
    fn insert(
        &mut self,
        full_name: String,
        root: &Root,
        modules: &[String],
        name: String,
        nested_module: Option<String>,
        kind: TypeKind,
    ) {
        let path = RustPath {
            root: root.clone(),
            modules: modules.to_vec(),
            name,
        };
        self.index.types.insert(
            full_name,
            TypeEntry {
                path,
                nested_module,
                file: self.file.clone(),
                kind,
            },
        );
    }

    /// Names the items generated for a service, after the file's types.
    fn service(&mut self, name: &str, package: &str, modules: &[String]) {
        let base = names::type_name(name);
        let mut claim = |wanted: String| self.claim(modules, wanted);
        let names = ServiceNames {
            service_trait: claim(base.clone()),
            unsafe_trait: claim(format!("Unsafe{base}")),
            server: claim(format!("{base}Server")),
            client: claim(format!("{base}Client")),
            constants: claim(names::service_module(name)),
        };
        self.index.services.insert(qualify(package, name), names);
    }

    /// A message needs a required check when it holds one that does.
    fn propagate_required(&mut self) {
        loop {
            let newly: Vec<String> = self
                .holds
                .iter()
                .filter(|(message, held)| {
                    !self.index.required.contains(*message)
                        && held.iter().any(|h| self.index.required.contains(h))
                })
                .map(|(message, _)| message.clone())
                .collect();
            if newly.is_empty() {
                return;
            }
            self.index.required.extend(newly);
        }
    }
}
