// Formatting helpers shared by the views: addresses, sizes, page counts.
// An address is written one way everywhere, as the scenario language and
// its results write it: 0x300000001000 (hex).
// Values from the wasm bindings are Numbers when they fit in 2^53 and
// BigInts (or "0x..." strings) when they do not; every helper takes all three.

export const PAGE = 4096;
export const HUGE = 2 * 1024 * 1024;
/** The fixed address `$arena` of the .vms language. */
export const ARENA = 0x300000000000;
/** `$arena + 64G`: the end of the range scenarios own. */
export const ARENA_END = ARENA + 64 * 1024 * 1024 * 1024;
/** The top of the 47-bit user address space. */
export const USER_TOP = 0x800000000000;

/** Lower-case hex with 0x, for Number, BigInt or an already hex string. */
export function hex(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v.startsWith('0x') ? v.toLowerCase() : v;
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (!Number.isFinite(v)) return String(v);
  return (v < 0 ? '-0x' : '0x') + Math.abs(v).toString(16);
}

/** Hex padded to `digits` (used for PTEs and table indices). */
export function hexPad(v, digits) {
  const s = typeof v === 'string' ? v.replace(/^0x/, '') : BigInt(v).toString(16);
  return '0x' + s.padStart(digits, '0');
}

/**
 * How many of something, for people: 262,144 (a comma every three digits,
 * as the page writes every count). Numbers that name a thing (a frame, a
 * pid, a line, a slot) are written plain: frame 262143, line 12.
 */
export function count(n) {
  return Number(n).toLocaleString('en');
}

/** A byte as 0xNN. */
export function byte(v) {
  return '0x' + Number(v).toString(16).padStart(2, '0');
}

/** A size in bytes, in the largest exact-enough unit: 4 KiB, 2 MiB, 1.5 GiB. */
export function size(bytes) {
  const b = Number(bytes);
  const units = [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]];
  for (const [u, n] of units) {
    if (b >= n) {
      const v = b / n;
      return (Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)) + ' ' + u;
    }
  }
  return b + ' B';
}

/** "1 page" / "12 pages". */
export function pages(n) {
  n = Number(n);
  return n === 1 ? '1 page' : `${count(n)} pages`;
}

/**
 * Parse a number typed by a person: decimal, 0x hex, K/M/G suffix, `$arena`,
 * and the scenario's variables when `vars` (name -> value) is given, as the
 * .vms language writes them (`$a+4K`). Null when it is not one.
 */
export function parseNumber(text, vars = null) {
  let s = String(text).trim().replace(/_/g, '');
  if (!s) return null;
  let total = 0n;
  for (const term of s.split('+')) {
    const m = /^(?:\$([A-Za-z_][A-Za-z0-9_]*)|(0x[0-9a-f]+)|([0-9]+))([kmg]?)$/i.exec(term.trim());
    if (!m) return null;
    let v;
    if (m[1] === 'arena') v = BigInt(ARENA);
    else if (m[1]) {
      const x = vars && vars.get(m[1]);
      if (x === undefined || x === null) return null;
      v = BigInt(x);
    } else v = BigInt(m[2] || m[3]);
    const suf = (m[4] || '').toUpperCase();
    if (suf === 'K') v *= 1024n;
    else if (suf === 'M') v *= 1024n ** 2n;
    else if (suf === 'G') v *= 1024n ** 3n;
    total += v;
  }
  total &= (1n << 64n) - 1n;
  return total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : total;
}

/**
 * Whether an x86_64 address is canonical (48-bit): bits 63..48 copy bit 47.
 * A non-canonical access raises #GP; no page walk happens.
 */
export function isCanonical(v) {
  const top = BigInt(v) >> 47n;
  return top === 0n || top === (1n << 17n) - 1n;
}

/** Number(v) for Number, BigInt or hex string. */
export function num(v) {
  if (typeof v === 'string') return Number(BigInt(v));
  return Number(v);
}

/** Escape text for innerHTML. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Build an element: h('div', {class: 'x', onclick}, child, 'text', ...). */
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'html') el.innerHTML = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * Put `nodes` in `box` in place of its children, unless the box already
 * shows the same markup: a redraw that changed nothing there leaves the
 * nodes alone, so nothing is laid out again and a focused one keeps the
 * focus. (Handlers are not markup: use it where the same markup means the
 * same handlers, or delegate events.)
 */
export function show(box, ...nodes) {
  const kids = nodes.flat().filter((n) => n !== null && n !== undefined && n !== false);
  const markup = (n) => (n instanceof Element ? n.outerHTML : n instanceof Node ? n.textContent : String(n));
  const now = box.childNodes;
  if (now.length === kids.length && kids.every((n, i) => now[i].nodeType === (n instanceof Node ? n.nodeType : 3) && markup(now[i]) === markup(n))) return false;
  box.replaceChildren(...kids);
  return true;
}

/** The SVG flavour of h(). */
export function s(tag, attrs, ...children) {
  return h('svg:' + tag, attrs, ...children);
}
