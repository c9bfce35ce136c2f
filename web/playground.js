// <vm-playground>: the whole playground as one custom element, so a course
// page can embed it with a scenario of its own:
//
//   <script type="module" src="https://.../web/playground.js"></script>
//   <vm-playground scenario="cow.vms"></vm-playground>            (a URL)
//   <vm-playground scenario="$a = mmap $arena 8K ...&#10;store $a 1"></vm-playground>
//   <vm-playground><script type="text/plain">...scenario...</script></vm-playground>
//
// Attributes: scenario (URL or inline text), frames (physical frames, default
// 4096 = 16 MiB), tlb-sets / tlb-ways (TLB geometry), autorun (run to the end
// on load, or to line N with autorun="N"), step (start after the first N
// lines of the scenario, step="N"), views (comma list of panels to show:
// editor, console, space, walk, tlb, memory, events), no-gallery (or, with
// views, gallery to keep the examples menu), label (the accessible title;
// aria-label and aria-labelledby count too), readonly (the text cannot be
// edited), spoiler (one view until a click shows the playground: spoiler="walk"
// names it), personality (the kernel, "linux"), autosave (keep the editor in
// local storage), permalink (take the state from the page's #vm1.… link).
// Events: vm-ready, vm-step, vm-error, vm-exercise (docs/embedding.md).

import { loadVm, frameKinds, pageStates } from './vm.js';
import { Session } from './session.js';
import { Changes } from './changes.js';
import { Selection } from './selection.js';
import { count, h, num, size } from './format.js';
import { AddressSpaceView } from './views/addrspace.js';
import { EntryView } from './views/entry.js';
import { WalkView, buildTree } from './views/walk.js';
import { TlbView } from './views/tlb.js';
import { PhysMemView } from './views/physmem.js';
import { EventLogView } from './views/events.js';
import { SwapPanelView } from './views/swap.js';
import { EditorView } from './views/editor.js';
import { ConsoleView } from './views/console.js';
import { OutputView } from './views/output.js';
import { failed, failure, resultText } from './outcome.js';
import { exerciseReport, reportKey } from './exercise.js';
import { BACKING } from './palette.js';
import { kernel, kernelName, personalityOf } from './kernels.js';
import { GLOSSARY, wireGlossary } from './glossary.js';
import { codeOf, decodeState, outputHash, printedText } from './permalink.js';
import { autosaveKey, loadAutosave, saveAutosave, downloadText, scenarioName, shareDialog, shareTexts, guardUnload, lineOfStep } from './share.js';
import { PredictMode } from './predict.js';
import { exportDialog } from './export.js';

const STYLE_URL = new URL('./playground.css', import.meta.url);
const SCENARIOS_URL = new URL('../scenarios/', import.meta.url);

const MEMORY_CHOICES = [
  [1024, '4 MiB'],
  [4096, '16 MiB'],
  [16384, '64 MiB'],
  [65536, '256 MiB'],
  [262144, '1 GiB'],
];
const TLB_CHOICES = [
  [4, 2],
  [8, 4],
  [16, 4],
  [64, 8],
];

/** Lines from which a run goes in slices (with progress and Stop): below, a run takes under ~100 ms. */
const SLICED_FROM = 1500;
const RUN_TITLE = 'Run to the end (Ctrl+Enter; in the editor Ctrl+Shift+Enter)';

const PANELS = ['editor', 'console', 'space', 'walk', 'tlb', 'memory', 'events'];

const SHORTCUTS = [
  ['Ctrl+Enter', 'run to the end; in the editor, run to the line of the caret'],
  ['Ctrl+Shift+Enter', 'run to the end, from the editor too'],
  ['Alt+↓', 'step one line'],
  ['Alt+↑', 'step back one line'],
  ['Alt+R', 'reset the machine'],
  ['Alt+1 … Alt+7', 'go to editor, address space, walk, TLB, memory, events, console'],
  ['↑ ↓ ← →', 'in the address space: entries and processes; + − 0 zoom; Z zooms in on the selected entry (or its cluster)'],
  ['↑ ↓ ← →', 'in the pages of an entry: move between pages'],
  ['Enter, Space', 'on an entry or page: walk its page tables'],
];

export class VmPlayground extends HTMLElement {
  static observedAttributes = ['scenario', 'personality'];

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    /** What is selected and marked; changed only through `select()`. */
    this.sel = new Selection({
      entryAt: (pid, va) => this.#entryAt(pid, va),
      walk: (pid, va) => this.#walkOf(pid, va),
      alive: (pid) => this.session.machine.processes().includes(pid),
      pidOf: (asid) => this.asidToPid?.get(asid),
      asidOf: (pid) => {
        let asid = null;
        for (const [a, p] of this.asidToPid || []) if (p === pid) asid = a;
        return asid;
      },
      lastStep: () => this.session.last,
    });
    this.entryCache = new Map();
    this.seenSteps = 0;
    this.seenGeneration = 0;
    this.changes = null;
    this.ready = false;
  }

  connectedCallback() {
    if (this.started) return;
    this.started = true;
    // a named region of the page (a custom element is generic otherwise),
    // named by the teacher's title
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    if (this.hasAttribute('label')) this.setAttribute('aria-label', this.getAttribute('label'));
    this.untitled = !this.hasAttribute('aria-label') && !this.hasAttribute('aria-labelledby');
    if (this.untitled) this.setAttribute('aria-label', 'Virtual-memory playground');
    // a permalink is unpacked first: it may name the views to build
    const code = this.hasAttribute('permalink') ? codeOf(location.hash) : null;
    if (code) {
      decodeState(code)
        .then((state) => {
          if (state.views) this.setAttribute('views', state.views.join(','));
          if (state.views && !this.hasAttribute('no-gallery')) this.setAttribute('gallery', '');
          return { state };
        })
        .catch((error) => ({ error }))
        .then((link) => this.#begin(link));
    } else this.#begin(null);
  }

  #begin(link) {
    try {
      this.#build();
    } catch (err) {
      return this.#fail(err);
    }
    this.#start(link).catch((err) => this.#fail(err));
    if (this.viewsProblem) {
      console.warn(`<vm-playground>: ${this.viewsProblem}`);
      // after the page's listeners had a chance to be added
      queueMicrotask(() => this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, composed: true, detail: new Error(this.viewsProblem) })));
    }
  }

  attributeChangedCallback(name, old, value) {
    if (name === 'scenario' && this.ready && old !== value) {
      this.#loadScenario().then(
        (t) => this.setScenario(t),
        (err) => {
          // the playground keeps running what it had; it says why the new one is not there
          this.say(String(err && err.message ? err.message : err));
          this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, composed: true, detail: err }));
        },
      );
    }
    // another kernel: a fresh machine under it (a scenario's personality line still wins)
    if (name === 'personality' && this.ready && old !== value) {
      try {
        this.session.configure({ personality: this.#personalityAttr() });
        this.refresh();
      } catch (err) {
        // the machine under the old kernel stays; the page hears why
        console.warn(`<vm-playground>: ${err.message}`);
        this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, composed: true, detail: err }));
      }
    }
  }

  /** The session (machine + text) behind the element; for tests and pages. */
  get sessionObject() {
    return this.session;
  }

  /** Replace the scenario text and start from a fresh machine. */
  setScenario(text) {
    if (this.gallery) this.gallery.value = '';
    this.loadedExample = undefined;
    this.editor.value = text;
    this.session.text = text;
    this.session.reset();
    this.#afterReset();
    this.refresh();
  }

  // ---- building -----------------------------------------------------------

  #build() {
    const { views, unknown } = parseViews(this.getAttribute('views'));
    this.custom = views.length > 0;
    this.viewList = views;
    this.readonly = this.hasAttribute('readonly');
    // a teacher's typo is said on the element and to the page, never an empty box
    this.viewsProblem = unknown.length
      ? `views="${this.getAttribute('views')}": ${unknown.length === 1 ? 'no panel is named' : 'no panels are named'} ${unknown.map((u) => `“${u}”`).join(', ')}. The panels are ${PANELS.join(', ')}.` +
        (views.length ? '' : ' Showing them all.')
      : null;
    const show = (p) => !this.custom || views.includes(p);
    const panel = (id, title, extra, body, opts = {}) =>
      h(
        'section',
        { class: `panel p-${id}`, id: `panel-${id}`, 'aria-labelledby': `h-${id}`, hidden: !show(opts.key || id), tabindex: '-1' },
        h('header', { class: 'ph' }, h('h2', { id: `h-${id}` }, title), extra ? h('div', { class: 'ph-tools' }, extra) : null),
        body,
      );

    this.btnRun = h('button', { class: 'btn primary', title: RUN_TITLE, onclick: () => (this.running ? this.stop() : this.run()) }, icon('run'), 'Run');
    this.btnStep = h('button', { class: 'btn', title: 'Execute the next line (Alt+↓)', onclick: () => this.step() }, icon('step'), 'Step');
    this.btnBack = h('button', { class: 'btn', title: 'Undo the last line: re-run to the line before on a fresh machine (Alt+↑)', onclick: () => this.stepBack() }, icon('back'), 'Back');
    this.btnReset = h('button', { class: 'btn', title: 'Fresh machine, nothing executed (Alt+R)', onclick: () => this.reset() }, icon('reset'), 'Reset');
    const noGallery = this.hasAttribute('no-gallery') || (this.hasAttribute('views') && !this.hasAttribute('gallery'));
    this.gallery = h('select', { class: 'sel', 'aria-label': 'Example scenarios', hidden: noGallery }, h('option', { value: '' }, 'Examples…'));
    this.gallery.addEventListener('change', () => this.#pickExample(this.gallery.value));
    this.memSel = h('select', { class: 'sel', 'aria-label': 'Physical memory size', title: 'Physical memory (resets the machine)' });
    this.tlbSel = h('select', { class: 'sel', 'aria-label': 'TLB geometry', title: 'TLB sets × ways (resets the machine)' });
    this.memSel.addEventListener('change', () => this.#configure());
    this.tlbSel.addEventListener('change', () => this.#configure());
    this.help = h(
      'dialog',
      { class: 'help', 'aria-label': 'Keyboard shortcuts' },
      h('h3', null, 'Keyboard'),
      h('table', { class: 'data' }, h('tbody', null, SHORTCUTS.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, h('kbd', null, k)), h('td', null, v))))),
      h('form', { method: 'dialog' }, h('button', { class: 'btn' }, 'Close')),
    );
    this.glossary = h(
      'dialog',
      { class: 'help glossary', 'aria-label': 'Glossary' },
      h('h3', null, 'Glossary'),
      h('p', { class: 'muted small' }, 'The words the views use. Each is also explained where it appears: point at it, focus it or tap it.'),
      h('dl', { class: 'gl-list' }, Object.entries(GLOSSARY).flatMap(([k, g]) => [h('dt', { id: `gl-${k}` }, g.title), h('dd', null, g.text)])),
      h('form', { method: 'dialog' }, h('button', { class: 'btn' }, 'Close')),
    );
    this.predict = new PredictMode(this);
    this.btnPredict = this.predict.button;
    this.share = shareDialog();
    this.exporter = exportDialog(this);
    this.stepInfo = h('div', { class: 'step-info', role: 'status', 'aria-live': 'polite' });
    this.progress = h('progress', { class: 'run-progress', 'aria-label': 'Run progress' });
    this.progressText = h('span', { class: 'muted small' });
    this.progressBox = h('div', { class: 'run-box', hidden: true }, h('span', { class: 'si-line' }, 'Running…'), this.progress, this.progressText);

    const bar = h(
      'div',
      { class: 'bar', role: 'toolbar', 'aria-label': 'Scenario controls' },
      h('div', { class: 'bar-group' }, this.btnRun, this.btnStep, this.btnBack, this.btnReset),
      this.stepInfo,
      this.progressBox,
      h(
        'div',
        { class: 'bar-group right' },
        this.gallery,
        h('label', { class: 'bar-label' }, 'RAM', this.memSel),
        h('label', { class: 'bar-label' }, 'TLB', this.tlbSel),
        this.btnPredict,
        h('button', { class: 'btn ghost', title: 'A link to this state, an iframe, an embed snippet', 'aria-haspopup': 'dialog', onclick: () => this.#openShare() }, 'Share'),
        h('button', { class: 'btn ghost', title: 'Save a diagram (SVG, PNG) or the outputs (text)', 'aria-haspopup': 'dialog', onclick: () => this.exporter.open() }, 'Export'),
        h('button', { class: 'btn ghost', title: 'What the words of the views mean', onclick: () => this.glossary.showModal() }, 'Glossary'),
        h('button', { class: 'btn ghost kbd-only', title: 'Keyboard shortcuts', 'aria-label': 'Keyboard shortcuts', onclick: () => this.help.showModal() }, '?'),
      ),
    );
    this.bar = bar;

    // panels
    this.edBody = h('div', { class: 'pb pb-editor' });
    this.conBody = h('div', { class: 'pb pb-console' });
    this.asBody = h('div', { class: 'pb as-body' });
    this.entryBody = h('div', { class: 'pb entry-body-panel' });
    this.walkBody = h('div', { class: 'pb pb-walk' });
    this.tlbBody = h('div', { class: 'pb pb-tlb' });
    this.pmBody = h('div', { class: 'pb pb-phys' });
    this.evBody = h('div', { class: 'pb pb-events' });

    this.tableToggle = h('button', { class: 'btn small ghost', 'aria-pressed': 'false', title: 'Show the map entries as a table (text alternative)', onclick: () => this.#toggleTable() }, 'Table');
    const asTools = [
      h('span', { class: 'legend-inline', 'aria-hidden': 'true' }, ...Object.entries(BACKING).map(([k, b]) => h('span', { class: 'lg' }, h('span', { class: 'lg-cell', style: `background:${b.color}` }), k))),
      h('button', { class: 'btn small ghost', title: 'Zoom out (−)', 'aria-label': 'Zoom out', onclick: () => this.space.setZoom(this.space.zoom / 1.5) }, '−'),
      h('button', { class: 'btn small ghost', title: 'Fit the whole user range (0)', onclick: () => this.space.fit() }, 'Fit'),
      h('button', { class: 'btn small ghost', title: 'Zoom in (+, Ctrl+wheel)', 'aria-label': 'Zoom in', onclick: () => this.space.setZoom(this.space.zoom * 1.5) }, '+'),
      this.tableToggle,
    ];

    this.tabWalk = h('button', { class: 'tab on', role: 'tab', 'aria-selected': 'true', 'aria-controls': 'panel-walkbody', id: 'tab-walk', onclick: () => this.#tab('walk') }, 'Page walk');
    this.tabTlb = h('button', { class: 'tab', role: 'tab', 'aria-selected': 'false', 'aria-controls': 'panel-tlbbody', id: 'tab-tlb', onclick: () => this.#tab('tlb') }, 'TLB');
    this.walkTabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Translation views' }, this.tabWalk, this.tabTlb);
    this.walkBody.id = 'panel-walkbody';
    this.tlbBody.id = 'panel-tlbbody';
    this.tab = 'walk';
    // the whole playground shows the walk and the TLB as two tabs of one
    // panel; a chosen set of views gives each its own panel
    if (!this.custom) {
      this.walkBody.setAttribute('role', 'tabpanel');
      this.walkBody.setAttribute('aria-labelledby', 'tab-walk');
      this.tlbBody.setAttribute('role', 'tabpanel');
      this.tlbBody.setAttribute('aria-labelledby', 'tab-tlb');
      this.tlbBody.hidden = true;
    }

    const grid = h(
      'div',
      { class: 'grid' + (this.custom ? ' custom' : '') },
      panel('editor', 'Scenario', this.#fileTools(), this.edBody),
      panel('space', 'Address space', asTools, h('div', { class: 'space-split' }, this.asBody, h('div', { class: 'entry-pane', role: 'group', 'aria-label': 'Selected map entry' }, this.entryBody))),
      ...(this.custom
        ? [panel('walk', 'Page-table walk', null, this.walkBody), panel('tlb', 'TLB', null, this.tlbBody)]
        : [panel('walk', 'Translation', this.walkTabs, h('div', { class: 'pb-stack' }, this.walkBody, this.tlbBody))]),
      panel('memory', 'Physical memory', h('span', { class: 'muted small pm-size' }), this.pmBody),
      panel('events', 'Events', null, this.evBody),
      panel('console', 'Console', null, this.conBody),
    );

    if (this.custom) this.#placeCustom(grid);

    this.loading = h('div', { class: 'loading', role: 'status' }, h('div', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading the simulator…');
    this.notice = this.viewsProblem ? h('div', { class: 'notice', role: 'alert' }, this.viewsProblem) : null;
    const frame = h('div', { class: 'playground' + (this.readonly ? ' readonly' : '') }, bar, this.notice, this.predict.panel, grid, this.loading);
    this.frame = frame;
    this.grid = grid;
    const style = h('link', { rel: 'stylesheet', href: STYLE_URL.href });
    // vm-ready waits for the styles: an element made once the module is
    // loaded would otherwise say it is ready while still unstyled
    this.styled = new Promise((resolve) => {
      style.addEventListener('load', resolve, { once: true });
      style.addEventListener('error', resolve, { once: true });
    });
    this.root.append(style, frame, this.help, this.glossary, this.share.dialog, this.exporter.dialog);
    if (this.untitled) {
      console.warn('<vm-playground>: no title. Give it label="…" (what it shows) for screen readers and the page outline.');
      this.say('This playground has no title: give it label="…" saying what it shows (screen readers announce it).', 'note');
    }
    if (this.hasAttribute('spoiler')) this.#spoiler(grid);
    wireGlossary(this.root, frame);
    this.root.addEventListener('keydown', (ev) => this.#shortcut(ev));
  }

  /**
   * Lay out a chosen subset of panels: the editor (and console) in a left
   * column, the diagrams beside it, two side by side or a 2 × 2 tiling.
   */
  #placeCustom(grid) {
    const panels = [...grid.children].filter((p) => !p.hidden);
    const isLeft = (p) => p.classList.contains('p-editor') || p.classList.contains('p-console');
    const left = panels.filter(isLeft);
    const right = panels.filter((p) => !isLeft(p));
    const weight = (p) => (p.classList.contains('p-space') ? 1.6 : p.classList.contains('p-memory') ? 1.3 : 1.15);
    const cols = [];
    if (left.length) cols.push('minmax(250px, 0.95fr)');
    const tiled = right.length > 2;
    const rightCols = tiled ? 2 : right.length;
    for (let i = 0; i < rightCols; i++) cols.push(`minmax(0, ${tiled ? (i === 0 ? 1.4 : 1.15) : weight(right[i])}fr)`);
    const rows = tiled || left.length > 1 ? 2 : 1;
    grid.style.gridTemplateColumns = cols.join(' ');
    grid.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    const off = left.length ? 2 : 1;
    left.forEach((p, i) => {
      p.style.gridColumn = '1';
      p.style.gridRow = left.length === 1 ? `1 / span ${rows}` : String(i + 1);
    });
    right.forEach((p, i) => {
      if (tiled) {
        p.style.gridColumn = String(off + (i % 2));
        p.style.gridRow = String(1 + Math.floor(i / 2));
      } else {
        p.style.gridColumn = String(off + i);
        p.style.gridRow = `1 / span ${rows}`;
      }
    });
  }

  async #start(link) {
    this.vm = await loadVm();
    // where the state comes from: a permalink, else the autosave, else the attributes
    const state = link && link.state ? link.state : null;
    this.autosave = this.hasAttribute('autosave') && !this.readonly ? autosaveKey(this.getAttribute('autosave')) : null;
    const kept = !state && this.autosave ? loadAutosave(this.autosave) : null;
    const given = state ? state.machine : kept && kept.machine ? kept.machine : {};
    const frames = posInt(given.frames ?? this.getAttribute('frames'), 4096);
    const tlbSets = posInt(given.tlbSets ?? this.getAttribute('tlb-sets'), 16);
    const tlbWays = posInt(given.tlbWays ?? this.getAttribute('tlb-ways'), 4);
    const personality = given.personality || this.#personalityAttr() || 'linux';
    this.session = new Session(this.vm, { ...given, frames, tlbSets, tlbWays, personality });
    for (const [f, label] of MEMORY_CHOICES) this.memSel.append(h('option', { value: f, selected: f === frames }, label));
    if (!MEMORY_CHOICES.some(([f]) => f === frames)) this.memSel.append(h('option', { value: frames, selected: true }, size(frames * 4096)));
    for (const [s, w] of TLB_CHOICES) this.tlbSel.append(h('option', { value: `${s}x${w}`, selected: s === tlbSets && w === tlbWays }, `${s} × ${w}`));
    if (!TLB_CHOICES.some(([s, w]) => s === tlbSets && w === tlbWays)) this.tlbSel.append(h('option', { value: `${tlbSets}x${tlbWays}`, selected: true }, `${tlbSets} × ${tlbWays}`));

    const hooks = this.#hooks();
    this.editor = new EditorView(this.edBody, hooks);
    this.output = new OutputView(this.edBody, hooks);
    this.console = new ConsoleView(this.conBody, hooks);
    this.space = new AddressSpaceView(this.asBody, hooks);
    this.entry = new EntryView(this.entryBody, hooks);
    this.walk = new WalkView(this.walkBody, hooks);
    this.tlb = new TlbView(this.tlbBody, hooks);
    this.phys = new PhysMemView(this.pmBody, hooks);
    this.swapBox = h('section', { class: 'pm-swap' });
    this.pmBody.append(this.swapBox);
    this.swap = new SwapPanelView(this.swapBox, hooks);
    this.events = new EventLogView(this.evBody, hooks);
    this.session.addEventListener('reset', () => this.#afterReset());
    // after a wasm trap the session moves to a fresh module instance and
    // replays its lines there: draw what it rebuilt
    this.session.addEventListener('rehosted', () => this.refresh());

    const text = state ? state.text : kept ? kept.text : await this.#loadScenario();
    this.editor.value = text;
    this.session.setText(text);
    this.baseline = text;
    this.#loadGallery();
    const auto = this.getAttribute('autorun');
    const stepN = this.getAttribute('step');
    if (state) {
      // #restore runs it, once the views are there
    } else if (stepN !== null) this.session.runTo(lineOfStep(text, posInt(stepN, 0)));
    else if (auto !== null) {
      if (auto === '' || auto === 'true') this.session.run();
      else this.session.runTo(posInt(auto, 0));
    }
    if (this.readonly) {
      this.editor.setReadOnly(true);
      this.console.locked = true;
      this.console.input.disabled = true;
      this.console.input.placeholder = 'read-only playground';
    }
    if (kept) this.console.note('— the scenario you were editing here, kept in this browser —');
    guardUnload(() => this.unsaved());
    await this.styled;
    this.loading.remove();
    this.ready = true;
    this.refresh();
    if (state) {
      await this.#restore(state);
      // the link's scenario is now the one being edited: kept like any
      // other, and the address loses its #vm1 part, so that a reload shows
      // the edits made since rather than the link again
      this.#keep();
      if (this.autosave) history.replaceState(history.state, '', location.href.split('#')[0]);
    }
    if (link && link.error) this.#linkFailed(link.error);
    this.stepKey = `${this.session.generation}:${this.session.steps.length}`;
    performance.mark('vm-ready');
    this.dataset.ready = '1';
    this.dispatchEvent(new CustomEvent('vm-ready', { bubbles: true, composed: true, detail: { version: this.vm.version() } }));
  }

  // ---- keeping and sharing (share.js, permalink.js) ------------------------------

  /**
   * The state a permalink holds (see permalink.js): the text, the machine,
   * the last executed line, the selection and the views.
   */
  linkState() {
    const s = this.session;
    const sel = this.sel;
    return {
      sim: this.vm.version(),
      text: s.text,
      machine: { ...s.options },
      line: s.pc,
      sel: {
        pid: sel.pid ?? 1,
        entry: sel.entry ? [sel.entry.pid, num(sel.entry.start)] : null,
        page: sel.page ? [sel.page.pid, num(sel.page.va)] : null,
        frame: sel.frame ?? null,
      },
      views: this.custom ? [...this.viewList] : null,
      tab: this.tab,
      table: this.tableToggle.getAttribute('aria-pressed') === 'true',
      out: outputHash(printedText(s.steps)),
    };
  }

  /** The Share dialog's texts for the current state. */
  shareTexts() {
    return shareTexts(this.linkState(), { base: this.getAttribute('share-base') || (this.hasAttribute('permalink') ? location.href.split('#')[0] : null), title: this.titleText() });
  }

  /** The playground's title: its label, or the text of the element that labels it. */
  titleText() {
    const by = this.getAttribute('aria-labelledby');
    const named = by ? by.split(/\s+/).map((id) => document.getElementById(id)?.textContent.trim()).filter(Boolean).join(' ') : '';
    return this.getAttribute('aria-label') || named || 'Virtual-memory playground';
  }

  async #openShare() {
    try {
      this.share.fill(await this.shareTexts());
      this.share.dialog.showModal();
    } catch (err) {
      this.say(`Share: the link could not be made (${err && err.message ? err.message : err}).`);
    }
  }

  /** Bring a permalink's state back: the machine to its line, then what was selected and shown. */
  async #restore(st) {
    if (st.line) await this.runTo(st.line);
    this.refresh();
    const { entry, page, frame, pid } = st.sel;
    const alive = this.session.machine.processes();
    if (page && alive.includes(page[0])) this.sel.select({ page: { pid: page[0], va: page[1] } });
    if (entry && alive.includes(entry[0])) this.sel.select({ entry: { pid: entry[0], start: entry[1] } });
    this.sel.frame = frame;
    if (alive.includes(pid)) this.sel.pid = pid;
    if (st.table !== (this.tableToggle.getAttribute('aria-pressed') === 'true')) this.#toggleTable();
    if (st.tab !== this.tab) this.#tab(st.tab, { keepEvents: true });
    else this.refresh({ keepEvents: true });
    // today's simulator against the one the link was made with
    const out = outputHash(printedText(this.session.steps));
    const today = this.vm.version();
    this.linkCheck = { sim: st.sim, today, same: !st.out || out === st.out };
    if (!this.linkCheck.same) {
      this.say(
        `This link was made with vmplay ${st.sim || '(an unknown version)'}; today's simulator (${today}) answers differently up to line ${st.line}. ` +
          'The scenario is the link’s; the results shown are today’s.',
        'note',
      );
      this.dataset.linkDiffers = '1';
    }
  }

  #linkFailed(err) {
    const message = `This link could not be opened: ${err && err.message ? err.message : err}.`;
    this.say(message);
    this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, composed: true, detail: new Error(message) }));
  }

  /** A notice under the bar: 'alert' (a problem) or 'note' (for information). */
  say(text, kind = 'alert') {
    const n = h('div', { class: 'notice' + (kind === 'note' ? ' note' : ''), role: kind === 'note' ? 'note' : 'alert' }, h('span', null, text), h('button', { class: 'btn small ghost', type: 'button', 'aria-label': 'Dismiss this notice', onclick: () => n.remove() }, '×'));
    this.bar.after(n);
    return n;
  }

  /** Whether an edit would be lost by leaving the page (nothing kept it). */
  unsaved() {
    if (!this.ready || this.readonly) return false;
    const text = this.editor.value;
    if (this.autosave && this.autosaved === text) return false;
    return this.baseline !== null && text !== this.baseline;
  }

  #keep() {
    if (!this.autosave) return;
    clearTimeout(this.keepTimer);
    this.keepTimer = setTimeout(() => {
      const text = this.editor.value;
      if (saveAutosave(this.autosave, { text, machine: { ...this.session.options } })) this.autosaved = text;
    }, 250);
  }

  /** The editor's header: open a .vms file, save the text as one. */
  #fileTools() {
    this.fileInput = h('input', { type: 'file', accept: '.vms,text/plain', hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
    this.fileInput.addEventListener('change', () => this.#openFile(this.fileInput.files[0]));
    const open = h('button', { class: 'btn small ghost', type: 'button', title: 'Open a .vms file from this computer', hidden: this.readonly, onclick: () => this.fileInput.click() }, 'Open…');
    const save = h('button', { class: 'btn small ghost', type: 'button', title: 'Download the scenario as a .vms file', onclick: () => this.download() }, 'Save');
    return [h('span', { class: 'muted small' }, '.vms'), open, save, this.fileInput];
  }

  /** Download the editor's text as a .vms file. */
  download() {
    const text = this.editor.value;
    downloadText(scenarioName(text, this.gallery.value || null), text);
    this.baseline = text;
  }

  async #openFile(file) {
    this.fileInput.value = '';
    if (!file) return;
    if (file.size > 4 << 20) return this.say(`${file.name} is ${size(file.size)}: a scenario file is text of at most 4 MiB.`);
    const text = await file.text();
    this.sel.clear();
    this.space.fit();
    this.walk.clearInput();
    this.setScenario(text);
    this.baseline = text;
    this.console.clear(`Opened ${file.name}.`);
    this.#keep();
  }

  /**
   * Results of an exercise for the page: fires `vm-exercise` with `detail`
   * ({ kind, results: [{ label, passed, ... }], passed, total }). Predict
   * mode reports through it; checked expectations will too.
   */
  reportExercise(detail) {
    const results = detail.results || [];
    const full = { ...detail, results, passed: results.filter((r) => r.passed).length, total: results.length };
    this.dispatchEvent(new CustomEvent('vm-exercise', { bubbles: true, composed: true, detail: full }));
    return full;
  }

  /** Spoiler: one view until a click (or Enter) shows the whole playground. */
  #spoiler(grid) {
    const want = (this.getAttribute('spoiler') || '').toLowerCase();
    const one = PANELS.includes(want) ? want : this.custom ? this.viewList.find((v) => v !== 'editor' && v !== 'console') || this.viewList[0] : 'space';
    const panels = [...grid.children];
    const shown = panels.map((p) => p.hidden);
    const key = (p) => [...p.classList].find((c) => c.startsWith('p-')).slice(2);
    for (const p of panels) p.hidden = key(p) !== one && !(one === 'tlb' && key(p) === 'walk' && !this.custom);
    const wasCustom = this.custom;
    const style = grid.getAttribute('style');
    grid.classList.add('custom');
    this.#placeCustom(grid);
    this.frame.classList.add('spoiled');
    const show = h('button', { class: 'btn primary', type: 'button', onclick: () => reveal() }, 'Show the whole playground');
    const cover = h('div', { class: 'spoiler-bar' }, h('span', { class: 'spoiler-title' }, this.titleText()), show);
    this.bar.before(cover);
    const reveal = () => {
      cover.remove();
      this.frame.classList.remove('spoiled');
      panels.forEach((p, i) => (p.hidden = shown[i]));
      if (wasCustom) this.#placeCustom(grid);
      else {
        grid.classList.remove('custom');
        if (style) grid.setAttribute('style', style);
        else grid.removeAttribute('style');
      }
      this.dataset.spoiler = 'open';
      this.refresh();
      this.btnStep.focus();
    };
    this.dataset.spoiler = 'closed';
  }

  #fail(err) {
    console.error(err);
    if (!this.loading?.isConnected) {
      this.loading = h('div', { class: 'loading', role: 'status' });
      this.root.append(this.loading);
    }
    const message = String(err && err.message ? err.message : err);
    if (err instanceof RangeError && /no room for/.test(message)) {
      // the module's memory budget: say it in the teacher's words, with the detail after
      const frames = posInt(this.getAttribute('frames'), 4096);
      this.loading.replaceChildren(
        h(
          'div',
          { class: 'fail' },
          h('b', null, 'Not enough room for this playground. '),
          `The playgrounds of one page can simulate 2 GiB of memory together, and the others on this page already use most of it; this one asks for ${size(frames * 4096)}. Give it less memory (a smaller frames="…"), or put it on a page of its own.`,
          h('details', null, h('summary', null, 'Details'), message),
        ),
      );
    } else this.loading.replaceChildren(h('div', { class: 'fail' }, h('b', null, 'The simulator could not start. '), message, this.vm ? null : h('p', null, whyNoStart())));
    this.dispatchEvent(new CustomEvent('vm-error', { bubbles: true, composed: true, detail: err }));
  }

  async #loadScenario() {
    const attr = this.getAttribute('scenario');
    if (attr !== null && attr.trim()) {
      const v = attr.trim();
      if (/\s/.test(v) || v.startsWith('#') || v.startsWith('$')) return attr.replace(/^\n+/, '');
      const url = new URL(v, document.baseURI);
      let res;
      try {
        res = await fetch(url);
      } catch (err) {
        // the browser says only "Failed to fetch": say what the likely reasons are
        const other = url.origin !== location.origin;
        throw new Error(
          `scenario ${v}: could not be fetched from ${url.href} (${err && err.message ? err.message : err}). ` +
            (other
              ? `It is on another site (${url.origin}) than this page (${location.origin}): that server must allow cross-origin requests (CORS: Access-Control-Allow-Origin), which is the likely reason; or it is not answering.`
              : 'Is the server answering, and is the address right?'),
        );
      }
      if (!res.ok) throw new Error(`scenario ${v}: HTTP ${res.status}`);
      return res.text();
    }
    const script = this.querySelector('script[type="text/plain"], script[type="text/vms"]');
    if (script) return dedent(script.textContent);
    return DEFAULT_SCENARIO;
  }

  async #loadGallery() {
    if (this.gallery.hidden) return;
    try {
      const res = await fetch(new URL('index.json', SCENARIOS_URL));
      if (!res.ok) return;
      const list = await res.json();
      this.examples = list;
      for (const ex of list) this.gallery.append(h('option', { value: ex.file }, ex.title));
    } catch {
      this.gallery.hidden = true;
    }
  }

  async #pickExample(file) {
    if (!file) return;
    const res = await fetch(new URL(file, SCENARIOS_URL));
    const text = await res.text();
    this.sel.clear();
    this.space.fit();
    this.walk.clearInput();
    this.setScenario(text);
    this.console.clear(`Loaded ${file}.`);
    // the menu keeps saying which example is loaded (until the text is another)
    this.gallery.value = file;
    this.loadedExample = text;
    this.baseline = text;
    this.#keep();
  }

  #configure() {
    const frames = Number(this.memSel.value);
    const [tlbSets, tlbWays] = this.tlbSel.value.split('x').map(Number);
    this.session.configure({ frames, tlbSets, tlbWays });
    this.#keep();
    this.refresh();
  }

  // ---- actions --------------------------------------------------------------

  /** Run to the end (in slices, with progress and Stop, when it is long). */
  run() {
    return this.runTo(Infinity);
  }

  step() {
    if (this.running) return;
    // predict mode asks before the line runs (predict.js)
    if (this.predict.intercept()) return;
    this.session.step();
    this.refresh();
  }

  stepBack() {
    if (this.running) return;
    this.session.stepBack();
    this.refresh();
  }

  /** A fresh machine, and a fresh look: no selection, the whole range, an empty VA box. */
  reset() {
    if (this.running) return;
    this.sel.clear();
    this.space.fit();
    this.walk.clearInput();
    this.session.reset();
    this.refresh();
  }

  /**
   * Every op line up to `line`. A short way runs at once; a long one (more
   * than SLICED_FROM lines) in slices: the page answers meanwhile, the bar
   * shows the progress, and Run turns into Stop (Escape too).
   * @returns {Promise<void>|undefined} the sliced run, when it is one
   */
  runTo(line) {
    if (this.running) return this.running.done;
    const s = this.session;
    if (s.costTo(line) < SLICED_FROM) {
      if (line === Infinity) s.run();
      else s.runTo(line);
      this.refresh();
      return undefined;
    }
    const stop = new AbortController();
    this.#busy(true);
    let shown = 0;
    const done = s
      .runSliced(line, {
        signal: stop.signal,
        onProgress: (pc, last) => {
          const now = performance.now();
          if (now - shown < 100) return;
          shown = now;
          this.progress.max = last;
          this.progress.value = pc;
          // line numbers are written plain, as the gutter and the output write them
          this.progressText.textContent = `line ${pc} of ${last}`;
        },
      })
      .finally(() => {
        this.running = null;
        this.#busy(false);
        this.refresh();
      });
    this.running = { stop, done };
    return done;
  }

  /** Stop a sliced run where it is (the lines run so far stay run). */
  stop() {
    this.running?.stop.abort();
  }

  /** A sliced run is going: Run is Stop, the rest waits, the progress shows. */
  #busy(on) {
    this.btnRun.replaceChildren(icon(on ? 'stop' : 'run'), on ? 'Stop' : 'Run');
    this.btnRun.title = on ? 'Stop the run here (Escape)' : RUN_TITLE;
    for (const b of [this.btnStep, this.btnBack, this.btnReset, this.memSel, this.tlbSel, this.gallery]) b.disabled = on;
    this.editor.setReadOnly(on || this.readonly);
    this.progressBox.hidden = !on;
    if (on) {
      this.progress.removeAttribute('value');
      this.progressText.textContent = 'starting';
    }
  }

  #afterReset() {
    this.entryCache.clear();
    this.seenSteps = 0;
    this.sel.clearMarks();
    this.tlb?.resetHistory();
    // console lines are not part of the scenario: say so when a reset drops them
    if (this.console?.used) {
      this.console.used = false;
      this.console.note('— machine reset: the lines typed here were not kept (they are not part of the scenario) —');
    }
  }

  #toggleTable() {
    const on = this.tableToggle.getAttribute('aria-pressed') !== 'true';
    this.tableToggle.setAttribute('aria-pressed', on ? 'true' : 'false');
    this.space.setTableMode(on);
  }

  #tab(which, opts = {}) {
    this.tab = which;
    if (this.custom) return this.refresh(opts); // each has its own panel
    const walk = which === 'walk';
    this.tabWalk.classList.toggle('on', walk);
    this.tabTlb.classList.toggle('on', !walk);
    this.tabWalk.setAttribute('aria-selected', String(walk));
    this.tabTlb.setAttribute('aria-selected', String(!walk));
    this.walkBody.hidden = !walk;
    this.tlbBody.hidden = walk;
    this.refresh(opts);
  }

  #shortcut(ev) {
    if (!this.ready) return;
    if (this.running) {
      if (ev.key === 'Escape') this.stop();
      return;
    }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
      ev.preventDefault();
      this.run();
    } else if (ev.altKey && ev.key === 'ArrowDown') {
      ev.preventDefault();
      this.step();
    } else if (ev.altKey && ev.key === 'ArrowUp') {
      ev.preventDefault();
      this.stepBack();
    } else if (ev.altKey && (ev.key === 'r' || ev.key === 'R' || ev.code === 'KeyR')) {
      ev.preventDefault();
      this.reset();
    } else if (ev.altKey && /^Digit[1-7]$/.test(ev.code)) {
      ev.preventDefault();
      const target = [
        () => this.editor.focus(),
        () => this.space.scroller.focus(),
        () => (this.#tab('walk'), this.walk.input.focus()),
        () => (this.#tab('tlb'), this.tlbBody.querySelector('button, table')?.focus?.()),
        () => this.phys.canvas.focus(),
        () => this.events.list.focus(),
        () => this.console.input.focus(),
      ][Number(ev.code.slice(5)) - 1];
      target();
    }
  }

  // ---- the hooks the views call --------------------------------------------

  #hooks() {
    return {
      onInput: (text) => {
        if (this.loadedExample !== undefined && text !== this.loadedExample) {
          this.loadedExample = undefined;
          this.gallery.value = '';
        }
        if (this.session.setText(text)) this.console.note('— the text of an executed line changed: the machine was reset —');
        this.#keep();
        this.refresh();
      },
      onRunTo: (line) => this.runTo(line),
      onShowOutput: (line) => this.output.reveal(line),
      onExec: (text) => {
        if (this.running) return { ok: false, message: 'A run is going: wait for it, or Stop it.' };
        this.console.used = true;
        const st = this.session.consoleExec(text);
        this.refresh();
        return st;
      },
      onSelect: (entry) => this.select({ entry }),
      onSelectProc: (pid) => this.select({ process: pid }),
      onSelectPage: (pid, va, opts = {}) => this.select({ page: { pid, va } }, opts),
      onWalk: (va) => this.select({ page: { pid: this.sel.pid, va: num(va) } }),
      onSelectFrame: (pfn) => this.select({ frame: pfn }),
      onSelectTlb: (asid, va, pfn) => this.select({ tlb: { asid, va, pfn } }),
      onSelectEvent: (event, step) => this.select({ event, step }),
      pageStates: (pid, start, n) => pageStates(this.session.vm, this.session.machine, pid, start, n),
      frame: (pfn) => {
        // one look-up of a frame a redraw (the views ask for the same
        // one; the machine scans every page table for who maps it)
        const memo = this.frameMemo;
        if (!memo) return this.session.machine.frame(pfn);
        if (!memo.has(pfn)) memo.set(pfn, this.session.machine.frame(pfn));
        return memo.get(pfn);
      },
      machine: () => this.session.machine,
      walk: (pid, va) => this.#walkOf(pid, va),
      refresh: () => this.refresh(),
    };
  }

  /**
   * The one way a click or a key changes what is selected (see
   * selection.js for the targets); then every view follows. A page is
   * shown in the walk, a TLB event in the TLB, when they share a tab.
   */
  select(target, opts = {}) {
    this.sel.select(target);
    const keepEvents = 'event' in target;
    let tab = this.tab;
    if (!this.custom && 'page' in target) tab = 'walk';
    if (!this.custom && keepEvents && /^tlb_/.test(target.event.type)) tab = 'tlb';
    if (tab !== this.tab) this.#tab(tab, { keepEvents });
    else this.refresh({ keepEvents });
    if (opts.focus === 'grid') this.entryBody.querySelector('.page-grid-wrap')?.focus();
  }

  #entryAt(pid, va) {
    const list = this.#entries(pid);
    return list.find((e) => e.start <= va && va < e.end) || null;
  }

  #entries(pid) {
    let list = this.entryCache.get(pid);
    if (!list) {
      list = this.session.machine.entries(pid) || [];
      this.entryCache.set(pid, list);
    }
    return list;
  }

  #walkOf(pid, va) {
    try {
      return this.session.machine.walk(pid, va);
    } catch {
      return null;
    }
  }

  // ---- drawing ----------------------------------------------------------------

  /** Redraw every view from the machine's current state. */
  refresh(opts = {}) {
    if (!this.ready) return;
    this.frameMemo = new Map();
    try {
      this.#redraw(opts);
    } catch (err) {
      // never leave the page dead: say what broke where the step result goes
      console.error(err);
      this.stepInfo.replaceChildren(h('span', { class: 'mono si-res bad' }, `display error: ${err && err.message ? err.message : err}`));
    } finally {
      this.frameMemo = null;
    }
  }

  #redraw(opts) {
    const t0 = performance.now();
    const s = this.session;
    const m = s.machine;
    // what happened since the last redraw
    if (s.generation !== this.seenGeneration) {
      this.seenGeneration = s.generation;
      this.seenSteps = 0;
      this.entryCache.clear();
    }
    const fresh = s.steps.slice(this.seenSteps);
    if (fresh.length) {
      this.seenSteps = s.steps.length;
      // many steps at once (a run, a Back): start the caches again rather
      // than look through every step's events
      if (fresh.length > 1) {
        this.entryCache.clear();
        this.tableVersion = (this.tableVersion || 0) + 1;
      }
      for (const st of fresh.length > 1 ? [] : fresh) {
        if (Changes.from(st.events).mapChanged || st.source === 'console') {
          this.entryCache.clear();
          this.tableVersion = (this.tableVersion || 0) + 1;
          break;
        }
        if (st.events.some((e) => e.type === 'table_alloc' || e.type === 'table_free' || e.type === 'huge_demote' || e.type === 'huge_collapse' || (e.type === 'pte_write' && e.level > 1))) {
          this.tableVersion = (this.tableVersion || 0) + 1;
        }
      }
      if (!opts.keepEvents) this.sel.select({ step: s.last });
    }

    const named = m.processNames();
    const alive = new Set(m.processes());
    const procs = [];
    this.asidToPid = new Map();
    for (const { name, pid } of named) {
      if (!alive.has(pid)) continue;
      const pv = m.processView(pid);
      if (pv) this.asidToPid.set(num(pv.asid), pid);
      procs.push({ name, pid, asid: pv ? pv.asid : null, cr3: pv ? pv.cr3 : null, resident: pv ? pv.resident : 0, entries: this.#entries(pid) });
    }
    this.#showKernel();
    const last = s.last;
    this.changes = last ? Changes.from(last.events, this.asidToPid) : new Changes();
    const sel = this.sel;
    const entry = sel.settle(
      procs.map((p) => p.pid),
      (pid) => this.#entries(pid),
    );
    const proc = procs.find((p) => p.pid === sel.pid) || null;
    const selProc = sel.entry ? procs.find((p) => p.pid === sel.entry.pid) : null;

    this.editor.update({ pc: s.pc, next: s.nextOp(), error: s.error, results: s.results });
    if (!this.edBody.closest('section').hidden && (this.outputDrawn !== s.steps.length || this.outputGen !== s.generation)) {
      this.output.render(s.steps);
      this.outputDrawn = s.steps.length;
      this.outputGen = s.generation;
    }
    this.console.setProc(proc ? proc.name : null);
    this.#updateBar(procs);

    if (!this.space.root.closest('section').hidden) {
      this.space.update({ procs, selectedPid: sel.pid, selected: sel.entry, changes: this.changes, mark: sel.mark });
      this.entry.update({
        proc: selProc,
        entry,
        amap: entry && selProc ? this.#amap(selProc.pid, entry) : null,
        changes: this.changes,
        selectedVa: selProc ? sel.pageIn(selProc.pid) : null,
        kernel: this.kernel,
        stamp: `${s.generation}:${s.steps.length}`,
      });
    }

    if (!this.walkBody.hidden && !this.walkBody.closest('section').hidden) {
      const { pid, va } = sel.walkTarget(alive);
      const wproc = procs.find((p) => p.pid === pid) || null;
      const walk = wproc && va !== null ? this.#walkOf(pid, va) : null;
      let tree = null;
      if (wproc && this.walk.treeOpen) {
        const key = `${s.generation}:${pid}:${this.tableVersion || 0}`;
        if (key !== this.treeKey) {
          this.treeKey = key;
          this.tree = buildTree((a) => this.#walkOf(pid, a), wproc.entries, wproc.cr3);
        }
        tree = this.tree;
      }
      this.walk.update({ proc: wproc, va, walk, tree, stamp: `${s.generation}:${s.steps.length}` });
    }
    const asidNames = new Map(procs.map((p) => [num(p.asid), p.name]));
    if (!this.tlbBody.hidden && !this.tlbBody.closest('section').hidden) {
      this.tlb.update({ tlb: m.tlb(), before: s.last ? s.last.tlbBefore : null, changes: this.changes, asidNames, mark: sel.tlbMark });
    } else if (this.tlb) {
      this.tlb.prev = null;
    }
    if (!this.pmBody.closest('section').hidden) {
      // the heading says how big the memory is and how many frames a cell
      // holds (the view writes it, as it redraws on a resize too)
      this.phys.sizeBox ??= this.root.querySelector('.pm-size');
      this.phys.update({ kinds: () => frameKinds(this.session.vm, m), changes: this.changes, selected: sel.frame, marks: sel.markFrames });
      this.swap.update(m.swapView(4096, 256), new Map(named.map((p) => [p.pid, p.name])));
    }
    if (!this.evBody.closest('section').hidden && (!opts.keepEvents || this.eventsDrawn !== s.steps.length)) {
      if (this.eventsDrawn !== s.steps.length || this.eventsGen !== s.generation) {
        this.events.render(s.steps);
        this.eventsDrawn = s.steps.length;
        this.eventsGen = s.generation;
      }
    }
    this.lastRedrawMs = performance.now() - t0;
    this.dispatchEvent(new CustomEvent('vm-redraw', { detail: { ms: this.lastRedrawMs } }));
    // the page hears of every move of the machine (a step, a run, Back, a reset)
    const key = `${s.generation}:${s.steps.length}`;
    if (this.stepKey !== undefined && key !== this.stepKey) {
      this.stepKey = key;
      const st = s.last;
      this.dispatchEvent(
        new CustomEvent('vm-step', {
          bubbles: true,
          composed: true,
          detail: { line: s.pc, steps: s.steps.length, next: s.nextOp(), step: st ? { line: st.line, source: st.source, text: st.text, ok: st.ok, result: resultText(st), failure: failure(st) } : null },
        }),
      );
    }
    this.#reportExercise();
  }

  /** The verdicts of the text's `expect` lines (exercise.js), sent as a
   * `vm-exercise` event whenever they change. */
  #reportExercise() {
    const report = exerciseReport(this.session);
    const key = reportKey(report);
    if (key === this.exerciseKey) return;
    this.exerciseKey = key;
    /** The last report sent (null: the text has no expect line). */
    this.exercise = report;
    if (report) this.dispatchEvent(new CustomEvent('vm-exercise', { bubbles: true, composed: true, detail: report }));
  }

  /**
   * The kernel the scenario follows: its personality line, else the
   * element's attribute, else Linux. Said beside the editor's title; the
   * page hears of a change (vm-kernel) to keep its own control in step.
   */
  #showKernel() {
    const fromText = kernelName(personalityOf(this.session.lines));
    const name = fromText || kernelName(this.getAttribute('personality')) || 'linux';
    const k = kernel(name);
    if (!this.kernelNote) {
      this.kernelNote = h('span', { class: 'muted small kernel-note' });
      this.edBody.closest('section').querySelector('.ph-tools')?.prepend(this.kernelNote);
    }
    this.kernelNote.textContent = k.label;
    this.kernelNote.title = fromText ? `The scenario's personality line: ${k.label}'s rules` : `${k.label}'s rules (the kernel chosen for this playground)`;
    if (this.kernel !== name || this.kernelFrom !== (fromText ? 'scenario' : 'element')) {
      this.kernel = name;
      this.kernelFrom = fromText ? 'scenario' : 'element';
      this.dispatchEvent(new CustomEvent('vm-kernel', { bubbles: true, composed: true, detail: { kernel: name, from: this.kernelFrom } }));
    }
  }

  /** The personality attribute: a kernel's name, undefined when absent; another word throws. */
  #personalityAttr() {
    const v = this.getAttribute('personality');
    if (v === null || !v.trim()) return undefined;
    const name = kernelName(v);
    if (!name) throw new Error(`personality="${v}": no such kernel (the kernels are linux, freebsd, netbsd)`);
    return name;
  }

  #amap(pid, entry) {
    // asked of the machine even when the (cached) entry has none yet: the
    // first write fault allocates one without changing the map
    try {
      // the first 64 slots (what the table shows) and the selected page's
      // (a 1 GiB entry has 262,144 slots: all of them took 90 ms a redraw)
      const va = this.sel.pageIn(pid);
      const slot = va !== null && va >= entry.start && va < entry.end ? (entry.amap ? entry.amap.slotoff : 0) + Math.floor((va - entry.start) / 4096) : undefined;
      // the machine builds the view from every slot (a quarter of a
      // million at 1 GiB), so the last one is kept across steps that only
      // missed in the TLB; any other step, and any redraw without a step,
      // asks again
      const s = this.session;
      const c = this.amapKept;
      if (c && c.machine === s.machine && c.gen === s.generation && c.pid === pid && c.start === entry.start && c.slot === slot && c.steps < s.steps.length && s.steps.slice(c.steps).every(quietStep)) {
        c.steps = s.steps.length;
        return c.view;
      }
      const view = s.machine.amap(pid, entry.start, 64, slot);
      this.amapKept = { machine: s.machine, gen: s.generation, steps: s.steps.length, pid, start: entry.start, slot, view };
      return view;
    } catch {
      this.amapKept = null;
      return null;
    }
  }

  #updateBar(procs) {
    const s = this.session;
    const next = s.nextOp();
    this.btnStep.disabled = !next || !!this.running;
    this.btnRun.disabled = !next && !this.running;
    this.btnBack.disabled = !s.pc || !!this.running;
    const last = s.last;
    const info = [];
    if (last) {
      const full = resultText(last);
      // the bar is a live region: a 768-digit mincore is not read out (the output pane has it)
      const res = full.length > 60 ? full.slice(0, 57) + '…' : full;
      const bad = failed(last);
      info.push(
        h('span', { class: 'si-line' }, last.source === 'console' ? 'console' : `line ${last.line}`),
        h('span', { class: 'mono si-res' + (bad ? ' bad' : ''), title: full }, (bad ? '✗ ' : '') + res),
      );
    } else info.push(h('span', { class: 'muted' }, 'Fresh machine'));
    // the counts take the room the result leaves, each whole or not shown
    info.push(
      h(
        'span',
        { class: 'si-extra' },
        h('span', { class: 'si-start' }),
        last ? h('span', { class: 'muted si-ev' }, `${count(last.events.length + (last.dropped || 0))} events`) : null,
        h('span', { class: 'muted si-procs' }, `${count(procs.length)} ${procs.length === 1 ? 'process' : 'processes'}`),
      ),
    );
    this.stepInfo.replaceChildren(...info);
  }
}

/** Events that leave memory objects as they were: TLB misses and flushes. */
const TLB_ONLY = new Set(['tlb_miss', 'tlb_flush_page', 'tlb_flush_asid']);

/** A step that only went through the TLB (it ran, and nothing was dropped from its events). */
function quietStep(st) {
  return !st.dropped && !st.crashed && st.events.every((e) => TLB_ONLY.has(e.type));
}

/**
 * The `views` attribute: panel names separated by commas or blanks, in any
 * case. @returns {{ views: string[], unknown: string[] }}
 */
export function parseViews(attr) {
  const words = (attr || '').split(/[\s,]+/).filter(Boolean);
  const views = [];
  const unknown = [];
  for (const w of words) {
    const v = w.toLowerCase();
    if (PANELS.includes(v)) {
      if (!views.includes(v)) views.push(v);
    } else unknown.push(w);
  }
  return { views, unknown };
}

/** Where the element looks for its module, and what keeps it from loading there. */
function whyNoStart() {
  const wasm = new URL('../pkg/vmwasm_bg.wasm', import.meta.url).href;
  if (location.protocol === 'file:') return `This page was opened as a file (file://): browsers load modules and WebAssembly only from a server. Serve the folder (for example npx serve, or python3 -m http.server) and open it from there.`;
  return `The simulator is loaded from ${wasm} (beside web/playground.js, with the package's pkg/ folder). That address must answer with the file, served as application/wasm; from another site than this page's, the server must also allow cross-origin requests (CORS: Access-Control-Allow-Origin).`;
}

function posInt(v, dflt) {
  const n = Number(v);
  return v !== null && Number.isSafeInteger(n) && n > 0 ? n : dflt;
}

function dedent(text) {
  const lines = text.replace(/^\n+/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)[0].length));
  return lines.map((l) => l.slice(indent)).join('\n') + '\n';
}

function icon(name) {
  const paths = {
    run: 'M3 2.5v11l5-5.5zM8.5 2.5v11l5-5.5z',
    step: 'M4 2.5v11l7-5.5zM12 2.5h1.8v11H12z',
    back: 'M12 2.5v11L5 8zM2.2 2.5H4v11H2.2z',
    stop: 'M3.5 3.5h9v9h-9z',
    reset: 'M8 2.5a5.5 5.5 0 1 0 5.2 3.7l-1.7.6A3.7 3.7 0 1 1 8 4.3v2.2l3.2-3-3.2-3z',
  };
  return h('svg:svg', { class: 'ic', viewBox: '0 0 16 16', width: 14, height: 14, 'aria-hidden': 'true' }, h('svg:path', { d: paths[name], fill: 'currentColor' }));
}

const DEFAULT_SCENARIO = `# Demand paging: mmap only reserves addresses; pages arrive at the first touch.
$a = mmap $arena 64K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
load $a              # a read maps the shared zero page
store $a 0x41        # the first write: a fresh zero-filled frame
store $a+12K 0x42
mincore $a 64K
fork p2
p2: store $a 0x43    # copy-on-write: p2 gets its own copy
load $a
maps
`;

if (!customElements.get('vm-playground')) customElements.define('vm-playground', VmPlayground);
