#!/usr/bin/env bash
# The whole test suite: what CI runs, and what to run before sending a change.
#
#   scripts/test.sh
#
# Installs what the tests need (scripts/setup.sh, idempotent), then checks
# formatting and lints, runs every Rust test (unit, integration, snapshots,
# the plugin through protoc and buf, end-to-end RPC, doctests), a crate
# outside the workspace built with the README's dependency lines, the protobuf
# conformance suite, the gRPC interop tests against Python grpcio in both
# directions, and each fuzz target for a few seconds on its seed corpus.
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

step "feature combinations: rgrpc without default features, and each side alone"
# rgrpc-features (tests/features) generates the sides of its services that
# its features ask for, against rgrpc built with those features only.
for features in "" client server; do
    cargo clippy -p rgrpc -p rgrpc-features --all-targets --locked --no-default-features \
        ${features:+--features "rgrpc/$features,rgrpc-features/$features"} -- -D warnings
    cargo test -p rgrpc --lib --locked --no-default-features ${features:+--features "$features"}
    cargo test -p rgrpc-features --locked ${features:+--features "$features"}
    # The same side with tracing: what it reports compiles with that side alone.
    cargo clippy -p rgrpc --all-targets --locked --no-default-features \
        --features "tracing${features:+,$features}" -- -D warnings
    # And with TLS: each side's half of it compiles alone.
    cargo clippy -p rgrpc --all-targets --locked --no-default-features \
        --features "tls${features:+,$features}" -- -D warnings
done
# Each service built on the server, the DNS-server resolver, and the JSON forms, alone.
for features in health reflection hickory-dns json; do
    cargo clippy -p rgrpc --all-targets --locked --no-default-features --features "$features" -- -D warnings
done
# Without features, rgrpc depends on bytes alone.
deps="$(cargo tree -p rgrpc-features -e normal --locked --prefix none --format '{p}' \
    | awk '{print $1}' | sort -u | tr '\n' ' ')"
if [ "$deps" != "bytes rgrpc rgrpc-features " ]; then
    echo "rgrpc without default features depends on more than bytes: $deps" >&2
    exit 1
fi

step "cargo doc (generated code included)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "cargo test"
cargo test --workspace --locked

step "a crate outside the workspace, with the README's dependency lines"
scripts/outside.sh

step "protobuf conformance"
scripts/conformance.sh

step "interoperability with Python grpcio"
scripts/interop.sh

step "fuzzing, briefly (scripts/fuzz.sh smoke)"
scripts/fuzz.sh smoke
