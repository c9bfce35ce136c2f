#!/usr/bin/env bash
# setup.sh -- install what building and testing vmplay needs, and only what is
# missing. Idempotent; a second run takes well under a second because every
# check is a cheap one (command -v, a version string, a stamp file keyed on
# the hash of package-lock.json).
#
#   wasm32-unknown-unknown   rustup target
#   wasm-pack                =0.15.1, cargo install --locked
#   wasm-bindgen-cli         exactly the wasm-bindgen version in Cargo.lock,
#                            cargo install WITHOUT --locked
#   chromium, chromedriver   Debian packages (/usr/bin/chromium, /usr/bin/chromedriver)
#   node_modules             npm ci: playwright-core (browser tests),
#                            binaryen (its wasm-opt; never Debian's binaryen)
#                            and typescript (tsc checks the .d.ts)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

did=0
note() { did=1; say "setup: $*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo -E "$@"
    else die "'$*' needs root (no sudo here)"
    fi
}

apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { as_root apt-get update -q; apt_updated=1; }; }
apt_install() {
    # Update the package lists first only when apt knows no candidate for a
    # package (lists never fetched, or stale); retry once after an update.
    local p
    for p in "$@"; do
        if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            apt_update; break
        fi
    done
    as_root apt-get install -y -q "$@" || { apt_update; as_root apt-get install -y -q "$@"; }
}

# --- Rust toolchain and the wasm target -------------------------------------
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
sysroot="$(rustc --print sysroot)"
if [ ! -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    command -v rustup >/dev/null || die "no rustup to add the wasm32-unknown-unknown target"
    note "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# --- cargo-installed tools ---------------------------------------------------
# Install into cargo's bin folder with a private target dir, whatever
# CARGO_TARGET_DIR says for the project build.
if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
    note "installing wasm-pack $WASM_PACK_VERSION (cargo install, ~2 min)"
    env -u CARGO_TARGET_DIR cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked --force
fi

wb="$(wasm_bindgen_lock_version)"
[ -n "$wb" ] || die "no wasm-bindgen package in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ] ||
   [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != "wasm-bindgen-test-runner $wb" ]; then
    note "installing wasm-bindgen-cli $wb to match Cargo.lock (cargo install, ~2 min)"
    # Without --locked: the CLI's own lockfile wants crate versions this
    # registry does not serve.
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "=$wb" --force
fi

# --- Debian packages: browser, driver, node ---------------------------------
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    note "installing Debian packages: ${need[*]}"
    apt_install "${need[@]}"
fi

# --- npm packages ------------------------------------------------------------
stamp="node_modules/.vmplay-setup-stamp"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] ||
   [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
    note "npm ci (playwright-core, binaryen, typescript)"
    npm ci --no-audit --no-fund
    printf '%s\n' "$want" > "$stamp"
fi

if [ "$did" = 1 ]; then
    say "setup: done"
else
    say "setup: everything already installed"
fi
