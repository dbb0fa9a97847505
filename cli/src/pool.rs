//! The descriptors a server sent, and the declarations they hold, found by
//! full name and written back as .proto text.

use std::fmt::Write;

use rgrpc::wkt::field_descriptor_proto::{Label, Type};
use rgrpc::wkt::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto,
};

/// The files received so far.
#[derive(Default)]
pub struct Pool {
    files: Vec<FileDescriptorProto>,
}

/// A declaration, and what writing it needs to know.
pub enum Found<'a> {
    /// A service.
    Service(&'a ServiceDescriptorProto),
    /// A method.
    Method(&'a MethodDescriptorProto),
    /// A message, in a file of `syntax`.
    Message(&'a DescriptorProto, &'a str),
    /// A field of a message, in a file of `syntax`.
    Field(&'a FieldDescriptorProto, &'a str),
    /// An enum.
    Enum(&'a EnumDescriptorProto),
    /// An enum value.
    EnumValue(&'a EnumValueDescriptorProto),
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

impl Pool {
    /// Adds `files`, except those already here.
    pub fn add(&mut self, files: Vec<FileDescriptorProto>) {
        for file in files {
            if !self.has_file(file.name()) {
                self.files.push(file);
            }
        }
    }

    /// The files received.
    pub fn files(&self) -> &[FileDescriptorProto] {
        &self.files
    }

    /// The method `name` of the service `service`.
    pub fn method(&self, service: &str, name: &str) -> Option<&MethodDescriptorProto> {
        match self.find(service)? {
            Found::Service(found) => found.method.iter().find(|m| m.name() == name),
            _ => None,
        }
    }

    /// Whether the file `name` is here.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| f.name() == name)
    }

    /// The files that files here import but that are not here.
    pub fn missing_imports(&self) -> Vec<String> {
        let mut missing: Vec<String> = Vec::new();
        for file in &self.files {
            for import in &file.dependency {
                if !self.has_file(import) && !missing.contains(import) {
                    missing.push(import.clone());
                }
            }
        }
        missing
    }

    /// The declaration named `symbol` (without a leading dot).
    pub fn find(&self, symbol: &str) -> Option<Found<'_>> {
        let symbol = symbol.trim_start_matches('.');
        for file in &self.files {
            let package = file.package();
            let syntax = file.syntax();
            for service in &file.service {
                let name = join(package, service.name());
                if name == symbol {
                    return Some(Found::Service(service));
                }
                for method in &service.method {
                    if join(&name, method.name()) == symbol {
                        return Some(Found::Method(method));
                    }
                }
            }
            for message in &file.message_type {
                if let Some(found) = find_in_message(package, message, symbol, syntax) {
                    return Some(found);
                }
            }
            for enumeration in &file.enum_type {
                if let Some(found) = find_in_enum(package, enumeration, symbol) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// The message named `type_name` (`.pkg.Message`), if here.
    fn message(&self, type_name: &str) -> Option<&DescriptorProto> {
        match self.find(type_name)? {
            Found::Message(message, _) => Some(message),
            _ => None,
        }
    }

    /// `found` as grpcurl writes it: `NAME is a KIND:` and its .proto text.
    pub fn describe(&self, symbol: &str, found: &Found<'_>) -> String {
        let symbol = symbol.trim_start_matches('.');
        let mut out = String::new();
        let kind = match found {
            Found::Service(_) => "a service",
            Found::Method(_) => "a method",
            Found::Message(..) => "a message",
            Found::Field(..) => "a field",
            Found::Enum(_) => "an enum",
            Found::EnumValue(_) => "an enum value",
        };
        let _ = writeln!(out, "{symbol} is {kind}:");
        match found {
            Found::Service(service) => {
                let _ = writeln!(out, "service {} {{", service.name());
                for method in &service.method {
                    let _ = writeln!(out, "  {}", method_line(method));
                }
                out.push_str("}\n");
            }
            Found::Method(method) => {
                let _ = writeln!(out, "{}", method_line(method));
            }
            Found::Message(message, syntax) => self.write_message(&mut out, message, syntax, ""),
            Found::Field(field, syntax) => {
                let _ = writeln!(out, "{}", self.field_line(field, syntax));
            }
            Found::Enum(enumeration) => write_enum(&mut out, enumeration, ""),
            Found::EnumValue(value) => {
                let _ = writeln!(out, "{} = {};", value.name(), value.number());
            }
        }
        out
    }

    fn write_message(
        &self,
        out: &mut String,
        message: &DescriptorProto,
        syntax: &str,
        indent: &str,
    ) {
        let _ = writeln!(out, "{indent}message {} {{", message.name());
        let inner = format!("{indent}  ");
        let mut oneofs_written = Vec::new();
        for field in &message.field {
            let oneof = field
                .oneof_index
                .filter(|_| !field.proto3_optional())
                .and_then(|i| Some((i, message.oneof_decl.get(usize::try_from(i).ok()?)?)));
            match oneof {
                Some((index, _)) if oneofs_written.contains(&index) => {}
                Some((index, decl)) => {
                    oneofs_written.push(index);
                    let _ = writeln!(out, "{inner}oneof {} {{", decl.name());
                    for member in message
                        .field
                        .iter()
                        .filter(|f| f.oneof_index == Some(index) && !f.proto3_optional())
                    {
                        let _ = writeln!(out, "{inner}  {}", self.field_line(member, syntax));
                    }
                    let _ = writeln!(out, "{inner}}}");
                }
                None => {
                    let _ = writeln!(out, "{inner}{}", self.field_line(field, syntax));
                }
            }
        }
        for enumeration in &message.enum_type {
            write_enum(out, enumeration, &inner);
        }
        for nested in &message.nested_type {
            if !is_map_entry(nested) {
                self.write_message(out, nested, syntax, &inner);
            }
        }
        let _ = writeln!(out, "{indent}}}");
    }

    /// A field's declaration: `repeated string tags = 2;`.
    fn field_line(&self, field: &FieldDescriptorProto, syntax: &str) -> String {
        let entry = (field.r#type() == Type::MESSAGE)
            .then(|| self.message(field.type_name()))
            .flatten()
            .filter(|m| is_map_entry(m));
        let declared = match entry {
            Some(entry) => {
                let part = |number| {
                    entry
                        .field
                        .iter()
                        .find(|f| f.number() == number)
                        .map(type_name)
                        .unwrap_or_default()
                };
                format!("map<{}, {}>", part(1), part(2))
            }
            None => {
                let label = match field.label() {
                    Label::REPEATED => "repeated ",
                    Label::REQUIRED => "required ",
                    _ if field.proto3_optional() => "optional ",
                    _ if syntax == "proto3" || field.oneof_index.is_some() => "",
                    _ => "optional ",
                };
                format!("{label}{}", type_name(field))
            }
        };
        let default = field
            .default_value
            .as_deref()
            .map(|value| format!(" [default = {value}]"))
            .unwrap_or_default();
        format!("{declared} {} = {}{default};", field.name(), field.number())
    }
}

fn find_in_message<'a>(
    scope: &str,
    message: &'a DescriptorProto,
    symbol: &str,
    syntax: &'a str,
) -> Option<Found<'a>> {
    let name = join(scope, message.name());
    if name == symbol {
        return Some(Found::Message(message, syntax));
    }
    if !symbol.starts_with(&format!("{name}.")) {
        return None;
    }
    for field in &message.field {
        if join(&name, field.name()) == symbol {
            return Some(Found::Field(field, syntax));
        }
    }
    for nested in &message.nested_type {
        if let Some(found) = find_in_message(&name, nested, symbol, syntax) {
            return Some(found);
        }
    }
    for enumeration in &message.enum_type {
        if let Some(found) = find_in_enum(&name, enumeration, symbol) {
            return Some(found);
        }
    }
    None
}

fn find_in_enum<'a>(
    scope: &str,
    enumeration: &'a EnumDescriptorProto,
    symbol: &str,
) -> Option<Found<'a>> {
    if join(scope, enumeration.name()) == symbol {
        return Some(Found::Enum(enumeration));
    }
    // Values are named beside their enum, not inside it.
    enumeration
        .value
        .iter()
        .find(|value| join(scope, value.name()) == symbol)
        .map(Found::EnumValue)
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().is_some_and(|o| o.map_entry())
}

fn method_line(method: &MethodDescriptorProto) -> String {
    let stream = |streaming: bool| if streaming { "stream " } else { "" };
    format!(
        "rpc {} ( {}{} ) returns ( {}{} );",
        method.name(),
        stream(method.client_streaming()),
        method.input_type(),
        stream(method.server_streaming()),
        method.output_type()
    )
}

fn write_enum(out: &mut String, enumeration: &EnumDescriptorProto, indent: &str) {
    let _ = writeln!(out, "{indent}enum {} {{", enumeration.name());
    for value in &enumeration.value {
        let _ = writeln!(out, "{indent}  {} = {};", value.name(), value.number());
    }
    let _ = writeln!(out, "{indent}}}");
}

/// A field's type as .proto text: a scalar's keyword, or the full name of a
/// message or enum with its leading dot.
fn type_name(field: &FieldDescriptorProto) -> String {
    let scalar = match field.r#type() {
        Type::DOUBLE => "double",
        Type::FLOAT => "float",
        Type::INT64 => "int64",
        Type::UINT64 => "uint64",
        Type::INT32 => "int32",
        Type::FIXED64 => "fixed64",
        Type::FIXED32 => "fixed32",
        Type::BOOL => "bool",
        Type::STRING => "string",
        Type::BYTES => "bytes",
        Type::UINT32 => "uint32",
        Type::SFIXED32 => "sfixed32",
        Type::SFIXED64 => "sfixed64",
        Type::SINT32 => "sint32",
        Type::SINT64 => "sint64",
        Type::GROUP => return format!("group {}", field.type_name()),
        _ => return field.type_name().to_owned(),
    };
    scalar.to_owned()
}
