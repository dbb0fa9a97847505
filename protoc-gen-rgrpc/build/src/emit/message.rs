//! Message structs, their nested modules, oneof enums, getters and `Message` impls.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::docs::{deprecated, doc};
use super::{Ctx, attributes, enumeration, int_literal};
use crate::model::{
    Cardinality, DefaultValue, Field, FieldType, MAX_FIELD_NUMBER, Member, Message, Oneof, Scalar,
};
use crate::names::ident;
use crate::options::{BytesType, MapType};

/// The struct for `message`, its impls, and the module of its nested types.
pub fn message(ctx: &Ctx<'_>, message: &Message) -> TokenStream {
    let name = ident(&message.path.name);
    let full_name = &message.full_name;
    let docs = doc(&message.doc, || format!("The `{full_name}` message."));
    let unknown = ident(&message.unknown_fields);

    let fields = message.members.iter().map(|member| match member {
        Member::Field(field) => {
            let docs = doc(&field.doc, || {
                format!("Field `{}` ({}).", field.proto_name, field.number)
            });
            let name = ident(&field.name);
            let ty = field_type(ctx, field);
            let deprecated = deprecated(field.deprecated);
            let attributes = attributes(&field.attributes);
            quote!(#docs #deprecated #attributes pub #name: #ty,)
        }
        Member::Oneof(oneof) => {
            let docs = doc(&oneof.doc, || {
                format!(
                    "The `{}` oneof: at most one of its fields is set.",
                    oneof.proto_name
                )
            });
            let name = ident(&oneof.name);
            let ty = ctx.path(&oneof.path);
            let attributes = attributes(&oneof.field_attributes);
            quote!(#docs #attributes pub #name: ::core::option::Option<#ty>,)
        }
    });

    let getters = getters(ctx, message);
    let codec = codec(ctx, message);
    let nested = nested_module(ctx, message);
    let deprecated = deprecated(message.deprecated);
    let attributes = attributes(&message.attributes);
    quote! {
        #docs
        #deprecated
        #[derive(Clone, PartialEq, Default, Debug)]
        #attributes
        pub struct #name {
            #(#fields)*
            /// Fields this code does not know, kept to be written back unchanged.
            pub #unknown: ::rgrpc::UnknownFields,
        }

        #getters
        #codec
        #nested
    }
}

/// The module holding the nested messages, enums and oneof enums of `message`.
fn nested_module(ctx: &Ctx<'_>, message: &Message) -> TokenStream {
    let Some(module) = &message.nested_module else {
        return TokenStream::new();
    };
    let inner = ctx.nested(module);
    let messages = message.messages.iter().map(|m| self::message(&inner, m));
    let enums = message
        .enums
        .iter()
        .map(|e| enumeration::enumeration(&inner, e));
    let oneofs = message.members.iter().filter_map(|member| match member {
        Member::Oneof(oneof) => Some(oneof_enum(&inner, message, oneof)),
        Member::Field(_) => None,
    });
    let docs = format!(" Nested types of [`{}`].", message.path.name);
    let attributes = ctx.child_attributes(module);
    let module = ident(module);
    quote! {
        #[doc = #docs]
        #attributes
        pub mod #module {
            #(#messages)*
            #(#enums)*
            #(#oneofs)*
        }
    }
}

fn oneof_enum(ctx: &Ctx<'_>, message: &Message, oneof: &Oneof) -> TokenStream {
    let name = ident(&oneof.path.name);
    let docs = doc(&oneof.doc, || {
        format!(
            "The `{}` oneof of `{}`.",
            oneof.proto_name, message.full_name
        )
    });
    let variants = oneof.variants.iter().map(|variant| {
        let docs = doc(&variant.doc, || {
            format!("Field `{}` ({}).", variant.proto_name, variant.number)
        });
        let name = ident(&variant.name);
        let ty = value_type(ctx, &variant.ty);
        let deprecated = deprecated(variant.deprecated);
        let attributes = attributes(&variant.attributes);
        quote!(#docs #deprecated #attributes #name(#ty),)
    });
    let attributes = attributes(&oneof.attributes);
    quote! {
        #docs
        #[derive(Clone, PartialEq, Debug)]
        #attributes
        pub enum #name {
            #(#variants)*
        }
    }
}

/// The Rust type of one value of `ty`.
fn value_type(ctx: &Ctx<'_>, ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Scalar(Scalar::Bytes) if ctx.bytes == BytesType::Vec => {
            quote!(::std::vec::Vec<u8>)
        }
        FieldType::Scalar(scalar) => scalar_type(*scalar),
        FieldType::Enum { path, .. } => ctx.path(path),
        FieldType::Message { path, boxed, .. } => {
            let path = ctx.path(path);
            if *boxed {
                quote!(::std::boxed::Box<#path>)
            } else {
                path
            }
        }
    }
}

fn scalar_type(scalar: Scalar) -> TokenStream {
    match scalar {
        Scalar::Double => quote!(f64),
        Scalar::Float => quote!(f32),
        Scalar::Int32 | Scalar::SInt32 | Scalar::SFixed32 => quote!(i32),
        Scalar::Int64 | Scalar::SInt64 | Scalar::SFixed64 => quote!(i64),
        Scalar::UInt32 | Scalar::Fixed32 => quote!(u32),
        Scalar::UInt64 | Scalar::Fixed64 => quote!(u64),
        Scalar::Bool => quote!(bool),
        Scalar::String => quote!(::std::string::String),
        Scalar::Bytes => quote!(::rgrpc::Bytes),
    }
}

/// The struct field type for `field`.
fn field_type(ctx: &Ctx<'_>, field: &Field) -> TokenStream {
    let value = value_type(ctx, &field.ty);
    match &field.cardinality {
        Cardinality::Implicit => value,
        Cardinality::Optional | Cardinality::Required => quote!(::core::option::Option<#value>),
        Cardinality::Repeated { .. } => quote!(::std::vec::Vec<#value>),
        Cardinality::Map { key } => {
            let key = scalar_type(*key);
            match ctx.map {
                MapType::BTreeMap => quote!(::std::collections::BTreeMap<#key, #value>),
                MapType::HashMap => quote!(::std::collections::HashMap<#key, #value>),
            }
        }
    }
}

/// Wire type 2: length-delimited values (and packed runs, and map entries).
const WIRE_LENGTH_DELIMITED: u32 = 2;

/// The wire type of one value of `ty`, as the protobuf encoding defines it.
fn wire_type(ty: &FieldType) -> u32 {
    match ty {
        FieldType::Scalar(Scalar::Double | Scalar::Fixed64 | Scalar::SFixed64) => 1,
        FieldType::Scalar(Scalar::Float | Scalar::Fixed32 | Scalar::SFixed32) => 5,
        FieldType::Scalar(Scalar::String | Scalar::Bytes) => WIRE_LENGTH_DELIMITED,
        FieldType::Scalar(_) | FieldType::Enum { .. } => 0,
        FieldType::Message { group: true, .. } => 3,
        FieldType::Message { group: false, .. } => WIRE_LENGTH_DELIMITED,
    }
}

/// The tag of field `number` with wire type `wire_type`, as a literal to match on.
/// The model's field numbers are at most [`MAX_FIELD_NUMBER`], so the tag fits.
fn tag_of(number: u32, wire_type: u32) -> Literal {
    debug_assert!(
        number <= MAX_FIELD_NUMBER,
        "field number {number} out of range"
    );
    Literal::u32_unsuffixed((number << 3) | wire_type)
}

/// The codec kind for values of `ty` (`::rgrpc::__codegen::Int32`, `...::Message::<T>`).
fn kind(ctx: &Ctx<'_>, ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Scalar(Scalar::Bytes) if ctx.bytes == BytesType::Vec => {
            quote!(::rgrpc::__codegen::VecBytes)
        }
        FieldType::Scalar(scalar) => scalar_kind(*scalar),
        FieldType::Enum { path, .. } => {
            let path = ctx.path(path);
            quote!(::rgrpc::__codegen::Enum::<#path>)
        }
        FieldType::Message {
            path, boxed, group, ..
        } => {
            let path = ctx.path(path);
            let inline = if *group {
                quote!(::rgrpc::__codegen::Group::<#path>)
            } else {
                quote!(::rgrpc::__codegen::Message::<#path>)
            };
            if *boxed {
                quote!(::rgrpc::__codegen::Boxed::<#inline>)
            } else {
                inline
            }
        }
    }
}

fn scalar_kind(scalar: Scalar) -> TokenStream {
    let name = format_ident!("{}", format!("{scalar:?}"));
    quote!(::rgrpc::__codegen::#name)
}

/// The closed-enum decoder kind for `ty`, when `ty` is a closed enum.
fn closed_enum(ctx: &Ctx<'_>, ty: &FieldType) -> Option<TokenStream> {
    match ty {
        FieldType::Enum { path, closed: true } => {
            let path = ctx.path(path);
            Some(quote!(::rgrpc::__codegen::ClosedEnum::<#path>))
        }
        _ => None,
    }
}

/// Statements of one generated function, and the codec traits they call through.
#[derive(Default)]
struct Body {
    statements: Vec<TokenStream>,
    kind: bool,
    scalar: bool,
}

impl Body {
    fn push(&mut self, statement: TokenStream) {
        self.statements.push(statement);
    }

    fn via_kind(&mut self, statement: TokenStream) {
        self.kind = true;
        self.push(statement);
    }

    fn via_scalar(&mut self, statement: TokenStream) {
        self.scalar = true;
        self.push(statement);
    }

    /// The `use` that brings the traits called through into scope.
    fn imports(&self) -> TokenStream {
        let kind = self.kind.then(|| quote!(Kind as _));
        let scalar = self.scalar.then(|| quote!(Scalar as _));
        match (kind, scalar) {
            (None, None) => TokenStream::new(),
            (kind, scalar) => {
                let traits = kind.into_iter().chain(scalar);
                quote!(use ::rgrpc::__codegen::{#(#traits),*};)
            }
        }
    }
}

/// Whether writing `message` takes lengths from the size pass: it has a
/// field of message type (or group), a packed field or a map.
fn has_nested_lengths(message: &Message) -> bool {
    let nested = |ty: &FieldType| matches!(ty, FieldType::Message { .. });
    message.members.iter().any(|member| match member {
        Member::Field(field) => {
            nested(&field.ty)
                || matches!(
                    field.cardinality,
                    Cardinality::Repeated { packed: true } | Cardinality::Map { .. }
                )
        }
        Member::Oneof(oneof) => oneof.variants.iter().any(|variant| nested(&variant.ty)),
    })
}

/// The `impl ::rgrpc::Message`.
fn codec(ctx: &Ctx<'_>, message: &Message) -> TokenStream {
    let name = ident(&message.path.name);
    let full_name = &message.full_name;
    let unknown = ident(&message.unknown_fields);
    let mut size = Body::default();
    let mut write = Body::default();
    let mut merge = Body::default();
    let mut field_names = Vec::new();

    for member in &message.members {
        match member {
            Member::Field(field) => {
                field_names.push((field.number, field.proto_name.as_str()));
                field_codec(ctx, message, field, &mut size, &mut write, &mut merge);
            }
            Member::Oneof(oneof) => {
                field_names.extend(
                    oneof
                        .variants
                        .iter()
                        .map(|v| (v.number, v.proto_name.as_str())),
                );
                oneof_codec(ctx, message, oneof, &mut size, &mut write, &mut merge);
            }
        }
    }

    let size_imports = size.imports();
    let size_terms = &size.statements;
    let sizes = if size_terms.is_empty() {
        quote!(_sizes)
    } else {
        quote!(sizes)
    };
    let nested_lengths = (!has_nested_lengths(message)).then(|| {
        quote!(
            const NESTED_LENGTHS: bool = false;
        )
    });
    let write_imports = write.imports();
    let write_statements = &write.statements;
    let skip = quote!(d.skip_unknown(tag, &mut self.#unknown));
    let merge_imports = merge.imports();
    let merged = if merge.statements.is_empty() {
        skip
    } else {
        let arms = &merge.statements;
        quote! {
            match tag {
                #(#arms)*
                _ => #skip,
            }
        }
    };
    let field_names = field_names.iter().map(|(number, name)| {
        let number = Literal::u32_unsuffixed(*number);
        quote!((#number, #name))
    });
    let check_required = message.check_required.then(|| check_required(ctx, message));

    quote! {
        impl ::rgrpc::Message for #name {
            const NAME: &'static str = #full_name;
            const FIELD_NAMES: &'static [(u32, &'static str)] = &[#(#field_names),*];
            #nested_lengths

            fn compute_size(&self, #sizes: &mut ::rgrpc::__codegen::Sizes) -> usize {
                #size_imports
                self.#unknown.as_bytes().len() #(+ #size_terms)*
            }

            #[inline]
            fn write_fields(&self, w: &mut ::rgrpc::__codegen::Writer<'_>) {
                #write_imports
                #(#write_statements)*
                w.unknown(&self.#unknown);
            }

            #[inline]
            fn merge_fields(
                &mut self,
                d: &mut ::rgrpc::__codegen::Decoder<'_>,
                group: ::core::option::Option<u32>,
            ) -> ::core::result::Result<(), ::rgrpc::DecodeError> {
                #merge_imports
                while let ::core::option::Option::Some(tag) = d.next_tag(group)? {
                    let merged = #merged;
                    if let ::core::result::Result::Err(err) = merged {
                        return ::core::result::Result::Err(::rgrpc::__codegen::within::<Self>(err, tag));
                    }
                }
                ::core::result::Result::Ok(())
            }

            #check_required
        }
    }
}

fn field_codec(
    ctx: &Ctx<'_>,
    message: &Message,
    field: &Field,
    size: &mut Body,
    write: &mut Body,
    merge: &mut Body,
) {
    let number = Literal::u32_unsuffixed(field.number);
    let name = ident(&field.name);
    let unknown = ident(&message.unknown_fields);
    let k = kind(ctx, &field.ty);
    let closed = closed_enum(ctx, &field.ty);
    let tag = tag_of(field.number, wire_type(&field.ty));
    match &field.cardinality {
        Cardinality::Implicit => {
            size.via_scalar(quote!(#k::implicit_len(#number, &self.#name, sizes)));
            write.via_scalar(quote!(#k::write_implicit(w, #number, &self.#name);));
            merge.via_scalar(quote!(#tag => #k::merge_implicit(d, &mut self.#name),));
        }
        Cardinality::Optional | Cardinality::Required => {
            size.via_kind(quote!(#k::optional_len(#number, &self.#name, sizes)));
            write.via_kind(quote!(#k::write_optional(w, #number, &self.#name);));
            match closed {
                Some(closed) => merge.push(quote!(
                    #tag => #closed::merge_optional(d, #number, &mut self.#name, &mut self.#unknown),
                )),
                None => merge.via_kind(quote!(#tag => #k::merge_optional(d, #number, &mut self.#name),)),
            }
        }
        Cardinality::Repeated { packed } => {
            if *packed {
                size.via_scalar(quote!(#k::packed_len(#number, &self.#name, sizes)));
                write.via_scalar(quote!(#k::write_packed(w, #number, &self.#name);));
            } else {
                size.via_kind(quote!(#k::repeated_len(#number, &self.#name, sizes)));
                write.via_kind(quote!(#k::write_repeated(w, #number, &self.#name);));
            }
            // Either encoding is accepted, whichever the field is written in.
            let packed_tag = tag_of(field.number, WIRE_LENGTH_DELIMITED);
            match closed {
                Some(closed) => {
                    merge.push(quote!(
                        #tag => #closed::merge_repeated(d, #number, &mut self.#name, &mut self.#unknown),
                        #packed_tag => #closed::merge_packed(d, #number, &mut self.#name, &mut self.#unknown),
                    ));
                }
                None => {
                    merge
                        .via_kind(quote!(#tag => #k::merge_repeated(d, #number, &mut self.#name),));
                    if field.ty.packable() {
                        merge.via_scalar(
                            quote!(#packed_tag => #k::merge_packed(d, &mut self.#name),),
                        );
                    }
                }
            }
        }
        Cardinality::Map { key } => {
            let key = scalar_kind(*key);
            let map_tag = tag_of(field.number, WIRE_LENGTH_DELIMITED);
            size.push(quote!(::rgrpc::__codegen::map_len::<#key, #k>(#number, &self.#name, sizes)));
            write.push(quote!(::rgrpc::__codegen::write_map::<#key, #k>(w, #number, &self.#name);));
            match &field.ty {
                FieldType::Enum { path, closed: true } => {
                    let path = ctx.path(path);
                    merge.push(quote!(
                        #map_tag => ::rgrpc::__codegen::merge_closed_map::<#key, #path>(
                            d, #number, &mut self.#name, &mut self.#unknown,
                        ),
                    ));
                }
                _ => merge.push(quote!(
                    #map_tag => ::rgrpc::__codegen::merge_map::<#key, #k>(d, &mut self.#name),
                )),
            }
        }
    }
}

fn oneof_codec(
    ctx: &Ctx<'_>,
    message: &Message,
    oneof: &Oneof,
    size: &mut Body,
    write: &mut Body,
    merge: &mut Body,
) {
    let name = ident(&oneof.name);
    let unknown = ident(&message.unknown_fields);
    let enum_path = ctx.path(&oneof.path);
    let single = oneof.variants.len() == 1;
    let mut size_arms = Vec::new();
    let mut write_arms = Vec::new();
    for variant in &oneof.variants {
        let number = Literal::u32_unsuffixed(variant.number);
        let case = ident(&variant.name);
        let k = kind(ctx, &variant.ty);
        let tag = tag_of(variant.number, wire_type(&variant.ty));
        size_arms.push(quote!(::core::option::Option::Some(#enum_path::#case(v)) => #k::value_len(#number, v, sizes),));
        write_arms.push(quote!(::core::option::Option::Some(#enum_path::#case(v)) => #k::write_value(w, #number, v),));
        match closed_enum(ctx, &variant.ty) {
            Some(closed) => merge.push(quote!(
                #tag => #closed::merge_oneof(d, #number, &mut self.#name, #enum_path::#case, &mut self.#unknown),
            )),
            None => {
                let other = (!single).then(|| quote!(_ => ::core::option::Option::None,));
                merge.via_kind(quote!(
                    #tag => #k::merge_oneof(d, #number, &mut self.#name, #enum_path::#case, |o| match o {
                        #enum_path::#case(v) => ::core::option::Option::Some(v),
                        #other
                    }),
                ));
            }
        }
    }
    size.via_kind(quote!(match &self.#name {
        #(#size_arms)*
        ::core::option::Option::None => 0,
    }));
    write.via_kind(quote!(match &self.#name {
        #(#write_arms)*
        ::core::option::Option::None => {}
    }));
}

/// `check_required`: absent required fields, then nested messages that need checking.
fn check_required(ctx: &Ctx<'_>, message: &Message) -> TokenStream {
    let mut checks = Vec::new();
    let nested = |number: u32, boxed: bool| {
        let number = Literal::u32_unsuffixed(number);
        let value = if boxed { quote!(&**v) } else { quote!(v) };
        quote!(::rgrpc::__codegen::check_nested::<Self, _>(#number, #value)?;)
    };
    for member in &message.members {
        match member {
            Member::Field(field) => {
                let name = ident(&field.name);
                if field.cardinality == Cardinality::Required {
                    let number = Literal::u32_unsuffixed(field.number);
                    checks.push(quote! {
                        if self.#name.is_none() {
                            return ::core::result::Result::Err(::rgrpc::__codegen::missing_required::<Self>(#number));
                        }
                    });
                }
                let FieldType::Message {
                    boxed,
                    checks_required: true,
                    ..
                } = field.ty
                else {
                    continue;
                };
                let check = nested(field.number, boxed);
                checks.push(match field.cardinality {
                    Cardinality::Implicit | Cardinality::Optional | Cardinality::Required => {
                        quote!(if let ::core::option::Option::Some(v) = &self.#name { #check })
                    }
                    Cardinality::Repeated { .. } => quote!(for v in &self.#name { #check }),
                    Cardinality::Map { .. } => quote!(for v in self.#name.values() { #check }),
                });
            }
            Member::Oneof(oneof) => {
                let name = ident(&oneof.name);
                let enum_path = ctx.path(&oneof.path);
                for variant in &oneof.variants {
                    let FieldType::Message {
                        boxed,
                        checks_required: true,
                        ..
                    } = variant.ty
                    else {
                        continue;
                    };
                    let case = ident(&variant.name);
                    let check = nested(variant.number, boxed);
                    checks.push(quote! {
                        if let ::core::option::Option::Some(#enum_path::#case(v)) = &self.#name { #check }
                    });
                }
            }
        }
    }
    quote! {
        fn check_required(&self) -> ::core::result::Result<(), ::rgrpc::DecodeError> {
            #(#checks)*
            ::core::result::Result::Ok(())
        }
    }
}

/// Getters returning the value or its default, for fields with explicit presence.
fn getters(ctx: &Ctx<'_>, message: &Message) -> TokenStream {
    let getters: Vec<TokenStream> = message
        .members
        .iter()
        .filter_map(|member| match member {
            Member::Field(field) => field.getter.as_ref().map(|getter| (field, getter)),
            Member::Oneof(_) => None,
        })
        .map(|(field, getter)| {
            let name = ident(&field.name);
            let method = ident(&getter.name);
            let docs = format!(
                " The value of `{}`, or its default when it is not set.",
                field.proto_name
            );
            let (ty, body) = match &field.ty {
                FieldType::Scalar(Scalar::String) => (quote!(&str), quote!(self.#name.as_deref())),
                FieldType::Scalar(Scalar::Bytes) => (quote!(&[u8]), quote!(self.#name.as_deref())),
                other => (value_type(ctx, other), quote!(self.#name)),
            };
            let default = default_value(ctx, &getter.default);
            quote! {
                #[doc = #docs]
                pub fn #method(&self) -> #ty {
                    #body.unwrap_or(#default)
                }
            }
        })
        .collect();
    if getters.is_empty() {
        return TokenStream::new();
    }
    let name = ident(&message.path.name);
    quote! {
        impl #name {
            #(#getters)*
        }
    }
}

fn default_value(ctx: &Ctx<'_>, value: &DefaultValue) -> TokenStream {
    let signed = |negative: bool, literal: Literal| {
        if negative {
            quote!(-#literal)
        } else {
            quote!(#literal)
        }
    };
    let float = |ty: TokenStream, value: f64| {
        if value.is_nan() {
            quote!(#ty::NAN)
        } else if value.is_infinite() {
            if value < 0.0 {
                quote!(#ty::NEG_INFINITY)
            } else {
                quote!(#ty::INFINITY)
            }
        } else {
            signed(
                value.is_sign_negative(),
                Literal::f64_unsuffixed(value.abs()),
            )
        }
    };
    match value {
        DefaultValue::Bool(b) => quote!(#b),
        DefaultValue::Int(i) => int_literal(*i),
        DefaultValue::UInt(u) => signed(false, Literal::u64_unsuffixed(*u)),
        DefaultValue::Float32(value) => float(quote!(f32), f64::from(*value)),
        DefaultValue::Float64(value) => float(quote!(f64), *value),
        DefaultValue::String(text) => quote!(#text),
        DefaultValue::Bytes(bytes) => signed(false, Literal::byte_string(bytes)),
        DefaultValue::Enum { path, constant } => {
            let path = ctx.path(path);
            let constant = ident(constant);
            quote!(#path::#constant)
        }
    }
}
