// The page-table walk: for one virtual address, CR3 -> PML4 -> PDPT -> PD ->
// PT -> frame -> byte, with every entry's bits decoded; and the tree of the
// page-table frames the process has allocated.

import { addr, byte, h, hex, hexPad, num, parseNumber } from '../format.js';

export const LEVELS = [
  { level: 4, name: 'PML4', bits: '47–39', color: '#0072B2' },
  { level: 3, name: 'PDPT', bits: '38–30', color: '#009E73' },
  { level: 2, name: 'PD', bits: '29–21', color: '#E69F00' },
  { level: 1, name: 'PT', bits: '20–12', color: '#CC79A7' },
];

/** The bits of an x86_64 paging-structure entry, low to high. */
export const PTE_BITS = [
  { bit: 0, name: 'P', help: 'present: the entry is valid; clear means a walk that reaches it faults (#PF, P=0)' },
  { bit: 1, name: 'RW', help: 'writable: clear makes every page below it read-only (a write faults with P=1 W=1)' },
  { bit: 2, name: 'US', help: 'user: user-mode accesses allowed' },
  { bit: 3, name: 'PWT', help: 'page-level write-through' },
  { bit: 4, name: 'PCD', help: 'page-level cache disable' },
  { bit: 5, name: 'A', help: 'accessed: set by the CPU on any access through this entry' },
  { bit: 6, name: 'D', help: 'dirty: set by the CPU on a write (leaf entries only)' },
  { bit: 7, name: 'PS', help: 'page size: in a PD entry, maps a 2 MiB page directly' },
  { bit: 8, name: 'G', help: 'global: kept in the TLB across CR3 switches' },
  { bit: 63, name: 'NX', help: 'no-execute: instruction fetches fault' },
];

/** Decode a raw entry ("0x..." or number) into its bits and the frame it points to. */
export function decodeEntry(raw) {
  const v = BigInt(raw);
  const bits = PTE_BITS.map((b) => ({ ...b, on: ((v >> BigInt(b.bit)) & 1n) === 1n }));
  const pfn = Number((v >> 12n) & ((1n << 40n) - 1n));
  return { value: v, bits, pfn };
}

export class WalkView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.input = h('input', {
      class: 'mono addr-input',
      type: 'text',
      spellcheck: 'false',
      'aria-label': 'Virtual address to translate',
      placeholder: '$arena+4K or 0x300000001000',
    });
    this.form = h(
      'form',
      {
        class: 'walk-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          const v = parseNumber(this.input.value);
          if (v === null) {
            this.input.setAttribute('aria-invalid', 'true');
            return;
          }
          this.input.removeAttribute('aria-invalid');
          this.hooks.onWalk(v);
        },
      },
      h('label', { class: 'inline-label' }, 'VA'),
      this.input,
      h('button', { class: 'btn small', type: 'submit' }, 'Walk'),
    );
    this.body = h('div', { class: 'walk-body' });
    this.treeBox = h('details', { class: 'tree', open: true }, h('summary', null, 'Page-table frames of this process'), h('div', { class: 'tree-body' }));
    root.append(this.form, this.body, this.treeBox);
    this.treeBox.addEventListener('toggle', () => this.hooks.refresh());
  }

  /** @param {{ proc, va, walk, tree }} m */
  update(m) {
    if (m.va !== null && m.va !== undefined && this.root.getRootNode().activeElement !== this.input) {
      this.input.value = hex(m.va);
    }
    if (!m.proc) {
      this.body.replaceChildren(h('p', { class: 'muted' }, 'No process.'));
      return;
    }
    if (m.va === null || m.va === undefined) {
      this.body.replaceChildren(
        h('div', { class: 'empty-note' }, h('p', null, 'Pick a page (click a page of an entry, or type an address) to follow CR3 down the four tables to the byte.')),
      );
    } else if (!m.walk) {
      this.body.replaceChildren(h('p', { class: 'muted' }, `Cannot walk ${hex(m.va)}.`));
    } else {
      const key = JSON.stringify([m.proc.pid, m.proc.name, m.proc.asid, m.walk]);
      if (key !== this.walkKey || !this.body.querySelector('ol.walk')) {
        this.walkKey = key;
        this.body.replaceChildren(this.#render(m.proc, m.walk));
      }
    }
    if (this.treeBox.open && m.tree !== this.lastTree) {
      this.lastTree = m.tree;
      this.treeBox.querySelector('.tree-body').replaceChildren(this.#tree(m.tree));
    }
  }

  get treeOpen() {
    return this.treeBox.open;
  }

  #render(proc, w) {
    const va = BigInt(typeof w.va === 'string' ? w.va : Math.round(num(w.va)));
    const idx = (lvl) => Number((va >> BigInt(12 + 9 * (lvl - 1))) & 511n);
    const off = Number(va & 4095n);
    const bar = h(
      'div',
      { class: 'va-bits', role: 'group', 'aria-label': `Virtual address ${hex(w.va)} split into table indices` },
      h('div', { class: 'vab sign' }, h('span', { class: 'vab-bits' }, '63–48'), h('span', { class: 'vab-val' }, 'sign')),
      ...LEVELS.map((L) =>
        h('div', { class: 'vab', style: `--c:${L.color}` }, h('span', { class: 'vab-bits' }, `${L.name} ${L.bits}`), h('span', { class: 'vab-val mono' }, String(idx(L.level)))),
      ),
      h('div', { class: 'vab off' }, h('span', { class: 'vab-bits' }, 'offset 11–0'), h('span', { class: 'vab-val mono' }, '0x' + off.toString(16).padStart(3, '0'))),
    );

    const rows = [];
    rows.push(
      h(
        'li',
        { class: 'wstep cr3' },
        h('div', { class: 'wname' }, 'CR3'),
        h('div', { class: 'wmain' }, 'PML4 table in ', frameLink(num(w.cr3), this.hooks), h('span', { class: 'muted' }, ` · ${proc.name}, asid ${proc.asid ?? '?'}`)),
      ),
    );
    for (const st of w.steps || []) {
      const L = LEVELS.find((x) => x.level === num(st.level)) || LEVELS[3];
      const d = decodeEntry(st.entry);
      const leaf = num(st.level) === 1 || (num(st.level) === 2 && d.bits[7].on);
      const target = !st.present
        ? h('span', { class: 'wnext absent' }, '→ not present: #PF')
        : leaf
          ? h('span', { class: 'wnext' }, '→ ', frameLink(d.pfn, this.hooks), num(st.level) === 2 ? ' (2 MiB page)' : '')
          : h('span', { class: 'wnext' }, '→ ', frameLink(d.pfn, this.hooks));
      rows.push(
        h(
          'li',
          { class: 'wstep' + (st.present ? '' : ' absent'), style: `--c:${L.color}`, dataset: { level: num(st.level), entry: hexPad(st.entry, 16) } },
          h('div', { class: 'wname' }, L.name),
          h(
            'div',
            { class: 'wmain' },
            h('div', { class: 'wline' }, h('span', { class: 'mono' }, `[${num(st.index)}]`), h('span', { class: 'muted' }, ' in '), frameLink(num(st.table), this.hooks), ' = ', h('span', { class: 'mono pte' }, hexPad(st.entry, 16)), ' ', target),
            h(
              'div',
              { class: 'bits', role: 'list', 'aria-label': `${L.name} entry bits` },
              ...d.bits.map((b) =>
                h('span', { role: 'listitem', class: 'bit' + (b.on ? ' on' : ''), title: `bit ${b.bit} ${b.name}: ${b.help}`, 'aria-label': `${b.name} ${b.on ? 'set' : 'clear'}`, dataset: { bit: b.name, on: b.on ? '1' : '0' } }, b.name),
              ),
              h('span', { class: 'bit addr', title: 'bits 51–12: the physical frame number' }, `51–12: ${d.pfn}`),
            ),
          ),
        ),
      );
      if (!st.present) break;
    }
    if (w.mapped) {
      rows.push(
        h(
          'li',
          { class: 'wstep final' },
          h('div', { class: 'wname' }, 'byte'),
          h(
            'div',
            { class: 'wmain' },
            h('div', { class: 'wline' }, 'frame ', frameLink(num(w.pfn), this.hooks), ` + ${w.huge ? 'offset in 2 MiB' : 'offset'} → phys `, h('span', { class: 'mono' }, hex(w.phys))),
            h('div', { class: 'wline big' }, 'holds ', h('span', { class: 'mono byte-val' }, w.byte === null || w.byte === undefined ? '—' : byte(w.byte))),
          ),
        ),
      );
    } else {
      rows.push(h('li', { class: 'wstep final absent' }, h('div', { class: 'wname' }, '#PF'), h('div', { class: 'wmain' }, 'Not mapped: an access here takes a page fault (the fault handler decides what happens).')));
    }
    return h('div', null, bar, h('ol', { class: 'walk', 'aria-label': `Page walk of ${hex(w.va)}` }, rows));
  }

  #tree(tree) {
    if (!tree) return h('p', { class: 'muted' }, 'No tables.');
    const render = (node) => {
      const L = LEVELS.find((x) => x.level === node.level);
      const label = h(
        'span',
        { class: 'tnode', style: `--c:${L ? L.color : '#999'}` },
        node.index !== null ? h('span', { class: 'mono muted' }, `[${node.index}] `) : null,
        h('b', null, L ? L.name : 'page'),
        ' ',
        frameLink(node.pfn, this.hooks),
        node.range ? h('span', { class: 'muted mono' }, ` ${addr(node.range[0])}…`) : null,
        node.note ? h('span', { class: 'muted' }, ` · ${node.note}`) : null,
      );
      const kids = [...node.children.values()].sort((a, b) => a.index - b.index);
      return h('li', null, label, kids.length ? h('ul', null, kids.map(render)) : null);
    };
    return h('ul', { class: 'tree-list', 'aria-label': 'Tree of page-table frames' }, render(tree));
  }
}

function frameLink(pfn, hooks) {
  return h('button', { class: 'linkish mono frame-link', dataset: { pfn }, title: `Show frame ${pfn} in physical memory`, onclick: () => hooks.onSelectFrame(pfn) }, `frame ${pfn}`);
}

/**
 * Build the tree of table frames from walks: one walk per 2 MiB block that a
 * map entry covers (every page of a block shares its PT).
 */
export function buildTree(walkFn, entries, cr3, limit = 512) {
  const root = { level: 4, pfn: num(cr3), index: null, children: new Map() };
  let walks = 0;
  const seen = new Set();
  for (const e of entries) {
    let a = e.start;
    while (a < e.end && walks < limit) {
      const region = Math.floor(a / 0x200000);
      if (seen.has(region)) {
        a = region * 0x200000 + 0x200000;
        continue;
      }
      seen.add(region);
      const w = walkFn(a);
      walks++;
      if (w) {
        let node = root;
        for (const st of w.steps || []) {
          if (!st.present) break;
          const d = decodeEntry(st.entry);
          const lvl = num(st.level);
          const leaf = lvl === 1 || (lvl === 2 && d.bits[7].on);
          if (leaf) {
            if (lvl === 2) node.children.set(num(st.index), { level: 0, pfn: d.pfn, index: num(st.index), children: new Map(), note: '2 MiB page' });
            break;
          }
          const key = num(st.index);
          if (!node.children.has(key)) node.children.set(key, { level: lvl - 1, pfn: d.pfn, index: key, children: new Map() });
          node = node.children.get(key);
        }
      }
      a = Math.floor(a / 0x200000) * 0x200000 + 0x200000;
    }
  }
  return root;
}

