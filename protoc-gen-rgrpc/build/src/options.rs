//! [`Options`]: the plugin parameter (`--rgrpc_opt=...`), parsed strictly.

use std::str::FromStr;

use crate::Error;
use crate::names;

/// Where output files go, relative to the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paths {
    /// By package: `package user.v1` in `user.proto` becomes `user/v1/user.rs`.
    #[default]
    Import,
    /// Beside the input: `proto/user/v1/user.proto` becomes `proto/user/v1/user.rs`.
    SourceRelative,
}

/// What `google.protobuf.*` types and `google.rpc.Status` refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WellKnownTypes {
    /// The types that the rgrpc runtime ships, under `::rgrpc::wkt` and
    /// `::rgrpc::rpc`.
    #[default]
    Runtime,
    /// Types generated from the .proto files like any other package.
    Generate,
}

/// Which sides of each service to generate, to match the rgrpc features the
/// crate is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Services {
    /// The server traits, the server and the client.
    #[default]
    All,
    /// The client alone (rgrpc's `client` feature).
    Client,
    /// The server traits and the server alone (rgrpc's `server` feature).
    Server,
    /// No service code: messages alone, which compile against rgrpc without
    /// default features.
    None,
}

impl Services {
    /// Whether the server traits and the server are generated.
    pub fn server(self) -> bool {
        matches!(self, Services::All | Services::Server)
    }

    /// Whether the client is generated.
    pub fn client(self) -> bool {
        matches!(self, Services::All | Services::Client)
    }
}

/// The Rust type of `bytes` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BytesType {
    /// `rgrpc::Bytes` (`bytes::Bytes`): decoding from a `Bytes` buffer shares it.
    #[default]
    Bytes,
    /// `Vec<u8>`: every value is a copy.
    Vec,
}

/// The Rust type of map fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapType {
    /// `BTreeMap`: entries are encoded in key order, so encoding is deterministic.
    #[default]
    BTreeMap,
    /// `HashMap`: entries are encoded in the order the map gives.
    HashMap,
}

/// Generator options, from the comma-separated `key=value` plugin parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `paths=import|source_relative`.
    pub paths: Paths,
    /// `well_known_types=runtime|generate`.
    pub well_known_types: WellKnownTypes,
    /// `services=all|client|server|none`.
    pub services: Services,
    /// `descriptors=true|false`: whether each file carries its descriptor
    /// (a `FILE_...` static), which server reflection serves. On by default.
    pub descriptors: bool,
    /// `type_attribute=PATH=ATTRIBUTES`, in order: Rust attributes (such as
    /// `#[derive(Eq, Hash)]`) for the messages, enums and oneof enums that
    /// PATH matches (see [`Options::attributes`]).
    pub type_attributes: Vec<(String, String)>,
    /// `field_attribute=PATH=ATTRIBUTES`, in order: Rust attributes for the
    /// struct fields and oneof variants that PATH matches.
    pub field_attributes: Vec<(String, String)>,
    /// `extern_path=.PACKAGE=RUST_PATH`: the types of proto package
    /// PACKAGE (and the packages under it) are those of the Rust module
    /// RUST_PATH (such as `::other_crate::pb`), in another crate, and are
    /// not generated.
    pub extern_paths: Vec<(String, String)>,
    /// `bytes=bytes|vec`: the type of `bytes` fields.
    pub bytes: BytesType,
    /// `map=btree|hash`: the type of map fields.
    pub map: MapType,
    /// `json=true|false`: whether messages implement serde's `Serialize`
    /// and `Deserialize` in proto3's JSON mapping, through their file's
    /// descriptor (which `descriptors=false` leaves out), with rgrpc's
    /// `json` feature. Off by default.
    pub json: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paths: Paths::default(),
            well_known_types: WellKnownTypes::default(),
            services: Services::default(),
            descriptors: true,
            type_attributes: Vec::new(),
            field_attributes: Vec::new(),
            extern_paths: Vec::new(),
            bytes: BytesType::default(),
            map: MapType::default(),
            json: false,
        }
    }
}

const KNOWN: &str = "paths=import|source_relative, well_known_types=runtime|generate, \
                     services=all|client|server|none, descriptors=true|false, \
                     type_attribute=PATH=ATTRIBUTES, field_attribute=PATH=ATTRIBUTES, \
                     extern_path=.PACKAGE=RUST_PATH, bytes=bytes|vec, map=btree|hash, \
                     json=true|false";

/// Whether `path`, as prost-build takes paths, matches the declaration
/// whose full name is `name` (with its leading dot): `.` matches all; a
/// path with a leading dot is a full name, and matches that declaration
/// and everything declared inside it (`.pkg` matches a package); one
/// without is matched at the end of full names (`Msg.field`), or of the
/// name of what holds the declaration.
fn matches(path: &str, name: &str) -> bool {
    if path == "." {
        return true;
    }
    if path.starts_with('.') {
        return name == path || name.starts_with(&format!("{path}."));
    }
    let path = format!(".{path}");
    name.ends_with(&path) || name.contains(&format!("{path}."))
}

impl Options {
    /// Where the types of `package` are when an `extern_path` covers it:
    /// the Rust path of the longest proto path that does, and the rest of
    /// the package under it.
    pub fn extern_package<'a>(&self, package: &'a str) -> Option<(&str, &'a str)> {
        self.extern_paths
            .iter()
            .filter_map(|(proto, rust)| {
                let proto = proto.strip_prefix('.')?;
                let rest = if package == proto {
                    ""
                } else {
                    package.strip_prefix(proto)?.strip_prefix('.')?
                };
                Some((proto.len(), rust.as_str(), rest))
            })
            .max_by_key(|(len, ..)| *len)
            .map(|(_, rust, rest)| (rust, rest))
    }

    /// The attributes for the declaration named `name` (a full name with
    /// its leading dot), from `list` (type or field attributes).
    pub fn attributes<'a>(list: &'a [(String, String)], name: &str) -> Vec<&'a str> {
        list.iter()
            .filter(|(path, _)| matches(path, name))
            .map(|(_, attributes)| attributes.as_str())
            .collect()
    }

    /// Checks what the options hold beyond their spelling: that each
    /// attribute is Rust attributes (`#[...]`, one or more).
    ///
    /// # Errors
    /// [`Error::Option`] naming the first that is not.
    pub fn check(&self) -> Result<(), Error> {
        let lists = [
            ("type_attribute", &self.type_attributes),
            ("field_attribute", &self.field_attributes),
        ];
        for (key, list) in lists {
            for (path, attributes) in list {
                let parsed = syn::parse::Parser::parse_str(syn::Attribute::parse_outer, attributes);
                if path.is_empty() || parsed.is_err() || attributes.trim().is_empty() {
                    return Err(Error::Option(format!(
                        "invalid option \"{key}={path}={attributes}\": expected {key}=PATH=ATTRIBUTES, \
                         such as {key}=.my.pkg=#[derive(Hash)] (write a comma inside ATTRIBUTES as \\,)"
                    )));
                }
            }
        }
        for (proto, rust) in &self.extern_paths {
            let package = proto.strip_prefix('.').unwrap_or_default();
            let valid_package = package
                .split('.')
                .all(|s| names::check_identifier(s).is_ok());
            let valid_path = syn::parse_str::<syn::Path>(rust).is_ok();
            if !proto.starts_with('.') || !valid_package || !valid_path {
                return Err(Error::Option(format!(
                    "invalid option \"extern_path={proto}={rust}\": expected \
                     extern_path=.PACKAGE=RUST_PATH, such as extern_path=.google.rpc=::my_crate::rpc"
                )));
            }
        }
        if self.json && !self.descriptors {
            return Err(Error::Option(
                "json=true needs the descriptors that descriptors=false leaves out: \
                 messages are written as JSON by their file's descriptor"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// The items of a plugin parameter: split at commas, except those escaped
/// as `\,` (which stand for a comma); `\\` stands for a backslash.
fn items(parameter: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut item = String::new();
    let mut chars = parameter.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(escaped @ (',' | '\\'))) => {
                item.push(escaped);
                chars.next();
            }
            (',', _) => items.push(std::mem::take(&mut item)),
            (c, _) => item.push(c),
        }
    }
    items.push(item);
    items
}

impl FromStr for Options {
    type Err = Error;

    fn from_str(parameter: &str) -> Result<Self, Error> {
        let mut options = Options::default();
        let items = items(parameter);
        for item in items
            .iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
        {
            let Some((key, value)) = item.split_once('=') else {
                return Err(Error::Option(format!(
                    "invalid option \"{item}\": expected key=value; valid options: {KNOWN}"
                )));
            };
            let invalid = |expected: &str| {
                Error::Option(format!(
                    "invalid option \"{item}\": expected {key}={expected}"
                ))
            };
            match key.trim() {
                "paths" => {
                    options.paths = match value.trim() {
                        "import" => Paths::Import,
                        "source_relative" => Paths::SourceRelative,
                        _ => return Err(invalid("import or source_relative")),
                    }
                }
                "well_known_types" => {
                    options.well_known_types = match value.trim() {
                        "runtime" => WellKnownTypes::Runtime,
                        "generate" => WellKnownTypes::Generate,
                        _ => return Err(invalid("runtime or generate")),
                    }
                }
                "services" => {
                    options.services = match value.trim() {
                        "all" => Services::All,
                        "client" => Services::Client,
                        "server" => Services::Server,
                        "none" => Services::None,
                        _ => return Err(invalid("all, client, server or none")),
                    }
                }
                key @ ("descriptors" | "json") => {
                    let yes = match value.trim() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid("true or false")),
                    };
                    match key {
                        "json" => options.json = yes,
                        _ => options.descriptors = yes,
                    }
                }
                "bytes" => {
                    options.bytes = match value.trim() {
                        "bytes" => BytesType::Bytes,
                        "vec" => BytesType::Vec,
                        _ => return Err(invalid("bytes or vec")),
                    }
                }
                "map" => {
                    options.map = match value.trim() {
                        "btree" => MapType::BTreeMap,
                        "hash" => MapType::HashMap,
                        _ => return Err(invalid("btree or hash")),
                    }
                }
                "extern_path" => {
                    let (proto, rust) = value.split_once('=').unwrap_or((value, ""));
                    options
                        .extern_paths
                        .push((proto.trim().to_owned(), rust.trim().to_owned()));
                }
                key @ ("type_attribute" | "field_attribute") => {
                    let (path, attributes) = value.split_once('=').unwrap_or((value, ""));
                    let entry = (path.trim().to_owned(), attributes.trim().to_owned());
                    if key == "type_attribute" {
                        options.type_attributes.push(entry);
                    } else {
                        options.field_attributes.push(entry);
                    }
                }
                _ => {
                    return Err(Error::Option(format!(
                        "unknown option \"{key}\"; valid options: {KNOWN}"
                    )));
                }
            }
        }
        options.check()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parameter_gives_defaults() {
        assert_eq!("".parse::<Options>().unwrap(), Options::default());
    }

    #[test]
    fn known_options_parse() {
        let options: Options =
            "paths=source_relative, well_known_types=generate, services=client, descriptors=false"
                .parse()
                .unwrap();
        assert!(!options.descriptors);
        assert_eq!(options.paths, Paths::SourceRelative);
        assert_eq!(options.well_known_types, WellKnownTypes::Generate);
        assert_eq!(options.services, Services::Client);
        assert!(options.services.client() && !options.services.server());
    }

    #[test]
    fn attributes_take_escaped_commas_and_match_as_prost_build_does() {
        let options: Options = r#"type_attribute=.pkg.Msg=#[derive(Eq\, Hash)],field_attribute=Msg.f=#[doc = "x\\\\y"]"#
            .parse()
            .unwrap();
        assert_eq!(
            options.type_attributes,
            [(".pkg.Msg".to_owned(), "#[derive(Eq, Hash)]".to_owned())]
        );
        assert_eq!(
            options.field_attributes,
            [("Msg.f".to_owned(), r#"#[doc = "x\\y"]"#.to_owned())]
        );
        let list = |path: &str| vec![(path.to_owned(), "#[a]".to_owned())];
        for (path, name, matched) in [
            (".", ".pkg.Msg", true),
            (".pkg", ".pkg.Msg.Inner", true),
            (".pkg.Msg", ".pkg.Msg", true),
            (".pkg.Msg", ".pkg.MsgTwo", false),
            (".pkg.Msg", ".other.pkg.Msg", false),
            ("Msg", ".pkg.Msg", true),
            ("Msg", ".pkg.Msg.Inner", true),
            ("Msg", ".pkg.OtherMsg", false),
            ("Msg.f", ".pkg.Msg.f", true),
            ("Msg.f", ".pkg.Msg.ff", false),
        ] {
            assert_eq!(
                !Options::attributes(&list(path), name).is_empty(),
                matched,
                "{path} against {name}"
            );
        }
    }

    #[test]
    fn the_longest_extern_path_covering_a_package_wins() {
        let options: Options = "extern_path=.google=::gapi,extern_path=.google.rpc=crate::rpc"
            .parse()
            .unwrap();
        assert_eq!(
            options.extern_package("google.rpc"),
            Some(("crate::rpc", ""))
        );
        assert_eq!(
            options.extern_package("google.rpc.context"),
            Some(("crate::rpc", "context"))
        );
        assert_eq!(
            options.extern_package("google.api"),
            Some(("::gapi", "api"))
        );
        assert_eq!(options.extern_package("googleapis"), None);
        assert_eq!(options.extern_package("other"), None);
    }

    #[test]
    fn bad_options_name_the_valid_ones() {
        let err = "paths=maybe".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"paths=maybe\": expected paths=import or source_relative"
        );
        let err = "services=false".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"services=false\": expected services=all, client, server or none"
        );
        let options: Options = "bytes=vec,map=hash".parse().unwrap();
        assert_eq!(
            (options.bytes, options.map),
            (BytesType::Vec, MapType::HashMap)
        );
        let err = "map=sorted".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"map=sorted\": expected map=btree or hash"
        );
        let err = "descriptors=no".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"descriptors=no\": expected descriptors=true or false"
        );
        let err = "json=yes".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"json=yes\": expected json=true or false"
        );
        let err = "json=true,descriptors=false"
            .parse::<Options>()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("json=true needs the descriptors"), "{err}");
        assert!("json=true".parse::<Options>().unwrap().json);
        for bad in [
            "type_attribute=.pkg",
            "type_attribute=.pkg=derive(Eq)",
            "field_attribute==#[a]",
        ] {
            let err = bad.parse::<Options>().unwrap_err().to_string();
            assert!(
                err.contains("expected") && err.contains("=PATH=ATTRIBUTES"),
                "{err}"
            );
        }
        let err = "colour=blue".parse::<Options>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown option \"colour\"; valid options: paths="),
            "{err}"
        );
        let err = "paths".parse::<Options>().unwrap_err().to_string();
        assert!(
            err.starts_with("invalid option \"paths\": expected key=value"),
            "{err}"
        );
    }
}
