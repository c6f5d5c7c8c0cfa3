#!/usr/bin/env bash
# tsp-client checks: fmt and clippy, the platform-neutral core natively (stable cargo), then the
# real Windows DLL under wine64, driven by the TAPISRV harness against the scripted CSTA gateway
# on 127.0.0.1 (TCP and TLS), and then against the real cti-gateway in front of the PBX
# simulator (pbx-sim), including a gateway restart.
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
repo="$(cd .. && pwd)"
# The main workspace's binaries, where tests/run.sh builds them.
main_bin="${CARGO_TARGET_DIR:-$repo/target}/debug"

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

step "cti-gateway and pbx-sim (main workspace)"
# The same build as the workspace tests of tests/run.sh (which leaves both binaries in the
# target directory): after them it has nothing to do.
(cd "$repo" && cargo test --workspace --locked --no-run --quiet) \
    || fail "the main workspace's test build (cti-gateway, pbx-sim)"
[ -x "$main_bin/cti-gateway" ] && [ -x "$main_bin/pbx-sim" ] \
    || fail "no cti-gateway or pbx-sim in $main_bin"

step "Windows build (Debian rustc 1.63)"
bash build.sh || fail "Windows build"
out="target/x86_64-pc-windows-gnu/release"

step "TAPISRV harness under wine64"
prefix="$(mktemp -d)"
work="$(mktemp -d)"
gateway_pid=""
sim_pid=""
harness_pid=""
cleanup() {
    for pid in "$harness_pid" "$gateway_pid" "$sim_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    WINEPREFIX="$prefix" /usr/lib/wine/wineserver -k 2>/dev/null || true
    rm -rf "$prefix" "$work"
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

step "TAPISRV harness under wine64 against cti-gateway and the PBX simulator"

# Starts the gateway with its CSTA listener on $1 (port 0: any free one) and sets gateway_port.
# Its JSON log goes to $work/gateway.log; the "listening" line says where it listens.
start_gateway() {
    cat >"$work/gateway.toml" <<END_OF_CONFIG
[pbx.sim]
url = "$sim_url"
password = "ip800"

[listener.csta]
address = "$1"

[user.tsp]
password_hash = "$password_hash"
view = ["*"]
monitor = ["*"]
control = ["*"]
forward = ["*"]

[shutdown]
grace = "2s"
END_OF_CONFIG
    rm -f "$work/gateway.fifo"
    mkfifo "$work/gateway.fifo"
    timeout -k 10 600 "$main_bin/cti-gateway" --log-format json run --config "$work/gateway.toml" \
        2>"$work/gateway.fifo" >>"$work/gateway.log" &
    gateway_pid=$!
    local line address=""
    exec {gateway_fd}<"$work/gateway.fifo"
    while IFS= read -r -t 60 line <&"$gateway_fd"; do
        echo "$line" >>"$work/gateway.log"
        case "$line" in
            *'"message":"listening"'*)
                address="$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' <<<"$line")"
                break
                ;;
        esac
    done
    if [ -z "$address" ]; then
        tail -n 20 "$work/gateway.log" >&2
        fail "cti-gateway did not start"
    fi
    # Keep reading its log so that it never blocks on a full pipe.
    cat <&"$gateway_fd" >>"$work/gateway.log" &
    exec {gateway_fd}<&-
    gateway_port="${address##*:}"
}

# Stops the gateway (SIGTERM; it ends within its 2 s grace) and starts it on the same port.
restart_gateway() {
    kill -TERM "$gateway_pid"
    wait "$gateway_pid" || true
    start_gateway "127.0.0.1:$gateway_port"
}

mkfifo "$work/sim.fifo"
timeout -k 10 600 "$main_bin/pbx-sim" --listen 127.0.0.1:0 >"$work/sim.fifo" 2>"$work/sim.log" &
sim_pid=$!
exec {sim_fd}<"$work/sim.fifo"
read -r -t 60 sim_line <&"$sim_fd" || fail "pbx-sim did not start"
sim_url="${sim_line#listening on }"
sim_port="${sim_url#http://127.0.0.1:}"
sim_port="${sim_port%%/*}"
cat <&"$sim_fd" >/dev/null &
exec {sim_fd}<&-
# The provider logs in as "tsp" with the password "secret" (the harness stores it with DPAPI).
password_hash="$(printf 'secret\n' | "$main_bin/cti-gateway" hash-password)" || fail "hash-password"
start_gateway "127.0.0.1:0"

# The harness asks for the gateway restart on stdout and waits for "restarted" on stdin. A
# wineserver started without the pipes keeps Wine's own processes from holding them open.
WINEPREFIX="$prefix" /usr/lib/wine/wineserver -k 2>/dev/null || true
WINEPREFIX="$prefix" /usr/lib/wine/wineserver -p </dev/null >/dev/null 2>&1
mkfifo "$work/harness.in" "$work/harness.out"
WINEPREFIX="$prefix" WINEDEBUG=-all timeout 300 "$wine" "$out/tsp-harness.exe" --real \
    "$(windows_path "$out/cti-gateway.tsp")" "$gateway_port" "$sim_port" \
    <"$work/harness.in" >"$work/harness.out" &
harness_pid=$!
exec {to_harness}>"$work/harness.in" {from_harness}<"$work/harness.out"
while IFS= read -r -t 120 line <&"$from_harness"; do
    line="${line%$'\r'}"
    echo "$line"
    case "$line" in
        "harness: restart the gateway")
            restart_gateway
            echo restarted >&"$to_harness"
            ;;
        "harness: done") break ;;
    esac
done
harness_status=0
wait "$harness_pid" || harness_status=$?
harness_pid=""
exec {to_harness}>&- {from_harness}<&-
if [ "$harness_status" -ne 0 ]; then
    echo "--- cti-gateway log (last 40 lines) ---" >&2
    tail -n 40 "$work/gateway.log" >&2
    echo "--- pbx-sim log (last 20 lines) ---" >&2
    tail -n 20 "$work/sim.log" >&2
    fail "the TAPISRV harness against cti-gateway (see the messages above)"
fi
echo "tsp-client: harness passed (cti-gateway and pbx-sim)"
echo "tsp-client: all tests passed"
