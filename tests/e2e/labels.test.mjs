// Issue 13, item 13 (smaller): what the page writes, written one way and
// whole. One address format everywhere (0x300000001000, as the scenario
// language and its results write it; no 0x3000_0000_1000 beside it), one
// convention for counts (262,144: a comma every three digits), numbers of
// pages 1-based everywhere; lane heads and entry labels that fit their lane
// whole or are only read out (the title keeps all of it),
// never cut or run into the next lane; the addresses at the edges of a
// zoomed view not drawn over the axis's own labels. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, openPlayground, screenshot } from './harness.mjs';

const env = siteAndBrowser();

/** Every piece of text of the playground a person can see or hear: text nodes, SVG text, labels, titles. */
const ALL_TEXT = () => {
  const root = document.querySelector('vm-playground').shadowRoot;
  const out = [];
  const walk = (n) => {
    for (const c of n.childNodes) {
      if (c.nodeType === 3) out.push(c.data);
      else if (c.nodeType === 1) {
        for (const a of ['aria-label', 'title', 'placeholder']) if (c.hasAttribute(a)) out.push(c.getAttribute(a));
        walk(c);
      }
    }
  };
  walk(root);
  return out.join('\n');
};

test('one address format, one way of writing counts, pages counted from 1', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1440, height: 900 });
  await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    pg.session.configure({ frames: 16384 });
    // a 64 MiB entry of 16,384 pages, half of them touched; the first page selected
    pg.setScenario('$a = mmap $arena 64M PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nfill $a 32M 1\nfork p2\nload $a\n');
    pg.run();
  });
  // the lanes are zoomed in too, so that the axis shows addresses at the view's edges
  await page.evaluate(() => document.querySelector('vm-playground').space.setZoom(8));
  await page.waitForTimeout(300);
  const text = await page.evaluate(ALL_TEXT);
  // addresses: hex, never grouped with underscores
  const grouped = text.match(/0x[0-9a-f]+_[0-9a-f_]+/g) || [];
  assert.deepEqual(grouped, [], 'no address is written 0x3000_0000_0000');
  assert.match(text, /0x300000000000/);
  // counts of 1,000 and more have their commas, wherever a count is written
  const counts = await page.evaluate(() => {
    const root = document.querySelector('vm-playground').shadowRoot;
    const t = (sel) => [...root.querySelectorAll(sel)].map((e) => e.textContent);
    return {
      size: t('.pm-size'),
      legend: t('.pm-legend .lg b'),
      map: root.querySelector('.pm-canvas').getAttribute('aria-label'),
      resident: t('dd.resident'),
      pager: t('.pager span'),
      grid: root.querySelector('svg.page-grid').getAttribute('aria-label'),
      desc: t('.page-desc'),
      output: t('.out-count'),
    };
  });
  const bare = (s) => (s.match(/\b\d{4,}\b/g) || []).filter((n) => !/^0x/.test(n));
  for (const [where, v] of Object.entries(counts)) {
    for (const s of [].concat(v)) assert.deepEqual(bare(s), [], `${where}: “${s}” writes its counts with commas`);
  }
  assert.match(counts.size[0], /^16,384 frames · 64 MiB/);
  assert.match(counts.map, /^Physical memory: 16,384 frames of 4 KiB; [\d,]+ free, [\d,]+ anonymous/);
  assert.match(counts.resident[0], /^8,192 of 16,384/);
  // pages counted from 1: the pager, the grid's label and the page's line agree
  assert.equal(counts.pager[0], 'pages 1–1,024 of 16,384');
  assert.match(counts.grid, /^Pages 1 to 1,024 of 16,384 of the entry/);
  assert.match(counts.desc[0], /^Page 1 of 16,384, 0x300000000000: /);
  await page.locator('vm-playground .pager button').last().click();
  assert.equal(await page.locator('vm-playground .pager span').textContent(), 'pages 1,025–2,048 of 16,384');
  await screenshot(page, 'labels-numbers');
  assert.deepEqual(errors, []);
  await page.context().close();
});

/** In the page: lane heads, entry labels and the legend, each against the room it has. */
const CUT = () => {
  const root = document.querySelector('vm-playground').shadowRoot;
  const cut = [];
  for (const head of root.querySelectorAll('.as-lane-head')) {
    const hb = head.getBoundingClientRect();
    for (const part of head.querySelectorAll('span:not(.sr-only)')) {
      const b = part.getBoundingClientRect();
      if (part.scrollWidth > part.clientWidth + 1 && getComputedStyle(part).display !== 'inline') cut.push(`lane head ${head.dataset.pid}: “${part.textContent}” is cut`);
      if (b.right > hb.right + 1 || b.left < hb.left - 1) cut.push(`lane head ${head.dataset.pid}: “${part.textContent}” runs out of its head`);
    }
    // what has no room is still read out (and in the title)
    const said = head.textContent;
    if (!said.includes(`pid ${head.dataset.pid}`) || !/\d+ (entry|entries)/.test(said) || !/\d+(\.\d+)? [KMGT]?i?B/.test(said)) cut.push(`lane head ${head.dataset.pid} does not read out all of “${head.title}”: “${said}”`);
  }
  for (const g of root.querySelectorAll('.as-svg g.entry')) {
    const body = g.querySelector('.entry-body').getBBox();
    for (const t of g.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.x < body.x - 0.5 || b.x + b.width > body.x + body.width + 0.5) cut.push(`entry ${g.dataset.pid}:${g.dataset.start}: “${t.textContent}” runs out of its entry (${Math.round(b.x)}+${Math.round(b.width)} in ${Math.round(body.x)}+${Math.round(body.width)})`);
    }
  }
  const legend = root.querySelector('.legend-inline');
  if (legend && legend.offsetParent) {
    const lb = legend.getBoundingClientRect();
    for (const item of legend.querySelectorAll('.lg')) {
      const b = item.getBoundingClientRect();
      const inside = b.top >= lb.top - 1 && b.bottom <= lb.bottom + 1;
      const clipped = b.right > lb.right + 1;
      // an item is shown whole or not at all (it wraps out of sight)
      if (inside && clipped) cut.push(`legend item “${item.textContent}” is cut`);
    }
  }
  return cut;
};

const FOUR = '$a = mmap $arena 64K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 1\nfork p2\nfork p3\np2: fork p4\n$b = mmap $arena+1M 8K PROT_READ MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED -1 0\n';

for (const [name, vp, mobile] of [
  ['1024 × 768', { width: 1024, height: 768 }],
  ['1440 × 900', { width: 1440, height: 900 }],
  ['a 390 px phone', { width: 390, height: 844 }, true],
]) {
  test(`${name}: four processes' lane heads and entry labels are whole or left out, never cut`, { timeout: 60_000 }, async () => {
    const { page, errors } = await newPage(env.browser, { viewport: vp, isMobile: !!mobile, hasTouch: !!mobile });
    await page.goto(new URL('index.html', env.site.url).href);
    await page.waitForSelector('body[data-ready="1"]');
    await page.evaluate((text) => {
      const pg = document.querySelector('vm-playground');
      pg.setScenario(text);
      pg.run();
    }, FOUR);
    await page.waitForTimeout(300);
    assert.equal(await page.locator('vm-playground .as-lane-head').count(), 4);
    assert.deepEqual(await page.evaluate(CUT), []);
    // each head still names its process on screen
    assert.deepEqual(await page.locator('vm-playground .as-lane-head .proc-name').evaluateAll((els) => els.map((e) => e.textContent.split(' ')[0])), ['p1', 'p2', 'p3', 'p4']);
    await screenshot(page, `labels-lanes-${vp.width}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test('zoomed in, the addresses at the view’s edges are not drawn over the axis labels', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1024, height: 768 });
  await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    // many small entries, so that the axis has a label every few pixels at every zoom
    const lines = [];
    for (let i = 0; i < 40; i++) lines.push(`mmap $arena+${i * 12}K 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0`);
    pg.setScenario(lines.join('\n') + '\n');
    pg.run();
  });
  const overlaps = [];
  let checked = 0;
  for (const zoom of [2, 5, 40, 300, 2000]) {
    for (const at of [0, 0.25, 0.5, 0.75, 1]) {
      const got = await page.evaluate(
        ({ zoom, at }) => {
          const pg = document.querySelector('vm-playground');
          pg.space.setZoom(zoom);
          const sc = pg.space.scroller;
          sc.scrollTop = at * (sc.scrollHeight - sc.clientHeight);
          sc.dispatchEvent(new Event('scroll'));
          pg.space.draw();
          const texts = [...pg.shadowRoot.querySelectorAll('.as-svg text.tick-label, .as-svg text.edge-label')].map((t) => {
            const b = t.getBBox();
            return { text: t.textContent, cls: t.getAttribute('class'), x: b.x, y: b.y, w: b.width, h: b.height };
          });
          const bad = [];
          for (let i = 0; i < texts.length; i++) {
            for (let j = i + 1; j < texts.length; j++) {
              const a = texts[i];
              const b = texts[j];
              const meet = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h - 1 && b.y < a.y + a.h - 1;
              if (meet) bad.push(`${a.cls} ${a.text} over ${b.cls} ${b.text}`);
            }
          }
          return { bad, edges: texts.filter((t) => t.cls === 'edge-label').length };
        },
        { zoom, at },
      );
      if (got.edges) checked++;
      for (const b of got.bad) overlaps.push(`zoom ${zoom}, scrolled ${at}: ${b}`);
    }
  }
  assert.ok(checked >= 10, `edge labels were drawn in ${checked} of the views`);
  assert.deepEqual(overlaps, []);
  await screenshot(page, 'labels-zoomed');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the step bar shows the result before the counts; a count is shown whole or not at all', { timeout: 60_000 }, async () => {
  for (const vp of [{ width: 1440, height: 900 }, { width: 1920, height: 1080 }, { width: 1024, height: 768 }]) {
    const { page, errors } = await openPlayground(env.browser, env.site, vp);
    await page.evaluate(() => {
      const pg = document.querySelector('vm-playground');
      pg.setScenario('$a = mmap $arena 64K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 1\nfork p2\np2: store $a 2\n');
      pg.run();
    });
    const got = await page.evaluate(() => {
      const root = document.querySelector('vm-playground').shadowRoot;
      const res = root.querySelector('.step-info .si-res');
      const extra = root.querySelector('.step-info .si-extra').getBoundingClientRect();
      const counts = [...root.querySelectorAll('.step-info .si-extra > span:not(.si-start)')].map((s) => {
        const b = s.getBoundingClientRect();
        const inside = b.left >= extra.left - 0.5 && b.right <= extra.right + 0.5 && b.top >= extra.top - 0.5 && b.bottom <= extra.bottom + 0.5;
        const outside = b.right <= extra.left + 0.5 || b.left >= extra.right - 0.5 || b.top >= extra.bottom - 0.5 || b.bottom <= extra.top + 0.5;
        return { text: s.textContent, inside, outside };
      });
      return { res: res.textContent, whole: res.scrollWidth <= res.clientWidth, counts };
    });
    assert.equal(got.res, 'store ok');
    assert.ok(got.whole, `${vp.width} px: the result “${got.res}” is whole`);
    for (const c of got.counts) assert.ok(c.inside || c.outside, `${vp.width} px: “${c.text}” is shown whole or not at all`);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});
