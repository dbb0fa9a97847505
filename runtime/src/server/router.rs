//! Routing: the handlers of the registered services, by method path.

use std::collections::{BTreeSet, HashMap};

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

/// What a service wants done once every service is registered.
type BuiltHook = Box<dyn FnOnce(&Routes) + Send + Sync>;

/// The handlers of a server, by method path, which services fill in when
/// they are added; and what the services built on the server (health,
/// reflection) need to know of the others.
#[derive(Default)]
pub struct Routes {
    methods: HashMap<&'static str, Method>,
    services: BTreeSet<&'static str>,
    /// The descriptor of each service that has one.
    descriptors: HashMap<&'static str, &'static FileDescriptor>,
    /// What services want done once every service is registered.
    when_built: Vec<BuiltHook>,
    /// What services want done as the server starts to shut down.
    when_shutting_down: Vec<Box<dyn Fn() + Send + Sync>>,
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

    /// Notes that the service `name` is declared in `descriptor`.
    pub(crate) fn describe(&mut self, name: &'static str, descriptor: &'static FileDescriptor) {
        self.descriptors.insert(name, descriptor);
    }

    /// The names of the services with a method registered, in order.
    #[cfg(any(feature = "health", feature = "reflection"))]
    pub(crate) fn services(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.services.iter().copied()
    }

    /// The descriptor of the file declaring the service `name`, if known.
    #[cfg(feature = "reflection")]
    pub(crate) fn descriptor(&self, name: &str) -> Option<&'static FileDescriptor> {
        self.descriptors.get(name).copied()
    }

    /// Runs `hook` once every service is registered, when the server is built.
    #[cfg(any(feature = "health", feature = "reflection"))]
    pub(crate) fn when_built(&mut self, hook: impl FnOnce(&Routes) + Send + Sync + 'static) {
        self.when_built.push(Box::new(hook));
    }

    /// Runs `hook` when the server starts to shut down, before its
    /// connections are told to go.
    #[cfg(feature = "health")]
    pub(crate) fn when_shutting_down(&mut self, hook: impl Fn() + Send + Sync + 'static) {
        self.when_shutting_down.push(Box::new(hook));
    }

    /// Runs the hooks waiting for every service to be registered.
    pub(crate) fn built(&mut self) {
        for hook in std::mem::take(&mut self.when_built) {
            hook(self);
        }
    }

    /// Runs the hooks waiting for the shutdown.
    pub(crate) fn shutting_down(&self) {
        for hook in &self.when_shutting_down {
            hook();
        }
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
