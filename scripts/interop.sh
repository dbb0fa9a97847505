#!/usr/bin/env bash
# gRPC interop matrix between rgrpc and grpcio (Python), both directions,
# in plaintext and over TLS:
#
#   python-client->rust-server   tests/interop/python/interop_client.py against
#                                target/debug/interop-server --port P
#   rust-client->python-server   target/debug/interop-client --server_host 127.0.0.1
#                                --server_port P --test_case X --use_tls=false
#                                against tests/interop/python/interop_server.py
#   tls python-client->rust-server, tls rust-client->python-server
#                                the same with --use_tls=true: the servers get
#                                --tls_cert_file and --tls_key_file, the clients
#                                --ca_file and --server_host_override
#                                foo.test.google.fr, from a certificate authority
#                                and a server certificate that openssl makes for
#                                the run (removed with it)
#   rgrpc-cli->rust-server       target/debug/rgrpc-cli lists and describes the
#                                Rust server's services through its reflection
#                                (with the default cases only)
#
#   scripts/interop.sh [TEST_CASE...]     (default: every case in TEST_CASES)
#
# Builds the Rust binaries first (cargo build --locked -p rgrpc-interop -p rgrpc-cli --bins)
# and nothing else; the Python side comes from scripts/setup.sh (tools/venv and
# tools/interop-python-gen). Each server runs on a free loopback port, is
# waited for until it accepts connections, is restarted if it dies, and is
# killed on exit. Each test case runs under a time limit. Prints one line per
# test, "PASS <direction> <case>" or "FAIL <direction> <case>" followed by the
# client's output (and the server's, for that test), and ends with
# "interop: N passed, M failed"; exits 1 when M > 0.
#
# Environment overrides:
#   RUST_INTEROP_SERVER, RUST_INTEROP_CLIENT   executables to use in place of the
#                   Rust binaries (when both are set, nothing is built); e.g. the
#                   Python peer's own tests/interop/python/interop_server.py and
#                   interop_client.py, to check the matrix itself
#   INTEROP_SKIP_BUILD=1        do not run cargo build
#   INTEROP_TEST_TIMEOUT        seconds per test case (default 30)
#   INTEROP_SERVER_START_TIMEOUT  seconds for a server to accept connections (default 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEST_CASES=(
    empty_unary
    large_unary
    client_streaming
    server_streaming
    ping_pong
    empty_stream
    timeout_on_sleeping_server
    cancel_after_begin
    cancel_after_first_response
    status_code_and_message
    special_status_message
    custom_metadata
    unimplemented_method
    unimplemented_service
    client_compressed_unary
    server_compressed_unary
    client_compressed_streaming
    server_compressed_streaming
)
[ "$#" -gt 0 ] && TEST_CASES=("$@")

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
RUST_SERVER="${RUST_INTEROP_SERVER:-$TARGET_DIR/debug/interop-server}"
RUST_CLIENT="${RUST_INTEROP_CLIENT:-$TARGET_DIR/debug/interop-client}"
CLI="$TARGET_DIR/debug/rgrpc-cli"
PY_DIR="$ROOT/tests/interop/python"
PY_SERVER="$PY_DIR/interop_server.py"
PY_CLIENT="$PY_DIR/interop_client.py"
VENV_PYTHON="$ROOT/tools/venv/bin/python"
TEST_TIMEOUT="${INTEROP_TEST_TIMEOUT:-30}"
START_TIMEOUT="${INTEROP_SERVER_START_TIMEOUT:-30}"

die() { printf 'interop: error: %s\n' "$*" >&2; exit 1; }

[ -x "$VENV_PYTHON" ] || die "$VENV_PYTHON is missing: run scripts/setup.sh"
[ -f "$ROOT/tools/interop-python-gen/grpc/testing/test_pb2_grpc.py" ] \
    || die "tools/interop-python-gen has no grpc.testing stubs: run scripts/setup.sh"

if [ "${INTEROP_SKIP_BUILD:-0}" != 1 ] && { [ -z "${RUST_INTEROP_SERVER:-}" ] || [ -z "${RUST_INTEROP_CLIENT:-}" ]; }; then
    cargo build --locked -p rgrpc-interop -p rgrpc-cli --bins
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/interop.XXXXXX")"
SERVER_PID=""

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        # Up to 5 s to exit on SIGTERM, then SIGKILL.

        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$VENV_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# make_certificates DIR: a certificate authority (DIR/ca.pem) and a server
# certificate it signs (DIR/server.pem, key DIR/server.key) for
# *.test.google.fr, the name the interop tests override the host with, and for
# localhost and 127.0.0.1; valid for a day.
make_certificates() {
    local dir="$1"
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj "/CN=rgrpc interop test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=*.test.google.fr" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:*.test.google.fr,DNS:localhost,IP:127.0.0.1" \
        "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 1 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

# start_server NAME EXECUTABLE [FLAG...]: runs it on a free port (SERVER_PORT),
# with the flags, and its output in SERVER_LOG; returns 1, with the reason in
# $WORK/start-error, if it does not accept connections in time.
start_server() {
    local name="$1" exe="$2" status
    shift 2
    SERVER_LOG="$WORK/$name.log"
    : >"$WORK/start-error"
    if [ ! -x "$exe" ]; then
        echo "server executable $exe is missing or not executable" >"$WORK/start-error"
        return 1
    fi
    SERVER_PORT="$(free_port)"
    echo "--- $exe --port $SERVER_PORT $*" >>"$SERVER_LOG"
    "$exe" --port "$SERVER_PORT" "$@" </dev/null >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq $((START_TIMEOUT * 10))); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null && status=0 || status=$?
            SERVER_PID=""
            { echo "server $exe exited (status $status) before accepting connections on port $SERVER_PORT:"; tail -n 30 "$SERVER_LOG"; } >"$WORK/start-error"
            return 1
        fi
        port_open "$SERVER_PORT" && return 0
        sleep 0.1
    done
    { echo "server $exe did not accept connections on port $SERVER_PORT within ${START_TIMEOUT}s:"; tail -n 30 "$SERVER_LOG"; } >"$WORK/start-error"
    stop_server
    return 1
}

PASSED=0
FAILED=0

indent() { sed 's/^/    /'; }

report() {
    local verdict="$1" direction="$2" case="$3" details="${4:-}"
    echo "$verdict $direction $case"
    if [ "$verdict" = PASS ]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        [ -n "$details" ] && printf '%s\n' "$details" | indent
    fi
    return 0
}

# run_direction DIRECTION SERVER_EXE CLIENT_EXE: every test case, with the
# flags of SERVER_FLAGS and CLIENT_FLAGS (arrays).
run_direction() {
    local direction="$1" server="$2" client="$3" case out status log_from details
    for case in "${TEST_CASES[@]}"; do
        if [ -z "$SERVER_PID" ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            if [ -n "$SERVER_PID" ]; then
                wait "$SERVER_PID" 2>/dev/null || true
                SERVER_PID=""
                echo "note: the server of $direction died; restarting it" >&2
            fi
            if ! start_server "${direction//[^a-z]/_}" "$server" "${SERVER_FLAGS[@]}"; then
                report FAIL "$direction" "$case" "$(cat "$WORK/start-error")"
                continue
            fi
        fi
        out="$WORK/client.out"
        log_from=$(($(wc -c <"$SERVER_LOG") + 1))
        status=0
        timeout --kill-after=5 "$TEST_TIMEOUT" "$client" --server_host 127.0.0.1 --server_port "$SERVER_PORT" \
            --test_case "$case" "${CLIENT_FLAGS[@]}" </dev/null >"$out" 2>&1 || status=$?
        if [ "$status" -eq 0 ]; then
            report PASS "$direction" "$case"
            continue
        fi
        details="$(cat "$out")"
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            details="${details:+$details$'\n'}(timed out after ${TEST_TIMEOUT}s)"
        else
            details="${details:+$details$'\n'}(client exit status $status)"
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            details="$details"$'\n'"(the server exited during this test)"
        fi
        if [ "$(wc -c <"$SERVER_LOG")" -ge "$log_from" ]; then
            details="$details"$'\n'"server output during this test:"$'\n'"$(tail -c +"$log_from" "$SERVER_LOG" | tail -n 40)"
        fi
        report FAIL "$direction" "$case" "$details"
    done
    stop_server
}

# The Rust server offers health and reflection: rgrpc-cli explores it.
explore_rust_server() {
    local listed expected described
    if ! start_server explore "$RUST_SERVER"; then
        report FAIL "rgrpc-cli->rust-server" explore "$(cat "$WORK/start-error")"
        return
    fi
    expected=$'grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\ngrpc.reflection.v1alpha.ServerReflection\ngrpc.testing.TestService'
    listed="$("$CLI" "127.0.0.1:$SERVER_PORT" list 2>&1)" || true
    described="$("$CLI" "127.0.0.1:$SERVER_PORT" describe grpc.testing.TestService 2>&1)" || true
    if [ "$listed" != "$expected" ]; then
        report FAIL "rgrpc-cli->rust-server" list "expected:"$'\n'"$expected"$'\n'"got:"$'\n'"$listed"
    elif ! grep -qxF '  rpc UnaryCall ( .grpc.testing.SimpleRequest ) returns ( .grpc.testing.SimpleResponse );' <<<"$described"; then
        report FAIL "rgrpc-cli->rust-server" describe "$described"
    else
        report PASS "rgrpc-cli->rust-server" "list and describe"
    fi
    stop_server
}
[ "$#" -eq 0 ] && explore_rust_server

SERVER_FLAGS=()
CLIENT_FLAGS=(--use_tls=false)
run_direction "python-client->rust-server" "$RUST_SERVER" "$PY_CLIENT"
run_direction "rust-client->python-server" "$PY_SERVER" "$RUST_CLIENT"

CERTS="$WORK/tls"
make_certificates "$CERTS" || die "openssl could not make the test certificates"
SERVER_FLAGS=(--use_tls=true --tls_cert_file "$CERTS/server.pem" --tls_key_file "$CERTS/server.key")
CLIENT_FLAGS=(--use_tls=true --ca_file "$CERTS/ca.pem" --server_host_override foo.test.google.fr)
run_direction "tls python-client->rust-server" "$RUST_SERVER" "$PY_CLIENT"
run_direction "tls rust-client->python-server" "$PY_SERVER" "$RUST_CLIENT"

echo "interop: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
