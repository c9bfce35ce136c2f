// <vm-compare>: one scenario under two or three kernels, side by side, with
// what differs marked (by a word and a sign, not by colour alone):
//
//   <script type="module" src="web/compare.js"></script>
//   <vm-compare scenario="scenarios/compare_kernels.vms" kernels="linux,freebsd,netbsd"></vm-compare>
//
// Attributes: scenario (a URL, or the text itself; or a <script
// type="text/plain"> child), kernels (two or three of linux, freebsd,
// netbsd; default all three), no-gallery. The element fires vm-ready once
// the first comparison is drawn and vm-compared after each one.
//
// What it shows: the results table (one row per line, one column per
// kernel; a row whose results differ is marked), then one column per kernel
// with each process's map entries (a strip over the arena, and the same
// entries as a table: the text alternative) and the frame counts. The
// columns stack when the element is narrow (a course column, a phone).
// It runs each kernel on a machine of its own (comparison.js).

import { loadVm } from './vm.js';
import { h, s, size, ARENA, ARENA_END } from './format.js';
import { BACKING, backingKind } from './palette.js';
import { KERNELS, KERNEL_NAMES, kernelName, personalityOf } from './kernels.js';
import { runUnder, differences, opLines, frameKinds, MAX_COMPARE_LINES } from './comparison.js';
import { GLOSSARY } from './glossary.js';

const SCENARIOS_URL = new URL('../scenarios/', import.meta.url);
const STYLE_URL = new URL('./compare.css', import.meta.url);

const DEFAULT_SCENARIO = `# The same calls under each kernel.
$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
store $a 0x41
madvise $a 4K MADV_DONTNEED
load $a
maps
`;

let seq = 0;

export class VmCompare extends HTMLElement {
  connectedCallback() {
    if (this.started) return;
    this.started = true;
    this.uid = `cmp${++seq}`;
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    if (!this.hasAttribute('aria-label') && !this.hasAttribute('aria-labelledby')) this.setAttribute('aria-label', 'Kernels side by side');
    const inline = this.querySelector('script[type="text/plain"], script[type="text/vms"]');
    this.inlineText = inline ? dedent(inline.textContent) : null;
    this.#build();
    this.#start().catch((err) => this.#fail(err));
  }

  /** The kernels compared, in the page's order. */
  get kernels() {
    return KERNEL_NAMES.filter((k) => this.boxes[k].checked);
  }

  /** The last comparison: { runs, diff } (for pages and tests). */
  get comparison() {
    return this.last;
  }

  /** Replace the scenario text and compare again. */
  setScenario(text) {
    this.text.value = text;
    this.gallery.value = '';
    return this.compare();
  }

  // ---- building -------------------------------------------------------------

  #build() {
    const id = (x) => `${this.uid}-${x}`;
    const wanted = (this.getAttribute('kernels') || KERNEL_NAMES.join(','))
      .split(/[\s,]+/)
      .map(kernelName)
      .filter(Boolean);
    const chosen = wanted.length >= 2 ? wanted : KERNEL_NAMES;
    this.boxes = {};
    const kernelBoxes = KERNEL_NAMES.map((k) => {
      this.boxes[k] = h('input', { type: 'checkbox', name: 'kernel', value: k, checked: chosen.includes(k) });
      this.boxes[k].addEventListener('change', () => this.compare());
      return h('label', { class: 'cmp-kernel' }, this.boxes[k], KERNELS[k].label);
    });
    this.gallery = h('select', { id: id('ex'), class: 'cmp-sel' }, h('option', { value: '' }, 'Examples…'));
    this.gallery.addEventListener('change', () => this.#pickExample(this.gallery.value));
    this.button = h('button', { type: 'submit', class: 'cmp-btn' }, 'Compare');
    const bar = h(
      'form',
      { class: 'cmp-bar', 'aria-label': 'Comparison controls' },
      h('label', { class: 'cmp-ex', hidden: this.hasAttribute('no-gallery') }, 'Example ', this.gallery),
      h('fieldset', { class: 'cmp-kernels' }, h('legend', null, 'Kernels'), ...kernelBoxes),
      this.button,
    );
    bar.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.compare();
    });
    this.text = h('textarea', { id: id('text'), class: 'cmp-text', rows: 9, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': id('text-hint') });
    this.text.addEventListener('keydown', (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
        ev.preventDefault();
        this.compare();
      }
    });
    const editor = h(
      'div',
      { class: 'cmp-editor' },
      h('label', { for: id('text'), class: 'cmp-label' }, 'Scenario (.vms)'),
      this.text,
      h('p', { id: id('text-hint'), class: 'cmp-hint' }, 'Each kernel runs the whole text on a machine of its own. A personality line at the top is replaced by each kernel’s. Ctrl+Enter compares.'),
    );
    this.summary = h('p', { class: 'cmp-summary', role: 'status', 'aria-live': 'polite' }, 'Loading the simulator…');
    this.onlyDiff = h('input', { type: 'checkbox' });
    this.onlyDiff.addEventListener('change', () => this.#drawLines());
    this.linesBox = h('div', { class: 'cmp-scroll', role: 'region', 'aria-labelledby': id('h-lines'), tabindex: '0' });
    this.colsBox = h('div', { class: 'cmp-cols' });
    const style = h('link', { rel: 'stylesheet', href: STYLE_URL.href });
    this.replaceChildren(
      style,
      h(
        'div',
        { class: 'cmp' },
        bar,
        editor,
        this.summary,
        h(
          'section',
          { class: 'cmp-part', 'aria-labelledby': id('h-lines') },
          h('div', { class: 'cmp-head' }, h('h2', { id: id('h-lines') }, 'Results, line by line'), h('label', { class: 'cmp-only' }, this.onlyDiff, 'Only the lines that differ')),
          this.linesBox,
        ),
        h('section', { class: 'cmp-part', 'aria-labelledby': id('h-state') }, h('div', { class: 'cmp-head' }, h('h2', { id: id('h-state') }, 'At the end: map entries and frames')), this.colsBox),
      ),
    );
  }

  async #start() {
    this.vm = await loadVm();
    this.text.value = await this.#loadScenario();
    this.#loadGallery();
    this.compare();
    this.dataset.ready = '1';
    this.dispatchEvent(new CustomEvent('vm-ready', { bubbles: true }));
  }

  #fail(err) {
    console.error(err);
    this.summary.replaceChildren(h('b', null, 'The comparison could not run. '), String(err && err.message ? err.message : err));
    this.summary.classList.add('bad');
    this.dataset.ready = 'error';
    this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, detail: err }));
  }

  async #loadScenario() {
    const attr = this.getAttribute('scenario');
    if (attr !== null && attr.trim()) {
      const v = attr.trim();
      if (/\s/.test(v) || v.startsWith('#') || v.startsWith('$')) return attr.replace(/^\n+/, '');
      const res = await fetch(new URL(v, document.baseURI));
      if (!res.ok) throw new Error(`scenario ${v}: HTTP ${res.status}`);
      return res.text();
    }
    return this.inlineText ?? DEFAULT_SCENARIO;
  }

  async #loadGallery() {
    if (this.hasAttribute('no-gallery')) return;
    try {
      const res = await fetch(new URL('index.json', SCENARIOS_URL));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const list = await res.json();
      // the comparison examples first, then the rest of the gallery
      const first = list.filter((x) => x.compare);
      const rest = list.filter((x) => !x.compare);
      this.gallery.append(
        first.length ? h('optgroup', { label: 'Made to compare' }, first.map((x) => h('option', { value: x.file }, x.title))) : '',
        h('optgroup', { label: 'The gallery' }, rest.map((x) => h('option', { value: x.file }, x.title))),
      );
    } catch {
      this.gallery.closest('label').hidden = true;
    }
  }

  async #pickExample(file) {
    if (!file) return;
    const res = await fetch(new URL(file, SCENARIOS_URL));
    if (!res.ok) return this.#fail(new Error(`scenario ${file}: HTTP ${res.status}`));
    this.text.value = await res.text();
    this.compare();
    this.gallery.value = file;
  }

  // ---- comparing ------------------------------------------------------------

  /** Run the text under every chosen kernel and draw what differs. */
  compare() {
    if (!this.vm) return null;
    const kernels = this.kernels;
    if (kernels.length < 2) {
      this.summary.textContent = 'Choose at least two kernels to compare.';
      this.summary.classList.add('bad');
      return null;
    }
    const text = this.text.value;
    const n = opLines(text);
    if (n > MAX_COMPARE_LINES) {
      this.summary.textContent = `This scenario has ${n.toLocaleString('en')} lines to run; a comparison runs at most ${MAX_COMPARE_LINES.toLocaleString('en')} (the playground runs longer ones). Nothing was compared.`;
      this.summary.classList.add('bad');
      this.linesBox.replaceChildren();
      this.colsBox.replaceChildren();
      this.last = null;
      return null;
    }
    let runs;
    try {
      runs = kernels.map((k) => runUnder(this.vm, text, k));
    } catch (err) {
      this.#fail(err);
      return null;
    }
    this.last = { text, runs, diff: differences(runs) };
    this.#drawSummary();
    this.#drawLines();
    this.#drawColumns();
    this.dispatchEvent(new CustomEvent('vm-compared', { bubbles: true, detail: this.last }));
    return this.last;
  }

  #drawSummary() {
    const { runs, diff, text } = this.last;
    const names = runs.map((r) => KERNELS[r.kernel].label);
    const c = diff.count;
    const parts = [];
    parts.push(c.lines ? `${c.lines} of ${diff.lines.size} ${diff.lines.size === 1 ? 'line gives' : 'lines give'} different results` : `all ${diff.lines.size} lines give the same results`);
    parts.push(c.entries || c.procs ? `the map entries differ${c.procs ? ' (and which processes exist)' : ''}` : 'the map entries are the same');
    parts.push(c.frames ? `the frame counts differ (${[...diff.frames].join(', ')})` : 'the frame counts are the same');
    const given = personalityOf(text);
    const broken = runs.filter((r) => r.check);
    this.summary.classList.toggle('bad', broken.length > 0);
    this.summary.replaceChildren(
      h('b', null, `${names.join(' · ')}: `),
      parts.join('; ') + '.',
      given ? ` (The scenario’s “personality ${given}” line is run as each kernel’s.)` : '',
      ...broken.map((r) => h('span', { class: 'cmp-bad' }, ` ✗ ${KERNELS[r.kernel].label}: an invariant of the machine broke: ${r.check}`)),
    );
    this.dataset.differences = String(c.lines + c.entries + c.procs + c.frames);
  }

  #drawLines() {
    const { runs, diff } = this.last;
    const only = this.onlyDiff.checked;
    const byLine = runs.map((r) => new Map(r.results.map((x) => [x.line, x])));
    const rows = [];
    for (const [line, differs] of diff.lines) {
      if (only && !differs) continue;
      const any = byLine.find((m) => m.has(line)).get(line);
      rows.push(
        h(
          'tr',
          { class: differs ? 'differs' : null, dataset: { line }, role: 'row' },
          h('th', { scope: 'row', class: 'cmp-ln', role: 'rowheader' }, String(line), differs ? h('span', { class: 'cmp-mark', title: 'the kernels differ here' }, ' ≠', h('span', { class: 'sr-only' }, ' (differs)')) : ''),
          h('td', { class: 'cmp-code', role: 'cell' }, h('code', null, any.text.replace(/\s+#.*$/, '').trim())),
          ...byLine.map((m, i) => {
            const r = m.get(line);
            if (!r) return h('td', { class: 'cmp-res muted', role: 'cell', dataset: { kernel: runs[i].kernel, label: KERNELS[runs[i].kernel].label } }, 'not run');
            const extra = r.extra && r.extra.length ? h('pre', { class: 'cmp-extra' }, r.extra.join('\n')) : '';
            return h(
              'td',
              { class: `cmp-res${r.failure ? ' failed' : ''}`, role: 'cell', dataset: { kernel: runs[i].kernel, label: KERNELS[runs[i].kernel].label, failure: r.failure || '' } },
              h('code', { class: r.result.length > 36 ? 'long' : null }, (r.failure ? '✗ ' : '') + r.result),
              extra,
            );
          }),
        ),
      );
    }
    const table = h(
      'table',
      { class: 'cmp-lines', role: 'table' },
      h('caption', { class: 'sr-only' }, `Each line’s result under ${runs.map((r) => KERNELS[r.kernel].label).join(', ')}; rows marked “differs” give different results.`),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, ['Line', 'Scenario', ...runs.map((r) => KERNELS[r.kernel].label)].map((t) => h('th', { scope: 'col', role: 'columnheader' }, t)))),
      h('tbody', { role: 'rowgroup' }, rows.length ? rows : h('tr', { role: 'row' }, h('td', { colspan: 2 + runs.length, class: 'muted', role: 'cell' }, only ? 'No line differs.' : 'No line to run.'))),
    );
    this.linesBox.replaceChildren(table);
  }

  #drawColumns() {
    const { runs, diff } = this.last;
    // one scale per process over the arena, shared by the columns, so that
    // the same range sits at the same place in each: every entry boundary
    // any kernel has is a tick, ticks evenly spaced (not to scale, so a
    // page-sized entry is as visible as a gigabyte)
    const scale = new Map();
    for (const r of runs) {
      for (const p of r.procs) {
        const ticks = scale.get(p.name) || new Set();
        for (const e of p.entries.filter(inArena)) ticks.add(Number(e.start)).add(Number(e.end));
        scale.set(p.name, ticks);
      }
    }
    for (const [name, ticks] of scale) scale.set(name, ticks.size ? [...ticks].sort((a, b) => a - b) : null);
    const cols = runs.map((r) => {
      const k = KERNELS[r.kernel];
      const hid = `${this.uid}-k-${r.kernel}`;
      const procs = r.procs.length
        ? r.procs.map((p) => this.#process(r, p, scale.get(p.name), diff))
        : [h('p', { class: 'muted' }, 'No process is left.')];
      const missing = [...diff.procs].filter(([name, odd]) => odd && !r.procs.some((p) => p.name === name)).map(([name]) => name);
      return h(
        'section',
        { class: 'cmp-col', 'aria-labelledby': hid, dataset: { kernel: r.kernel } },
        h('h3', { id: hid }, k.label),
        h('p', { class: 'cmp-struct' }, 'Map entries are ', h('b', null, k.structure), '.'),
        GLOSSARY[k.term] ? h('details', { class: 'cmp-def' }, h('summary', null, `How ${k.label} keeps a map`), h('p', null, GLOSSARY[k.term].text)) : '',
        ...procs,
        ...missing.map((name) => h('p', { class: 'differs cmp-gone' }, h('span', { class: 'cmp-mark' }, '≠ '), `No process ${name} here (the other kernels have one).`)),
        this.#frames(r, diff),
      );
    });
    this.colsBox.replaceChildren(...cols);
    this.colsBox.dataset.n = String(runs.length);
  }

  #process(run, p, sc, diff) {
    const odd = diff.entries.get(`${run.kernel}:${p.name}`) || new Set();
    const tid = `${this.uid}-${run.kernel}-${p.name}`;
    const arena = p.entries.filter(inArena);
    const strip = sc && arena.length ? entryStrip(arena, sc, odd) : null;
    const rows = p.entries.map((e) =>
      h(
        'tr',
        { class: odd.has(e.key) ? 'differs' : null, dataset: { key: e.key } },
        h('td', { class: 'mono cmp-range' }, h('span', null, e.start), h('span', null, `–${e.end}`), h('span', { class: 'muted' }, size(Number(e.end) - Number(e.start)), inArena(e) ? '' : ', outside the arena')),
        h('td', { class: 'mono' }, e.perms),
        h('td', null, e.backing),
        h('td', { class: 'cmp-flag' }, flag(odd.has(e.key))),
      ),
    );
    return h(
      'div',
      { class: 'cmp-proc', dataset: { proc: p.name } },
      h('h4', { id: tid }, `${p.name} (pid ${p.pid}): ${p.entries.length} ${p.entries.length === 1 ? 'entry' : 'entries'}${odd.size ? `, ${odd.size} not in every kernel` : ''}`),
      strip,
      h(
        'div',
        { class: 'cmp-scroll', role: 'region', 'aria-labelledby': tid, tabindex: '0' },
        h(
          'table',
          { class: 'cmp-maps' },
          h('caption', { class: 'sr-only' }, `Map entries of ${p.name} under ${KERNELS[run.kernel].label}; the diagram above draws the ones in the arena.`),
          h('thead', null, h('tr', null, ...['Range', 'Perms', 'Backing', 'Diff'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, rows),
        ),
      ),
    );
  }

  #frames(run, diff) {
    const tid = `${this.uid}-${run.kernel}-frames`;
    return h(
      'div',
      { class: 'cmp-frames' },
      h('h4', { id: tid }, `Frames (${run.frames.total.toLocaleString('en')} in all)`),
      h(
        'table',
        { class: 'cmp-fr', 'aria-labelledby': tid },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Frames'), h('th', { scope: 'col' }, 'Diff'))),
        h(
          'tbody',
          null,
          frameKinds(this.last.runs).map(([k, label]) =>
            h(
              'tr',
              { class: diff.frames.has(k) ? 'differs' : null, dataset: { kind: k } },
              h('th', { scope: 'row' }, label),
              h('td', { class: 'num' }, (run.frames[k] ?? 0).toLocaleString('en')),
              h('td', { class: 'cmp-flag' }, flag(diff.frames.has(k))),
            ),
          ),
        ),
      ),
    );
  }
}

/** The mark of a row that differs from the other kernels: a sign, and the word for screen readers. */
function flag(differs) {
  return differs
    ? h('span', { class: 'cmp-mark', title: 'differs: not the same in every kernel' }, '≠', h('span', { class: 'sr-only' }, ' differs'))
    : h('span', { class: 'muted', title: 'the same in every kernel' }, '=', h('span', { class: 'sr-only' }, ' same'));
}

function inArena(e) {
  return Number(e.start) >= ARENA && Number(e.start) < ARENA_END;
}

/**
 * The process's entries in the arena as one strip, on the ticks all the
 * columns share (see #drawColumns). A decoration: the table under it says the same in words.
 */
function entryStrip(entries, ticks, odd) {
  const W = 600;
  const H = 26;
  const x = (v) => (ticks.indexOf(Number(v)) / Math.max(1, ticks.length - 1)) * W;
  return s(
    'svg',
    { class: 'cmp-strip', viewBox: `0 0 ${W} ${H + 4}`, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
    s('rect', { x: 0, y: H / 2 - 1, width: W, height: 2, class: 'cmp-axis' }),
    ...entries.map((e) => {
      const x0 = x(e.start);
      const w = Math.max(2, x(e.end) - x0);
      const differs = odd.has(e.key);
      return s(
        'g',
        { class: differs ? 'differs' : null },
        s('rect', { x: x0 + 0.5, y: 2, width: Math.max(1, w - 1), height: H - 2, fill: BACKING[backingKind(e.backing)].color, class: 'cmp-entry' }),
        differs ? s('rect', { x: x0 + 1.5, y: 3, width: Math.max(1, w - 3), height: H - 4, class: 'cmp-odd' }) : null,
      );
    }),
  );
}

function dedent(text) {
  const lines = text.replace(/^\n+/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)[0].length));
  return lines.map((l) => l.slice(indent)).join('\n') + '\n';
}

if (!customElements.get('vm-compare')) customElements.define('vm-compare', VmCompare);
