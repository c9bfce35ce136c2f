// The address space: every live process as a lane on one shared vertical
// axis, high addresses at the top. The axis is "compressed": each stretch
// between two mapping boundaries gets a height that grows with the log of its
// size and every hole is drawn short, so a 4 KiB mapping next to a 64 GiB one
// is still visible. Zoom stretches the axis; the view scrolls.

import { ARENA, ARENA_END, USER_TOP, count, esc, h, hex, size, num } from '../format.js';
import { BACKING, PAGE_BITS, SWAP_COLOR, backingKind, isDirty, isSwapped, tint } from '../palette.js';

/** The address axis: room for a 48-bit address written in hex (0x7fffffffe000). */
const AXIS_W = 108;
const PAD = 10;
const HOLE_W = 10;
const MIN_W = 14;
const LOG_W = 5;
const MAX_SCALE = 7;
const STRIPE_MAX_PAGES = 4096;

function mappedWeight(bytes) {
  return MIN_W + LOG_W * Math.log2(Math.max(1, bytes / 4096));
}

export class AddressSpaceView {
  /**
   * @param {HTMLElement} root the panel body
   * @param {{ onSelect: (sel) => void, onSelectPage: (pid, va) => void, onSelectProc: (pid) => void, pageStates: (pid, start, n) => Uint8Array }} hooks
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.zoom = 1;
    this.procs = [];
    this.selected = null; // { pid, start }
    this.selectedPid = null;
    this.mark = null; // { pid, va } or { pid, range }
    this.changes = null;
    this.tableMode = false;
    this.layoutKey = null;

    // the lanes are all on screen at once: a group of toggle buttons, not tabs
    this.header = h('div', { class: 'as-lanes', role: 'group', 'aria-label': 'Processes' });
    this.svg = h('svg:svg', {
      class: 'as-svg',
      role: 'img',
      'aria-roledescription': 'address space diagram',
    });
    this.scroller = h(
      'div',
      {
        class: 'as-scroll',
        tabindex: '0',
        role: 'group',
        'aria-label':
          'Address space diagram. Up and down arrows move between map entries, left and right between processes; plus and minus zoom, 0 fits; Z zooms in on the selected entry, or on the cluster of small entries it is drawn in; Enter walks the page tables of the selected entry.',
        'aria-keyshortcuts': 'ArrowUp ArrowDown ArrowLeft ArrowRight Plus - 0 Z Enter',
      },
      this.svg,
    );
    this.table = h('div', { class: 'as-table', hidden: true });
    this.status = h('div', { class: 'sr-only', 'aria-live': 'polite' }); // what a key in the diagram did
    root.append(this.header, this.scroller, this.table, this.status);

    // sizes and scroll position are cached (from the observer and scroll
    // events) so a redraw never forces a synchronous layout
    this.viewW = 0;
    this.viewH = 0;
    this.scrollY = 0;
    this.scroller.addEventListener('scroll', () => {
      this.scrollY = this.scroller.scrollTop;
      this.#scheduleDraw();
    });
    this.scroller.addEventListener('keydown', (ev) => this.#key(ev));
    this.scroller.addEventListener(
      'wheel',
      (ev) => {
        if (!ev.ctrlKey && !ev.metaKey) return;
        ev.preventDefault();
        this.setZoom(this.zoom * (ev.deltaY < 0 ? 1.25 : 0.8), ev.offsetY);
      },
      { passive: false },
    );
    this.svg.addEventListener('click', (ev) => this.#click(ev));
    this.svg.addEventListener('dblclick', (ev) => {
      const g = ev.target.closest('[data-cluster]');
      if (g) this.#zoomTo(Number(g.dataset.y0), Number(g.dataset.y1));
    });
    new ResizeObserver((es) => {
      const r = es[es.length - 1].contentRect;
      if (r.width === this.viewW && r.height === this.viewH) return;
      this.viewW = r.width;
      this.viewH = r.height;
      this.#scheduleDraw();
    }).observe(this.scroller);
  }

  /** Fit the whole user range in the view again. */
  fit() {
    this.setZoom(1);
  }

  setZoom(z, anchorY = this.#size().h / 2) {
    const old = this.zoom;
    this.zoom = Math.min(4000, Math.max(1, z));
    const contentY = this.scroller.scrollTop + anchorY;
    this.draw();
    this.#scrollTo((contentY * this.zoom) / old - anchorY);
  }

  #scrollTo(y) {
    this.scroller.scrollTop = y;
    this.scrollY = this.scroller.scrollTop;
    this.draw();
  }

  /** The viewport, from the resize observer (measured once if it has not run yet). */
  #size() {
    if (!this.viewW || !this.viewH) {
      this.viewW = this.scroller.clientWidth;
      this.viewH = this.scroller.clientHeight;
    }
    return { w: this.viewW, h: this.viewH };
  }

  setTableMode(on) {
    this.tableMode = on;
    this.scroller.hidden = on;
    this.table.hidden = !on;
    this.draw();
  }

  /**
   * @param {{ procs: {name, pid, entries}[], selectedPid, selected, changes, mark }} model
   */
  update(model) {
    this.procs = model.procs;
    this.selectedPid = model.selectedPid;
    this.selected = model.selected;
    this.changes = model.changes;
    this.mark = model.mark;
    // the layout only depends on the entries: skip it when no list changed
    const same = this.layoutOf && this.layoutOf.length === this.procs.length && this.procs.every((p, i) => this.layoutOf[i] === p.entries);
    if (!same) {
      this.#layout();
      this.layoutOf = this.procs.map((p) => p.entries);
    }
    this.draw();
  }

  #scheduleDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  /** Breakpoints of every lane, their weights and cumulative positions. */
  #layout() {
    const set = new Set([0, USER_TOP, ARENA, ARENA_END]);
    for (const p of this.procs) {
      for (const e of p.entries) {
        set.add(e.start);
        set.add(e.end);
      }
    }
    const pts = Float64Array.from(set).sort();
    const n = pts.length - 1;
    const mapped = new Uint8Array(n);
    for (const p of this.procs) {
      let k = 0;
      for (const e of p.entries) {
        while (k < n && pts[k] < e.start) k++;
        let j = k;
        while (j < n && pts[j] < e.end) mapped[j++] = 1;
      }
    }
    const weight = new Float64Array(n);
    const pos = new Float64Array(n + 1); // pos[k]: distance of pts[k] from the top
    pos[n] = 0;
    for (let k = n - 1; k >= 0; k--) {
      weight[k] = mapped[k] ? mappedWeight(pts[k + 1] - pts[k]) : HOLE_W;
      pos[k] = pos[k + 1] + weight[k];
    }
    // each entry's boundaries as breakpoint indices: y() without a search
    const index = new Map();
    for (let k = 0; k <= n; k++) index.set(pts[k], k);
    this.layoutIdx = new Map();
    for (const p of this.procs) {
      const lo = new Int32Array(p.entries.length);
      const hi = new Int32Array(p.entries.length);
      p.entries.forEach((e, i) => {
        lo[i] = index.get(e.start);
        hi[i] = index.get(e.end);
      });
      this.layoutIdx.set(p.entries, { lo, hi });
    }
    this.pts = pts;
    this.mapped = mapped;
    this.weight = weight;
    this.pos = pos;
    this.total = pos[0];
  }

  /** The breakpoint indices of a process's entries (from the last layout). */
  layoutFor(p) {
    const known = this.layoutIdx && this.layoutIdx.get(p.entries);
    return known || { lo: Int32Array.from(p.entries, (e) => this.#bp(e.start)), hi: Int32Array.from(p.entries, (e) => this.#bp(e.end)) };
  }

  #bp(a) {
    let lo = 0;
    let hi = this.pts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.pts[mid] < a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** y of an address in the current scale. */
  y(a) {
    const pts = this.pts;
    let lo = 0;
    let hi = pts.length - 1;
    if (a >= pts[hi]) return PAD;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pts[mid] <= a) lo = mid;
      else hi = mid;
    }
    const frac = (a - pts[lo]) / (pts[lo + 1] - pts[lo]);
    return PAD + (this.pos[lo] - frac * this.weight[lo]) * this.scale;
  }

  /** Address at a y (inverse of y(), for clicks). */
  addrAt(y) {
    const u = (y - PAD) / this.scale;
    const pos = this.pos;
    let lo = 0;
    let hi = pos.length - 1; // pos decreasing with k
    if (u >= pos[0]) return 0;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pos[mid] >= u) lo = mid;
      else hi = mid;
    }
    const frac = (pos[lo] - u) / this.weight[lo];
    return this.pts[lo] + frac * (this.pts[lo + 1] - this.pts[lo]);
  }

  draw() {
    if (!this.pts) return;
    if (this.tableMode) {
      this.#drawHeader();
      this.#drawTable();
      return;
    }
    const size = this.#size();
    const viewH = Math.max(200, size.h);
    const viewW = Math.max(300, size.w);
    this.scale = Math.min(MAX_SCALE * this.zoom, ((viewH - 2 * PAD) / this.total) * this.zoom);
    const height = Math.ceil(this.total * this.scale + 2 * PAD);
    const lanes = Math.max(1, this.procs.length);
    const laneW = (viewW - AXIS_W - 8) / lanes;
    this.laneW = laneW;
    this.#drawHeader(); // (the heads are as wide as the lanes just computed)
    // the width of a character of the entries' labels (monospace)
    this.charW ??= { label: textWidth('0000000000', 'bold 11px var(--mono)', this.svg) / 10, sub: textWidth('0000000000', '10.5px var(--mono)', this.svg) / 10 };
    const top = this.scrollY - 40;
    const bottom = this.scrollY + viewH + 40;
    this.svg.setAttribute('width', viewW);
    this.svg.setAttribute('height', height);
    this.svg.setAttribute('viewBox', `0 0 ${viewW} ${height}`);

    const out = [];
    out.push(DEFS);
    this.procs.forEach((p, i) => {
      const sel = p.pid === this.selectedPid;
      out.push(`<rect class="lane${sel ? ' lane-selected' : ''}" x="${AXIS_W + i * laneW + 1}" y="${PAD}" width="${laneW - 2}" height="${this.total * this.scale}" data-pid="${p.pid}"/>`);
    });
    this.#drawAxis(out, top, bottom, viewW);
    this.procs.forEach((p, i) => this.#drawLane(out, p, AXIS_W + i * laneW, laneW, top, bottom));
    this.#drawArena(out, top, bottom, viewW);
    const marks = [];
    this.#drawMark(marks, viewW);
    // two layers, each parsed again only when its markup changed: a step
    // that moves the mark, or changes nothing in the lanes, leaves the
    // lanes' nodes (and their layout) alone
    this.#layer('as-body', out.join(''));
    this.#layer('as-marks', marks.join(''));

    const sel = this.procs.find((p) => p.pid === this.selectedPid) || this.procs[0];
    const summary = this.procs
      .map((p) => `${p.name}: ${count(p.entries.length)} map ${p.entries.length === 1 ? 'entry' : 'entries'}`)
      .join('; ');
    this.svg.setAttribute('aria-label', `Address spaces. ${summary}.` + (sel ? ` Selected process ${sel.name}.` : ''));
  }

  /** Show `markup` in the layer `<g class=name>` of the SVG unless it shows it already. */
  #layer(name, markup) {
    this.layers ??= {};
    let g = this.layers[name];
    if (!g || g.parentNode !== this.svg) {
      g = this.layers[name] = document.createElementNS('http://www.w3.org/2000/svg', 'g');
      g.setAttribute('class', name);
      g.drawn = null;
      if (name === 'as-body') this.svg.replaceChildren(g);
      else this.svg.append(g);
    }
    if (g.drawn !== markup) {
      g.innerHTML = markup;
      g.drawn = markup;
    }
  }

  #drawHeader() {
    const key = this.procs.map((p) => `${p.pid}:${p.name}:${p.entries.length}`).join(',') + '|' + this.selectedPid + '|' + this.laneW + '|' + this.tableMode;
    if (key === this.headerKey) return;
    this.headerKey = key;
    const laneW = this.laneW || 200;
    // what a lane's head shows is what fits its width, whole (no ellipsis):
    // the name, then the pid, then the entries and their size; a part with
    // no room is only read out (sr-only), and the title says them all
    const room = laneW - 18; // the padding and the border
    const fontSize = getComputedStyle(this.header).fontSize;
    const fits = (text, font) => this.tableMode || textWidth(text, font, this.header) <= room;
    this.header.replaceChildren(
      h('div', { class: 'as-axis-head', style: `width:${AXIS_W}px`, 'aria-hidden': 'true' }, 'address'),
      ...this.procs.map((p) => {
        const selected = p.pid === this.selectedPid;
        const mappedBytes = p.entries.reduce((a, e) => a + (e.end - e.start), 0);
        const n = p.entries.length;
        const entries = `${count(n)} ${n === 1 ? 'entry' : 'entries'}`;
        const pid = `pid ${p.pid}`;
        const all = `Process ${p.name}, ${pid}: ${entries}, ${size(mappedBytes)} mapped`;
        const nameFont = `bold ${fontSize} var(--mono)`;
        const metaFont = '11px';
        const full = `${entries} · ${size(mappedBytes)}`;
        const pidInline = fits(`${p.name} ${pid}`, nameFont);
        const pidLine = !pidInline && fits(pid, metaFont);
        const meta = [full, entries].find((t) => fits(t, metaFont));
        const unseen = (text) => h('span', { class: 'sr-only' }, text);
        return h(
          'button',
          {
            class: 'as-lane-head' + (selected ? ' selected' : ''),
            'aria-pressed': selected ? 'true' : 'false',
            style: this.tableMode ? '' : `width:${laneW}px`,
            dataset: { pid: p.pid },
            onclick: () => this.hooks.onSelectProc(p.pid),
            title: all,
          },
          h('span', { class: 'proc-name' }, p.name, pidInline ? h('span', { class: 'proc-pid' }, ` ${pid}`) : null),
          pidLine ? h('span', { class: 'proc-pid' }, pid) : pidInline ? null : unseen(` ${pid}`),
          meta ? h('span', { class: 'proc-meta' }, meta) : null,
          meta === full ? null : unseen(meta ? ` ${size(mappedBytes)}` : ` ${full}`),
        );
      }),
    );
  }

  #drawAxis(out, top, bottom, viewW) {
    const pts = this.pts;
    const n = pts.length - 1;
    out.push(`<line class="axis" x1="${AXIS_W - 4}" x2="${AXIS_W - 4}" y1="${PAD}" y2="${this.y(0)}"/>`);
    let lastLabel = -1e9;
    const edges = this.#edgeLabelYs();
    const pos = this.pos;
    const scale = this.scale;
    for (let k = n; k >= 0; k--) {
      const yy = PAD + pos[k] * scale;
      if (yy < top) continue;
      if (yy > bottom) break;
      // holes: a short band with a break mark and the size
      if (k < n && !this.mapped[k]) {
        const y0 = PAD + pos[k + 1] * scale;
        const y1 = yy;
        if (y1 - y0 >= 9) {
          const mid = (y0 + y1) / 2;
          out.push(`<path class="hole-break" d="M${AXIS_W - 10} ${mid - 3} l6 -3 l6 6 l6 -3"/>`);
          if (y1 - y0 >= 13) {
            out.push(`<text class="hole-label" x="${(AXIS_W + viewW) / 2}" y="${mid + 3.5}" text-anchor="middle">${size(pts[k + 1] - pts[k])} unmapped</text>`);
          }
        }
      }
      if (Math.abs(yy - lastLabel) >= 13 || k === 0 || k === n) {
        // not where a label of the view's edge is (zoomed in): two
        // addresses drawn over each other read as neither
        if (Math.abs(yy - lastLabel) >= 13 && !edges.some((e) => Math.abs(yy + 3.5 - e) < 13)) {
          out.push(`<line class="tick" x1="${AXIS_W - 8}" x2="${AXIS_W - 4}" y1="${yy}" y2="${yy}"/>`);
          out.push(`<text class="tick-label" x="${AXIS_W - 11}" y="${yy + 3.5}">${hex(pts[k])}</text>`);
          lastLabel = yy;
        }
      }
    }
  }

  #drawArena(out, top, bottom, viewW) {
    if (this.zoom > 1) {
      // the addresses at the edges of the view
      for (const yy of this.#edgeLabelYs()) {
        const a = Math.floor(this.addrAt(yy) / 4096) * 4096;
        out.push(`<text class="edge-label" x="${AXIS_W - 11}" y="${yy}">${hex(a)}</text>`);
      }
    }
    for (const [a, label] of [
      [ARENA, '$arena'],
      [ARENA_END, '$arena+64G'],
    ]) {
      const yy = this.y(a);
      if (yy < top || yy > bottom) continue;
      out.push(`<line class="arena-line" x1="${AXIS_W - 4}" x2="${viewW}" y1="${yy}" y2="${yy}"/>`);
      out.push(`<text class="arena-label" x="${viewW - 4}" y="${a === ARENA ? yy + 11 : yy - 3}">${label}</text>`);
    }
  }

  /** Where the addresses at the top and bottom of the view are written (zoomed in), else none. */
  #edgeLabelYs() {
    return this.zoom > 1 ? [this.scrollY + 12, this.scrollY + (this.viewH || 600) - 6] : [];
  }

  #drawLane(out, p, x0, w, top, bottom) {
    const x = x0 + 4;
    const ew = w - 8;
    let cluster = null;
    const flush = () => {
      if (!cluster) return;
      const c = cluster;
      cluster = null;
      if (c.count === 1) return this.#drawEntry(out, p, c.e, x, ew, c.y0, c.y1);
      out.push(
        `<g class="cluster" data-cluster="${c.count}" data-pid="${p.pid}" data-y0="${c.y0}" data-y1="${c.y1}"><title>${count(c.count)} map entries here: zoom in (double-click; from the keyboard, select one with the arrow keys and press Z)</title>` +
          `<rect x="${x}" y="${c.y0}" width="${ew}" height="${Math.max(1, c.y1 - c.y0)}" fill="url(#dense)" stroke="${BACKING[backingKind(c.e.backing)].color}"/>` +
          (c.y1 - c.y0 >= 12 ? `<text class="cluster-label" x="${x + 6}" y="${(c.y0 + c.y1) / 2 + 4}">${count(c.count)} entries</text>` : '') +
          `</g>`,
      );
    };
    // top-down: highest entry first
    const { lo, hi } = this.layoutFor(p);
    const pos = this.pos;
    const scale = this.scale;
    for (let i = p.entries.length - 1; i >= 0; i--) {
      const e = p.entries[i];
      const y0 = PAD + pos[hi[i]] * scale;
      const y1 = PAD + pos[lo[i]] * scale;
      if (y1 < top || y0 > bottom) {
        flush();
        continue;
      }
      const small = y1 - y0 < 3;
      if (cluster && small && y0 < cluster.y1 + 2) {
        cluster.y1 = Math.max(cluster.y1, y1);
        cluster.count++;
        continue;
      }
      flush();
      if (small) cluster = { e, y0, y1: Math.max(y1, y0 + 1), count: 1 };
      else this.#drawEntry(out, p, e, x, ew, y0, y1);
    }
    flush();
  }

  #drawEntry(out, p, e, x, w, y0, y1) {
    const kind = backingKind(e.backing);
    const color = BACKING[kind].color;
    const hgt = Math.max(1, y1 - y0 - 1);
    const perms = e.perms || '----';
    const none = perms.startsWith('---');
    const writable = perms[1] === 'w';
    const selected = this.selected && this.selected.pid === p.pid && this.selected.start === e.start;
    const changed = this.changes && (this.changes.touchesEntry(p.pid, e.start, e.end) || this.changes.touchesPages(p.pid, e.start, e.end));
    const cls = ['entry', `b-${kind}`, writable ? 'w' : 'ro', none ? 'none' : '', selected ? 'selected' : '', changed ? 'changed' : '']
      .filter(Boolean)
      .join(' ');
    const flags = (e.flags || []).join(' ');
    // the label names the flags a student would look for; the pane lists all
    const shown = (e.flags || []).filter((f) => f !== 'account').join(', ');
    out.push(
      `<g class="${cls}" data-pid="${p.pid}" data-start="${hex(e.start)}" data-end="${hex(e.end)}" data-perms="${esc(perms)}" data-backing="${esc(e.backing)}"${flags ? ` data-flags="${esc(flags)}"` : ''}>` +
        `<title>${esc(`${hex(e.start)}-${hex(e.end)} ${perms} ${e.backing} (${size(e.end - e.start)})${flags ? ' ' + flags : ''}`)}</title>`,
    );
    out.push(
      `<rect class="entry-body" x="${x}" y="${y0}" width="${w}" height="${hgt}" fill="${none ? 'url(#hatch)' : tint(color, 0.8)}" stroke="${color}"/>`,
    );
    if (!none && hgt >= 4) this.#drawPages(out, p, e, x, w, color);
    // labels stay in the visible part of a tall entry (zoomed in)
    const vy0 = Math.max(y0, this.scrollY);
    const vy1 = Math.min(y0 + hgt, this.scrollY + (this.viewH || 600));
    const vh = vy1 - vy0;
    if (vh >= 15) {
      // each label whole or shorter, never wider than its entry (in a
      // narrow lane it would run into the next lane's); the title has all
      const room = w - 12;
      const cw = this.charW;
      const fit = (cands, per) => cands.find((t) => t.length * per <= room) || null;
      const label = fit([`${perms} ${e.backing}`, perms], cw.label);
      const sz = size(e.end - e.start);
      const ty = vh >= 34 ? vy0 + 14 : vy0 + vh / 2 + 4;
      if (label) out.push(`<text class="entry-label" x="${x + 6}" y="${ty}">${esc(label)}</text>`);
      if (vh >= 34) {
        const right = fit([sz + (shown ? ' · ' + shown : ''), sz], cw.sub);
        if (right) out.push(`<text class="entry-sub" x="${x + 6}" y="${ty + 14}">${esc(right)}</text>`);
      } else if (label) {
        // beside the label, right-aligned, where both fit
        const right = [sz + (shown ? ' · ' + shown : ''), sz].find((t) => (label.length + 2) * cw.label + t.length * cw.sub <= room);
        if (right) out.push(`<text class="entry-sub" x="${x + w - 6}" y="${ty}" text-anchor="end">${esc(right)}</text>`);
      }
    }
    if (selected) out.push(`<rect class="sel-ring" x="${x - 2}" y="${y0 - 2}" width="${w + 4}" height="${hgt + 4}"/>`);
    out.push('</g>');
  }

  /** Per-page stripes: resident pages full colour, dirty marked, shared hatched. */
  #drawPages(out, p, e, x, w, color) {
    const npages = Math.round((e.end - e.start) / 4096);
    const y0 = this.y(e.end);
    const y1 = this.y(e.start);
    const px = y1 - y0;
    if (px < 4) return;
    let states;
    let step = 1;
    if (npages <= STRIPE_MAX_PAGES) {
      states = this.hooks.pageStates(p.pid, e.start, npages);
    } else {
      // sample one page per 2 pixels
      const rows = Math.ceil(px / 2);
      step = npages / rows;
      states = new Uint8Array(rows);
      for (let r = 0; r < rows; r++) {
        const st = this.hooks.pageStates(p.pid, e.start + Math.floor(r * step) * 4096, 1);
        states[r] = st.length ? st[0] : 0;
      }
    }
    if (!states || !states.length) return;
    const full = color;
    // merge runs of equal state into one rect
    let runStart = 0;
    const emit = (a, b, st) => {
      if (!(st & (PAGE_BITS.PRESENT | PAGE_BITS.ANON))) return;
      const pa = e.start + Math.floor(a * step) * 4096;
      const pb = b >= states.length ? e.end : e.start + Math.floor(b * step) * 4096;
      const ya = this.y(pb);
      const yb = this.y(pa);
      const hh = Math.max(0.8, yb - ya - (b - a === 1 && yb - ya > 5 ? 1 : 0));
      const fill = st & PAGE_BITS.ZERO ? '#F0E442' : st & PAGE_BITS.PRESENT ? full : isSwapped(st) ? SWAP_COLOR : tint(full, 0.45);
      out.push(`<rect class="pgs" x="${x + 1}" y="${ya}" width="${w - 2}" height="${hh}" fill="${fill}"/>`);
      if (st & PAGE_BITS.SHARED) out.push(`<rect x="${x + 1}" y="${ya}" width="${w - 2}" height="${hh}" fill="url(#shared)"/>`);
      if (isDirty(st)) out.push(`<rect class="dirty-mark" x="${x + w - 7}" y="${ya}" width="5" height="${hh}"/>`);
    };
    for (let i = 1; i <= states.length; i++) {
      const pxPerPage = px / states.length;
      const same = i < states.length && states[i] === states[runStart] && pxPerPage < 4;
      if (!same) {
        emit(runStart, i, states[runStart]);
        runStart = i;
      }
    }
  }

  #drawMark(out, viewW) {
    const m = this.mark;
    if (!m) return;
    const li = this.procs.findIndex((p) => p.pid === m.pid);
    const x0 = li >= 0 ? AXIS_W + li * this.laneW : AXIS_W;
    const w = li >= 0 ? this.laneW : viewW - AXIS_W;
    if (m.range) {
      const y0 = this.y(m.range.end);
      const y1 = this.y(m.range.start);
      out.push(`<rect class="mark-range" x="${x0 + 1}" y="${y0 - 1}" width="${w - 2}" height="${Math.max(2, y1 - y0 + 2)}"/>`);
    }
    if (m.va !== null && m.va !== undefined) {
      const yy = this.y(m.va);
      out.push(`<line class="mark-line" x1="${AXIS_W - 4}" x2="${x0 + w}" y1="${yy}" y2="${yy}"/>`);
      out.push(`<circle class="mark-dot" cx="${AXIS_W - 4}" cy="${yy}" r="3.5"/>`);
      // the axis already labels entry boundaries; label other addresses
      if (!this.#isBreakpoint(m.va)) out.push(`<text class="mark-label" x="${x0 + w - 4}" y="${yy - 4}">${hex(m.va)}</text>`);
    }
  }

  #isBreakpoint(a) {
    const k = this.#bp(a);
    return k < this.pts.length && this.pts[k] === a;
  }

  #drawTable() {
    const rows = [];
    for (const p of this.procs) {
      for (const e of p.entries) {
        const selected = this.selected && this.selected.pid === p.pid && this.selected.start === e.start;
        rows.push(
          h(
            'tr',
            { class: selected ? 'selected' : '', dataset: { pid: p.pid, start: hex(e.start) } },
            h('td', null, p.name),
            h('td', { class: 'mono' }, h('button', { class: 'linkish', onclick: () => this.hooks.onSelect({ pid: p.pid, start: e.start }) }, `${hex(e.start)}-${hex(e.end)}`)),
            h('td', { class: 'mono' }, e.perms),
            h('td', { class: 'mono' }, hex(e.offset)),
            h('td', null, e.backing),
            h('td', null, size(e.end - e.start)),
            h('td', null, (e.flags || []).join(', ')),
          ),
        );
      }
    }
    this.table.replaceChildren(
      h(
        'table',
        { class: 'data' },
        h('caption', { class: 'sr-only' }, 'Map entries of every process'),
        h('thead', null, h('tr', null, ...['proc', 'range', 'perms', 'offset', 'backing', 'size', 'flags'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No map entries.'))),
      ),
    );
  }

  #click(ev) {
    const g = ev.target.closest('.entry');
    if (g) {
      const pid = Number(g.dataset.pid);
      const start = num(g.dataset.start);
      this.hooks.onSelect({ pid, start });
      // a click on a page stripe also picks that page for the walk
      const rect = this.svg.getBoundingClientRect();
      const a = this.addrAt(ev.clientY - rect.top);
      const va = Math.floor(a / 4096) * 4096;
      if (va >= start && va < num(g.dataset.end)) this.hooks.onSelectPage(pid, va);
      return;
    }
    const lane = ev.target.closest('.lane');
    if (lane) this.hooks.onSelectProc(Number(lane.dataset.pid));
  }

  #zoomTo(y0, y1) {
    const viewH = this.#size().h;
    const factor = Math.max(2, (viewH * 0.8) / Math.max(2, y1 - y0));
    const mid = (y0 + y1) / 2;
    const old = this.zoom;
    this.zoom = Math.min(4000, this.zoom * factor);
    this.draw();
    this.#scrollTo((mid * this.zoom) / old - viewH / 2);
  }

  #key(ev) {
    const p = this.procs.find((q) => q.pid === this.selectedPid) || this.procs[0];
    if (!p) return;
    const idx = this.selected && this.selected.pid === p.pid ? p.entries.findIndex((e) => e.start === this.selected.start) : -1;
    let handled = true;
    switch (ev.key) {
      case 'ArrowUp':
      case 'ArrowDown': {
        if (!p.entries.length) break;
        const up = ev.key === 'ArrowUp';
        let j = idx < 0 ? (up ? 0 : p.entries.length - 1) : idx + (up ? 1 : -1);
        j = Math.max(0, Math.min(p.entries.length - 1, j));
        const e = p.entries[j];
        this.hooks.onSelect({ pid: p.pid, start: e.start });
        this.#reveal(e);
        const c = this.#clusterOf(p, e);
        this.status.textContent =
          `${p.name}: ${hex(e.start)} to ${hex(e.end)}, ${e.perms}, ${e.backing}, ${size(e.end - e.start)}` +
          (c ? `; drawn in a cluster of ${count(c.count)} entries too small to see, Z zooms in` : '');
        break;
      }
      case 'z':
      case 'Z':
        this.#zoomSelected(p, idx >= 0 ? p.entries[idx] : null);
        break;
      case 'ArrowLeft':
      case 'ArrowRight': {
        const i = this.procs.indexOf(p) + (ev.key === 'ArrowLeft' ? -1 : 1);
        if (i >= 0 && i < this.procs.length) {
          this.hooks.onSelectProc(this.procs[i].pid);
          this.status.textContent = `process ${this.procs[i].name}`;
        }
        break;
      }
      case '+':
      case '=':
        this.setZoom(this.zoom * 1.5);
        break;
      case '-':
        this.setZoom(this.zoom / 1.5);
        break;
      case '0':
        this.fit();
        break;
      case 'Enter':
        if (idx >= 0) this.hooks.onSelectPage(p.pid, p.entries[idx].start);
        break;
      default:
        handled = false;
    }
    if (handled) ev.preventDefault();
  }

  /** The cluster (of p's lane, as drawn) an entry is part of: { count, y0, y1 } or null. */
  #clusterOf(p, e) {
    if (this.tableMode || !this.pts) return null;
    const mid = (this.y(e.end) + this.y(e.start)) / 2;
    for (const g of this.svg.querySelectorAll(`g.cluster[data-pid="${p.pid}"]`)) {
      const y0 = Number(g.dataset.y0);
      const y1 = Number(g.dataset.y1);
      if (y0 - 1 <= mid && mid <= y1 + 1) return { count: Number(g.dataset.cluster), y0, y1 };
    }
    return null;
  }

  /**
   * Z: what a double-click on a cluster does, from the keyboard: zoom in on
   * the cluster the selected entry is drawn in, or on the entry itself; with
   * nothing selected, on the first cluster of the lane in view.
   */
  #zoomSelected(p, e) {
    if (this.tableMode) return;
    let target = e ? this.#clusterOf(p, e) : null;
    if (!target && e) target = { y0: this.y(e.end), y1: this.y(e.start) };
    if (!target) {
      const g = this.svg.querySelector(`g.cluster[data-pid="${p.pid}"]`);
      if (g) target = { count: Number(g.dataset.cluster), y0: Number(g.dataset.y0), y1: Number(g.dataset.y1) };
    }
    if (!target) return this.setZoom(this.zoom * 1.5);
    this.#zoomTo(target.y0, target.y1);
    this.status.textContent = `zoomed in ${Math.round(this.zoom)}×` + (target.count ? ` on ${count(target.count)} entries` : '');
  }

  #reveal(e) {
    const y0 = this.y(e.end);
    const y1 = this.y(e.start);
    const st = this.scrollY;
    const vh = this.#size().h;
    if (y0 < st || y1 > st + vh) this.#scrollTo((y0 + y1) / 2 - vh / 2);
  }
}

const DEFS = `<defs>
<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f2f5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa1ad" stroke-width="2"/></pattern>
<pattern id="shared" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#fff" stroke-width="1.6" stroke-opacity="0.85"/></pattern>
<pattern id="dense" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="#dfe6ef"/><rect width="2" height="2" fill="#9fb3c8"/></pattern>
</defs>`;

/**
 * The width in pixels of `text` in `font` ("bold 12px var(--mono)": a CSS
 * variable is read from `el`), measured on a canvas that is never shown.
 */
function textWidth(text, font, el) {
  const ctx = (textWidth.ctx ??= document.createElement('canvas').getContext('2d'));
  const cs = getComputedStyle(el);
  const family = /var\(--mono\)/.test(font) ? cs.getPropertyValue('--mono') || 'monospace' : cs.fontFamily;
  ctx.font = `${font.replace(/ ?var\(--mono\)/, '')} ${family}`;
  return ctx.measureText(text).width;
}
