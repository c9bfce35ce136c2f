// One scenario under several kernels: run it once per personality, each on
// a machine of its own, and find where the kernels answer differently.
// Plain data, no DOM: the <vm-compare> element (compare.js) draws it and the
// tests can call it in a page.
//
//   const runs = KERNEL_NAMES.map((k) => runUnder(vm, text, k));
//   const d = differences(runs);
//   d.lines          Map line -> true when that line's results differ
//   d.entries        Map `${kernel}:${proc}` -> Set of entry keys the others lack
//   d.frames         Set of frame kinds whose counts differ
//
// A line that one kernel cannot run (an operation or a name it does not
// offer, e.g. `minherit` under Linux) is reported at its place and skipped:
// the machine is left as it was (the runner's rule), and the next lines
// still run, so the comparison goes on to the end.

import { isOpLine } from './session.js';
import { failure, resultText } from './outcome.js';
import { hex } from './format.js';
import { withPersonality } from './kernels.js';

/** The frame kinds a comparison counts (Machine.framesSummary()), in order. */
export const FRAME_COUNTS = [
  ['anon', 'anonymous pages'],
  ['cache', 'page cache (file pages)'],
  ['page_table', 'page tables'],
  ['zero', 'the shared zero page'],
  ['free', 'free'],
];

/**
 * Most lines a comparison runs: it runs every kernel at once, without the
 * playground's slices, so it stays under about a second.
 */
export const MAX_COMPARE_LINES = 5000;

/** How many lines of `text` hold an operation. */
export function opLines(text) {
  return String(text).split('\n').filter(isOpLine).length;
}

/** Physical memory of each machine of a comparison: 16 MiB, as a playground. */
export const COMPARE_FRAMES = 4096;

/**
 * Run `text` under the personality `name` on a fresh machine of `vm` (the
 * loaded module, see vm.js) and collect what the comparison shows.
 * @returns {{ kernel: string, results: {line, text, ok, result, failure, message}[],
 *   procs: {name, pid, entries: {start, end, perms, backing, key}[]}[],
 *   frames: Record<string, number>, check: string | null, crashed: boolean }}
 */
export function runUnder(vm, text, name, { frames = COMPARE_FRAMES } = {}) {
  const machine = new vm.Machine({ frames, personality: name, events: false });
  try {
    const lines = withPersonality(text, name).split('\n');
    const results = [];
    let crashed = false;
    for (let i = 0; i < lines.length && !crashed; i++) {
      if (!isOpLine(lines[i])) continue;
      let step;
      try {
        step = machine.execLine(i + 1, lines[i]);
      } catch (err) {
        // a wasm trap: the machine object starts again empty, so what
        // follows would not mean anything; say so and stop this column
        step = { ok: false, message: `internal error of the simulator (please report it): ${err && err.message ? err.message : err}` };
        crashed = true;
      }
      results.push({
        line: i + 1,
        text: lines[i],
        ok: step.ok,
        result: resultText(step),
        extra: step.ok && step.output ? step.output.extra : [],
        failure: failure(step),
        message: step.ok ? null : step.message,
      });
    }
    const procs = machine.processNames().map(({ name: pname, pid }) => ({
      name: pname,
      pid,
      entries: (machine.entries(pid) || []).map((e) => {
        const start = hex(e.start);
        const end = hex(e.end);
        return { start, end, perms: e.perms, backing: e.backing, key: `${start}-${end} ${e.perms} ${e.backing}` };
      }),
    }));
    const counts = { ...machine.framesSummary() };
    return { kernel: name, results, procs, frames: counts, check: crashed ? null : machine.check(), crashed };
  } finally {
    machine.free();
  }
}

/**
 * Where the runs differ. A line differs when some run printed another
 * result for it (or could not run it); a map entry differs when a run's
 * process of the same name has no entry with the same range, permissions
 * and backing; a process that only some runs have differs as a whole; a
 * frame kind differs when its counts are not all equal.
 */
export function differences(runs) {
  const lines = new Map();
  const byLine = runs.map((r) => new Map(r.results.map((x) => [x.line, x])));
  const all = new Set(runs.flatMap((r) => r.results.map((x) => x.line)));
  for (const line of [...all].sort((a, b) => a - b)) {
    const shown = byLine.map((m) => (m.has(line) ? show(m.get(line)) : '(not run)'));
    lines.set(line, shown.some((s) => s !== shown[0]));
  }

  const entries = new Map();
  const procs = new Map();
  const names = new Set(runs.flatMap((r) => r.procs.map((p) => p.name)));
  for (const pname of names) {
    const of = runs.map((r) => r.procs.find((p) => p.name === pname) || null);
    procs.set(pname, of.some((p) => !p));
    runs.forEach((r, i) => {
      const p = of[i];
      if (!p) return;
      const odd = new Set();
      for (const e of p.entries) {
        if (of.some((q, j) => j !== i && (!q || !q.entries.some((f) => f.key === e.key)))) odd.add(e.key);
      }
      entries.set(`${r.kernel}:${pname}`, odd);
    });
  }

  const frames = new Set(frameKinds(runs).map(([k]) => k).filter((k) => runs.some((r) => r.frames[k] !== runs[0].frames[k])));
  const count = {
    lines: [...lines.values()].filter(Boolean).length,
    entries: [...entries.values()].reduce((n, s) => n + s.size, 0),
    procs: [...procs.values()].filter(Boolean).length,
    frames: frames.size,
  };
  return { lines, entries, procs, frames, count };
}

/**
 * The frame kinds to show for `runs`: FRAME_COUNTS, then any other count the
 * module's framesSummary() gives (a kind added later shows under its name).
 */
export function frameKinds(runs) {
  const known = new Set([...FRAME_COUNTS.map(([k]) => k), 'total']);
  const more = new Set(runs.flatMap((r) => Object.keys(r.frames).filter((k) => !known.has(k) && typeof r.frames[k] === 'number')));
  return [...FRAME_COUNTS, ...[...more].map((k) => [k, k.replace(/_/g, ' ')])];
}

/** What a line printed, as the comparison compares it (result and extra lines). */
function show(r) {
  return [r.result, ...(r.extra || [])].join('\n');
}
