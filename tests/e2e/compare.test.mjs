// Issue 10, item 5: the kernels side by side (www/compare.html, <vm-compare>)
// and the kernel of a playground (the personality attribute, the main
// page's control, a scenario's personality line). What is asserted holds
// whatever the BSD personalities answer for mmap and friends: a line one
// kernel does not offer (`minherit` under Linux) against one it does, the
// layout, axe. The MADV_DONTNEED difference, which needs the FreeBSD
// personality's madvise, is in compare-bsd.test.mjs.
// Needs `make build`; screenshots in test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { siteAndBrowser, newPage, openPlayground, loadExample, screenshot, repoRoot, button } from './harness.mjs';

const env = siteAndBrowser();
const AXE = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');

/** compare.html at `viewport`, its first comparison drawn. */
async function openCompare(viewport = { width: 1280, height: 900 }, colorScheme = 'light') {
  const { page, errors } = await newPage(env.browser, { viewport, colorScheme });
  await page.goto(new URL('compare.html', env.site.url).href);
  await page.waitForSelector('vm-compare[data-ready="1"]', { timeout: 30_000 });
  return { page, errors };
}

/** Put `text` into the comparison and compare (by the button, as a person would). */
async function compareText(page, text) {
  await page.locator('vm-compare textarea').fill(text);
  await page.locator('vm-compare').getByRole('button', { name: 'Compare' }).click();
  await page.waitForFunction((t) => document.querySelector('vm-compare').comparison?.text === t, text);
}

/** The results table: per line, whether it is marked and each kernel's result. */
function resultRows(page) {
  return page.locator('vm-compare table.cmp-lines tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({
      line: Number(tr.dataset.line),
      differs: tr.classList.contains('differs'),
      said: tr.querySelector('th').textContent,
      res: Object.fromEntries([...tr.querySelectorAll('td.cmp-res')].map((td) => [td.dataset.kernel, { text: td.textContent, failure: td.dataset.failure }])),
    })),
  );
}

const MINHERIT = `# a call only the BSDs offer
$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
minherit $a 4K 2
fork p2
`;

test('a line only the BSDs offer is marked as a difference: an error of the line under Linux, a system call under FreeBSD and NetBSD', { timeout: 60_000 }, async () => {
  const { page, errors } = await openCompare();
  await compareText(page, MINHERIT);
  const rows = await resultRows(page);
  const m = rows.find((r) => r.line === 3);
  assert.ok(m, JSON.stringify(rows));
  assert.equal(m.differs, true, 'the minherit row is marked');
  assert.match(m.said, /≠/, 'and says so in text, not by colour alone');
  assert.equal(m.res.linux.failure, 'error');
  assert.match(m.res.linux.text, /minherit is not offered under linux/);
  for (const k of ['freebsd', 'netbsd']) {
    assert.notEqual(m.res[k].failure, 'error', `${k} runs minherit as a system call`);
    assert.match(m.res[k].text, /^(✗ )?minherit /);
  }
  // the comparison went on past the line Linux could not run
  assert.deepEqual(rows.map((r) => r.line), [2, 3, 4]);
  assert.equal(rows.find((r) => r.line === 4).res.linux.text, 'fork ok');
  // the marked rows stay when only the differences are shown
  await page.locator('vm-compare').getByLabel('Only the lines that differ').check();
  const only = await resultRows(page);
  assert.ok(only.every((r) => r.differs) && only.some((r) => r.line === 3), JSON.stringify(only));
  // every process of every kernel has its entries as a table, the text alternative of the strip
  for (const k of ['linux', 'freebsd', 'netbsd']) {
    const col = page.locator(`vm-compare .cmp-col[data-kernel="${k}"]`);
    assert.equal(await col.locator('.cmp-proc').count(), 2, `${k}: p1 and p2`);
    assert.equal(await col.locator('.cmp-proc table.cmp-maps').count(), 2);
    // one row per count the module gives (anon, cache, page_table, zero, free, and any later kind)
    const kinds = await page.evaluate((k) => Object.keys(document.querySelector('vm-compare').comparison.runs.find((r) => r.kernel === k).frames).filter((x) => x !== 'total').length, k);
    assert.ok(kinds >= 5);
    assert.equal(await col.locator('table.cmp-fr tbody tr').count(), kinds);
  }
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the comparison names each kernel’s structures and marks differing map entries and frame counts in words', { timeout: 60_000 }, async () => {
  const { page, errors } = await openCompare();
  const structure = await page.locator('vm-compare .cmp-col .cmp-struct b').allTextContents();
  assert.deepEqual(structure, ['VMA + anon_vma (Linux)', 'vm_map_entry (FreeBSD)', 'vm_map_entry + amap (NetBSD UVM)']);
  const { runs, diff } = await page.evaluate(() => {
    const c = document.querySelector('vm-compare').comparison;
    return { runs: c.runs, diff: { entries: [...c.diff.entries].map(([k, v]) => [k, [...v]]), frames: [...c.diff.frames] } };
  });
  // the table marks exactly the entries the comparison found in one kernel and not in another
  for (const [key, odd] of diff.entries) {
    const [k, proc] = key.split(':');
    const marked = await page.locator(`vm-compare .cmp-col[data-kernel="${k}"] .cmp-proc[data-proc="${proc}"] tr.differs`).evaluateAll((trs) => trs.map((t) => t.dataset.key));
    assert.deepEqual(marked.sort(), [...odd].sort(), key);
    for (const t of await page.locator(`vm-compare .cmp-col[data-kernel="${k}"] .cmp-proc[data-proc="${proc}"] tr.differs td.cmp-flag`).allTextContents()) assert.equal(t, '≠ differs');
  }
  // a frame kind is marked exactly when its counts differ between the columns
  for (const [kind] of [['anon'], ['cache'], ['page_table'], ['zero'], ['free']]) {
    const counts = new Set(runs.map((r) => r.frames[kind]));
    const marked = await page.locator(`vm-compare .cmp-col tr[data-kind="${kind}"].differs`).count();
    assert.equal(marked, counts.size > 1 ? runs.length : 0, `${kind}: ${[...counts]}`);
    assert.equal(diff.frames.includes(kind), counts.size > 1);
  }
  // each machine is sound at the end
  for (const r of runs) assert.equal(r.check, null, `${r.kernel}: invariants hold`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('two kernels: unchecking one compares the other two; one alone is refused in words', { timeout: 60_000 }, async () => {
  const { page, errors } = await openCompare();
  const box = (name) => page.locator('vm-compare').getByRole('checkbox', { name, exact: true });
  await box('NetBSD').uncheck();
  await page.waitForFunction(() => document.querySelector('vm-compare').comparison.runs.length === 2);
  assert.deepEqual(await page.locator('vm-compare table.cmp-lines thead th').allTextContents(), ['Line', 'Scenario', 'Linux', 'FreeBSD']);
  assert.equal(await page.locator('vm-compare .cmp-col').count(), 2);
  await box('FreeBSD').uncheck();
  assert.match(await page.locator('vm-compare .cmp-summary').textContent(), /at least two kernels/);
  // the keyboard alone: Tab to a box, Space checks it, the form compares again
  await box('FreeBSD').focus();
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.querySelector('vm-compare').comparison.runs.map((r) => r.kernel).join() === 'linux,freebsd');
  await page.locator('vm-compare textarea').focus();
  await page.keyboard.press('End');
  await page.keyboard.type('\nload $a');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => /load \$a$/.test(document.querySelector('vm-compare').comparison.text.trim()));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a scenario too long to compare at once is refused in words, and nothing stale stays drawn', { timeout: 60_000 }, async () => {
  const { page, errors } = await openCompare();
  const long = '$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n' + 'load $a\n'.repeat(5000);
  // (set, not typed: typing 40,000 characters takes longer than the test)
  await page.evaluate((t) => (document.querySelector('vm-compare textarea').value = t), long);
  await page.locator('vm-compare').getByRole('button', { name: 'Compare' }).click();
  await page.waitForFunction(() => document.querySelector('vm-compare').comparison === null);
  assert.match(await page.locator('vm-compare .cmp-summary').textContent(), /5,001 lines to run; a comparison runs at most 5,000/);
  assert.equal(await page.locator('vm-compare .cmp-summary').getAttribute('class'), 'cmp-summary bad');
  assert.equal(await page.locator('vm-compare table.cmp-lines').count(), 0);
  assert.equal(await page.locator('vm-compare .cmp-col').count(), 0);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the playground’s kernel: the main page’s control, the element’s attribute and the scenario’s personality line', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1280, height: 900 });
  const config = () => page.evaluate(() => document.querySelector('vm-playground').sessionObject.machine.config().personality);
  assert.equal(await config(), 'linux');
  await page.locator('#kernel').selectOption('freebsd');
  assert.equal(await page.locator('vm-playground').getAttribute('personality'), 'freebsd');
  assert.equal(await config(), 'freebsd', 'the control gives a fresh machine under FreeBSD');
  // the machine follows FreeBSD's rules: minherit is offered (under Linux the line is an error)
  await page.evaluate(() => document.querySelector('vm-playground').setScenario('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANON|MAP_FIXED -1 0\nminherit $a 4K 2\n'));
  await button(page, 'Run').click();
  const steps = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.steps.map((s) => ({ ok: s.ok, line: s.line, message: s.message })));
  assert.equal(steps.length, 2);
  assert.ok(steps[1].ok, `minherit runs under FreeBSD: ${JSON.stringify(steps)}`);
  // the editor's title and the entry details name FreeBSD's structures
  assert.match(await page.locator('vm-playground .p-editor .ph').textContent(), /FreeBSD/);
  await page.locator('#kernel').selectOption('linux');
  await page.evaluate(() => document.querySelector('vm-playground').setScenario('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nminherit $a 4K 2\n'));
  await button(page, 'Run').click();
  const linux = await page.evaluate(() => document.querySelector('vm-playground').sessionObject.steps.map((s) => ({ ok: s.ok, message: s.message })));
  assert.equal(linux[1].ok, false);
  assert.match(linux[1].message, /not offered under linux/);
  // a personality line wins: the control follows it and waits
  await page.evaluate(() => document.querySelector('vm-playground').setScenario('personality netbsd\n$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANON|MAP_FIXED -1 0\n'));
  await button(page, 'Run').click();
  assert.equal(await page.locator('#kernel').inputValue(), 'netbsd');
  assert.equal(await page.locator('#kernel').isDisabled(), true);
  assert.equal(await page.locator('#kernel-note').isVisible(), true);
  assert.match(await page.locator('vm-playground .p-editor .ph').textContent(), /NetBSD/);
  // select the entry (whatever NetBSD answered, its stack entry exists): the details name UVM's structures
  await page.evaluate(() => {
    const pg = document.querySelector('vm-playground');
    const e = pg.sessionObject.machine.entries(1)[0];
    pg.select({ entry: { pid: 1, start: e.start } });
  });
  assert.match(await page.locator('vm-playground .entry-content .props').textContent(), /vm_map_entry \+ amap \(NetBSD UVM\)/);
  await page.evaluate(() => document.querySelector('vm-playground').setScenario('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n'));
  assert.equal(await page.locator('#kernel').isDisabled(), false);
  assert.equal(await page.locator('#kernel').inputValue(), 'linux');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('embed: <vm-playground personality="netbsd"> starts its machine under NetBSD; a kernel that does not exist is a failure, at the start and on a change', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 } });
  await page.goto(new URL('embed.html', env.site.url).href);
  await page.waitForSelector('#lesson-walk[data-ready="1"]');
  const k = await page.evaluate(async () => {
    const pg = document.createElement('vm-playground');
    pg.setAttribute('personality', 'netbsd');
    pg.setAttribute('views', 'editor,space');
    pg.setAttribute('frames', '1024');
    pg.setAttribute('scenario', '$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANON|MAP_FIXED -1 0');
    const ready = new Promise((r) => pg.addEventListener('vm-ready', r, { once: true }));
    document.querySelector('article').append(pg);
    await ready;
    return pg.sessionObject.machine.config().personality;
  });
  assert.equal(k, 'netbsd');
  // a kernel that does not exist is a failure on the element, not Linux in silence
  const bad = await page.evaluate(async () => {
    const pg = document.createElement('vm-playground');
    pg.setAttribute('personality', 'solaris');
    pg.setAttribute('views', 'editor');
    pg.setAttribute('frames', '1024');
    const failed = new Promise((r) => pg.addEventListener('vm-error', (ev) => r(ev.detail.message), { once: true }));
    document.querySelector('article').append(pg);
    return { message: await failed, shown: pg.shadowRoot.querySelector('.fail').textContent };
  });
  assert.match(bad.message, /personality="solaris": no such kernel/);
  assert.match(bad.shown, /could not start.*solaris/);
  errors.splice(0, errors.length, ...errors.filter((e) => !/solaris/.test(e)));
  // and a change to one keeps the machine it had, saying why
  const kept = await page.evaluate(async () => {
    const pg = document.querySelector('#lesson-walk');
    const failed = new Promise((r) => pg.addEventListener('vm-error', (ev) => r(ev.detail.message), { once: true }));
    pg.setAttribute('personality', 'plan9');
    return { message: await failed, kernel: pg.sessionObject.machine.config().personality, ready: pg.dataset.ready };
  });
  assert.match(kept.message, /personality="plan9"/);
  assert.equal(kept.kernel, 'linux');
  assert.deepEqual(errors, []);
  await page.context().close();
});

for (const [name, viewport, width] of [
  ['1024 × 768 (a projector)', { width: 1024, height: 768 }, null],
  ['a 700 px course column', { width: 1280, height: 900 }, 700],
  ['a 390 px phone', { width: 390, height: 844 }, null],
]) {
  test(`layout, ${name}: nothing wider than the screen, the columns side by side only when they fit`, { timeout: 60_000 }, async () => {
    const { page, errors } = await openCompare(viewport);
    if (width) await page.evaluate((w) => (document.querySelector('main').style.maxWidth = `${w}px`), width);
    const m = await page.evaluate(() => {
      const el = document.querySelector('vm-compare');
      const cols = [...el.querySelectorAll('.cmp-col')].map((c) => c.getBoundingClientRect());
      const tooWide = [...el.querySelectorAll('*')]
        .filter((x) => !x.closest('.cmp-scroll') || x.classList.contains('cmp-scroll'))
        .map((x) => ({ x, r: x.getBoundingClientRect() }))
        .filter(({ r }) => r.width > 0 && r.right > document.documentElement.clientWidth + 1)
        .map(({ x }) => x.className || x.tagName);
      return {
        width: el.getBoundingClientRect().width,
        rows: new Set(cols.map((r) => Math.round(r.top))).size,
        tooWide: tooWide.slice(0, 5),
        pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        buttonOnScreen: el.querySelector('.cmp-btn').getBoundingClientRect().right <= document.documentElement.clientWidth,
      };
    });
    assert.deepEqual(m.tooWide, [], 'no element sticks out of the screen');
    assert.ok(m.pageScroll <= 0, `no sideways scrolling of the page (${m.pageScroll} px)`);
    assert.ok(m.buttonOnScreen);
    if (m.width >= 900) assert.equal(m.rows, 1, `side by side at ${m.width} px`);
    else assert.equal(m.rows, 3, `stacked at ${m.width} px`);
    await screenshot(page, `compare-${viewport.width}${width ? `-column-${width}` : ''}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

for (const scheme of ['light', 'dark']) {
  test(`axe: compare.html, ${scheme}: no serious or critical violation, every text at least 4.5:1`, { timeout: 90_000 }, async () => {
    const { page, errors } = await openCompare({ width: 1280, height: 900 }, scheme);
    await compareText(page, MINHERIT);
    for (const vp of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      await page.setViewportSize(vp);
      await page.addScriptTag({ path: AXE });
      const r = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const res = await axe.run(document, { resultTypes: ['violations', 'passes'] });
        const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        const low = [];
        for (const kind of ['violations', 'passes'])
          for (const v of res[kind].filter((x) => x.id === 'color-contrast'))
            for (const n of v.nodes) {
              const d = n.any[0] && n.any[0].data;
              if (d && d.contrastRatio && d.contrastRatio < 4.5) low.push(`${n.target.join(' ')}: ${d.contrastRatio}`);
            }
        return { bad, low };
      });
      assert.deepEqual(r.bad, [], `${vp.width} px`);
      assert.deepEqual(r.low, [], `${vp.width} px`);
    }
    await screenshot(page, `compare-axe-${scheme}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test('the main page on a phone: the Kernel menu and the comparison link fit the header, and the link opens the comparison with the playground’s scenario', { timeout: 30_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 390, height: 844 });
  const fit = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    menu: document.getElementById('kernel').getBoundingClientRect().right,
  }));
  assert.ok(fit.scroll <= 0, `no sideways scrolling (${fit.scroll} px)`);
  assert.ok(fit.menu <= 390, `the Kernel menu is on screen (${fit.menu})`);
  // the link takes the playground's scenario along
  const text = await loadExample(page, 'cow_fork.vms');
  await page.getByRole('link', { name: 'Compare kernels' }).click();
  await page.waitForSelector('vm-compare[data-ready="1"]', { timeout: 30_000 });
  assert.match(page.url(), /compare\.html#playground$/);
  assert.equal(await page.locator('vm-compare textarea').inputValue(), text);
  assert.equal(await page.evaluate(() => document.querySelector('vm-compare').comparison.text), text);
  assert.deepEqual(errors, []);
  await page.context().close();
});
