// Predict, then reveal: before a line runs, the student says what it will
// do (its result, the fault it takes, the frames it allocates, how the map
// entries and the page table entries change); then the
// line runs, the views highlight what changed as on every step, and the
// answers are marked (an answer about the map entries is right when the
// line made that kind of change, or none when "unchanged" is picked) against what the simulator did, with a running score.
//
// On for every line with the Predict button (or the element's `predict`
// attribute), or only for the lines a teacher marks with a `#?` comment
// (`predict="marked"`). Each answer is reported to the page as a
// `vm-exercise` event (kind "predict").

import { h, num } from './format.js';

/** The fault a line takes, from its events: what the student picks from. */
export const FAULTS = [
  ['none', 'no page fault'],
  ['zero_page', 'zero page mapped (a read of untouched memory)'],
  ['zero_fill', 'zero-fill (a fresh zeroed frame)'],
  ['cow_copy', 'copy-on-write: the page is copied'],
  ['cow_reuse', 'copy-on-write: sole owner, made writable in place'],
  ['page_cache', 'page-cache fill (a file or shared page mapped)'],
  ['file_promote', 'private file page copied (written)'],
  ['swap_in', 'swap-in (read back from swap)'],
  ['huge', 'a 2 MiB huge page'],
  ['remap', 'only the PTE was missing (page already resident)'],
  ['write_enable', 'made writable (no copy)'],
  ['SIGSEGV', 'SIGSEGV'],
  ['SIGBUS', 'SIGBUS'],
];

/** The fault a step took, as one of FAULTS' keys. */
export function faultOf(step) {
  const ev = step.events || [];
  const sig = ev.find((e) => e.type === 'signal');
  if (sig) return /bus/i.test(String(sig.code ?? sig.signal ?? '')) ? 'SIGBUS' : 'SIGSEGV';
  if (ev.some((e) => e.type === 'swap_in')) return 'swap_in';
  const res = ev.find((e) => e.type === 'fault_resolved');
  if (res) return /^huge/.test(res.how) ? 'huge' : res.how;
  return ev.some((e) => e.type === 'page_fault') ? 'remap' : 'none';
}

/** How a line changes the map entries: what the student picks from. */
export const ENTRY_CHANGES = [
  ['none', 'unchanged'],
  ['entry_insert', 'a new entry'],
  ['entry_split', 'an entry split'],
  ['entry_merge', 'entries merged'],
  ['entry_remove', 'an entry removed'],
];

/** The kinds of map-entry change a step made (empty: none). */
export function entryChangesOf(step) {
  const kinds = new Set((step.events || []).map((e) => e.type).filter((t) => ENTRY_CHANGES.some(([k]) => k === t)));
  return ENTRY_CHANGES.map(([k]) => k).filter((k) => kinds.has(k));
}

/** How a line changes the page table entries: what the student picks from. */
export const PTE_CHANGES = [
  ['none', 'no PTE is written'],
  ['map', 'a PTE becomes present (P set)'],
  ['unmap', 'a PTE is cleared or made not present'],
  ['write_enable', 'RW set: a page made writable'],
  ['write_protect', 'RW cleared: a page write-protected'],
  ['clean', 'A or D cleared by the kernel'],
];

/**
 * The kinds of PTE change a step's page-table writes made (empty: none).
 * Leaves only (level 1, or a 2 MiB leaf); the A and D bits the CPU sets
 * on an access are not kernel writes and are not counted.
 */
export function pteChangesOf(step) {
  const P = 1n, RW = 2n, A = 0x20n, D = 0x40n, PS = 0x80n;
  const big = (v) => {
    try {
      return BigInt(String(v));
    } catch {
      return 0n;
    }
  };
  const kinds = new Set();
  for (const e of step.events || []) {
    if (e.type !== 'pte_write') continue;
    const o = big(e.old), n = big(e.new);
    const level = num(e.level);
    if (level !== 1 && !(level === 2 && ((o | n) & PS))) continue;
    const was = (o & P) !== 0n, is = (n & P) !== 0n;
    if (!was && is) kinds.add('map');
    else if (was && !is) kinds.add('unmap');
    else if (was && is) {
      if (!(o & RW) && n & RW) kinds.add('write_enable');
      if (o & RW && !(n & RW)) kinds.add('write_protect');
      if ((o & (A | D)) & ~n) kinds.add('clean');
    }
  }
  return PTE_CHANGES.map(([k]) => k).filter((k) => kinds.has(k));
}

/** Frames a step allocated (page tables included; a huge page is 512). */
export function framesOf(step) {
  let n = 0;
  for (const e of step.events || []) {
    if (e.type === 'frame_alloc') n += 1;
    else if (e.type === 'huge_frame_alloc') n += 512;
  }
  return n;
}

/** Whether the student's `answer` says the same result as the line's `result` (0x10 = 16, -ENOMEM = ENOMEM). */
export function sameResult(answer, result) {
  const norm = (v) => {
    const t = String(v).trim().toLowerCase().replace(/^-(?=e)/, '');
    if (/^(0x[0-9a-f]+|\d+)$/.test(t)) return BigInt(t).toString();
    return t;
  };
  return norm(answer) === norm(result);
}

export class PredictMode {
  constructor(pg) {
    this.pg = pg;
    const attr = pg.getAttribute('predict');
    this.marked = attr === 'marked';
    this.on = attr !== null;
    this.score = { right: 0, asked: 0 };
    this.pending = 0;
    this.button = h('button', { class: 'btn ghost', type: 'button', 'aria-pressed': String(this.on), title: 'Predict each line before it runs, then see what it did (with a score)', onclick: () => this.toggle() }, 'Predict');
    this.question = h('p', { class: 'pr-q' });
    this.result = h('input', { class: 'pr-in mono', id: 'pr-result', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. ok, 0x41, ENOMEM, SIGSEGV' });
    this.fault = h('select', { class: 'sel', id: 'pr-fault' }, h('option', { value: '' }, '(no answer)'), FAULTS.map(([k, t]) => h('option', { value: k }, t)));
    this.entries = h('select', { class: 'sel', id: 'pr-entries' }, h('option', { value: '' }, '(no answer)'), ENTRY_CHANGES.map(([k, t]) => h('option', { value: k }, t)));
    this.ptes = h('select', { class: 'sel', id: 'pr-ptes' }, h('option', { value: '' }, '(no answer)'), PTE_CHANGES.map(([k, t]) => h('option', { value: k }, t)));
    this.frames = h('input', { class: 'pr-in pr-num mono', id: 'pr-frames', type: 'number', min: '0', step: '1', inputmode: 'numeric' });
    this.marks = h('ul', { class: 'pr-marks' });
    this.scoreText = h('span', { class: 'pr-score', role: 'status' });
    this.reveal = h('button', { class: 'btn primary', type: 'submit' }, 'Reveal');
    const field = (id, label, input) => h('div', { class: 'pr-field' }, h('label', { for: id }, label), input);
    this.form = h(
      'form',
      { class: 'pr-form', 'aria-label': 'Your prediction' },
      field('pr-result', 'Result', this.result),
      field('pr-fault', 'Page fault', this.fault),
      field('pr-frames', 'Frames allocated (page tables too)', this.frames),
      field('pr-entries', 'Map entries', this.entries),
      field('pr-ptes', 'Page table entries', this.ptes),
      h('div', { class: 'pr-actions' }, this.reveal, h('button', { class: 'btn ghost', type: 'button', onclick: () => this.skip() }, 'Skip')),
    );
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.answer();
    });
    this.panel = h(
      'section',
      { class: 'predict', hidden: true, 'aria-labelledby': 'pr-title' },
      h('div', { class: 'pr-head' }, h('h2', { id: 'pr-title' }, 'Predict, then reveal'), this.scoreText),
      this.question,
      this.form,
      this.marks,
    );
    this.#drawScore();
  }

  toggle(on = !this.on) {
    this.on = on;
    this.button.setAttribute('aria-pressed', String(on));
    if (!on) this.#close();
    else this.panel.hidden = false;
    this.pg.refresh();
  }

  /** Whether line `n` is one to predict. */
  asks(n) {
    if (!this.on || !n) return false;
    if (!this.marked) return true;
    return /#\s*\?/.test(this.pg.session.lines[n - 1] || '');
  }

  /**
   * Step, the playground's Step in predict mode: ask first when the next
   * line is one to predict (returns true: the step waits for the answer).
   */
  intercept() {
    const n = this.pg.session.nextOp();
    if (!this.asks(n) || this.pending === n) return this.pending === n;
    this.pending = n;
    this.panel.hidden = false;
    this.form.hidden = false;
    this.marks.replaceChildren();
    this.form.reset();
    this.question.replaceChildren('What will line ', h('b', null, String(n)), ' do? ', h('code', { class: 'mono' }, this.pg.session.lines[n - 1].replace(/#.*/, '').trim()));
    this.result.focus();
    return true;
  }

  /** Reveal: run the line, mark each answer given, keep the score. */
  answer() {
    const n = this.pending;
    if (!n || this.pg.session.nextOp() !== n) return this.#close();
    this.pending = 0;
    this.pg.session.step();
    this.pg.refresh();
    const st = this.pg.session.last;
    if (!st || st.line !== n) return;
    const actual = {
      result: st.ok ? (st.output ? st.output.result : 'ok') : `error: ${st.message}`,
      fault: faultOf(st),
      frames: framesOf(st),
      entries: entryChangesOf(st),
      ptes: pteChangesOf(st),
    };
    const results = [];
    const faultName = (k) => (FAULTS.find(([f]) => f === k) || [k, k])[1];
    if (this.result.value.trim()) results.push({ label: 'result', answered: this.result.value.trim(), expected: actual.result, passed: sameResult(this.result.value, actual.result) });
    if (this.fault.value) results.push({ label: 'page fault', answered: faultName(this.fault.value), expected: faultName(actual.fault), passed: this.fault.value === actual.fault });
    if (this.frames.value !== '') results.push({ label: 'frames allocated', answered: this.frames.value, expected: String(actual.frames), passed: num(this.frames.value) === actual.frames });
    const entryName = (k) => (ENTRY_CHANGES.find(([e]) => e === k) || [k, k])[1];
    if (this.entries.value) {
      const passed = this.entries.value === 'none' ? actual.entries.length === 0 : actual.entries.includes(this.entries.value);
      results.push({ label: 'map entries', answered: entryName(this.entries.value), expected: actual.entries.length ? actual.entries.map(entryName).join(', ') : 'unchanged', passed });
    }
    const pteName = (k) => (PTE_CHANGES.find(([e]) => e === k) || [k, k])[1];
    if (this.ptes.value) {
      const passed = this.ptes.value === 'none' ? actual.ptes.length === 0 : actual.ptes.includes(this.ptes.value);
      results.push({ label: 'page table entries', answered: pteName(this.ptes.value), expected: actual.ptes.length ? actual.ptes.map(pteName).join(', ') : 'no PTE written', passed });
    }
    for (const r of results) {
      this.score.asked++;
      if (r.passed) this.score.right++;
    }
    this.form.hidden = true;
    this.question.replaceChildren('Line ', h('b', null, String(n)), results.length ? ' ran. Your answers:' : ' ran (no answer given). It did:');
    const rows = results.length
      ? results.map((r) => h('li', { class: r.passed ? 'pr-right' : 'pr-wrong' }, h('span', { class: 'pr-mark', 'aria-hidden': 'true' }, r.passed ? '✓' : '✗'), `${r.label}: `, h('b', null, r.answered), r.passed ? ' — right' : ` — wrong: it was ${r.expected}`))
      : [h('li', null, `result ${actual.result}; ${faultName(actual.fault)}; ${actual.frames} frames allocated`)];
    rows.push(h('li', { class: 'muted' }, 'The views highlight what changed. Step for the next line.'));
    this.marks.replaceChildren(...rows);
    this.#drawScore();
    this.pg.reportExercise({ kind: 'predict', line: n, text: st.text, results, score: { ...this.score } });
  }

  /** Step without predicting this line. */
  skip() {
    const n = this.pending;
    this.pending = 0;
    if (n && this.pg.session.nextOp() === n) {
      this.pg.session.step();
      this.pg.refresh();
    }
    this.marks.replaceChildren(h('li', { class: 'muted' }, `Line ${n} skipped.`));
    this.form.hidden = true;
    this.question.replaceChildren();
  }

  #close() {
    this.pending = 0;
    this.panel.hidden = !this.on;
    this.form.hidden = true;
  }

  #drawScore() {
    const { right, asked } = this.score;
    this.scoreText.textContent = asked ? `Score: ${right} of ${asked}` : 'Score: nothing answered yet';
  }
}
