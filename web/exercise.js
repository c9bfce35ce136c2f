// Exercises that check themselves: the `expect` lines of a scenario
// (tests/conformance/FORMAT-expect.md) as a verdict a page can show.
//
// The runner checks each `expect` line when it runs and says pass or FAIL
// in the line's output (`output.expectation`); this module only gathers
// those verdicts. The playground dispatches them as a `vm-exercise` event
// after every step or run that changed them:
//
//   pg.addEventListener('vm-exercise', (e) => {
//     e.detail.total     // expect lines in the text
//     e.detail.ran       // of them, how many ran so far
//     e.detail.passed    // ... and passed
//     e.detail.failed    // ... and failed
//     e.detail.complete  // every expect line ran
//     e.detail.results   // [{ line, passed, what, expected, found, text }] in line order
//     e.detail.error     // { line, message } when a line could not run (the run stopped there), else null
//   });
//
// and `<vm-exercise for="PLAYGROUND-ID">` shows them beside the
// playground: a Check button (runs the scenario to its end), a summary, and
// each expectation with ✓ or ✗ and, when it failed, what was found.

import { h } from './format.js';

/** Whether a line of .vms text is an `expect` line (its comment aside). */
export function isExpectLine(line) {
  return /^\s*(p\d+:\s*)?expect(\s|$)/.test(line.replace(/#.*/, ''));
}

/**
 * The exercise's state in a session: the verdicts of the `expect` lines
 * that ran, in line order. `null` when the text has no `expect` line.
 * @param {import('./session.js').Session} session
 */
export function exerciseReport(session) {
  const total = session.lines.filter(isExpectLine).length;
  if (!total) return null;
  const results = [];
  for (const [line, st] of [...session.results.entries()].sort((a, b) => a[0] - b[0])) {
    const e = st.output && st.output.expectation;
    if (!e) continue;
    results.push({ line, passed: e.passed, what: e.what, expected: e.expected, found: e.found, text: st.text.replace(/#.*/, '').trim() });
  }
  const passed = results.filter((r) => r.passed).length;
  const error = session.error ? { line: session.error.line, message: session.error.message } : null;
  return { total, ran: results.length, passed, failed: results.length - passed, complete: results.length === total, results, error };
}

/** A key that changes when the report does (so the event is sent once per change). */
export function reportKey(report) {
  if (!report) return '';
  const error = report.error ? `!${report.error.line}:${report.error.message}` : '';
  return `${report.total}:${report.results.map((r) => `${r.line}${r.passed ? '+' : '-'}${r.found}`).join(',')}${error}`;
}

/** `<vm-exercise for="ID">`: the checks of the playground with that id. */
export class VmExercise extends HTMLElement {
  connectedCallback() {
    if (this.started) return;
    this.started = true;
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    if (!this.hasAttribute('aria-label')) this.setAttribute('aria-label', 'Exercise checks');
    this.summary = h('p', { class: 'ex-summary', role: 'status', 'aria-live': 'polite' }, 'Not checked yet: press Check, or step to the expect lines.');
    this.button = h('button', { type: 'button', class: 'ex-check', onclick: () => this.check() }, 'Check');
    this.list = h('ol', { class: 'ex-list' });
    this.replaceChildren(h('div', { class: 'ex-head' }, this.button, this.summary), this.list);
    this.playground = document.getElementById(this.getAttribute('for') || '');
    if (!this.playground) {
      this.summary.textContent = `No playground with id "${this.getAttribute('for')}" on this page.`;
      this.classList.add('ex-broken');
      return;
    }
    this.playground.addEventListener('vm-exercise', (e) => this.show(e.detail));
    if (this.playground.exercise) this.show(this.playground.exercise);
  }

  /** Run the playground's scenario to its end: every expect line is checked. */
  async check() {
    const pg = this.playground;
    if (!pg || !pg.ready) return;
    await pg.runTo(Infinity);
  }

  /** Draw a report (see exerciseReport). */
  show(report) {
    if (!report) return;
    const { total, ran, passed, failed } = report;
    this.dataset.passed = String(passed);
    this.dataset.failed = String(failed);
    this.dataset.total = String(total);
    this.dataset.state = report.error || failed ? 'fail' : ran === total ? 'pass' : 'partial';
    const stopped = report.error ? ` Line ${report.error.line} could not run (${report.error.message}), so the run stopped there.` : '';
    this.summary.textContent =
      (failed ? `${failed} of ${total} checks failed (${passed} passed${ran < total ? `, ${total - ran} not reached` : ''}).`
      : ran === total ? `All ${total} checks pass.`
      : `${passed} of ${total} checks pass so far; ${total - ran} not reached yet.`) + stopped;
    this.list.replaceChildren(
      ...report.results.map((r) =>
        h(
          'li',
          { class: r.passed ? 'ex-pass' : 'ex-fail', dataset: { line: r.line } },
          h('span', { class: 'ex-mark', 'aria-hidden': 'true' }, r.passed ? '✓' : '✗'),
          h('span', { class: 'ex-verdict' }, r.passed ? 'pass' : 'FAIL'),
          ' ',
          h('span', { class: 'ex-where' }, `line ${r.line}`),
          ' ',
          h('code', null, r.text),
          r.passed ? null : h('div', { class: 'ex-why' }, `${r.what}: expected ${r.expected}, found ${r.found}`),
        ),
      ),
    );
  }
}

if (!customElements.get('vm-exercise')) customElements.define('vm-exercise', VmExercise);
