//! [`Options`]: the plugin parameter (`--rgrpc_opt=...`), parsed strictly.

use std::str::FromStr;

use crate::Error;

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

/// Generator options, from the comma-separated `key=value` plugin parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paths: Paths::default(),
            well_known_types: WellKnownTypes::default(),
            services: Services::default(),
            descriptors: true,
        }
    }
}

const KNOWN: &str = "paths=import|source_relative, well_known_types=runtime|generate, \
                     services=all|client|server|none, descriptors=true|false";

impl FromStr for Options {
    type Err = Error;

    fn from_str(parameter: &str) -> Result<Self, Error> {
        let mut options = Options::default();
        for item in parameter
            .split(',')
            .map(str::trim)
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
                "descriptors" => {
                    options.descriptors = match value.trim() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid("true or false")),
                    }
                }
                _ => {
                    return Err(Error::Option(format!(
                        "unknown option \"{key}\"; valid options: {KNOWN}"
                    )));
                }
            }
        }
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
        let err = "descriptors=no".parse::<Options>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid option \"descriptors=no\": expected descriptors=true or false"
        );
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
