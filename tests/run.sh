#!/usr/bin/env bash
# The one test command of cti-gateway (README "Tests"). On a fresh Debian 12 machine it installs
# what is missing (as root), then runs every check and every test:
#   1. cargo fmt --check and cargo clippy -D warnings on the workspace
#   2. all workspace tests (unit, integration, end-to-end) with cargo nextest (or cargo test)
#   3. the Windows build of csta and tsp-client with Debian's rustc 1.63, and the TAPI
#      harness driving the real .tsp DLL under wine64 against a real gateway
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(rustc cargo libstd-rust-dev-windows gcc-mingw-w64-x86-64 wine64)

step() { printf '\n==> %s\n' "$*"; }

install_missing() {
    local missing=()
    for package in "${debian_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local command="apt-get install -y ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "run as root: apt-get update && $command" >&2
        exit 1
    fi
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $command
}

install_missing

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "workspace tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    cargo test --workspace --locked --doc
else
    cargo test --workspace --locked --no-fail-fast
fi

step "docs"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --locked --quiet

step "tsp-client: native tests, Windows build of csta and the TSP (Debian rustc 1.63), harness under wine64"
bash tsp-client/test.sh

echo
echo "all checks and tests passed"
