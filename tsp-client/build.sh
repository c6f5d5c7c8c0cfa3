#!/usr/bin/env bash
# Windows build of the TAPI service provider (and csta through it) and the TAPISRV harness,
# with Debian 12's Rust 1.63 (rustc + cargo + libstd-rust-dev-windows) and mingw-w64.
# Produces target/x86_64-pc-windows-gnu/release/cti-gateway.tsp (stripped) and tsp-harness.exe.
set -euo pipefail
cd "$(dirname "$0")"

fail() {
    echo "tsp-client build: FAILED: $*" >&2
    exit 1
}

# Debian's cargo and rustc must be used together (rustup's newer cargo cannot drive rustc 1.63).
for tool in /usr/bin/cargo /usr/bin/rustc; do
    [ -x "$tool" ] || fail "$tool is missing (apt-get install rustc cargo libstd-rust-dev-windows)"
done
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "x86_64-w64-mingw32-gcc is missing (apt-get install gcc-mingw-w64-x86-64)"
/usr/bin/rustc --print sysroot >/dev/null
[ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/x86_64-pc-windows-gnu" ] \
    || fail "the Windows std is missing (apt-get install libstd-rust-dev-windows)"

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
# cargo 1.65 reaches crates.io only through the (then unstable) sparse protocol.
RUSTC=/usr/bin/rustc __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly CARGO_TARGET_DIR="$target_dir" \
    /usr/bin/cargo -Z sparse-registry build --locked --release --target x86_64-pc-windows-gnu \
    -p tsp-client -p tsp-harness \
    || fail "cargo build for x86_64-pc-windows-gnu"

built="$target_dir/x86_64-pc-windows-gnu/release"
out="target/x86_64-pc-windows-gnu/release"
mkdir -p "$out"
x86_64-w64-mingw32-strip -o "$out/cti-gateway.tsp" "$built/tsp_client.dll" || fail "strip"
if [ "$(cd "$built" && pwd)" != "$(cd "$out" && pwd)" ]; then
    cp "$built/tsp-harness.exe" "$out/tsp-harness.exe"
fi
echo "built $out/cti-gateway.tsp and $out/tsp-harness.exe"
