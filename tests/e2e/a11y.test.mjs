// Accessibility of the playground, checked through the DOM: focusable areas
// have a role and a truthful name, the page grid has a text alternative and
// works from the keyboard (Enter/Space do what a click does), the editor's
// "run to line" has a key, a cluster of small entries zooms from the
// keyboard, and an event selected in the log marks its TLB slot. Needs
// `make build` (www/pkg, www/web). Screenshots go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, screenshot, openPlayground, loadExample, button } from './harness.mjs';

const env = siteAndBrowser();

const open = (viewport) => openPlayground(env.browser, env.site, viewport);

const pc = (page) => page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc);
/** The element focused inside the playground's shadow tree, as a class list. */
const focusedClass = (page) => page.evaluate(() => document.querySelector('vm-playground').shadowRoot.activeElement?.className || '');

test('focusable areas have a role and a name; the page grid says where its text alternative is', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'demand_paging.vms');
  for (let i = 0; i < 4; i++) await button(page, 'Step').click(); // up to the first store: a page is selected
  const host = page.locator('vm-playground');
  assert.equal(await host.getAttribute('role'), 'region');
  assert.ok(await host.getAttribute('aria-label'));
  // every focusable element that is not a native control has a role and a name
  const bad = await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    const native = new Set(['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'A', 'SUMMARY', 'DIALOG']);
    return [...root.querySelectorAll('[tabindex]')]
      .filter((el) => Number(el.getAttribute('tabindex')) >= 0 && !native.has(el.tagName))
      .filter((el) => !el.getAttribute('role') || !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')))
      .map((el) => `${el.tagName}.${el.className}`);
  });
  assert.deepEqual(bad, []);
  // and no plain div carries a name without a role (aria-label is not allowed on generic elements)
  const generic = await page.evaluate(() =>
    [...document.querySelector('vm-playground').shadowRoot.querySelectorAll('div[aria-label], span[aria-label]')]
      .filter((el) => !el.getAttribute('role'))
      .map((el) => `${el.tagName}.${el.className}`),
  );
  assert.deepEqual(generic, []);
  assert.equal(await page.locator('vm-playground .as-scroll').getAttribute('role'), 'group');
  const wrap = page.locator('vm-playground .page-grid-wrap');
  assert.equal(await wrap.getAttribute('role'), 'group');
  assert.match(await wrap.getAttribute('aria-label'), /Enter or Space walks the page tables/);
  assert.match(await page.locator('vm-playground .as-scroll').getAttribute('aria-label'), /Z zooms in/);
  // the grid's label points at the line under it, and that line is its description
  const gridLabel = await page.locator('vm-playground svg.page-grid').getAttribute('aria-label');
  assert.doesNotMatch(gridLabel, /table view/);
  assert.match(gridLabel, /line under the grid describes the selected page/);
  const descId = await wrap.getAttribute('aria-describedby');
  assert.match(await page.locator(`vm-playground #${descId}`).textContent(), /^Page \d+ of 16, 0x3000000[0-9a-f]{5}: /);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the page grid: arrows describe the page in a live region, Enter and Space walk it', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  const lines = (await loadExample(page, 'demand_paging.vms')).split('\n');
  const step = button(page, 'Step');
  for (let i = 0; i < 4; i++) await step.click(); // mmap, mincore, load $a+4K, store $a 0x41
  const wrap = page.locator('vm-playground .page-grid-wrap');
  const live = page.locator('vm-playground .entry-body-panel [role="status"]');
  const selected = () => page.locator('vm-playground .page-grid g.page.selected').getAttribute('data-va');
  // the TLB tab hides the walk: Enter on the grid brings it back, on the focused page
  await page.locator('vm-playground #tab-tlb').click();
  assert.equal(await page.locator('vm-playground #tab-walk').getAttribute('aria-selected'), 'false');
  await wrap.focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('vm-playground #tab-walk').getAttribute('aria-selected'), 'true');
  assert.equal(await selected(), '0x300000000000');
  assert.equal(await page.locator('vm-playground .addr-input').inputValue(), '0x300000000000');
  assert.match(await page.locator('vm-playground .va-bits').getAttribute('aria-label'), /0x300000000000/);
  assert.match(await live.textContent(), /^Page 1 of 16, 0x300000000000: present, writable, dirty, accessed, anon; frame \d+; anon #\d+, 1 reference\.$/);
  assert.match(await focusedClass(page), /page-grid-wrap/, 'the grid keeps the focus');
  // an arrow moves to the next page: the live text says what it is
  await page.keyboard.press('ArrowRight');
  assert.equal(await selected(), '0x300000001000');
  const second = await live.textContent();
  assert.match(second, /^Page 2 of 16, 0x300000001000: present, accessed, zero; frame \d+/, 'the read mapped the zero page');
  assert.equal(await page.locator('vm-playground .page-desc').textContent(), second, 'the visible line says the same');
  await page.keyboard.press('ArrowRight');
  assert.match(await live.textContent(), /^Page 3 of 16, 0x300000002000: not resident; no frame mapped\.$/);
  // Space, like Enter, walks the page (here: from the TLB tab again)
  await page.locator('vm-playground #tab-tlb').click();
  await wrap.focus();
  await page.keyboard.press(' ');
  assert.equal(await page.locator('vm-playground #tab-walk').getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('vm-playground .addr-input').inputValue(), '0x300000002000');
  assert.ok(await page.locator('vm-playground li.wstep.absent').count(), 'an untouched page: the walk stops at a non-present entry');
  // a step while the grid has the focus keeps it there, and says what the page is now
  await page.keyboard.press('ArrowLeft'); // page 2, the zero page
  await page.keyboard.press('Alt+ArrowDown'); // store $a+4K 0x42: copy-on-write
  assert.equal(await pc(page), lines.findIndex((l) => l.startsWith('store $a+4K')) + 1);
  assert.match(await focusedClass(page), /page-grid-wrap/);
  assert.match(await live.textContent(), /^Page 2 of 16, 0x300000001000: present, writable, dirty, accessed, anon; frame \d+/);
  await screenshot(page, 'a11y-page-grid');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('Ctrl+Enter in the editor runs to the line of the caret; Ctrl+Shift+Enter to the end', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  const text = await loadExample(page, 'demand_paging.vms');
  const lines = text.split('\n');
  const ta = page.locator('vm-playground textarea.ed-ta');
  assert.match(await ta.getAttribute('aria-keyshortcuts'), /Control\+Enter/);
  const keys = await page.locator(`vm-playground #${await ta.getAttribute('aria-describedby')}`).textContent();
  assert.match(keys, /Ctrl\+Enter runs to the caret’s line, Ctrl\+Shift\+Enter to the end/);
  assert.match(await page.locator('vm-playground .ed-gutter .gl[data-line="3"]').getAttribute('title'), /Run to line 3 .*Ctrl\+Enter/);
  // the caret on the `store $a 0x41` line
  const target = lines.findIndex((l) => l.startsWith('store $a 0x41')) + 1;
  await ta.focus();
  await page.keyboard.press('Control+Home');
  for (let i = 1; i < target; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  await page.keyboard.press('Control+Enter');
  assert.equal(await pc(page), target);
  assert.equal(await page.locator('vm-playground .ed-gutter .gl.cur').getAttribute('data-line'), String(target));
  assert.match(await page.locator('vm-playground .ed-status').textContent(), new RegExp(`Executed up to line ${target}\\b`));
  assert.equal(await ta.inputValue(), text, 'the key typed no newline');
  // back up: the caret on the mincore line runs to there (on a fresh machine)
  await page.keyboard.press('Control+Home');
  for (let i = 1; i < target - 2; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Control+Enter');
  assert.equal(await pc(page), target - 2);
  // Ctrl+Shift+Enter: to the end
  await page.keyboard.press('Control+Shift+Enter');
  const last = lines.reduce((n, l, i) => (l.replace(/#.*/, '').trim() ? i + 1 : n), 0);
  assert.equal(await pc(page), last);
  assert.equal(await ta.inputValue(), text);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a cluster of small map entries zooms in from the keyboard', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  const n = 400;
  const text = Array.from({ length: n }, (_, i) => `mmap $arena+${i * 8}K 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0`).join('\n') + '\n';
  const ta = page.locator('vm-playground textarea.ed-ta');
  await ta.fill(text);
  await ta.press('Control+Shift+Enter'); // run to the end
  assert.equal(await pc(page), n);
  assert.ok(await page.locator('vm-playground .as-svg g.cluster[data-pid="1"]').count(), 'the entries are drawn as clusters at this zoom');
  const zoom = () => page.evaluate(() => document.querySelector('vm-playground').space.zoom);
  assert.equal(await zoom(), 1);
  await page.keyboard.press('Alt+Digit2'); // the address space
  assert.match(await focusedClass(page), /as-scroll/);
  await page.keyboard.press('ArrowDown'); // from the last line's entry (the highest) to the one below it
  const start = '0x' + (0x300000000000 + (n - 2) * 8192).toString(16);
  const status = page.locator('vm-playground .as-body [aria-live]');
  assert.match(await status.textContent(), new RegExp(`^p1: ${start} to 0x[0-9a-f]+, r--p, .*cluster of \\d+ entries too small to see, Z zooms in`));
  assert.equal(await page.locator('vm-playground .as-svg g.entry.selected').count(), 0, 'the selected entry is inside a cluster');
  // Z zooms in on its cluster, as often as it takes to draw it on its own
  for (let i = 0; i < 6 && !(await page.locator('vm-playground .as-svg g.entry.selected').count()); i++) await page.keyboard.press('z');
  assert.ok((await zoom()) > 1, 'zoomed in');
  assert.equal(await page.locator('vm-playground .as-svg g.entry.selected').count(), 1, 'the selected entry is drawn on its own');
  assert.equal(await page.locator('vm-playground .as-svg g.entry.selected').getAttribute('data-start'), start);
  assert.match(await status.textContent(), /^zoomed in \d+×/);
  await screenshot(page, 'a11y-cluster-zoom');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('an event selected in the log marks its TLB slot (and a flushed translation where it was)', { timeout: 60_000 }, async () => {
  const { page, errors } = await open();
  await loadExample(page, 'page_tables.vms');
  /** The event a log item stands for, from the session. */
  const eventOf = (item) =>
    item.evaluate((b) => {
      const [seq, i] = b.dataset.ev.split(':').map(Number);
      const e = document.querySelector('vm-playground').sessionObject.steps.find((s) => s.seq === seq).events[i];
      return { type: e.type, asid: Number(e.asid), va: Number(e.va) };
    });
  // line 12: `load $a+4K` after the mprotect: a TLB miss, then the translation is cached
  await page.locator('vm-playground .ed-gutter .gl[data-line="12"]').click();
  await page.locator('vm-playground .ev-filters [data-group="tlb"]').click();
  const miss = page.locator('vm-playground .ev-step.last ~ .ev-items .ev[data-type="tlb_miss"]').first();
  const me = await eventOf(miss);
  assert.equal(me.va, 0x300000001000);
  assert.equal(await page.locator('vm-playground #tab-tlb').getAttribute('aria-selected'), 'false');
  await miss.click();
  // the TLB tab comes forward with the slot marked, visibly and for assistive technology
  assert.equal(await page.locator('vm-playground #tab-tlb').getAttribute('aria-selected'), 'true');
  const marked = page.locator('vm-playground .tlb-slot.marked');
  assert.equal(await marked.count(), 1);
  assert.equal(await marked.getAttribute('aria-current'), 'true');
  assert.equal(await marked.getAttribute('data-va'), '0x300000001000');
  assert.equal(Number(await marked.getAttribute('data-asid')), me.asid);
  assert.match(await marked.textContent(), /the selected event concerns this translation/);
  const outline = await marked.evaluate((el) => getComputedStyle(el).outlineStyle);
  assert.equal(outline, 'solid');
  const note = page.locator('vm-playground .tlb-mark-note');
  assert.match(await note.textContent(), /^Selected event \(tlb miss, p1 0x300000001000\): its translation is cached in set \d+ way \d+/);
  await screenshot(page, 'a11y-tlb-mark-miss');
  // line 11: the mprotect flushed both pages: the flushed translation is marked where the view lists it
  await page.locator('vm-playground .ed-gutter .gl[data-line="11"]').click();
  assert.equal(await page.locator('vm-playground .tlb-slot.marked').count(), 0, 'a new step clears the mark');
  const flush = page.locator('vm-playground .ev-step.last ~ .ev-items .ev[data-type="tlb_flush_page"]').first();
  const fe = await eventOf(flush);
  await flush.click();
  const gone = page.locator('vm-playground .gone-list li.marked');
  assert.equal(await gone.count(), 1);
  assert.equal(await gone.getAttribute('aria-current'), 'true');
  assert.match(await gone.textContent(), new RegExp(`^p1 0x${fe.va.toString(16)} → frame \\d+ .*selected event$`));
  assert.equal(await page.locator('vm-playground .tlb-slot.marked').count(), 0, 'the flushed translation is no longer cached');
  assert.match(await note.textContent(), /removed is marked under “Removed by the last step”/);
  // the INVLPG list names the whole 48-bit page address (no 32-bit masking)
  const invlpg = await page.locator('vm-playground .flush-list li').allTextContents();
  assert.ok(invlpg.some((t) => t.includes(`INVLPG 0x${fe.va.toString(16)}`)), invlpg.join(' | '));
  await gone.scrollIntoViewIfNeeded();
  await screenshot(page, 'a11y-tlb-mark-flush');
  // selecting a page elsewhere takes the event's mark away
  await page.locator('vm-playground .tlb-slot[data-va] .slot-btn').first().click();
  assert.equal(await page.locator('vm-playground .tlb-mark-note').isHidden(), true);
  assert.deepEqual(errors, []);
  await page.context().close();
});
