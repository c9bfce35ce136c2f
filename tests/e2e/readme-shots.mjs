// The README's pictures of the playground at a projector's 1024×768 and on
// a 390 px phone, taken again after the page changes:
//   make build && node tests/e2e/readme-shots.mjs
// (writes docs/screenshots/playground-projector-1024x768.png and
// playground-phone-390.png). Not a test: it asserts nothing beyond the
// page loading without errors.
import path from 'node:path';
import { startServer, launchBrowser, openPlayground, loadExample, button, repoRoot } from './harness.mjs';

const site = await startServer();
const browser = await launchBrowser();
const shots = [
  { file: 'playground-projector-1024x768.png', viewport: { width: 1024, height: 768 } },
  { file: 'playground-phone-390.png', viewport: { width: 390, height: 844 } },
];
try {
  for (const { file, viewport } of shots) {
    const { page, errors } = await openPlayground(browser, site, viewport);
    await loadExample(page, 'cow_fork.vms');
    // Copy-on-write after fork, stepped to the child's first write.
    for (let i = 0; i < 5; i++) await button(page, 'Step').click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshots', file) });
    if (errors.length) throw new Error(`${file}: ${errors.join('\n')}`);
    await page.context().close();
    console.log(`docs/screenshots/${file}`);
  }
} finally {
  await browser.close();
  await site.close();
}
