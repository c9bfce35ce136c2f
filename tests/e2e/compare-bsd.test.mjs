// Issue 10, item 5: the differences compare_kernels.vms was written for,
// as the comparison page shows them. These tests DEPEND ON THE BSD
// PERSONALITIES in vmcore (issue 10, items 1 and 2): on a branch without
// them the BSD columns still read FreeBSD's and NetBSD's flag values with
// Linux's rules (mmap answers -EBADF) and these tests fail.
//   - FreeBSD (item 1): MADV_DONTNEED then a load reads zero under Linux
//     (the page is freed, zap_page_range) and the old byte under FreeBSD
//     (vm_map_madvise only deactivates the pages: the data stays), and the
//     anonymous frame count differs.
//   - NetBSD (item 2): PaX MPROTECT refuses a writable and executable
//     mapping (-EACCES), and UVM never merges entries after madvise or
//     mprotect split them, so p1 ends with more entries than under Linux.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, screenshot } from './harness.mjs';

const env = siteAndBrowser();

/** compare.html with the gallery's compare_kernels.vms compared. */
async function openExample() {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(new URL('compare.html', env.site.url).href);
  await page.waitForSelector('vm-compare[data-ready="1"]', { timeout: 30_000 });
  await page.locator('vm-compare select').selectOption('compare_kernels.vms');
  await page.waitForFunction(() => /MADV_DONTNEED/.test(document.querySelector('vm-compare').comparison?.text || ''));
  return { page, errors };
}

test('(needs the FreeBSD personality) MADV_DONTNEED then a load: Linux reads 0x00, FreeBSD keeps 0x41; the line and the frame count are marked', { timeout: 60_000 }, async () => {
  const { page, errors } = await openExample();
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

test('(needs the NetBSD personality) PaX MPROTECT refuses W|X under NetBSD; its split entries stay split', { timeout: 60_000 }, async () => {
  const { page, errors } = await openExample();
  const wx = page.locator('vm-compare table.cmp-lines tbody tr[data-line="11"]');
  assert.match(await wx.locator('td.cmp-code').textContent(), /PROT_EXEC/);
  assert.equal(await wx.locator('td[data-kernel="linux"]').textContent(), 'mmap 0x300000100000');
  assert.equal(await wx.locator('td[data-kernel="netbsd"]').textContent(), '✗ mmap -EACCES');
  assert.equal(await wx.getAttribute('class'), 'differs');
  // p1's entries over $a..$a+16K: Linux merged them back into one, NetBSD keeps the pieces
  const pieces = await page.evaluate(() => {
    const c = document.querySelector('vm-compare').comparison;
    const of = (k) => c.runs.find((r) => r.kernel === k).procs.find((p) => p.name === 'p1').entries.filter((e) => BigInt(e.start) >= 0x300000000000n && BigInt(e.end) <= 0x300000004000n).length;
    return { linux: of('linux'), netbsd: of('netbsd') };
  });
  assert.deepEqual(pieces, { linux: 1, netbsd: 3 });
  assert.ok((await page.locator('vm-compare .cmp-col[data-kernel="netbsd"] .cmp-proc[data-proc="p1"] tr.differs').count()) >= 3);
  assert.deepEqual(errors, []);
  await page.context().close();
});
