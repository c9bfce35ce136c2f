#!/usr/bin/env bash
# dist.sh -- the npm package of vmplay (what `make dist` builds):
#   dist/vmplay-VERSION.tgz   `npm pack` of dist/package/, which holds
#     web/          the <vm-playground> element and its views (ES modules, CSS)
#     pkg/          the wasm module and its JS glue (from www/pkg)
#     scenarios/    the example scenarios and their recorded outputs
#     node/         the headless entry for Node (package/node.js)
#     types/        TypeScript types (package/index.d.ts + pkg/vmwasm.d.ts)
#     vmplay.css    optional page styles: a blank element explains itself
#     index.html, frame.html, styles.css   the playground page and the iframe page
#     README.md     docs/embedding.md
#
#   dist.sh [OUT_DIR]    (default: dist; needs www/pkg: scripts/build.sh wasm)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

out="${1:-$ROOT/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/package"
[ -f www/pkg/vmwasm_bg.wasm ] || die "www/pkg is missing: run make build (or scripts/build.sh wasm) first"

version="$(awk -F'"' '/^\[workspace.package\]/ { p = 1 } p && /^version = / { print $2; exit }' Cargo.toml)"
[ -n "$version" ] || die "no workspace version in Cargo.toml"

say "dist: staging vmplay $version in ${stage#"$ROOT"/}"
rm -rf "$stage"
mkdir -p "$stage/pkg" "$stage/node" "$stage/types"
cp -R web "$stage/web"
rm -f "$stage/web/app.js.map"
cp www/pkg/vmwasm.js www/pkg/vmwasm_bg.wasm www/pkg/vmwasm.d.ts www/pkg/vmwasm_bg.wasm.d.ts "$stage/pkg/"
cp -R www/scenarios "$stage/scenarios"
cp www/index.html www/frame.html www/styles.css "$stage/"
cp package/node.js "$stage/node/index.js"
cp package/index.d.ts "$stage/types/index.d.ts"
cp package/vmplay.css "$stage/vmplay.css"
cp docs/embedding.md "$stage/README.md"

node - "$stage/package.json" "$version" <<'JS'
const fs = require('node:fs');
const [file, version] = process.argv.slice(2);
const pkg = {
  name: 'vmplay',
  version,
  description: 'A virtual-memory subsystem (x86_64 page tables, TLB, faults, copy-on-write, swap) simulated in WebAssembly: the <vm-playground> element for course pages, and the simulator headless in Node',
  license: 'MIT OR Apache-2.0',
  type: 'module',
  main: './node/index.js',
  browser: './web/playground.js',
  module: './web/playground.js',
  types: './types/index.d.ts',
  exports: {
    '.': { types: './types/index.d.ts', node: './node/index.js', default: './web/playground.js' },
    './playground.js': './web/playground.js',
    './web/*': './web/*',
    './pkg/*': './pkg/*',
    './scenarios/*': './scenarios/*',
    './vmplay.css': './vmplay.css',
    './package.json': './package.json',
  },
  files: ['web/', 'pkg/', 'scenarios/', 'node/', 'types/', 'vmplay.css', 'index.html', 'frame.html', 'styles.css', 'README.md'],
  sideEffects: ['./web/playground.js', './web/app.js', './web/frame.js', '*.css'],
  keywords: ['virtual memory', 'operating systems', 'page tables', 'tlb', 'simulator', 'webassembly', 'teaching', 'web component'],
  engines: { node: '>=20' },
};
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
JS

rm -f "$out/vmplay-$version.tgz"
(cd "$stage" && npm pack --silent --pack-destination "$out" >/dev/null)
[ -f "$out/vmplay-$version.tgz" ] || die "npm pack made no $out/vmplay-$version.tgz"
say "dist: $out/vmplay-$version.tgz ($(stat -c %s "$out/vmplay-$version.tgz") bytes)"
