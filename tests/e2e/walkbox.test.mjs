// Issue 13, item 10: the walk's address box. An invalid address left the
// previous walk on screen (so it looked like the answer); the scenario's
// variables were refused although the placeholder suggested them; and a
// non-canonical address was walked to a #PF where the CPU raises #GP.
// Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, openPlayground, loadExample, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();

test('the walk box: a typo replaces the walk with a reason; $a+4K walks; a non-canonical address is #GP', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await loadExample(page, 'demand_paging.vms');
  for (let i = 0; i < 4; i++) await button(page, 'Step').click();
  const input = page.locator('vm-playground .addr-input');
  const problem = page.locator('vm-playground .walk-problem');
  const walkSteps = () => page.locator('vm-playground ol.walk').count();
  assert.equal(await walkSteps(), 1, 'a walk is shown after the store');
  // a typo: the old walk goes, a reason comes
  await input.fill('0x30000zz');
  await input.press('Enter');
  assert.equal(await walkSteps(), 0, 'no walk under an address that is not one');
  assert.match(await problem.textContent(), /is not an address/);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  // a variable of the scenario, as the placeholder says
  await input.fill('$a+4K');
  await input.press('Enter');
  assert.equal(await problem.isHidden(), true);
  assert.equal(await walkSteps(), 1);
  assert.equal(await page.locator('vm-playground .page-grid g.page.selected').getAttribute('data-va'), '0x300000001000');
  // an unknown variable is named
  await input.fill('$nope+4K');
  await input.press('Enter');
  assert.match(await problem.textContent(), /\$nope is not a variable of the scenario \(so far: \$a, and \$arena\)/);
  assert.equal(await walkSteps(), 0);
  // non-canonical: #GP, no walk, no page fault
  await input.fill('0x800000000000');
  await input.press('Enter');
  assert.match(await problem.textContent(), /not canonical.*#GP/);
  assert.equal(await walkSteps(), 0);
  assert.doesNotMatch(await page.locator('vm-playground .walk-body').textContent(), /#PF|page fault/);
  await screenshot(page, 'walkbox-noncanonical');
  // a step selects a page again: the problem goes, the walk comes back
  await button(page, 'Step').click();
  assert.equal(await problem.isHidden(), true);
  assert.equal(await walkSteps(), 1);
  assert.deepEqual(errors, []);
  await page.context().close();
});
