// Loading the simulator: the wasm module built by wasm-pack into ../pkg/.
// One load per page; every <vm-playground> on the page shares it.

import init, * as wasm from '../pkg/vmwasm.js';

let loading = null;

/**
 * Load and instantiate the wasm module once.
 * @returns {Promise<typeof wasm & { memory: WebAssembly.Memory }>}
 */
export function loadVm() {
  loading ??= init().then((exports) => ({ ...wasm, memory: exports.memory }));
  return loading;
}

/**
 * The frame-kind bytes of `machine` as a Uint8Array straight over wasm
 * memory (no copy). Build it again for every redraw: the buffer is replaced
 * whenever wasm memory grows, which detaches older views.
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
