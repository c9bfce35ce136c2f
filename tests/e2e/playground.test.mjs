// The playground end to end: the built site in headless Chromium, example
// scenarios run through the UI, and what the diagrams show checked by their
// DOM/SVG content. Needs `make build` (www/pkg, www/web). Screenshots go to
// test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { siteAndBrowser, newPage, screenshot, wwwDir, openPlayground, loadExample, button } from './harness.mjs';

const env = siteAndBrowser();

const EXAMPLES = JSON.parse(fs.readFileSync(path.join(wwwDir, 'scenarios', 'index.json'), 'utf8'));

const open = (viewport) => openPlayground(env.browser, env.site, viewport);


/** What the session printed so far, as `vmplay run` prints it. */
async function printed(page) {
  return page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    const out = s.steps.filter((st) => st.source === 'editor').map((st) => (st.ok ? st.output.text : `${st.line} error ${st.message}`));
    return out.join('\n') + (out.length ? '\n' : '');
  });
}

/** Map entries drawn in the lane of `pid`, inside the arena. */
async function arenaEntries(page, pid = 1) {
  return page.locator(`vm-playground .as-svg g.entry[data-pid="${pid}"]`).evaluateAll((gs) =>
    gs
      .map((g) => ({ start: g.dataset.start, end: g.dataset.end, perms: g.dataset.perms, backing: g.dataset.backing }))
      .filter((e) => BigInt(e.start) >= 0x300000000000n && BigInt(e.start) < 0x301000000000n)
      .sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1)),
  );
}

test('every example scenario runs through the UI and prints what the real kernel printed', { timeout: 120_000 }, async () => {
  const { page, errors } = await open();
  for (const ex of EXAMPLES) {
    await loadExample(page, ex.file);
    await button(page, 'Run').click();
    const expected = fs.readFileSync(path.join(wwwDir, 'scenarios', ex.file.replace(/\.vms$/, '.out')), 'utf8');
    assert.equal(await printed(page), expected, `${ex.file}: output of the run`);
    // each executed line shows its result in the editor's result column
    const first = expected.split('\n')[0].split(' ');
    const cell = page.locator('vm-playground .ed-res .rl').nth(Number(first[0]) - 1);
    assert.equal((await cell.textContent()).trim(), first.slice(2).join(' '));
    const check = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.machine.check());
    assert.equal(check, null, `${ex.file}: invariants hold`);
    await screenshot(page, `playground-${ex.file.replace('.vms', '')}`);
  }
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('mprotect splits the entry and the diagram shows the pieces, then merges them', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'mprotect_split_merge.vms');
  const step = button(page, 'Step');
  await step.click(); // mmap
  await step.click(); // fill
  assert.deepEqual(await arenaEntries(page), [{ start: '0x300000000000', end: '0x300000008000', perms: 'rw-p', backing: 'anon' }]);
  await step.click(); // maps
  await step.click(); // mprotect the middle
  assert.deepEqual(
    (await arenaEntries(page)).map((e) => `${e.start}-${e.end} ${e.perms}`),
    ['0x300000000000-0x300000002000 rw-p', '0x300000002000-0x300000004000 r--p', '0x300000004000-0x300000008000 rw-p'],
  );
  // the split entries are highlighted as changed by the last step
  assert.ok((await page.locator('vm-playground .as-svg g.entry.changed').count()) >= 1);
  // the table view is the text alternative of the diagram
  await button(page, 'Table').click();
  const rows = await page.locator('vm-playground .as-table tbody tr').allTextContents();
  assert.ok(rows.some((r) => r.includes('0x300000002000-0x300000004000') && r.includes('r--p')), rows.join('\n'));
  await button(page, 'Table').click();
  // run to the end: one entry again
  await button(page, 'Run').click();
  assert.deepEqual((await arenaEntries(page)).map((e) => e.perms), ['rw-p']);
  await screenshot(page, 'playground-mprotect');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a step points the views at what the runner says the line touched', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await page.evaluate(() =>
    document.querySelector('vm-playground').setScenario(
      [
        '$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0',
        'mprotect $a+4K 8K PROT_READ',
        '$b = mremap $a+12K 4K 8K MREMAP_MAYMOVE|MREMAP_FIXED $arena+1M',
        'p1:   store   $b+4K  0x41   # spaced out, with a comment',
      ].join('\n'),
    ),
  );
  const step = button(page, 'Step');
  const selectedEntry = () => page.locator('vm-playground .as-svg g.entry.selected').getAttribute('data-start');
  const touched = () => page.evaluate(() => JSON.stringify(document.querySelector('vm-playground').sessionObject.last.output.touched));
  await step.click();
  assert.equal(await touched(), JSON.stringify({ pids: [1], ranges: [{ start: 0x300000000000, end: 0x300000004000 }] }));
  assert.equal(await selectedEntry(), '0x300000000000');
  // mprotect: the entry in the middle, its range drawn as a band
  await step.click();
  assert.equal(await selectedEntry(), '0x300000001000');
  assert.equal(await page.locator('vm-playground .as-svg .mark-range').count(), 1);
  // mremap: the new place, not the old one
  await step.click();
  assert.equal(await touched(), JSON.stringify({ pids: [1], ranges: [{ start: 0x300000003000, end: 0x300000004000 }, { start: 0x300000100000, end: 0x300000102000 }] }));
  assert.equal(await selectedEntry(), '0x300000100000');
  assert.equal(await page.locator('vm-playground .as-svg .mark-range').count(), 0);
  // a store: its page is selected and walked, down to the frame it wrote
  await step.click();
  assert.equal(await page.locator('vm-playground .page-grid g.page.selected').getAttribute('data-va'), '0x300000101000');
  assert.match(await page.locator('vm-playground .pm-detail .pm-title').textContent(), /frame \d+ .* anonymous/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('fork puts the child beside the parent; copy-on-write shows in pages, frames and events', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'cow_fork.vms');
  const step = button(page, 'Step');
  for (let i = 0; i < 3; i++) await step.click(); // mmap, fill, fork
  const lanes = await page.locator('vm-playground .as-lane-head .proc-name').allTextContents();
  assert.deepEqual(
    lanes.map((t) => t.split(' ')[0]),
    ['p1', 'p2'],
  );
  assert.equal(await page.locator('vm-playground .as-svg g.entry[data-pid="2"][data-start="0x300000000000"]').count(), 1);
  await step.click(); // p2: load
  await step.click(); // p2: store -> copy
  // the step's events narrate the copy
  const texts = await page.locator('vm-playground .ev-step.last ~ .ev-items .ev-text').allTextContents();
  assert.ok(texts.some((t) => /copy-on-write/.test(t)), texts.join('\n'));
  assert.ok(texts.some((t) => /copied frame \d+ to frame \d+/.test(t)), texts.join('\n'));
  // the entry pane shows p2's entry (the line ran in p2) with its amap
  const head = await page.locator('vm-playground .entry-head').textContent();
  assert.match(head, /0x300000000000–0x300000004000/);
  assert.match(await page.locator('vm-playground .amap summary').textContent(), /amap #\d+/);
  // page 0 of p2 is now private, page 1 still shared with p1
  const cells = page.locator('vm-playground .page-grid g.page');
  const st0 = Number(await cells.nth(0).getAttribute('data-state'));
  const st1 = Number(await cells.nth(1).getAttribute('data-state'));
  assert.equal(st0 & 0x20, 0, 'page 0 is private after the copy');
  assert.ok(st0 & 0x04, 'page 0 is dirty');
  assert.ok(st1 & 0x20, 'page 1 is still shared');
  // the new frame is outlined in the physical-memory detail
  assert.match(await page.locator('vm-playground .pm-detail').textContent(), /frame \d+.*anonymous/s);
  await screenshot(page, 'playground-cow');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the page walk decodes every level down to the byte', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'demand_paging.vms');
  const step = button(page, 'Step');
  for (let i = 0; i < 4; i++) await step.click(); // mmap, mincore, load, store 0x41
  const levels = page.locator('vm-playground ol.walk li.wstep[data-level]');
  assert.equal(await levels.count(), 4);
  assert.deepEqual(await levels.locator('.wname').allTextContents(), ['PML4', 'PDPT', 'PD', 'PT']);
  const pt = levels.nth(3);
  const bit = async (name) => pt.locator(`.bit[data-bit="${name}"]`).getAttribute('data-on');
  assert.equal(await bit('P'), '1');
  assert.equal(await bit('RW'), '1');
  assert.equal(await bit('US'), '1');
  assert.equal(await bit('D'), '1', 'the store set the dirty bit');
  assert.equal(await bit('A'), '1');
  assert.equal(await bit('PS'), '0');
  assert.equal(await bit('NX'), '1', 'anonymous data is not executable');
  assert.match(await pt.getAttribute('data-entry'), /^0x[0-9a-f]{16}$/);
  assert.equal((await page.locator('vm-playground .byte-val').textContent()).trim(), '0x41');
  // the VA is split into the indices the walk used
  const idx = await page.locator('vm-playground .va-bits .vab-val').allTextContents();
  assert.deepEqual(idx.slice(1, 5), ['96', '0', '0', '0']);
  // a typed address walks too: an unmapped one stops at a non-present entry
  const input = page.locator('vm-playground .addr-input');
  await input.fill('$arena+1G');
  await input.press('Enter');
  assert.ok(await page.locator('vm-playground li.wstep.absent').count());
  // the tree of table frames lists PML4 > PDPT > PD > PT
  const tree = await page.locator('vm-playground .tree-list').textContent();
  for (const w of ['PML4', 'PDPT', 'PD', 'PT']) assert.ok(tree.includes(w), tree);
  await screenshot(page, 'playground-walk');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the table tree shows a page table DONTNEED emptied, until munmap frees it', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  const ta = page.locator('vm-playground textarea.ed-ta');
  const text = '$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n$b = mmap $arena+4M 4K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $b 1\nstore $a 1\nmadvise $a 8K MADV_DONTNEED\n';
  await ta.fill(text);
  await button(page, 'Run').click();
  const empty = page.locator('vm-playground .tree-list .tempty');
  assert.equal(await empty.count(), 1, await page.locator('vm-playground .tree-list').textContent());
  await ta.fill(text + 'munmap $a 8K\n');
  await button(page, 'Step').click();
  assert.equal(await empty.count(), 0, 'munmap freed the table no neighbour uses');
  assert.ok((await page.locator('vm-playground .ev-step.last ~ .ev-items .ev-text').allTextContents()).some((t) => /empty PT table in frame \d+ freed/.test(t)));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('physical memory, TLB and event selection point at the same frame', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'page_tables.vms');
  await button(page, 'Run').click();
  const legend = page.locator('vm-playground .pm-legend');
  const count = async (kind) => Number(await legend.locator(`[data-kind="${kind}"]`).getAttribute('data-count'));
  assert.ok((await count('page-table')) >= 6, 'PML4 + PDPT + 2 PD + 2 PT for p1');
  assert.ok((await count('anon')) >= 3);
  assert.equal(await count('zero'), 1);
  // keyboard: focus the canvas, jump to the next used frame
  const canvas = page.locator('vm-playground canvas.pm-canvas');
  await canvas.focus();
  await canvas.press('Home');
  await canvas.press('n');
  assert.match(await page.locator('vm-playground .pm-detail').textContent(), /frame 1\b/);
  // TLB tab
  await page.locator('vm-playground #tab-tlb').click();
  const slots = page.locator('vm-playground .tlb-slot[data-va]');
  assert.ok((await slots.count()) >= 1);
  assert.match(await page.locator('vm-playground .tlb-stats').textContent(), /misses\s*\d+/);
  // the mprotect step flushed translations: step back to it and look
  await page.locator('vm-playground .ed-gutter .gl[data-line="11"]').click(); // run to line 11 (mprotect)
  const removed = await page.locator('vm-playground .tlb-flushed').textContent();
  assert.match(removed, /INVLPG|flushed/, removed);
  // select a frame_alloc event: the frame is selected in physical memory
  await page.locator('vm-playground .ev-filters [data-group="all"]').click();
  await page.locator('vm-playground .ed-gutter .gl[data-line="7"]').click();
  const ev = page.locator('vm-playground .ev[data-type="frame_alloc"]').first();
  const text = await ev.textContent();
  const pfn = Number(/frame (\d+)/.exec(text)[1]);
  await ev.click();
  assert.match(await page.locator('vm-playground .pm-detail .pm-title').textContent(), new RegExp(`frame ${pfn}\\b`));
  await screenshot(page, 'playground-memory-tlb');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('errors are shown at their line; step back re-runs deterministically', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  const ta = page.locator('vm-playground textarea.ed-ta');
  await ta.fill('$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 0x41\nstore $a+4K 0x42\nlod $a\nload $a\n');
  await button(page, 'Run').click();
  assert.match(await page.locator('vm-playground .ed-status.error').textContent(), /Line 4/);
  assert.equal(await page.locator('vm-playground .ed-gutter .gl.err').getAttribute('data-line'), '4');
  assert.equal((await page.locator('vm-playground .ed-res .rl').nth(3).textContent()).trim(), 'error');
  // fix the line and continue from where the run stopped
  await ta.fill('$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 0x41\nstore $a+4K 0x42\nload $a\nload $a+4K\n');
  await button(page, 'Step').click();
  assert.equal((await page.locator('vm-playground .ed-res .rl').nth(3).textContent()).trim(), '0x41');
  const state = () =>
    page.evaluate(() => {
      const pg = document.querySelector('vm-playground');
      const m = pg.sessionObject.machine;
      return { pc: pg.sessionObject.pc, frames: Array.from(m.frameKinds()).join(''), tlb: JSON.stringify(m.tlb()) };
    });
  const at3 = await (async () => {
    await button(page, 'Back').click();
    return state();
  })();
  assert.equal(at3.pc, 3);
  await button(page, 'Step').click();
  await button(page, 'Back').click();
  assert.deepEqual(await state(), at3, 'stepping back twice to the same line gives the same machine');
  // keyboard: Alt+Down steps, Alt+Up steps back, Ctrl+Enter runs
  await ta.focus();
  await page.keyboard.press('Alt+ArrowDown');
  assert.equal((await state()).pc, 4);
  await page.keyboard.press('Alt+ArrowUp');
  assert.equal((await state()).pc, 3);
  await page.keyboard.press('Control+Enter');
  assert.equal((await state()).pc, 5);
  await screenshot(page, 'playground-errors');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the console runs lines on the live machine in the selected process', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'cow_fork.vms');
  for (let i = 0; i < 3; i++) await button(page, 'Step').click(); // up to the fork
  await page.locator('vm-playground .as-lane-head[data-pid="2"]').click();
  const input = page.locator('vm-playground .con-input');
  await input.fill('store $a+12K 0x99');
  await input.press('Enter');
  await input.fill('load $a+12K');
  await input.press('Enter');
  await input.fill('p1: load $a+12K');
  await input.press('Enter');
  await input.fill('maps');
  await input.press('Enter');
  await input.fill('lod');
  await input.press('Enter');
  const log = await page.locator('vm-playground .con-log').textContent();
  assert.match(log, /› p2: store \$a\+12K 0x99store ok/);
  assert.match(log, /› p2: load \$a\+12Kload 0x99/, 'the child sees its store');
  assert.match(log, /› p1: load \$a\+12Kload 0x10/, 'the parent does not');
  assert.match(log, /› p2: mapsmaps ok\s+0x300000000000-0x300000004000 rw-p 0x0 anon/, 'still in the selected process');
  assert.ok(await page.locator('vm-playground .con-err').count());
  await screenshot(page, 'playground-console');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('THP: a 2 MiB mapping shows PS in the PD entry and 512 resident pages', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'thp.vms');
  for (let i = 0; i < 3; i++) await button(page, 'Step').click(); // mmap, madvise, store in the huge range
  const pd = page.locator('vm-playground ol.walk li.wstep[data-level="2"]');
  assert.equal(await pd.locator('.bit[data-bit="PS"]').getAttribute('data-on'), '1');
  assert.equal(await page.locator('vm-playground ol.walk li.wstep[data-level="1"]').count(), 0, 'no PT below a 2 MiB page');
  const huge = await page.locator('vm-playground .page-grid g.page').evaluateAll((gs) => gs.filter((g) => Number(g.dataset.state) & 0x40).length);
  assert.ok(huge >= 512, `pages in a 2 MiB mapping: ${huge}`);
  await screenshot(page, 'playground-thp');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('MADV_COLLAPSE: three small pages become one huge page, narrated and drawn', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'collapse.vms');
  const step = button(page, 'Step');
  for (let i = 0; i < 5; i++) await step.click(); // mmap, three stores, mincore
  const huge = () => page.locator('vm-playground .page-grid g.page').evaluateAll((gs) => gs.filter((g) => Number(g.dataset.state) & 0x40).length);
  assert.equal(await huge(), 0, 'small pages before the collapse');
  await step.click(); // madvise MADV_COLLAPSE
  const texts = await page.locator('vm-playground .ev-step.last ~ .ev-items .ev-text').allTextContents();
  assert.ok(texts.some((t) => /2 MiB block at 0x300000000000 collapsed into one huge page/.test(t)), texts.join('\n'));
  assert.ok((await huge()) >= 512, 'one huge page after it');
  await screenshot(page, 'playground-collapse');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the page works from the keyboard alone and has text alternatives', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'munmap_holes.vms');
  await page.locator('vm-playground textarea.ed-ta').focus();
  await page.keyboard.press('Control+Enter');
  // Alt+2 focuses the address space; arrows select entries
  await page.keyboard.press('Alt+Digit2');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  const status = await page.locator('vm-playground .as-body [aria-live]').textContent();
  assert.match(status, /p1: 0x[0-9a-f]+ to 0x[0-9a-f]+, [r-][w-][x-][ps], /);
  await page.keyboard.press('Enter'); // walk the selected entry's first page
  assert.ok(await page.locator('vm-playground ol.walk').count());
  // every diagram has a label
  for (const sel of ['.as-svg', 'canvas.pm-canvas', '.page-grid']) {
    const label = await page.locator(`vm-playground ${sel}`).first().getAttribute('aria-label');
    assert.ok(label && label.length > 10, `${sel} has an aria-label: ${label}`);
  }
  assert.match(await page.locator('vm-playground canvas.pm-canvas').getAttribute('aria-label'), /\d+ anonymous/);
  // every button has a name
  const unnamed = await page.locator('vm-playground button').evaluateAll((bs) => bs.filter((b) => !(b.textContent.trim() || b.getAttribute('aria-label'))).length);
  assert.equal(unnamed, 0);
  assert.deepEqual(errors, []);
  await page.context().close();
});

// (This test used to require every panel stacked full width at 820 px: that
// stacking was issue 13's item 7, a Step that changed nothing on screen.)
test('a narrow window keeps the editor and the address space side by side, two panels a row', { timeout: 60_000 }, async () => {
  const { page, errors } = await open({ width: 820, height: 1000 });
  await button(page, 'Run').click();
  const boxes = await page.locator('vm-playground section.panel').evaluateAll((ss) =>
    ss.filter((s) => !s.hidden).map((s) => {
      const r = s.getBoundingClientRect();
      return { id: s.id, x: r.x, y: r.y, w: r.width };
    }),
  );
  assert.ok(boxes.every((b) => b.w > 240), JSON.stringify(boxes));
  const ed = boxes.find((b) => b.id === 'panel-editor');
  const sp = boxes.find((b) => b.id === 'panel-space');
  assert.ok(Math.abs(ed.y - sp.y) < 2 && sp.x > ed.x, JSON.stringify({ ed, sp }));
  await screenshot(page, 'playground-narrow');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('embed.html: <vm-playground> with inline and fetched scenarios', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(new URL('embed.html', env.site.url).href);
  await page.waitForFunction(() => [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'), null, { timeout: 30_000 });
  const n = await page.locator('vm-playground').count();
  assert.ok(n >= 2);
  // the autorun one has run its scenario
  const pcs = await page.evaluate(() => [...document.querySelectorAll('vm-playground')].map((p) => p.sessionObject.pc));
  assert.ok(pcs.some((pc) => pc > 0), pcs.join(','));
  await screenshot(page, 'embed');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('an internal error (a real wasm trap) is shown at its line and the session carries on', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'demand_paging.vms');
  for (let i = 0; i < 3; i++) await button(page, 'Step').click(); // mmap, mincore, load
  await page.evaluate(() => {
    const m = document.querySelector('vm-playground').sessionObject.machine;
    const orig = m.execLine.bind(m);
    let once = true;
    m.execLine = (n, t) => {
      if (once) {
        once = false;
        m.__panicForTest(); // panics inside Rust: WebAssembly.RuntimeError
      }
      return orig(n, t);
    };
  });
  const before = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.vm.instance);
  await button(page, 'Step').click(); // line 6 crashes
  assert.match(await page.locator('vm-playground .ed-status.error').textContent(), /Line 6: internal error/);
  // the trapped module instance is left behind for a fresh one, where the
  // lines before are replayed again
  await page.waitForFunction((b) => document.querySelector('vm-playground').sessionObject.vm.instance !== b, before, { timeout: 10_000 });
  const after = await page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    return { pc: s.pc, check: s.machine.check(), load: s.machine.load(1, 0x300000001000), resets: s.machine.resets, error: s.error && s.error.line };
  });
  assert.equal(after.pc, 5, 'the lines before were replayed');
  assert.equal(after.check, null);
  assert.deepEqual(after.load, { ok: true, value: 0 });
  assert.equal(after.resets, 0, 'the machine lives in an instance that never trapped');
  assert.equal(after.error, 6, 'the failed line is still reported');
  assert.match(await page.locator('vm-playground .ed-status.error').textContent(), /Line 6: internal error/);
  await button(page, 'Step').click(); // line 6 again, now fine
  assert.equal((await page.locator('vm-playground .ed-res .rl').nth(5).textContent()).trim(), 'ok');
  assert.deepEqual(errors.filter((e) => !e.includes('deliberate panic')), []);
  await page.context().close();
});
