//! Routing: the handlers of the registered services, by method path.

use std::collections::{HashMap, HashSet};

use super::handler::Handler;
use crate::{CallKind, FileDescriptor, Status};

/// A gRPC service: what `protoc-gen-rgrpc` generates as `XServer` for each
/// service, to be added to a [`Server`](super::Server).
pub trait Service: Send + 'static {
    /// The full service name, such as `echo.Echo`.
    const NAME: &'static str;

    /// The descriptor of the .proto file that declares the service, which
    /// server reflection serves. Generated services have one, unless
    /// generated with `descriptors=false`.
    const FILE_DESCRIPTOR: Option<&'static FileDescriptor> = None;

    /// Adds a handler for each of the service's methods.
    #[doc(hidden)]
    fn register(self, routes: &mut Routes);
}

/// The handlers of a server, by method path, which services fill in when
/// they are added.
#[derive(Default)]
pub struct Routes {
    methods: HashMap<&'static str, Method>,
    services: HashSet<&'static str>,
}

/// A registered method: its shape and its handler.
pub(crate) struct Method {
    pub(crate) kind: CallKind,
    pub(crate) handler: Handler,
}

impl Routes {
    /// Routes calls to `path` (`/package.Service/Method`), of shape `kind`,
    /// to `handler`.
    pub(crate) fn add(&mut self, path: &'static str, kind: CallKind, handler: Handler) {
        if let Some((service, _)) = split_path(path) {
            self.services.insert(service);
        }
        self.methods.insert(path, Method { kind, handler });
    }

    /// The method registered for `path`, with the path as registered, or
    /// the UNIMPLEMENTED status grpc-go gives.
    pub(crate) fn route(&self, path: &str) -> Result<(&'static str, &Method), Status> {
        if let Some((path, method)) = self.methods.get_key_value(path) {
            return Ok((path, method));
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
