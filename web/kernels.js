// The three kernels the simulator can follow (its personalities), as the
// page names them: what each calls a map entry and the anonymous memory
// behind it. The machine underneath is one (x86_64 tables, frames, amaps
// and anons); a personality changes the system calls, their checks and
// errno, placement and how entries split and merge (DESIGN.md).
//
//   KERNELS.freebsd.label           'FreeBSD'
//   KERNELS.freebsd.structure       'vm_map_entry (FreeBSD)'
//   personalityOf(text)             the name of a scenario's personality line, or null
//   withPersonality(text, name)     the text run under `name` (same line numbers)

/** Each kernel: its label, what its map entries are, and the glossary term of its design. */
export const KERNELS = {
  linux: {
    name: 'linux',
    label: 'Linux',
    structure: 'VMA + anon_vma (Linux)',
    term: 'kernel-linux',
    source: 'mm/mmap.c, mm/rmap.c',
  },
  freebsd: {
    name: 'freebsd',
    label: 'FreeBSD',
    structure: 'vm_map_entry (FreeBSD)',
    term: 'kernel-freebsd',
    source: 'sys/vm/vm_map.c, sys/vm/vm_object.c',
  },
  netbsd: {
    name: 'netbsd',
    label: 'NetBSD',
    structure: 'vm_map_entry + amap (NetBSD UVM)',
    term: 'kernel-netbsd',
    source: 'sys/uvm/uvm_map.c, sys/uvm/uvm_amap.c',
  },
};

/** The personality names, in the order the page lists them. */
export const KERNEL_NAMES = Object.keys(KERNELS);

/** The kernel of `name`, Linux for anything else (the simulator's default). */
export function kernel(name) {
  return KERNELS[name] || KERNELS.linux;
}

/** A personality name given by a person or an attribute, or null when it is none. */
export function kernelName(value) {
  const v = String(value ?? '').trim().toLowerCase();
  return KERNEL_NAMES.includes(v) ? v : null;
}

/**
 * Index (0-based) of the `personality NAME` line of a scenario: the first
 * line that is neither blank nor a comment (FORMAT-v2-bsd.md). -1 when the
 * text has none.
 */
function personalityLine(lines) {
  for (let i = 0; i < lines.length; i++) {
    const code = lines[i].replace(/#.*/, '').trim();
    if (!code) continue;
    return /^personality\s+\S+$/.test(code) ? i : -1;
  }
  return -1;
}

/**
 * The name a scenario's `personality` line gives, lower-cased as written
 * (possibly one the simulator does not know: running the line says so),
 * or null when the text has no such line. `text` is the text or its lines.
 */
export function personalityOf(text) {
  // a long scenario's lines are not split again on every redraw: the
  // playground passes the session's lines
  const lines = Array.isArray(text) ? text : String(text).split('\n');
  const i = personalityLine(lines);
  return i < 0 ? null : lines[i].replace(/#.*/, '').trim().split(/\s+/)[1].toLowerCase();
}

/**
 * The scenario to run under `name`: its personality line (if any) names
 * `name` instead, so every line keeps its number; a text without one is
 * returned as it is (the machine is then made with that personality).
 */
export function withPersonality(text, name) {
  const lines = String(text).split('\n');
  const i = personalityLine(lines);
  if (i < 0) return text;
  const comment = /#.*/.exec(lines[i]);
  lines[i] = `personality ${name}${comment ? ` ${comment[0]}` : ''}`;
  return lines.join('\n');
}
