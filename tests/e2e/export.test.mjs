// Issue 14, item 7: export. The address space as a standalone SVG (its
// styles inside it) and as a PNG, the pages of an entry as SVG, physical
// memory as PNG, and the outputs as text exactly as `vmplay run` prints
// them (the recorded .out of the example). Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { siteAndBrowser, openPlayground, loadExample, button, wwwDir } from './harness.mjs';

const env = siteAndBrowser();
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function save(page, id) {
  const pg = page.locator('vm-playground');
  const dialog = pg.getByRole('dialog', { name: 'Export' });
  if (!(await dialog.isVisible())) await pg.getByRole('button', { name: 'Export', exact: true }).click();
  const [dl] = await Promise.all([page.waitForEvent('download'), dialog.locator(`button[data-export="${id}"]`).click()]);
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(await dl.path()) };
}

test('export: diagrams as SVG and PNG, the outputs as text', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1024, height: 768 });
  await loadExample(page, 'cow_fork.vms');
  await button(page, 'Run').click();

  const svg = await save(page, 'as-svg');
  assert.equal(svg.name, 'cow_fork-address-space.svg');
  const text = svg.bytes.toString('utf8');
  assert.match(text, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // every entry drawn on the page is in the file, with its colours written in
  const drawn = await page.locator('vm-playground .as-svg g.entry').count();
  assert.equal((text.match(/<g [^>]*data-start=/g) || []).length, drawn);
  assert.ok(!/ class="/.test(text), 'no class left to a stylesheet that is not there');
  assert.match(text, /style="fill:rgb\(/);
  // a browser draws the file on its own, the same size as on the page
  const size = await page.evaluate(async (src) => {
    const img = new Image();
    img.src = URL.createObjectURL(new Blob([src], { type: 'image/svg+xml' }));
    await img.decode();
    return [img.naturalWidth, img.naturalHeight];
  }, text);
  const box = await page.locator('vm-playground .as-svg').boundingBox();
  assert.deepEqual(size, [Math.ceil(box.width), Math.ceil(box.height)]);

  const png = await save(page, 'as-png');
  assert.equal(png.name, 'cow_fork-address-space.png');
  assert.deepEqual(png.bytes.subarray(0, 8), PNG);
  assert.equal(png.bytes.readUInt32BE(16), size[0] * 2, 'twice the size: sharp on a projector');

  // the pages of the selected entry
  await page.keyboard.press('Escape');
  await page.locator('vm-playground .as-svg g.entry[data-pid="1"][data-start="0x300000000000"]').first().click();
  const pages = await save(page, 'pages-svg');
  assert.match(pages.bytes.toString('utf8'), /<g [^>]*data-va="0x300000000000"/);

  const mem = await save(page, 'memory-png');
  assert.deepEqual(mem.bytes.subarray(0, 8), PNG);

  const out = await save(page, 'out');
  assert.equal(out.name, 'cow_fork.out');
  assert.equal(out.bytes.toString('utf8'), fs.readFileSync(path.join(wwwDir, 'scenarios', 'cow_fork.out'), 'utf8'));
  const trace = (await save(page, 'trace')).bytes.toString('utf8');
  assert.match(trace, /^7 store ok\n(?:    .*\n)*?    p2: fault at 0x300000000000: copy-on-write: copied the page/m);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('export: a diagram that is not shown is said so, not saved empty', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1024, height: 768 });
  await page.evaluate(() => document.querySelector('vm-playground').reset());
  const pg = page.locator('vm-playground');
  await pg.getByRole('button', { name: 'Export', exact: true }).click();
  const dialog = pg.getByRole('dialog', { name: 'Export' });
  await dialog.locator('button[data-export="pages-svg"]').click();
  assert.match(await dialog.getByRole('status').textContent(), /not saved: the pages of an entry is not shown/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
