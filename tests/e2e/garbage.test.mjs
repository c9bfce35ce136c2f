// Every export of the wasm module fed garbage: NaN, negative, fractional and
// huge numbers, BigInts outside 64 bits, undefined, null, strings, objects.
// Each must throw a clear TypeError/RangeError naming the method and the
// argument (never a wasm trap), and the machine must keep working. Runs in
// headless Chromium against the built site (www/pkg).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveSite, launchBrowser, newPage } from './harness.mjs';

let site;
let browser;
let page;
let errors;

before(async () => {
  site = await serveSite();
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser));
  await page.goto(new URL('index.html', site.url).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  // the module the page loaded, for the tests below
  await page.evaluate(async () => {
    window.vmwasm = await import(new URL('pkg/vmwasm.js', location.href).href);
  });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

// n: a 64-bit number; f: flags (number or names); s: a string; b: a boolean;
// o: an optional number (undefined allowed)
const A = 0x300000000000;
const METHODS = {
  mmap: [['n', 'n', 'n', 'f', 'f', 'n', 'n'], [1, A, 4096, 3, 0x32, -1, 0]],
  munmap: [['n', 'n', 'n'], [1, A, 4096]],
  mprotect: [['n', 'n', 'n', 'f'], [1, A, 4096, 1]],
  madvise: [['n', 'n', 'n', 'f'], [1, A, 4096, 4]],
  mincore: [['n', 'n', 'n'], [1, A, 4096]],
  mlock: [['n', 'n', 'n'], [1, A, 4096]],
  munlock: [['n', 'n', 'n'], [1, A, 4096]],
  mlock2: [['n', 'n', 'n', 'f'], [1, A, 4096, 0]],
  mlockall: [['n', 'f'], [1, 1]],
  munlockall: [['n'], [1]],
  msync: [['n', 'n', 'n', 'f'], [1, A, 4096, 4]],
  mremap: [['n', 'n', 'n', 'n', 'f', 'o'], [1, A, 4096, 8192, 1, 0]],
  brk: [['n', 'n'], [1, 0]],
  load: [['n', 'n'], [1, A]],
  store: [['n', 'n', 'n'], [1, A, 1]],
  fill: [['n', 'n', 'n', 'n'], [1, A, 16, 1]],
  exec: [['n', 'n'], [1, A]],
  open: [['n', 's', 'n'], [1, 'g.bin', 100]],
  memfd: [['n', 's', 'n'], [1, 'm', 100]],
  pread: [['n', 'n', 'n'], [1, 3, 0]],
  pwrite: [['n', 'n', 'n', 'n'], [1, 3, 0, 1]],
  ftruncate: [['n', 'n', 'n'], [1, 3, 0]],
  close: [['n', 'n'], [1, 3]],
  fork: [['n'], [1]],
  exit: [['n'], [1]],
  processView: [['n'], [1]],
  entries: [['n'], [1]],
  smaps: [['n'], [1]],
  maps: [['n'], [1]],
  pageStates: [['n', 'n', 'n'], [1, A, 4]],
  loadPageStates: [['n', 'n', 'n'], [1, A, 4]],
  walk: [['n', 'n'], [1, A]],
  frame: [['n'], [0]],
  amap: [['n', 'n'], [1, A]],
  execLine: [['n', 's'], [1, 'maps']],
  runText: [['s'], ['maps']],
  takeEvents: [['o'], [5]],
  pageTables: [['n', 'o'], [1, 16]],
  setEvents: [['b'], [true]],
};

// The exports that take no argument: module functions and Machine methods
// (`free` and `__panicForTest` are tested on their own).
const ZERO_ARG_FUNCTIONS = ['version', 'abiNames', 'wasmMemory', 'frameBudget', 'start'];
const ZERO_ARG_METHODS = ['config', 'processNames', 'variables', 'processes', 'pageStatesPtr', 'frameCount', 'frameKindsPtr', 'frameKinds', 'framesSummary', 'tlb', 'check', 'reset'];

test('every method throws a clear error for every kind of garbage, in every argument', { timeout: 60_000 }, async () => {
  const report = await page.evaluate((methods) => {
    const garbage = {
      NaN: NaN,
      negative: -1,
      'negative fraction': -0.5,
      fraction: 1.5,
      Infinity: Infinity,
      '-Infinity': -Infinity,
      '2^53': 2 ** 53,
      '2^64 as Number': 2 ** 64,
      '1e300': 1e300,
      undefined: undefined,
      null: null,
      'numeric string': '12',
      'empty string': '',
      true: true,
      object: {},
      array: [],
      function: () => 1,
      symbol: Symbol('x'),
      'BigInt -1': -1n,
      'BigInt 2^64': 2n ** 64n,
      'BigInt 2^70': 2n ** 70n,
    };
    const m = new window.vmwasm.Machine({ frames: 4096 });
    const failures = [];
    let thrown = 0;
    for (const [name, [kinds, valid]] of Object.entries(methods)) {
      kinds.forEach((kind, i) => {
        for (const [gname, g] of Object.entries(garbage)) {
          // values that are legitimately accepted in that kind of slot
          if (kind === 'o' && g === undefined) continue;
          if (kind === 's' && typeof g === 'string' && (g === '' ? name !== 'open' && name !== 'memfd' : true)) continue;
          if (kind === 'b' && typeof g === 'boolean') continue;
          if ((name === 'mmap' && i === 5) || ((name === 'pread' || name === 'pwrite' || name === 'ftruncate' || name === 'close') && i === 1)) {
            if (g === -1 || g === -1n) continue; // fd -1 is a valid (closed) descriptor
          }
          const args = valid.slice();
          args[i] = g;
          try {
            m[name](...args);
            failures.push(`${name} arg ${i} = ${gname}: no error thrown`);
          } catch (e) {
            thrown++;
            const ok = (e instanceof TypeError || e instanceof RangeError) && e.message.includes(name);
            if (!ok) failures.push(`${name} arg ${i} = ${gname}: ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
          }
        }
      });
    }
    // still works
    const r = m.mmap(1, 0x300000000000, 8192, 'PROT_READ|PROT_WRITE', 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED', -1, 0);
    const s = m.store(1, 0x300000000000 + 5, 0x77);
    const l = m.load(1, 0x300000000000 + 5);
    return { failures, thrown, r, s, l, check: m.check(), resets: m.resets, sample: (() => { try { m.munmap(1, NaN, 1); } catch (e) { return `${e.name}: ${e.message}`; } })() };
  }, METHODS);
  assert.deepEqual(report.failures, []);
  assert.ok(report.thrown > 500, `thrown ${report.thrown}`);
  assert.equal(report.r.ok, true);
  assert.equal(report.s.ok, true);
  assert.deepEqual(report.l, { ok: true, value: 0x77 });
  assert.equal(report.check, null);
  assert.equal(report.resets, 0);
  assert.equal(report.sample, 'RangeError: munmap: addr is NaN; expected a non-negative integer');
  assert.deepEqual(errors, []);
});

test('the constructor rejects bad options and accepts none', async () => {
  const out = await page.evaluate(() => {
    const { Machine } = window.vmwasm;
    const bad = [123, 'x', [], { frames: -1 }, { frames: 10 }, { frames: 262145 }, { frames: 2 ** 24 }, { frames: 1e12 }, { frames: 2.5 }, { tlbSets: 3 }, { tlbSets: 0 }, { tlbWays: 65 }, { bogus: 1 }, { events: 'yes' }, { stack: 1 }];
    const res = bad.map((o) => {
      try {
        new Machine(o).free();
        return `accepted ${JSON.stringify(o)}`;
      } catch (e) {
        return e instanceof TypeError || e instanceof RangeError ? 'ok' : `${e}`;
      }
    });
    const good = [undefined, null, {}, { frames: 1024, tlbSets: 4, tlbWays: 2, events: false, stack: false }].map((o) => {
      const m = new Machine(o);
      const p = m.processes();
      m.free();
      return p.length;
    });
    return { res, good };
  });
  assert.deepEqual(out.res, out.res.map(() => 'ok'));
  assert.deepEqual(out.good, [1, 1, 1, 1]);
});

test('absurd but well-typed calls answer with errno values or signals, never a trap', async () => {
  const out = await page.evaluate(() => {
    const m = new window.vmwasm.Machine({ frames: 1024 });
    const MAX = 2n ** 64n - 1n;
    const calls = {
      mmapHuge: () => m.mmap(1, 0, MAX, 3, 0x22, -1, 0),
      mmapTop: () => m.mmap(1, MAX - 4095n, 4096, 3, 0x32, -1, 0),
      mmapBadFlags: () => m.mmap(1, 0, 4096, 3, 0xffffffffn, -1, 0),
      mmapBadFd: () => m.mmap(1, 0, 4096, 3, 0x02, 77, 0),
      mmapOddOffset: () => m.mmap(1, 0, 4096, 3, 0x02, -1, MAX),
      munmapWrap: () => m.munmap(1, 0, MAX),
      mprotectBits: () => m.mprotect(1, 0x300000000000, 4096, 2n ** 63n),
      madviseUnknown: () => m.madvise(1, 0x300000000000, 4096, 12345),
      mremapWild: () => m.mremap(1, MAX - 4095n, 4096, MAX, 3, MAX),
      mincoreWrap: () => m.mincore(1, 0x7ffffffff000, MAX),
      loadKernel: () => m.load(1, MAX),
      loadNoncanonical: () => m.load(1, 0x800000000000),
      fillWrap: () => m.fill(1, MAX - 10n, 100, 1),
      storeNoProcess: () => m.store(4000000000, 0, 1),
      forkNoProcess: () => m.fork(4000000000),
      exitNoProcess: () => m.exit(77),
      openHuge: () => m.open(1, 'big.bin', 2n ** 62n),
      preadBadFd: () => m.pread(1, 2 ** 31 - 1, MAX),
      brkHuge: () => m.brk(1, MAX),
    };
    const res = {};
    for (const [k, f] of Object.entries(calls)) {
      try {
        const r = f();
        res[k] = r.ok ? 'ok' : r.errno || r.signal;
      } catch (e) {
        res[k] = `THREW ${e}`;
      }
    }
    res.pageStatesTop = m.pageStates(1, MAX - 4095n, 4).length;
    res.frameMax = m.frame(MAX);
    res.walkMax = typeof m.walk(1, MAX);
    res.runTextGarbage = m.runText('load $arena\n$x = = =\n').error.line;
    res.runTextControl = typeof m.runText('\u0000\u0001 bad\n\u202e\ufeff\n').text;
    res.check = m.check();
    return res;
  });
  for (const [k, v] of Object.entries(out)) assert.ok(!String(v).startsWith('THREW'), `${k}: ${v}`);
  assert.equal(out.mmapHuge, 'ENOMEM');
  assert.equal(out.munmapWrap, 'EINVAL');
  assert.equal(out.mprotectBits, 'EINVAL');
  assert.equal(out.madviseUnknown, 'EINVAL');
  assert.equal(out.loadKernel, 'SIGSEGV');
  assert.equal(out.storeNoProcess, 'ESRCH');
  assert.equal(out.forkNoProcess, 'ESRCH');
  assert.equal(out.frameMax, null);
  assert.equal(out.walkMax, 'object');
  assert.equal(out.runTextGarbage, 2);
  assert.equal(out.runTextControl, 'string');
  assert.equal(out.check, null);
});

test('exports that take no argument ignore stray arguments', async () => {
  const out = await page.evaluate(
    ([fns, methods]) => {
      const vm = window.vmwasm;
      const stray = [NaN, undefined, null, -1, 1.5, 2 ** 64, 2n ** 70n, -1n, '', 'x', {}, [], () => 1, Symbol('s'), true];
      // a value as text that can be compared (BigInts, typed arrays, Memory)
      const show = (v) => {
        if (v instanceof WebAssembly.Memory) return 'Memory';
        if (v instanceof Uint8Array) return `Uint8Array(${v.length}) ${v.slice(0, 64).join(',')}`;
        return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));
      };
      const m = new vm.Machine({ frames: 4096 });
      m.mmap(1, 0x300000000000, 8192, 3, 0x32, -1, 0);
      m.store(1, 0x300000000000, 1);
      m.execLine(1, 'fork p2');
      const failures = [];
      const calls = [...fns.map((f) => [f, null]), ...methods.filter((f) => f !== 'reset').map((f) => [f, m])];
      for (const [name, self] of calls) {
        const f = self ? () => self[name]() : () => vm[name]();
        const g = self ? () => self[name](...stray) : () => vm[name](...stray);
        try {
          const clean = f();
          const dirty = g();
          // pointers into wasm memory only need to be offsets
          const same = name.endsWith('Ptr') ? Number.isInteger(dirty) && dirty >= 0 : show(clean) === show(dirty);
          if (!same) failures.push(`${name}: ${show(clean)} != ${show(dirty)}`);
        } catch (e) {
          failures.push(`${name}: threw ${e && e.name}: ${e && e.message}`);
        }
      }
      // the resets getter ignores nothing but must still read
      if (m.resets !== 0) failures.push(`resets = ${m.resets}`);
      let reset;
      try {
        m.reset(...stray);
        reset = m.processes();
      } catch (e) {
        failures.push(`reset: threw ${e && e.name}: ${e && e.message}`);
      }
      const n = m.loadPageStates(1, 0x300000000000, 2);
      const states = [...new Uint8Array(vm.wasmMemory(1, 'x').buffer, m.pageStatesPtr(NaN), n)];
      const before = vm.frameBudget().used;
      m.free(NaN, 'x', {});
      return { failures, reset, states, freed: before - vm.frameBudget().used, version: vm.version(null) };
    },
    [ZERO_ARG_FUNCTIONS, ZERO_ARG_METHODS],
  );
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.reset, [1], 'reset with stray arguments still resets');
  assert.deepEqual(out.states, [0, 0], 'nothing mapped after the reset');
  assert.equal(out.freed, 4096, 'free() with stray arguments still frees');
  assert.match(out.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(errors, []);
});

test('a freed machine throws an Error on every method; the module keeps working', { timeout: 60_000 }, async () => {
  const out = await page.evaluate(
    ([methods, zero]) => {
      const vm = window.vmwasm;
      const other = new vm.Machine({ frames: 1024 });
      other.mmap(1, 0x300000000000, 4096, 3, 0x32, -1, 0);
      other.store(1, 0x300000000000, 0x5a);
      const before = vm.frameBudget();
      const m = new vm.Machine({ frames: 2048 });
      m.mmap(1, 0x300000000000, 4096, 3, 0x32, -1, 0);
      m.free();
      const after = vm.frameBudget();
      const failures = [];
      let thrown = 0;
      const sample = {};
      const calls = [...Object.entries(methods).map(([name, [, valid]]) => [name, valid]), ...zero.map((name) => [name, []]), ['free', []], ['__panicForTest', []]];
      for (const [name, args] of calls) {
        try {
          m[name](...args);
          failures.push(`${name}: no error on a freed machine`);
        } catch (e) {
          thrown++;
          sample[e && e.message] = name;
          if (!(e instanceof Error) || e instanceof WebAssembly.RuntimeError) failures.push(`${name}: ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
        }
      }
      try {
        void m.resets;
        failures.push('resets: no error on a freed machine');
      } catch (e) {
        if (!(e instanceof Error) || e instanceof WebAssembly.RuntimeError) failures.push(`resets: ${e}`);
      }
      // the module still works: the other machine, and a new one
      const fresh = new vm.Machine({ frames: 1024 });
      const r = fresh.mmap(1, 0x300000000000, 4096, 'PROT_READ|PROT_WRITE', 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED', -1, 0);
      const s = fresh.store(1, 0x300000000000, 7);
      const res = {
        failures,
        thrown,
        calls: calls.length,
        messages: Object.keys(sample),
        freed: before.used + 2048 - after.used,
        machines: [before.machines, after.machines],
        other: other.load(1, 0x300000000000),
        fresh: [r.ok, s.ok, fresh.load(1, 0x300000000000).value, fresh.check(), fresh.resets],
      };
      fresh.free();
      other.free();
      return res;
    },
    [METHODS, ZERO_ARG_METHODS],
  );
  assert.deepEqual(out.failures, []);
  assert.equal(out.thrown, out.calls);
  assert.equal(out.freed, 2048, 'free() gave the frames back to the budget');
  assert.deepEqual(out.machines, [out.machines[0], out.machines[0]]);
  assert.deepEqual(out.other, { ok: true, value: 0x5a });
  assert.deepEqual(out.fresh, [true, true, 7, null, 0]);
  assert.deepEqual(errors, []);
});

test('the machines of a module share a budget of 2 GiB of frames; free() gives them back', async () => {
  const out = await page.evaluate(() => {
    const vm = window.vmwasm;
    const b = vm.frameBudget();
    const left = b.total - b.used - b.lost;
    const big = new vm.Machine({ frames: Math.min(b.perMachine, left) });
    const rest = left - big.config().frames;
    const second = rest >= 1024 ? new vm.Machine({ frames: rest }) : null;
    let error = null;
    try {
      new vm.Machine({ frames: 1024 });
    } catch (e) {
      error = `${e.name}: ${e.message}`;
    }
    const full = vm.frameBudget().used;
    big.free();
    const small = new vm.Machine({ frames: 1024 });
    const works = small.processes();
    small.free();
    second?.free();
    return { b, error, full, works, end: vm.frameBudget().used };
  });
  assert.equal(out.b.total, 524288);
  assert.equal(out.b.perMachine, 262144);
  assert.equal(out.full + out.b.lost, 524288);
  assert.match(out.error, /^RangeError: new Machine: .*524288 frames \(2 GiB\).*other live machines? holds? \d+ frames.*free\(\)/);
  assert.deepEqual(out.works, [1]);
  assert.equal(out.end, out.b.used);
  assert.deepEqual(errors, []);
});

test('a Rust panic does not leave the machine unusable', async () => {
  const out = await page.evaluate(() => {
    const lostBefore = window.vmwasm.frameBudget().lost;
    const m = new window.vmwasm.Machine({ frames: 1024 });
    m.mmap(1, 0x300000000000, 4096, 3, 0x32, -1, 0);
    let kind = 'no error';
    try {
      m.__panicForTest();
    } catch (e) {
      kind = e.constructor.name;
    }
    // the next call finds the machine gone and starts a fresh one
    const procs = m.processes();
    const r = m.mmap(1, 0x300000000000, 4096, 3, 0x32, -1, 0);
    const s = m.store(1, 0x300000000000, 9);
    const other = new window.vmwasm.Machine({ frames: 1024 });
    // the dead machine's memory is never given back: its frames stay counted
    const lost = window.vmwasm.frameBudget().lost - lostBefore;
    return { kind, procs, r: r.ok, s: s.ok, resets: m.resets, check: m.check(), other: other.processes(), lost };
  });
  assert.equal(out.kind, 'RuntimeError');
  assert.deepEqual(out.procs, [1]);
  assert.equal(out.r, true);
  assert.equal(out.s, true);
  assert.equal(out.resets, 1);
  assert.equal(out.check, null);
  assert.deepEqual(out.other, [1]);
  assert.equal(out.lost, 1024);
  // the panic hook printed the panic; nothing else went wrong
  const unexpected = errors.filter((e) => !e.includes('deliberate panic'));
  assert.deepEqual(unexpected, []);
});
