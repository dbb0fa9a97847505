//! [`AtServer`]: the resolver of a `dns://server/host:port` target, which
//! asks that DNS server, over UDP and TCP, with hickory-resolver.

use std::io;
use std::net::{IpAddr, SocketAddr};

use hickory_resolver::Resolver as Hickory;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;

use super::target::Resolver;
use crate::BoxFuture;

/// Looks `host` up by asking the DNS server at `server`, for the addresses
/// of `port` there. The server may be named by address or by host name,
/// which the system's resolver looks up at each resolution.
pub(crate) struct AtServer {
    server: String,
    server_port: u16,
    host: String,
    port: u16,
}

impl AtServer {
    pub(crate) fn new(server: &str, server_port: u16, host: &str, port: u16) -> Self {
        AtServer {
            server: server.to_owned(),
            server_port,
            host: host.to_owned(),
            port,
        }
    }
}

impl Resolver for AtServer {
    fn resolve(&self) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let (server, server_port) = (self.server.clone(), self.server_port);
        let (host, port) = (self.host.clone(), self.port);
        Box::pin(async move {
            let servers: Vec<IpAddr> = match server.parse() {
                Ok(ip) => vec![ip],
                Err(_) => tokio::net::lookup_host((server.as_str(), server_port))
                    .await?
                    .map(|address| address.ip())
                    .collect(),
            };
            // Only the one server, and the name as given: no search
            // domains, which are the system resolver's business.
            let servers = NameServerConfigGroup::from_ips_clear(&servers, server_port, true);
            let config = ResolverConfig::from_parts(None, Vec::new(), servers);
            let mut resolver =
                Hickory::builder_with_config(config, TokioConnectionProvider::default());
            resolver.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
            let found = resolver
                .build()
                .lookup_ip(host.as_str())
                .await
                .map_err(|err| io::Error::other(format!("{host} at {server}: {err}")))?;
            Ok(found.iter().map(|ip| SocketAddr::new(ip, port)).collect())
        })
    }
}
