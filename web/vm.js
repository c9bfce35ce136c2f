// Loading the simulator: the wasm module built by wasm-pack into ../pkg/.
// One load per page; every <vm-playground> on the page shares it.
//
// A Rust panic inside a call aborts it with a WebAssembly.RuntimeError (wasm
// has no unwinding here). The Machine object recovers (it starts again on a
// fresh machine), but the aborted call never gave back what it held: its
// machine's memory and its part of the shadow stack stay lost in that
// instance. So after a trap a session moves to a fresh instance of the
// module, with memory of its own (`freshVm`), and the old one is dropped
// once nothing uses it.

import init, * as glue from '../pkg/vmwasm.js';
import { FRAME_KINDS } from './palette.js';

let loading = null;
/** The newest healthy instance (what new sessions get). */
let current = null;
let instances = 0;

function instanceOf(moduleGlue, exports) {
  checkFrameKinds(moduleGlue.frameKindNames());
  return { ...moduleGlue, memory: exports.memory, instance: instances++ };
}

/**
 * The page names frame kinds through palette.js (FRAME_KINDS, KIND): refuse
 * to start on a module that spells or numbers them otherwise.
 */
export function checkFrameKinds(fromWasm) {
  const ours = JSON.stringify(FRAME_KINDS.map(({ id, name }) => ({ id, name })));
  const theirs = JSON.stringify(fromWasm.map(({ id, name }) => ({ id, name })));
  if (ours !== theirs) throw new Error(`palette.js FRAME_KINDS ${ours} differ from the module's frameKindNames() ${theirs}`);
}

/**
 * Load and instantiate the wasm module once.
 * @returns {Promise<typeof glue & { memory: WebAssembly.Memory, instance: number }>}
 */
export function loadVm() {
  loading ??= init().then((exports) => (current = instanceOf(glue, exports)));
  return loading.then(() => current);
}

const fresh = new Map();

/**
 * A new instance of the module to replace `vm` after a trap: the same code,
 * a memory of its own. Asked twice for the same `vm`, it gives the same
 * instance.
 */
export function freshVm(vm) {
  if (!fresh.has(vm)) {
    // Another URL is another module record, hence another instance.
    const url = new URL(`../pkg/vmwasm.js?instance=${instances + fresh.size}`, import.meta.url);
    const p = import(url.href).then(async (g) => {
      const next = instanceOf(g, await g.default());
      if (current === vm) current = next;
      return next;
    });
    fresh.set(vm, p);
  }
  return fresh.get(vm);
}

/**
 * The frame-kind bytes of `machine` as a Uint8Array straight over wasm
 * memory (no copy). Build it again for every redraw: the buffer is replaced
 * whenever wasm memory grows, which detaches older views. `vm` must be the
 * instance the machine lives in.
 */
export function frameKinds(vm, machine) {
  const ptr = machine.frameKindsPtr();
  const len = machine.frameCount();
  return new Uint8Array(vm.memory.buffer, ptr, len);
}

/**
 * Per-page state bytes for `npages` pages from `start`, as a view over wasm
 * memory (valid until the next call on this machine).
 */
export function pageStates(vm, machine, pid, start, npages) {
  const len = machine.loadPageStates(pid, start, npages);
  return new Uint8Array(vm.memory.buffer, machine.pageStatesPtr(), len);
}
