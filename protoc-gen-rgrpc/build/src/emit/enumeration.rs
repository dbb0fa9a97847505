//! Enums: an open newtype over `i32` with one constant per declared value.

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{deprecated, doc};
use super::{Ctx, attributes, int_literal};
use crate::model::Enum;
use crate::names::ident;

/// The newtype for `enumeration` and its impls.
pub fn enumeration(_ctx: &Ctx<'_>, enumeration: &Enum) -> TokenStream {
    let name = ident(&enumeration.path.name);
    let full_name = &enumeration.full_name;
    let docs = doc(&enumeration.doc, || format!("The `{full_name}` enum."));
    let constants = enumeration.values.iter().map(|value| {
        let docs = doc(&value.doc, || {
            format!("`{}` = {}.", value.proto_name, value.number)
        });
        let constant = ident(&value.name);
        let number = int_literal(value.number.into());
        let deprecated = deprecated(value.deprecated);
        quote!(#docs #deprecated pub const #constant: Self = Self(#number);)
    });
    // The first declared value is the default (and is 0 in proto3).
    let default = enumeration.values.first().map(|first| {
        let constant = ident(&first.name);
        quote!(Self::#constant)
    });
    // Aliases share a number; the first name declared for it is the one reported.
    let mut seen = std::collections::BTreeSet::new();
    let names = enumeration
        .values
        .iter()
        .filter(|value| seen.insert(value.number))
        .map(|value| {
            let number = int_literal(value.number.into());
            let proto_name = &value.proto_name;
            quote!(#number => ::core::option::Option::Some(#proto_name),)
        });
    let from_names = enumeration.values.iter().map(|value| {
        let proto_name = &value.proto_name;
        let constant = ident(&value.name);
        quote!(#proto_name => ::core::option::Option::Some(Self::#constant),)
    });
    let deprecated = deprecated(enumeration.deprecated);
    let attributes = attributes(&enumeration.attributes);
    quote! {
        #docs
        #deprecated
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #attributes
        pub struct #name(pub i32);

        impl #name {
            #(#constants)*
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                #default
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::rgrpc::__codegen::fmt_enum(*self, f)
            }
        }

        impl ::core::convert::From<i32> for #name {
            fn from(value: i32) -> Self {
                Self(value)
            }
        }

        impl ::core::convert::From<#name> for i32 {
            fn from(value: #name) -> Self {
                value.0
            }
        }

        impl ::rgrpc::Enumeration for #name {
            const NAME: &'static str = #full_name;

            fn name(self) -> ::core::option::Option<&'static str> {
                match self.0 {
                    #(#names)*
                    _ => ::core::option::Option::None,
                }
            }

            fn from_name(name: &str) -> ::core::option::Option<Self> {
                match name {
                    #(#from_names)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
