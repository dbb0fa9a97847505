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
