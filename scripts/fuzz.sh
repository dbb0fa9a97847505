#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer) over the targets in fuzz/:
#
#   scripts/fuzz.sh smoke                 every target for a few seconds, on
#                                         its checked-in corpus (what CI runs)
#   scripts/fuzz.sh run TARGET [ARGS...]  one target for as long as ARGS say,
#                                         e.g. -runs=10000000 or -max_total_time=600
#
# Targets: decode_message (messages with every field kind, maps, groups,
# recursion, the well-known types), frame_decoder (the gRPC frame decoder
# fed a stream in arbitrary chunks), headers (metadata, grpc-timeout, a
# request's head, a response's status), plugin_request (the plugin's
# handling of a CodeGeneratorRequest) and json (proto3's JSON mapping:
# binary messages written as JSON, JSON read, each settling on rewriting).
#
# cargo-fuzz builds with AddressSanitizer (-Zsanitizer=address) and
# libFuzzer's instrumentation flags, which are unstable options: the stable
# toolchain accepts them under RUSTC_BOOTSTRAP=1, which this script sets for
# the fuzz builds only. The targets build into target/fuzz, and what a run
# finds goes to a scratch corpus, so the checked-in seeds (fuzz/corpus/)
# change only by hand. Crashes are written to fuzz/artifacts/TARGET/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGETS=(decode_message frame_decoder headers plugin_request json)
SMOKE_SECONDS="${FUZZ_SMOKE_SECONDS:-10}"

fuzz() {
    RUSTC_BOOTSTRAP=1 cargo fuzz "$1" --release --fuzz-dir fuzz --target-dir target/fuzz "${@:2}"
}

# Runs TARGET on a scratch copy of its corpus, with libFuzzer ARGS.
run_target() {
    local target="$1"
    shift
    local scratch="target/fuzz/corpus/$target"
    mkdir -p "$scratch"
    fuzz run "$target" "$scratch" "fuzz/corpus/$target" -- "$@"
}

case "${1:-}" in
    smoke)
        fuzz build
        for target in "${TARGETS[@]}"; do
            echo "fuzz: $target for ${SMOKE_SECONDS}s" >&2
            run_target "$target" -max_total_time="$SMOKE_SECONDS" -print_final_stats=1 2>&1 \
                | grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' >&2
        done
        ;;
    run)
        [ $# -ge 2 ] || { echo "usage: $0 run TARGET [libFuzzer args...]" >&2; exit 2; }
        run_target "${@:2}"
        ;;
    *)
        echo "usage: $0 smoke | run TARGET [libFuzzer args...]" >&2
        exit 2
        ;;
esac
