// Issue 10, item 5, the difference the issue names: MADV_DONTNEED then a
// load reads zero under Linux (the page is freed, zap_page_range) and the
// old byte under FreeBSD (vm_map_madvise only deactivates the pages: the
// data stays), and the comparison page marks that line and the anonymous
// frame count. DEPENDS ON THE FREEBSD PERSONALITY (issue 10, item 1): it
// fails until FreeBSD's mmap flags and madvise are in vmcore. The gallery's
// compare_kernels.vms is the scenario (lines 3-7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, screenshot } from './harness.mjs';

const env = siteAndBrowser();

test('compare.html: MADV_DONTNEED then a load: Linux reads 0x00, FreeBSD keeps 0x41; the line and the frame count are marked', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(new URL('compare.html', env.site.url).href);
  await page.waitForSelector('vm-compare[data-ready="1"]', { timeout: 30_000 });
  await page.locator('vm-compare select').selectOption('compare_kernels.vms');
  await page.waitForFunction(() => /MADV_DONTNEED/.test(document.querySelector('vm-compare').comparison?.text || ''));
  const row = page.locator('vm-compare table.cmp-lines tbody tr[data-line="7"]');
  assert.match(await row.locator('td.cmp-code').textContent(), /^load \$a$/);
  assert.equal(await row.locator('td[data-kernel="linux"]').textContent(), 'load 0x00');
  assert.equal(await row.locator('td[data-kernel="freebsd"]').textContent(), 'load 0x41');
  assert.equal(await row.getAttribute('class'), 'differs');
  assert.match(await row.locator('th').textContent(), /≠/);
  // the line before, madvise itself, succeeds under both
  const advise = page.locator('vm-compare table.cmp-lines tbody tr[data-line="6"]');
  assert.equal(await advise.locator('td[data-kernel="linux"]').textContent(), 'madvise 0');
  assert.equal(await advise.locator('td[data-kernel="freebsd"]').textContent(), 'madvise 0');
  // FreeBSD still holds the page Linux freed
  const anon = await page.evaluate(() => Object.fromEntries(document.querySelector('vm-compare').comparison.runs.map((r) => [r.kernel, r.frames.anon])));
  assert.ok(anon.freebsd > anon.linux, JSON.stringify(anon));
  assert.equal(await page.locator('vm-compare .cmp-col[data-kernel="freebsd"] tr[data-kind="anon"]').getAttribute('class'), 'differs');
  await screenshot(page, 'compare-dontneed');
  assert.deepEqual(errors, []);
  await page.context().close();
});
