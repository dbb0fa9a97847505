//! Targets as gRPC's naming document writes them, and resolvers: the
//! channel connects to the first address that accepts (`pick_first`), and
//! resolves again when it reconnects, no more often than its minimum
//! interval.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rgrpc::client::ConnectBackoff;
use rgrpc::{Channel, Code};
use rgrpc_tests::pb::echo::EchoClient;
use rgrpc_tests::{closed_port, echo_server as server};

async fn echo(channel: &Channel) -> Result<String, rgrpc::Status> {
    let client = EchoClient::new(channel.clone());
    Ok(client
        .echo_message(rgrpc_tests::request("hi"))
        .await?
        .into_message()
        .message)
}

#[tokio::test]
async fn every_scheme_reaches_the_server() {
    let (address, _stop) = server().await;
    let port = address.port();
    for target in [
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("dns:///localhost:{port}"),
        format!("dns:127.0.0.1:{port}"),
        format!("ipv4:127.0.0.1:{port}"),
    ] {
        let channel = Channel::builder(&target).unwrap().connect_lazy();
        assert_eq!(echo(&channel).await.as_deref(), Ok("hi"), "{target}");
    }
}

#[tokio::test]
async fn pick_first_skips_addresses_that_refuse() {
    let (address, _stop) = server().await;
    let dead = closed_port().await;
    let target = format!("ipv4:{dead},{address}");
    let channel = Channel::builder(&target).unwrap().connect_lazy();
    assert_eq!(echo(&channel).await.as_deref(), Ok("hi"));

    // With none that accepts, the error says how many were tried.
    let target = format!("ipv4:{dead},{}", closed_port().await);
    let channel = Channel::builder(&target).unwrap().connect_lazy();
    let err = echo(&channel).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message()
            .starts_with("cannot connect to any of the 2 addresses of"),
        "{err:?}"
    );
}

/// A resolver whose answer the test changes, counting its resolutions.
#[derive(Clone, Default)]
struct Moving {
    addresses: Arc<Mutex<Vec<SocketAddr>>>,
    resolutions: Arc<AtomicUsize>,
}

impl Moving {
    fn set(&self, address: SocketAddr) {
        *self.addresses.lock().unwrap() = vec![address];
    }

    fn resolver(&self) -> impl rgrpc::client::Resolver {
        let this = self.clone();
        move || {
            let this = this.clone();
            async move {
                this.resolutions.fetch_add(1, Ordering::SeqCst);
                Ok(this.addresses.lock().unwrap().clone())
            }
        }
    }
}

#[tokio::test]
async fn a_lost_connection_is_resolved_again_within_the_minimum_interval() {
    let moving = Moving::default();
    let (first, stop_first) = server().await;
    moving.set(first);
    let channel = Channel::with_resolver("echo.test:50051", moving.resolver())
        .unwrap()
        .min_resolve_interval(Duration::from_secs(3600))
        .connect_lazy();
    assert_eq!(echo(&channel).await.as_deref(), Ok("hi"));
    assert_eq!(moving.resolutions.load(Ordering::SeqCst), 1);

    // The server moves. Within the interval, the channel keeps the old
    // address: calls fail, and the resolver is not asked again.
    stop_first.send(()).unwrap();
    let (second, _stop_second) = server().await;
    moving.set(second);
    for _ in 0..3 {
        let _ = echo(&channel).await;
    }
    assert_eq!(moving.resolutions.load(Ordering::SeqCst), 1);

    // With no minimum, the next attempt (after the connection backoff)
    // finds the new address.
    let channel = Channel::with_resolver("echo.test:50051", moving.resolver())
        .unwrap()
        .min_resolve_interval(Duration::ZERO)
        .connect_backoff(ConnectBackoff {
            initial: Duration::from_millis(20),
            ..ConnectBackoff::default()
        })
        .connect_lazy();
    moving.set(first);
    let err = echo(&channel).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    moving.set(second);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(echo(&channel).await.as_deref(), Ok("hi"));
    assert_eq!(moving.resolutions.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_resolver_that_fails_or_finds_nothing_is_unavailable() {
    let channel = Channel::with_resolver("nowhere:1", || async {
        Err(std::io::Error::other("the registry is down"))
    })
    .unwrap()
    .connect_lazy();
    let err = echo(&channel).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "cannot resolve nowhere:1: the registry is down"
    );

    let channel = Channel::with_resolver("nowhere:1", || async { Ok(Vec::new()) })
        .unwrap()
        .connect_lazy();
    let err = echo(&channel).await.unwrap_err();
    assert_eq!(err.message(), "nowhere:1 resolved to no address");
}
