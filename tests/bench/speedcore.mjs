// The wasm side of `make bench`'s table: the workloads of host.c and
// crates/vmcli/examples/speed.rs through the module's raw API (numbers in,
// numbers out: rawMmap, rawStore, rawLoad, rawFork, rawExit, runTrace) and
// runTextBulk, the way a course tool or a long trace calls it. Runs in Node
// (speed.mjs) and in Chromium (the same file, imported by the page).
// Self-contained: the page imports it from a blob.
//
//   runMode(vm, mode, args, now) -> { value, unit, info }
//   vm: the module (www/pkg/vmwasm.js) after init; now: a ms clock.
//
// Each timed loop follows an untimed warm-up, so that what is timed is the
// engine's optimizing tier's code. V8 first runs a function in its baseline
// compiler (Liftoff) and compiles it again, in the background, only once it
// is hot; a function keeps its baseline code for the whole of a call that
// is already running. A warm-up of a fixed fifth of the loop was too short
// for that on this machine: 20 forks of 64 MiB timed after 4 took 1.1 ms
// each, after V8 had compiled everything 0.6 ms. So the warm-up runs
// batches of a fifth of the loop until at least WARM_MS have passed and a
// batch is no faster than the best before it.

const RW = 3, RO = 1, PRIV = 0x22, FIXED = 0x10;
const ARENA = 0x300000000000;

function ok(m, r, what) {
  if (r < 0) throw new Error(`${what}: ${r} ${JSON.stringify(m.lastError())}`);
  return r;
}

/** `n` random byte offsets in [0, size) from host.c's xorshift64 (size a power of two). */
export function xorshiftOffsets(n, size) {
  const out = new Float64Array(n);
  const M = (1n << 64n) - 1n, mask = BigInt(size - 1);
  let x = 88172645463325252n;
  for (let i = 0; i < n; i++) {
    x ^= (x << 13n) & M;
    x ^= x >> 7n;
    x ^= (x << 17n) & M;
    out[i] = Number(x & mask);
  }
  return out;
}

/**
 * `lines` lines (a multiple of 10) of mixed mmap / store / load / munmap on
 * 32 slots of private anonymous memory (1..16 pages each): about 10 % mmap,
 * 10 % munmap, 40 % store, 40 % load. Deterministic (xorshift32).
 */
export function mixedScenario(lines = 100000, seed = 12345) {
  let x = seed >>> 0 || 1;
  const r = (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  const SLOTS = 32, len = new Array(SLOTS).fill(0), out = [];
  const live = () => len.flatMap((l, i) => (l ? [i] : []));
  while (out.length < lines) {
    const s = r(SLOTS);
    if (len[s]) out.push(`munmap $s${s} ${len[s] * 4}K`);
    else {
      const l = live();
      if (l.length) { const t = l[r(l.length)]; out.push(`load $s${t}+${r(len[t] * 4096)}`); }
      else out.push('load $arena');
    }
    len[s] = 1 + r(16);
    out.push(`$s${s} = mmap 0 ${len[s] * 4}K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS -1 0`);
    for (let i = 0; i < 4; i++) out.push(`store $s${s}+${r(len[s] * 4096)} ${1 + r(255)}`);
    const l = live();
    for (let i = 0; i < 4; i++) { const t = l[r(l.length)]; out.push(`load $s${t}+${r(len[t] * 4096)}`); }
  }
  return out.slice(0, lines).join('\n') + '\n';
}

const WARM_MS = 300;
const WARM_BATCHES = 40;

/** Run `warm` until it stops getting faster (see above). */
function warmUp(now, warm) {
  let spent = 0, best = Infinity;
  for (let i = 0; i < WARM_BATCHES && spent < 10 * WARM_MS; i++) {
    const t = now();
    warm();
    const dt = now() - t;
    spent += dt;
    const steady = dt >= best * 0.97;
    best = Math.min(best, dt);
    if (spent >= WARM_MS && steady) break;
  }
}

function timed(n, now, f) {
  const b = Math.max(1, Math.ceil(n / 5));
  warmUp(now, () => f(b));
  const t = now();
  f(n);
  return (now() - t) / n; // ms per unit
}

export function runMode(vm, mode, args, now) {
  const n = (i, d) => (args[i] !== undefined ? Number(args[i]) : d);
  const info = [];
  let value, unit;
  const m = new vm.Machine({ frames: 262144, events: false });
  // W4's `count` one-page mappings, every other one read-only so that no
  // two merge.
  const beside = (count) => {
    for (let k = 0; k < count; k++) ok(m, m.rawMmap(1, ARENA + k * 8192, 4096, k & 1 ? RO : RW, PRIV | FIXED, -1, 0), 'fixed');
  };
  const touched = (size) => {
    const a = ok(m, m.rawMmap(1, 0, size, RW, PRIV, -1, 0), 'mmap');
    ok(m, m.rawFill(1, a, size, 1), 'fill');
    return a;
  };
  try {
    switch (mode) {
      case 'w1':
        value = timed(n(0, 20000), now, (k) => {
          for (let i = 0; i < k; i++) {
            const a = ok(m, m.rawMmap(1, 0, 65536, RW, PRIV, -1, 0), 'mmap');
            for (let j = 0; j < 16; j++) ok(m, m.rawStore(1, a + j * 4096, 1), 'store');
            ok(m, m.rawMunmap(1, a, 65536), 'munmap');
          }
        }) * 1e6;
        unit = 'ns/iter';
        break;
      case 'fork': {
        const size = n(0, 64) * 1048576;
        const a = touched(size);
        value = timed(n(1, 20), now, (k) => {
          for (let i = 0; i < k; i++) {
            const c = ok(m, m.rawFork(1), 'fork');
            for (let o = 0; o < size; o += 2097152) ok(m, m.rawStore(c, a + o, 2), 'store');
            ok(m, m.rawExit(c), 'exit');
          }
        }) * 1e3;
        unit = 'us/fork';
        break;
      }
      case 'w3': {
        // The trace path: the loads as one runTrace call per 100,000.
        const loads = n(0, 1000000), size = 64 << 20, chunk = 100000;
        const a = touched(size);
        const addrs = xorshiftOffsets(loads, size).map((o) => a + o);
        const ops = new Uint8Array(chunk), pids = new Uint32Array(chunk).fill(1);
        const results = new Int32Array(chunk), none = new Uint8Array(0);
        let sum = 0;
        value = timed(loads, now, (k) => {
          for (let i = 0; i < k; i += chunk) {
            const c = Math.min(chunk, k - i);
            const r = c === chunk ? results : results.subarray(0, c);
            const faults = m.runTrace(ops.subarray(0, c), pids.subarray(0, c), addrs.subarray(i, i + c), none, r);
            if (faults !== 0) throw new Error(`trace: ${faults} faults`);
            sum += r[0];
          }
        }) * 1e6;
        unit = 'ns/load';
        info.push(`sum ${sum}`);
        break;
      }
      case 'w3call': {
        // The same loads, one rawLoad call each.
        const loads = n(0, 1000000), size = 64 << 20;
        const a = touched(size);
        const off = xorshiftOffsets(loads, size);
        let s = 0;
        value = timed(loads, now, (k) => {
          for (let i = 0; i < k; i++) s += m.rawLoad(1, a + off[i]);
        }) * 1e6;
        unit = 'ns/load';
        info.push(`sum ${s}`);
        break;
      }
      case 'loadhit': {
        // The call floor: a load whose translation is in the TLB.
        const a = ok(m, m.rawMmap(1, 0, 4096, RW, PRIV, -1, 0), 'mmap');
        ok(m, m.rawStore(1, a + 7, 42), 'store');
        let s = 0;
        value = timed(n(0, 2000000), now, (k) => {
          for (let i = 0; i < k; i++) s += m.rawLoad(1, a + 7);
        }) * 1e6;
        if (s % 42) throw new Error('loadhit');
        unit = 'ns/call';
        break;
      }
      case 'loadhitChecked': {
        // The same floor through the checked method ({ ok, value }).
        const a = ok(m, m.rawMmap(1, 0, 4096, RW, PRIV, -1, 0), 'mmap');
        ok(m, m.rawStore(1, a + 7, 42), 'store');
        let s = 0;
        value = timed(n(0, 500000), now, (k) => {
          for (let i = 0; i < k; i++) s += m.load(1, a + 7).value;
        }) * 1e6;
        unit = 'ns/call';
        break;
      }
      case 'w4': {
        beside(n(0, 16));
        value = timed(n(1, 50000), now, (k) => {
          for (let i = 0; i < k; i++) {
            const a = ok(m, m.rawMmap(1, 0, 4096, RO, PRIV, -1, 0), 'mmap');
            ok(m, m.rawMunmap(1, a, 4096), 'munmap');
          }
        }) * 1e6;
        unit = 'ns/pair';
        break;
      }
      case 'w1inside':
      case 'w4inside': {
        // The same loop run inside the module (a package built with the
        // `bench` feature): what the engine's code for the simulation
        // costs, without a call across the boundary per system call.
        if (typeof m.benchInside !== 'function') throw new Error(`${mode}: the package has no benchInside (build it with --features bench)`);
        const w4 = mode === 'w4inside';
        if (w4) beside(n(0, 16));
        value = timed(n(w4 ? 1 : 0, 50000), now, (k) => m.benchInside(w4 ? 'w4' : 'w1', k)) * 1e6;
        unit = w4 ? 'ns/pair' : 'ns/iter';
        break;
      }
      case 'scen': {
        // runTextBulk of the mixed 100,000-line scenario: lines per second.
        const text = mixedScenario(n(0, 100000));
        const warmText = mixedScenario(20000, 999);
        warmUp(now, () => {
          const warm = new vm.Machine({ frames: 262144, events: false });
          warm.runTextBulk(warmText);
          warm.free();
        });
        const t = now();
        const r = m.runTextBulk(text);
        const ms = now() - t;
        if (r.error) throw new Error(JSON.stringify(r.error));
        value = r.count / (ms / 1000);
        unit = 'lines/s';
        break;
      }
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  } finally {
    m.free();
  }
  return { value, unit, info };
}
