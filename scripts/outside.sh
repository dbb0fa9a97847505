#!/usr/bin/env bash
# Builds and runs a crate outside the workspace whose dependencies are
# exactly the README's path-form lines (the block after the comment that
# names this script), with /path/to/rgrpc replaced by this checkout: the
# chat service in its four call shapes, a sink moved to a task, a panicking
# handler, and a file with no package left unused, all with warnings denied
# (tests/outside/). It shares the
# workspace's target directory and starts from its Cargo.lock, so it builds
# little of its own.
#
#   scripts/outside.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/outside.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The TOML block right after the marker comment.
lines="$(awk '
    /scripts\/outside\.sh/ { marked = 1; next }
    marked && /^```toml/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }
' README.md)"
[ -n "$lines" ] || { echo "outside: no path-form dependency lines in README.md" >&2; exit 1; }
case "$lines" in
    *"/path/to/rgrpc/"*) ;;
    *) echo "outside: the README's path-form lines do not use /path/to/rgrpc" >&2; exit 1 ;;
esac

{
    printf '[package]\nname = "outside"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n'
    printf '%s\n' "${lines//\/path\/to\/rgrpc/$ROOT}"
    # A workspace of its own, not a member of this one.
    printf '\n[workspace]\n'
} >"$WORK/Cargo.toml"
cp -r tests/outside/build.rs tests/outside/src tests/outside/proto "$WORK/"
cp proto/chat.proto "$WORK/proto/"
cp Cargo.lock "$WORK/"

CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" cargo run --quiet --manifest-path "$WORK/Cargo.toml"
