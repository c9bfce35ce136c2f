// Issue 13, items 2 and 4: a failure looks like one everywhere (step bar,
// the editor's result column, the event log, the output pane), decided by
// the runner's `failure`, not by the text of the result ("out of memory"
// used to be green); and every line's full output (maps, a long mincore)
// is in an output pane a keyboard and a screen reader reach, not only in a
// hover title of an aria-hidden column. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, screenshot, openPlayground, button } from './harness.mjs';

const env = siteAndBrowser();

const ANON = 'PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0';
const SCENARIO = [
  `$a = mmap $arena 3M ${ANON}`,
  `$b = mmap $arena+4M 3M ${ANON}`,
  'fill $a 3M 7',
  'fill $b 3M 7       # 6 MiB of stores in a 4 MiB machine',
  'munmap $a+1 4K',
  'load $arena+1G',
  'mincore $a 3M',
  'maps',
].join('\n') + '\n';

// The same lines where every store fits: the process lives to the end.
const FITS = SCENARIO.replace('fill $b 3M 7       # 6 MiB of stores in a 4 MiB machine', 'fill $b 4K 7');

async function setUp(page, text = SCENARIO) {
  await page.locator('vm-playground select[aria-label="Physical memory size"]').selectOption('1024');
  await page.evaluate((t) => document.querySelector('vm-playground').setScenario(t), text);
}

test('an OOM kill, errno and signals are failures in the step bar, the result column, the event log and the output pane', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await setUp(page);
  const step = button(page, 'Step');
  for (let i = 0; i < 4; i++) await step.click();
  // line 4 ran out of frames with nothing to reclaim: the OOM killer
  // killed the process during it
  const bar = page.locator('vm-playground .step-info .si-res');
  assert.match(await bar.textContent(), /killed/);
  assert.match(await bar.getAttribute('class'), /\bbad\b/, 'the step bar shows the kill as a failure');
  assert.equal(await page.locator('vm-playground .ed-res .rl[data-line="4"] .r-bad').count(), 1, 'the result column too');
  assert.equal(await page.locator('vm-playground .ed-res .rl[data-line="3"] .r-ok').count(), 1, 'a fill that fit is a success');
  assert.equal(await page.locator('vm-playground .ev-step.last .ev-res.bad').count(), 1, 'and the event log');
  const item = page.locator('vm-playground .out-item[data-line="4"]');
  assert.match(await item.getAttribute('class'), /\bfailed\b/);
  assert.match(await item.textContent(), /OOM killer/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('errno and signals are failures in the result column, the event log and the output pane', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await setUp(page, FITS);
  await button(page, 'Run').click();
  for (const [line, text] of [[5, /munmap -EINVAL/], [6, /load SIGSEGV/]]) {
    const it = page.locator(`vm-playground .out-item[data-line="${line}"]`);
    assert.match(await it.textContent(), text);
    assert.match(await it.getAttribute('class'), /\bfailed\b/, `line ${line} is a failure`);
    assert.equal(await page.locator(`vm-playground .ed-res .rl[data-line="${line}"] .r-bad`).count(), 1);
  }
  assert.equal(await page.locator('vm-playground .ev-res.bad').count(), 2);
  await screenshot(page, 'outcome-failures');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the output pane shows every line in full, from the keyboard and to a screen reader', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await setUp(page, FITS);
  await button(page, 'Run').click();
  const list = page.locator('vm-playground').getByRole('list', { name: 'Output of the executed lines' });
  assert.equal(await list.count(), 1);
  // maps: each line of it, not a "+2" badge
  const maps = page.locator('vm-playground .out-item[data-line="8"] .out-res');
  const mapsText = await maps.textContent();
  assert.match(mapsText, /maps ok\n {2}0x300000000000-0x300000300000 rw-p 0x0 anon\n {2}0x300000400000-0x300000700000 rw-p 0x0 anon/);
  // a long mincore, unabridged: 768 pages
  const mincore = await page.locator('vm-playground .out-item[data-line="7"] .out-res').textContent();
  assert.equal(/mincore 0 ([01]+)/.exec(mincore)[1].length, 768);
  // in the accessibility tree (no aria-hidden ancestor), and focusable
  const hidden = await page.evaluate(() => {
    let el = document.querySelector('vm-playground').shadowRoot.querySelector('.out-list');
    for (; el; el = el.parentElement) if (el.getAttribute('aria-hidden') === 'true') return true;
    return false;
  });
  assert.equal(hidden, false);
  const snap = await list.ariaSnapshot();
  assert.match(snap, /0x300000400000-0x300000700000 rw-p 0x0 anon/);
  await list.focus();
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').shadowRoot.activeElement?.className), 'out-list');
  // a click on a line's result opens its output
  await page.locator('vm-playground .ed-res .rl[data-line="8"]').click();
  assert.match(await page.locator('vm-playground .out-item.hl').textContent(), /maps ok/);
  // the step bar keeps a long result on one line
  const barH = await page.locator('vm-playground .bar').evaluate((b) => b.getBoundingClientRect().height);
  await page.evaluate(() => document.querySelector('vm-playground').runTo(7));
  const barH7 = await page.locator('vm-playground .bar').evaluate((b) => b.getBoundingClientRect().height);
  assert.equal(barH7, barH, 'a 768-digit mincore does not break the step bar');
  await screenshot(page, 'outcome-output-pane');
  assert.deepEqual(errors, []);
  await page.context().close();
});
