//! All identifier and path logic: case conversion, keyword escaping, names
//! assigned per scope, and the Rust path of every proto type seen from any
//! module. Emitters take names and paths from here and never build them by
//! string concatenation.

use std::collections::BTreeSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// Words that need `r#` to be used as identifiers (strict and reserved keywords
/// of the 2024 edition).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Words that cannot be raw identifiers: they get a trailing underscore instead.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Methods of `rgrpc::Message`: an inherent method of the same name on a
/// generated type would shadow them, so getters avoid these names.
const MESSAGE_METHODS: &[&str] = &[
    "encode",
    "encode_to_vec",
    "encoded_len",
    "decode",
    "decode_bytes",
    "merge",
];

/// `name` made usable as an identifier: `type` -> `r#type`, `self` -> `self_`.
pub fn escape(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// A `proc_macro2::Ident` for a name produced by this module (raw when it starts with `r#`).
pub fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// Checks that `name`, from a .proto file, is a protobuf identifier: an ASCII
/// letter or underscore, then ASCII letters, digits and underscores. The
/// conversions below make valid Rust identifiers of every such name.
///
/// # Errors
/// What is wrong with `name`.
pub fn check_identifier(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '_')
    {
        return Err(format!(
            "it contains {c:?}; names may only contain ASCII letters, digits and underscores"
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("it starts with a digit".to_owned());
    }
    Ok(())
}

/// A converted name as an identifier: heck drops leading underscores, so a
/// name it turned into nothing (a field called `_`) gets `fallback`, and one
/// it left starting with a digit (`_1`) gets an underscore back.
fn spelled(converted: String, fallback: &str) -> String {
    if converted.is_empty() {
        fallback.to_owned()
    } else if converted.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{converted}")
    } else {
        converted
    }
}

/// The struct or enum name for a proto message, enum or oneof: `UpperCamelCase`.
pub fn type_name(proto: &str) -> String {
    escape(&spelled(proto.to_upper_camel_case(), "Unnamed"))
}

/// The field or module name for a proto name: `snake_case`.
pub fn value_name(proto: &str) -> String {
    escape(&spelled(proto.to_snake_case(), "unnamed"))
}

/// The module of a service's name and path constants: `Echo` ->
/// `echo_service`, and `ChatService` -> `chat_service`, not
/// `chat_service_service`.
pub fn service_module(service: &str) -> String {
    let snake = spelled(service.to_snake_case(), "unnamed");
    if snake == "service" || snake.ends_with("_service") {
        snake
    } else {
        format!("{snake}_service")
    }
}

/// The modules of a proto package: `user.v1` -> `user`, `v1`.
pub fn package_modules(package: &str) -> Vec<String> {
    package
        .split('.')
        .filter(|s| !s.is_empty())
        .map(value_name)
        .collect()
}

/// The constant names of an enum's values: `SHOUTY_CASE`, with the enum's own
/// name as prefix removed when every value carries it (`COLOR_RED` -> `RED`).
pub fn enum_value_names<'a>(
    enum_name: &str,
    values: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let values: Vec<String> = values
        .into_iter()
        .map(|v| v.to_shouty_snake_case())
        .collect();
    let prefix = format!("{}_", enum_name.to_shouty_snake_case());
    let strippable = values.iter().all(|v| {
        v.strip_prefix(&prefix)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_alphabetic())
    });
    let mut scope = Scope::default();
    values
        .iter()
        .map(|v| {
            let name = if strippable {
                &v[prefix.len()..]
            } else {
                v.as_str()
            };
            scope.claim(spelled(name.to_owned(), "UNNAMED"))
        })
        .collect()
}

/// The name of a constant: `SHOUTY_SNAKE_CASE`.
pub fn constant_name(proto: &str) -> String {
    spelled(proto.to_shouty_snake_case(), "UNNAMED")
}

/// The JSON name protoc gives a field without a `json_name` option:
/// `foo_bar_2` -> `fooBar2`.
pub fn json_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// The static holding the descriptor of the file `path`:
/// `user/v1/user.proto` -> `FILE_USER_V1_USER_PROTO`.
pub fn file_descriptor_name(path: &str) -> String {
    format!("FILE_{}", path.to_shouty_snake_case())
}

/// The getter for a field with a declared default: the field's own name,
/// unless that would shadow a `Message` method.
pub fn getter_name(field: &str) -> String {
    if MESSAGE_METHODS.contains(&field) {
        format!("{field}_value")
    } else {
        field.to_owned()
    }
}

/// Names already used in one Rust namespace; later claims of a taken name get underscores.
#[derive(Debug, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Marks `name` as used, whether or not it already was.
    pub fn reserve(&mut self, name: &str) {
        self.0.insert(name.to_owned());
    }

    /// Takes `wanted`, or `wanted_`, `wanted__`, ... if it is taken.
    pub fn claim(&mut self, wanted: String) -> String {
        let mut name = wanted;
        while !self.0.insert(name.clone()) {
            name.push('_');
        }
        name
    }
}

/// Where a generated type lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// In the module tree generated with it (or beside it), reached by relative paths.
    Local,
    /// In the runtime's well-known types, `::rgrpc::wkt`.
    WellKnown,
    /// In the runtime's `google.rpc` types, `::rgrpc::rpc`.
    Rpc,
    /// In another crate, at this Rust path (`extern_path`).
    Extern(String),
}

/// The Rust path of a generated struct or enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustPath {
    /// Where the module path starts.
    pub root: Root,
    /// Module names from the root (package modules, then message modules).
    pub modules: Vec<String>,
    /// The type's own name.
    pub name: String,
}

impl RustPath {
    /// The path as written in module `from` (module names from the root).
    pub fn tokens_from(&self, from: &[String]) -> TokenStream {
        let name = ident(&self.name);
        match &self.root {
            Root::WellKnown => {
                let modules = self.modules.iter().map(|m| ident(m));
                quote!(::rgrpc::wkt:: #(#modules::)* #name)
            }
            Root::Rpc => {
                let modules = self.modules.iter().map(|m| ident(m));
                quote!(::rgrpc::rpc:: #(#modules::)* #name)
            }
            Root::Extern(path) => {
                // A path Options::check parsed.
                let path: TokenStream = path.parse().unwrap_or_default();
                let modules = self.modules.iter().map(|m| ident(m));
                quote!(#path:: #(#modules::)* #name)
            }
            Root::Local => {
                let common = from
                    .iter()
                    .zip(&self.modules)
                    .take_while(|(a, b)| a == b)
                    .count();
                let supers = std::iter::repeat_n(quote!(super::), from.len() - common);
                let modules = self.modules[common..].iter().map(|m| ident(m));
                quote!(#(#supers)* #(#modules::)* #name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(value_name("type"), "r#type");
        assert_eq!(value_name("async"), "r#async");
        assert_eq!(value_name("self"), "self_");
        assert_eq!(type_name("Self"), "Self_");
        assert_eq!(type_name("Option"), "Option");
        assert_eq!(value_name("_"), "unnamed");
        assert_eq!(ident("r#type").to_string(), "r#type");
    }

    #[test]
    fn service_modules_say_service_once() {
        assert_eq!(service_module("Echo"), "echo_service");
        assert_eq!(service_module("ChatService"), "chat_service");
        assert_eq!(service_module("Service"), "service");
        assert_eq!(service_module("type"), "type_service");
        assert_eq!(service_module("Servicer"), "servicer_service");
    }

    #[test]
    fn only_protobuf_identifiers_pass_the_check() {
        for name in ["a", "A1", "_", "_1", "snake_case", "__x"] {
            assert_eq!(check_identifier(name), Ok(()), "{name}");
        }
        assert_eq!(check_identifier(""), Err("it is empty".to_owned()));
        assert_eq!(
            check_identifier("1a"),
            Err("it starts with a digit".to_owned())
        );
        for name in ["a\u{b2}", "\u{e9}t\u{e9}", "a-b", "a.b", "r#type"] {
            assert!(check_identifier(name).is_err(), "{name}");
        }
    }

    #[test]
    fn names_with_a_digit_after_leading_underscores_keep_an_underscore() {
        assert_eq!(type_name("_1"), "_1");
        assert_eq!(type_name("_2fast"), "_2fast");
        assert_eq!(value_name("__3d"), "_3d");
        assert_eq!(constant_name("_4"), "_4");
        assert_eq!(enum_value_names("E", ["_5"]), ["_5"]);
    }

    #[test]
    fn cases_convert() {
        assert_eq!(type_name("http_request"), "HttpRequest");
        assert_eq!(value_name("fieldName13"), "field_name13");
        assert_eq!(package_modules("user.v1"), ["user", "v1"]);
        assert_eq!(package_modules(""), Vec::<String>::new());
    }

    #[test]
    fn enum_prefixes_are_stripped_only_when_all_values_have_them() {
        assert_eq!(
            enum_value_names("Color", ["COLOR_RED", "COLOR_GREEN"]),
            ["RED", "GREEN"]
        );
        assert_eq!(
            enum_value_names("Color", ["COLOR_RED", "BLUE"]),
            ["COLOR_RED", "BLUE"]
        );
        // Stripping would leave an identifier starting with a digit.
        assert_eq!(
            enum_value_names("Size", ["SIZE_1", "SIZE_2"]),
            ["SIZE_1", "SIZE_2"]
        );
        // Values that become equal after case conversion stay distinct.
        assert_eq!(enum_value_names("E", ["foo", "FOO"]), ["FOO", "FOO_"]);
    }

    #[test]
    fn scopes_hand_out_distinct_names() {
        let mut scope = Scope::default();
        assert_eq!(scope.claim("foo".into()), "foo");
        assert_eq!(scope.claim("foo".into()), "foo_");
        assert_eq!(scope.claim("foo".into()), "foo__");
    }

    #[test]
    fn paths_are_relative_to_the_current_module() {
        let path = RustPath {
            root: Root::Local,
            modules: vec!["a".into(), "b".into()],
            name: "T".into(),
        };
        let from = |m: &[&str]| {
            path.tokens_from(&m.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .to_string()
        };
        assert_eq!(from(&["a", "b"]), "T");
        assert_eq!(from(&["a"]), "b :: T");
        assert_eq!(from(&["a", "b", "t"]), "super :: T");
        assert_eq!(from(&["c", "d"]), "super :: super :: a :: b :: T");
        assert_eq!(from(&[]), "a :: b :: T");
        // Types the runtime ships are named from the runtime, wherever they are used.
        for (root, name, expected) in [
            (Root::WellKnown, "Timestamp", ":: rgrpc :: wkt :: Timestamp"),
            (Root::Rpc, "Status", ":: rgrpc :: rpc :: Status"),
        ] {
            let shipped = RustPath {
                root,
                modules: vec![],
                name: name.into(),
            };
            assert_eq!(shipped.tokens_from(&["x".into()]).to_string(), expected);
        }
    }
}
