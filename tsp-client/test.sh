#!/usr/bin/env bash
# tsp-client checks: fmt and clippy, the platform-neutral core natively (stable cargo), then the
# real Windows DLL under wine64, driven by the TAPISRV harness against the scripted CSTA gateway
# on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"

fail() {
    echo "tsp-client test: FAILED: $*" >&2
    exit 1
}
step() {
    printf '\n==> tsp-client: %s\n' "$*"
}

# The native tests need a current stable cargo (rustup), not Debian's cargo 1.65.
cargo_version="$(cargo --version)"
case "$cargo_version" in
    "cargo 1.6"[0-9]*) fail "stable cargo (rustup) must come first on PATH, found: $cargo_version" ;;
esac
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || fail "$wine is missing (apt-get install wine64)"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

step "fmt and clippy"
# `-p`, not `--all`: through csta's path dependency `--all` would reach the main workspace.
packages=(-p tsp-client -p scripted-gateway -p tsp-harness)
cargo fmt "${packages[@]}" --check || fail "cargo fmt --check (run: cargo fmt ${packages[*]})"
cargo clippy --locked "${packages[@]}" --all-targets -- -D warnings || fail "clippy"

step "native core tests"
cargo test --locked || fail "native core tests"

step "scripted CSTA gateway"
cargo build --locked -p scripted-gateway || fail "scripted gateway build"
gateway_bin="$target_dir/debug/scripted-gateway"

step "Windows build (Debian rustc 1.63)"
bash build.sh || fail "Windows build"
out="target/x86_64-pc-windows-gnu/release"

step "TAPISRV harness under wine64"
prefix="$(mktemp -d)"
gateway_pid=""
cleanup() {
    if [ -n "$gateway_pid" ]; then
        kill "$gateway_pid" 2>/dev/null || true
    fi
    WINEPREFIX="$prefix" /usr/lib/wine/wineserver -k 2>/dev/null || true
    rm -rf "$prefix"
}
trap cleanup EXIT
windows_path() {
    echo "Z:$(realpath "$1" | tr / '\\')"
}

# Runs the harness once against a fresh scripted gateway; extra arguments go to both.
harness() {
    local gateway_args=() harness_args=()
    if [ "${1:-}" = "--tls" ]; then
        gateway_args=(--tls tests/fixtures/gateway.pem tests/fixtures/gateway.key)
        harness_args=(--tls "$(windows_path tests/fixtures/ca.pem)")
    fi
    coproc GATEWAY { exec "$gateway_bin" "${gateway_args[@]}"; }
    gateway_pid="$GATEWAY_PID"
    local ports
    read -r -t 30 ports <&"${GATEWAY[0]}" || fail "the scripted gateway did not start"
    local csta_port="${ports#csta=}"
    csta_port="${csta_port%% *}"
    local control_port="${ports##*control=}"
    # The first run creates the Wine prefix (about 10 s).
    WINEPREFIX="$prefix" WINEDEBUG=-all timeout 300 "$wine" "$out/tsp-harness.exe" \
        "$(windows_path "$out/cti-gateway.tsp")" "$csta_port" "$control_port" "${harness_args[@]}" \
        || fail "the TAPISRV harness under wine64 ${1:-} (see the messages above)"
    wait "$gateway_pid" 2>/dev/null || true
    gateway_pid=""
}

harness
echo "tsp-client: harness passed (TCP)"
harness --tls
echo "tsp-client: harness passed (TLS)"
echo "tsp-client: all tests passed"
