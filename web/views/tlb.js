// The TLB: sets × ways, each slot a cached translation tagged by ASID
// (PCID). Slots filled by the last step are highlighted; translations the
// step flushed are listed with the flush that removed them.

import { h, hex, num } from '../format.js';

const key = (e) => `${e.set}:${e.way}:${e.asid}:${num(e.va)}`;

export class TlbView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.prev = null;
    this.stats = h('div', { class: 'tlb-stats', 'aria-live': 'polite' });
    this.gridBox = h('div', { class: 'tlb-grid-box' });
    this.flushBox = h('div', { class: 'tlb-flushed' });
    root.append(this.stats, this.gridBox, this.flushBox);
    this.gridBox.addEventListener('click', (ev) => {
      const c = ev.target.closest('[data-va]');
      if (c) this.hooks.onSelectTlb(Number(c.dataset.asid), num(c.dataset.va), Number(c.dataset.pfn));
    });
  }

  /** Forget the previous state (after a reset nothing is "new"). */
  resetHistory() {
    this.prev = null;
  }

  /** @param {{ tlb, before, changes, asidNames: Map<number,string> }} m */
  update(m) {
    const t = m.tlb;
    if (!t) return;
    // compare with the TLB as it was before the last step (when known)
    if (m.before !== undefined) this.prev = m.before;
    const prevKeys = new Set(this.prev ? this.prev.entries.map(key) : []);
    const curKeys = new Set(t.entries.map(key));
    const prevHits = this.prev ? num(this.prev.hits) : num(t.hits);
    const prevMisses = this.prev ? num(this.prev.misses) : num(t.misses);
    const hits = num(t.hits);
    const misses = num(t.misses);
    const total = hits + misses;
    const dh = hits - prevHits;
    const dm = misses - prevMisses;
    this.stats.replaceChildren(
      stat('hits', hits.toLocaleString('en'), dh > 0 ? `+${dh}` : ''),
      stat('misses', misses.toLocaleString('en'), dm > 0 ? `+${dm}` : ''),
      stat('hit rate', total ? `${((100 * hits) / total).toFixed(1)}%` : '—', ''),
      stat('geometry', `${t.sets} × ${t.ways}`, `${t.entries.length} valid`),
    );

    const bySlot = new Map(t.entries.map((e) => [`${e.set}:${e.way}`, e]));
    const head = h('tr', null, h('th', { scope: 'col', title: 'The set is picked by the low bits of the virtual page number' }, 'set'), ...Array.from({ length: t.ways }, (_, w) => h('th', { scope: 'col' }, `way ${w}`)));
    const rows = [];
    for (let s = 0; s < t.sets; s++) {
      const cells = [h('th', { scope: 'row', class: 'mono' }, String(s))];
      for (let w = 0; w < t.ways; w++) {
        const e = bySlot.get(`${s}:${w}`);
        if (!e) {
          cells.push(h('td', { class: 'tlb-slot empty', 'aria-label': 'empty' }, ''));
          continue;
        }
        const fresh = this.prev && !prevKeys.has(key(e));
        const flags = [e.writable ? 'W' : '', e.user ? 'U' : '', e.executable ? 'X' : '', e.dirty ? 'D' : '', e.huge ? '2M' : ''].filter(Boolean).join(' ');
        const who = m.asidNames.get(num(e.asid)) || `asid ${e.asid}`;
        cells.push(
          h(
            'td',
            {
              class: 'tlb-slot' + (fresh ? ' fresh' : ''),
              dataset: { asid: e.asid, va: hex(e.va), pfn: num(e.pfn) },
              title: `${who}: virtual page ${hex(Math.floor(num(e.va) / 4096))} (address ${hex(e.va)}) → frame ${e.pfn}${flags ? ' [' + flags + ']' : ''}${fresh ? ' (filled by the last step)' : ''}`,
            },
            h(
              'button',
              { class: 'slot-btn' },
              h('span', { class: 'tlb-top' }, h('span', { class: 'tlb-asid' }, who), flags ? h('span', { class: 'tlb-flags' }, flags) : null),
              h('span', { class: 'mono tlb-va' }, Math.floor(num(e.va) / 4096).toString(16)),
              h('span', { class: 'mono tlb-pfn' }, `→ pfn ${e.pfn}`),
            ),
          ),
        );
      }
      rows.push(h('tr', null, cells));
    }
    this.gridBox.replaceChildren(
      h('p', { class: 'muted small tlb-note' }, 'Each slot: the process (ASID tag), the virtual page number in hex, the frame it maps to, and W(ritable) U(ser) X D(irty) 2M bits.'),
      h('table', { class: 'tlb-grid' }, h('caption', { class: 'sr-only' }, 'TLB slots by set and way'), h('thead', null, head), h('tbody', null, rows)));

    // what the last step flushed
    const gone = this.prev ? this.prev.entries.filter((e) => !curKeys.has(key(e))) : [];
    const ch = m.changes;
    const flushes = [];
    if (ch) {
      for (const a of ch.flushedAsids) flushes.push(`${m.asidNames.get(a) || 'asid ' + a}: whole address space flushed`);
      for (const f of ch.flushedPages) flushes.push(`${m.asidNames.get(f.asid) || 'asid ' + f.asid}: INVLPG ${hex(f.va)}`);
    }
    this.flushBox.replaceChildren(
      gone.length || flushes.length
        ? h(
            'div',
            null,
            h('div', { class: 'subhead' }, 'Removed by the last step'),
            flushes.length ? h('ul', { class: 'flush-list' }, flushes.slice(0, 12).map((f) => h('li', null, f))) : null,
            gone.length
              ? h(
                  'ul',
                  { class: 'gone-list' },
                  gone.slice(0, 24).map((e) => h('li', { class: 'mono' }, `${m.asidNames.get(num(e.asid)) || 'asid ' + e.asid} ${hex(e.va)} → frame ${e.pfn} (set ${e.set}, way ${e.way})`)),
                )
              : null,
          )
        : '',
    );
    this.prev = t;
  }
}

function stat(label, value, delta) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value), delta ? h('span', { class: 'stat-delta' }, delta) : null);
}
