// Memory under pressure in wasm, in Node (`make bench`, not `make test`):
// the workloads of crates/vmcore/benches/pressure.rs through the public
// `Machine` API of the web-target package, as a page calls it.
//
//   thrash   a 64 MiB working set under a 16 MiB memory limit with swap,
//            stored to page by page in a loop (per store)
//   fork     fork of a process whose 16 MiB are on swap, the child storing
//            to 32 pages and exiting (per fork)
//
// Needs `make build` (www/pkg). Prints the figures; exits 0.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '../../www/pkg');
const vm = await import(pathToFileURL(path.join(pkg, 'vmwasm.js')).href);
vm.initSync({ module: fs.readFileSync(path.join(pkg, 'vmwasm_bg.wasm')) });

const MIB = 1 << 20;
const RW = 'PROT_READ|PROT_WRITE';
const PRIV = 'MAP_PRIVATE|MAP_ANONYMOUS';

function must(r, what) {
  if (!r.ok) throw new Error(`${what}: ${JSON.stringify(r)}`);
  return r.value;
}

function line(m, text) {
  const r = m.execLine(1, text);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r)}`);
  return r.output;
}

function thrash() {
  const m = new vm.Machine({ frames: 65_536, events: false });
  line(m, 'swapon 128M');
  line(m, 'memlimit 16M');
  const a = must(m.mmap(1, 0, 64 * MIB, RW, PRIV, -1, 0), 'mmap');
  must(m.fill(1, a, 64 * MIB, 1), 'fill');
  const pages = (64 * MIB) / 4096;
  let i = 0;
  const t0 = performance.now();
  for (let n = 0; n < 2 * pages; n++) {
    must(m.store(1, a + i * 4096, 2), 'store');
    i = (i + 1) % pages;
  }
  const per = ((performance.now() - t0) * 1000) / (2 * pages);
  m.free();
  return per;
}

function fork() {
  const m = new vm.Machine({ frames: 65_536, events: false });
  line(m, 'swapon 64M');
  const a = must(m.mmap(1, 0, 16 * MIB, RW, PRIV, -1, 0), 'mmap');
  must(m.fill(1, a, 16 * MIB, 1), 'fill');
  must(m.madvise(1, a, 16 * MIB, 'MADV_PAGEOUT'), 'madvise');
  const N = 200;
  const t0 = performance.now();
  for (let n = 0; n < N; n++) {
    const child = must(m.fork(1), 'fork');
    for (let p = 0; p < 32; p++) must(m.store(child, a + p * 128 * 4096, 2), 'store');
    must(m.exit(child), 'exit');
  }
  const per = ((performance.now() - t0) * 1000) / N;
  m.free();
  return per;
}

const median = (f, n = 3) => {
  const xs = Array.from({ length: n }, f).sort((x, y) => x - y);
  return xs[Math.floor(n / 2)];
};
console.log(`wasm (Node ${process.version}) swap_thrash_64m_under_16m: ${median(thrash).toFixed(2)} us per store`);
console.log(`wasm (Node ${process.version}) fork_with_swapped_pages: ${median(fork).toFixed(1)} us per fork`);
