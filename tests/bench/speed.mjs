// `make bench`'s table: the simulator against this machine's own Linux
// kernel, side by side in one run, as ratios.
//
//   node tests/bench/speed.mjs [--rounds N] [--quick] [--no-chromium]
//
// Columns: the host kernel (tests/bench/host.c, built here with cc -O2), the
// native simulator (crates/vmcli/examples/speed.rs, built with cargo
// --release), the wasm package (www/pkg, `make build`) in Node and in
// headless Chromium (tests/bench/speedcore.mjs, the raw API and runTrace /
// runTextBulk). The two rows "inside the module" run W1's and W4's loops
// from inside a package built here with the `bench` feature, in Node: the
// engine's code for the simulation without a boundary crossing per call.
// Each workload runs in a fresh process (Node: a fresh
// `node` per run; Chromium: one page), the columns interleaved, `--rounds`
// times (default 3); the table shows medians and the ratios the issue
// asks for. Run nothing heavy beside it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
// The site's package; a child run may name another (the `bench` build).
const pkg = process.env.VMPLAY_SPEED_PKG || path.join(root, 'www/pkg');
const argv = process.argv.slice(2);

// A child run of one wasm workload in Node: `speed.mjs --node MODE ARGS...`.
if (argv[0] === '--node') {
  const { runMode } = await import('./speedcore.mjs');
  const vm = await import(pathToFileURL(path.join(pkg, 'vmwasm.js')).href);
  vm.initSync({ module: fs.readFileSync(path.join(pkg, 'vmwasm_bg.wasm')) });
  const r = runMode(vm, argv[1], argv.slice(2), () => performance.now());
  console.log(`RESULT ${r.value} ${r.unit}`);
  process.exit(0);
}

const quick = argv.includes('--quick');
const rounds = Number(argv[argv.indexOf('--rounds') + 1]) || (quick ? 1 : 3);
const chromium = !argv.includes('--no-chromium');
const q = (full, short) => String(quick ? short : full);

// Each row: what it measures, and the mode and arguments of each column
// (null: not measured there). `lower`: smaller is faster.
const SCEN_LINES = 100000;
const ROWS = [
  { name: 'W1: mmap 64 KiB, store to its 16 pages, munmap (per iteration)', unit: 'µs', scale: 1e-3, lower: true,
    host: ['w1', q(100000, 20000)], native: ['w1', q(200000, 20000)], wasm: ['w1', q(20000, 4000)] },
  { name: 'W2: fork of 64 MiB touched, child stores 32 pages, exits (per fork)', unit: 'ms', scale: 1e-3, lower: true,
    host: ['fork', '64', q(50, 10)], native: ['fork', '64', q(20, 5)], wasm: ['fork', '64', q(20, 5)] },
  { name: 'W3: random byte load over 64 MiB resident (per load; a trace: run_trace, runTrace)', unit: 'ns', scale: 1, lower: true,
    host: ['w3', q(10000000, 2000000)], native: ['w3', q(5000000, 1000000)], wasm: ['w3', q(1000000, 300000)] },
  { name: 'W3 per call (one load, rawLoad, per byte)', unit: 'ns', scale: 1, lower: true,
    host: null, native: ['w3call', q(5000000, 1000000)], wasm: ['w3call', q(1000000, 300000)] },
  { name: 'W4: one-page mmap+munmap beside 32,768 mappings (per pair)', unit: 'µs', scale: 1e-3, lower: true,
    host: ['w4', '32768', q(200000, 20000)], native: ['w4', '32768', q(400000, 40000)], wasm: ['w4', '32768', q(400000, 40000)] },
  // `bench`: run in the bench package; its native column is that of the
  // row whose native mode is `nativeOf` (the same loop, not run twice).
  { name: 'W1 inside the module (the same loop in one call; the engine\'s code without the boundary)', unit: 'µs', scale: 1e-3, lower: true,
    host: null, native: null, nativeOf: 'w1', wasm: ['w1inside', q(20000, 4000)], bench: true },
  { name: 'W4 inside the module (the same pairs in one call)', unit: 'µs', scale: 1e-3, lower: true,
    host: null, native: null, nativeOf: 'w4', wasm: ['w4inside', '32768', q(400000, 40000)], bench: true },
  { name: 'a `load` whose translation is in the TLB (the call floor; wasm: rawLoad)', unit: 'ns', scale: 1, lower: true,
    host: null, native: ['loadhit', q(10000000, 2000000)], wasm: ['loadhit', q(2000000, 500000)] },
  { name: 'the same through the checked `load` ({ ok, value })', unit: 'ns', scale: 1, lower: true,
    host: null, native: null, wasm: ['loadhitChecked', q(500000, 100000)] },
  { name: `a ${SCEN_LINES.toLocaleString('en')}-line scenario (lines per second; wasm: runTextBulk)`, unit: 'k', scale: 1e-3, lower: false,
    host: null, native: ['scen', '@scen', '@warm'], wasm: ['scen', String(SCEN_LINES)] },
];

function log(s) { process.stderr.write(s + '\n'); }
function parse(out, what) {
  const m = /^RESULT (\S+)/m.exec(out);
  if (!m) throw new Error(`${what}: no RESULT in ${out}`);
  return Number(m[1]);
}

// --- builds ---------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmplay-speed-'));
const host = path.join(tmp, 'host');
execFileSync('cc', ['-O2', '-o', host, path.join(here, 'host.c')], { stdio: 'inherit' });
log('bench: cargo build --release -p vmcli --example speed');
execFileSync('cargo', ['build', '-q', '--release', '-p', 'vmcli', '--example', 'speed'], { cwd: root, stdio: 'inherit' });
const target = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const native = path.join(target, 'release/examples/speed');
if (!fs.existsSync(path.join(pkg, 'vmwasm_bg.wasm'))) throw new Error('www/pkg missing: make build');
// The rows "inside the module" run a package built with the `bench`
// feature (its in-module loops) as the site's is built; Node only.
const benchPkg = path.join(tmp, 'pkg-bench');
execFileSync('bash', [path.join(root, 'scripts/build.sh'), `wasm-bench=${benchPkg}`], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const { mixedScenario } = await import('./speedcore.mjs');
const scenFile = path.join(tmp, 'scen.vms');
fs.writeFileSync(scenFile, mixedScenario(SCEN_LINES));
// The warm-up scenario of speedcore.mjs's `scen`, for the native column.
const warmFile = path.join(tmp, 'warm.vms');
fs.writeFileSync(warmFile, mixedScenario(20000, 999));
const files = { '@scen': scenFile, '@warm': warmFile };

// --- Chromium: one page that imports the package and speedcore.mjs -------------
let page = null, browser = null, site = null;
if (chromium) {
  try {
    const { launchBrowser } = await import('../e2e/harness.mjs');
    const { startServer } = await import('../../scripts/static-server.mjs');
    site = await startServer(path.join(root, 'www'), { port: 0 });
    browser = await launchBrowser();
    page = await browser.newPage();
    // a document of the site's origin without a playground (its machine would hold frames)
    await page.goto(new URL('pkg/package.json', site.url).href);
    const core = fs.readFileSync(path.join(here, 'speedcore.mjs'), 'utf8');
    await page.evaluate(async (src) => {
      const vm = await import(new URL('/pkg/vmwasm.js', location.href).href);
      await vm.default();
      const core = await import(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
      window.__speed = (mode, args) => core.runMode(vm, mode, args, () => performance.now()).value;
    }, core);
  } catch (e) {
    log(`bench: no Chromium column (${e.message.split('\n')[0]})`);
    page = null;
  }
}

// --- the runs, interleaved ------------------------------------------------------
const cols = ['host', 'native', 'node', 'chromium'];
const got = ROWS.map(() => Object.fromEntries(cols.map((c) => [c, []])));
const run = {
  host: (a) => parse(execFileSync(host, a, { encoding: 'utf8' }), `host ${a}`),
  native: (a) => parse(execFileSync(native, a.map((x) => files[x] ?? x), { encoding: 'utf8' }), `native ${a}`),
  node: (a, row) => parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--node', ...a],
    { encoding: 'utf8', env: row.bench ? { ...process.env, VMPLAY_SPEED_PKG: benchPkg } : process.env }), `node ${a}`),
  chromium: async (a) => page.evaluate(([mode, args]) => window.__speed(mode, args), [a[0], a.slice(1)]),
};
for (let r = 0; r < rounds; r++) {
  for (const [i, row] of ROWS.entries()) {
    for (const col of cols) {
      const a = col === 'node' || col === 'chromium' ? row.wasm : row[col];
      if (!a || (col === 'chromium' && (!page || row.bench))) continue;
      const v = await run[col](a, row);
      got[i][col].push(v);
      log(`bench: round ${r + 1}/${rounds} ${row.name.split(':')[0].split(' (')[0]} ${col}: ${v.toFixed(1)}`);
    }
  }
}
await browser?.close();
await site?.close();
fs.rmSync(tmp, { recursive: true, force: true });

// --- the table ------------------------------------------------------------------
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : NaN; };
const fmt = (v, row) => {
  if (!Number.isFinite(v)) return '—';
  const x = v * row.scale;
  const s = x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `${Number(s).toLocaleString('en')} ${row.unit}`;
};
// How many times the kernel's (or native's) time: above 1 is slower.
const ratio = (v, base, row) => (Number.isFinite(v) && Number.isFinite(base) ? (row.lower ? v / base : base / v) : NaN);
const r2 = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
let cpu = '';
try { cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)[1]; } catch { /* not Linux */ }
console.log(`vmplay speed, ${new Date().toISOString().slice(0, 10)}: ${os.type()} ${os.release()}, ${cpu}, ${os.cpus().length} cores; node ${process.version}; medians of ${rounds} interleaved round(s)`);
console.log('');
console.log('| workload | host kernel | native | wasm, Node | wasm, Chromium | native / kernel | Node / kernel | Node / native | Chromium / Node |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [i, row] of ROWS.entries()) {
  const m = Object.fromEntries(cols.map((c) => [c, median(got[i][c])]));
  if (row.nativeOf) m.native = median(got[ROWS.findIndex((r) => r.native?.[0] === row.nativeOf)].native);
  console.log(`| ${row.name} | ${fmt(m.host, row)} | ${fmt(m.native, row)} | ${fmt(m.node, row)} | ${fmt(m.chromium, row)} | ` +
    `${r2(ratio(m.native, m.host, row))} | ${r2(ratio(m.node, m.host, row))} | ${r2(ratio(m.node, m.native, row))} | ${r2(ratio(m.chromium, m.node, row))} |`);
}
console.log('');
console.log('Ratios are times slower than the column named second (below 1: faster); for the scenario row, throughput taken the same way.');
