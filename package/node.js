// vmplay headless, in Node: the same simulator the element runs, without a
// page. Load it once, then run scenarios and read their outputs.
//
//   import { load, runScenario, scenario } from 'vmplay';
//   await load();
//   const r = runScenario(await scenario('cow_fork.vms'), { frames: 4096 });
//   r.text        // the outputs, as `vmplay run` prints them
//   r.outputs     // one LineOutput per executed line
//   r.error       // { line, message } when a line could not run, else null
//
// `load()` returns the module itself (Machine, version(), ...) for anything
// runScenario does not cover: see types/index.d.ts.

import { readFile, readdir } from 'node:fs/promises';
import * as vm from '../pkg/vmwasm.js';

let loading = null;

/** Instantiate the wasm module once (it is read from the package's pkg/ folder). */
export function load() {
  loading ??= readFile(new URL('../pkg/vmwasm_bg.wasm', import.meta.url)).then((bytes) => {
    vm.initSync({ module: bytes });
    return vm;
  });
  return loading;
}

/**
 * Run a scenario's text on a fresh machine (call and await load() first).
 * @param {string} text the .vms text
 * @param {import('../pkg/vmwasm.js').MachineOptions} [options] frames, tlbSets, tlbWays, personality
 */
export function runScenario(text, options = {}) {
  const machine = new vm.Machine({ frames: 4096, ...options, events: false });
  try {
    return machine.runText(text);
  } finally {
    machine.free();
  }
}

/** The text of one of the example scenarios of the package (e.g. 'cow_fork.vms'). */
export function scenario(name) {
  if (!/^[\w.-]+\.(vms|out)$/.test(name)) throw new Error(`no scenario is named ${JSON.stringify(name)}`);
  return readFile(new URL(`../scenarios/${name}`, import.meta.url), 'utf8');
}

/** The example scenarios: [{ file, title, ... }] as the gallery lists them. */
export async function scenarios() {
  return JSON.parse(await readFile(new URL('../scenarios/index.json', import.meta.url), 'utf8'));
}

/** Every file of the scenarios folder (the .vms and the recorded .out). */
export async function scenarioFiles() {
  return (await readdir(new URL('../scenarios/', import.meta.url))).sort();
}

export const { Machine, version } = vm;
