// The Okabe–Ito palette (safe for the common colour-vision deficiencies),
// and what each colour means in the playground. Every colour also comes with
// a text label or a pattern, so nothing is told by colour alone.

export const OKABE_ITO = {
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
  grey: '#999999',
};

/**
 * One meaning per hue, in every view (issue 13, item 11):
 *
 *   blue        anonymous memory: private anonymous entries, anonymous frames
 *   green       files: file entries, the page cache
 *   purple      shared anonymous memory (shmem)
 *   orange      memfd
 *   yellow      the zero page
 *   vermillion  faults and failures: page faults, signals, errno, out of memory
 *   rose        pages on loan whose owner freed them (kept by the borrower)
 *   black/grey  page tables: their frames, and PML4 → PT in four shades
 *
 * Everything else (success, frame, TLB and system-call events, map changes)
 * is ink or a neutral grey, and told by its words. (The interface's own
 * accent, for buttons, links and the selection, is not a meaning of data.)
 */
export const HUE = {
  anon: OKABE_ITO.blue,
  file: OKABE_ITO.green,
  shmem: OKABE_ITO.purple,
  memfd: OKABE_ITO.orange,
  zero: OKABE_ITO.yellow,
  fault: OKABE_ITO.vermillion,
  pageTable: '#2e3238',
  /** Paul Tol's rose: apart from every Okabe–Ito hue in use. */
  loaned: '#CC6677',
};

/** The page-table levels, darkest at the root: shades of the page-table hue
 * (white text on each is at least 5.6:1). */
export const LEVEL_COLORS = { 4: '#000000', 3: '#2e3238', 2: '#4a4f57', 1: '#62676f' };

/** Map-entry backing: private anonymous, shared anonymous, file, memfd. */
export const BACKING = {
  anon: { color: HUE.anon, label: 'anonymous (private)' },
  shmem: { color: HUE.shmem, label: 'shared anonymous' },
  file: { color: HUE.file, label: 'file' },
  memfd: { color: HUE.memfd, label: 'memfd' },
  // FreeBSD's MAP_GUARD entries and the gap below a MAP_STACK mapping:
  // reserved address space with nothing behind it.
  guard: { color: OKABE_ITO.grey, label: 'guard (reserved, no memory)' },
};

export function backingKind(backing) {
  const b = String(backing || 'anon');
  if (b.startsWith('file:')) return 'file';
  if (b.startsWith('memfd:')) return 'memfd';
  // MAP_HUGETLB's unlinked hugetlbfs file, `/anon_hugepage (deleted)`: a file.
  if (b.startsWith('/')) return 'file';
  if (b === 'shmem') return 'shmem';
  if (b === 'guard') return 'guard';
  return 'anon';
}

/** The frame-kind bytes of Machine.frameKindsPtr (low bits; bit 7: mapped more than once). */
export const KIND = Object.freeze({ FREE: 0, ANON: 1, CACHE: 2, PAGE_TABLE: 3, ZERO: 4, LOANED: 5 });

/**
 * Physical frame kinds, by their byte. `name` is the core's spelling of the
 * kind (FrameView.kind, a frame_alloc event's kind): the wasm module's
 * frameKindNames(), which vm.js checks this table against when it loads.
 */
export const FRAME_KINDS = [
  { id: KIND.FREE, name: 'free', label: 'free', color: '#E9ECF1' },
  { id: KIND.ANON, name: 'anon', label: 'anonymous', color: HUE.anon },
  { id: KIND.CACHE, name: 'cache', label: 'page cache', color: HUE.file },
  { id: KIND.PAGE_TABLE, name: 'page-table', label: 'page table', color: HUE.pageTable },
  { id: KIND.ZERO, name: 'zero', label: 'zero page', color: HUE.zero },
  { id: KIND.LOANED, name: 'loaned', label: 'on loan, owner gone', color: HUE.loaned },
];

const KIND_OF_NAME = new Map(FRAME_KINDS.map((k) => [k.name, k.id]));

/** The byte of a kind the core names (`'page-table'` is KIND.PAGE_TABLE); undefined if unknown. */
export function kindOf(name) {
  return KIND_OF_NAME.get(name);
}

/** Per-page state bits of Machine.page_states. */
export const PAGE_BITS = {
  PRESENT: 1,
  WRITABLE: 2,
  /** With PRESENT: the PTE's dirty bit. */
  DIRTY: 4,
  /** Without PRESENT (the DIRTY bit, which only a present page has): the PTE holds a swap entry (pagemap's S). */
  SWAPPED: 4,
  ACCESSED: 8,
  ANON: 16,
  SHARED: 32,
  HUGE: 64,
  ZERO: 128,
};

/** A present page whose PTE is dirty. */
export const isDirty = (st) => (st & PAGE_BITS.PRESENT) !== 0 && (st & PAGE_BITS.DIRTY) !== 0;
/** A page whose PTE holds a swap entry: its bytes are in a swap slot. */
export const isSwapped = (st) => (st & PAGE_BITS.PRESENT) === 0 && (st & PAGE_BITS.SWAPPED) !== 0;
/** Swapped-out pages and taken swap slots (Paul Tol's indigo: apart from every backing and frame kind). */
export const SWAP_COLOR = '#332288';

/** [r, g, b] of a #rrggbb colour. */
export function rgb(hexColor) {
  const n = parseInt(hexColor.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Mix a colour with white: t = 0 the colour, t = 1 white. */
export function tint(hexColor, t) {
  const [r, g, b] = rgb(hexColor);
  const m = (c) => Math.round(c + (255 - c) * t);
  return `rgb(${m(r)}, ${m(g)}, ${m(b)})`;
}
