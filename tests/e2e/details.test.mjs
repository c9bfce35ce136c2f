// Issue 13, item 13 (the smaller ones done here): five-digit line numbers
// collided with the step marker; zoom, the VA box and the selection
// survived Reset; the examples menu never said which scenario was loaded;
// a third 1 GiB playground on a page failed with a developer's message.
// Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, openPlayground, loadExample, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();

test('five-digit line numbers have room beside the marker', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  const text = Array.from({ length: 10_050 }, (_, i) => (i ? `# line ${i + 1}` : '$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0')).join('\n') + '\nload $a\n';
  await page.evaluate((t) => document.querySelector('vm-playground').setScenario(t), text);
  await page.evaluate(() => document.querySelector('vm-playground').runTo(10_051));
  const overlap = await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    const gl = root.querySelector('.gl.cur');
    const mark = gl.querySelector('.gm').getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(gl.lastChild);
    const digits = range.getBoundingClientRect();
    const gutter = root.querySelector('.ed-gutter').getBoundingClientRect();
    return { line: gl.dataset.line, markRight: mark.right, digitsLeft: digits.left, digitsRight: digits.right, gutterRight: gutter.right };
  });
  assert.equal(overlap.line, '10051');
  assert.ok(overlap.markRight <= overlap.digitsLeft, `the marker ends before the digits: ${JSON.stringify(overlap)}`);
  assert.ok(overlap.digitsRight <= overlap.gutterRight, 'the digits fit in the gutter');
  await screenshot(page, 'details-five-digits');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('Reset forgets the selection, the zoom and the VA box; the examples menu says what is loaded', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await loadExample(page, 'demand_paging.vms');
  const gallery = page.locator('vm-playground select[aria-label="Example scenarios"]');
  assert.equal(await gallery.inputValue(), 'demand_paging.vms', 'the menu names the loaded example');
  for (let i = 0; i < 4; i++) await button(page, 'Step').click();
  await page.locator('vm-playground').getByRole('button', { name: 'Zoom in' }).click();
  const state = () =>
    page.evaluate(() => {
      const pg = document.querySelector('vm-playground');
      return { zoom: pg.space.zoom, page: pg.sel.page, entry: pg.sel.entry, va: pg.walk.input.value };
    });
  const before = await state();
  assert.ok(before.zoom > 1 && before.page && before.va);
  await button(page, 'Reset').click();
  const after = await state();
  assert.deepEqual(after, { zoom: 1, page: null, entry: null, va: '' });
  // an edit makes the text another scenario: the menu lets go
  await page.locator('vm-playground textarea.ed-ta').press('End');
  await page.locator('vm-playground textarea.ed-ta').type(' ');
  assert.equal(await gallery.inputValue(), '');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a playground that does not fit the page’s memory says so in words', { timeout: 90_000 }, async () => {
  const { page } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
  // the index page's own playground holds 4,096 frames; two of 260,000 fit beside it, a third does not
  await page.goto(new URL('index.html', env.site.url).href);
  await page.waitForSelector('body[data-ready="1"]');
  const got = await page.evaluate(async () => {
    const results = [];
    for (let i = 0; i < 3; i++) {
      const pg = document.createElement('vm-playground');
      pg.setAttribute('frames', '260000');
      pg.setAttribute('views', 'editor');
      pg.style.height = '200px';
      const done = new Promise((resolve) => {
        pg.addEventListener('vm-ready', () => resolve('ready'), { once: true });
        pg.addEventListener('vm-error', (e) => resolve(`error: ${e.detail && e.detail.message}`), { once: true });
      });
      document.querySelector('main').append(pg);
      results.push(await done);
    }
    const third = document.querySelectorAll('vm-playground')[3].shadowRoot.querySelector('.fail');
    return { results, text: third ? third.textContent : null };
  });
  assert.deepEqual(got.results.slice(0, 2), ['ready', 'ready']);
  assert.match(got.results[2], /no room/);
  assert.match(got.text, /^Not enough room for this playground\. The playgrounds of one page can simulate 2 GiB of memory together.*asks for 1015\.6 MiB/);
  await screenshot(page, 'details-no-room');
  await page.context().close();
});
