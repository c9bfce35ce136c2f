#!/usr/bin/env bash
# build.sh -- release build of everything `make serve` and the tests use:
#   www/pkg/   the wasm module and its JS glue (wasm-pack, then npm's wasm-opt -O)
#   www/web/   a copy of web/ so that www/ is a self-contained static site
#   vmplay     the command-line runner (cargo build --release -p vmcli)
#
#   build.sh [wasm|site|cli]...   (default: all three)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

build_wasm() {
    say "build: wasm-pack build crates/vmwasm --release --target web"
    # wasm-opt is off in crates/vmwasm/Cargo.toml; --mode no-install makes a
    # wasm-bindgen version mismatch fail fast instead of installing one.
    wasm-pack build crates/vmwasm --release --target web --mode no-install \
        --out-dir "$ROOT/www/pkg"
    local wasm opt="$ROOT/node_modules/.bin/wasm-opt"
    [ -x "$opt" ] || die "$opt missing: run make setup"
    for wasm in "$ROOT"/www/pkg/*.wasm; do
        local before after
        before=$(stat -c %s "$wasm")
        # npm's binaryen, never Debian's (its wasm-opt 108 breaks the module).
        "$opt" -O "$wasm" -o "$wasm.opt"
        mv "$wasm.opt" "$wasm"
        after=$(stat -c %s "$wasm")
        say "build: wasm-opt -O ${wasm#"$ROOT"/}: $before -> $after bytes"
    done
}

build_site() {
    say "build: copy web/ -> www/web/"
    rm -rf www/web
    mkdir -p www/web
    if [ -d web ]; then cp -R web/. www/web/; fi
}

build_cli() {
    say "build: cargo build --release -p vmcli"
    cargo build --release -p vmcli
}

[ $# -gt 0 ] || set -- wasm site cli
for step in "$@"; do
    case "$step" in
        wasm) build_wasm ;;
        site) build_site ;;
        cli) build_cli ;;
        *) die "build.sh: unknown step $step" ;;
    esac
done
