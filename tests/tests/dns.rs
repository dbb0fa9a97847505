//! `dns://server/host:port` targets, resolved by asking that DNS server:
//! Debian's dnsmasq (installed by scripts/setup.sh), started by the test
//! with records of its own, which it reloads on SIGHUP.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use rgrpc::client::LoadBalancing;
use rgrpc::{Channel, Code};
use rgrpc_tests::daemon::Daemon;
use rgrpc_tests::pb::echo::EchoClient;

/// dnsmasq answering for the names in its hosts file, and nothing else.
struct Dnsmasq(Daemon);

impl Dnsmasq {
    /// Serves `hosts` (lines of /etc/hosts' form) on a loopback port.
    async fn start(hosts: &str) -> Dnsmasq {
        let (address, dir) = Daemon::prepare("dnsmasq");
        let hosts_file = dir.join("hosts");
        std::fs::write(&hosts_file, hosts).unwrap();
        let args = [
            "--keep-in-foreground".to_owned(),
            format!("--port={}", address.port()),
            "--listen-address=127.0.0.1".to_owned(),
            "--bind-interfaces".to_owned(),
            "--no-resolv".to_owned(),
            "--no-hosts".to_owned(),
            format!("--addn-hosts={}", hosts_file.display()),
            "--pid-file=".to_owned(),
            "--user=root".to_owned(),
            "--local-ttl=0".to_owned(),
        ];
        let paths = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"];
        Dnsmasq(Daemon::start(&paths, &args, dir, address, "none").await)
    }

    fn address(&self) -> SocketAddr {
        self.0.address()
    }

    /// Replaces the records with `hosts`, and has dnsmasq read them again.
    fn set(&self, hosts: &str) {
        std::fs::write(self.0.dir().join("hosts"), hosts).unwrap();
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.0.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

async fn echo(channel: &Channel) -> Result<String, rgrpc::Status> {
    Ok(EchoClient::new(channel.clone())
        .echo_message(rgrpc_tests::request("hi"))
        .await?
        .into_message()
        .message)
}

#[tokio::test]
async fn a_target_naming_its_dns_server_is_resolved_there() {
    let (server, _stop) = rgrpc_tests::echo_server().await;
    let dns = Dnsmasq::start("127.0.0.1 echo.test\n").await;
    let target = format!("dns://{}/echo.test:{}", dns.address(), server.port());
    let channel = Channel::builder(&target).unwrap().connect_lazy();
    assert_eq!(echo(&channel).await.as_deref(), Ok("hi"));

    // A name the server does not have.
    let target = format!("dns://{}/nowhere.test:{}", dns.address(), server.port());
    let err = echo(&Channel::builder(&target).unwrap().connect_lazy())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message().starts_with("cannot resolve nowhere.test:"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_record_that_changes_is_followed() {
    let (first, _stop_first) = rgrpc_tests::echo_server().await;
    // The second server on another loopback address, the same port.
    let second = rgrpc::Server::builder()
        .add_service(rgrpc_tests::pb::echo::EchoServer::new(rgrpc_tests::Echoing))
        .build()
        .bind(format!("127.0.0.2:{}", first.port()).as_str())
        .await
        .unwrap();
    tokio::spawn(second.serve_with_shutdown(std::future::pending()));
    let dns = Dnsmasq::start("127.0.0.1 echo.test\n").await;
    let target = format!("dns://{}/echo.test:{}", dns.address(), first.port());
    let channel = Channel::builder(&target)
        .unwrap()
        .load_balancing(LoadBalancing::RoundRobin)
        .resolve_interval(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    assert_eq!(echo(&channel).await.as_deref(), Ok("hi"));

    // The first server goes away: calls fail.
    drop(_stop_first);
    let mut failing = false;
    for _ in 0..100 {
        if echo(&channel).await.is_err() {
            failing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failing, "the first server stopped");

    // The name moves to the second server: the channel finds it there.
    dns.set("127.0.0.2 echo.test\n");
    let mut answered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if echo(&channel).await.is_ok() {
            answered = true;
            break;
        }
    }
    assert!(answered, "the channel found the new address");
}
