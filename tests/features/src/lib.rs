//! Code generated for proto/echo.proto, proto/user/v1/user.proto and
//! proto/coverage/annotated.proto, with only the sides of the services that
//! rgrpc is built with here.

/// Everything generated, one module per package.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}
