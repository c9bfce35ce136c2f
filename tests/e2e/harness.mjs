// Helpers for the browser end-to-end tests (node --test tests/e2e/).
//
//   import { serveSite, launchBrowser, newPage, screenshot } from './harness.mjs';
//   const site = await serveSite();            // www/, or $VMPLAY_E2E_URL
//   const browser = await launchBrowser();
//   const { page, errors } = await newPage(browser);
//   await page.goto(site.url + 'index.html');
//   ...
//   assert.deepEqual(errors, []);
//   await screenshot(page, 'name');           // test-results/name.png
//   await browser.close(); await site.close();
//
// or, for a whole test file, `const env = siteAndBrowser();` (env.site,
// env.browser), and `openPlayground(env.browser, env.site)` for the page.
//
// The browser is Debian's /usr/bin/chromium driven by playwright-core (never
// `npx playwright install`: it downloads a browser, which fails here).
import fs from 'node:fs';
import os from 'node:os';
import { before, after } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer as startStaticServer } from '../../scripts/static-server.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const wwwDir = path.join(repoRoot, 'www');
export const resultsDir = path.join(repoRoot, 'test-results');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A node static server for `root` on 127.0.0.1 at a free port, with correct
 * MIME types (application/wasm, text/javascript).
 * @returns {Promise<{url: string, close: () => Promise<void>}>} url ends in '/'
 */
export async function startServer(root = wwwDir) {
  const { url, close } = await startStaticServer(root, { port: 0 });
  return { url, close };
}

/**
 * The built site: the server `make test` started (VMPLAY_E2E_URL), or a fresh
 * one on www/ when the tests run on their own (`node --test tests/e2e/`).
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function serveSite() {
  const given = process.env.VMPLAY_E2E_URL;
  if (given) return { url: given.endsWith('/') ? given : given + '/', close: async () => {} };
  if (!fs.existsSync(path.join(wwwDir, 'pkg'))) {
    throw new Error('www/pkg is missing: run `make build` first');
  }
  return startServer(wwwDir);
}

/**
 * Headless Chromium with a fresh profile: playwright's launch() makes a new
 * temporary user-data dir for each browser and deletes it on close.
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
  });
}

/**
 * A new page (in its own context) that records every console error, uncaught
 * page error, failed request and HTTP error response in `errors`, so a test
 * can assert `errors` is empty.
 * @param {import('playwright-core').Browser} browser
 * @param {import('playwright-core').BrowserContextOptions} [contextOptions]
 * @returns {Promise<{page: import('playwright-core').Page, errors: string[]}>}
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    ...contextOptions,
  });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      errors.push(`console.error: ${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack || err.message || err}`));
  page.on('requestfailed', (req) =>
    errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`http ${res.status()}: ${res.url()}`);
  });
  page.errors = errors;
  return { page, errors };
}

/**
 * Save a full-page PNG to test-results/NAME.png (git-ignored) and return its path.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A fresh temporary folder (for tests that need one). */
export function tempDir(prefix = 'vmplay-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---- the playground page (index.html) ---------------------------------------

/** A page with the playground of `site` loaded and ready: `{ page, errors }`. */
export async function openPlayground(browser, site, viewport = { width: 1440, height: 900 }) {
  const { page, errors } = await newPage(browser, { viewport });
  await page.goto(new URL('index.html', site.url).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return { page, errors };
}

/** Load an example from the gallery and wait until the editor holds it. */
export async function loadExample(page, file) {
  const text = fs.readFileSync(path.join(wwwDir, 'scenarios', file), 'utf8');
  await page.locator('vm-playground select[aria-label="Example scenarios"]').selectOption(file);
  await page.waitForFunction((t) => document.querySelector('vm-playground').sessionObject.text === t, text);
  return text;
}

/** The playground's button named exactly `name`. */
export const button = (page, name) => page.locator('vm-playground').getByRole('button', { name, exact: true });

/**
 * For the tests of one file: the site served and a browser launched before
 * them (node:test hooks), both closed after. `site` and `browser` of the
 * returned object are set once the `before` hook has run.
 */
export function siteAndBrowser() {
  const env = { site: null, browser: null };
  before(async () => {
    env.site = await serveSite();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.site?.close();
  });
  return env;
}
