#!/usr/bin/env bash
# build.sh -- release build of everything `make serve` and the tests use:
#   www/pkg/   the wasm module and its JS glue (wasm-pack, then npm's wasm-opt -O)
#   www/web/   a copy of web/ so that www/ is a self-contained static site
#   vmplay     the command-line runner (cargo build --release -p vmcli)
#
#   build.sh [wasm|site|cli|wasm-bench=DIR]...   (default: the first three)
#
# wasm-bench=DIR builds the module as wasm does, with the `bench` feature
# (`make bench`'s in-module loops), into DIR; never part of the site.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

# build_wasm OUT [WASM-PACK-ARGS...]: the module and its glue in OUT.
build_wasm() {
    local out=$1
    shift
    say "build: wasm-pack build crates/vmwasm --release --target web $*"
    # wasm-opt is off in crates/vmwasm/Cargo.toml; --mode no-install makes a
    # wasm-bindgen version mismatch fail fast instead of installing one.
    wasm-pack build crates/vmwasm --release --target web --mode no-install \
        --out-dir "$out" "$@"
    local wasm opt="$ROOT/node_modules/.bin/wasm-opt"
    [ -x "$opt" ] || die "$opt missing: run make setup"
    for wasm in "$out"/*.wasm; do
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
        wasm) build_wasm "$ROOT/www/pkg" ;;
        wasm-bench=?*) build_wasm "${step#wasm-bench=}" -- --features bench ;;
        site) build_site ;;
        cli) build_cli ;;
        *) die "build.sh: unknown step $step" ;;
    esac
done
