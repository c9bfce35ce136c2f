// Issue 14, item 6: the npm package. `scripts/dist.sh` (what `make dist`
// runs) packs dist/vmplay-VERSION.tgz; it is installed with npm into an
// empty folder, and from there, with no other file of the repository:
//   - Node runs every example headless and prints what the kernel printed;
//   - its TypeScript types check a strict user's code;
//   - a page with one script tag from node_modules runs the element;
//   - a page loading it from another origin (a CDN path, with CORS) does too;
//   - without CORS, or without its wasm, the element says why it is not
//     running instead of staying blank.
// Needs `make build` (www/pkg).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launchBrowser, newPage, repoRoot, tempDir, wwwDir, screenshot } from './harness.mjs';
import { startServer } from '../../scripts/static-server.mjs';

const VERSION = /\[workspace\.package\][^[]*?version = "([^"]+)"/.exec(fs.readFileSync(path.join(repoRoot, 'Cargo.toml'), 'utf8'))[1];
const EXAMPLES = JSON.parse(fs.readFileSync(path.join(wwwDir, 'scenarios', 'index.json'), 'utf8'));
const expected = (file) => fs.readFileSync(path.join(wwwDir, 'scenarios', file.replace(/\.vms$/, '.out')), 'utf8');

const env = {};

before(async () => {
  const tmp = tempDir('vmplay-pkg-');
  env.tmp = tmp;
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'dist.sh'), path.join(tmp, 'dist')], { stdio: 'pipe' });
  env.tgz = path.join(tmp, 'dist', `vmplay-${VERSION}.tgz`);
  // an empty folder, the package installed into it by npm
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'course', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', env.tgz], { cwd: app, stdio: 'pipe' });
  env.app = app;
  // a CDN's copy: the package as published, under name@version
  const cdn = path.join(tmp, 'cdn');
  fs.mkdirSync(cdn);
  execFileSync('tar', ['xzf', env.tgz, '-C', cdn]);
  fs.renameSync(path.join(cdn, 'package'), path.join(cdn, `vmplay@${VERSION}`));
  env.appServer = await startServer(app);
  env.cdnServer = await startServer(cdn, { headers: { 'Access-Control-Allow-Origin': '*' } });
  env.plainServer = await startServer(cdn);
  env.browser = await launchBrowser();
});

after(async () => {
  await env.browser?.close();
  for (const s of [env.appServer, env.cdnServer, env.plainServer]) await s?.close();
  if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
});

test('the tarball is named for the project and holds the element, the wasm, the CSS, the scenarios and the types', () => {
  assert.equal(path.basename(env.tgz), `vmplay-${VERSION}.tgz`);
  const files = execFileSync('tar', ['tzf', env.tgz], { encoding: 'utf8' }).split('\n');
  for (const f of ['package/package.json', 'package/web/playground.js', 'package/web/playground.css', 'package/vmplay.css', 'package/pkg/vmwasm_bg.wasm', 'package/pkg/vmwasm.js', 'package/types/index.d.ts', 'package/pkg/vmwasm.d.ts', 'package/node/index.js', 'package/scenarios/index.json', 'package/scenarios/cow_fork.vms', 'package/README.md']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(env.app, 'node_modules', 'vmplay', 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'vmplay');
  assert.equal(pkg.version, VERSION);
  assert.equal(pkg.types, './types/index.d.ts');
});

test('headless in Node: every example, run from the installed package, prints what the kernel printed', () => {
  const script = `
    import { load, runScenario, scenario, scenarios, version } from 'vmplay';
    await load();
    const out = {};
    for (const ex of await scenarios()) out[ex.file] = runScenario(await scenario(ex.file)).text;
    const bad = runScenario('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\\nfrobnicate $a\\n');
    console.log(JSON.stringify({ version: version(), out, bad: bad.error }));`;
  const got = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: env.app, encoding: 'utf8' }));
  assert.equal(got.version, VERSION);
  for (const ex of EXAMPLES) assert.equal(got.out[ex.file], expected(ex.file), ex.file);
  assert.equal(got.bad.line, 2, 'a line that cannot run is reported with its number');
});

test('the TypeScript types check a strict user of the package', () => {
  fs.writeFileSync(
    path.join(env.app, 'use.ts'),
    `import { load, runScenario, Machine, type VmPlayground, type VmStepDetail } from 'vmplay';
await load();
const run = runScenario('store $arena 1', { frames: 1024 });
const first: string | undefined = run.outputs[0]?.text;
const m = new Machine({ frames: 1024, personality: 'linux' });
const r = m.mmap(1, 0, 4096, 'PROT_READ', 'MAP_PRIVATE|MAP_ANONYMOUS', -1, 0);
if (r.ok) console.log(r.value, first);
m.free();
export function listen(pg: VmPlayground): void {
  pg.addEventListener('vm-step', (e) => {
    const d: VmStepDetail = e.detail;
    console.log(d.line, d.step?.failure);
  });
  pg.addEventListener('vm-exercise', (e) => console.log(e.detail.passed, e.detail.total));
}
`,
  );
  fs.writeFileSync(
    path.join(env.app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'ESNext.Disposable', 'DOM'], types: [], skipLibCheck: false }, files: ['use.ts'] }),
  );
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', env.app], { cwd: env.app, stdio: 'pipe' });
});

/** A page of the course folder; resolves when the element is ready or failed. */
async function openCoursePage(name, html) {
  fs.writeFileSync(path.join(env.app, name), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Course</title><link rel="icon" href="data:,">${html.head}</head><body><main><h1>Course</h1>${html.body}</main></body></html>`);
  const { page, errors } = await newPage(env.browser, { viewport: { width: 1024, height: 768 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(env.appServer.url + name);
  return { page, errors, requests };
}

const element = (scenario) => `<vm-playground label="From the package" scenario="${scenario}" autorun frames="4096" style="height: 600px"><p>The playground needs JavaScript and WebAssembly.</p></vm-playground>`;
const printed = (page) =>
  page.evaluate(() => {
    const s = document.querySelector('vm-playground').sessionObject;
    const out = s.steps.filter((st) => st.source === 'editor').map((st) => (st.ok ? st.output.text : `${st.line} error ${st.message}`));
    return out.join('\n') + (out.length ? '\n' : '');
  });

test('one script tag from node_modules: the element runs a scenario and lists the package’s examples', { timeout: 60_000 }, async () => {
  const { page, errors, requests } = await openCoursePage('local.html', {
    head: '<script type="module" src="node_modules/vmplay/web/playground.js"></script><link rel="stylesheet" href="node_modules/vmplay/vmplay.css">',
    body: element('node_modules/vmplay/scenarios/cow_fork.vms'),
  });
  await page.waitForSelector('vm-playground[data-ready="1"]', { timeout: 30_000 });
  assert.equal(await printed(page), expected('cow_fork.vms'));
  // the examples menu comes from the package
  const options = await page.locator('vm-playground select[aria-label="Example scenarios"] option').allTextContents();
  assert.deepEqual(options.slice(1), EXAMPLES.map((e) => e.title));
  await page.locator('vm-playground select[aria-label="Example scenarios"]').selectOption('demand_paging.vms');
  await page.waitForFunction(() => document.querySelector('vm-playground').sessionObject.text.startsWith('# Demand paging'));
  await page.locator('vm-playground').getByRole('button', { name: 'Run', exact: true }).click();
  assert.equal(await printed(page), expected('demand_paging.vms'));
  assert.ok(requests.every((u) => u.startsWith(env.appServer.url)), 'nothing from elsewhere');
  await screenshot(page, 'package-local');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('from a CDN path on another origin (with CORS headers, as the npm CDNs send them)', { timeout: 60_000 }, async () => {
  const base = `${env.cdnServer.url}vmplay@${VERSION}/`;
  const { page, errors } = await openCoursePage('cdn.html', {
    head: `<script type="module" src="${base}web/playground.js"></script>`,
    body: element(`${base}scenarios/cow_fork.vms`),
  });
  await page.waitForSelector('vm-playground[data-ready="1"]', { timeout: 30_000 });
  assert.equal(await printed(page), expected('cow_fork.vms'));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the embedding guide’s CDN snippet, from a server without CORS headers, says why it is not running', { timeout: 60_000 }, async () => {
  // the first html block of docs/embedding.md, as a teacher pastes it, with
  // the CDN replaced by an origin that sends no Access-Control-Allow-Origin
  const guide = fs.readFileSync(path.join(repoRoot, 'docs', 'embedding.md'), 'utf8');
  const snippet = /```html\n([\s\S]*?)```/.exec(guide)[1].replaceAll('https://cdn.jsdelivr.net/npm/vmplay@0.1.0/', `${env.plainServer.url}vmplay@${VERSION}/`);
  assert.ok(snippet.includes(env.plainServer.url), 'the snippet loads from the CDN');
  const { page } = await openCoursePage('guide-nocors.html', { head: '', body: snippet });
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  const said = await page.evaluate(() => {
    const el = document.querySelector('vm-playground');
    const fallback = el.querySelector('p');
    return { defined: !!customElements.get('vm-playground'), before: getComputedStyle(el, '::before').content, height: el.getBoundingClientRect().height, fallbackShown: !!fallback && fallback.getBoundingClientRect().height > 0 };
  });
  assert.equal(said.defined, false, 'the module was refused (no CORS)');
  assert.match(said.before, /did not start: its script .* was not loaded.*cross-origin requests \(CORS\)/);
  assert.ok(said.height >= 60, 'the explanation takes room on the page');
  assert.equal(said.fallbackShown, false, 'the explanation replaces the generic fallback text');
  await screenshot(page, 'package-guide-no-cors');
  await page.context().close();
});

test('a blank element explains itself: no CORS, or no wasm', { timeout: 60_000 }, async () => {
  // the script from an origin that sends no CORS headers: it never loads
  const { page } = await openCoursePage('nocors.html', {
    head: `<script type="module" src="${env.plainServer.url}vmplay@${VERSION}/web/playground.js"></script><link rel="stylesheet" href="node_modules/vmplay/vmplay.css">`,
    body: element('node_modules/vmplay/scenarios/cow_fork.vms'),
  });
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  const said = await page.evaluate(() => {
    const el = document.querySelector('vm-playground');
    return { defined: !!customElements.get('vm-playground'), before: getComputedStyle(el, '::before').content, height: el.getBoundingClientRect().height };
  });
  assert.equal(said.defined, false);
  assert.match(said.before, /did not start: its script \(vmplay\/web\/playground\.js\) was not loaded.*\(CORS\)/);
  assert.ok(said.height >= 60, 'the explanation takes room on the page');
  await screenshot(page, 'package-no-cors');
  await page.context().close();

  // the package copied without its wasm: the element starts and says what is missing
  const broken = path.join(env.app, 'broken');
  fs.cpSync(path.join(env.app, 'node_modules', 'vmplay'), broken, { recursive: true });
  fs.rmSync(path.join(broken, 'pkg', 'vmwasm_bg.wasm'));
  const b = await openCoursePage('nowasm.html', { head: '<script type="module" src="broken/web/playground.js"></script>', body: element('broken/scenarios/cow_fork.vms') });
  const fail = b.page.locator('vm-playground .fail');
  await fail.waitFor({ timeout: 30_000 });
  const text = await fail.textContent();
  assert.match(text, /^The simulator could not start\./);
  assert.match(text, /loaded from http:\/\/127\.0\.0\.1:\d+\/broken\/pkg\/vmwasm_bg\.wasm.*application\/wasm.*CORS/);
  await b.page.context().close();
});
