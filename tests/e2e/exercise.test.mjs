// Exercises in the page: the lesson index links every lesson, each
// lesson's exercise passes when checked, and the shared exercise
// (tests/exercises/) shows the same passes and fails as the CLI, Node and
// wasm-pack test, per expectation, in <vm-exercise> and in the
// `vm-exercise` event. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { siteAndBrowser, newPage, screenshot, repoRoot } from './harness.mjs';

const env = siteAndBrowser();
const AXE = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');

/** axe's serious and critical violations, and text under 4.5:1. */
async function audit(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations', 'passes'] });
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    const low = [];
    for (const kind of ['violations', 'passes']) {
      for (const v of r[kind].filter((x) => x.id === 'color-contrast')) {
        for (const n of v.nodes) {
          const d = n.any[0] && n.any[0].data;
          if (d && d.contrastRatio && d.contrastRatio < 4.5) low.push(`${n.target.join(' ')}: ${d.contrastRatio}`);
        }
      }
    }
    return { bad, low };
  });
}

/** Open a lesson page and wait for both playgrounds. */
async function openLesson(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'), null, { timeout: 30_000 });
}

test('the main page links the lessons, the index links ten lessons, and each exercise passes', { timeout: 240_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 } });
  await page.goto(new URL('index.html', env.site.url).href);
  await page.getByRole('link', { name: 'Lessons', exact: true }).click();
  await page.waitForURL(/lessons\/(index\.html)?$/);
  const count = await page.locator('ol.lessons a').count();
  assert.ok(count >= 10, `${count} lessons`);
  for (let i = 0; i < count; i++) {
    // follow the index's link, as a reader does
    await page.locator('ol.lessons a').nth(i).click();
    await page.waitForFunction(() => document.querySelectorAll('vm-playground').length >= 2 &&
      [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'), null, { timeout: 30_000 });
    const title = await page.locator('h1').textContent();
    const ex = page.locator('vm-exercise');
    await ex.getByRole('button', { name: 'Check' }).click();
    await page.waitForFunction(() => ['pass', 'fail'].includes(document.querySelector('vm-exercise').dataset.state ?? '') &&
      document.querySelector('vm-exercise').dataset.total === String(document.querySelectorAll('vm-exercise .ex-list li').length), null, { timeout: 30_000 });
    const state = await ex.getAttribute('data-state');
    const why = await ex.locator('.ex-why').allTextContents();
    assert.equal(state, 'pass', `${title}: ${why.join('; ')}`);
    const total = Number(await ex.getAttribute('data-total'));
    assert.ok(total >= 3, `${title}: ${total} checks`);
    assert.equal(await ex.locator('.ex-pass').count(), total, title);
    assert.match(await ex.locator('.ex-summary').textContent(), new RegExp(`All ${total} checks pass`));
    // back to the index the way a reader goes
    await page.getByRole('navigation', { name: 'Lessons' }).getByRole('link', { name: 'All lessons' }).click();
    await page.waitForSelector('ol.lessons');
  }
  assert.deepEqual(errors, [], 'no console errors, page errors or failed requests');
  await page.context().close();
});

for (const [name, failedLines] of [['cow_fork_pass', []], ['cow_fork_fail', [10, 11, 13]]]) {
  test(`the shared exercise ${name} passes and fails in the page as everywhere`, { timeout: 60_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: { width: 390, height: 844 } });
    await openLesson(page, new URL('lessons/07-cow-fork.html', env.site.url).href);
    const text = fs.readFileSync(path.join(repoRoot, 'tests/exercises', `${name}.vms`), 'utf8');
    const want = fs.readFileSync(path.join(repoRoot, 'tests/exercises', `${name}.out`), 'utf8');
    // every vm-exercise event the playground sends, as the course page gets it
    await page.evaluate((t) => {
      const pg = document.getElementById('exercise');
      window.reports = [];
      pg.addEventListener('vm-exercise', (e) => window.reports.push(e.detail));
      pg.setScenario(t);
    }, text);
    await page.locator('vm-exercise').getByRole('button', { name: 'Check' }).click();
    await page.waitForFunction(() => window.reports.some((r) => r.complete), null, { timeout: 30_000 });
    const last = await page.evaluate(() => window.reports[window.reports.length - 1]);
    assert.equal(last.total, 8);
    assert.deepEqual(last.results.filter((r) => !r.passed).map((r) => r.line), failedLines);
    // each verdict is the one the CLI printed for that line
    const cli = new Map(want.split('\n').filter((l) => / expect /.test(l)).map((l) => [Number(l.split(' ')[0]), l.split(' expect ')[1]]));
    for (const r of last.results) {
      assert.equal(r.passed ? 'pass' : `FAIL ${r.what}: expected ${r.expected}, found ${r.found}`, cli.get(r.line), `line ${r.line}`);
    }
    const ex = page.locator('vm-exercise');
    assert.equal(await ex.getAttribute('data-state'), failedLines.length ? 'fail' : 'pass');
    assert.equal(await ex.locator('.ex-fail').count(), failedLines.length);
    for (const line of failedLines) {
      const item = ex.locator(`.ex-fail[data-line="${line}"]`);
      assert.match(await item.textContent(), /FAIL.*expected .*, found /);
    }
    await screenshot(page, `exercise-${name}`);
    assert.equal(last.error, null);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

for (const colorScheme of ['light', 'dark']) {
  test(`the lesson index and a checked exercise pass axe (${colorScheme})`, { timeout: 90_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 }, colorScheme });
    await page.goto(new URL('lessons/index.html', env.site.url).href);
    let r = await audit(page);
    assert.deepEqual(r.bad, [], 'index');
    assert.deepEqual(r.low, [], 'index contrast');
    await openLesson(page, new URL('lessons/09-mprotect.html', env.site.url).href);
    // one check made to fail, so that both marks are on the page
    await page.evaluate(() => {
      const pg = document.getElementById('exercise');
      pg.setScenario(pg.sessionObject.text.replace('expect entries 1', 'expect entries 3'));
    });
    await page.locator('vm-exercise').getByRole('button', { name: 'Check' }).click();
    await page.waitForSelector('vm-exercise[data-state="fail"]');
    assert.equal(await page.locator('vm-exercise .ex-fail').count(), 1);
    r = await audit(page);
    assert.deepEqual(r.bad, [], 'lesson');
    assert.deepEqual(r.low, [], 'lesson contrast');
    await screenshot(page, `exercise-axe-${colorScheme}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test('a line that cannot run stops the exercise, and the checklist says so', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 } });
  await openLesson(page, new URL('lessons/01-address-spaces.html', env.site.url).href);
  await page.evaluate(() => {
    const pg = document.getElementById('exercise');
    pg.setScenario(pg.sessionObject.text.replace('expect entries 2', 'expect entries two'));
  });
  await page.locator('vm-exercise').getByRole('button', { name: 'Check' }).click();
  await page.waitForSelector('vm-exercise[data-state="fail"]');
  const summary = await page.locator('vm-exercise .ex-summary').textContent();
  assert.match(summary, /Line 15 could not run \(bad number 'two'\)/);
  assert.match(summary, /4 of 8 checks pass so far; 4 not reached yet\./);
  assert.deepEqual(errors, []);
  await page.context().close();
});
