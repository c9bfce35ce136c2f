// Sharing and keeping a scenario: the Share dialog (a link holding the whole
// state, an iframe URL, an embed snippet), autosave of the editor to the
// browser's local storage, download and upload of .vms files, and a guard
// before a reload or a closed tab loses an edit nothing has kept.
//
// The playground calls these through small hooks; the state itself is
// written and read by permalink.js.

import { h } from './format.js';
import { encodeState } from './permalink.js';

/** The site the element was loaded from (web/ and pkg/ side by side). */
const SITE_URL = new URL('../', import.meta.url);

/** The key of the autosave in local storage (one per page path unless the page names one). */
export function autosaveKey(attr) {
  return `vmplay:autosave:${attr && attr !== 'true' ? attr : location.pathname}`;
}

/** The scenario and machine kept for `key`, or null (none, or storage off). */
export function loadAutosave(key) {
  try {
    const raw = localStorage.getItem(key);
    if (!raw) return null;
    const o = JSON.parse(raw);
    return o && typeof o.text === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Keep `data` ({ text, machine }) under `key`; false when the browser refuses. */
export function saveAutosave(key, data) {
  try {
    localStorage.setItem(key, JSON.stringify({ ...data, saved: Date.now() }));
    return true;
  } catch {
    return false;
  }
}

/** Offer `text` as a file to download. */
export function downloadText(name, text, type = 'text/plain') {
  downloadBlob(name, new Blob([text], { type: `${type};charset=utf-8` }));
}

export function downloadBlob(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name for a scenario: the example's, or one made of its first comment. */
export function scenarioName(text, example) {
  if (example) return example.replace(/\.vms$/, '') + '.vms';
  const first = /^#\s*([^\n]{1,60})/.exec(text);
  const stem = first ? first[1].toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) : '';
  return (stem || 'scenario') + '.vms';
}

/** Op lines of `text` up to and including line `line` (the `step` attribute's N). */
export function stepsTo(text, line) {
  let n = 0;
  text.split('\n').forEach((l, i) => {
    if (i < line && l.replace(/#.*/, '').trim()) n++;
  });
  return n;
}

/** The line of the `n`th op line of `text` (0 for none; the last one when there are fewer). */
export function lineOfStep(text, n) {
  let seen = 0;
  let at = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && seen < n; i++) {
    if (lines[i].replace(/#.*/, '').trim()) {
      seen++;
      at = i + 1;
    }
  }
  return at;
}

const attrEscape = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * What the Share dialog offers for a state: the link, the iframe URL and an
 * element snippet for a course page.
 * @param state a link state (permalink.js)
 * @param {{ base?: string, title: string }} where base: the page a link opens
 */
export async function shareTexts(state, { base, title }) {
  const code = await encodeState(state);
  const page = new URL(base || new URL('index.html', SITE_URL).href, location.href);
  page.hash = code;
  const frame = new URL('frame.html', SITE_URL);
  frame.searchParams.set('title', title);
  frame.hash = code;
  const m = state.machine;
  const attrs = [`label="${attrEscape(title)}"`, `frames="${m.frames}"`];
  if (m.tlbSets !== 16 || m.tlbWays !== 4) attrs.push(`tlb-sets="${m.tlbSets}"`, `tlb-ways="${m.tlbWays}"`);
  if (m.personality && m.personality !== 'linux') attrs.push(`personality="${attrEscape(m.personality)}"`);
  const steps = stepsTo(state.text, state.line);
  if (steps) attrs.push(`step="${steps}"`);
  if (state.views) attrs.push(`views="${state.views.join(',')}"`);
  const snippet =
    `<script type="module" src="${new URL('web/playground.js', SITE_URL).href}"></script>\n` +
    `<vm-playground ${attrs.join(' ')} style="height: 620px">\n<script type="text/plain">\n${state.text.replace(/<\/script/gi, '<\\/script').replace(/\n+$/, '')}\n</script>\n</vm-playground>\n`;
  const iframe = `<iframe src="${attrEscape(frame.href)}" title="${attrEscape(title)}" width="100%" height="620" style="border:0" loading="lazy"></iframe>`;
  return { code, link: page.href, frame: frame.href, iframe, snippet };
}

/**
 * The Share dialog: three read-only fields, each with its Copy button.
 * `fill(texts)` puts a state's texts in; the dialog is the caller's to open.
 */
export function shareDialog() {
  const status = h('p', { class: 'muted small share-status', role: 'status' });
  const field = (id, label, rows, hint) => {
    const ta = h('textarea', { class: 'share-text mono', id: `share-${id}`, rows, readonly: true, spellcheck: 'false' });
    const copy = h(
      'button',
      {
        class: 'btn small',
        type: 'button',
        'aria-label': `Copy the ${label.toLowerCase()}`,
        onclick: async () => {
          status.textContent = (await copyText(ta)) ? `${label} copied.` : `Select the ${label.toLowerCase()} and copy it (Ctrl+C): the browser did not allow copying.`;
        },
      },
      'Copy',
    );
    const box = h('div', { class: 'share-field' }, h('div', { class: 'share-head' }, h('label', { for: `share-${id}` }, label), copy), ta, hint ? h('p', { class: 'muted small' }, hint) : null);
    return { ta, box };
  };
  const link = field('link', 'Link', 2, 'Opens this scenario, machine, step, selection and views. Everything is in the link: nothing is kept on a server.');
  const frame = field('iframe', 'Iframe', 3, 'For a page that takes only iframes (a learning platform).');
  const snippet = field('snippet', 'Embed snippet', 6, 'For a course page: the element, with the scenario written in the page.');
  const dialog = h(
    'dialog',
    { class: 'help share', 'aria-labelledby': 'share-title' },
    h('h3', { id: 'share-title' }, 'Share'),
    link.box,
    frame.box,
    snippet.box,
    status,
    h('form', { method: 'dialog' }, h('button', { class: 'btn' }, 'Close')),
  );
  return {
    dialog,
    fill(texts) {
      link.ta.value = texts.link;
      frame.ta.value = texts.iframe;
      snippet.ta.value = texts.snippet;
      status.textContent = '';
    },
  };
}

async function copyText(ta) {
  try {
    await navigator.clipboard.writeText(ta.value);
    return true;
  } catch {
    ta.focus();
    ta.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/**
 * Ask before the page goes away while `unsaved()` says an edit would be
 * lost (the browser shows its own question). Returns the listener's remover.
 */
export function guardUnload(unsaved) {
  const onBefore = (ev) => {
    if (!unsaved()) return;
    ev.preventDefault();
    ev.returnValue = '';
  };
  window.addEventListener('beforeunload', onBefore);
  return () => window.removeEventListener('beforeunload', onBefore);
}
