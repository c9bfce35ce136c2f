// web/changes.js and web/palette.js against the real module: what the page
// derives from events must match what the core says about the frames.
// Needs `make build` (www/pkg, www/web).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage } from './harness.mjs';

const env = siteAndBrowser();

/** Run `fn` in a page of the site, with the modules of www/web loaded. */
async function inPage(fn, arg) {
  const { page, errors } = await newPage(env.browser);
  await page.goto(new URL('embed.html', env.site.url).href);
  const out = await page.evaluate(fn, arg);
  await page.context().close();
  return { out, errors };
}

test("palette.js names and numbers the frame kinds as the module's frameKindNames() does", { timeout: 60_000 }, async () => {
  const { out, errors } = await inPage(async () => {
    const { loadVm, checkFrameKinds } = await import('./web/vm.js');
    const { FRAME_KINDS, KIND, kindOf } = await import('./web/palette.js');
    const vm = await loadVm();
    const wasm = vm.frameKindNames();
    // vm.js refuses a module that spells a kind otherwise
    let refused = null;
    try {
      checkFrameKinds(wasm.map((k) => (k.id === KIND.PAGE_TABLE ? { ...k, name: 'page table' } : k)));
    } catch (err) {
      refused = err.message;
    }
    return { wasm, page: FRAME_KINDS.map(({ id, name }) => ({ id, name })), pageTable: kindOf('page-table'), KIND, refused };
  });
  assert.deepEqual(out.page, out.wasm);
  assert.equal(out.pageTable, out.KIND.PAGE_TABLE);
  assert.match(out.refused, /differ from the module's frameKindNames/);
  assert.deepEqual(errors, []);
});

test('a frame_alloc counts as a table change exactly when the core made the frame a page table', { timeout: 60_000 }, async () => {
  const { out, errors } = await inPage(async () => {
    const { loadVm, frameKinds } = await import('./web/vm.js');
    const { Changes } = await import('./web/changes.js');
    const vm = await loadVm();
    const m = new vm.Machine({ frames: 1024, events: true });
    m.takeEvents();
    // the first store into the arena allocates a PDPT, a PD, a PT and the page
    m.execLine(1, '$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0');
    m.execLine(2, 'store $a 1');
    const { events } = m.takeEvents();
    const kinds = frameKinds(vm, m);
    const rows = events
      .filter((e) => e.type === 'frame_alloc')
      .map((e) => ({ pfn: e.pfn, kind: e.kind, byte: kinds[e.pfn] & 0x0f, change: Changes.from([e]).frames.get(e.pfn) }));
    m.free();
    return rows;
  });
  assert.ok(out.some((r) => r.byte === 3) && out.some((r) => r.byte === 1), JSON.stringify(out));
  for (const r of out) assert.equal(r.change, r.byte === 3 ? 'table' : 'alloc', `frame ${r.pfn} (${r.kind}, byte ${r.byte})`);
  assert.deepEqual(errors, []);
});

test('palette.js colours every backing the core names: anon, shmem, memfd, a file, hugetlbfs', { timeout: 60_000 }, async () => {
  const { out, errors } = await inPage(async () => {
    const { loadVm } = await import('./web/vm.js');
    const { backingKind, BACKING } = await import('./web/palette.js');
    const vm = await loadVm();
    const m = new vm.Machine({ frames: 4096, events: false });
    const r = m.runText([
      '$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0',
      '$s = mmap $arena+1M 4K PROT_READ MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED -1 0',
      '$d = memfd m 4K',
      '$m = mmap $arena+2M 4K PROT_READ MAP_SHARED|MAP_FIXED $d 0',
      '$f = open data 4K',
      '$g = mmap $arena+3M 4K PROT_READ MAP_PRIVATE|MAP_FIXED $f 0',
      '$h = mmap $arena+8M 2M PROT_READ MAP_PRIVATE|MAP_HUGETLB|MAP_NORESERVE|MAP_ANONYMOUS|MAP_FIXED -1 0',
    ].join('\n'));
    // the scenario's entries (the process's stack is above them)
    const entries = m.entries(1).filter((e) => Number(e.start) < 0x300001000000).map((e) => ({ backing: e.backing, kind: backingKind(e.backing) }));
    m.free();
    return { error: r.error, entries, kinds: Object.keys(BACKING) };
  });
  assert.equal(out.error, null);
  assert.deepEqual(out.entries.map((e) => e.kind), ['anon', 'shmem', 'memfd', 'file', 'file'], JSON.stringify(out.entries));
  assert.equal(out.entries[4].backing, '/anon_hugepage (deleted)');
  for (const e of out.entries) assert.ok(out.kinds.includes(e.kind), e.kind);
  assert.deepEqual(errors, []);
});
