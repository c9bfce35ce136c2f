// Export for slides and hand-outs: a diagram as a standalone SVG (its styles
// written into it, so it looks the same outside the page) or as a PNG, the
// physical-memory map as a PNG, and the scenario's outputs as text (what
// `vmplay run` prints, or with every line's events under it, as --trace).

import { h } from './format.js';
import { printedText } from './permalink.js';
import { downloadBlob, downloadText, scenarioName } from './share.js';

/** The style properties a diagram needs to look the same outside the page. */
const SVG_PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'opacity', 'font-family', 'font-size', 'font-weight', 'font-style', 'text-anchor', 'dominant-baseline', 'paint-order', 'visibility', 'display'];

/**
 * A standalone copy of `svg` (an element on the page): computed styles
 * inlined, its size fixed, a background, the XML namespace declared.
 * @returns {string} the SVG document
 */
export function standaloneSvg(svg, background = '#ffffff') {
  const copy = svg.cloneNode(true);
  const from = [svg, ...svg.querySelectorAll('*')];
  const to = [copy, ...copy.querySelectorAll('*')];
  from.forEach((el, i) => {
    const cs = getComputedStyle(el);
    const decl = SVG_PROPS.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(';');
    to[i].setAttribute('style', decl);
    to[i].removeAttribute('class');
  });
  const box = svg.getBoundingClientRect();
  const w = Math.ceil(Number(svg.getAttribute('width')) || box.width);
  const ht = Math.ceil(Number(svg.getAttribute('height')) || box.height);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', w);
  copy.setAttribute('height', ht);
  if (!copy.getAttribute('viewBox')) copy.setAttribute('viewBox', `0 0 ${w} ${ht}`);
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', background);
  copy.prepend(bg);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
}

/** A PNG of an SVG document at `scale` (2: sharp on a projector). */
export async function svgToPng(svgText, scale = 2) {
  const img = new Image();
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    img.src = url;
    await img.decode();
    const cv = document.createElement('canvas');
    cv.width = Math.max(1, Math.round(img.naturalWidth * scale));
    cv.height = Math.max(1, Math.round(img.naturalHeight * scale));
    const ctx = cv.getContext('2d');
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0);
    return await canvasPng(cv);
  } finally {
    URL.revokeObjectURL(url);
  }
}

function canvasPng(cv) {
  return new Promise((resolve, reject) => cv.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser made no PNG'))), 'image/png'));
}

/** What a scenario printed, each line followed by its events (as `vmplay run --trace` shows them). */
export function tracedText(steps) {
  const out = [];
  for (const st of steps) {
    if (st.source !== 'editor') continue;
    out.push(st.ok ? (st.output ? st.output.text : `${st.line} ok`) : `${st.line} error ${st.message}`);
    for (const e of st.events) out.push(`    ${e.text}`);
    if (st.dropped) out.push(`    … ${st.dropped} more events not kept`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

/**
 * The Export dialog of a playground: a button for each thing there is to
 * save; each downloads a file named after the scenario.
 */
export function exportDialog(pg) {
  const status = h('p', { class: 'muted small', role: 'status' });
  const stem = () => scenarioName(pg.session.text, pg.gallery.value || null).replace(/\.vms$/, '');
  const bg = () => getComputedStyle(pg.frame).getPropertyValue('--panel').trim() || '#ffffff';
  const diagram = (sel, what) => {
    const svg = pg.root.querySelector(sel);
    if (!svg || !svg.isConnected || svg.closest('[hidden]')) throw new Error(`the ${what} is not shown: show it first (its panel, or select an entry)`);
    return standaloneSvg(svg, bg());
  };
  const items = [
    ['as-svg', 'Address space (SVG)', async () => downloadText(`${stem()}-address-space.svg`, diagram('.as-svg', 'address space'), 'image/svg+xml')],
    ['as-png', 'Address space (PNG)', async () => downloadBlob(`${stem()}-address-space.png`, await svgToPng(diagram('.as-svg', 'address space')))],
    ['pages-svg', 'Pages of the selected entry (SVG)', async () => downloadText(`${stem()}-pages.svg`, diagram('.page-grid', 'pages of an entry'), 'image/svg+xml')],
    ['memory-png', 'Physical memory (PNG)', async () => {
      const cv = pg.root.querySelector('.pm-canvas');
      if (!cv || cv.closest('[hidden]') || !cv.width) throw new Error('the physical memory is not shown: show it first');
      downloadBlob(`${stem()}-memory.png`, await canvasPng(cv));
    }],
    ['out', 'Outputs (text, as vmplay run prints them)', async () => downloadText(`${stem()}.out`, printedText(pg.session.steps))],
    ['trace', 'Outputs with every event (text)', async () => downloadText(`${stem()}-trace.txt`, tracedText(pg.session.steps))],
  ];
  const list = h(
    'ul',
    { class: 'export-list' },
    items.map(([id, label, run]) =>
      h(
        'li',
        null,
        h(
          'button',
          {
            class: 'btn',
            type: 'button',
            'data-export': id,
            onclick: async () => {
              try {
                await run();
                status.textContent = `${label}: saved.`;
              } catch (err) {
                status.textContent = `${label}: not saved: ${err && err.message ? err.message : err}.`;
              }
            },
          },
          label,
        ),
      ),
    ),
  );
  const dialog = h(
    'dialog',
    { class: 'help export', 'aria-labelledby': 'export-title' },
    h('h3', { id: 'export-title' }, 'Export'),
    h('p', { class: 'muted small' }, 'Diagrams as they are drawn now, for slides; the outputs of the lines run so far.'),
    list,
    status,
    h('form', { method: 'dialog' }, h('button', { class: 'btn' }, 'Close')),
  );
  return {
    dialog,
    open() {
      status.textContent = '';
      dialog.showModal();
    },
  };
}
