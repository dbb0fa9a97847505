//! Generates proto/echo.proto, proto/user/v1/user.proto and
//! proto/coverage/annotated.proto (but not the file of options it imports)
//! with the sides of the services that this crate's features ask for.

use rgrpc_build::{Options, Services};

fn main() {
    let client = std::env::var_os("CARGO_FEATURE_CLIENT").is_some();
    let server = std::env::var_os("CARGO_FEATURE_SERVER").is_some();
    let services = match (client, server) {
        (true, true) => Services::All,
        (true, false) => Services::Client,
        (false, true) => Services::Server,
        (false, false) => Services::None,
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let files = [
        format!("{root}/echo.proto"),
        format!("{root}/user/v1/user.proto"),
        format!("{root}/coverage/annotated.proto"),
    ];
    let options = Options {
        services,
        ..Options::default()
    };
    if let Err(err) = rgrpc_build::compile_protos_with(&files, &[root], &options) {
        panic!("generating code: {err}");
    }
}
