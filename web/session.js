// A scenario session: the editor's text, one simulated machine, and how far
// the text has been executed. Stepping back re-runs the text up to the line
// before: the simulator is deterministic, so that gives exactly the state
// the step had. It starts from the nearest snapshot the machine kept (one
// every SNAPSHOT_EVERY lines), not from a fresh machine, so Back from line
// 10,000 replays at most that many lines. A long run goes in slices
// (`runSliced`) so the page keeps answering, with progress and a stop.

import { freshVm } from './vm.js';

export const DEFAULT_OPTIONS = { frames: 16384, tlbSets: 16, tlbWays: 4 };
/** Events kept per step; the rest are counted, not stored. */
export const MAX_EVENTS_PER_STEP = 4000;
/** Executed lines between two snapshots of the machine. */
export const SNAPSHOT_EVERY = 200;
/** Milliseconds of simulation per slice of a sliced run. */
export const SLICE_MS = 12;

/** Whether a line of .vms text holds an operation (not blank, not a comment). */
export function isOpLine(line) {
  return line.replace(/#.*/, '').trim().length > 0;
}

export class Session extends EventTarget {
  /** The text split into lines, once per change of the text (not per step). */
  #lines;

  /** @param vm the loaded module (see vm.js) */
  constructor(vm, options = {}) {
    super();
    this.vm = vm;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.#lines = [''];
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
    /** Line numbers of the snapshots the machine keeps (see SNAPSHOT_EVERY), ascending. */
    this.snaps = [];
    /** Whether the machine holds only the text's lines (no console line since the reset). */
    this.pure = true;
    this.sinceSnap = 0;
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
    return this.#lines;
  }

  get text() {
    return this.#lines.join('\n');
  }

  /** Replace the text without checking it against what ran (see setText). */
  set text(text) {
    this.#lines = text.split('\n');
    this.#dropSnapshotsFrom(1);
  }

  /**
   * New editor text. When a line already executed changed, the machine no
   * longer matches the text, so the session starts again from nothing.
   * @returns whether the machine was reset
   */
  setText(text) {
    const before = this.#lines;
    const after = text.split('\n');
    this.#lines = after;
    // the first line that changed: a snapshot past it no longer matches the text
    let first = 0;
    const n = Math.max(before.length, after.length);
    while (first < n && before[first] === after[first]) first++;
    if (first < n) this.#dropSnapshotsFrom(first + 1);
    const stale = first < this.pc;
    if (this.error && before[this.error.line - 1] !== after[this.error.line - 1]) this.error = null;
    if (stale) this.reset();
    return stale;
  }

  /** Forget the snapshots of line `line` and later. */
  #dropSnapshotsFrom(line) {
    if (!this.machine || !this.snaps.length || this.snaps[this.snaps.length - 1] < line) return;
    this.machine.dropSnapshots(line);
    this.snaps = this.snaps.filter((k) => k < line);
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
  #exec(lineno, text, source, withTlb = true) {
    // the TLB before the line, so the TLB view can show what the line filled
    // and flushed (only the last line of a run is shown so)
    const tlbBefore = withTlb ? this.machine.tlb() : null;
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
    const step = this.#exec(n, this.#lines[n - 1], 'editor');
    if (step.ok) {
      this.#ran(n, step);
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
    const last = this.lastOp();
    while (n < limit && this.#quietStep(last)) n++;
    this.emit('step', this.steps[this.steps.length - 1] || null);
    return n;
  }

  /** The last op line of the text (1-based), or 0. */
  lastOp() {
    const lines = this.#lines;
    for (let i = lines.length - 1; i >= this.pc; i--) if (isOpLine(lines[i])) return i + 1;
    return 0;
  }

  /** Execute the next op line if it is at most `until`; `tlbAt` is the line whose TLB before is kept. */
  #quietStep(tlbAt = 0, until = Infinity) {
    const n = this.nextOp();
    if (!n || n > until) return false;
    const step = this.#exec(n, this.#lines[n - 1], 'editor', n === tlbAt);
    if (!step.ok) {
      this.error = { line: n, message: step.message };
      if (step.crashed) this.#recover(step);
      return false;
    }
    this.#ran(n, step);
    return true;
  }

  /** Line `n` ran: record it, and every SNAPSHOT_EVERY lines keep a snapshot. */
  #ran(n, step) {
    this.pc = n;
    this.results.set(n, step);
    if (this.pure && ++this.sinceSnap >= SNAPSHOT_EVERY) {
      this.sinceSnap = 0;
      // kept in order, once each (after a Back, later snapshots may exist)
      if (this.machine.saveSnapshot(n) && !this.snaps.includes(n)) {
        this.snaps.push(n);
        this.snaps.sort((x, y) => x - y);
      }
    }
  }

  /**
   * Bring the machine to the state after the op lines up to and including
   * `line`: onwards from where it is when that is before `line` (and only
   * the text ran), else from the nearest snapshot at or before `line`, else
   * from a fresh machine.
   */
  #rewind(line) {
    if (this.pure && this.pc <= line) {
      this.error = null; // a line that failed to parse is tried again
      return;
    }
    let i = this.snaps.length - 1;
    while (i >= 0 && this.snaps[i] > line) i--;
    if (i < 0 || !this.machine.restoreSnapshot(this.snaps[i])) {
      this.reset();
      return;
    }
    const at = this.snaps[i];
    // the steps and results of the lines up to the snapshot are those of
    // this same run (the text before `at` has not changed since)
    this.steps = this.steps.filter((st) => st.source === 'editor' && st.line <= at);
    for (const k of this.results.keys()) if (k > at) this.results.delete(k);
    this.pc = at;
    this.error = null;
    this.pure = true;
    this.sinceSnap = 0;
    this.generation++;
    this.emit('reset');
  }

  /** How many lines runTo(line) would execute (at most; blank lines counted). */
  costTo(line) {
    const end = Math.min(line, this.#lines.length);
    if (this.pure && this.pc <= end) return end - this.pc;
    let i = this.snaps.length - 1;
    while (i >= 0 && this.snaps[i] > end) i--;
    return end - (i < 0 ? 0 : this.snaps[i]);
  }

  /** Every op line up to and including `line` (see #rewind for where it starts). */
  runTo(line) {
    this.#rewind(line);
    while (this.#quietStep(line, line));
    this.emit('step', this.steps[this.steps.length - 1] || null);
  }

  /**
   * runTo in slices of SLICE_MS, yielding to the page between them.
   * @param {number} line the last line to run (Infinity: to the end)
   * @param {{ signal?: AbortSignal, onProgress?: (pc: number, last: number) => void }} opts
   * @returns {Promise<boolean>} false when stopped by `signal`
   */
  async runSliced(line = Infinity, { signal, onProgress } = {}) {
    this.#rewind(line);
    const last = Math.min(line, this.lastOp() || 0);
    let going = true;
    while (going) {
      const t0 = performance.now();
      while ((going = this.#quietStep(last, line)) && performance.now() - t0 < SLICE_MS);
      if (!going) break;
      onProgress?.(this.pc, last);
      await nextTask();
      if (signal?.aborted) {
        this.emit('step', this.last);
        return false;
      }
    }
    this.emit('step', this.last);
    return true;
  }

  /** Undo the last executed line (a deterministic re-run from the nearest snapshot). */
  stepBack() {
    if (!this.pc) return false;
    this.runTo(this.prevOp(this.pc));
    return true;
  }

  /** A line typed in the console: runs on the live machine, not part of the text. */
  consoleExec(text) {
    this.consoleSeq++;
    // the machine now holds more than the text: no snapshot of it, and Back replays
    this.pure = false;
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

/** Resolve in a fresh task (a message is not throttled like a timer). */
function nextTask() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}
