// Issue 13, the glossary: every term the views use (amap, anon, needs-copy,
// mapcount, anon_vma, asid, PCID, each PTE bit) is explained on the page,
// on hover, on focus and on tap alike, and listed in a Glossary dialog.
// (They were explained in hover titles only, or not at all.) Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, openPlayground, loadExample, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();
const tip = (page) => page.locator('vm-playground #term-tip');

test('terms explain themselves on hover, focus and tap; the Glossary lists every term', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await loadExample(page, 'cow_fork.vms');
  await page.evaluate(() => document.querySelector('vm-playground').runTo(6));
  // focus: needs-copy, in the selected entry
  const needsCopy = page.locator('vm-playground .term[data-term="needs-copy"]');
  await needsCopy.focus();
  assert.equal(await tip(page).isVisible(), true);
  assert.match(await tip(page).textContent(), /shares its amap with the other side of a fork/);
  assert.equal(await needsCopy.getAttribute('aria-describedby'), 'term-tip');
  await page.keyboard.press('Escape');
  assert.equal(await tip(page).isHidden(), true);
  // hover: amap
  await page.locator('vm-playground .term[data-term="amap"]').first().hover();
  assert.match(await tip(page).textContent(), /UVM’s table of the anonymous pages/);
  // a PTE bit, by pointer
  await page.locator('vm-playground .bit[data-term="RW"]').first().hover();
  assert.match(await tip(page).textContent(), /Writes allowed/);
  await page.mouse.move(5, 5);
  // the glossary dialog: every term the issue names
  await page.locator('vm-playground').getByRole('button', { name: 'Glossary', exact: true }).click();
  const dialog = page.locator('vm-playground dialog.glossary');
  assert.equal(await dialog.isVisible(), true);
  const text = await dialog.textContent();
  for (const t of ['amap', 'anon', 'needs-copy', 'mapcount', 'anon_vma', 'ASID', 'PCID', 'P (present', 'RW (writable', 'US (user', 'PWT', 'PCD', 'A (accessed', 'D (dirty', 'PS (page size', 'G (global', 'NX (no-execute', 'PROTNONE']) {
    assert.ok(text.includes(t), `the glossary explains ${t}`);
  }
  await screenshot(page, 'glossary-dialog');
  await page.keyboard.press('Escape');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a tap on a term pins its definition on a touch screen', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await page.goto(new URL('index.html', env.site.url).href);
  await page.waitForSelector('body[data-ready="1"]');
  await page.evaluate(() => document.querySelector('vm-playground').runTo(4));
  const amap = page.locator('vm-playground .term[data-term="amap"]').first();
  await amap.scrollIntoViewIfNeeded();
  await amap.tap();
  assert.equal(await tip(page).isVisible(), true);
  assert.match(await tip(page).textContent(), /amap/);
  await amap.tap();
  assert.equal(await tip(page).isHidden(), true, 'a second tap folds it');
  assert.deepEqual(errors, []);
  await page.context().close();
});
