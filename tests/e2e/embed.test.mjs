// Issue 14, item 5: embed modes and events. readonly, step=N, the spoiler
// embed, the required title, the iframe page (frame.html), and the events a
// course page listens to: vm-step, vm-error, vm-exercise. Each is made in
// embed.html as a teacher writes it; and a scenario fetched from another site
// without CORS headers, which must say so on the page. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, screenshot, startServer, wwwDir } from './harness.mjs';

const env = siteAndBrowser();

const SCENARIO = '# two pages\n$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n\nstore $a 1\nload $a+4K\nstore $a+4K 2\n';

/** embed.html with its playgrounds replaced by one made of `attrs`; resolves with what it fired. */
async function make(attrs, viewport = { width: 1280, height: 900 }) {
  const { page, errors } = await newPage(env.browser, { viewport });
  await page.goto(new URL('embed.html', env.site.url).href);
  await page.waitForFunction(() => [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'));
  await page.evaluate(
    ({ attrs, text }) =>
      new Promise((resolve) => {
        for (const old of document.querySelectorAll('vm-playground')) old.remove();
        window.fired = [];
        const pg = document.createElement('vm-playground');
        pg.id = 'pg';
        pg.setAttribute('scenario', text);
        pg.setAttribute('frames', '1024');
        for (const [k, v] of Object.entries(attrs)) pg.setAttribute(k, v);
        pg.style.height = '560px';
        for (const type of ['vm-ready', 'vm-step', 'vm-error', 'vm-exercise']) {
          // listened to on the document: every event must bubble out of the element
          document.addEventListener(type, (e) => window.fired.push({ type, detail: JSON.parse(JSON.stringify(e.detail instanceof Error ? { message: e.detail.message } : e.detail)) }));
        }
        pg.addEventListener('vm-ready', () => setTimeout(resolve, 50));
        document.querySelector('article').prepend(pg);
      }),
    { attrs, text: SCENARIO },
  );
  return { page, errors, pg: page.locator('#pg') };
}

const fired = (page, type) => page.evaluate((t) => window.fired.filter((f) => f.type === t).map((f) => f.detail), type);

test('vm-step tells the page every move: Step, Back, Run, Reset, a click on a line number', { timeout: 60_000 }, async () => {
  const { page, errors, pg } = await make({ label: 'Events' });
  const btn = (name) => pg.getByRole('button', { name, exact: true });
  await btn('Step').click();
  await btn('Step').click();
  await btn('Back').click();
  await btn('Run').click();
  await btn('Reset').click();
  const steps = await fired(page, 'vm-step');
  assert.deepEqual(steps.map((d) => d.line), [2, 4, 2, 6, 0]);
  assert.deepEqual(steps[1].step, { line: 4, source: 'editor', text: 'store $a 1', ok: true, result: 'store ok', failure: null });
  assert.equal(steps[3].next, 0, 'at the end nothing is next');
  assert.equal(steps[4].step, null, 'a reset leaves nothing executed');
  assert.deepEqual(await fired(page, 'vm-error'), []);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('vm-error: a views name that is no panel, a scenario that cannot be fetched', { timeout: 60_000 }, async () => {
  const { page } = await make({ label: 'Bad views', views: 'editor,spaec' });
  assert.match((await fired(page, 'vm-error'))[0].message, /no panel is named “spaec”/);
  await page.evaluate(
    () =>
      new Promise((resolve) => {
        const pg = document.createElement('vm-playground');
        pg.setAttribute('label', 'Missing scenario');
        pg.setAttribute('scenario', 'nowhere/missing.vms');
        pg.addEventListener('vm-error', () => resolve(), { once: true });
        document.querySelector('article').append(pg);
      }),
  );
  const errs = await fired(page, 'vm-error');
  assert.match(errs[errs.length - 1].message, /scenario nowhere\/missing\.vms: HTTP 404/);
  await page.context().close();
});

test('a scenario on another site that sends no CORS headers: the element says it could not fetch it and why', { timeout: 60_000 }, async () => {
  // the same files from another origin (another port), without Access-Control-Allow-Origin
  const other = await startServer(wwwDir);
  try {
    const url = `${other.url}scenarios/cow_fork.vms`;
    assert.notEqual(new URL(url).origin, new URL(env.site.url).origin);
    const { page } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
    await page.goto(new URL('embed.html', env.site.url).href);
    await page.waitForFunction(() => [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'));
    // a new element given the URL, and a running one pointed at it
    const messages = await page.evaluate(
      (url) =>
        new Promise((resolve) => {
          const got = [];
          document.addEventListener('vm-error', (e) => {
            got.push(String(e.detail && e.detail.message));
            if (got.length === 2) resolve(got);
          });
          const pg = document.createElement('vm-playground');
          pg.id = 'far';
          pg.setAttribute('label', 'From another site');
          pg.setAttribute('scenario', url);
          document.querySelector('article').prepend(pg);
          document.querySelector('vm-playground:not(#far)').setAttribute('scenario', url);
          setTimeout(() => resolve(got), 15_000);
        }),
      url,
    );
    assert.equal(messages.length, 2, `both said so: ${JSON.stringify(messages)}`);
    for (const m of messages) assert.match(m, /could not be fetched from http:\/\/127\.0\.0\.1:\d+\/scenarios\/cow_fork\.vms .*another site .*CORS: Access-Control-Allow-Origin\), which is the likely reason/);
    // and on the page, not only in an event: in the new element's place, and in the running one's notice
    const far = page.locator('#far .fail');
    await far.waitFor();
    assert.match(await far.textContent(), /could not be fetched.*CORS/);
    const notice = page.locator('vm-playground:not(#far) .notice[role="alert"]');
    await notice.waitFor();
    assert.match(await notice.textContent(), /could not be fetched.*CORS/);
    await screenshot(page, 'embed-scenario-no-cors');
    await page.context().close();
  } finally {
    await other.close();
  }
});

test('readonly: the text cannot change, the views and Step still work', { timeout: 60_000 }, async () => {
  const { page, errors, pg } = await make({ label: 'Read-only', readonly: '' });
  const ta = pg.locator('.ed-ta');
  assert.equal(await ta.evaluate((t) => t.readOnly), true);
  await ta.click();
  await page.keyboard.type('munmap $a 8K\n');
  assert.equal(await page.evaluate(() => document.querySelector('#pg').sessionObject.text), SCENARIO);
  assert.equal(await pg.getByRole('button', { name: 'Open…' }).isVisible(), false, 'no file to open');
  assert.equal(await pg.locator('.con-input').isDisabled(), true, 'no console lines');
  await pg.getByRole('button', { name: 'Step', exact: true }).click();
  assert.equal(await page.evaluate(() => document.querySelector('#pg').sessionObject.pc), 2);
  // a sliced run gives the editor back read-only too
  await pg.getByRole('button', { name: 'Run', exact: true }).click();
  assert.equal(await ta.evaluate((t) => t.readOnly), true);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('step=N starts after the first N lines of the scenario', { timeout: 60_000 }, async () => {
  const { page, errors, pg } = await make({ label: 'Step 2', step: '2' });
  assert.equal(await page.evaluate(() => document.querySelector('#pg').sessionObject.pc), 4, 'the mmap and the first store (a blank line between)');
  assert.match(await pg.locator('.step-info').textContent(), /line 4/);
  assert.deepEqual(await fired(page, 'vm-step'), [], 'the start is not a step: vm-ready says it');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('spoiler: one view until the reader asks for the playground', { timeout: 60_000 }, async () => {
  for (const vp of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const { page, errors, pg } = await make({ label: 'After the first store', spoiler: 'space', step: '2', views: 'editor,space,walk' }, vp);
    const shown = () => page.evaluate(() => [...document.querySelector('#pg').shadowRoot.querySelectorAll('.grid > .panel')].filter((p) => !p.hidden && p.getBoundingClientRect().height > 0).map((p) => p.id));
    assert.deepEqual(await shown(), ['panel-space']);
    assert.equal(await pg.getAttribute('data-spoiler'), 'closed');
    assert.equal(await pg.getByRole('button', { name: 'Step', exact: true }).isVisible(), false, 'no controls yet');
    assert.equal(await pg.locator('.spoiler-title').textContent(), 'After the first store', 'the title heads it');
    // the address space shows the state at the step
    assert.ok((await pg.locator('.as-svg g.entry').count()) >= 1);
    await screenshot(page, `embed-spoiler-${vp.width}`);
    const reveal = pg.getByRole('button', { name: 'Show the whole playground' });
    await reveal.focus();
    await page.keyboard.press('Enter');
    assert.deepEqual(await shown(), ['panel-editor', 'panel-space', 'panel-walk']);
    assert.equal(await pg.getAttribute('data-spoiler'), 'open');
    assert.equal(await pg.getByRole('button', { name: 'Step', exact: true }).isVisible(), true);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});

test('the title: label names the region; without one the element says so', { timeout: 60_000 }, async () => {
  const { page, pg } = await make({ label: 'Lesson 3: the zero page' });
  assert.equal(await pg.getAttribute('aria-label'), 'Lesson 3: the zero page');
  assert.equal(await page.getByRole('region', { name: 'Lesson 3: the zero page' }).count(), 1);
  assert.equal(await pg.locator('.notice').count(), 0);
  await page.context().close();
  const { page: p2, pg: untitled } = await make({});
  assert.match(await untitled.locator('.notice[role="note"]').textContent(), /no title: give it label="…"/);
  await p2.context().close();
});

test('vm-exercise: predict mode reports each answered line; reportExercise is the hook for checkers', { timeout: 60_000 }, async () => {
  const { page, errors, pg } = await make({ label: 'Predict', predict: 'marked' });
  // only lines marked #? are asked: none here, Step steps
  await pg.getByRole('button', { name: 'Step', exact: true }).click();
  assert.equal(await page.evaluate(() => document.querySelector('#pg').sessionObject.pc), 2);
  await page.evaluate(() => document.querySelector('#pg').setScenario('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 1   #? a write to a read-only page\n'));
  await pg.getByRole('button', { name: 'Step', exact: true }).click(); // line 1: not marked
  await pg.getByRole('button', { name: 'Step', exact: true }).click(); // line 2: asked
  await pg.getByLabel('Result').fill('SIGSEGV');
  await pg.getByRole('button', { name: 'Reveal' }).click();
  const ex = await fired(page, 'vm-exercise');
  assert.equal(ex.length, 1);
  assert.equal(ex[0].kind, 'predict');
  assert.equal(ex[0].line, 2);
  assert.deepEqual(ex[0].results, [{ label: 'result', answered: 'SIGSEGV', expected: 'SIGSEGV', passed: true }]);
  assert.equal(ex[0].passed, 1);
  assert.equal(ex[0].total, 1);
  // the hook an expectation checker fills
  const back = await page.evaluate(() => document.querySelector('#pg').reportExercise({ kind: 'expect', results: [{ label: 'line 2 faults', passed: true }, { label: 'no copy', passed: false }] }));
  assert.equal(back.passed, 1);
  const last = (await fired(page, 'vm-exercise')).pop();
  assert.deepEqual({ kind: last.kind, passed: last.passed, total: last.total }, { kind: 'expect', passed: 1, total: 2 });
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('frame.html: the iframe page opens a shared state, read-only and titled as the query says', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 800 } });
  await page.goto(new URL('index.html', env.site.url).href);
  await page.waitForSelector('body[data-ready="1"]');
  await page.evaluate(() => document.querySelector('vm-playground').step());
  const texts = await page.evaluate(() => document.querySelector('vm-playground').shareTexts());
  const src = /src="([^"]+)"/.exec(texts.iframe)[1].replace(/&amp;/g, '&');
  // a course page with the iframe the Share dialog gave
  await page.setContent(`<!doctype html><html lang="en"><title>Course</title><body><h1>Course</h1>${texts.iframe}</body></html>`);
  const frame = page.frameLocator('iframe');
  await frame.locator('body[data-ready="1"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('iframe').getAttribute('title'), 'Virtual-memory playground');
  const inner = page.frames().find((f) => f.url().includes('frame.html'));
  assert.equal(await inner.evaluate(() => document.querySelector('vm-playground').sessionObject.pc), 2);
  assert.equal(await inner.title(), 'Virtual-memory playground — vmplay');
  // readonly and a title from the query
  const ro = new URL(src);
  ro.searchParams.set('title', 'Demand paging');
  ro.searchParams.set('readonly', '');
  await page.goto(ro.href);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.title(), 'Demand paging — vmplay');
  assert.equal(await page.locator('vm-playground').getAttribute('aria-label'), 'Demand paging');
  assert.equal(await page.locator('vm-playground .ed-ta').evaluate((t) => t.readOnly), true);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the new controls fit a 760 px course column, 1024 × 768 and a phone, and are reached by Tab', { timeout: 90_000 }, async () => {
  for (const [vp, column] of [[{ width: 1280, height: 900 }, 760], [{ width: 1024, height: 768 }, null], [{ width: 390, height: 844 }, null]]) {
    const { page, errors, pg } = await make({ label: 'Controls', views: 'editor,space,walk' }, vp);
    if (column) await page.evaluate((w) => (document.querySelector('article').style.maxWidth = `${w}px`), column);
    const got = await page.evaluate(() => {
      const el = document.querySelector('#pg');
      const outer = el.getBoundingClientRect();
      return [...el.shadowRoot.querySelectorAll('.bar button, .ph-tools button')]
        .filter((b) => b.offsetParent !== null)
        .map((b) => {
          const r = b.getBoundingClientRect();
          return { name: b.getAttribute('aria-label') || b.textContent.trim(), inside: r.left >= outer.left - 1 && r.right <= outer.right + 1, w: r.width, h: r.height };
        });
    });
    for (const name of ['Predict', 'Share', 'Export', 'Open…', 'Save']) {
      const c = got.find((x) => x.name === name);
      assert.ok(c, `${vp.width}: ${name} is shown`);
      assert.ok(c.inside, `${vp.width}: ${name} is inside the element`);
      assert.ok(c.w >= 24 && c.h >= 24, `${vp.width}: ${name} is at least 24 × 24 px`);
    }
    // Tab reaches Share from the Step button, and Enter opens its dialog
    await pg.getByRole('button', { name: 'Step', exact: true }).focus();
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.querySelector('#pg').shadowRoot.activeElement?.textContent === 'Share');
    }
    assert.ok(reached, `${vp.width}: Tab reaches Share`);
    await page.keyboard.press('Enter');
    await pg.getByRole('dialog', { name: 'Share' }).waitFor();
    await screenshot(page, `embed-controls-${vp.width}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});
