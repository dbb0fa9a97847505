#!/usr/bin/env bash
# The whole test suite: what CI runs, and what to run before sending a change.
#
#   scripts/test.sh
#
# Installs what the tests need (scripts/setup.sh, idempotent), then checks
# formatting and lints, runs every Rust test (unit, integration, snapshots,
# the plugin through protoc and buf, end-to-end RPC, doctests), the protobuf
# conformance suite, and the gRPC interop tests against Python grpcio in both
# directions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (generated code included)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "cargo test"
cargo test --workspace --locked

step "protobuf conformance"
scripts/conformance.sh

step "interoperability with Python grpcio"
scripts/interop.sh
