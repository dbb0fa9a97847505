//! Calls to a server in this process, through a pipe instead of a socket:
//! built on both sides, so neither needs to know the other.

use std::sync::Arc;

use crate::{Channel, ChannelBuilder, Server};

impl Channel {
    /// A channel to `server` in this process, without a socket: for tests.
    pub fn in_memory(server: &Server) -> ChannelBuilder {
        ChannelBuilder::in_process(Arc::new(server.clone()))
    }
}
