// Issue 13, items 8 and 9 and the accessibility check: axe-core (npm,
// devDependency) run in the real browser on the main page and on an embed,
// in the light and the dark theme, in the states a student reaches (steps
// taken, the walk with its PTE bits, the TLB tab, the event log). No
// serious or critical violation, and every text run axe measures at least
// 4.5:1. Also: a Step does not flood the live regions, the event log's
// step groups are not landmarks, the process lanes are not a broken
// tablist. Needs `make build`; screenshots in test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { siteAndBrowser, newPage, screenshot, repoRoot, button } from './harness.mjs';

const env = siteAndBrowser();
const AXE = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');

/** axe on the page: serious/critical violations, and text under 4.5:1. */
async function audit(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations', 'passes'] });
    const bad = r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} ${(n.any[0] && n.any[0].message) || ''}`.slice(0, 200)).join(' | ')}`);
    const low = [];
    for (const kind of ['violations', 'passes']) {
      for (const v of r[kind].filter((x) => x.id === 'color-contrast')) {
        for (const n of v.nodes) {
          const d = n.any[0] && n.any[0].data;
          if (d && d.contrastRatio && d.contrastRatio < 4.5) low.push(`${n.target.join(' ')}: ${d.contrastRatio} (${d.fgColor} on ${d.bgColor})`);
        }
      }
    }
    return { bad, low };
  });
}

const ready = (page) => page.waitForFunction(() => [...document.querySelectorAll('vm-playground')].every((p) => p.dataset.ready === '1'), null, { timeout: 30_000 });

for (const scheme of ['light', 'dark']) {
  test(`axe: the main page, ${scheme}, in the states a student reaches`, { timeout: 120_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: { width: 1440, height: 900 }, colorScheme: scheme });
    await page.goto(new URL('index.html', env.site.url).href);
    await ready(page);
    const found = { bad: [], low: [] };
    const add = (r, where) => {
      found.bad.push(...r.bad.map((x) => `${where}: ${x}`));
      found.low.push(...r.low.map((x) => `${where}: ${x}`));
    };
    add(await audit(page), 'fresh');
    for (let i = 0; i < 7; i++) await button(page, 'Step').click();
    add(await audit(page), 'after 7 steps (walk)');
    await page.locator('vm-playground #tab-tlb').click();
    add(await audit(page), 'TLB tab');
    await button(page, 'Run').click();
    add(await audit(page), 'at the end');
    await screenshot(page, `axe-main-${scheme}`);
    assert.deepEqual(found.bad, [], 'no serious or critical violation');
    assert.deepEqual(found.low, [], 'every text at least 4.5:1');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test(`axe: an embed (www/embed.html), ${scheme}`, { timeout: 90_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: { width: 1280, height: 900 }, colorScheme: scheme });
    await page.goto(new URL('embed.html', env.site.url).href);
    await ready(page);
    const r = await audit(page);
    await screenshot(page, `axe-embed-${scheme}`);
    assert.deepEqual(r.bad, []);
    assert.deepEqual(r.low, []);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test('a Step puts a sentence, not a page, into the live regions; no step landmarks; the process lanes are toggle buttons', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1440, height: 900 } });
  await page.goto(new URL('index.html', env.site.url).href);
  await ready(page);
  for (let i = 0; i < 3; i++) await button(page, 'Step').click();
  // count the characters that change inside live regions (explicit or implicit) on one Step
  await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    window.__live = 0;
    const live = (el) => {
      for (let e = el; e && e !== root; e = e.parentNode) {
        if (e.nodeType !== 1) continue;
        const al = e.getAttribute('aria-live');
        if (al === 'off') return false;
        if (al === 'polite' || al === 'assertive') return true;
        if (['status', 'log', 'alert'].includes(e.getAttribute('role'))) return true;
      }
      return false;
    };
    new MutationObserver((ms) => {
      for (const m of ms) {
        const target = m.type === 'characterData' ? m.target.parentNode : m.target;
        if (!live(target)) continue;
        for (const n of m.addedNodes || []) window.__live += (n.textContent || '').length;
        if (m.type === 'characterData') window.__live += m.target.data.length;
      }
    }).observe(root, { subtree: true, childList: true, characterData: true });
  });
  await button(page, 'Step').click();
  const chars = await page.evaluate(() => window.__live);
  assert.ok(chars < 300, `one Step put ${chars} characters into live regions`);
  // the event log's steps are groups, not landmarks
  const landmarks = await page.evaluate(() => document.querySelector('vm-playground').shadowRoot.querySelectorAll('.ev-list section, .ev-list [role="region"]').length);
  assert.equal(landmarks, 0);
  // the process lanes: no tablist (there are no tab panels), toggle buttons that say which is selected
  await button(page, 'Run').click();
  const lanes = page.locator('vm-playground').getByRole('group', { name: 'Processes' });
  assert.equal(await page.locator('vm-playground [role="tablist"] [aria-label="Processes"], vm-playground .as-lanes[role="tablist"]').count(), 0);
  const pressed = await lanes.getByRole('button', { pressed: true }).count();
  assert.equal(pressed, 1);
  // the one tablist left (walk / TLB) holds only tabs, each with its panel
  const tabs = await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    return [...root.querySelectorAll('[role="tablist"]')].map((tl) => ({
      nonTabs: [...tl.children].filter((c) => c.getAttribute('role') !== 'tab').length,
      orphan: [...tl.querySelectorAll('[role="tab"]')].filter((t) => !root.getElementById(t.getAttribute('aria-controls'))).length,
    }));
  });
  assert.deepEqual(tabs, [{ nonTabs: 0, orphan: 0 }]);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('one colour meaning per hue: no two meanings share a hue across the views', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1440, height: 900 } });
  await page.goto(new URL('index.html', env.site.url).href);
  await ready(page);
  const uses = await page.evaluate(async () => {
    const pal = await import(new URL('web/palette.js', document.baseURI).href);
    const { LEVELS } = await import(new URL('web/views/walk.js', document.baseURI).href);
    const out = [];
    const kindMeaning = { anon: 'anonymous memory', shmem: 'shared memory', file: 'files', memfd: 'memfd' };
    for (const [k, b] of Object.entries(pal.BACKING)) out.push([b.color, kindMeaning[k], `map entry ${k}`]);
    const frameMeaning = { anon: 'anonymous memory', cache: 'files', 'page-table': 'page tables', zero: 'zero page', free: 'free', loaned: 'pages on loan' };
    for (const k of pal.FRAME_KINDS) out.push([k.color, frameMeaning[k.name], `frame ${k.name}`]);
    for (const L of LEVELS) out.push([L.color, 'page tables', `level ${L.name}`]);
    // the event log's colours, as drawn
    const root = document.querySelector('vm-playground').shadowRoot;
    const list = root.querySelector('.ev-list');
    const evMeaning = { 'ev-fault': 'faults', 'ev-signal': 'faults', 'ev-resolved': 'event resolved', 'ev-frame': 'event frame', 'ev-table': 'page tables', 'ev-tlb': 'event tlb', 'ev-sys': 'event syscall', 'ev-map': 'event map' };
    for (const [cls, meaning] of Object.entries(evMeaning)) {
      const b = document.createElement('button');
      b.className = `ev ${cls}`;
      list.append(b);
      out.push([getComputedStyle(b).borderLeftColor, meaning, cls]);
      b.remove();
    }
    const host = getComputedStyle(document.querySelector('vm-playground'));
    out.push([host.getPropertyValue('--bad').trim(), 'faults', '--bad (failures)']);
    out.push([host.getPropertyValue('--good').trim(), 'success', '--good']);
    return out;
  });
  const rgb = (c) => {
    if (c.startsWith('#')) {
      const n = parseInt(c.slice(1), 16);
      return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    }
    return c.match(/\d+/g).slice(0, 3).map(Number);
  };
  const hsl = ([r, g, b]) => {
    [r, g, b] = [r / 255, g / 255, b / 255];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const l = (max + min) / 2;
    const d = max - min;
    if (!d) return { h: 0, s: 0, l };
    const s = d / (1 - Math.abs(2 * l - 1));
    const h = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    return { h: h * 60, s, l };
  };
  const hued = uses.map(([c, meaning, what]) => ({ c, meaning, what, ...hsl(rgb(c)) })).filter((u) => u.s >= 0.25 && u.l > 0.12 && u.l < 0.92);
  const clashes = [];
  for (let i = 0; i < hued.length; i++) {
    for (let j = i + 1; j < hued.length; j++) {
      const a = hued[i];
      const b = hued[j];
      const dh = Math.min(Math.abs(a.h - b.h), 360 - Math.abs(a.h - b.h));
      if (a.meaning !== b.meaning && dh < 12) clashes.push(`${a.what} (${a.meaning}, ${a.c}) and ${b.what} (${b.meaning}, ${b.c}) share a hue`);
    }
  }
  assert.deepEqual(clashes, []);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the dark theme darkens the free frames of the memory map and the empty pages of the grid', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  await page.goto(new URL('index.html', env.site.url).href);
  await ready(page);
  for (let i = 0; i < 4; i++) await button(page, 'Step').click();
  const got = await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    const root = pg.shadowRoot;
    const cv = root.querySelector('.pm-canvas');
    // the last frame is free: the centre of its cell
    const { cols, cell, per } = pg.phys.g;
    const n = pg.session.machine.frameCount();
    const c = Math.floor((n - 1) / per);
    const dpr = window.devicePixelRatio || 1;
    const x = Math.round((7 + (c % cols) * cell + cell / 2) * dpr);
    const y = Math.round((7 + Math.floor(c / cols) * cell + cell / 2) * dpr);
    const [r, g, b] = cv.getContext('2d').getImageData(x, y, 1, 1).data;
    const empty = [...root.querySelectorAll('.page-grid g.page')].find((g) => g.dataset.state === '0');
    const fill = empty ? getComputedStyle(empty.querySelector('rect')).fill : null;
    return { free: [r, g, b], fill };
  });
  const lum = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  assert.ok(lum(got.free) < 0.3, `a free frame is dark: rgb(${got.free})`);
  assert.ok(got.fill && lum(got.fill.match(/\d+/g).map(Number)) < 0.3, `an empty page is dark: ${got.fill}`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

// Issue 14: the controls it added (Share, Export, Predict, the spoiler embed), open, in both themes.
for (const scheme of ['light', 'dark']) {
  test(`axe: the Share and Export dialogs, the predict panel and a spoiler embed, ${scheme}`, { timeout: 120_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 }, colorScheme: scheme });
    await page.goto(new URL('index.html', env.site.url).href);
    await ready(page);
    const pg = page.locator('vm-playground');
    const found = [];
    const add = (r, where) => found.push(...r.bad.map((x) => `${where}: ${x}`), ...r.low.map((x) => `${where}: contrast ${x}`));
    await pg.getByRole('button', { name: 'Predict', exact: true }).click();
    await button(page, 'Step').click();
    add(await audit(page), 'predict question');
    await pg.getByRole('button', { name: 'Reveal' }).click();
    add(await audit(page), 'predict marks');
    await pg.getByRole('button', { name: 'Share', exact: true }).click();
    await pg.getByRole('dialog', { name: 'Share' }).getByLabel('Link', { exact: true }).waitFor();
    add(await audit(page), 'share dialog');
    await page.keyboard.press('Escape');
    await pg.getByRole('button', { name: 'Export', exact: true }).click();
    add(await audit(page), 'export dialog');
    await page.keyboard.press('Escape');
    await screenshot(page, `axe-share-${scheme}`);
    await page.mouse.move(0, 0); // no button left hovered (its colour fades back over 0.12 s)
    await page.goto(new URL('embed.html', env.site.url).href);
    await ready(page);
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const el = document.createElement('vm-playground');
          el.setAttribute('label', 'A spoiler');
          el.setAttribute('spoiler', '');
          el.setAttribute('step', '2');
          el.setAttribute('views', 'editor,space');
          el.style.height = '400px';
          el.addEventListener('vm-ready', resolve, { once: true });
          document.querySelector('article').prepend(el);
        }),
    );
    add(await audit(page), 'spoiler embed');
    assert.deepEqual(found, []);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}
