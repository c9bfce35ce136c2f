// The words the views use, explained once, for hover, focus and tap alike.
//
//   term('amap')            a button that shows the definition next to it
//   term('needs-copy', 'needs copy')
//   GLOSSARY                every term: { key: { title, text } }
//
// The playground shows a term's definition in one tooltip (#term-tip) when
// the pointer rests on it, when it has the focus, and when it is tapped
// (which pins it until the next tap or Escape); the Glossary dialog lists
// them all. Page-table entry bits are terms too (P, RW, US, ...).

import { h } from './format.js';

/** Every term: the word as the views write it, and what it means. */
export const GLOSSARY = {
  amap: {
    title: 'amap (anonymous map)',
    text: 'NetBSD UVM’s table of the anonymous pages of a map entry: one slot per page, each holding an anon or nothing. After fork parent and child share one amap until a write fault copies it (amap_copy).',
  },
  anon: {
    title: 'anon',
    text: 'One anonymous page in UVM: it owns a frame (or would, once touched) and counts its references. Copy-on-write gives a writer a fresh anon with a copy of the page.',
  },
  'needs-copy': {
    title: 'needs-copy',
    text: 'The map entry still shares its amap with the other side of a fork (UVM’s needs-copy flag). The first write fault copies the amap, then copies the page.',
  },
  mapcount: {
    title: 'mapcount',
    text: 'How many page-table entries map this frame. Above 1 the frame is shared (after fork, or in shared memory); the page map draws it darker.',
  },
  anon_vma: {
    title: 'anon_vma',
    text: 'Linux’s reverse map for anonymous memory: it links the entries (VMAs) that may map a page, so the kernel can find every PTE of it. An entry gets one at its first write fault; fork chains the child’s to the parent’s.',
  },
  asid: {
    title: 'ASID (address-space identifier)',
    text: 'The tag that TLB entries carry so that translations of different processes can stay in the TLB together; on x86_64 it is the PCID. A switch of CR3 need not flush the TLB.',
  },
  PCID: {
    title: 'PCID (process-context identifier)',
    text: 'x86_64’s 12-bit ASID, held in the low bits of CR3. TLB entries are tagged with it; INVPCID or a CR3 write without the no-flush bit drops a PCID’s entries.',
  },
  P: { title: 'P (present, bit 0)', text: 'The entry is valid. Clear: a walk that reaches it raises a page fault (#PF with P=0 in the error code).' },
  RW: { title: 'RW (writable, bit 1)', text: 'Writes allowed. Clear at any level makes every page below read-only: a write faults with P=1, W=1 (how copy-on-write is caught).' },
  US: { title: 'US (user, bit 2)', text: 'User-mode accesses allowed. Clear at any level: only the kernel may use the pages below.' },
  PWT: { title: 'PWT (write-through, bit 3)', text: 'Page-level write-through caching for what the entry maps.' },
  PCD: { title: 'PCD (cache disable, bit 4)', text: 'Page-level cache disable, for device memory.' },
  A: { title: 'A (accessed, bit 5)', text: 'Set by the CPU when a walk uses the entry. The kernel clears it to learn which pages are in use (page reclaim).' },
  D: { title: 'D (dirty, bit 6)', text: 'Set by the CPU on a write through a leaf entry: the page differs from its backing store and must be written back before it is dropped.' },
  PS: { title: 'PS (page size, bit 7)', text: 'In a PD entry: the entry maps a 2 MiB page itself, and there is no page table below it.' },
  G: { title: 'G (global, bit 8)', text: 'The translation stays in the TLB across CR3 switches (used for kernel pages).' },
  NX: { title: 'NX (no-execute, bit 63)', text: 'Instruction fetches from the pages below fault.' },
  PROTNONE: {
    title: 'PROTNONE (bit 8 with P clear)',
    text: 'Linux’s mark on the leaves of a PROT_NONE range: P is clear, so the CPU ignores bit 8 and every access faults, but the page stays mapped (mincore and smaps still see it).',
  },
  locked: { title: 'locked', text: 'mlock: the pages are faulted in and stay resident.' },
  dontcopy: { title: 'dontcopy', text: 'MADV_DONTFORK: the entry is not inherited by fork.' },
  wipeonfork: { title: 'wipeonfork', text: 'MADV_WIPEONFORK: the child sees zeroes in this range after fork.' },
  hugepage: { title: 'hugepage', text: 'MADV_HUGEPAGE: faults may map 2 MiB pages here.' },
  nohugepage: { title: 'nohugepage', text: 'MADV_NOHUGEPAGE: never 2 MiB pages here.' },
  dontdump: { title: 'dontdump', text: 'MADV_DONTDUMP: left out of core dumps.' },
  account: { title: 'account', text: 'The entry is counted as committed memory (private writable memory is, against overcommit).' },
  'kernel-linux': {
    title: 'Linux: VMA + anon_vma',
    text: 'Linux keeps a process’s map as vm_area_structs (VMAs) in a maple tree; anonymous pages hang off the VMA, and an anon_vma links every VMA that may map them (the reverse map). MADV_DONTNEED drops the pages: a later read sees zeroes (mm/mmap.c, mm/rmap.c, mm/madvise.c).',
  },
  'kernel-freebsd': {
    title: 'FreeBSD: vm_map_entry + vm_object',
    text: 'FreeBSD’s map is a list of vm_map_entry; anonymous memory is a vm_object, and copy-on-write after fork puts shadow objects in front of it. Touching neighbours with the same object and rights merge again (vm_map_simplify_entry); MADV_DONTNEED only deactivates pages, so their data stays (sys/vm/vm_map.c).',
  },
  'kernel-netbsd': {
    title: 'NetBSD UVM: vm_map_entry + amap',
    text: 'NetBSD’s UVM puts an amap of anons above the memory object of each vm_map_entry (the simulator’s own anonymous layer). Entries merge only when a mapping is made next to a compatible one, never after mprotect; PaX MPROTECT refuses writable-and-executable memory (sys/uvm/uvm_map.c, uvm_amap.c).',
  },
  growsdown: { title: 'growsdown', text: 'MAP_GROWSDOWN: a stack; a fault just below it grows it down.' },
};

/** A term as a small button (focusable, tappable) that shows its definition. */
export function term(key, text = key) {
  if (!GLOSSARY[key]) return text;
  return h('button', { type: 'button', class: 'term', dataset: { term: key }, 'aria-describedby': 'term-tip' }, text);
}

/**
 * Show definitions next to terms: hover, focus and tap, one tooltip for the
 * whole shadow root. Elements with data-term (buttons from term(), the PTE
 * bits) are terms.
 */
export function wireGlossary(root, container) {
  const tip = h('div', { class: 'term-tip', id: 'term-tip', role: 'tooltip', hidden: true });
  container.append(tip);
  let pinned = null;
  const show = (el) => {
    const g = GLOSSARY[el.dataset.term];
    if (!g) return;
    tip.replaceChildren(h('b', null, g.title), ' ', g.text);
    tip.hidden = false;
    const r = el.getBoundingClientRect();
    const c = container.getBoundingClientRect();
    const left = Math.max(4, Math.min(r.left - c.left, c.width - 300));
    const below = r.bottom - c.top + 6;
    tip.style.left = `${left}px`;
    tip.style.top = below + 120 < c.height ? `${below}px` : `${Math.max(4, r.top - c.top - 6 - tip.offsetHeight)}px`;
  };
  const hide = () => {
    tip.hidden = true;
    pinned = null;
  };
  const termOf = (ev) => ev.target.closest?.('[data-term]');
  root.addEventListener('mouseover', (ev) => {
    const t = termOf(ev);
    if (t && !pinned) show(t);
  });
  root.addEventListener('mouseout', (ev) => {
    if (termOf(ev) && !pinned) tip.hidden = true;
  });
  root.addEventListener('focusin', (ev) => {
    const t = termOf(ev);
    if (t) show(t);
  });
  root.addEventListener('focusout', (ev) => {
    if (termOf(ev) && pinned !== termOf(ev)) tip.hidden = true;
  });
  root.addEventListener('click', (ev) => {
    const t = termOf(ev);
    if (!t) {
      if (pinned) hide();
      return;
    }
    if (pinned === t) return hide();
    pinned = t;
    show(t);
  });
  root.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !tip.hidden) hide();
  });
  return tip;
}
