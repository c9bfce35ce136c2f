// Issue 14, item 1: permalinks, the Share dialog, autosave, .vms files and
// the reload guard. A link made on one page, opened in a fresh browser
// context, gives the same state; links pinned when their format was
// current keep opening; a link from another simulator says when today's
// answers differ; the editor survives a reload. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { siteAndBrowser, newPage, openPlayground, loadExample, button, screenshot, wwwDir, tempDir } from './harness.mjs';

const env = siteAndBrowser();

/**
 * Links pinned when format 1 was current (made by web/permalink.js of
 * vmplay 0.1.0). Never regenerate them: they stand for the links already
 * in course pages. A new format gets its own pinned links beside these.
 */
const PINNED_V1 = {
  // demand_paging.vms on 4 MiB and an 8 × 4 TLB, run to line 6, the page
  // 0x300000003000 and its entry selected, the TLB tab, the entries as a table
  demandPaging:
    'vm1.lZPbjtowEIZfZWS4a4gIxyhSL6igEtpyEEt3W5UKGTKAtY4T2ea0h3fv2NnShbvmamyPv_ln8vuFGZGxhNXDKKyzgFk8WVpWoI8ZVykUfCvUNoEs4wXkSp5Bo0F9QAM8TSk2aELouTyELVraho3mGQK3IKxZqApshDYWbL5f7xI61shTIJwBu0MwO64xhWfUuYcElHHUwqIHodmVuHChqhw-lzqqdEVx6LTuYDqbzJezQa__6qPH2XA-gFFvupzOhg-9-eDVxb3xZPxzNPl-71dfhz8GfahFUF-oTKh1rpGInnb5KqByu6POXbsiRWXhjHahZE7aq_zTx9wy33e14XtpE9_Xh4ZIckEtuoyaG-FCGftetH5qRVeYsvV3DgeFR0-i634MgWMrX2B1tviP5BQRrHFLsvm1mgTWeXEmGbXLeVnF4xdqI6R0uGbjDmKH7P7l2WMOmSvmMOZ2dJfRwO3nRlk2RMGxHM782xfINfmppMGRyyci8vQgjCdSN6Ne_2HZn4zn4wH9Lg_aigP6-6XDVnz9FIbh_0ihdOdqx1Dk9NKUYJDs7MdM9t1yoZyWgnqkB5HxNfkAWfLCfFXDkqjeaNFLkat78jtLYh8_8jPFtF-gNrniUtgzPSQp1P7E3gIXEKQTMIPSwQqREilgZC1Nib-ioN3odjvtdhw1m41W_JtINJrrk1a73ezQiVfCErWXktAHgUdTrkgKX1FZEsR8LCnN6j0GLN-7h72KedqJ0Z0eqP7bHw',
  // cow_fork.vms run to line 7 (the child's store), process 2 selected,
  // only the editor, the address space and the events shown
  cowForkViews:
    'vm1.fVR_b9owEP0qJ1Npm5pW4Ue7LdP-QC2TqomCKG03jak6yAW8GjuyHSBq-913TmhhU7dICJ-de_fuPV8ehJNLkYj4uHkci0h42ngOG3Bm8vLI6KO1lZ4AM08WMmPvE8jRkvaAOoXZQqoU3IJ3gFZkS8itXCEn5DgnKLSXaqIbYDSBycAvaAkVoPsUgnptYU7egeSfWWuYcWF4e33TB1xifleFh1zNaDgb3L47nugDhM-w5EM4CFQQmqdfYTgajO9Gve75Y7W6HV2Me9DvDu-Go4ub7rj3GNbdy8Hl9_7g-qqKvlx8653DURPiic6kUgxXQcWbZgzbp8FNFxYsOZmGrkNfjl9nJSBvwd9Po2qrkuWNg-G45yBoYwlTFlOVoTtJLqlxauXSic5bCSiDaWDwD7gKw1VxbQDjT0tPdbLzhstwdrxptV6Sa-8yLJQHqXdYyRaGLZKupsQkXiOwI7F13fkglCPaGVazeGZw2AkCttu77G1m7XswkuFsVT3Z1g4Xa6_IH3oEvFf12GMSNg1vzYz2nP_iT_uVXhDmlq_u3s11sF6gD0psIZ9Nae90PfwQuup0amq0kf7_zlvKiFuZMfjcAK6x3FOowjo52WU6oyhIybLgHKVOQJtqDiL4VTgPS0zrWcGpYqn55nOLPKxL5HqaRPIgMotLciLpxB9PeYrV9IpnSiTNOrjFMpxFIifrjEYlfclTrqQuNuIpCgtGeR8JRyqg5TIVSSsSLKblF3WhFOeyY8_rqlwdcPpK0prxfwhKJTfJzFyOM-J__iiwH-Ins8ApV1yjuhdVoDg9Q-UoEqYIn5xZxpqdnLb5eMXEn34D',
  // cow_fork.vms to line 7, as a simulator "0.0.1" answered it (its
  // results' fingerprint is not today's)
  olderSimulator:
    'vm1.fVR_b9owEP0qJ1Npm5qi8KPdlml_oJZJ1URBlLabhIQMuYBXx45sB4jafvedHShs6hYJyWf7vXv3zscTsyJnCYubcbPFIuZw6yhswKUuqjOtzjZGOASeOTSQafOYQMENKgdcpbBYCZmCXdEO4BpNBYURa06Agi8RSuWEnKoGaIWgM3ArzCEQ2i8-qNcGlugsCPrpjYIFJYb3d_cD4DkvZiE8pWxaweXw4UNzqk44fIWcDuHES-HQuvgOo_FwMhv3e1fPYfUwvp70YdAbzUbj6_vepP_s172b4c3PwfDuNkTfrn_0r-CsBfFUZUJKogtU8bYVw-5rUNGlAYNWpL5qX5el6-QEFG34-2uEsoIt7yyMJn0L3huDPCUzZeWrE2iTmqd2Lp2qop2A1Dz1Cv5BFzhsiOsGEP-8cliDrdOUhtDxtt1-Bde9y3gpHQh14Ep2NNQiYWtJJOItAQcRu65b542yiIeG1Sr2Ck673sBO54DeIeu--0YSnQnZk11u_7COkvzhh-d7048jJX5T09ZCK0f41_503qiFw9LQ0z16uRY2K-68EzvKfVM6B19PP_mqut1aGm6F-3_nDWZIpSyIfKmBb3h15FDgOj8_IK2W6K0kW_iSC5WA0mEOIvhVWgc5T-tZ4XNJVtPLpxJpWHNO-RSy5IllhudoWdKNP1_QFMv5Lc0US1p18MArfxaxAo3VikvhKppyKVS5ZS-RXxDLx4hZlJ6tEClhI0ZmGrqoSikJSx3br0O6OiD4WuDG7o9IJFFvuHxkIZB0L-PSYsR06f9b4jlPF3GKdLymLC-_AQ',
};

const read = (file) => fs.readFileSync(path.join(wwwDir, 'scenarios', file), 'utf8');
const state = (page) => page.evaluate(() => document.querySelector('vm-playground').linkState());
const pg = (page) => page.locator('vm-playground');
const notices = (page) => pg(page).locator('.notice').allTextContents();

/** Open index.html with a link's fragment in a fresh context; wait until the state is restored. */
async function openLink(fragment, viewport = { width: 1280, height: 800 }) {
  const { page, errors } = await newPage(env.browser, { viewport });
  await page.goto(new URL(`index.html#${fragment}`, env.site.url).href);
  await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
  return { page, errors };
}

test('a permalink round-trips: the same state in a fresh page, from the Share dialog', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1280, height: 800 });
  await pg(page).locator('select[aria-label="Physical memory size"]').selectOption('16384');
  await pg(page).locator('select[aria-label="TLB geometry"]').selectOption('64x8');
  await loadExample(page, 'cow_fork.vms');
  for (let i = 0; i < 5; i++) await button(page, 'Step').click(); // up to line 7, p2's store
  // a page of the child selected, its frame, the TLB tab, the table
  await pg(page).locator('.as-svg g.entry[data-pid="2"][data-start="0x300000000000"]').first().click();
  await button(page, 'Table').click();
  await pg(page).locator('#tab-tlb').click();
  const before = await state(page);
  assert.equal(before.line, 7);
  assert.deepEqual(before.machine, { frames: 16384, tlbSets: 64, tlbWays: 8, personality: 'linux' });
  assert.deepEqual(before.sel.entry, [2, 0x300000000000]);
  assert.equal(before.tab, 'tlb');
  assert.equal(before.table, true);

  // the Share dialog: keyboard-reachable, its link is the state's
  await pg(page).getByRole('button', { name: 'Share', exact: true }).focus();
  await page.keyboard.press('Enter');
  const dialog = pg(page).getByRole('dialog', { name: 'Share' });
  await dialog.waitFor();
  const link = await dialog.getByLabel('Link', { exact: true }).inputValue();
  assert.match(link, /index\.html#vm1\.[A-Za-z0-9_-]+$/);
  assert.match(await dialog.getByLabel('Iframe', { exact: true }).inputValue(), /^<iframe src="[^"]*frame\.html\?title=[^"]*#vm1\.[A-Za-z0-9_-]+" title="Virtual-memory playground"/);
  const snippet = await dialog.getByLabel('Embed snippet', { exact: true }).inputValue();
  assert.match(snippet, /<vm-playground label="Virtual-memory playground" frames="16384" tlb-sets="64" tlb-ways="8" step="5"/);
  assert.ok(snippet.includes(read('cow_fork.vms').trimEnd()), 'the snippet holds the scenario');
  await dialog.getByRole('button', { name: 'Copy the link' }).click();
  // the clipboard answers asynchronously: wait for the status to say so
  await dialog.getByRole('status').filter({ hasText: /Link copied|Select the link/ }).waitFor({ timeout: 5000 });
  assert.match(await dialog.getByRole('status').textContent(), /Link copied|Select the link/);
  await screenshot(page, 'share-dialog');
  await page.keyboard.press('Escape');

  // a fresh page (its own context: no storage shared) opens to the same state
  const other = await newPage(env.browser, { viewport: { width: 1280, height: 800 } });
  await other.page.goto(link);
  await other.page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  assert.deepEqual(await state(other.page), before);
  // and shows it: the step, the menus, the TLB tab, the table
  assert.match(await pg(other.page).locator('.step-info').textContent(), /line 7/);
  assert.equal(await pg(other.page).locator('select[aria-label="Physical memory size"]').inputValue(), '16384');
  assert.equal(await pg(other.page).locator('#tab-tlb').getAttribute('aria-selected'), 'true');
  assert.equal(await pg(other.page).getByRole('button', { name: 'Table', exact: true }).getAttribute('aria-pressed'), 'true');
  assert.deepEqual(await notices(other.page), [], 'same simulator: nothing to say');
  await screenshot(other.page, 'share-opened');
  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await page.context().close();
  await other.page.context().close();
});

test('pinned version-1 links still open, with their machine, step, selection and views', { timeout: 90_000 }, async () => {
  {
    const { page, errors } = await openLink(PINNED_V1.demandPaging);
    const st = await state(page);
    assert.equal(st.text, read('demand_paging.vms'));
    assert.deepEqual(st.machine, { frames: 1024, tlbSets: 8, tlbWays: 4, personality: 'linux' });
    assert.equal(st.line, 6);
    assert.deepEqual(st.sel.page, [1, 0x300000003000]);
    assert.deepEqual(st.sel.entry, [1, 0x300000000000]);
    assert.equal(st.tab, 'tlb');
    assert.equal(st.table, true);
    assert.equal(await pg(page).locator('select[aria-label="TLB geometry"]').inputValue(), '8x4');
    // the recorded example answers as it did when the link was made
    assert.deepEqual(await notices(page), []);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
  {
    const { page, errors } = await openLink(PINNED_V1.cowForkViews);
    const st = await state(page);
    assert.equal(st.text, read('cow_fork.vms'));
    assert.equal(st.line, 7);
    assert.equal(st.sel.pid, 2);
    assert.deepEqual(st.views, ['editor', 'space', 'events']);
    const shown = await page.evaluate(() => [...document.querySelector('vm-playground').shadowRoot.querySelectorAll('.grid > .panel')].filter((p) => !p.hidden).map((p) => p.id));
    assert.deepEqual(shown, ['panel-editor', 'panel-space', 'panel-events']);
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});

test('a link made by another simulator that answered differently says so; a damaged or newer link says what is wrong', { timeout: 60_000 }, async () => {
  {
    const { page, errors } = await openLink(PINNED_V1.olderSimulator);
    const st = await state(page);
    assert.equal(st.line, 7, 'the link still opens');
    const said = (await notices(page)).join('\n');
    assert.match(said, /made with vmplay 0\.0\.1; today's simulator \(0\.\d+\.\d+\) answers differently up to line 7/);
    assert.equal(await pg(page).getAttribute('data-link-differs'), '1');
    assert.deepEqual(errors, []);
    await page.context().close();
  }
  for (const [frag, why] of [
    [PINNED_V1.demandPaging.slice(0, 60), /damaged or cut short/],
    ['vm9.AAAA', /made by a newer vmplay \(link format 9; this page reads up to 1\)/],
  ]) {
    const { page } = await newPage(env.browser);
    await page.addInitScript(() => {
      window.vmErrors = [];
      document.addEventListener('vm-error', (e) => window.vmErrors.push(e.detail.message));
    });
    await page.goto(new URL(`index.html#${frag}`, env.site.url).href);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.match((await page.evaluate(() => window.vmErrors)).join('\n'), why, 'a vm-error tells the page');
    const said = (await notices(page)).join('\n');
    assert.match(said, why);
    // the page still works: the default scenario is there to run
    await button(page, 'Step').click();
    assert.equal((await state(page)).line > 0, true);
    await page.context().close();
  }
});

test('autosave: an edit survives a reload; a .vms file saves and opens', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPlayground(env.browser, env.site, { width: 1280, height: 800 });
  const text = '# mine\n$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 7\n';
  const ta = pg(page).locator('.ed-ta');
  await ta.fill(text);
  await page.locator('vm-playground').getByRole('combobox', { name: 'Physical memory size' }).selectOption('1024');
  await page.waitForFunction(() => localStorage.length > 0 && Object.keys(localStorage).some((k) => k.startsWith('vmplay:autosave:')));
  await page.waitForTimeout(400);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await ta.inputValue(), text);
  assert.equal((await state(page)).machine.frames, 1024);
  assert.match(await pg(page).locator('.con-log, .pb-console').first().textContent(), /kept in this browser/);

  // Save downloads the text as a .vms file
  const [dl] = await Promise.all([page.waitForEvent('download'), pg(page).getByRole('button', { name: 'Save', exact: true }).click()]);
  assert.equal(dl.suggestedFilename(), 'mine.vms');
  assert.equal(fs.readFileSync(await dl.path(), 'utf8'), text);
  // Open… reads one
  const dir = tempDir();
  const file = path.join(dir, 'other.vms');
  fs.writeFileSync(file, read('mremap.vms'));
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), pg(page).getByRole('button', { name: 'Open…', exact: true }).click()]);
  await chooser.setFiles(file);
  await page.waitForFunction((t) => document.querySelector('vm-playground').sessionObject.text === t, read('mremap.vms'));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the reload guard: an edit nothing kept asks before the page goes; a kept one does not', { timeout: 60_000 }, async () => {
  // embed.html has no autosave
  const { page } = await newPage(env.browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(new URL('embed.html', env.site.url).href);
  await page.waitForSelector('#lesson-fork[data-ready="1"]');
  const asked = [];
  page.on('dialog', (d) => {
    asked.push(d.type());
    d.accept();
  });
  await page.locator('#lesson-fork .ed-ta').click();
  await page.keyboard.type('load $a\n');
  await page.close({ runBeforeUnload: true });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(asked, ['beforeunload']);

  // the main page keeps its editor: leaving it asks nothing
  const main = await openPlayground(env.browser, env.site);
  const asked2 = [];
  main.page.on('dialog', (d) => {
    asked2.push(d.type());
    d.accept();
  });
  await pg(main.page).locator('.ed-ta').click();
  await main.page.keyboard.type('load $a\n');
  await main.page.waitForTimeout(500);
  await main.page.close({ runBeforeUnload: true });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(asked2, []);
});

test('a link opened on the main page becomes the kept scenario: a reload shows the edits made since', { timeout: 60_000 }, async () => {
  const { page, errors } = await openLink(PINNED_V1.cowForkViews);
  assert.equal(new URL(page.url()).hash, '', 'the address lost its #vm1 part');
  const ta = pg(page).locator('.ed-ta');
  await ta.fill(read('cow_fork.vms') + 'load $a+4K\n');
  await page.waitForTimeout(400);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await ta.inputValue(), read('cow_fork.vms') + 'load $a+4K\n');
  assert.deepEqual(errors, []);
  await page.context().close();
});
