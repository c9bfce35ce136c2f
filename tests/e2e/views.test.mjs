// Issue 13, item 1: the `views` attribute. "tlb" (documented) broke the
// element with a display error; "walk,tlb" dropped the TLB; an unknown or
// capitalised name, or "console" alone, left an empty box with no message
// and no vm-error event. Each case below is a playground made in a course
// page (embed.html). Needs `make build`. Screenshots in test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, screenshot } from './harness.mjs';

const env = siteAndBrowser();

const SCENARIO = '$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 1\nload $a+4K\n';

/** Make <vm-playground views=VIEWS> in embed.html; wait for vm-ready or vm-error. */
async function make(page, views) {
  return page.evaluate(
    ({ views, text }) =>
      new Promise((resolve) => {
        for (const old of document.querySelectorAll('vm-playground')) old.remove();
        const pg = document.createElement('vm-playground');
        pg.setAttribute('views', views);
        pg.setAttribute('frames', '1024');
        pg.setAttribute('autorun', '');
        pg.setAttribute('scenario', text);
        pg.style.height = '560px';
        const got = { errors: [], ready: false };
        pg.addEventListener('vm-error', (e) => got.errors.push(String(e.detail && e.detail.message)));
        pg.addEventListener('vm-ready', () => {
          got.ready = true;
          // give a late vm-error a moment
          setTimeout(() => resolve(got), 50);
        });
        document.querySelector('article').prepend(pg);
        setTimeout(() => resolve(got), 10_000);
      }),
    { views, text: SCENARIO },
  );
}

/** The panels shown, each with its size and whether it has content. */
const shown = (page) =>
  page.evaluate(() =>
    [...document.querySelector('vm-playground').shadowRoot.querySelectorAll('section.panel')]
      .filter((p) => !p.hidden)
      .map((p) => {
        const r = p.getBoundingClientRect();
        return { id: p.id.replace('panel-', ''), w: Math.round(r.width), h: Math.round(r.height), text: p.innerText.length };
      }),
  );

const stepInfo = (page) => page.evaluate(() => document.querySelector('vm-playground').shadowRoot.querySelector('.step-info').textContent);

test('views: each documented name and combination shows its panels, drawn, with no error', { timeout: 90_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 800 } });
  await page.goto(new URL('embed.html', env.site.url).href);
  for (const [views, want] of [
    ['tlb', ['tlb']],
    ['space,tlb', ['space', 'tlb']],
    ['editor,tlb', ['editor', 'tlb']],
    ['walk,tlb', ['walk', 'tlb']],
    ['console', ['console']],
    ['editor, memory events', ['editor', 'memory', 'events']],
    ['Editor,Space', ['editor', 'space']],
  ]) {
    const got = await make(page, views);
    assert.ok(got.ready, `${views}: ready`);
    assert.deepEqual(got.errors, [], `${views}: no vm-error`);
    const panels = await shown(page);
    assert.deepEqual(panels.map((p) => p.id).sort(), [...want].sort(), `${views}: the panels shown`);
    for (const p of panels) {
      assert.ok(p.w > 150 && p.h > 150, `${views}: panel ${p.id} has room (${p.w}×${p.h})`);
      assert.ok(p.text > 20, `${views}: panel ${p.id} is drawn`);
    }
    assert.doesNotMatch(await stepInfo(page), /display error/, `${views}: no display error`);
    assert.match(await stepInfo(page), /line 3/, `${views}: the scenario ran`);
    if (want.includes('tlb')) {
      const slots = await page.locator('vm-playground .tlb-slot:not(.empty)').count();
      assert.ok(slots >= 1, `${views}: the TLB shows the translations the run cached`);
    }
    await screenshot(page, `views-${views.replace(/[^a-z]+/gi, '-')}`);
  }
  // console alone works
  await make(page, 'console');
  await page.locator('vm-playground .con-input').fill('maps');
  await page.locator('vm-playground .con-input').press('Enter');
  assert.match(await page.locator('vm-playground .con-log').textContent(), /0x300000000000-0x300000002000 rw-p/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('views: an unknown name is said on the element and in a vm-error event, never an empty box', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 800 } });
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  await page.goto(new URL('embed.html', env.site.url).href);
  for (const [views, want] of [
    ['bogus', null],
    ['editor,bogus,tlbs', ['editor']],
  ]) {
    const got = await make(page, views);
    assert.equal(got.errors.length, 1, `${views}: one vm-error`);
    assert.match(got.errors[0], /bogus/);
    const notice = page.locator('vm-playground .notice[role="alert"]');
    assert.match(await notice.textContent(), /no panels? (is|are) named “bogus”.*The panels are editor, console, space, walk, tlb, memory, events/);
    const panels = await shown(page);
    if (want) assert.deepEqual(panels.map((p) => p.id), want);
    else assert.ok(panels.length >= 5, `${views}: with no name known, every panel is shown`);
    for (const p of panels) assert.ok(p.h > 100, `${views}: panel ${p.id} has room`);
    await screenshot(page, `views-${views.replace(/[^a-z]+/gi, '-')}`);
  }
  assert.ok(warnings.some((w) => /bogus/.test(w)), 'the developer console says it too');
  assert.deepEqual(errors, []);
  await page.context().close();
});
