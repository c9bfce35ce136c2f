// Issue 13, items 3, 5 and 7: layouts a class meets. At 1440 and 1920 px the
// editor is wide enough for every example line, its comment and its result. At a projector's
// 1024 × 768, in a 760 px course column of a teacher-given height, and on a
// 390 px phone, the editor and the view that changes on Step (the address
// space) are on the first screen together; the teacher's height wins over
// the element's own; on a phone every control of the bar is on screen, no
// tap target is under 24 px and no Ctrl/Alt hint shows; the physical-memory
// map shows every frame at 256 MiB and 1 GiB. Screenshots in test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { siteAndBrowser, newPage, openPlayground, screenshot, button, loadExample, wwwDir } from './harness.mjs';

const env = siteAndBrowser();

/** The box of a panel of the first playground, in the viewport. */
const box = (page, panel, which = 'vm-playground') =>
  page.evaluate(
    ({ panel, which }) => {
      const r = document.querySelector(which).shadowRoot.querySelector(`.p-${panel}`).getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right };
    },
    { panel, which },
  );

/** Whether at least `px` of the box's height and most of its width are in the viewport. */
function onScreen(b, vp, px = 180) {
  const top = Math.max(0, b.y);
  const bottom = Math.min(vp.height, b.bottom);
  return bottom - top >= px && b.x >= -1 && b.right <= vp.width + 1;
}

async function stepAndCheck(page, vp, name, which = 'vm-playground') {
  const ed = await box(page, 'editor', which);
  const sp = await box(page, 'space', which);
  assert.ok(onScreen(ed, vp), `${name}: the editor is on the first screen (${JSON.stringify(ed)})`);
  assert.ok(onScreen(sp, vp), `${name}: the address space is on the first screen with it (${JSON.stringify(sp)})`);
  assert.ok(ed.w >= 240, `${name}: the editor is ${ed.w} px wide`);
}

test('1024 × 768 (a projector): the editor and the address space side by side', { timeout: 60_000 }, async () => {
  const vp = { width: 1024, height: 768 };
  const { page, errors } = await openPlayground(env.browser, env.site, vp);
  await button(page, 'Step').click();
  await stepAndCheck(page, vp, '1024×768');
  const ed = await box(page, 'editor');
  const sp = await box(page, 'space');
  assert.ok(Math.abs(ed.y - sp.y) < 2, 'in one row');
  await screenshot(page, 'layout-1024x768');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a 760 px course column with a teacher-given height of 480 px', { timeout: 60_000 }, async () => {
  const vp = { width: 1280, height: 900 };
  const { page, errors } = await newPage(env.browser, { viewport: vp });
  await page.goto(new URL('embed.html', env.site.url).href);
  await page.waitForSelector('#lesson-fork[data-ready="1"]');
  await page.evaluate(() => {
    document.querySelector('article').style.maxWidth = '760px';
    const pg = document.querySelector('#lesson-fork');
    pg.style.height = '480px';
    pg.scrollIntoView();
  });
  const h = await page.evaluate(() => document.querySelector('#lesson-fork').getBoundingClientRect().height);
  assert.equal(h, 480, 'the teacher’s height wins over the element’s min-height');
  await stepAndCheck(page, vp, '760 px column', '#lesson-fork');
  const fork = page.locator('#lesson-fork');
  await fork.getByRole('button', { name: 'Step', exact: true }).click();
  await stepAndCheck(page, vp, '760 px column after a step', '#lesson-fork');
  await page.locator('#lesson-fork').screenshot({ path: (await screenshot(page, 'layout-760-column-page')).replace('-page.png', '.png') });
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a 390 px phone: editor and address space on the first screen, the whole bar on screen, 24 px targets, no key hints', { timeout: 60_000 }, async () => {
  const vp = { width: 390, height: 844 };
  const { page, errors } = await newPage(env.browser, { viewport: vp, isMobile: true, hasTouch: true });
  await page.goto(new URL('index.html', env.site.url).href);
  await page.waitForSelector('body[data-ready="1"]');
  await button(page, 'Step').tap();
  await stepAndCheck(page, vp, '390 phone');
  // every control of the bar is inside the screen, and no target is under 24 px
  const controls = await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    return [...root.querySelectorAll('.bar button, .bar select, .tab, .fchip, .btn, .out-sum')]
      .filter((el) => el.offsetParent !== null)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { name: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 20), x: r.x, right: r.right, w: r.width, h: r.height, inBar: !!el.closest('.bar') };
      });
  });
  for (const c of controls.filter((c) => c.inBar)) assert.ok(c.x >= 0 && c.right <= vp.width, `${c.name} is on screen (${c.x}-${c.right})`);
  const small = controls.filter((c) => c.w < 24 || c.h < 24);
  assert.deepEqual(small, [], 'no target under 24 × 24 px');
  assert.ok(controls.some((c) => c.name === 'TLB geometry'), 'the TLB menu is there');
  // no Ctrl/Alt hints on a touch screen
  const hints = await page.evaluate(() =>
    [...document.querySelector('vm-playground').shadowRoot.querySelectorAll('.ed-keys, .kbd-only')].filter((el) => el.offsetParent !== null).length,
  );
  assert.equal(hints, 0);
  await screenshot(page, 'layout-390-phone');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the physical-memory map shows every frame at 256 MiB and 1 GiB', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1440, height: 900 });
  for (const [frames, label] of [[65536, '256MiB'], [262144, '1GiB']]) {
    await page.locator('vm-playground select[aria-label="Physical memory size"]').selectOption(String(frames));
    await page.evaluate(() => document.querySelector('vm-playground').run());
    // geometry, heading and text alternative read together once layout has
    // settled (the box's size, and so the cell size, may change in the
    // frame after the run: the view redraws on its resize)
    const g = await page.evaluate(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      await frame();
      await frame();
      const pg = document.querySelector('vm-playground');
      const wrap = pg.shadowRoot.querySelector('.pm-wrap').getBoundingClientRect();
      const cv = pg.shadowRoot.querySelector('.pm-canvas').getBoundingClientRect();
      return {
        ...pg.phys.g,
        wrapW: wrap.width,
        wrapH: wrap.height,
        cvW: cv.width,
        cvH: cv.height,
        heading: pg.shadowRoot.querySelector('.pm-size').textContent,
        label: pg.shadowRoot.querySelector('.pm-canvas').getAttribute('aria-label'),
      };
    });
    assert.ok(g.cells * g.per >= frames, `${label}: every frame is in a cell`);
    assert.ok(g.rows * g.cell <= g.wrapH, `${label}: every row is in the box (${g.rows} rows of ${g.cell} px in ${g.wrapH})`);
    assert.ok(g.cvW >= g.wrapW * 0.5, `${label}: the map uses the width of its box (${g.cvW} of ${g.wrapW})`);
    if (g.per > 1) {
      // a cell for a group of frames says so, on screen and to a screen reader
      assert.match(g.heading, new RegExp(`${g.per} frames a cell`));
      assert.match(g.label, new RegExp(`Each cell is ${g.per} frames`));
    }
    if (frames === 262144) assert.ok(g.per > 1, '1 GiB does not fit one pixel a frame here');
    // a click picks a frame of the cell under the pointer
    await page.locator('vm-playground .pm-canvas').click({ position: { x: 12, y: 12 } });
    assert.match(await page.locator('vm-playground .pm-detail').textContent(), /^frame \d+/);
    await screenshot(page, `layout-physmem-${label}`);
  }
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('at 1440 and 1920 px the editor shows every example line whole, comments and results too', { timeout: 180_000 }, async () => {
  const examples = JSON.parse(fs.readFileSync(path.join(wwwDir, 'scenarios', 'index.json'), 'utf8'));
  const files = (Array.isArray(examples) ? examples : examples.scenarios || examples.examples).map((e) => e.file);
  assert.ok(files.length >= 10, `the gallery lists ${files.length} examples`);
  for (const vp of [{ width: 1440, height: 900 }, { width: 1920, height: 1080 }]) {
    const { page, errors } = await openPlayground(env.browser, env.site, vp);
    const cut = [];
    let widest = 0;
    for (const file of files) {
      const text = await loadExample(page, file);
      widest = Math.max(widest, ...text.split('\n').map((l) => l.length));
      await page.evaluate(() => document.querySelector('vm-playground').run());
      const got = await page.evaluate(() => {
        const root = document.querySelector('vm-playground').shadowRoot;
        const ta = root.querySelector('.ed-ta');
        // the widest line against the text box: wider would scroll sideways (no wrap)
        const over = ta.scrollWidth - ta.clientWidth;
        // every result cell drawn, against its column (an ellipsis cuts
        // it): an address, a value, an errno are whole; a long mincore or
        // pagemap vector is whole in the output pane
        const results = [];
        const pane = root.querySelector('.out-list').textContent;
        for (const r of root.querySelectorAll('.ed-res .rl')) {
          const t = r.textContent.trim();
          if (r.scrollWidth <= r.clientWidth) continue;
          if (t.length > 20 && pane.includes(t.replace(/ \+\d+$/, ''))) continue;
          results.push(`line ${r.dataset.line}: ${t}`);
        }
        return { over, results, ed: root.querySelector('.p-editor').getBoundingClientRect().width };
      });
      if (got.over > 0) cut.push(`${file}: the longest line is ${got.over} px wider than the editor (${got.ed} px)`);
      for (const r of got.results) cut.push(`${file}: result cut short, ${r}`);
    }
    assert.deepEqual(cut, [], `${vp.width} px: nothing cut`);
    // and the lines are the long ones the issue met (~84 columns and more)
    assert.ok(widest >= 90, `the widest example line has ${widest} columns`);
    await loadExample(page, 'netbsd_loan.vms');
    await screenshot(page, `layout-editor-${vp.width}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});
