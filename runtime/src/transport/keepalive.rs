//! Keepalive: HTTP/2 PINGs to a peer that has gone quiet, so that a peer
//! that froze or vanished (a stopped process, a dropped NAT entry) is found
//! out instead of waited on for ever.

use std::time::Duration;

use h2::{Ping, PingPong};

use super::Link;

/// When and how to ping a connection's peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keepalive {
    /// Silence from the peer after which it is pinged.
    pub(crate) time: Duration,
    /// How long an answer may take before the connection is given up.
    pub(crate) timeout: Duration,
    /// Whether to ping when no call is in flight.
    pub(crate) while_idle: bool,
}

/// Pings the peer whenever it has been silent for `keepalive.time` (and,
/// unless `while_idle`, `busy` says calls are in flight); completes when a
/// ping goes unanswered for `keepalive.timeout`, having recorded that in
/// `link` as the connection's end. Never completes once the connection is
/// gone, which its owner learns otherwise.
pub(crate) async fn keep_alive(
    ping_pong: &mut PingPong,
    link: &Link,
    keepalive: Keepalive,
    busy: impl Fn() -> bool,
) {
    let mut heard = link.reads();
    loop {
        tokio::time::sleep(keepalive.time).await;
        let now = link.reads();
        if now != heard || !(keepalive.while_idle || busy()) {
            heard = now;
            continue;
        }
        match tokio::time::timeout(keepalive.timeout, ping_pong.ping(Ping::opaque())).await {
            Ok(Ok(_)) => heard = link.reads(),
            Ok(Err(_)) => std::future::pending().await,
            Err(_) => {
                let timeout = keepalive.timeout;
                link.ended(|| {
                    format!("the peer did not answer a keepalive ping within {timeout:?}")
                });
                return;
            }
        }
    }
}
