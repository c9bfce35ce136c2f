// The event log: every step with what it printed and the events it caused,
// narrated in words (the core's Display of each event). Selecting an event
// points the other views at the frame or the address it touched.

import { count, h } from '../format.js';
import { failed } from '../outcome.js';

const GROUPS = {
  all: null,
  faults: new Set(['page_fault', 'fault_resolved', 'signal']),
  frames: new Set(['frame_alloc', 'huge_frame_alloc', 'frame_free', 'frame_copy']),
  tables: new Set(['table_alloc', 'table_free', 'pte_write', 'huge_demote', 'huge_collapse']),
  tlb: new Set(['tlb_miss', 'tlb_flush_page', 'tlb_flush_asid']),
  swap: new Set(['swap_out', 'swap_in', 'swap_readahead', 'oom_kill']),
  loans: new Set(['loan', 'loan_page', 'loan_refused', 'loan_break', 'loan_orphan', 'unloan']),
  map: new Set(['entry_insert', 'entry_remove', 'entry_split', 'entry_merge', 'amap_copy', 'page_drop', 'fork', 'exit']),
};

const CLASS = {
  page_fault: 'ev-fault',
  signal: 'ev-signal',
  fault_resolved: 'ev-resolved',
  frame_alloc: 'ev-frame',
  huge_frame_alloc: 'ev-frame',
  frame_free: 'ev-frame',
  frame_copy: 'ev-frame',
  table_alloc: 'ev-table',
  table_free: 'ev-table',
  pte_write: 'ev-table',
  huge_demote: 'ev-table',
  huge_collapse: 'ev-table',
  tlb_miss: 'ev-tlb',
  tlb_flush_page: 'ev-tlb',
  tlb_flush_asid: 'ev-tlb',
  syscall: 'ev-sys',
  swap_out: 'ev-swap',
  swap_in: 'ev-swap',
  swap_readahead: 'ev-swap',
  oom_kill: 'ev-oom',
  loan: 'ev-frame',
  loan_page: 'ev-frame',
  loan_refused: 'ev-signal',
  loan_break: 'ev-resolved',
  loan_orphan: 'ev-frame',
  unloan: 'ev-frame',
  syscall_return: 'ev-sys',
};

const STEPS_SHOWN = 80;
const EVENTS_SHOWN = 250;

export class EventLogView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.filter = 'all';
    this.selected = null; // "seq:index"
    this.expanded = new Set();
    const chips = Object.keys(GROUPS).map((g) =>
      h('button', { class: 'fchip' + (g === 'all' ? ' on' : ''), 'aria-pressed': g === 'all' ? 'true' : 'false', dataset: { group: g }, onclick: () => this.setFilter(g) }, g),
    );
    this.filters = h('div', { class: 'ev-filters', role: 'group', 'aria-label': 'Show events of kind' }, ...chips);
    // a log that is not read out as it grows (a step adds hundreds of events);
    // the step bar says what the step did
    this.list = h('div', { class: 'ev-list', role: 'log', 'aria-live': 'off', 'aria-label': 'Event log', tabindex: '0' });
    root.append(this.filters, this.list);
    this.list.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-ev]');
      if (b) return this.#select(b);
      const more = ev.target.closest('[data-more]');
      if (more) {
        const seq = Number(more.dataset.more);
        this.expanded.add(seq);
        const st = this.steps.find((x) => x.seq === seq);
        const old = this.groups.get(seq);
        if (st && old) old.replaceWith(this.#group(st, st === this.steps[this.steps.length - 1]));
      }
    });
    this.list.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
      const items = [...this.list.querySelectorAll('[data-ev]')];
      if (!items.length) return;
      ev.preventDefault();
      let i = items.findIndex((b) => b.dataset.ev === this.selected);
      i = i < 0 ? items.length - 1 : Math.max(0, Math.min(items.length - 1, i + (ev.key === 'ArrowDown' ? 1 : -1)));
      this.#select(items[i]);
      items[i].focus();
    });
  }

  setFilter(g) {
    this.filter = g;
    for (const c of this.filters.children) {
      const on = c.dataset.group === g;
      c.classList.toggle('on', on);
      c.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    this.dirty = true;
    this.render(this.steps);
  }

  #select(b) {
    this.selected = b.dataset.ev;
    for (const x of this.list.querySelectorAll('.ev.selected')) x.classList.remove('selected');
    b.classList.add('selected');
    const [seq, i] = b.dataset.ev.split(':').map(Number);
    const step = this.steps.find((s) => s.seq === seq);
    if (step) this.hooks.onSelectEvent(step.events[i], step);
  }

  /**
   * Show the steps. Appending steps to the same list only adds their
   * groups (and folds the group that was last); anything else redraws.
   * @param {Array} steps the session's steps
   */
  render(steps) {
    steps = steps || [];
    const incremental =
      this.steps === steps && this.drawnFilter === this.filter && this.drawn > 0 && steps.length >= this.drawn && steps.length - this.drawn < STEPS_SHOWN && !this.dirty;
    if (!incremental) {
      this.steps = steps;
      this.drawnFilter = this.filter;
      this.dirty = false;
      this.groups = new Map();
      const shown = steps.slice(-STEPS_SHOWN);
      const out = [];
      if (steps.length > shown.length) out.push(h('div', { class: 'ev-older muted' }, `${steps.length - shown.length} earlier steps not shown`));
      shown.forEach((st, k) => out.push(this.#group(st, k === shown.length - 1)));
      if (!steps.length) out.push(h('div', { class: 'empty-note' }, h('p', null, 'Run or step the scenario: every fault, frame allocation, PTE write and TLB flush shows here, in words.')));
      this.list.replaceChildren(...out);
    } else if (steps.length > this.drawn) {
      const prev = steps[this.drawn - 1];
      const old = this.groups.get(prev.seq);
      if (old) old.replaceWith(this.#group(prev, false));
      for (let i = this.drawn; i < steps.length; i++) this.list.append(this.#group(steps[i], i === steps.length - 1));
      while (this.groups.size > STEPS_SHOWN) {
        const [seq, el] = this.groups.entries().next().value;
        el.remove();
        this.groups.delete(seq);
      }
    }
    this.drawn = steps.length;
    // scroll after the frame's layout, not in the middle of a redraw
    cancelAnimationFrame(this.scrollFrame);
    this.scrollFrame = requestAnimationFrame(() => (this.list.scrollTop = this.list.scrollHeight));
  }

  #group(st, last) {
    const group = GROUPS[this.filter];
    const result = st.ok ? (st.output ? st.output.result : '') : `error: ${st.message}`;
    const head = h(
      'div',
      { class: 'ev-step' + (last ? ' last' : '') + (failed(st) ? ' failed' : ''), dataset: { seq: st.seq, line: st.line } },
      h('span', { class: 'ev-line' }, st.source === 'console' ? '›' : `L${st.line}`),
      h('span', { class: 'mono ev-src' }, st.text.replace(/#.*/, '').trim()),
      result ? h('span', { class: 'mono ev-res' + (failed(st) ? ' bad' : '') }, (failed(st) ? '✗ ' : '') + result) : null,
      h('span', { class: 'ev-count muted' }, `${count(st.events.length + (st.dropped || 0))} ev`),
    );
    const items = [];
    const limit = this.expanded.has(st.seq) ? Infinity : last ? EVENTS_SHOWN : 0;
    let hidden = 0;
    st.events.forEach((e, i) => {
      if (group && !group.has(e.type)) return;
      if (items.length >= limit) {
        hidden++;
        return;
      }
      const id = `${st.seq}:${i}`;
      items.push(
        h(
          'button',
          { class: `ev ${CLASS[e.type] || 'ev-map'}` + (this.selected === id ? ' selected' : ''), dataset: { ev: id, type: e.type } },
          h('span', { class: 'ev-type' }, e.type.replace(/_/g, ' ')),
          h('span', { class: 'ev-text' }, e.text),
        ),
      );
    });
    const more = hidden
      ? h('button', { class: 'linkish ev-more', dataset: { more: st.seq } }, `show ${count(hidden)} more event${hidden === 1 ? '' : 's'}`)
      : null;
    const dropped = st.dropped ? h('div', { class: 'ev-more muted' }, `${st.dropped} further events of this step were not kept`) : null;
    // a group, not a section: up to 80 steps must not be 80 landmarks
    const el = h('div', { class: 'ev-group', role: 'group', 'aria-label': `Step ${st.seq}` }, head, items.length ? h('div', { class: 'ev-items' }, items) : null, more, dropped);
    this.groups.set(st.seq, el);
    return el;
  }
}
