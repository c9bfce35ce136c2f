// Issue 13, item 12: after every process exits, the dead process's table
// tree stayed in Translation and the console still prompted `p1 ›`.
// Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, openPlayground, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();

test('when every process has exited: no table tree, no walk, and the console says there is no process', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await page.evaluate(() =>
    document.querySelector('vm-playground').setScenario('$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 1\nexit\n'),
  );
  await button(page, 'Step').click();
  await button(page, 'Step').click();
  assert.ok((await page.locator('vm-playground .tree-body .tnode').count()) > 0, 'the tree of p1 while it lives');
  assert.equal(await page.locator('vm-playground .con-prompt').textContent(), 'p1 ›');
  await button(page, 'Step').click(); // exit
  assert.equal(await page.locator('vm-playground .tree-body .tnode').count(), 0, 'no tables of a dead process');
  assert.match(await page.locator('vm-playground .walk-body').textContent(), /every process has exited/);
  assert.equal(await page.locator('vm-playground .con-prompt').textContent(), '—');
  assert.equal(await page.locator('vm-playground .con-input').isDisabled(), true);
  await screenshot(page, 'exit-no-process');
  // Back brings p1 back, and its prompt
  await button(page, 'Back').click();
  assert.equal(await page.locator('vm-playground .con-prompt').textContent(), 'p1 ›');
  assert.equal(await page.locator('vm-playground .con-input').isDisabled(), false);
  assert.ok((await page.locator('vm-playground .tree-body .tnode').count()) > 0);
  assert.deepEqual(errors, []);
  await page.context().close();
});
