//! Targets, as gRPC's naming document writes them, and the [`Resolver`]s
//! that turn a name into the addresses of its servers.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::Arc;

use http::uri::Authority;

use crate::{BoxFuture, Status};

/// Gives the addresses of a channel's servers, as of now: DNS, a fixed
/// list, a file, a service registry. The channel asks when it connects and
/// after its connection is lost, at most once per
/// [`ChannelBuilder::min_resolve_interval`](super::ChannelBuilder::min_resolve_interval).
/// Implemented by every `Fn() -> impl Future<Output = io::Result<Vec<SocketAddr>>>`.
pub trait Resolver: Send + Sync + 'static {
    /// The addresses, in the order to try them.
    fn resolve(&self) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>;
}

impl<F, Fut> Resolver for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static,
{
    fn resolve(&self) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(self())
    }
}

/// A fixed list of addresses: `ipv4:` and `ipv6:` targets.
struct Fixed(Vec<SocketAddr>);

impl Resolver for Fixed {
    fn resolve(&self) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let addresses = self.0.clone();
        Box::pin(async move { Ok(addresses) })
    }
}

/// A host name and port, looked up by the system's resolver: `dns:`
/// targets and plain `host:port` ones.
///
/// `tokio::net::lookup_host` runs the system's `getaddrinfo` on tokio's
/// blocking threads, so it never blocks the runtime, and it reads
/// /etc/hosts, nsswitch and resolv.conf's search domains as every other
/// program on the machine does, which Kubernetes' service names rely on.
/// It cannot ask a DNS server of the target's choosing
/// (`dns://server/host`: see the `dns` module, with the `hickory-dns`
/// feature), and it does not see record TTLs.
struct Dns {
    host: String,
    port: u16,
}

impl Resolver for Dns {
    fn resolve(&self) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let (host, port) = (self.host.clone(), self.port);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect();
            if addresses.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} has no address"),
                ));
            }
            Ok(addresses)
        })
    }
}

/// Where a target's connections go.
pub(crate) enum Target {
    /// To the addresses `resolver` gives; calls carry `authority`; `https`
    /// when the target said so.
    Resolved {
        resolver: Arc<dyn Resolver>,
        authority: Authority,
        https: bool,
    },
    /// A Unix domain socket at this path.
    #[cfg(unix)]
    Unix(PathBuf),
}

/// The port of a `dns:`, `ipv4:` or `ipv6:` target that names none, as the
/// naming document says.
const DEFAULT_PORT: u16 = 443;

/// Parses `target`:
///
/// - `host:port`, `http://host:port`, `https://host:port`;
/// - `dns:host[:port]`, `dns:///host[:port]` (port 443 when not given);
/// - `ipv4:address[:port][,address[:port]...]`,
///   `ipv6:address` or `ipv6:[address]:port`, in a list the same way;
/// - `unix:path`, `unix:///absolute/path`.
pub(crate) fn parse(target: &str) -> Result<Target, Status> {
    let invalid = |why: &str| Status::invalid_argument(format!("invalid target {target:?}: {why}"));
    if let Some(path) = target.strip_prefix("unix:") {
        return unix(path).map_err(invalid);
    }
    if let Some(name) = target.strip_prefix("dns:") {
        let (server, name) = match name.strip_prefix("//") {
            Some(rest) => match rest.split_once('/') {
                Some(("", name)) => (None, name),
                Some((server, name)) => (Some(server), name),
                None => return Err(invalid("expected dns:///host[:port]")),
            },
            None => (None, name),
        };
        let (host, port) = host_and_port(name, Some(DEFAULT_PORT))
            .ok_or_else(|| invalid("expected dns:[//[server]/]host[:port]"))?;
        return dns(host, port, false, server).map_err(invalid);
    }
    for (scheme, v6) in [("ipv4:", false), ("ipv6:", true)] {
        if let Some(list) = target.strip_prefix(scheme) {
            let addresses = list
                .split(',')
                .map(|entry| ip_address(entry, v6))
                .collect::<Option<Vec<_>>>()
                .filter(|addresses| !addresses.is_empty())
                .ok_or_else(|| {
                    invalid(if v6 {
                        "expected ipv6:address or ipv6:[address]:port, comma-separated"
                    } else {
                        "expected ipv4:address[:port], comma-separated"
                    })
                })?;
            let authority = addresses[0]
                .to_string()
                .parse()
                .map_err(|_| invalid("the first address is no authority"))?;
            return Ok(Target::Resolved {
                resolver: Arc::new(Fixed(addresses)),
                authority,
                https: false,
            });
        }
    }
    let (https, address) = match target.strip_prefix("https://") {
        Some(address) => (true, address),
        None => (false, target.strip_prefix("http://").unwrap_or(target)),
    };
    let address = address.trim_end_matches('/');
    let expected = "expected host:port, http://host:port, https://host:port, dns:///host:port, \
                    ipv4:address:port, ipv6:[address]:port or unix:path";
    let (host, port) = host_and_port(address, None).ok_or_else(|| invalid(expected))?;
    dns(host, port, https, None).map_err(|_| invalid(expected))
}

/// The resolver of `host` and `port` that asks the DNS server `server`
/// (`address[:port]` or `host[:port]`, port 53 when not given).
#[cfg(feature = "hickory-dns")]
fn at_server(server: &str, host: &str, port: u16) -> Result<Arc<dyn Resolver>, &'static str> {
    let (server, server_port) =
        host_and_port(server, Some(53)).ok_or("expected dns://server[:port]/host[:port]")?;
    Ok(Arc::new(super::dns::AtServer::new(
        unbracketed(server),
        server_port,
        host,
        port,
    )))
}

/// Without the `hickory-dns` feature: a DNS server in the target is an error.
#[cfg(not(feature = "hickory-dns"))]
fn at_server(_: &str, _: &str, _: u16) -> Result<Arc<dyn Resolver>, &'static str> {
    Err(
        "a DNS server in the target (dns://server/name) needs rgrpc's `hickory-dns` \
         feature; without it, names are looked up by the system's resolver: write dns:///name",
    )
}

/// `host` without the brackets of an IPv6 literal.
fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// A DNS target: its resolver (the system's, or the DNS server `server`'s
/// when the target names one), and its authority, `host:port`.
fn dns(host: &str, port: u16, https: bool, server: Option<&str>) -> Result<Target, &'static str> {
    let authority = format!("{host}:{port}")
        .parse()
        .map_err(|_| "the host is not valid")?;
    let resolver: Arc<dyn Resolver> = match server {
        None => Arc::new(Dns {
            host: unbracketed(host).to_owned(),
            port,
        }),
        Some(server) => at_server(server, unbracketed(host), port)?,
    };
    Ok(Target::Resolved {
        resolver,
        authority,
        https,
    })
}

/// `host:port` (or `[v6]:port`), with `default` when the port may be left
/// out.
fn host_and_port(name: &str, default: Option<u16>) -> Option<(&str, u16)> {
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let bracketed = name.starts_with('[');
    match name.rsplit_once(':') {
        Some((host, port)) if !bracketed || host.ends_with(']') => {
            let port = port.parse().ok()?;
            (!host.is_empty()).then_some((host, port))
        }
        _ => Some((name, default?)),
    }
}

/// One address of an `ipv4:` or `ipv6:` list.
fn ip_address(entry: &str, v6: bool) -> Option<SocketAddr> {
    if v6 {
        if let Ok(ip) = entry.parse::<std::net::Ipv6Addr>() {
            return Some(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT));
        }
        return entry.parse::<SocketAddr>().ok().filter(SocketAddr::is_ipv6);
    }
    if let Ok(ip) = entry.parse::<std::net::Ipv4Addr>() {
        return Some(SocketAddr::new(IpAddr::V4(ip), DEFAULT_PORT));
    }
    entry.parse::<SocketAddr>().ok().filter(SocketAddr::is_ipv4)
}

/// The path of a `unix:` target.
#[cfg(unix)]
fn unix(path: &str) -> Result<Target, &'static str> {
    let path = match path.strip_prefix("//") {
        Some(absolute) if absolute.starts_with('/') => absolute,
        Some(_) => return Err("unix:// takes an absolute path, unix:///path"),
        None => path,
    };
    if path.is_empty() {
        return Err("no socket path");
    }
    Ok(Target::Unix(PathBuf::from(path)))
}

#[cfg(not(unix))]
fn unix(_: &str) -> Result<Target, &'static str> {
    Err("Unix domain sockets need a Unix system")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The authority and addresses `target` resolves to.
    async fn resolved(target: &str) -> (String, Vec<SocketAddr>, bool) {
        match parse(target).unwrap_or_else(|err| panic!("{target}: {err:?}")) {
            Target::Resolved {
                resolver,
                authority,
                https,
            } => (
                authority.to_string(),
                resolver.resolve().await.unwrap(),
                https,
            ),
            #[cfg(unix)]
            Target::Unix(path) => panic!("{target} is a socket at {}", path.display()),
        }
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn targets_of_every_scheme_resolve() {
        let v4 = vec![addr("127.0.0.1:50051")];
        for target in [
            "127.0.0.1:50051",
            "http://127.0.0.1:50051",
            "http://127.0.0.1:50051/",
            "dns:127.0.0.1:50051",
            "dns:///127.0.0.1:50051",
            "ipv4:127.0.0.1:50051",
        ] {
            let (authority, addresses, https) = resolved(target).await;
            assert_eq!(
                (authority.as_str(), &addresses, https),
                ("127.0.0.1:50051", &v4, false)
            );
        }
        assert!(resolved("https://127.0.0.1:50051").await.2);
        assert_eq!(
            resolved("dns:///127.0.0.1").await.1,
            [addr("127.0.0.1:443")]
        );
        assert_eq!(
            resolved("ipv4:10.0.0.1,10.0.0.2:81").await.1,
            [addr("10.0.0.1:443"), addr("10.0.0.2:81")]
        );
        assert_eq!(
            resolved("ipv6:::1,[::1]:82").await.1,
            [addr("[::1]:443"), addr("[::1]:82")]
        );
        assert_eq!(resolved("[::1]:83").await.1, [addr("[::1]:83")]);
        let (authority, addresses, _) = resolved("dns:///localhost:84").await;
        assert_eq!(authority, "localhost:84");
        assert!(
            addresses
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 84)
        );
    }

    #[test]
    fn a_dns_server_in_the_target_needs_the_hickory_dns_feature() {
        let parsed = parse("dns://8.8.8.8/host:1").map(|_| ());
        let bad_port = parse("dns://8.8.8.8:x/host:1").map(|_| ());
        if cfg!(feature = "hickory-dns") {
            assert!(parsed.is_ok());
            assert!(
                bad_port
                    .unwrap_err()
                    .message()
                    .ends_with("expected dns://server[:port]/host[:port]")
            );
        } else {
            for result in [parsed, bad_port] {
                assert!(result.unwrap_err().message().contains(
                    "a DNS server in the target (dns://server/name) needs rgrpc's `hickory-dns` feature"
                ));
            }
        }
    }

    #[test]
    fn bad_targets_say_what_is_expected() {
        for (target, why) in [
            ("localhost", "expected host:port"),
            ("http://host/path:1", "expected host:port"),
            ("host:port", "expected host:port"),
            ("dns:", "expected dns:[//[server]/]host[:port]"),
            ("ipv4:::1", "expected ipv4:address[:port]"),
            ("ipv4:", "expected ipv4:address[:port]"),
            ("ipv6:127.0.0.1:5", "expected ipv6:address"),
            ("unix:", "no socket path"),
        ] {
            let Err(err) = parse(target) else {
                panic!("{target} parsed");
            };
            assert!(
                err.message()
                    .starts_with(&format!("invalid target {target:?}: {why}")),
                "{target}: {}",
                err.message()
            );
        }
    }

    #[tokio::test]
    async fn a_name_without_addresses_is_an_error() {
        let err = Dns {
            host: "no-such-host.invalid".into(),
            port: 1,
        }
        .resolve()
        .await
        .unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
