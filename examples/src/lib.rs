//! The code generated for the examples' .proto files.

/// The generated packages: `echo`, `chat` and `user::v1`.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}
