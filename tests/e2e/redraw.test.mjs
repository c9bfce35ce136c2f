// Issue 13, "a redraw under 16 ms at 1 GiB": the views redraw only what a
// step changed (the frame map's changed cells, the page grid's changed
// cells, the editor's changed rows, the address space's changed layer).
// What they show after a run of such steps must be what a full redraw
// shows: these tests take the incremental picture, then force a full
// redraw of the same state and compare, step after step. Speed is the
// benchmark's (tests/e2e/bench.mjs), not these tests'. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, openPlayground } from './harness.mjs';

const env = siteAndBrowser();

/** In the page: the playground's drawn state, in comparable pieces. */
const PICTURE = () => {
  const pg = document.querySelector('vm-playground');
  const root = pg.shadowRoot;
  const cv = root.querySelector('canvas.pm-canvas');
  const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  // a cheap fingerprint of every pixel (a mismatch anywhere changes it)
  let hash = 0;
  for (let i = 0; i < px.length; i += 4) hash = (Math.imul(hash, 31) + (px[i] | (px[i + 1] << 8) | (px[i + 2] << 16))) | 0;
  const legend = [...root.querySelectorAll('.pm-legend .lg[data-kind]')].map((x) => `${x.dataset.kind}=${x.dataset.count}`).join(' ');
  const grid = root.querySelector('svg.page-grid');
  return {
    pixels: hash,
    legend,
    grid: grid ? grid.innerHTML : null,
    entry: root.querySelector('.entry-content').innerHTML,
    gutter: root.querySelector('.ed-gutter').innerHTML,
    highlight: root.querySelector('.ed-hl').innerHTML,
    results: root.querySelector('.ed-res').innerHTML,
    space: root.querySelector('.as-svg').innerHTML,
  };
};

/** Forget what every view kept from the last redraw, redraw in full, and picture it. */
const FULL = (picture) => {
  const pg = document.querySelector('vm-playground');
  pg.phys.prevKinds = null;
  pg.phys.img = null;
  if (pg.entry.gridParts) pg.entry.gridParts.svg?.remove();
  pg.entry.gridParts = null;
  pg.entry.parts = null;
  pg.entry.content.replaceChildren();
  for (const col of pg.shadowRoot.querySelectorAll('.ed-gutter, .ed-hl, .ed-res')) {
    col.rowsCache = null;
    col.replaceChildren();
  }
  pg.space.layers = null;
  pg.refresh({ keepEvents: true });
  // eslint-disable-next-line no-new-func
  return new Function(`return (${picture})()`)();
};

/** Where two strings first differ, shown briefly. */
function firstDifference(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string') return `${a} against ${b}`;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at character ${i}: …${a.slice(Math.max(0, i - 80), i + 80)}… against …${b.slice(Math.max(0, i - 80), i + 80)}…`;
}

async function compareSteps(page, steps) {
  for (let i = 0; i < steps; i++) {
    const got = await page.evaluate(async (picture) => {
      const pg = document.querySelector('vm-playground');
      pg.step();
      // what a big entry counts after the frame has landed too
      for (let k = 0; k < 2; k++) await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      // eslint-disable-next-line no-new-func
      return new Function(`return (${picture})()`)();
    }, PICTURE.toString());
    const want = await page.evaluate(FULL, PICTURE.toString());
    for (const k of Object.keys(want)) assert.ok(got[k] === want[k], `after step ${i + 1}: the ${k} drawn step by step differs from a full redraw ${firstDifference(got[k], want[k])}`);
  }
}

test('at 1 GiB every frame in use, steps that free and fault frames redraw what a full redraw draws', { timeout: 120_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1440, height: 900 });
  const summary = await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    pg.session.configure({ frames: 262144 });
    const lines = ['$a = mmap $arena 1000M PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0', 'fill $a 1000M 1'];
    // pages in the grid's first 1024 and far beyond; drops free frames, stores fault them back
    for (const at of ['4K', '8K', '500M', '999M']) lines.push(`madvise $a+${at} 4K MADV_DONTNEED`, `store $a+${at} 7`);
    lines.push('madvise $a 64K MADV_DONTNEED', 'load $a+12K', 'store $a+16K 9');
    pg.setScenario(lines.join('\n') + '\n');
    pg.runTo(2);
    const s = pg.session.machine.framesSummary();
    return { total: s.total, free: s.free, per: Number(pg.shadowRoot.querySelector('.pm-wrap').dataset.per) };
  });
  assert.equal(summary.total, 262144);
  assert.ok(summary.free < 262144 / 40, `nearly every frame is in use (${summary.free} free)`);
  assert.ok(summary.per > 1, 'at this size a cell of the map stands for several frames');
  await compareSteps(page, 11);
  // and the legend's counts are the machine's
  const counts = await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    const s = pg.session.machine.framesSummary();
    const lg = Object.fromEntries([...pg.shadowRoot.querySelectorAll('.pm-legend .lg[data-kind]')].map((x) => [x.dataset.kind, Number(x.dataset.count)]));
    return { s, lg };
  });
  assert.equal(counts.lg.free, counts.s.free);
  assert.equal(counts.lg.anon, counts.s.anon);
  assert.equal(counts.lg['page-table'], counts.s.page_table);
  assert.deepEqual(errors, []);
});

test('at 4 MiB, one frame a cell, fork and copy-on-write redraw what a full redraw draws', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1024, height: 768 });
  await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    pg.session.configure({ frames: 1024 });
    pg.setScenario(
      [
        '$a = mmap $arena 64K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0',
        'store $a 1',
        'store $a+8K 2',
        'load $a+16K',
        'fork p2',
        'p2: store $a 3',
        'store $a+8K 4',
        'p2: munmap $a 64K',
        'munmap $a+4K 8K',
        'store $a+32K 5',
      ].join('\n') + '\n',
    );
  });
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').shadowRoot.querySelector('.pm-wrap').dataset.per), '1');
  await compareSteps(page, 10);
  assert.deepEqual(errors, []);
});
