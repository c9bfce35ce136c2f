// The page-table walk: for one virtual address, CR3 -> PML4 -> PDPT -> PD ->
// PT -> frame -> byte, with every entry's bits decoded; and the tree of the
// page-table frames the process has allocated (Machine.pageTables: every
// table read out of the simulated frames, bounded to TREE_LIMIT pages and
// marked truncated past that).

import { LEVEL_COLORS } from '../palette.js';
import { term } from '../glossary.js';
import { byte, h, hex, hexPad, isCanonical, num, parseNumber } from '../format.js';

export const LEVELS = [
  // shades of the page-table hue (palette.js), white text on each ≥ 5.6:1
  { level: 4, name: 'PML4', bits: '47–39', color: LEVEL_COLORS[4] },
  { level: 3, name: 'PDPT', bits: '38–30', color: LEVEL_COLORS[3] },
  { level: 2, name: 'PD', bits: '29–21', color: LEVEL_COLORS[2] },
  { level: 1, name: 'PT', bits: '20–12', color: LEVEL_COLORS[1] },
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

/** Bit 8 of a leaf with P clear: Linux's `_PAGE_PROTNONE` (the MMU ignores it there). */
const PROTNONE = {
  bit: 8,
  name: 'PROTNONE',
  help: 'P is clear, so the CPU ignores this bit; Linux sets it on the leaves of a PROT_NONE range: the page stays mapped (mincore, smaps) but every access faults',
};

/** Most pages (leaf entries) the tree of page tables lists. */
export const TREE_LIMIT = 4096;

/** Decode a raw entry ("0x..." or number) into its bits and the frame it points to. */
export function decodeEntry(raw) {
  const v = BigInt(raw);
  const present = (v & 1n) === 1n;
  const bits = PTE_BITS.map((b) => ({ ...(b.bit === 8 && !present ? PROTNONE : b), on: ((v >> BigInt(b.bit)) & 1n) === 1n }));
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
      'aria-describedby': 'walk-problem',
      placeholder: '$a+4K, $arena+4K or 0x300000001000',
    });
    /** What is wrong with the address typed, shown instead of a walk (null: nothing). */
    this.problem = null;
    this.problemBox = h('p', { class: 'walk-problem', id: 'walk-problem', role: 'alert', hidden: true });
    this.form = h(
      'form',
      {
        class: 'walk-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          this.#submit(this.input.value);
        },
      },
      h('label', { class: 'inline-label' }, 'VA'),
      this.input,
      h('button', { class: 'btn small', type: 'submit' }, 'Walk'),
    );
    this.body = h('div', { class: 'walk-body' });
    this.treeBox = h('details', { class: 'tree', open: true }, h('summary', null, 'Page-table frames of this process'), h('div', { class: 'tree-body' }));
    root.append(this.form, this.problemBox, this.body, this.treeBox);
    this.treeBox.addEventListener('toggle', () => this.hooks.refresh());
  }

  /**
   * @param {{ proc, va, walk, tree }} m  `tree` is what buildTree() returned:
   * a new one whenever the tables may have changed.
   */
  update(m) {
    // a page selected elsewhere replaces what was typed, and its problem
    if (m.va !== this.shownVa || m.stamp !== this.shownStamp) {
      this.shownVa = m.va;
      this.shownStamp = m.stamp;
      if (this.problem && !this.problemFresh) this.#setProblem(null);
    }
    this.problemFresh = false;
    if (m.va !== null && m.va !== undefined && this.root.getRootNode().activeElement !== this.input && !this.problem) {
      this.input.value = hex(m.va);
    }
    if (this.problem) {
      // never the previous walk under an address that is not one
      this.body.replaceChildren();
      this.walkKey = null;
    } else if (!m.proc) {
      this.body.replaceChildren(h('p', { class: 'muted' }, 'No process: every process has exited. Reset to start again.'));
      // nor the tables of a process that is gone
      this.treeKey = null;
      this.treeBox.querySelector('.tree-body').replaceChildren(h('p', { class: 'muted' }, 'No tables: no process.'));
      return;
    }
    if (this.problem) {
      // the body was emptied above: the problem says why
    } else if (m.va === null || m.va === undefined) {
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
    if (this.treeBox.open) {
      // asked again when the tables changed (a new request) or the process
      // gained or lost pages (the page counts of the PTs)
      const key = [m.tree, m.proc ? m.proc.pid : null, m.proc ? String(m.proc.resident) : null];
      if (!this.treeKey || key.some((k, i) => k !== this.treeKey[i])) {
        this.treeKey = key;
        const view = m.tree && m.proc ? pageTableTree(this.#machine(), m.proc.pid, m.tree.limit) : null;
        this.treeBox.querySelector('.tree-body').replaceChildren(this.#tree(view));
      }
    }
  }

  /** Empty the address box (and its problem), as after a reset. */
  clearInput() {
    this.input.value = '';
    this.#setProblem(null);
  }

  /** An address typed in the box: walk it, or say why not. */
  #submit(text) {
    const m = this.#machine();
    const vars = new Map();
    for (const { name, value } of (m && m.variables()) || []) if (value.kind === 'address') vars.set(name, value.value);
    const v = parseNumber(text, vars);
    if (v === null) {
      const names = [...vars.keys()].map((n) => `$${n}`);
      const unknown = /\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
      this.#setProblem(
        unknown && unknown[1] !== 'arena' && !vars.has(unknown[1])
          ? `$${unknown[1]} is not a variable of the scenario (so far: ${names.length ? names.join(', ') : 'none'}, and $arena).`
          : `“${text.trim()}” is not an address: write a number (0x300000001000, 4K) or a variable plus an offset ($a+4K).`,
      );
      return;
    }
    if (!isCanonical(v)) {
      this.#setProblem(`${hex(v)} is not canonical: bits 63–48 of an address must copy bit 47. The CPU raises a general-protection fault (#GP) on it; it walks no page table and raises no #PF.`);
      return;
    }
    this.#setProblem(null);
    this.hooks.onWalk(v);
  }

  #setProblem(text) {
    this.problem = text;
    this.problemFresh = !!text;
    this.problemBox.hidden = !text;
    this.problemBox.textContent = text || '';
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
    if (text) this.hooks.refresh();
  }

  /** The machine the view shows (the playground's live one). */
  #machine() {
    return this.hooks.machine ? this.hooks.machine() : null;
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
        h('div', { class: 'wmain' }, 'PML4 table in ', frameLink(num(w.cr3), this.hooks), h('span', { class: 'muted' }, ` · ${proc.name}, `, term('asid'), ` ${proc.asid ?? '?'}`)),
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
                h('span', { role: 'listitem', class: 'bit' + (b.on ? ' on' : ''), 'aria-label': `${b.name} ${b.on ? 'set' : 'clear'}: ${b.help}`, dataset: { bit: b.name, on: b.on ? '1' : '0', term: b.name } }, b.name),
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

  /** @param {import('../../pkg/vmwasm.js').PageTablesView | null} view */
  #tree(view) {
    if (!view) return h('p', { class: 'muted' }, 'No tables.');
    const render = (t, index) => {
      const L = LEVELS.find((x) => x.level === num(t.level));
      const pages = t.entries.filter((e) => e.leaf && !e.huge).length;
      const empty = t.entries.length === 0 && num(t.level) < 4 && !t.truncated;
      const label = h(
        'span',
        { class: 'tnode', style: `--c:${L ? L.color : '#999'}`, dataset: { level: num(t.level), pfn: num(t.pfn) } },
        index !== null ? h('span', { class: 'mono muted' }, `[${index}] `) : null,
        h('b', null, t.name),
        ' ',
        frameLink(num(t.pfn), this.hooks),
        h('span', { class: 'muted mono', title: `covers ${hex(t.start)} … ${hex(t.last)}` }, ` ${hex(t.start)}…`),
        empty
          ? h(
              'span',
              {
                class: 'muted tempty',
                title: 'A zap (MADV_DONTNEED, truncation, a move) leaves page tables in place, as Linux does; munmap frees those that no neighbouring mapping can use (free_pgtables).',
              },
              ' · empty, kept',
            )
          : num(t.level) === 1
            ? h('span', { class: 'muted' }, ` · ${pages} ${pages === 1 ? 'page' : 'pages'}${t.truncated ? ' listed' : ''}`)
            : null,
      );
      const kids = [];
      for (const e of t.entries) {
        if (e.table) kids.push(render(e.table, num(e.index)));
        else if (e.huge) {
          kids.push(
            h(
              'li',
              null,
              h(
                'span',
                { class: 'tnode', style: '--c:#999' },
                h('span', { class: 'mono muted' }, `[${num(e.index)}] `),
                h('b', null, 'page'),
                ' ',
                frameLink(num(e.pfn), this.hooks),
                h('span', { class: 'muted mono' }, ` ${hex(e.va)}…`),
                h('span', { class: 'muted' }, ' · 2 MiB page'),
              ),
            ),
          );
        }
      }
      if (t.truncated && num(t.level) > 1) kids.push(h('li', { class: 'tmore muted' }, '… more entries not shown'));
      return h('li', null, label, kids.length ? h('ul', null, kids) : null);
    };
    const list = h('ul', { class: 'tree-list', 'aria-label': 'Tree of page-table frames' }, render(view.root, null));
    if (!view.truncated) return list;
    const note = h(
      'p',
      { class: 'tree-truncated', role: 'note', style: 'margin:4px 0;color:var(--bad);font-weight:600' },
      `Truncated: only the tables of the first ${num(view.leaves).toLocaleString('en')} pages are shown (${num(view.resident).toLocaleString('en')} resident).`,
    );
    return h('div', null, note, list);
  }
}

function frameLink(pfn, hooks) {
  return h('button', { class: 'linkish mono frame-link', dataset: { pfn }, title: `Show frame ${pfn} in physical memory`, onclick: () => hooks.onSelectFrame(pfn) }, `frame ${pfn}`);
}

/**
 * The tree of `pid`'s page tables (Machine.pageTables: each table with its
 * present entries, at most `limit` pages), or null.
 */
export function pageTableTree(machine, pid, limit = TREE_LIMIT) {
  if (!machine || typeof machine.pageTables !== 'function') return null;
  try {
    return machine.pageTables(pid, limit);
  } catch {
    return null;
  }
}

/**
 * What the playground asks the view to draw: the tree of the tables of the
 * process it passes as `proc`. The tables come from Machine.pageTables when
 * the view draws them (no page walks); a new object means the tables may
 * have changed. (`walkFn`, `entries` and `cr3` are no longer needed.)
 */
export function buildTree(walkFn, entries, cr3, limit = TREE_LIMIT) {
  return { cr3: num(cr3), limit };
}
