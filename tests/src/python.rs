//! The Python peers under `tests/interop/python/`, run by the venv that
//! `scripts/setup.sh` makes.

use std::path::PathBuf;
use std::process::{Child, Command};

/// The script `name` (such as `rich_status.py`) with its arguments, run by
/// the venv's python.
pub fn script(name: &str, args: &[&str]) -> Command {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    let mut command = Command::new(python);
    command
        .arg(root.join("tests/interop/python").join(name))
        .args(args);
    command
}

/// A Python process, killed when the test ends, passed or not.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server of `script` with `args`, which prints `listening on
/// PORT` first; the process and its port.
pub fn serve(name: &str, args: &[&str]) -> (Killed, u16) {
    let mut server = Killed(
        script(name, args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}")),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.0.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("read the port");
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"));
    (server, port)
}
