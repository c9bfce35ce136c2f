// The console: type one .vms line and it runs on the live machine, in the
// selected process unless the line names one. Not part of the scenario text.

import { h } from '../format.js';
import { failed } from '../outcome.js';

const PLACEHOLDER = 'store $a+4K 0x41   ·   p2: maps   ·   $b = mmap 0 8K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0';

export class ConsoleView {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.history = [];
    this.hpos = 0;
    this.log = h('div', { class: 'con-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Console output' });
    this.prompt = h('span', { class: 'con-prompt mono' }, 'p1 ›');
    this.input = h('input', {
      class: 'con-input mono',
      type: 'text',
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-label': 'Console: one .vms line, run in the selected process',
      placeholder: PLACEHOLDER,
    });
    const form = h(
      'form',
      {
        class: 'con-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          this.#run();
        },
      },
      this.prompt,
      this.input,
    );
    root.append(this.log, form);
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowUp' && this.history.length) {
        this.hpos = Math.max(0, this.hpos - 1);
        this.input.value = this.history[this.hpos] || '';
        ev.preventDefault();
      } else if (ev.key === 'ArrowDown' && this.history.length) {
        this.hpos = Math.min(this.history.length, this.hpos + 1);
        this.input.value = this.history[this.hpos] || '';
        ev.preventDefault();
      }
    });
    this.clear('Type a .vms line and press Enter. Lines without a pN: prefix run in the selected process. Variables of the scenario ($a …) are in scope.');
  }

  /** The process lines run in; null when every process has exited. */
  setProc(name) {
    if (name === this.proc) return;
    this.proc = name;
    this.prompt.textContent = name ? `${name} ›` : '—';
    // a read-only playground takes no console lines (`locked`)
    this.input.disabled = !name || !!this.locked;
    if (this.locked) this.input.placeholder = 'read-only playground';
    else if (!name) this.input.placeholder = 'No process is left: Reset to start again';
    else if (this.input.placeholder !== PLACEHOLDER) this.input.placeholder = PLACEHOLDER;
  }

  clear(note) {
    this.log.replaceChildren(h('div', { class: 'con-note' }, note));
  }

  note(text) {
    this.log.append(h('div', { class: 'con-note' }, text));
    this.log.scrollTop = this.log.scrollHeight;
  }

  #run() {
    let text = this.input.value.trim();
    if (!text) return;
    this.history.push(text);
    this.hpos = this.history.length;
    this.input.value = '';
    if (!/^\s*p\d+:/.test(text) && this.proc) text = `${this.proc}: ${text}`;
    const step = this.hooks.onExec(text);
    const lines = [];
    lines.push(h('div', { class: 'con-in mono' }, `› ${text}`));
    if (!step.ok) lines.push(h('div', { class: 'con-err mono' }, step.message));
    else if (step.output) {
      const bad = failed(step);
      lines.push(h('div', { class: 'con-out mono' + (bad ? ' bad' : '') }, `${step.output.op} ${step.output.result}`));
      for (const x of step.output.extra || []) lines.push(h('div', { class: 'con-out mono' }, x));
    }
    this.log.append(...lines);
    this.log.scrollTop = this.log.scrollHeight;
  }
}
