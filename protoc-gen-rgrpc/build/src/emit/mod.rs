//! Emitters: one per concern, each a function from the model to tokens.

mod docs;
mod enumeration;
mod message;
mod service;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Descriptor, File, Message, Model};
use crate::names::{RustPath, ident};
use crate::options::{BytesType, MapType, Options};

/// The version of the runtime's codegen interface this generator writes for.
const ABI: u32 = 2;

/// An integer literal without a type suffix, for contexts whose type is known.
pub fn int_literal(value: i64) -> TokenStream {
    let literal = proc_macro2::Literal::u64_unsuffixed(value.unsigned_abs());
    if value < 0 {
        quote!(-#literal)
    } else {
        quote!(#literal)
    }
}

/// The attributes that `type_attribute` and `field_attribute` give an
/// item, as the user wrote them ([`Options::check`](crate::Options::check)
/// made sure they parse).
pub fn attributes(attributes: &[String]) -> TokenStream {
    attributes
        .iter()
        .filter_map(|attribute| attribute.parse::<TokenStream>().ok())
        .collect()
}

/// Where the code being emitted lives, and the types it uses for `bytes`
/// and map fields.
pub struct Ctx<'a> {
    module: std::borrow::Cow<'a, [String]>,
    /// The type of `bytes` fields.
    pub bytes: BytesType,
    /// The type of map fields.
    pub map: MapType,
}

impl<'a> Ctx<'a> {
    /// Code in module `module` (names from the root of the generated tree),
    /// with the field types `options` ask for.
    pub fn new(module: &'a [String], options: &Options) -> Self {
        Self {
            module: module.into(),
            bytes: options.bytes,
            map: options.map,
        }
    }

    /// Code in the child module `name` of this one.
    pub fn nested(&self, name: &str) -> Ctx<'static> {
        let mut module = self.module.to_vec();
        module.push(name.to_owned());
        Ctx {
            module: module.into(),
            bytes: self.bytes,
            map: self.map,
        }
    }

    /// `path` as written here.
    pub fn path(&self, path: &RustPath) -> TokenStream {
        path.tokens_from(&self.module)
    }

    /// What a child module `name` of this one is declared with besides its docs.
    pub fn child_attributes(&self, name: &str) -> TokenStream {
        same_name_allowance(self.module.last().map(String::as_str), name)
    }
}

/// For a module named like the module holding it (package `shop`, message
/// `Shop` with nested types), the allowance clippy's `module_inception`
/// needs: the names come from the .proto file.
fn same_name_allowance(parent: Option<&str>, name: &str) -> TokenStream {
    if parent == Some(name) {
        quote!(#[allow(clippy::module_inception, reason = "the names come from the .proto file")])
    } else {
        TokenStream::new()
    }
}

/// What the top-level modules of the tree allow: a crate may leave
/// generated items unused, and generated code uses what its .proto files
/// deprecate (users of those items are warned all the same).
fn allowances(deprecated: bool) -> TokenStream {
    let deprecated =
        deprecated.then(|| quote!(#[allow(deprecated, reason = "generated code uses what its .proto files deprecate")]));
    quote! {
        #[allow(dead_code, reason = "a crate uses what it needs of its protos")]
        #deprecated
    }
}

/// The items of one .proto file, to be included in its package module, with
/// the sides of its services and the field types that `options` ask for.
pub fn file(file: &File, options: &Options) -> TokenStream {
    let services = options.services;
    let ctx = Ctx::new(&file.modules, options);
    let abi = proc_macro2::Literal::u32_unsuffixed(ABI);
    let messages = file.messages.iter().map(|m| message::message(&ctx, m));
    let enums = file.enums.iter().map(|e| enumeration::enumeration(&ctx, e));
    let file_descriptor = file.descriptor.as_ref().map(|d| d.name.as_str());
    let services = file
        .services
        .iter()
        .map(|s| service::service(&ctx, s, services, file_descriptor));
    let descriptor = file.descriptor.as_ref().map(|d| descriptor(&ctx, d));
    let json = match &file.descriptor {
        Some(descriptor) if options.json => json(&ctx, &file.messages, &descriptor.name),
        _ => TokenStream::new(),
    };
    quote! {
        const _: () = ::rgrpc::__codegen::check_abi(#abi);
        #descriptor
        #(#messages)*
        #(#enums)*
        #(#services)*
        #json
    }
}

/// serde's `Serialize` and `Deserialize` for `messages` and the messages
/// nested in them, in proto3's JSON mapping, by the descriptor in the
/// static `file`.
fn json(ctx: &Ctx<'_>, messages: &[Message], file: &str) -> TokenStream {
    fn each<'m>(messages: &'m [Message], all: &mut Vec<&'m Message>) {
        for message in messages {
            all.push(message);
            each(&message.messages, all);
        }
    }
    let file = ident(file);
    let mut all = Vec::new();
    each(messages, &mut all);
    let impls = all.into_iter().map(|message| {
        let ty = ctx.path(&message.path);
        quote! {
            impl ::rgrpc::__codegen::json::serde::Serialize for #ty {
                fn serialize<S: ::rgrpc::__codegen::json::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    ::rgrpc::__codegen::json::serialize(self, &#file, serializer)
                }
            }

            impl<'de> ::rgrpc::__codegen::json::serde::Deserialize<'de> for #ty {
                fn deserialize<D: ::rgrpc::__codegen::json::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    ::rgrpc::__codegen::json::deserialize(&#file, deserializer)
                }
            }
        }
    });
    quote!(#(#impls)*)
}

/// The widest line of a byte string literal, escapes included.
const BYTE_STRING_WIDTH: usize = 92;

/// `bytes` as a byte string literal broken into lines (each ending in a
/// backslash, after which the compiler skips the line break and the
/// indentation), so that generated files read and diff line by line.
fn byte_string(bytes: &[u8]) -> TokenStream {
    let mut text = String::from("b\"");
    let mut width = 0;
    for &byte in bytes {
        if width >= BYTE_STRING_WIDTH {
            text.push_str("\\\n    ");
            width = 0;
        }
        let escaped = match byte {
            b'"' => "\\\"".to_owned(),
            b'\\' => "\\\\".to_owned(),
            b'\n' => "\\n".to_owned(),
            b'\r' => "\\r".to_owned(),
            b'\t' => "\\t".to_owned(),
            // A space starting a line would be skipped with the indentation.
            b' ' if width == 0 => "\\x20".to_owned(),
            0x20..=0x7e => char::from(byte).to_string(),
            _ => format!("\\x{byte:02x}"),
        };
        width += escaped.len();
        text.push_str(&escaped);
    }
    text.push('"');
    text.parse().expect("a byte string literal")
}

/// The static holding a file's descriptor.
fn descriptor(ctx: &Ctx<'_>, descriptor: &Descriptor) -> TokenStream {
    let docs = format!(
        " The descriptor of `{}`: its `FileDescriptorProto`, encoded, without source info.",
        descriptor.proto_path
    );
    let name = ident(&descriptor.name);
    let proto_path = &descriptor.proto_path;
    let encoded = byte_string(&descriptor.encoded);
    let dependencies = descriptor.dependencies.iter().map(|d| ctx.path(d));
    quote! {
        #[doc = #docs]
        pub static #name: ::rgrpc::FileDescriptor = ::rgrpc::FileDescriptor::new(
            #proto_path,
            #encoded,
            &[#(&#dependencies),*],
        );
    }
}

/// The module tree: one module per package, including the files generated for it.
pub fn module_tree(model: &Model) -> TokenStream {
    #[derive(Default)]
    struct Node {
        package: String,
        includes: Vec<String>,
        /// Descriptors of files imported but not generated.
        descriptors: Vec<TokenStream>,
        children: std::collections::BTreeMap<String, Node>,
    }
    fn emit(name: Option<&str>, node: &Node, deprecated: bool) -> TokenStream {
        let descriptors = &node.descriptors;
        let includes = node
            .includes
            .iter()
            .map(|path| quote!(include!(#path);))
            .chain(descriptors.iter().cloned());
        // Files with no package belong at the root, where no attribute can
        // reach them: they go in a module of their own, which can carry the
        // allowance, seeing the root's names and seen through it.
        let includes = if name.is_none() && !(node.includes.is_empty() && descriptors.is_empty()) {
            let unused = allowances(deprecated);
            // Named as no proto package can be: those start with a letter.
            quote! {
                #unused
                mod _no_package {
                    #[allow(unused_imports, reason = "what the files refer to, if anything")]
                    use super::*;
                    #(#includes)*
                }
                #[allow(unused_imports, reason = "a crate uses what it needs of its protos")]
                pub use _no_package::*;
            }
        } else {
            quote!(#(#includes)*)
        };
        let children = node.children.iter().map(|(child_name, child)| {
            let docs = if child.includes.is_empty() && child.descriptors.is_empty() {
                format!(" Packages under `{}`.", child.package)
            } else {
                format!(" The `{}` package.", child.package)
            };
            let allowance = same_name_allowance(name, child_name);
            // Once, at the top: what a crate leaves unused of its protos is
            // its own business, not a warning.
            let unused = if name.is_none() {
                allowances(deprecated)
            } else {
                TokenStream::new()
            };
            let body = emit(Some(child_name), child, deprecated);
            let child_name = ident(child_name);
            quote!(#[doc = #docs] #unused #allowance pub mod #child_name { #body })
        });
        quote!(#includes #(#children)*)
    }

    fn node<'a>(root: &'a mut Node, package: &str, modules: &[String]) -> &'a mut Node {
        let mut node = root;
        let segments = package.split('.').filter(|s| !s.is_empty());
        for (module, segment) in modules.iter().zip(segments) {
            let package = if node.package.is_empty() {
                segment.to_owned()
            } else {
                format!("{}.{segment}", node.package)
            };
            node = node.children.entry(module.clone()).or_default();
            node.package = package;
        }
        node
    }

    let mut root = Node::default();
    for file in &model.files {
        node(&mut root, &file.package, &file.modules)
            .includes
            .push(file.output_path.clone());
    }
    for imported in &model.imported {
        let ctx = Ctx::new(&imported.modules, &Options::default());
        node(&mut root, &imported.package, &imported.modules)
            .descriptors
            .push(descriptor(&ctx, &imported.descriptor));
    }
    emit(None, &root, model.deprecates_anything())
}
