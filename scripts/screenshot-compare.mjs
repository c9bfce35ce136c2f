// screenshot-compare.mjs -- the README's picture of the comparison page:
// compare.html with the gallery's compare_kernels.vms under Linux, FreeBSD
// and NetBSD, at 1280 px, saved to docs/screenshots/compare-kernels.png.
//
//   bash scripts/build.sh wasm site && node scripts/screenshot-compare.mjs
//
// It serves www/ itself (scripts/static-server.mjs) and drives Debian's
// Chromium with playwright-core, like the browser tests. Take it again
// whenever the kernels change what they answer.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './static-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'screenshots', 'compare-kernels.png');
const { url, close } = await startServer(path.join(root, 'www'), { port: 0 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(new URL('compare.html', url).href);
  await page.waitForSelector('vm-compare[data-ready="1"]', { timeout: 30_000 });
  await page.locator('vm-compare select').selectOption('compare_kernels.vms');
  await page.waitForFunction(() => /MADV_DONTNEED/.test(document.querySelector('vm-compare').comparison?.text || ''));
  if (problems.length) throw new Error(`the page reported errors: ${problems.join('; ')}`);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`screenshot-compare: ${path.relative(root, out)}`);
} finally {
  await browser.close();
  await close();
}
