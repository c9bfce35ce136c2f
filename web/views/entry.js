// The selected map entry: its flags, its amap (anonymous layer) or memory
// object, and one cell per page with the page's state bits. The selected
// page is described in words under the grid (and announced when it changes
// from the grid); arrow keys move, Enter or Space walks its page tables.

import { GLOSSARY, term } from '../glossary.js';
import { count as many, h, hex, show, size, pages as pagesText, num } from '../format.js';
import { kernel } from '../kernels.js';
import { BACKING, PAGE_BITS, SWAP_COLOR, backingKind, isDirty, isSwapped, tint } from '../palette.js';

const MAX_CELLS = 1024;

const FLAG_HELP = {
  locked: 'mlock: pages stay resident',
  dontcopy: 'MADV_DONTFORK: not inherited by fork',
  wipeonfork: 'MADV_WIPEONFORK: the child sees zeroes',
  hugepage: 'MADV_HUGEPAGE: faults may map 2 MiB pages',
  nohugepage: 'MADV_NOHUGEPAGE: never 2 MiB pages',
  dontdump: 'MADV_DONTDUMP: left out of core dumps',
  account: 'counted as committed memory',
  growsdown: 'MAP_GROWSDOWN: a stack that grows down',
};

export const PAGE_LEGEND = [
  ['present', 'PTE present', (st) => st & PAGE_BITS.PRESENT],
  ['writable', 'PTE writable', (st) => st & PAGE_BITS.WRITABLE],
  ['dirty', 'dirty (D)', isDirty],
  ['swapped', 'swapped out (the PTE holds a swap entry)', isSwapped],
  ['accessed', 'accessed (A)', (st) => st & PAGE_BITS.ACCESSED],
  ['anon', 'anon page in the amap', (st) => st & PAGE_BITS.ANON],
  ['shared', 'shared (copy-on-write or mapped twice)', (st) => st & PAGE_BITS.SHARED],
  ['huge', 'inside a 2 MiB mapping', (st) => st & PAGE_BITS.HUGE],
  ['zero', 'the shared zero page', (st) => st & PAGE_BITS.ZERO],
];

/** A short word list for a page-state byte. */
export function describePage(st) {
  const words = PAGE_LEGEND.filter(([, , f]) => f(st)).map(([k]) => k);
  return words.length ? words.join(', ') : 'not resident';
}

export class EntryView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.offset = 0;
    this.key = null;
    this.width = 0;
    // the content is redrawn on each refresh; the live region stays put, so
    // screen readers announce what is written into it
    this.content = h('div', { class: 'entry-content' });
    this.live = h('div', { class: 'sr-only', role: 'status' });
    root.append(this.content, this.live);
    this.announce = false;
    new ResizeObserver((es) => {
      const w = es[es.length - 1].contentRect.width;
      if (Math.abs(w - this.width) > 8 && this.width) {
        this.width = w;
        this.hooks.refresh();
      } else this.width = w;
    }).observe(root);
    root.addEventListener('click', (ev) => {
      const cell = ev.target.closest('[data-page]');
      if (cell) {
        this.announce = true;
        this.hooks.onSelectPage(Number(cell.dataset.pid), num(cell.dataset.va));
      }
    });
    root.addEventListener('keydown', (ev) => this.#key(ev));
    // a page's state under the pointer: one title set on hover, not a
    // <title> in each of a thousand cells (their parsing was most of a redraw)
    root.addEventListener('mouseover', (ev) => {
      const g = ev.target.closest?.('g.page');
      if (g && !g.querySelector('title')) {
        const t = document.createElementNS('http://www.w3.org/2000/svg', 'title');
        t.textContent = `${g.dataset.va}: ${describePage(Number(g.dataset.state))}`;
        g.prepend(t);
      }
    });
  }

  /**
   * @param {{ proc, entry, amap, changes, selectedVa }} m
   */
  update(m) {
    const { proc, entry } = m;
    // a redraw must not take the focus away from the grid
    const focused = this.root.getRootNode().activeElement;
    const gridFocused = !!focused && focused.classList.contains('page-grid-wrap') && this.content.contains(focused);
    const announce = this.announce || gridFocused;
    this.announce = false;
    if (!proc || !entry) {
      this.parts = null;
      this.content.replaceChildren(
        h('div', { class: 'empty-note' }, h('p', null, 'Select a map entry in the address space to see its flags, its amap or object and the state of each page.'), h('p', { class: 'hint' }, 'Tip: click a lane, then use ↑ ↓ to move between entries.')),
      );
      return;
    }
    const key = `${proc.pid}:${entry.start}`;
    if (key !== this.key) {
      this.key = key;
      this.offset = 0;
    }
    const kind = backingKind(entry.backing);
    const npages = Math.round((entry.end - entry.start) / 4096);
    // counts over the whole entry (up to 1 GiB of pages), once per state of
    // the machine; a big entry is counted after the frame is drawn, so that
    // the redraw stays within a frame
    const countKey = `${m.stamp}:${key}:${entry.end}`;
    if (countKey !== this.countKey) {
      this.countKey = countKey;
      this.counts = null;
      const count = () => {
        const whole = this.hooks.pageStates(proc.pid, entry.start, npages);
        return { resident: countBits(whole, PAGE_BITS.PRESENT | PAGE_BITS.ANON), dirty: countWhere(whole, isDirty), shared: countBits(whole, PAGE_BITS.SHARED) };
      };
      if (npages <= LATER_FROM) this.counts = count();
      else {
        cancelAnimationFrame(this.countFrame);
        clearTimeout(this.countTimer);
        this.countFrame = requestAnimationFrame(() => {
          this.countTimer = setTimeout(() => {
            if (this.countKey !== countKey) return;
            this.counts = count();
            const dd = this.content.querySelector('dd.resident');
            if (dd) dd.textContent = residentText(this.counts, npages);

          }, 0);
        });
      }
    }
    const whole = npages <= 262144;
    if (this.offset >= npages) this.offset = 0;
    const shown = Math.min(MAX_CELLS, npages - this.offset);
    const states = this.hooks.pageStates(proc.pid, entry.start + this.offset * 4096, shown).slice();

    // the amap as the machine has it now (the entry may be from a cached list)
    const amapRef = m.amap || entry.amap;
    const head = () =>
      h(
        'div',
        { class: 'entry-head' },
        h('span', { class: 'swatch', style: `background:${BACKING[kind].color}` }),
        h('span', { class: 'mono entry-range' }, `${hex(entry.start)}–${hex(entry.end)}`),
        h('span', { class: 'chip mono' }, entry.perms),
        h('span', { class: 'chip' }, entry.backing),
      );

    const resident = whole ? (this.counts ? residentText(this.counts, npages) : 'counting…') : null;
    const props = () =>
      h(
        'dl',
        { class: 'props' },
        // what this kernel calls the entry and its anonymous memory (kernels.js)
        m.kernel ? prop('kernel', term(kernel(m.kernel).term, kernel(m.kernel).structure)) : null,
        prop('size', `${size(entry.end - entry.start)} · ${pagesText(npages)}`),
        prop('offset', hex(entry.offset), 'mono'),
        prop(
          'flags',
          (entry.flags || []).length
            ? h('span', null, ...(entry.flags || []).map((f) => (GLOSSARY[f] ? h('button', { type: 'button', class: 'chip flag term', dataset: { term: f }, 'aria-describedby': 'term-tip' }, f) : h('span', { class: 'chip flag', title: FLAG_HELP[f] || f }, f))))
            : h('span', { class: 'muted' }, 'none'),
        ),
        entry.needs_copy !== undefined
          ? prop(
              term('needs-copy'),
              h(
                'span',
                { title: 'UVM: the amap is still shared with the other side of a fork; the first write fault copies it (amap_copy).' },
                entry.needs_copy ? 'yes — amap shared until the first write fault' : 'no',
              ),
            )
          : null,
        amapRef
          ? prop(term('amap'), h('span', { class: 'mono' }, `#${amapRef.id} · slot offset ${amapRef.slotoff} · ${amapRef.refs} ${amapRef.refs === 1 ? 'reference' : 'references'}`))
          : prop(term('amap'), h('span', { class: 'muted' }, 'none yet (allocated at the first write fault)')),
        entry.object !== null && entry.object !== undefined ? prop('object', h('span', { class: 'mono' }, `#${entry.object} (${entry.backing})`)) : null,
        whole ? prop('resident', resident, 'resident') : null,
      );

    const desc = this.#describe(proc.pid, entry, states, npages, m.selectedVa, m.amap);
    const grid = this.#grid(proc.pid, entry, states, npages, m.changes, m.selectedVa, desc);
    // each part is built and replaced only when what it shows (its key)
    // changed: the content keeps its nodes from step to step, so a step lays
    // out what it changed and not a thousand cells again (moving the grid
    // cost a frame at 1 GiB)
    const slots = this.#slots();
    part(slots.head, `${kind}|${entry.start}|${entry.end}|${entry.perms}|${entry.backing}`, head);
    part(slots.props, JSON.stringify([m.kernel, entry.start, entry.end, entry.offset, entry.flags, entry.needs_copy, amapRef ? [amapRef.id, amapRef.slotoff, amapRef.refs] : null, entry.object, entry.backing, whole]), props);
    // the count changes with nearly every step: its text only
    const dd = slots.props.querySelector('dd.resident');
    if (dd && dd.textContent !== resident) dd.textContent = resident;
    if (slots.grid.firstChild !== grid) slots.grid.replaceChildren(grid);
    // the amap table shows the first 64 slots (the view may hold one more: the selected page's)
    this.#amap(slots.amap, m.amap);
    if (gridFocused && this.root.getRootNode().activeElement !== grid) grid.focus({ preventScroll: true });
    if (announce && desc.page !== null && this.live.textContent !== desc.text) this.live.textContent = desc.text;
  }

  /** The four parts of a drawn entry, made once and kept (see update). */
  #slots() {
    if (!this.parts || this.parts.head.parentNode !== this.content) {
      const box = () => h('div', { class: 'entry-part' });
      this.parts = { head: box(), props: box(), grid: box(), amap: box() };
      this.content.replaceChildren(this.parts.head, this.parts.props, this.parts.grid, this.parts.amap);
    }
    return this.parts;
  }

  /**
   * The selected page in words: where it is, its state bits, the frame it
   * maps and how shared that is. { page: index or null, text }
   */
  #describe(pid, entry, states, npages, selectedVa, amap) {
    const va = selectedVa === null || selectedVa === undefined ? null : Math.floor(selectedVa / 4096) * 4096;
    if (va === null || va < entry.start || va >= entry.end) {
      return { page: null, text: 'No page of this entry is selected: click a page, or focus the pages and use the arrow keys.' };
    }
    const pg = Math.round((va - entry.start) / 4096);
    const i = pg - this.offset;
    const st = i >= 0 && i < states.length ? states[i] : this.hooks.pageStates(pid, va, 1)[0] || 0;
    const parts = [`Page ${many(pg + 1)} of ${many(npages)}, ${hex(va)}: ${describePage(st)}`];
    const w = this.hooks.walk ? this.hooks.walk(pid, va) : null;
    if (w && w.mapped) {
      const pfn = num(w.pfn);
      const f = this.hooks.frame(pfn);
      const maps = f ? f.mapcount : 0;
      parts.push(`frame ${pfn}${w.huge ? ' (in a 2 MiB page)' : ''}${maps > 1 ? `, mapped ${maps} times` : ''}`);
    } else parts.push('no frame mapped');
    const slot = amap && (amap.slots || []).find((s) => s.slot === amap.slotoff + pg);
    if (slot) parts.push(`anon #${slot.anon}, ${slot.anon_refs} ${slot.anon_refs === 1 ? 'reference' : 'references'}`);
    return { page: pg, text: parts.join('; ') + '.' };
  }

  /**
   * The pages of the entry, one SVG cell each. The grid is kept from step
   * to step: a step redraws only the cells whose state byte changed, and
   * only the parts around the grid whose text changed.
   */
  #grid(pid, entry, states, npages, changes, selectedVa, desc) {
    const count = Math.min(MAX_CELLS, npages - this.offset);
    const CELL = count <= 64 ? 20 : count <= 256 ? 15 : 11;
    const width = Math.max(160, (this.width || this.root.clientWidth) - 28);
    const COLS = Math.max(8, Math.min(64, Math.floor(width / CELL / 8) * 8));
    this.cols = COLS;
    let hugeCount = 0;
    for (let i = 0; i < count; i++) if (states[i] & PAGE_BITS.HUGE) hugeCount++;
    const rows = Math.ceil(count / COLS);
    const color = BACKING[backingKind(entry.backing)].color;
    const label = `${count === npages ? `The ${many(npages)} pages` : `Pages ${many(this.offset + 1)} to ${many(this.offset + count)} of ${many(npages)}`} of the entry; the line under the grid describes the selected page`;
    const geo = { pid, start: entry.start, offset: this.offset, COLS, CELL, color };
    const gridKey = `${pid}:${entry.start}:${this.offset}:${COLS}:${CELL}:${rows}:${color}:${label}`;
    const g = (this.gridParts ??= this.#gridParts());
    let svg = g.svg;
    if (!svg || g.key !== gridKey || g.states.length !== count) {
      const cells = [];
      for (let i = 0; i < count; i++) cells.push(pageCell(geo, i, states[i] || 0));
      svg = h('svg:svg', {
        class: 'page-grid',
        width: COLS * CELL,
        height: rows * CELL,
        role: 'img',
        'aria-label': label,
        html:
          `<defs><pattern id="pg-shared" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="4" stroke="#fff" stroke-width="1.5"/></pattern></defs>` +
          cells.join(''),
      });
      if (g.svg) g.svg.replaceWith(svg);
      else g.svgSlot.append(svg);
      g.svg = svg;
      g.key = gridKey;
    } else {
      // the same cells: parse again only those whose state changed
      const changedCells = [];
      for (let i = 0; i < count; i++) if (g.states[i] !== states[i]) changedCells.push(i);
      if (changedCells.length) {
        const tmp = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
        tmp.innerHTML = changedCells.map((i) => pageCell(geo, i, states[i] || 0)).join('');
        const fresh = [...tmp.children];
        changedCells.forEach((i, k) => svg.children[i + 1].replaceWith(fresh[k])); // children[0] is <defs>
      }
    }
    g.states = states.slice(0, count);
    // what the last step changed and the selected page: classes on the
    // cells, so that the cells themselves are kept from step to step
    // (the marked cells are remembered: asking the grid for them took
    // longer than the rest of the redraw of the pane)
    for (const c of g.marked || []) c.classList.remove('changed', 'selected');
    g.marked = [];
    const mark = (va, cls) => {
      const i = Math.round((va - entry.start) / 4096) - this.offset;
      if (i < 0 || i >= count) return;
      const c = svg.children[i + 1];
      c.classList.add(cls);
      g.marked.push(c);
    };
    if (changes) {
      for (const key of changes.pages.keys()) {
        const [p, v] = key.split(':').map(Number);
        if (p === pid && v >= entry.start && v < entry.end) mark(v, 'changed');
      }
    }
    if (selectedVa !== null && selectedVa !== undefined) mark(Math.floor(selectedVa / 4096) * 4096, 'selected');
    // the parts around the grid, each built only when what it says changed
    part(g.nav, npages > MAX_CELLS ? `${this.offset}:${count}:${npages}` : '', () =>
      npages > MAX_CELLS
        ? h(
            'div',
            { class: 'pager' },
            h('button', { class: 'btn small', disabled: this.offset === 0, onclick: () => this.#page(-1) }, '◀'),
            h('span', null, `pages ${many(this.offset + 1)}–${many(this.offset + count)} of ${many(npages)}`),
            h('button', { class: 'btn small', disabled: this.offset + MAX_CELLS >= npages, onclick: () => this.#page(1) }, '▶'),
          )
        : null,
    );
    if (g.line.textContent !== desc.text) g.line.textContent = desc.text;
    g.line.classList.toggle('muted', desc.page === null);
    const note = CELL < 14 && hugeCount ? `${many(hugeCount)} of these pages are mapped by 2 MiB PD entries (PS=1).` : '';
    part(g.note, note, () => (note ? h('div', { class: 'muted small' }, note) : null));
    part(g.legend, color, () =>
      h(
        'div',
        { class: 'page-legend', 'aria-hidden': 'true' },
        legendItem(h('span', { class: 'lg-cell', style: `background:${color};border-color:${color}` }), 'resident'),
        legendItem(h('span', { class: 'lg-cell', style: `background:${tint(color, 0.45)};border-color:${color}` }), 'anon, not mapped'),
        legendItem(h('span', { class: 'lg-cell', style: `background:${SWAP_COLOR};border-color:${SWAP_COLOR}` }), 'swapped out'),
        legendItem(h('span', { class: 'lg-cell lg-zero' }), 'zero page'),
        legendItem(h('span', { class: 'lg-cell lg-shared', style: `background-color:${color}` }), 'shared'),
        legendItem(h('span', { class: 'lg-dot' }), 'dirty'),
        legendItem(h('span', { class: 'lg-acc' }), 'accessed'),
        legendItem(h('span', { class: 'lg-cell lg-huge' }), '2 MiB'),
      ),
    );
    return g.wrap;
  }

  /** The grid's frame, made once: the focusable group and its parts. */
  #gridParts() {
    const box = () => h('div', { class: 'entry-part' });
    const g = { nav: box(), svgSlot: box(), line: h('p', { class: 'page-desc', id: 'page-desc' }), note: box(), legend: box(), svg: null, key: null, states: new Uint8Array(0) };
    g.wrap = h(
      'div',
      {
        class: 'page-grid-wrap',
        tabindex: '0',
        role: 'group',
        'aria-label': 'Pages of the entry: arrow keys move between pages, Enter or Space walks the page tables of the selected page',
        'aria-describedby': 'page-desc',
        'aria-keyshortcuts': 'ArrowLeft ArrowRight ArrowUp ArrowDown Enter Space',
      },
      h('div', { class: 'subhead' }, 'Pages'),
      g.nav,
      g.svgSlot,
      g.line,
      g.note,
      g.legend,
    );
    return g;
  }

  #page(dir) {
    this.offset = Math.max(0, this.offset + dir * MAX_CELLS);
    this.hooks.refresh();
  }

  /**
   * The amap under the grid: a summary line, the first 64 slots, how many
   * more. Kept from step to step; the table is built again only when its
   * slots changed (a fault elsewhere in a big entry changes the counts only).
   */
  #amap(box, a) {
    if (!a) {
      show(box, null);
      return;
    }
    if (!box.firstChild || !box.firstChild.classList.contains('amap')) {
      box.replaceChildren(h('details', { class: 'amap', open: true }, h('summary'), h('div', { class: 'entry-part' }), h('div', { class: 'entry-part' })));
    }
    const [summary, table, more] = box.firstChild.children;
    const slots = a.slots || [];
    const anons = a.anons ?? slots.length;
    const text = `amap #${a.id} · ${a.refs} ${a.refs === 1 ? 'reference' : 'references'} · ${many(anons)} ${anons === 1 ? 'anon' : 'anons'}`;
    if (summary.textContent !== text) summary.textContent = text;
    const shown = slots.slice(0, 64);
    part(table, JSON.stringify(shown), () =>
      shown.length
        ? h(
            'table',
            { class: 'data compact' },
            h('thead', null, h('tr', null, h('th', null, 'slot'), h('th', null, term('anon')), h('th', null, 'anon refs'), h('th', null, 'frame'))),
            h(
              'tbody',
              null,
              shown.map((s) =>
                h(
                  'tr',
                  null,
                  h('td', null, String(s.slot)),
                  h('td', { class: 'mono' }, s.anon === null || s.anon === undefined ? '—' : `#${s.anon}`),
                  h('td', null, String(s.anon_refs ?? '—')),
                  h('td', null, s.pfn === null || s.pfn === undefined ? '—' : h('button', { class: 'linkish mono', onclick: () => this.hooks.onSelectFrame(num(s.pfn)) }, String(s.pfn))),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No anon in the amap yet.'),
    );
    part(more, anons > 64 ? anons - 64 : 0, () => (anons > 64 ? h('p', { class: 'muted' }, `…and ${many(anons - 64)} more`) : null));
  }

  #key(ev) {
    // keys on the grid itself (the pager's buttons keep theirs)
    const wrap = ev.target.closest('.page-grid-wrap');
    if (!wrap || ev.target !== wrap) return;
    const cells = [...wrap.querySelectorAll('[data-page]')];
    if (!cells.length) return;
    let i = cells.findIndex((c) => c.classList.contains('selected'));
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.cols, ArrowUp: -this.cols };
    if (ev.key in moves) i = Math.max(0, Math.min(cells.length - 1, i < 0 ? 0 : i + moves[ev.key]));
    else if (ev.key === 'Enter' || ev.key === ' ') i = Math.max(0, i); // what a click does: select it, walk it
    else return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const c = cells[i];
    ev.preventDefault();
    this.announce = true;
    this.hooks.onSelectPage(Number(c.dataset.pid), num(c.dataset.va), { focus: 'grid' });
  }
}

/** Entries of more pages than this are counted after the redraw. */
const LATER_FROM = 16384;

function residentText({ resident, dirty, shared }, npages) {
  return `${many(resident)} of ${many(npages)}${dirty ? ` · ${many(dirty)} dirty` : ''}${shared ? ` · ${many(shared)} shared` : ''}`;
}

/**
 * One page's cell: its fill says resident, anon-only, swapped or the zero
 * page; marks say shared, dirty, accessed, 2 MiB. Small cells get fewer
 * marks, so that the grid stays readable.
 */
function pageCell({ pid, start, offset, COLS, CELL, color }, i, st) {
  const big = CELL >= 14;
  const pg = offset + i;
  const va = start + pg * 4096;
  const x = (i % COLS) * CELL;
  const y = Math.floor(i / COLS) * CELL;
  const present = st & PAGE_BITS.PRESENT;
  const swapped = isSwapped(st);
  const fill = st & PAGE_BITS.ZERO ? '#F0E442' : present ? color : swapped ? SWAP_COLOR : st & PAGE_BITS.ANON ? tint(color, 0.45) : '#fff';
  return (
    `<g class="page" data-page="${pg}" data-pid="${pid}" data-va="${hex(va)}" data-state="${st}">` +
    `<rect x="${x + 0.5}" y="${y + 0.5}" width="${CELL - 2}" height="${CELL - 2}" rx="2" fill="${fill}" stroke="${swapped ? SWAP_COLOR : present || st & PAGE_BITS.ANON ? color : '#c3c8d1'}"/>` +
    (swapped && big ? `<text x="${x + CELL / 2 - 0.5}" y="${y + CELL / 2 + 3}" class="swap-s" text-anchor="middle">S</text>` : '') +
    (st & PAGE_BITS.SHARED ? `<rect x="${x + 0.5}" y="${y + 0.5}" width="${CELL - 2}" height="${CELL - 2}" rx="2" fill="url(#pg-shared)"/>` : '') +
    (isDirty(st)
      ? big
        ? `<circle cx="${x + CELL - 4.5}" cy="${y + 3.5}" r="2.2" class="dirty-dot"/>`
        : `<rect x="${x + CELL - 5}" y="${y + 1.5}" width="3" height="3" class="dirty-sq"/>`
      : '') +
    (big && st & PAGE_BITS.ACCESSED && present ? `<rect x="${x + 2.5}" y="${y + CELL - 4.5}" width="${CELL - 6}" height="1.6" class="acc-bar"/>` : '') +
    (big && st & PAGE_BITS.HUGE ? `<rect x="${x + 0.5}" y="${y + 0.5}" width="${CELL - 2}" height="${CELL - 2}" rx="2" class="huge-ring"/>` : '') +
    `</g>`
  );
}

/** Build and show a part of the pane when `key` (what it shows) differs from the last one. */
function part(box, key, build) {
  if (box.key === key && box.isConnected) return;
  box.key = key;
  show(box, build());
}

function prop(name, value, cls) {
  return [h('dt', null, name), h('dd', { class: cls || '' }, value)];
}

function legendItem(sw, text) {
  return h('span', { class: 'lg' }, sw, text);
}

function countWhere(states, test) {
  if (!states) return 0;
  let n = 0;
  for (let i = 0; i < states.length; i++) if (test(states[i])) n++;
  return n;
}

function countBits(states, mask) {
  if (!states) return 0;
  let n = 0;
  for (let i = 0; i < states.length; i++) if (states[i] & mask) n++;
  return n;
}
