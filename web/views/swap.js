// Memory under pressure, a section of the physical-memory panel: the frames
// charged against the memory limit, the swap area slot by slot (taken,
// in the swap cache, free) and the two LRU lists of anonymous pages with
// each page's referenced bit, oldest first (the end reclaim takes from).
// Everything comes from one call, Machine.swapView(); the section stays
// hidden until a scenario turns swap on or sets a limit. Each diagram is an
// image with its words in aria-label, and a table under "As a table" says
// the same slot by slot; the LRU pages and the slots' owners are buttons
// that select their frame or page.

import { count, h, hex, size } from '../format.js';

/** Slots drawn as cells (a 1 GiB area has 262,143: the rest are counted). */
const SLOTS_DRAWN = 512;
/** Pages of each LRU list drawn, oldest first. */
const LRU_DRAWN = 48;
/** Rows of the slot table. */
const TABLE_ROWS = 64;

export class SwapPanelView {
  /**
   * @param root the element to fill (a section of the memory panel)
   * @param {{ onSelectFrame: (pfn) => void, onSelectPage: (pid, va) => void }} hooks
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.root.hidden = true;
    this.title = h('h3', { class: 'sw-title', id: 'h-swap' }, 'Swap and reclaim');
    this.limit = h('div', { class: 'sw-limit', role: 'img' });
    this.slots = h('div', { class: 'sw-slots', role: 'img' });
    this.lru = h('div', { class: 'sw-lru', role: 'group', 'aria-label': 'LRU lists of anonymous pages, oldest first' });
    this.table = h('div', { class: 'sw-table' });
    this.details = h('details', { class: 'sw-details' }, h('summary', null, 'As a table'), this.table);
    root.setAttribute('aria-labelledby', 'h-swap');
    root.append(this.title, this.limit, this.slots, this.lru, this.details);
    root.addEventListener('click', (ev) => this.#click(ev));
  }

  /**
   * @param v the machine's swapView()
   * @param names pid -> process name
   */
  update(v, names) {
    const shown = v.on || v.limit !== null;
    this.root.hidden = !shown;
    if (!shown) return;
    const key = JSON.stringify(v);
    if (key === this.key) return;
    this.key = key;
    this.names = names;
    this.#drawLimit(v);
    this.#drawSlots(v);
    this.#drawLru(v);
    this.#drawTable(v);
  }

  /** Frames in use against the limit (or against all of memory), and what is free. */
  #drawLimit(v) {
    const cap = v.limit ?? v.total_frames;
    const used = Math.min(v.usage, cap);
    const pct = cap ? (100 * used) / cap : 0;
    const words = v.limit === null ? `no memory limit; ${v.usage} of ${v.total_frames} frames in use` : `${v.usage} of ${v.limit} frames in use under the memory limit of ${size(v.limit * 4096)}`;
    this.limit.setAttribute('aria-label', `Memory: ${words}; ${v.free_frames} frames free in physical memory.`);
    this.limit.replaceChildren(
      h('div', { class: 'sw-bar', 'aria-hidden': 'true' }, h('div', { class: 'sw-bar-used' + (pct >= 100 ? ' full' : ''), style: `width:${pct.toFixed(1)}%` })),
      h('div', { class: 'sw-caption small', 'aria-hidden': 'true' }, v.limit === null ? `${v.usage} frames in use · no limit` : `${v.usage} / ${v.limit} frames (limit ${size(v.limit * 4096)})`, ` · ${v.free_frames} free`),
    );
  }

  /** One cell per slot: taken (swapped out), cached (also in a frame), free. */
  #drawSlots(v) {
    if (!v.on) {
      this.slots.setAttribute('aria-label', 'Swap area: none is on.');
      this.slots.replaceChildren(h('div', { class: 'sw-caption small muted' }, 'No swap area (swapon).'));
      return;
    }
    const byNumber = new Map(v.slots.map((s) => [s.slot, s]));
    const drawn = Math.min(v.size, SLOTS_DRAWN);
    const cells = [];
    for (let n = 1; n <= drawn; n++) {
      const s = byNumber.get(n);
      const state = !s ? 'free' : s.cached ? 'cached' : 'taken';
      cells.push(`<span class="sw-slot ${state}" data-slot="${n}" title="slot ${n}: ${s ? slotWords(s, this.names) : 'free'}"></span>`);
    }
    const cached = v.slots.filter((s) => s.cached).length;
    const grid = h('div', { class: 'sw-grid', 'aria-hidden': 'true' });
    grid.innerHTML = cells.join('');
    this.slots.setAttribute(
      'aria-label',
      `Swap area: ${count(v.inuse)} of ${count(v.size)} slots taken, ${count(cached)} of them also in memory (the swap cache), ${count(v.size - v.inuse)} free.` + (v.size > drawn ? ` The first ${count(drawn)} slots are drawn.` : ''),
    );
    this.slots.replaceChildren(
      h(
        'div',
        { class: 'sw-caption small', 'aria-hidden': 'true' },
        `Swap: ${v.inuse} / ${v.size} slots`,
        legend('taken', 'swapped out'),
        legend('cached', 'swap cache'),
        legend('free', 'free'),
      ),
      grid,
      v.size > drawn ? h('div', { class: 'sw-caption small muted', 'aria-hidden': 'true' }, `slots 1–${count(drawn)} of ${count(v.size)}`) : null,
    );
  }

  /** The inactive then the active list, oldest first; a referenced page is marked. */
  #drawLru(v) {
    const lists = [
      ['inactive', v.inactive, 'reclaim takes the oldest; a referenced page gets a second chance'],
      ['active', v.active, 'used again while referenced'],
    ];
    this.lru.replaceChildren(
      ...lists.map(([name, n, note]) => {
        const pages = v.lru.filter((p) => p.list === name);
        const drawn = pages.slice(0, LRU_DRAWN);
        const refd = pages.filter((p) => p.referenced).length;
        return h(
          'div',
          { class: `sw-list ${name}` },
          h('div', { class: 'sw-caption small', title: note }, `${name}: ${count(n)} ${n === 1 ? 'page' : 'pages'}`, refd ? `, ${count(refd)} referenced` : '', n ? ' · oldest first' : ''),
          h(
            'div',
            { class: 'sw-pages', role: 'list', 'aria-label': `${name} list: ${count(n)} ${n === 1 ? 'page' : 'pages'}, ${count(refd)} referenced, oldest first` },
            ...drawn.map((p) =>
              h(
                'button',
                {
                  class: 'sw-page' + (p.referenced ? ' ref' : ''),
                  role: 'listitem',
                  dataset: { pfn: p.pfn },
                  'aria-label': `frame ${p.pfn}, ${name}${p.referenced ? ', referenced' : ''}`,
                  title: `frame ${p.pfn}${p.referenced ? ' (referenced)' : ''}: select it`,
                },
                String(p.pfn),
              ),
            ),
            count > drawn.length ? h('span', { class: 'muted small' }, `+${count - drawn.length} more`) : null,
          ),
        );
      }),
    );
  }

  /** The text alternative: each taken slot with its users, cache state and owner. */
  #drawTable(v) {
    if (!v.on || !v.slots.length) {
      this.table.replaceChildren(h('p', { class: 'muted small' }, v.on ? 'No slot is taken.' : 'No swap area is on.'));
      return;
    }
    const rows = v.slots.slice(0, TABLE_ROWS).map((s) =>
      h(
        'tr',
        null,
        h('td', { class: 'mono' }, String(s.slot)),
        h('td', null, String(s.users)),
        h('td', null, s.cached ? 'swap cache (also in a frame)' : 'swapped out'),
        h('td', null, ownerCell(s.owner, this.names)),
      ),
    );
    this.table.replaceChildren(
      h(
        'table',
        { class: 'data small' },
        h('caption', { class: 'muted' }, `Taken swap slots${v.slots.length > TABLE_ROWS ? ` (the first ${TABLE_ROWS} of ${v.inuse})` : ''}`),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'slot'), h('th', { scope: 'col' }, 'users'), h('th', { scope: 'col' }, 'state'), h('th', { scope: 'col' }, 'owner'))),
        h('tbody', null, ...rows),
      ),
    );
  }

  /** The one place a click in the section becomes a selection. */
  #click(ev) {
    const page = ev.target.closest('[data-pfn]');
    if (page) return this.hooks.onSelectFrame(Number(page.dataset.pfn));
    const owner = ev.target.closest('[data-owner-va]');
    if (owner) this.hooks.onSelectPage(Number(owner.dataset.ownerPid), Number(owner.dataset.ownerVa));
  }
}

function legend(state, text) {
  return h('span', { class: 'lg' }, h('span', { class: `sw-slot ${state}` }), text);
}

function procName(pid, names) {
  return (names && names.get(pid)) || `p${pid}`;
}

/** A slot in words (for a cell's tooltip). */
function slotWords(s, names) {
  const who = s.owner.kind === 'anon' && s.owner.pid !== null ? `${procName(s.owner.pid, names)} at ${hex(s.owner.va)}` : s.owner.kind === 'shmem' ? `page ${s.owner.index} of object ${s.owner.object}` : 'anon';
  return `${s.cached ? 'in the swap cache' : 'swapped out'}, ${s.users} ${s.users === 1 ? 'user' : 'users'}, ${who}`;
}

function ownerCell(o, names) {
  if (o.kind === 'anon' && o.pid !== null) {
    return h('button', { class: 'linkish mono', dataset: { ownerPid: o.pid, ownerVa: o.va }, title: 'Select this page' }, `${procName(o.pid, names)} ${hex(o.va)}`);
  }
  if (o.kind === 'anon') return `anon #${o.anon} (no mapping left)`;
  if (o.kind === 'shmem') return `page ${o.index} of shared memory object ${o.object}`;
  return '—';
}
