// The output pane: every executed line's full output, in order: its result,
// the further lines `maps` prints, a long `mincore` unabridged, and for a
// failure what it means. A list a keyboard and a screen reader can read
// (the editor's result column is only a glance of it). Not a live region:
// the step bar already says what the last line did.

import { count, h } from '../format.js';
import { failure, resultText, FAILURE_TEXT } from '../outcome.js';

/** Steps drawn at most (the latest); earlier ones are counted. */
export const OUTPUT_SHOWN = 200;

export class OutputView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.count = h('span', { class: 'out-count muted' });
    this.list = h('ol', { class: 'out-list', role: 'list', 'aria-label': 'Output of the executed lines', tabindex: '0' });
    this.toggle = h('button', { class: 'out-sum', 'aria-expanded': 'true', 'aria-controls': 'out-list', onclick: () => this.setOpen(this.toggle.getAttribute('aria-expanded') !== 'true') }, 'Output ', this.count);
    this.list.id = 'out-list';
    this.pane = h('div', { class: 'out open' }, this.toggle, this.list);
    root.append(this.pane);
    this.items = new Map();
    this.steps = null;
    this.drawn = 0;
  }

  /** Show the session's steps; appending only adds items. */
  render(steps) {
    const incremental = this.steps === steps && steps.length >= this.drawn && steps.length - this.drawn < OUTPUT_SHOWN;
    if (!incremental) {
      this.steps = steps;
      this.items = new Map();
      const shown = steps.slice(-OUTPUT_SHOWN);
      const out = [];
      if (steps.length > shown.length) out.push(h('li', { class: 'out-older muted' }, `${count(steps.length - shown.length)} earlier lines not shown`));
      for (const st of shown) out.push(this.#item(st));
      if (!steps.length) out.push(h('li', { class: 'out-empty muted' }, 'Nothing executed yet: Run or Step the scenario, and each line’s output shows here in full.'));
      this.list.replaceChildren(...out);
    } else {
      for (let i = this.drawn; i < steps.length; i++) this.list.append(this.#item(steps[i]));
      let extra = this.list.children.length - OUTPUT_SHOWN;
      while (extra-- > 0 && this.list.firstElementChild) this.list.firstElementChild.remove();
    }
    this.drawn = steps.length;
    this.count.textContent = steps.length ? `(${count(steps.length)} ${steps.length === 1 ? 'line' : 'lines'})` : '';
    // scroll after the frame's layout, not in the middle of a redraw
    cancelAnimationFrame(this.scrollFrame);
    this.scrollFrame = requestAnimationFrame(() => (this.list.scrollTop = this.list.scrollHeight));
  }

  /** Open the pane at the output of editor line `line`. */
  reveal(line) {
    this.setOpen(true);
    const li = [...this.list.querySelectorAll('li[data-line]')].reverse().find((x) => Number(x.dataset.line) === line);
    if (!li) return;
    for (const x of this.list.querySelectorAll('li.hl')) x.classList.remove('hl');
    li.classList.add('hl');
    li.scrollIntoView({ block: 'nearest' });
  }

  /** Show or fold the list (the button says which). */
  setOpen(open) {
    this.toggle.setAttribute('aria-expanded', String(open));
    this.pane.classList.toggle('open', open);
    this.list.hidden = !open;
  }

  #item(st) {
    const kind = failure(st);
    const where = st.source === 'console' ? 'console' : `line ${st.line}`;
    const li = h(
      'li',
      { class: 'out-item' + (kind ? ' failed' : ''), dataset: st.source === 'console' ? { seq: st.seq } : { seq: st.seq, line: st.line } },
      h('div', { class: 'out-head' }, h('span', { class: 'out-where' }, where), h('code', { class: 'out-src' }, st.text.replace(/#.*/, '').trim())),
      h('pre', { class: 'out-res mono' + (kind ? ' bad' : '') }, (kind ? '✗ ' : '') + resultText(st) + (st.ok && st.output && st.output.extra.length ? '\n' + st.output.extra.join('\n') : '')),
      kind ? h('div', { class: 'out-why' }, FAILURE_TEXT[kind]) : null,
    );
    this.items.set(st.seq, li);
    return li;
  }
}
