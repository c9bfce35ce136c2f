#!/usr/bin/env bash
# test.sh -- run every test suite of vmplay, print each one's result and a
# summary; exit 1 if any failed. Run `make setup` (or `make test`) first.
#
#   cargo test        cargo test --workspace --no-fail-fast (every crate reports)
#   conformance       vmplay run on every recorded case (tests/conformance/cases,
#                     tests/conformance/recorded, and ../shared/conformance/cases
#                     when it is beside the checkout), and the version-2
#                     swap cases (tests/conformance/cases-swap, the project's own
#                     swap recordings tests/conformance/recorded-swap, and
#                     ../shared/conformance/cases-swap), and the BSD
#                     cases (tests/conformance/cases-freebsd, cases-netbsd,
#                     and ../shared/conformance/cases-freebsd, cases-netbsd),
#                     each line followed by Machine::check()
#   wasm (chrome)     wasm-pack test --headless --chrome crates/vmwasm
#   site build        release wasm + wasm-opt + www/web (scripts/build.sh)
#   typescript        tsc --strict on tests/types/ against the generated
#                     declarations (www/pkg/vmwasm.d.ts)
#   browser e2e       node --test tests/e2e/ against a server on a free port
#
# A suite whose inputs are not there yet (no conformance cases) is reported
# as SKIP and does not fail the run.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

names=() results=() times=()
pass=0 fail=0 skip=0

# run_suite NAME CMD...: run CMD, stream its output, record PASS/FAIL and time.
run_suite() {
    local name="$1"; shift
    say ""
    say "==> $name: $*"
    local t0 t1 rc
    t0=$(now)
    "$@"
    rc=$?
    t1=$(now)
    names+=("$name"); times+=("$(elapsed "$t0" "$t1")")
    if [ "$rc" -eq 0 ]; then
        results+=(PASS); pass=$((pass + 1))
    else
        results+=("FAIL (exit $rc)"); fail=$((fail + 1))
    fi
    say "<== $name: ${results[-1]} in ${times[-1]}s"
}

skip_suite() {
    names+=("$1"); results+=("SKIP ($2)"); times+=(0.0); skip=$((skip + 1))
    say ""
    say "==> $1: SKIP ($2)"
}

target="$(cargo_target_dir)"
say "test: cargo target dir $target"

# --- 1. native unit, property and doc tests ---------------------------------
run_suite "cargo test" cargo test --workspace --no-fail-fast

# --- 2. conformance: the runner against cases recorded on a real kernel -----
conformance() {
    local check="$1" dir="$2"
    cargo build --release -p vmcli || return
    local runner
    # --check: Machine::check() after every line; a broken invariant fails.
    runner="$(printf '%q run --check' "$target/release/vmplay")"
    bash "$check" --runner "$runner" "$dir"
}
check=""
for c in tests/conformance/check ../shared/conformance/check; do
    if [ -f "$c" ]; then check="$c"; break; fi
done
for d in tests/conformance/cases tests/conformance/recorded tests/conformance/cases-swap \
         tests/conformance/recorded-swap tests/conformance/cases-freebsd \
         tests/conformance/cases-netbsd \
         ../shared/conformance/cases ../shared/conformance/cases-swap \
         ../shared/conformance/cases-freebsd ../shared/conformance/cases-netbsd; do
    if [ ! -d "$d" ]; then
        if [ "${d#tests/}" != "$d" ]; then
            skip_suite "conformance $d" "not in the repository yet"
        else
            skip_suite "conformance $d" "no shared/ beside the checkout"
        fi
    elif [ -z "$check" ]; then
        skip_suite "conformance $d" "no check script"
    else
        run_suite "conformance $d" conformance "$check" "$d"
    fi
done

# --- 3. wasm bindings tested inside headless Chrome --------------------------
chromedriver="$(command -v chromedriver || echo /usr/bin/chromedriver)"
run_suite "wasm-pack test (chrome)" \
    wasm-pack test --headless --chrome --chromedriver "$chromedriver" --mode no-install crates/vmwasm

# --- 4. the site as `make serve` serves it ----------------------------------
run_suite "site build" bash scripts/build.sh wasm site
site_ok=0
[ "${results[-1]}" = PASS ] && site_ok=1

# --- 5. the TypeScript declarations, as a strict user of the API sees them ---
if [ "$site_ok" = 1 ]; then
    run_suite "typescript (tsc --strict)" node_modules/.bin/tsc -p tests/types --noEmit
else
    names+=("typescript (tsc --strict)"); results+=("FAIL (site build failed)"); times+=(0.0)
    fail=$((fail + 1))
fi

# --- 6. browser end-to-end tests ---------------------------------------------
server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=""
    fi
}
trap stop_server EXIT
e2e() {
    local log url="" i
    log="$(mktemp)"
    node scripts/serve.mjs --quiet --port 0 www >"$log" 2>&1 &
    server_pid=$!
    for i in $(seq 1 100); do
        url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$log" | head -n 1)"
        [ -n "$url" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        cat "$log"; rm -f "$log"; stop_server
        say "test: the e2e server did not start"
        return 1
    fi
    say "test: serving www/ at $url for the browser tests"
    local rc=0
    VMPLAY_E2E_URL="$url" node --test tests/e2e/ || rc=$?
    stop_server
    rm -f "$log"
    return "$rc"
}
if [ "$site_ok" = 1 ]; then
    run_suite "browser e2e" e2e
else
    names+=("browser e2e"); results+=("FAIL (site build failed)"); times+=(0.0)
    fail=$((fail + 1))
fi

# --- summary -------------------------------------------------------------------
say ""
say "================================ test summary ================================"
for i in "${!names[@]}"; do
    printf '  %-44s %-40s %6ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
done
say "=============================================================================="
if [ "$skip" -gt 0 ]; then
    say "suites: $pass passed, $fail failed, $skip skipped"
else
    say "suites: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
