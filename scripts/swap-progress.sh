#!/usr/bin/env bash
# swap-progress.sh -- how many of the version-2 swap cases pass
# (tests/conformance/cases-swap, recorded on Linux 6.18; the language is
# tests/conformance/FORMAT-v2-swap.md). A progress report, not a test: it
# exits 0 whatever the count (1 only when the build fails), and it is not
# part of `make test` (scripts/test.sh runs these cases only with
# SWAP_CONFORMANCE=1).
#
#   scripts/swap-progress.sh       names of the failing cases, then the count
#   VERBOSE=1 scripts/swap-progress.sh   with check's diffs
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

cargo build --release -p vmcli || exit 1
target="$(cargo_target_dir)"
runner="$(printf '%q run --check' "$target/release/vmplay")"
report="$(bash tests/conformance/check --runner "$runner" tests/conformance/cases-swap)"
if [ "${VERBOSE:-0}" = 1 ]; then
    printf '%s\n' "$report"
else
    printf '%s\n' "$report" | grep '^FAIL '
fi
last="$(printf '%s\n' "$report" | tail -n 1)"
passed="${last%% passed*}"
failed="${last#*passed, }"; failed="${failed%% failed*}"
say "swap conformance: $passed of $((passed + failed)) cases pass ($last)"
exit 0
