//! Routing: the handlers of the registered services, by method path.

use std::collections::{HashMap, HashSet};

use super::handler::Handler;
use crate::Status;

/// A gRPC service: what `protoc-gen-rgrpc` generates as `XServer` for each
/// service, to be added to a [`Server`](super::Server).
pub trait Service: Send + 'static {
    /// The full service name, such as `echo.Echo`.
    const NAME: &'static str;

    /// Adds a handler for each of the service's methods.
    #[doc(hidden)]
    fn register(self, routes: &mut Routes);
}

/// The handlers of a server, by method path, which services fill in when
/// they are added.
#[derive(Default)]
pub struct Routes {
    handlers: HashMap<&'static str, Handler>,
    services: HashSet<&'static str>,
}

impl Routes {
    /// Routes calls to `path` (`/package.Service/Method`) to `handler`.
    pub(crate) fn add(&mut self, path: &'static str, handler: Handler) {
        if let Some((service, _)) = split_path(path) {
            self.services.insert(service);
        }
        self.handlers.insert(path, handler);
    }

    /// The handler for `path`, or the UNIMPLEMENTED status grpc-go gives.
    pub(crate) fn route(&self, path: &str) -> Result<&Handler, Status> {
        if let Some(handler) = self.handlers.get(path) {
            return Ok(handler);
        }
        let (service, method) = split_path(path).unwrap_or(("", path));
        Err(if self.services.contains(service) {
            Status::unimplemented(format!("unknown method {method} for service {service}"))
        } else {
            Status::unimplemented(format!("unknown service {service}"))
        })
    }
}

/// `/pkg.Service/Method` as the service and the method.
fn split_path(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix('/')?.rsplit_once('/')
}
