// Issue 14, item 3: predict, then reveal. With Predict on, Step first asks
// what the next line will do (its result, its page fault, the frames it
// allocates); Reveal runs it, marks each answer right or wrong against what
// the simulator did, and keeps the score. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, openPlayground, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();

const SCENARIO = [
  '$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0',
  'load $a',
  'store $a+4K 0x41',
  'fork p2',
  'p2: store $a+4K 0x42',
].join('\n');

for (const vp of [{ width: 1024, height: 768 }, { width: 390, height: 844 }]) {
  test(`predict mode scores a right and a wrong answer (${vp.width} × ${vp.height})`, { timeout: 60_000 }, async () => {
    const { page, errors } = await openPlayground(env.browser, env.site, vp);
    const pg = page.locator('vm-playground');
    await page.evaluate((t) => document.querySelector('vm-playground').setScenario(t), SCENARIO);
    const pc = () => page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc);
    const predict = pg.getByRole('button', { name: 'Predict', exact: true });
    await predict.click();
    assert.equal(await predict.getAttribute('aria-pressed'), 'true');
    await page.evaluate(() => {
      window.exercises = [];
      document.addEventListener('vm-exercise', (e) => window.exercises.push(e.detail));
    });

    // line 1: Step asks first, nothing runs
    await button(page, 'Step').click();
    assert.equal(await pc(), 0, 'the line waits for the prediction');
    const panel = pg.getByRole('region', { name: 'Predict, then reveal' });
    assert.match(await panel.textContent(), /What will line 1 do\?/);
    // the form from the keyboard: the result field has the focus
    await page.keyboard.type('0x300000000000');
    await pg.getByLabel('Page fault').selectOption('none');
    await pg.getByLabel('Map entries', { exact: true }).selectOption('entry_insert');
    await pg.getByLabel('Frames allocated (page tables too)').fill('3');
    await page.keyboard.press('Enter'); // submits: Reveal
    assert.equal(await pc(), 1, 'Reveal ran the line');
    const marks = await panel.locator('.pr-marks li').allTextContents();
    assert.match(marks[0], /result: 0x300000000000 — right/);
    assert.match(marks[1], /page fault: no page fault — right/);
    assert.match(marks[2], /frames allocated: 3 — wrong: it was 0/);
    assert.match(marks[3], /map entries: a new entry — right/);
    assert.equal(await panel.locator('.pr-score').textContent(), 'Score: 3 of 4');

    // line 2: a read of untouched memory maps the zero page (its tables allocated)
    await button(page, 'Step').click();
    assert.match(await panel.textContent(), /What will line 2 do\?/);
    await pg.getByLabel('Page fault').selectOption('zero_fill');
    await pg.getByLabel('Page table entries').selectOption('map');
    await pg.getByRole('button', { name: 'Reveal' }).click();
    const marks2 = await panel.locator('.pr-marks li').allTextContents();
    assert.match(marks2[0], /page fault: zero-fill \(a fresh zeroed frame\) — wrong: it was zero page mapped/);
    assert.match(marks2[1], /page table entries: a PTE becomes present \(P set\) — right/);
    assert.equal(await panel.locator('.pr-score').textContent(), 'Score: 4 of 6');
    // the views highlight what the line changed, as on every step
    assert.equal(await pg.locator('.page-grid g.page.changed').getAttribute('data-va'), '0x300000000000');

    // Skip runs a line unmarked; then p2's store copies the page
    await button(page, 'Step').click();
    await pg.getByRole('button', { name: 'Skip' }).click();
    assert.equal(await pc(), 3);
    await button(page, 'Step').click(); // fork: skip it too
    await pg.getByRole('button', { name: 'Skip' }).click();
    await button(page, 'Step').click();
    await pg.getByLabel('Result').fill('ok');
    await pg.getByLabel('Page fault').selectOption('cow_copy');
    await pg.getByLabel('Frames allocated (page tables too)').fill('1');
    await pg.getByLabel('Map entries', { exact: true }).selectOption('entry_split');
    await pg.getByLabel('Page table entries').selectOption('write_protect');
    await pg.getByRole('button', { name: 'Reveal' }).click();
    const marks5 = await panel.locator('.pr-marks li').allTextContents();
    assert.match(marks5[3], /map entries: an entry split — wrong: it was unchanged/);
    // the copy is mapped writable in place of the read-only shared page
    assert.match(marks5[4], /page table entries: RW cleared: a page write-protected — wrong: it was RW set: a page made writable/);
    assert.equal(await panel.locator('.pr-score').textContent(), 'Score: 7 of 11');
    await screenshot(page, `predict-${vp.width}`);

    const ex = await page.evaluate(() => window.exercises);
    assert.deepEqual(ex.map((e) => [e.line, e.passed, e.total]), [[1, 3, 4], [2, 1, 2], [5, 3, 5]]);
    assert.deepEqual(ex[2].score, { right: 7, asked: 11 });
    // off again: Step steps
    await predict.click();
    assert.equal(await panel.isVisible(), false);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}
