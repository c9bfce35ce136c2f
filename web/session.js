// A scenario session: the editor's text, one simulated machine, and how far
// the text has been executed. Stepping back re-runs the text up to the line
// before on a fresh machine: the simulator is deterministic, so that gives
// exactly the state the step had.

import { freshVm } from './vm.js';

export const DEFAULT_OPTIONS = { frames: 16384, tlbSets: 16, tlbWays: 4 };
/** Events kept per step; the rest are counted, not stored. */
export const MAX_EVENTS_PER_STEP = 4000;

/** Whether a line of .vms text holds an operation (not blank, not a comment). */
export function isOpLine(line) {
  return line.replace(/#.*/, '').trim().length > 0;
}

export class Session extends EventTarget {
  /** @param vm the loaded module (see vm.js) */
  constructor(vm, options = {}) {
    super();
    this.vm = vm;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.text = '';
    this.machine = null;
    this.reset();
  }

  /** A fresh machine; nothing of the text executed. */
  reset() {
    if (this.machine) {
      try {
        this.machine.free();
      } catch {
        // a machine that died in an internal error may refuse to be freed
      }
    }
    this.machine = new this.vm.Machine({ ...this.options, events: true });
    this.machine.takeEvents(0); // start with an empty log
    /** Executed op lines: line number -> step record. */
    this.results = new Map();
    /** The last executed line (0 when none). */
    this.pc = 0;
    /** Every step taken since the reset, in order (editor and console). */
    this.steps = [];
    /** The line that failed to parse, if the last step did: { line, message }. */
    this.error = null;
    this.generation = (this.generation || 0) + 1;
    this.consoleSeq = 0;
    this.emit('reset');
  }

  /** Replace the options (memory size, TLB geometry) and start again. */
  configure(options) {
    this.options = { ...this.options, ...options };
    this.reset();
  }

  get lines() {
    return this.text.split('\n');
  }

  /**
   * New editor text. When a line already executed changed, the machine no
   * longer matches the text, so the session starts again from nothing.
   * @returns whether the machine was reset
   */
  setText(text) {
    const before = this.text.split('\n');
    const after = text.split('\n');
    this.text = text;
    let stale = false;
    for (let i = 0; i < this.pc; i++) {
      if (before[i] !== after[i]) {
        stale = true;
        break;
      }
    }
    if (this.error && before[this.error.line - 1] !== after[this.error.line - 1]) this.error = null;
    if (stale) this.reset();
    return stale;
  }

  /** The next op line to execute (1-based), or 0 at the end. */
  nextOp() {
    const lines = this.lines;
    for (let i = this.pc; i < lines.length; i++) if (isOpLine(lines[i])) return i + 1;
    return 0;
  }

  /** The op line executed before `line`, or 0. */
  prevOp(line) {
    const lines = this.lines;
    for (let i = line - 2; i >= 0; i--) if (isOpLine(lines[i])) return i + 1;
    return 0;
  }

  get atEnd() {
    return this.nextOp() === 0;
  }

  /** Execute one text line through the runner and record it. */
  #exec(lineno, text, source) {
    // the TLB before the line, so the TLB view can show what the line filled and flushed
    const tlbBefore = this.machine.tlb();
    let r;
    try {
      r = this.machine.execLine(lineno, text);
    } catch (err) {
      // a simulator bug (a wasm trap): the line is reported at its place and
      // the machine rebuilt by replaying the lines before it
      r = { ok: false, message: `internal error of the simulator (please report it): ${err && err.message ? err.message : err}`, crashed: true };
    }
    const { events, dropped } = r.crashed ? { events: [], dropped: 0 } : this.machine.takeEvents(MAX_EVENTS_PER_STEP);
    const step = {
      seq: this.steps.length + 1,
      source,
      line: lineno,
      text,
      ok: r.ok,
      output: r.ok ? r.output : null,
      message: r.ok ? null : r.message,
      crashed: !!r.crashed,
      events,
      dropped,
      tlbBefore,
    };
    this.steps.push(step);
    return step;
  }

  /** Execute the next op line. Returns the step, or null at the end or on error. */
  step() {
    const n = this.nextOp();
    if (!n) return null;
    const step = this.#exec(n, this.lines[n - 1], 'editor');
    if (step.ok) {
      this.pc = n;
      this.results.set(n, step);
      this.error = null;
    } else {
      this.error = { line: n, message: step.message };
      if (step.crashed) this.#recover(step);
    }
    this.emit('step', step);
    return step.ok ? step : null;
  }

  /**
   * After an internal error: a fresh machine with the lines before it
   * replayed, at once; then, as soon as a fresh instance of the module is
   * loaded, the same again there (the trapped instance has lost memory it
   * cannot get back; see vm.js).
   */
  #recover(step) {
    this.#replay(this.pc, step);
    const trapped = this.vm;
    freshVm(trapped)
      .then((vm) => {
        if (this.vm !== trapped) return;
        this.vm = vm;
        const error = this.error;
        this.#replay(this.pc, null);
        this.error = error;
        this.emit('rehosted', { instance: vm.instance });
        this.emit('step', this.last);
      })
      .catch(() => {
        // no fresh instance to be had: carry on in this one
      });
  }

  /** A fresh machine with the op lines up to `pc` replayed; `step`, if
   * given, is the failed step to report again. */
  #replay(pc, step) {
    const steps = this.steps;
    this.reset();
    while (true) {
      const n = this.nextOp();
      if (!n || n > pc || !this.#quietStep()) break;
    }
    if (step) {
      if (step.source === 'editor') this.error = { line: step.line, message: step.message };
      this.steps.push(step);
    } else {
      this.steps = steps;
    }
  }

  /** Execute to the end of the text (or the first error). */
  run(limit = Infinity) {
    let n = 0;
    while (n < limit && this.#quietStep()) n++;
    this.emit('step', this.steps[this.steps.length - 1] || null);
    return n;
  }

  #quietStep() {
    const n = this.nextOp();
    if (!n) return false;
    const step = this.#exec(n, this.lines[n - 1], 'editor');
    if (!step.ok) {
      this.error = { line: n, message: step.message };
      if (step.crashed) this.#recover(step);
      return false;
    }
    this.pc = n;
    this.results.set(n, step);
    return true;
  }

  /** Fresh machine, then every op line up to and including `line`. */
  runTo(line) {
    this.reset();
    while (true) {
      const n = this.nextOp();
      if (!n || n > line) break;
      if (!this.#quietStep()) break;
    }
    this.emit('step', this.steps[this.steps.length - 1] || null);
  }

  /** Undo the last executed line (deterministic re-run on a fresh machine). */
  stepBack() {
    if (!this.pc) return false;
    this.runTo(this.prevOp(this.pc));
    return true;
  }

  /** A line typed in the console: runs on the live machine, not part of the text. */
  consoleExec(text) {
    this.consoleSeq++;
    const step = this.#exec(100000 + this.consoleSeq, text, 'console');
    if (step.crashed) this.#recover(step);
    this.emit('step', step);
    return step;
  }

  /** The last step taken (its events are "what changed"). */
  get last() {
    return this.steps[this.steps.length - 1] || null;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
