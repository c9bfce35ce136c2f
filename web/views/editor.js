// The scenario editor: a plain textarea over a highlighted copy of its text,
// a gutter with line numbers and step markers, and a column with what each
// executed line printed. Errors are shown at their line. A click on a line
// number runs to that line; from the keyboard, Ctrl+Enter runs to the line
// of the caret.

import { esc, h } from '../format.js';
import { failed } from '../outcome.js';

const OPS = new Set([
  'mmap', 'munmap', 'mprotect', 'madvise', 'mincore', 'mlock', 'munlock', 'mlockall', 'munlockall', 'msync', 'mremap',
  'load', 'store', 'fill', 'exec', 'fork', 'exit', 'open', 'memfd', 'pread', 'pwrite', 'ftruncate', 'close', 'maps', 'brk', 'mlock2',
  'swapon', 'swapoff', 'memlimit', 'swapped', 'procs', 'pagemap', 'smaps', 'faults',
  'expect',
]);

/** Highlight one line of .vms text as HTML. */
export function highlightLine(line) {
  const hash = line.indexOf('#');
  const code = hash >= 0 ? line.slice(0, hash) : line;
  const comment = hash >= 0 ? line.slice(hash) : '';
  let html = '';
  const re = /(\s+)|(p\d+:)|(\$[A-Za-z_][A-Za-z0-9_]*)|([A-Z][A-Z0-9_]*(?:\|[A-Z0-9_]+)*)|(0x[0-9a-fA-F]+[KMG]?|\d+[KMG]?)|(=)|([^\s]+)/g;
  let m;
  let firstWord = true;
  while ((m = re.exec(code))) {
    const [t] = m;
    if (m[1]) html += t;
    else if (m[2]) html += `<span class="t-proc">${esc(t)}</span>`;
    else if (m[3]) html += `<span class="t-var">${esc(t)}</span>`;
    else if (m[4]) html += `<span class="t-flag">${esc(t)}</span>`;
    else if (m[5]) html += `<span class="t-num">${esc(t)}</span>`;
    else if (m[6]) html += `<span class="t-eq">=</span>`;
    else if (firstWord && OPS.has(t)) {
      html += `<span class="t-op">${esc(t)}</span>`;
      firstWord = false;
    } else if (OPS.has(t)) html += `<span class="t-op">${esc(t)}</span>`;
    else html += esc(t).replace(/(\+)/g, '<span class="t-plus">+</span>');
  }
  if (comment) html += `<span class="t-com">${esc(comment)}</span>`;
  return html;
}

/** Line height in pixels (--lh in playground.css). */
const LH = 19;
/** Texts up to this many lines are drawn whole; longer ones by a window. */
const WINDOW_ALL = 400;
/** Rows drawn above and below the view. */
const WINDOW_MARGIN = 40;

export class EditorView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.gutter = h('div', { class: 'ed-gutter', 'aria-hidden': 'true' });
    this.hl = h('pre', { class: 'ed-hl', 'aria-hidden': 'true' });
    this.ta = h('textarea', {
      class: 'ed-ta',
      spellcheck: 'false',
      autocomplete: 'off',
      autocapitalize: 'off',
      wrap: 'off',
      'aria-label': 'Scenario in the .vms language',
      'aria-describedby': 'ed-keys',
      'aria-keyshortcuts': 'Control+Enter Control+Shift+Enter Alt+ArrowDown Alt+ArrowUp',
    });
    // the keys, in words: the textarea's description and a visible hint
    this.keys = h(
      'div',
      { class: 'ed-keys', id: 'ed-keys' },
      h('kbd', null, 'Ctrl+Enter'),
      ' runs to the caret’s line, ',
      h('kbd', null, 'Ctrl+Shift+Enter'),
      ' to the end; ',
      h('kbd', null, 'Alt+↓'),
      ' ',
      h('kbd', null, 'Alt+↑'),
      ' step',
    );
    this.res = h('div', { class: 'ed-res', 'aria-hidden': 'true' });
    this.main = h('div', { class: 'ed-main' }, this.hl, this.ta);
    this.box = h('div', { class: 'ed' }, this.gutter, this.main, this.res);
    this.status = h('div', { class: 'ed-status', role: 'status', 'aria-live': 'polite' });
    root.append(this.box, this.status, this.keys);
    this.ta.addEventListener('input', () => {
      this.#paint();
      this.hooks.onInput(this.ta.value);
    });
    this.scrollY = 0;
    this.scrollX = 0;
    this.ta.addEventListener('scroll', () => {
      this.scrollY = this.ta.scrollTop;
      this.scrollX = this.ta.scrollLeft;
      const [a, b] = this.#window(this.lineCount || 0);
      if (this.drawn && (a !== this.drawn[0] || b !== this.drawn[1])) this.#paint();
      else this.#sync();
    });
    new ResizeObserver((es) => (this.viewH = es[es.length - 1].contentRect.height)).observe(this.ta);
    this.ta.addEventListener('keydown', (ev) => {
      if (ev.key === 'Tab' && !ev.shiftKey && ev.ctrlKey) {
        ev.preventDefault();
        document.execCommand('insertText', false, '  ');
      } else if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.shiftKey && !ev.altKey) {
        // what a click on the caret's line number does (Ctrl+Shift+Enter
        // goes on to the playground: run to the end)
        ev.preventDefault();
        ev.stopPropagation();
        this.hooks.onRunTo(this.caretLine());
      }
    });
    // the result column is a glance: a click opens the line's full output
    this.res.addEventListener('click', (ev) => {
      const rl = ev.target.closest('[data-line]');
      if (rl && this.state.results.has(Number(rl.dataset.line))) this.hooks.onShowOutput?.(Number(rl.dataset.line));
    });
    this.gutter.addEventListener('click', (ev) => {
      const ln = ev.target.closest('[data-line]');
      if (ln) this.hooks.onRunTo(Number(ln.dataset.line));
    });
    this.state = { pc: 0, next: 0, error: null, results: new Map() };
  }

  get value() {
    return this.ta.value;
  }

  set value(text) {
    this.ta.value = text;
    this.#paint();
  }

  /** @param {{ pc, next, error, results: Map<number, step> }} st */
  update(st) {
    this.state = st;
    this.#paint();
    const e = st.error;
    if (e) {
      this.status.className = 'ed-status error';
      this.status.replaceChildren(h('b', null, `Line ${e.line}: `), e.message);
    } else if (st.next === 0 && st.pc > 0) {
      this.status.className = 'ed-status done';
      this.status.textContent = `Ran to the end (line ${st.pc}).`;
    } else if (st.pc > 0) {
      this.status.className = 'ed-status';
      this.status.textContent = `Executed up to line ${st.pc}; next is line ${st.next}.`;
    } else {
      this.status.className = 'ed-status';
      this.status.textContent = st.next ? 'Ready: nothing executed yet.' : 'Empty scenario.';
    }
    this.#revealLine(st.error ? st.error.line : st.pc || st.next);
  }

  #paint() {
    const lines = this.ta.value.split('\n');
    this.lineCount = lines.length;
    // room for the marker and every digit of the last line number
    const gw = `${Math.max(42, 20 + String(lines.length).length * 7.5)}px`;
    if (gw !== this.gw) {
      this.gw = gw;
      this.box.style.setProperty('--gw', gw);
    }
    const { pc, next, error, results } = this.state;
    // only the lines in view (and a margin) are drawn in the three columns,
    // so a 10,000-line scenario lays out a hundred rows, not 30,000
    const [a, b] = this.#window(lines.length);
    const g = [];
    const hl = [];
    const res = [];
    for (let i = a; i < b; i++) {
      const n = i + 1;
      const r = results.get(n);
      const isErr = error && error.line === n;
      const cls = isErr ? 'err' : n === pc ? 'cur' : r ? 'done' : n === next ? 'next' : '';
      const mark = isErr ? '✗' : n === pc ? '▶' : r ? '✓' : n === next ? '▷' : '';
      g.push(`<div class="gl ${cls}" data-line="${n}" title="Run to line ${n} (from the keyboard: Ctrl+Enter with the caret on the line)"><span class="gm">${mark}</span>${n}</div>`);
      hl.push(`<div class="hl-line ${cls}">${this.#highlighted(i, lines[i])}</div>`);
      res.push(`<div class="rl ${cls}" data-line="${n}">${this.#result(n, r, isErr ? error : null)}</div>`);
    }
    // the drawn rows start at row a: #sync moves them there (a padding of
    // a rows would make the columns, and the grid row, as tall as the text);
    // a step changes the marks of a line or two, and only those rows are
    // parsed (and laid out) again
    const put = (el, rows) => {
      const was = el.rowsCache;
      if (was && was.first === a && was.rows.length === rows.length && el.children.length === rows.length) {
        for (let i = 0; i < rows.length; i++) if (was.rows[i] !== rows[i]) el.children[i].outerHTML = rows[i];
      } else el.innerHTML = rows.join('');
      el.rowsCache = { first: a, rows };
    };
    put(this.gutter, g);
    put(this.hl, hl);
    put(this.res, res);
    this.drawn = [a, b];
    this.#sync();
  }

  /** The rows to draw: all of a short text, else those in view and a margin. */
  #window(n) {
    if (n <= WINDOW_ALL) return [0, n];
    const view = this.viewH || 600;
    const first = Math.max(0, Math.floor(this.scrollY / LH) - WINDOW_MARGIN);
    return [first, Math.min(n, first + Math.ceil(view / LH) + 2 * WINDOW_MARGIN)];
  }

  /** The result cell of line n (HTML), cached by the step it shows. */
  #result(n, r, error) {
    if (error) return `<span class="r-err" title="${esc(error.message)}">error</span>`;
    if (!r || !r.output) return '&nbsp;';
    if (r.cell) return r.cell;
    const bad = failed(r);
    const extra = r.output.extra && r.output.extra.length ? ` <span class="r-extra">+${r.output.extra.length}</span>` : '';
    r.cell = `<span class="${bad ? 'r-bad' : 'r-ok'}" title="${esc(r.output.text)}">${bad ? '✗ ' : ''}${esc(r.output.result)}</span>${extra}`;
    return r.cell;
  }

  /** Highlighted HTML of a line, cached while its text is unchanged. */
  #highlighted(i, line) {
    this.hlCache ??= [];
    const c = this.hlCache[i];
    if (c && c[0] === line) return c[1];
    const html = highlightLine(line) || ' ';
    this.hlCache[i] = [line, html];
    return html;
  }

  #sync() {
    const y = this.scrollY - (this.drawn ? this.drawn[0] : 0) * LH;
    const x = this.scrollX;
    this.hl.style.transform = `translate(${-x}px, ${-y}px)`;
    this.gutter.style.transform = `translateY(${-y}px)`;
    this.res.style.transform = `translateY(${-y}px)`;
  }

  #revealLine(n) {
    if (!n) return;
    const lh = LH;
    const top = (n - 1) * lh;
    const view = this.viewH || this.ta.clientHeight;
    if (top < this.scrollY || top + lh + 16 > this.scrollY + view) {
      // written, not read back: reading it would lay out every line now (the
      // scroll event corrects scrollY if the textarea clamps it)
      this.scrollY = Math.max(0, top - view / 3);
      this.ta.scrollTop = this.scrollY;
      const [a, b] = this.#window(this.lineCount || 0);
      if (this.drawn && (a !== this.drawn[0] || b !== this.drawn[1])) this.#paint();
      else this.#sync();
    }
  }

  /** The 1-based line the caret is on (the moving end of a selection). */
  caretLine() {
    const ta = this.ta;
    const at = ta.selectionDirection === 'backward' ? ta.selectionStart : ta.selectionEnd;
    return ta.value.slice(0, at).split('\n').length;
  }

  focus() {
    this.ta.focus();
  }

  /** No typing while a long run goes (the text must stay what runs). */
  setReadOnly(on) {
    this.ta.readOnly = on;
  }
}
