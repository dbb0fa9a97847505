//! Checks of the request that the rest of the model relies on: every name is a
//! protobuf identifier (so it converts to valid Rust identifiers) and every
//! field number is valid and used once per message. protoc makes these checks
//! itself, but a request may come from elsewhere.

use std::collections::BTreeMap;

use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use super::{MAX_FIELD_NUMBER, qualify};
use crate::Error;
use crate::names;

/// Checks every file of the request, imported ones included: their type
/// names are used too.
pub fn request(files: &[FileDescriptorProto]) -> Result<(), Error> {
    files.iter().try_for_each(|file| Checker { file }.file())
}

/// Checks one file; its errors start with the file's name.
struct Checker<'a> {
    file: &'a FileDescriptorProto,
}

impl Checker<'_> {
    fn file(&self) -> Result<(), Error> {
        let package = self.file.package();
        if !package.is_empty() {
            for segment in package.split('.') {
                self.name("package", package, segment)?;
            }
        }
        for message in &self.file.message_type {
            self.message(message, package)?;
        }
        for enumeration in &self.file.enum_type {
            self.enumeration(enumeration, package)?;
        }
        for service in &self.file.service {
            let full_name = qualify(package, service.name());
            self.name("service", &full_name, service.name())?;
            for method in &service.method {
                self.name("method", &qualify(&full_name, method.name()), method.name())?;
            }
        }
        Ok(())
    }

    /// An error when `name`, part of the name of the `kind` `full_name`, is not an identifier.
    fn name(&self, kind: &str, full_name: &str, name: &str) -> Result<(), Error> {
        names::check_identifier(name).map_err(|problem| {
            self.error(&format!(
                "{kind} {full_name}: invalid name {name:?}: {problem}"
            ))
        })
    }

    fn error(&self, message: &str) -> Error {
        Error::Input(format!("{}: {message}", self.file.name()))
    }

    fn message(&self, desc: &DescriptorProto, parent: &str) -> Result<(), Error> {
        let full_name = qualify(parent, desc.name());
        self.name("message", &full_name, desc.name())?;
        let mut numbers: BTreeMap<i32, &str> = BTreeMap::new();
        for field in &desc.field {
            let field_name = qualify(&full_name, field.name());
            self.name("field", &field_name, field.name())?;
            let number = field.number();
            if !u32::try_from(number).is_ok_and(|n| (1..=MAX_FIELD_NUMBER).contains(&n)) {
                return Err(self.error(&format!(
                    "field {field_name}: invalid number {number}: \
                     field numbers go from 1 to {MAX_FIELD_NUMBER}"
                )));
            }
            if let Some(other) = numbers.insert(number, field.name()) {
                return Err(self.error(&format!(
                    "field {field_name}: number {number} is already used by field {full_name}.{other}"
                )));
            }
        }
        for oneof in &desc.oneof_decl {
            self.name("oneof", &qualify(&full_name, oneof.name()), oneof.name())?;
        }
        for nested in &desc.nested_type {
            self.message(nested, &full_name)?;
        }
        for enumeration in &desc.enum_type {
            self.enumeration(enumeration, &full_name)?;
        }
        Ok(())
    }

    fn enumeration(&self, desc: &EnumDescriptorProto, parent: &str) -> Result<(), Error> {
        let full_name = qualify(parent, desc.name());
        self.name("enum", &full_name, desc.name())?;
        for value in &desc.value {
            self.name(
                "enum value",
                &qualify(&full_name, value.name()),
                value.name(),
            )?;
        }
        Ok(())
    }
}
