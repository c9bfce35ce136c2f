// Permalinks: the whole session in a URL fragment, with no server and no
// shortener, so a link keeps working as long as the page is served.
//
//   #vm1.<base64url of the deflate-raw of a JSON object>
//
// The version is outside the compressed part, so a later format may change
// the compression too; every version ever written keeps a decoder here
// (`DECODERS`), and the tests open links pinned when each was current.
//
// Version 1 holds:
//   sim      the simulator version that made the link (vm.version())
//   text     the scenario text
//   machine  { frames, tlbSets, tlbWays, personality }: personality is the
//            kernel's name ("linux" today); any other key is kept as given
//            (swap and reclaim policies when they come)
//   line     the last executed line (0: nothing executed)
//   sel      { pid, entry, page, frame }: the selected process, map entry
//            ([pid, start]), page ([pid, address]) and frame (null when none)
//   views    the panels shown (null: all), tab ('walk' or 'tlb'), table
//            (the address space drawn as a table)
//   out      a hash of what the lines up to `line` printed: opened with
//            another simulator, the page compares and says when today's
//            answers differ from the link's

export const LINK_VERSION = 1;
const PREFIX = 'vm';

/** FNV-1a (32 bits) of a string, as 8 hex digits: the `out` of a link. */
export function outputHash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** What the executed lines printed, as `vmplay run` prints them. */
export function printedText(steps) {
  const out = steps.filter((st) => st.source === 'editor').map((st) => (st.ok ? (st.output ? st.output.text : `${st.line} ok`) : `${st.line} error ${st.message}`));
  return out.join('\n') + (out.length ? '\n' : '');
}

/**
 * The link of a state (see the module comment for its fields).
 * @returns {Promise<string>} the fragment without '#': "vm1.…"
 */
export async function encodeState(state) {
  const json = JSON.stringify({ ...normalize(state), v: LINK_VERSION });
  const bytes = await pipe(new TextEncoder().encode(json), new CompressionStream('deflate-raw'));
  return `${PREFIX}${LINK_VERSION}.${toBase64url(bytes)}`;
}

/**
 * The state of a link (a whole URL, a fragment with or without '#', or the
 * code alone). Throws an Error saying what is wrong with a link that is not
 * one of ours, is cut short, or was made by a newer vmplay.
 */
export async function decodeState(link) {
  const code = codeOf(link);
  if (code === null) throw new Error('this is not a vmplay link (it has no “#vm1.…” part)');
  const m = /^vm(\d+)\.([A-Za-z0-9_-]*)$/.exec(code);
  if (!m) throw new Error('the link is damaged: its state is not written in the characters a link uses');
  const version = Number(m[1]);
  const decoder = DECODERS[version];
  if (!decoder) throw new Error(`the link was made by a newer vmplay (link format ${version}; this page reads up to ${LINK_VERSION}): open it on a newer copy of vmplay`);
  let obj;
  try {
    const json = new TextDecoder().decode(await pipe(fromBase64url(m[2]), new DecompressionStream('deflate-raw')));
    obj = JSON.parse(json);
  } catch {
    throw new Error('the link is damaged or cut short (its state could not be unpacked): copy the whole link again');
  }
  return decoder(obj);
}

/** The code of a link ("vm1.…"), or null when there is none. */
export function codeOf(link) {
  const s = String(link || '').trim();
  const frag = s.includes('#') ? s.slice(s.indexOf('#') + 1) : s;
  return /^vm\d+\./.test(frag) ? frag : null;
}

/** Decoders of every link format ever written, by version. */
const DECODERS = {
  1: (o) => {
    if (!o || typeof o !== 'object' || o.v !== 1 || typeof o.text !== 'string') throw new Error('the link is damaged: it holds no scenario');
    return normalize(o);
  },
};

/** Every field of a version-1 state, checked, with defaults. */
function normalize(o) {
  const int = (v, d) => (Number.isSafeInteger(v) && v >= 0 ? v : d);
  const machine = { ...(o.machine && typeof o.machine === 'object' ? o.machine : {}) };
  machine.frames = int(machine.frames, 4096);
  machine.tlbSets = int(machine.tlbSets, 16);
  machine.tlbWays = int(machine.tlbWays, 4);
  machine.personality = typeof machine.personality === 'string' && machine.personality ? machine.personality : 'linux';
  const sel = o.sel && typeof o.sel === 'object' ? o.sel : {};
  return {
    sim: typeof o.sim === 'string' ? o.sim : '',
    text: String(o.text ?? ''),
    machine,
    line: int(o.line, 0),
    sel: { pid: int(sel.pid, 1), entry: pair(sel.entry), page: pair(sel.page), frame: int(sel.frame, null) },
    views: Array.isArray(o.views) ? o.views.filter((v) => typeof v === 'string') : null,
    tab: o.tab === 'tlb' ? 'tlb' : 'walk',
    table: !!o.table,
    out: typeof o.out === 'string' ? o.out : '',
  };
}

/** [pid, address] of two whole numbers, or null. */
function pair(v) {
  return Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? [v[0], v[1]] : null;
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64url(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
