// Issue 9, items 7 and 8: memory under pressure in the page. The swap
// examples of the gallery run through the UI; the memory panel's swap
// section draws the slots (taken, in the swap cache, free), the LRU lists
// with each page's referenced bit and the frames against the limit, each
// with its words and a table; the address space and the pages of an entry
// show swapped pages (pagemap S) apart; the event log narrates swap-out,
// swap-in and the OOM kill. At 1024×768, a 760 px column and a 390 px phone
// the section stays inside its panel. Needs `bash scripts/build.sh wasm
// site`. Screenshots in test-results/ (and, with VMPLAY_SCREENSHOTS=1, the
// README's in docs/screenshots/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { siteAndBrowser, screenshot, openPlayground, loadExample, button, repoRoot } from './harness.mjs';

const env = siteAndBrowser();
const open = (viewport) => openPlayground(env.browser, env.site, viewport);
const swap = (page) => page.locator('vm-playground .pm-swap');

/** Step `n` lines. */
async function steps(page, n) {
  for (let i = 0; i < n; i++) await button(page, 'Step').click();
}

/** The events of the session of one type, as narrated. */
const narrated = (page, type) =>
  page.evaluate((type) => {
    const s = document.querySelector('vm-playground').sessionObject;
    return s.steps.flatMap((st) => st.events || []).filter((e) => e.type === type).map((e) => e.text);
  }, type);

test('page-out and swap-in: the swap section, swapped pages and the narration', { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'swap_pageout.vms');
  // nothing about swap before swapon
  assert.equal(await swap(page).isHidden(), true);
  await steps(page, 1); // swapon 1M
  assert.equal(await swap(page).isVisible(), true);
  assert.match(await page.locator('vm-playground .sw-slots').getAttribute('aria-label'), /^Swap area: 0 of 255 slots taken, 0 of them also in memory \(the swap cache\), 255 free\./);
  await steps(page, 5); // mmap, fill, fill, pagemap, madvise PAGEOUT
  assert.equal(await page.locator('vm-playground .sw-slot.taken[data-slot]').count(), 6);
  assert.match(await page.locator('vm-playground .sw-slots').getAttribute('aria-label'), /6 of 255 slots taken/);
  // the address space lane and the pages of the entry draw swapped pages in their own colour
  const swappedCells = page.locator('vm-playground .page-grid g.page').filter({ has: page.locator('text.swap-s') });
  // (the madvise step selected the entry it touched: its pages are shown)
  assert.match(await page.locator('vm-playground .as-svg g.entry[data-pid="1"][data-start="0x300000000000"]').first().getAttribute('class'), /selected/);
  assert.ok((await page.locator('vm-playground .as-svg rect.pgs').evaluateAll((rs) => rs.filter((r) => r.getAttribute('fill').toUpperCase() === '#332288').length)) > 0, 'the lane draws swapped pages in the swap colour');
  assert.equal(await swappedCells.count(), 6);
  assert.match(await page.locator('vm-playground .page-legend').textContent(), /swapped out/);
  await page.locator('vm-playground .page-grid g.page[data-page="1"]').click();
  assert.match(await page.locator('vm-playground #page-desc').textContent(), /swapped/);
  // the table is the text alternative; each owner is a button that selects its page
  await page.locator('vm-playground .sw-details summary').click();
  const rows = await page.locator('vm-playground .sw-table tbody tr').allTextContents();
  assert.equal(rows.length, 6);
  assert.match(rows[0], /^11swapped outp1 0x300000000000$/);
  await page.locator('vm-playground .sw-table button', { hasText: '0x300000004000' }).focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.evaluate(() => document.querySelector('vm-playground').sel.page), { pid: 1, va: 0x300000004000 });
  // the swap-outs are narrated, with a class of their own in the log
  const outs = await narrated(page, 'swap_out');
  assert.equal(outs.length, 6);
  assert.match(outs[0], /^p1: page at 0x300000000000 written to swap slot 1$/);
  assert.equal(await page.locator('vm-playground .ev.ev-swap').count(), 6);
  await button(page, 'Run').click();
  assert.match((await narrated(page, 'swap_in'))[0], /^swap slot 2 read into frame \d+$/);
  // the last load read slot 6 back: three pages swapped, their slots drawn taken
  const end = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.machine.swapView());
  assert.equal(end.slots.filter((x) => !x.cached).length, 3);
  assert.equal(await page.locator('vm-playground .sw-slot.taken[data-slot]').count(), 3);
  assert.equal(await page.locator('vm-playground .sw-slot.cached[data-slot]').count(), end.slots.filter((x) => x.cached).length);
  assert.equal(await swappedCells.count(), 3);
  if (process.env.VMPLAY_SCREENSHOTS) await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshots', 'swap-pageout.png') });
  await screenshot(page, 'swap-pageout');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('fork with swapped pages: two users a slot, then the swap cache', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'swap_fork.vms');
  await steps(page, 7); // ... fork, p2: pagemap
  await page.locator('vm-playground .sw-details summary').click();
  const users = await page.locator('vm-playground .sw-table tbody tr td:nth-child(2)').allTextContents();
  assert.deepEqual(users, ['2', '2', '2', '2']);
  await steps(page, 2); // p2: load (readahead into the swap cache), pagemap
  assert.equal(await page.locator('vm-playground .sw-slot.cached[data-slot]').count(), 4);
  assert.match(await page.locator('vm-playground .sw-slots').getAttribute('aria-label'), /4 of 255 slots taken, 4 of them also in memory/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('thrashing: the LRU lists and the limit bar; every LRU page is a button for its frame', { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'thrashing.vms');
  await steps(page, 4); // swapon, memlimit, mmap, fill 2M
  const limit = await page.locator('vm-playground .sw-limit').getAttribute('aria-label');
  assert.match(limit, /^Memory: \d+ of 256 frames in use under the memory limit of 1 MiB; \d+ frames free in physical memory\.$/);
  const v = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.machine.swapView(0, 4096));
  assert.ok(v.inactive + v.active > 200, `${v.inactive} + ${v.active} pages on the LRU`);
  const lists = await page.locator('vm-playground .sw-pages').evaluateAll((ls) => ls.map((l) => l.getAttribute('aria-label')));
  assert.match(lists[0], new RegExp(`^inactive list: ${v.inactive} pages, \\d+ referenced, oldest first$`));
  assert.match(lists[1], new RegExp(`^active list: ${v.active} pages`));
  // the oldest page first, drawn as the machine lists it; referenced pages marked
  const first = page.locator('vm-playground .sw-list.inactive .sw-page').first();
  assert.equal(await first.textContent(), String(v.lru[0].pfn));
  assert.equal(await page.locator('vm-playground .sw-list .sw-page.ref').count() > 0, v.lru.slice(0, 48).some((p) => p.referenced) || v.lru.some((p) => p.list === 'active' && p.referenced));
  await first.focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').sel.frame), v.lru[0].pfn);
  await button(page, 'Run').click();
  const s = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.steps.map((st) => st.output && st.output.text));
  assert.ok(s.includes('12 faults majflt=512'), s.join('\n'));
  if (process.env.VMPLAY_SCREENSHOTS) await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshots', 'swap-thrashing.png') });
  await screenshot(page, 'swap-thrashing');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the OOM kill is narrated and shown as a failure', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'oom.vms');
  await button(page, 'Run').click();
  const kills = await narrated(page, 'oom_kill');
  assert.equal(kills.length, 1);
  assert.match(kills[0], /^out of memory: the OOM killer kills p1 \(badness \d+ pages\)$/);
  // the log shows the last step's events; the swap filter and "show more" find the kill
  await page.locator('vm-playground .fchip[data-group="swap"]').click();
  await page.locator('vm-playground .ev-group', { hasText: 'fill $b 2M' }).locator('button.ev-more').click();
  assert.equal(await page.locator('vm-playground .ev.ev-oom').count(), 1);
  assert.match(await page.locator('vm-playground .ev.ev-oom').textContent(), /oom killout of memory: the OOM killer kills p1/);
  // a limit and no swap: the section shows the limit and says there is no area
  assert.match(await page.locator('vm-playground .sw-slots').getAttribute('aria-label'), /^Swap area: none is on\.$/);
  assert.match(await page.locator('vm-playground .sw-limit').getAttribute('aria-label'), /under the memory limit of 4 MiB/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

for (const [name, viewport] of [
  ['1024x768', { width: 1024, height: 768 }],
  ['760 column', { width: 760, height: 900 }],
  ['390 phone', { width: 390, height: 844 }],
]) {
  test(`the swap section fits its panel at ${name}`, { timeout: 60_000 }, async () => {
    const { page, errors } = await open(viewport);
    await loadExample(page, 'swap_fork.vms');
    await button(page, 'Run').click();
    const box = await swap(page).boundingBox();
    const panel = await page.locator('vm-playground #panel-memory').boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, 'the section is drawn');
    assert.ok(box.x >= panel.x - 1 && box.x + box.width <= panel.x + panel.width + 1, `inside the panel horizontally: ${JSON.stringify({ box, panel })}`);
    // nothing wider than the section (no horizontal scroll inside it)
    const over = await swap(page).evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(over <= 1, `the section scrolls sideways by ${over}px`);
    await screenshot(page, `swap-${name.replace(/\s/g, '-')}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}
