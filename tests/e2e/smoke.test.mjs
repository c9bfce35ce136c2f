// Smoke test: the built site loads the wasm module in a real browser, shows
// the simulator's version and logs no error. Needs `make build` (www/pkg).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteAndBrowser, newPage, screenshot } from './harness.mjs';

const env = siteAndBrowser();

test('the wasm module is served as application/wasm', async () => {
  const res = await fetch(new URL('pkg/vmwasm_bg.wasm', env.site.url));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/wasm');
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.deepEqual([...bytes.slice(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'wasm magic');
});

test('index.html loads the wasm and shows the version, with no errors', { timeout: 60_000 }, async () => {
  const { page, errors } = await newPage(env.browser);
  await page.goto(new URL('index.html', env.site.url).href, { waitUntil: 'load' });
  // The page sets <body data-ready="1"> once the wasm runs ("error" if it
  // could not start); report what it said and every error it logged.
  let ready;
  try {
    await page.waitForFunction(
      () => ['1', 'error'].includes(document.body?.dataset.ready ?? ''),
      null,
      { timeout: 30_000 },
    );
  } catch {
    // timed out: fall through with whatever the page says now
  } finally {
    ready = await page.evaluate(() => document.body?.dataset.ready ?? null);
    await screenshot(page, 'smoke-index');
  }
  assert.equal(ready, '1',
    `body[data-ready] is ${JSON.stringify(ready)}, not "1"; errors:\n${errors.join('\n')}`);
  const version = (await page.textContent('#vm-version'))?.trim();
  assert.match(version ?? '', /^\d+\.\d+\.\d+/, `#vm-version shows a version (got ${JSON.stringify(version)})`);
  assert.deepEqual(errors, [], 'no console errors, page errors or failed requests');
  await page.context().close();
});
