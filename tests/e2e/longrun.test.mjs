// Issue 13, item 6: long scenarios. The session split the whole text for
// every executed line (quadratic), a Run blocked the page with no progress
// and no way to stop, and Back replayed everything from a fresh machine.
// Now the split is cached, a long run goes in slices (progress, Stop,
// Escape), and Back starts from the nearest snapshot. What is checked here
// is behaviour, not time: `tests/e2e/bench.mjs` measures. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, openPlayground, button, screenshot } from './harness.mjs';

const env = siteAndBrowser();

const LINES = 3000;
const scenario = () => {
  const out = ['$a = mmap $arena 16M PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0'];
  for (let i = 1; i < LINES; i++) out.push(i % 3 ? `store $a+${(i * 7) % 4096}K 0x${(i % 256).toString(16)}` : `load $a+${(i * 5) % 4096}K`);
  return out.join('\n') + '\n';
};

/** What the machine holds, to compare two ways of reaching one line. */
const state = (page) =>
  page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    const m = s.machine;
    return JSON.stringify({ pc: s.pc, frames: m.framesSummary(), entries: m.entries(1), tlb: m.tlb(), check: m.check(), results: [...s.results.keys()].length });
  });

test('a long run goes in slices: progress, the page answers, Stop and Escape stop it, Run goes on', { timeout: 120_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await page.evaluate((t) => document.querySelector('vm-playground').setScenario(t), scenario());
  // each line made to take a millisecond, so that the run lasts long enough to be stopped
  await page.evaluate(() => {
    const m = document.querySelector('vm-playground').sessionObject.machine;
    const orig = m.execLine.bind(m);
    m.execLine = (...a) => {
      const t = performance.now() + 1;
      while (performance.now() < t);
      return orig(...a);
    };
  });
  const run = button(page, 'Run');
  // the page's own timers keep firing while it runs
  const gaps = page.evaluate(
    () =>
      new Promise((resolve) => {
        let last = performance.now();
        let max = 0;
        const id = setInterval(() => {
          const now = performance.now();
          max = Math.max(max, now - last);
          last = now;
        }, 5);
        document.querySelector('vm-playground').addEventListener('vm-redraw', function done() {
          clearInterval(id);
          resolve(max);
        }, { once: true });
      }),
  );
  await run.click();
  await page.locator('vm-playground .run-box:not([hidden]) progress').waitFor();
  assert.equal(await page.locator('vm-playground .run-box .si-line').textContent(), 'Running…');
  assert.equal(await button(page, 'Step').isDisabled(), true, 'Step waits for the run');
  assert.equal(await page.locator('vm-playground .ed-ta').evaluate((t) => t.readOnly), true, 'the text cannot change under the run');
  await screenshot(page, 'longrun-progress');
  await button(page, 'Stop').click();
  await page.locator('vm-playground .run-box[hidden]').waitFor({ state: 'attached' });
  const stoppedAt = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc);
  assert.ok(stoppedAt > 1 && stoppedAt < LINES, `stopped part way (line ${stoppedAt})`);
  assert.ok((await gaps) < 500, 'the page answered during the run');
  // Run goes on from there, Escape stops too
  await run.click();
  await page.locator('vm-playground .run-box:not([hidden])').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('vm-playground .run-box[hidden]').waitFor({ state: 'attached' });
  const escAt = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc);
  assert.ok(escAt >= stoppedAt);
  await page.evaluate(() => document.querySelector('vm-playground').run());
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc), LINES);
  // the same as the runner's own run of the whole text
  const same = await page.evaluate(async () => {
    const pg = document.querySelector('vm-playground');
    const s = pg.sessionObject;
    const m = new s.vm.Machine({ ...s.options, events: false });
    const whole = m.runText(s.text).text;
    m.free();
    const ours = s.steps.filter((st) => st.source === 'editor').map((st) => st.output.text + '\n').join('');
    return whole === ours;
  });
  assert.ok(same, 'a run in slices, stopped twice, prints what one run prints');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('Back from the end of a long scenario starts from a snapshot and gives the state a fresh run gives', { timeout: 120_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site);
  await page.evaluate((t) => document.querySelector('vm-playground').setScenario(t), scenario());
  await page.evaluate(() => document.querySelector('vm-playground').run());
  assert.ok((await page.evaluate(() => document.querySelector('vm-playground').sessionObject.snaps.length)) >= 10, 'snapshots were kept');
  // count the lines Back executes
  const count = () =>
    page.evaluate(() => {
      const m = document.querySelector('vm-playground').sessionObject.machine;
      window.__execs = 0;
      const orig = m.execLine.bind(m);
      m.execLine = (...a) => (window.__execs++, orig(...a));
    });
  await count();
  await button(page, 'Back').click();
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc), LINES - 1);
  const execs = await page.evaluate(() => window.__execs);
  assert.ok(execs < 250, `Back replayed ${execs} lines, not ${LINES}`);
  const viaSnapshot = await state(page);
  await page.evaluate((n) => {
    const s = document.querySelector('vm-playground').sessionObject;
    s.reset();
    s.runTo(n);
  }, LINES - 1);
  assert.equal(viaSnapshot, await state(page), 'the same machine as a run from nothing');
  // a gutter click far back, then an edit past it: the snapshots after the edit are dropped
  await page.evaluate(() => document.querySelector('vm-playground').run());
  await page.evaluate(() => document.querySelector('vm-playground').runTo(1000));
  assert.equal(await page.evaluate(() => document.querySelector('vm-playground').sessionObject.pc), 1000);
  await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    const lines = pg.sessionObject.text.split('\n');
    lines[1999] = 'store $a 0x77';
    const text = lines.join('\n');
    pg.editor.value = text;
    pg.sessionObject.setText(text);
  });
  assert.ok((await page.evaluate(() => Math.max(...document.querySelector('vm-playground').sessionObject.snaps))) < 2000);
  // the snapshots stay in order, once each, as the wasm side has them
  const snaps = await page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    return { js: s.snaps, wasm: [...s.machine.snapshotKeys()] };
  });
  assert.deepEqual(snaps.js, [...new Set(snaps.js)].sort((a, b) => a - b));
  assert.deepEqual(snaps.js, snaps.wasm);
  await page.evaluate(() => document.querySelector('vm-playground').runTo(2500));
  const afterEdit = await state(page);
  const again = await page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    return { js: s.snaps, wasm: [...s.machine.snapshotKeys()] };
  });
  assert.deepEqual(again.js, [...new Set(again.js)].sort((a, b) => a - b), 'ordered after running on past old snapshots');
  assert.deepEqual(again.js, again.wasm);
  await page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    s.reset();
    s.runTo(2500);
  });
  assert.equal(afterEdit, await state(page), 'an edited line is run as edited');
  assert.deepEqual(errors, []);
  await page.context().close();
});
