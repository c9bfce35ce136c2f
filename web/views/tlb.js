// The TLB: sets × ways, each slot a cached translation tagged by ASID
// (PCID). Slots filled by the last step are highlighted; translations the
// step flushed are listed with the flush that removed them. An event
// selected in the event log marks the slots holding its translation (and,
// for a flush of the last step, the translations it removed).

import { h, hex, num } from '../format.js';

const key = (e) => `${e.set}:${e.way}:${e.asid}:${num(e.va)}`;

/** Whether TLB entry e holds the translation a mark ({ asid, va }) names; va null: any of the asid. */
function marks(mark, e) {
  if (!mark || num(e.asid) !== mark.asid) return false;
  if (mark.va === null) return true;
  const span = e.huge ? 2 ** 21 : 4096;
  return Math.floor(num(e.va) / span) === Math.floor(mark.va / span);
}

export class TlbView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.prev = null;
    this.stats = h('div', { class: 'tlb-stats' });
    this.gridBox = h('div', { class: 'tlb-grid-box' });
    this.flushBox = h('div', { class: 'tlb-flushed' });
    // what the selected event concerns, in words (the marks are also drawn)
    this.markNote = h('p', { class: 'tlb-mark-note', role: 'status', hidden: true });
    root.append(this.stats, this.markNote, this.gridBox, this.flushBox);
    this.gridBox.addEventListener('click', (ev) => {
      const c = ev.target.closest('[data-va]');
      if (c) this.hooks.onSelectTlb(Number(c.dataset.asid), num(c.dataset.va), Number(c.dataset.pfn));
    });
  }

  /** Forget the previous state (after a reset nothing is "new"). */
  resetHistory() {
    this.prev = null;
  }

  /**
   * @param {{ tlb, before, changes, asidNames: Map<number,string>, mark }} m
   *   mark: the selected event's translation { asid, va (null: the whole
   *   asid), type, last (the event belongs to the last step) }, or null
   */
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
    const markedSlots = [];
    for (let s = 0; s < t.sets; s++) {
      const cells = [h('th', { scope: 'row', class: 'mono' }, String(s))];
      for (let w = 0; w < t.ways; w++) {
        const e = bySlot.get(`${s}:${w}`);
        if (!e) {
          cells.push(h('td', { class: 'tlb-slot empty', 'aria-label': 'empty' }, ''));
          continue;
        }
        const fresh = this.prev && !prevKeys.has(key(e));
        const marked = marks(m.mark, e);
        if (marked) markedSlots.push(e);
        const flags = [e.writable ? 'W' : '', e.user ? 'U' : '', e.executable ? 'X' : '', e.dirty ? 'D' : '', e.huge ? '2M' : ''].filter(Boolean).join(' ');
        const who = m.asidNames.get(num(e.asid)) || `asid ${e.asid}`;
        cells.push(
          h(
            'td',
            {
              class: 'tlb-slot' + (fresh ? ' fresh' : '') + (marked ? ' marked' : ''),
              dataset: { asid: e.asid, va: hex(e.va), pfn: num(e.pfn) },
              'aria-current': marked ? 'true' : null,
              title: `${who}: virtual page ${hex(Math.floor(num(e.va) / 4096))} (address ${hex(e.va)}) → frame ${e.pfn}${flags ? ' [' + flags + ']' : ''}${fresh ? ' (filled by the last step)' : ''}${marked ? ' (the selected event concerns it)' : ''}`,
            },
            h(
              'button',
              { class: 'slot-btn' },
              h('span', { class: 'tlb-top' }, h('span', { class: 'tlb-asid' }, who), flags ? h('span', { class: 'tlb-flags' }, flags) : null),
              h('span', { class: 'mono tlb-va' }, Math.floor(num(e.va) / 4096).toString(16)),
              h('span', { class: 'mono tlb-pfn' }, `→ pfn ${e.pfn}`),
              marked ? h('span', { class: 'sr-only' }, ', the selected event concerns this translation') : null,
            ),
          ),
        );
      }
      rows.push(h('tr', null, cells));
    }
    this.gridBox.replaceChildren(
      h('p', { class: 'muted small tlb-note' }, 'Each slot: the process (ASID tag), the virtual page number in hex, the frame it maps to, and W(ritable) U(ser) X D(irty) 2M bits.'),
      h('table', { class: 'tlb-grid' }, h('caption', { class: 'sr-only' }, 'TLB slots by set and way'), h('thead', null, head), h('tbody', null, rows)));

    // what the last step flushed (marked when the selected event of that step flushed it)
    const gone = this.prev ? this.prev.entries.filter((e) => !curKeys.has(key(e))) : [];
    const goneMarked = m.mark && m.mark.last && /^tlb_flush/.test(m.mark.type) ? gone.filter((e) => marks(m.mark, e)) : [];
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
                  gone.slice(0, 24).map((e) => {
                    const marked = goneMarked.includes(e);
                    return h(
                      'li',
                      { class: 'mono' + (marked ? ' marked' : ''), 'aria-current': marked ? 'true' : null },
                      `${m.asidNames.get(num(e.asid)) || 'asid ' + e.asid} ${hex(e.va)} → frame ${e.pfn} (set ${e.set}, way ${e.way})`,
                      marked ? h('span', { class: 'mark-tag' }, 'selected event') : null,
                    );
                  }),
                )
              : null,
          )
        : '',
    );
    this.#markNote(m, markedSlots, goneMarked);
    this.prev = t;
  }

  /** Say in words which slots the selected event concerns. */
  #markNote(m, slots, gone) {
    const mark = m.mark;
    this.markNote.hidden = !mark;
    if (!mark) {
      this.markNote.textContent = '';
      return;
    }
    const who = m.asidNames.get(mark.asid) || `asid ${mark.asid}`;
    const what = `Selected event (${mark.type.replace(/_/g, ' ')}, ${who}${mark.va === null ? ', every translation' : ' ' + hex(mark.va)}): `;
    const where = (list) => list.map((e) => `set ${e.set} way ${e.way}`).join(', ');
    const parts = [];
    if (slots.length) parts.push(`${slots.length === 1 ? 'its translation is' : `${slots.length} of its translations are`} cached in ${where(slots)} (outlined)`);
    if (gone.length) parts.push(`${gone.length === 1 ? 'the translation it' : `${gone.length} translations it`} removed ${gone.length === 1 ? 'is' : 'are'} marked under “Removed by the last step” (was ${where(gone)})`);
    if (!parts.length) parts.push(mark.last || !/^tlb_flush/.test(mark.type) ? 'no TLB slot holds this translation now' : 'the flush belongs to an earlier step; no slot holds the translation now');
    this.markNote.textContent = what + parts.join('; ') + '.';
  }
}

function stat(label, value, delta) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value), delta ? h('span', { class: 'stat-delta' }, delta) : null);
}
