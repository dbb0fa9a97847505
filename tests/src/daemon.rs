//! Programs the tests run as real peers (nginx, dnsmasq), each with its
//! files in a directory of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A program started by a test, listening on a loopback port; killed, and
/// its directory removed, when dropped.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
    address: SocketAddr,
}

impl Daemon {
    /// A loopback address nobody listens on now, and a new directory for
    /// `name`'s files there.
    pub fn prepare(name: &str) -> (SocketAddr, PathBuf) {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port");
        let dir = std::env::temp_dir().join(format!(
            "rgrpc-{name}-{}-{}",
            std::process::id(),
            address.port()
        ));
        std::fs::create_dir_all(&dir).expect("a directory for the daemon");
        (address, dir)
    }

    /// Runs the first of `paths` that exists with `args`, its files in
    /// `dir`, and waits (up to five seconds) until it accepts connections
    /// on `address`; `log`, in `dir`, says why when it does not.
    pub async fn start(
        paths: &[&str],
        args: &[String],
        dir: PathBuf,
        address: SocketAddr,
        log: &str,
    ) -> Daemon {
        let binary = paths
            .iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or_else(|| panic!("one of {paths:?} is installed (scripts/setup.sh)"));
        let child = Command::new(binary)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("start {binary}: {err}"));
        let daemon = Daemon {
            child,
            dir,
            address,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return daemon;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(daemon.dir.join(log)).unwrap_or_default();
        panic!("{binary} did not start listening on {address}: {log}");
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
