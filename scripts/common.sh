# Shared by the scripts in this folder (sourced, not run).
# Puts the repository root in $ROOT, cargo's bin folder on PATH and offers
# small helpers. Works from any current directory.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
    *":$CARGO_BIN:"*) ;;
    *) export PATH="$CARGO_BIN:$PATH" ;;
esac
export DEBIAN_FRONTEND=noninteractive

# Pinned tool versions (see docs in README.md and shared toolchain notes).
WASM_PACK_VERSION=0.15.1

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The version of the wasm-bindgen crate that Cargo.lock pins.
wasm_bindgen_lock_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
        "$ROOT/Cargo.lock"
}

# Cargo's target folder, wherever CARGO_TARGET_DIR or a config puts it.
cargo_target_dir() {
    (cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null) |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).target_directory))' ||
        printf '%s' "${CARGO_TARGET_DIR:-$ROOT/target}"
}

# Seconds since the epoch with a fraction, and a difference of two of them.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
