// Physical memory: every frame one cell of a canvas, coloured by what it
// holds. The frame-kind bytes are read straight out of wasm memory; one
// ImageData pixel per cell, scaled up without smoothing. When the frames
// outnumber the pixels of the box (256 MiB, 1 GiB), a cell stands for a
// power-of-two group of frames and shows the kind most of its used frames
// have (free only when all are free), so the whole memory is always seen.

import { term } from '../glossary.js';
import { count, h, hex, num, show, size } from '../format.js';
import { FRAME_KINDS, rgb } from '../palette.js';

const KIND_RGB = FRAME_KINDS.map((k) => rgb(k.color));
/** Room around the grid for the rings and numbers of marked frames. */
const M = 7;
/** The system's dark theme: free frames and the gaps between cells go dark too. */
const DARK = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
/** A free frame's colour in the dark theme (the palette's is for a white page). */
const FREE_DARK = '#2b323d';
/** Page tables are black on a white page, light grey on a dark one. */
const TABLE_DARK = '#c6cfdb';
/** A kind's colour in the theme in use. */
const themed = (k) => (DARK && DARK.matches ? (k.id === 0 ? FREE_DARK : k.id === 3 ? TABLE_DARK : k.color) : k.color);
const gapColor = () => (DARK && DARK.matches ? '#171c23' : '#ffffff');

export class PhysMemView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.selected = null;
    this.marks = [];
    this.changes = null;
    this.legend = h('div', { class: 'pm-legend', role: 'list', 'aria-label': 'Frames by kind' });
    this.canvas = h('canvas', {
      class: 'pm-canvas',
      tabindex: '0',
      role: 'img',
      'aria-label': 'Physical memory map',
    });
    this.tip = h('div', { class: 'pm-tip', hidden: true, role: 'tooltip' });
    this.detail = h('div', { class: 'pm-detail' });
    this.labelBox = h('div', { class: 'pm-labels', 'aria-hidden': 'true' });
    this.wrap = h('div', { class: 'pm-wrap' }, this.canvas, this.labelBox, this.tip);
    root.append(this.legend, this.wrap, this.detail);
    this.off = document.createElement('canvas');
    this.canvas.addEventListener('mousemove', (ev) => this.#hover(ev));
    this.canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
    this.canvas.addEventListener('click', (ev) => {
      const pfn = this.#pfnAt(ev);
      if (pfn !== null) this.hooks.onSelectFrame(pfn);
    });
    this.canvas.addEventListener('keydown', (ev) => this.#key(ev));
    this.boxW = 0;
    this.boxH = 0;
    // the theme changed: paint every cell again in its colours
    DARK?.addEventListener('change', () => {
      this.lut = null;
      this.prevKinds = null;
      if (this.kindsFn) this.draw();
      this.#drawLegend();
    });
    new ResizeObserver((es) => {
      const r = es[es.length - 1].contentRect;
      if (r.width === this.boxW && r.height === this.boxH) return;
      this.boxW = r.width;
      this.boxH = r.height;
      if (this.kindsFn) this.draw();
    }).observe(this.wrap);
  }

  /** @param {{ kinds: () => Uint8Array, changes, selected, marks }} m */
  update(m) {
    this.kindsFn = m.kinds;
    this.changes = m.changes;
    this.selected = m.selected;
    this.marks = m.marks || [];
    this.draw();
    this.#drawLegend();
    this.#drawDetail();
  }

  get kinds() {
    return this.kindsFn ? this.kindsFn() : null;
  }

  /**
   * Columns, cell size and frames per cell that fill the box best (powers
   * of two first): one frame per cell while the frames fit at a cell of at
   * least 2 pixels, else the fewest frames per cell that fit.
   */
  #geometry(n) {
    if (!this.boxW) {
      this.boxW = this.wrap.clientWidth;
      this.boxH = this.wrap.clientHeight;
    }
    const W = Math.max(120, this.boxW - 2 - 2 * M);
    const H = Math.max(60, this.boxH - 2 - 2 * M);
    for (let per = 1; ; per *= 2) {
      const m = Math.ceil(n / per);
      let best = null;
      // the biggest cell; between equal cells, the shape closest to the box's
      const tryCols = (cols) => {
        const rows = Math.ceil(m / cols);
        const cell = Math.min(14, Math.floor(Math.min(W / cols, H / rows)));
        const fill = Math.min((cols * cell) / W, (rows * cell) / H);
        if (!best || cell > best.cell || (cell === best.cell && fill > best.fill)) best = { cols, rows, cell, per, cells: m, fill };
      };
      for (let c = 16; c <= 4096; c *= 2) tryCols(c);
      for (let c = 32; c <= 2048; c += 32) tryCols(c);
      if (best.cell >= 1 || per >= n) return { ...best, cell: Math.max(1, best.cell) };
    }
  }

  draw() {
    const kinds = this.kinds;
    if (!kinds) return;
    const n = kinds.length;
    const g = this.#geometry(n);
    this.g = g;
    const { cols, rows } = g;
    // one pixel per cell
    if (this.off.width !== cols || this.off.height !== rows || this.per !== g.per) {
      this.per = g.per;
      this.off.width = cols;
      this.off.height = rows;
      this.img = null;
    }
    const octx = this.off.getContext('2d');
    // the one-pixel-per-cell image: whole when it is new, else only the
    // cells of the frames that changed kind since the last draw
    if (!this.img || !this.prevKinds || this.prevKinds.length !== n) this.#paintImage(octx, kinds, n, g.per);
    else this.#repaintChanged(octx, kinds, n, g.per);
    this.#drawScaled(n, g);
  }

  /**
   * The frames whose kind byte differs from the last draw (compared four
   * at a time): their counts move, and their cells are coloured again.
   */
  #repaintChanged(octx, kinds, n, per) {
    const prev = this.prevKinds;
    const counts = this.counts;
    const S = FRAME_KINDS.length + 1; // the "mapped more than once" count
    const cells = [];
    const diff = (i) => {
      const a = prev[i];
      const b = kinds[i];
      if (a === b) return;
      counts[a & 0x0f]--;
      counts[b & 0x0f]++;
      if (a & 0x80 && a & 0x0f) counts[S]--;
      if (b & 0x80 && b & 0x0f) counts[S]++;
      prev[i] = b;
      const c = Math.floor(i / per);
      if (cells[cells.length - 1] !== c) cells.push(c);
    };
    // the copy lies at the same offset modulo 4 as the bytes in wasm memory
    // (made so by #paintImage), so whole words line up
    const head = Math.min(n, (4 - (kinds.byteOffset & 3)) & 3);
    const words = (n - head) >> 2;
    if ((kinds.byteOffset & 3) === (prev.byteOffset & 3)) {
      for (let i = 0; i < head; i++) if (prev[i] !== kinds[i]) diff(i);
      const x = new Uint32Array(prev.buffer, prev.byteOffset + head, words);
      const y = new Uint32Array(kinds.buffer, kinds.byteOffset + head, words);
      for (let w = 0; w < words; w++) {
        if (x[w] !== y[w]) for (let i = head + w * 4; i < head + w * 4 + 4; i++) diff(i);
      }
      for (let i = head + words * 4; i < n; i++) if (prev[i] !== kinds[i]) diff(i);
    } else for (let i = 0; i < n; i++) if (prev[i] !== kinds[i]) diff(i);
    if (!cells.length) return;
    const px = new Uint32Array(this.img.data.buffer);
    const lut = (this.lut ??= kindTable(!!(DARK && DARK.matches)));
    for (const c of cells) px[c] = per === 1 ? lut[kinds[c]] : groupColor(lut, kinds, c, per, n);
    // only the rows of the image that hold a changed cell go to the canvas
    const { cols } = this.g;
    const r0 = Math.floor(cells[0] / cols);
    const r1 = Math.floor(cells[cells.length - 1] / cols);
    octx.putImageData(this.img, 0, 0, 0, r0, cols, r1 - r0 + 1);
  }

  #paintImage(octx, kinds, n, per) {
    const { cols, rows } = this.g;
    this.img ??= octx.createImageData(cols, rows);
    // a copy at the same offset modulo 4, to compare four bytes at a time
    this.prevKinds = new Uint8Array(new ArrayBuffer(n + 4), kinds.byteOffset & 3, n);
    this.prevKinds.set(kinds);
    // one 32-bit RGBA word per cell, from a table indexed by the kind byte
    const px = new Uint32Array(this.img.data.buffer);
    const lut = (this.lut ??= kindTable(!!(DARK && DARK.matches)));
    const counts = new Uint32Array(FRAME_KINDS.length + 2);
    if (per === 1) {
      for (let i = 0; i < n; i++) {
        const b = kinds[i];
        px[i] = lut[b];
        counts[b & 0x0f]++;
        if (b & 0x80 && b & 0x0f) counts[FRAME_KINDS.length + 1]++;
      }
      px.fill(0, n);
    } else {
      // a group of frames: the kind most of its used frames have
      const inGroup = new Uint32Array(16);
      const cells = Math.ceil(n / per);
      for (let c = 0; c < cells; c++) {
        inGroup.fill(0);
        let shared = 0;
        const end = Math.min(n, (c + 1) * per);
        for (let i = c * per; i < end; i++) {
          const b = kinds[i];
          inGroup[b & 0x0f]++;
          if (b & 0x80 && b & 0x0f) shared++;
        }
        for (let j = 0; j < FRAME_KINDS.length; j++) counts[j] += inGroup[j];
        counts[FRAME_KINDS.length + 1] += shared;
        px[c] = lut[majority(inGroup, shared)];
      }
      px.fill(0, cells);
    }
    octx.putImageData(this.img, 0, 0);
    this.counts = counts;
  }

  #drawScaled(n, g) {
    const { cols, rows, cell } = g;
    const cv = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const W = cols * cell;
    const H = rows * cell;
    const CW = W + 2 * M;
    const CH = H + 2 * M;
    if (cv.width !== Math.round(CW * dpr) || cv.height !== Math.round(CH * dpr)) {
      cv.width = Math.round(CW * dpr);
      cv.height = Math.round(CH * dpr);
      cv.style.width = CW + 'px';
      cv.style.height = CH + 'px';
    }
    const ctx = cv.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, CW, CH);
    ctx.setTransform(dpr, 0, 0, dpr, M * dpr, M * dpr);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.off, 0, 0, W, H);
    if (cell >= 4) {
      // gaps between cells
      ctx.fillStyle = gapColor();
      for (let c = 1; c < cols; c++) ctx.fillRect(c * cell - 1, 0, 1, H);
      for (let r = 1; r < rows; r++) ctx.fillRect(0, r * cell - 1, W, 1);
    }
    // what the last step touched
    if (this.changes) {
      ctx.lineWidth = 1.5;
      for (const [pfn, how] of this.changes.frames) {
        if (pfn >= n) continue;
        const [x, y] = this.#xy(pfn);
        ctx.strokeStyle = how === 'free' ? '#6b7280' : '#000';
        const pad = cell < 4 ? 2 : 0.5;
        ctx.strokeRect(x - pad + 0.25, y - pad + 0.25, cell + 2 * pad - 1.5, cell + 2 * pad - 1.5);
      }
    }
    this.labels = [];
    for (const pfn of this.marks) this.#ring(ctx, pfn, '#D55E00', n);
    if (this.selected !== null && this.selected !== undefined) this.#ring(ctx, this.selected, '#111', n);
    show(this.labelBox, this.labels);
    const counts = this.counts;
    const summary = FRAME_KINDS.map((k) => `${count(counts[k.id])} ${k.label}`).join(', ');
    const grouped = g.per > 1 ? ` Each cell is ${g.per} frames and shows the kind most of its used frames have.` : '';
    cv.setAttribute('aria-label', `Physical memory: ${count(n)} frames of 4 KiB; ${summary}.${grouped} Arrow keys move the selected ${g.per > 1 ? 'cell' : 'frame'}.`);
    this.wrap.dataset.per = g.per;
    if (this.sizeBox) this.sizeBox.textContent = `${count(n)} frames · ${size(n * 4096)}${g.per > 1 ? ` · ${g.per} frames a cell` : ''}`;
  }

  /** A ring around a frame, big enough to find at any cell size, and its number. */
  #ring(ctx, pfn, color, n) {
    if (pfn >= n) return;
    const { cell, cols } = this.g;
    const [x, y] = this.#xy(pfn);
    const r = Math.max(cell + 4, 10);
    const cx = x + cell / 2;
    const cy = y + cell / 2;
    ctx.lineWidth = 3.5;
    ctx.strokeStyle = '#fff';
    ctx.strokeRect(cx - r / 2, cy - r / 2, r, r);
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.strokeRect(cx - r / 2, cy - r / 2, r, r);
    // the number is an HTML label over the canvas (canvas text is slow here)
    const right = x < cols * cell - 40 - r;
    this.labels.push(
      h('span', { class: 'pm-label', style: `left:${M + (right ? cx + r / 2 + 3 : cx - r / 2 - 3)}px;top:${M + cy - 7}px;color:${color};${right ? '' : 'transform:translateX(-100%)'}` }, String(pfn)),
    );
  }

  #xy(pfn) {
    const { cols, cell, per } = this.g;
    const c = Math.floor(pfn / per);
    return [(c % cols) * cell, Math.floor(c / cols) * cell];
  }

  #pfnAt(ev) {
    if (!this.g) return null;
    const r = this.canvas.getBoundingClientRect();
    const { cols, cell } = this.g;
    const c = Math.floor((ev.clientX - r.left - M) / cell);
    const rr = Math.floor((ev.clientY - r.top - M) / cell);
    if (c < 0 || c >= cols || rr < 0) return null;
    const pfn = (rr * cols + c) * this.g.per;
    const kinds = this.kinds;
    return kinds && pfn < kinds.length ? pfn : null;
  }

  #hover(ev) {
    const pfn = this.#pfnAt(ev);
    if (pfn === null) {
      this.tip.hidden = true;
      return;
    }
    const f = this.hooks.frame(pfn);
    this.tip.hidden = false;
    this.tip.textContent = describeFrame(pfn, f);
    const r = this.wrap.getBoundingClientRect();
    const x = ev.clientX - r.left + 14;
    const y = ev.clientY - r.top + 14;
    this.tip.style.left = Math.min(x, r.width - 220) + 'px';
    this.tip.style.top = y + 'px';
  }

  #key(ev) {
    const kinds = this.kinds;
    if (!kinds || !this.g) return;
    const n = kinds.length;
    let p = this.selected ?? 0;
    const per = this.g.per;
    const moves = { ArrowRight: per, ArrowLeft: -per, ArrowDown: this.g.cols * per, ArrowUp: -this.g.cols * per, PageDown: this.g.cols * per * 16, PageUp: -this.g.cols * per * 16 };
    if (ev.key in moves) p += moves[ev.key];
    else if (ev.key === 'Home') p = 0;
    else if (ev.key === 'End') p = n - 1;
    else if (ev.key === 'n') {
      // next frame in use
      for (let i = p + 1; i < n; i++) {
        if (kinds[i] & 0x0f) {
          p = i;
          break;
        }
      }
    } else return;
    ev.preventDefault();
    this.hooks.onSelectFrame(Math.max(0, Math.min(n - 1, p)));
  }

  #drawLegend() {
    const counts = this.counts;
    if (!counts) return;
    const items = [
      ...FRAME_KINDS.map((k) =>
        h('span', { class: 'lg', role: 'listitem', dataset: { kind: k.name, count: counts[k.id] } }, h('span', { class: 'lg-cell', style: `background:${themed(k)}` }), `${k.label} `, h('b', null, count(counts[k.id]))),
      ),
      counts[FRAME_KINDS.length + 1] ? h('span', { class: 'lg muted', role: 'listitem' }, h('span', { class: 'lg-cell lg-darker' }), `darker: mapped more than once (${count(counts[FRAME_KINDS.length + 1])})`) : null,
    ];
    show(this.legend, items);
  }

  #drawDetail() {
    if (this.selected === null || this.selected === undefined) {
      show(this.detail, h('span', { class: 'muted' }, 'Hover a frame for its owner; click (or focus and use the arrow keys, n = next used frame) to select it and list who maps it.'));
      return;
    }
    const f = this.hooks.frame(this.selected);
    const mappedBy = (f && f.mapped_by) || [];
    // the buttons' handlers follow from their text (pid and address)
    show(
      this.detail,
      h('div', { class: 'pm-title' }, h('b', null, `frame ${this.selected}`), ` · phys ${hex(this.selected * 4096)} · `, f ? kindLabel(f.kind) : 'unknown'),
      f
        ? h(
            'div',
            { class: 'pm-props' },
            f.owner !== undefined && f.owner !== null ? h('span', null, `owner ${fmtOwner(f.owner)}`) : null,
            h('span', null, term('mapcount'), ` ${f.mapcount ?? 0}`),
            f.wired ? h('span', { class: 'chip' }, `wired ${f.wired}`) : null,
            f.dirty ? h('span', { class: 'chip' }, 'dirty') : null,
            f.referenced ? h('span', { class: 'chip' }, 'referenced') : null,
            f.loans ? h('span', { class: 'chip' }, `on loan ×${f.loans}: lent to the kernel (${(f.borrowed_by || []).map((n) => `loan #${n}`).join(', ')}), mapped read-only`) : null,
          )
        : null,
      mappedBy.length
        ? h(
            'div',
            { class: 'pm-rmap' },
            'mapped by ',
            ...mappedBy.map((m, i) => [i ? ', ' : '', h('button', { class: 'linkish mono', onclick: () => this.hooks.onSelectPage(m.pid, num(m.va)) }, `pid ${m.pid} @ ${hex(m.va)}`)]),
          )
        : h('div', { class: 'muted' }, 'not mapped by any process'),
    );
  }
}

/** RGBA words (little-endian ABGR) for every kind byte; bit 7 (mapped more than once) darkens. */
function kindTable(dark) {
  const lut = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    const k = b & 0x0f;
    let [r, g, bl] = dark && (k === 0 || k === 3) ? rgb(k === 0 ? FREE_DARK : TABLE_DARK) : KIND_RGB[k] || KIND_RGB[0];
    if (b & 0x80 && k) [r, g, bl] = [r * 0.55, g * 0.55, bl * 0.55].map(Math.round);
    lut[b] = (255 << 24) | (bl << 16) | (g << 8) | r;
  }
  return lut;
}

/**
 * The kind byte a cell of frames shows: the kind most of its used frames
 * have (free only when all are free), darker when most of those are mapped
 * more than once. `inGroup` counts the cell's frames by kind.
 */
function majority(inGroup, shared) {
  let k = 0;
  for (let j = 1; j < 16; j++) if (inGroup[j] > (k ? inGroup[k] : 0)) k = j;
  return k && shared * 2 > inGroup[k] ? k | 0x80 : k;
}

const GROUP = new Uint32Array(16);

/** The colour of cell `c` of `per` frames (see majority). */
function groupColor(lut, kinds, c, per, n) {
  GROUP.fill(0);
  let shared = 0;
  const end = Math.min(n, (c + 1) * per);
  for (let i = c * per; i < end; i++) {
    const b = kinds[i];
    GROUP[b & 0x0f]++;
    if (b & 0x80 && b & 0x0f) shared++;
  }
  return lut[majority(GROUP, shared)];
}

function kindLabel(kind) {
  const k = FRAME_KINDS.find((x) => x.name === kind || x.id === kind || x.label === kind);
  return k ? k.label : String(kind);
}

function fmtOwner(o) {
  if (typeof o === 'object') return JSON.stringify(o);
  return String(o);
}

/** One line about a frame, for tooltips and the status line. */
export function describeFrame(pfn, f) {
  if (!f) return `frame ${pfn}`;
  const by = (f.mapped_by || []).map((m) => `pid ${m.pid} @ ${hex(m.va)}`).join(', ');
  const lent = f.loans ? ` · on loan ×${f.loans}` : '';
  return `frame ${pfn} · ${kindLabel(f.kind)}${f.owner !== undefined && f.owner !== null ? ' · ' + fmtOwner(f.owner) : ''} · mapcount ${f.mapcount ?? 0}${lent}${by ? ' · ' + by : ''}`;
}
