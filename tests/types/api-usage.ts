// The wasm module's API used the way a course page or a tool would use it,
// checked against the generated declarations (www/pkg/vmwasm.d.ts) by
// `tsc --strict` (`make test`; tsconfig.json beside this file). Nothing here
// runs: a declaration that rejects valid use, or accepts a value the module
// does not return, fails the type check. `@ts-expect-error` lines are uses
// the declarations must reject.

import init, {
  Machine,
  abiNames,
  frameBudget,
  frameKindNames,
  rawCodes,
  version,
  wasmMemory,
  type AccessResult,
  type BulkRun,
  type EntryView,
  type ExpectationResult,
  type FrameBudget,
  type FrameKindName,
  type LineResult,
  type Span,
  type Touched,
  type MachineOptions,
  type PageTableEntryView,
  type PageTableView,
  type PageTablesView,
  type RawCodes,
  type RawError,
  type SwapSlotOwner,
  type SwapView,
  type SysResult,
  type U64,
  type VmEvent,
  type WalkView,
} from '../../www/pkg/vmwasm.js';

const ARENA = 0x300000000000;
const PAGE = 4096;

/** A 64-bit result as a BigInt, whichever way it came back. */
function big(v: U64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function value<T>(r: SysResult<T>): T {
  if (!r.ok) throw new Error(`${r.errno} (${r.code}): ${r.reason}`);
  return r.value;
}

function loaded(r: AccessResult<number>): number | string {
  if (r.ok) return r.value;
  if ('signal' in r) return `${r.signal} ${r.code} at 0x${big(r.addr).toString(16)}`;
  return r.errno;
}

/** Count a table's pages and print the tree, as a view would. */
function describe(t: PageTableView, depth = 0, out: string[] = []): string[] {
  const pages = t.entries.filter((e: PageTableEntryView) => e.leaf).length;
  out.push(`${'  '.repeat(depth)}${t.name} frame ${t.pfn} 0x${big(t.start).toString(16)}..0x${big(t.last).toString(16)} (${t.used}/512 used, ${pages} pages${t.truncated ? ', truncated' : ''})`);
  for (const e of t.entries) {
    const flags: string[] = e.flags;
    if (e.table) describe(e.table, depth + 1, out);
    else out.push(`${'  '.repeat(depth + 1)}[${e.index}] ${e.entry} ${flags.join(' ')} -> frame ${e.pfn}${e.huge ? ' (2 MiB)' : ''}`);
  }
  return out;
}

export async function main(): Promise<string[]> {
  await init();
  const log: string[] = [`vmplay ${version()}`];

  // constructors: no argument, undefined, null, options
  const defaults = new Machine();
  const cfg = defaults.config();
  const frames: number = cfg.frames;
  defaults.free();
  new Machine(undefined).free();
  new Machine(null).free();
  const opts: MachineOptions = { frames: 4096, tlbSets: 16, tlbWays: 4, events: true, stack: true, personality: 'linux' };
  const m = new Machine(opts);
  // @ts-expect-error frames is a number
  void (() => new Machine({ frames: '4096' }));
  // @ts-expect-error no such option
  void (() => new Machine({ frame: 4096 }));
  void (() => new Machine({ personality: 'netbsd' }));
  void (() => new Machine({ personality: 'freebsd' }));
  // @ts-expect-error no such personality
  void (() => new Machine({ personality: 'solaris' }));

  // the budget of this module instance
  const budget: FrameBudget = frameBudget();
  log.push(`${budget.used} of ${budget.total} frames in ${budget.machines} machines (at most ${budget.perMachine} each, ${frames} by default)`);

  // system calls: names or numbers, Numbers or BigInts
  const a = value(m.mmap(1, ARENA, 16 * PAGE, 'PROT_READ|PROT_WRITE', 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED', -1, 0));
  const b: number = value(m.mmap(1, 0n, BigInt(PAGE), 3, 0x22, -1, 0n));
  value(m.mprotect(1, a, PAGE, 'PROT_READ'));
  value(m.madvise(1, a, 2 * PAGE, 'MADV_DONTNEED'));
  const resident: Uint8Array = value(m.mincore(1, a, 4 * PAGE));
  value(m.mlock(1, a + PAGE, PAGE));
  value(m.munlock(1, a + PAGE, PAGE));
  value(m.mlock2(1, a + PAGE, PAGE, 'MLOCK_ONFAULT'));
  value(m.mlockall(1, 'MCL_CURRENT'));
  value(m.munlockall(1));
  value(m.msync(1, a, PAGE, 'MS_SYNC'));
  const moved: number = value(m.mremap(1, b, PAGE, 2 * PAGE, 'MREMAP_MAYMOVE'));
  value(m.mremap(1, moved, 2 * PAGE, 2 * PAGE, 'MREMAP_MAYMOVE|MREMAP_FIXED', ARENA + 64 * PAGE));
  const brk: number = value(m.brk(1, 0));
  const fd: number = value(m.open(1, 'data.bin', 3 * PAGE));
  const mfd: number = value(m.memfd(1, 'buf', PAGE));
  const byte: number | null = value(m.pread(1, fd, 10));
  value(m.pwrite(1, fd, 0, 0x41));
  value(m.ftruncate(1, fd, 2 * PAGE));
  value(m.close(1, mfd));
  const child: number = value(m.fork(1));
  value(m.exit(child));
  const failed = m.munmap(1, a + 1, PAGE);
  if (!failed.ok) log.push(`${failed.errno}: ${failed.reason}`);
  log.push(`resident ${resident.length} pages, brk 0x${brk.toString(16)}, byte ${byte}`);

  // accesses
  const stored = m.store(1, a + 2 * PAGE, 0x41);
  if (!stored.ok && 'signal' in stored) log.push(stored.signal);
  log.push(String(loaded(m.load(1, a + 2 * PAGE))));
  log.push(String(loaded(m.load(1, 0xffffffffffffffffn))));
  m.fill(1, a + 3 * PAGE, PAGE, 7);
  m.exec(1, a);

  // views
  const procs: number[] = m.processes();
  const pv = m.processView(1);
  if (pv) log.push(`pid ${pv.pid} cr3 ${pv.cr3} resident ${pv.resident}`);
  const maps = value(m.maps(1));
  for (const l of maps) log.push(`${l.start.toString(16)}-${l.end.toString(16)} ${l.perms} ${big(l.offset)} ${l.backing}`);
  const entries: EntryView[] | null = m.entries(1);
  for (const e of entries ?? []) {
    const pages: bigint = big(e.pages);
    log.push(`${big(e.start)}..${big(e.end)} ${e.perms} ${pages} pages${e.amap ? ` amap ${e.amap.id}+${big(e.amap.slotoff)}` : ''}`);
    // @ts-expect-error start may be a BigInt (a file offset past 2^53 makes every 64-bit field one)
    const start: number = e.start;
    void start;
  }
  const smaps = m.smaps(1);
  if (smaps) log.push(`${smaps.length} smaps entries`);
  const walk: WalkView | null = m.walk(1, 2n ** 64n - 1n);
  if (walk) {
    // @ts-expect-error va is a BigInt for an address past 2^53
    const va: number = walk.va;
    void va;
    log.push(`walk of 0x${big(walk.va).toString(16)}: ${walk.steps.map((s) => `${s.name}[${s.index}] in ${big(s.table)}`).join(' ')} -> ${walk.pfn === null ? 'not mapped' : big(walk.pfn)}`);
  }
  const tree: PageTablesView | null = m.pageTables(1);
  const some = m.pageTables(1, 8);
  if (tree && some) {
    log.push(...describe(tree.root));
    log.push(`${some.leaves} of ${tree.leaves} pages${some.truncated ? ' (truncated)' : ''}, ${tree.resident} resident, limit ${some.limit}, cr3 ${tree.cr3}, ${tree.tables} tables`);
  }
  const states: Uint8Array = m.pageStates(1, a, 16);
  const n: number = m.loadPageStates(1, a, 16);
  const same = new Uint8Array(wasmMemory().buffer, m.pageStatesPtr(), n);
  const kinds = new Uint8Array(wasmMemory().buffer, m.frameKindsPtr(), m.frameCount());
  const copied: Uint8Array = m.frameKinds();
  const frame = m.frame(kinds.findIndex((k) => k === 1));
  if (frame) log.push(`${frame.kind} frame ${frame.pfn} mapped by ${frame.mapped_by.map((x) => `${x.pid}@${x.va}`).join(', ')}`);
  const sum = m.framesSummary();
  const sw: SwapView = m.swapView(64, 64);
  for (const slot of sw.slots) {
    const o: SwapSlotOwner = slot.owner;
    log.push(`slot ${slot.slot}: ${slot.users} users${slot.cached ? ', cached' : ''}, ${o.kind === 'anon' ? `pid ${o.pid} at ${o.va}` : o.kind === 'shmem' ? `object ${o.object} page ${o.index}` : 'no owner'}`);
  }
  for (const p of sw.lru) log.push(`${p.pfn} ${p.list}${p.referenced ? ' referenced' : ''}`);
  log.push(`${sw.inuse}/${sw.size} slots, ${sw.inactive}+${sw.active} on the LRU, ${sw.usage} of ${sw.limit ?? sw.total_frames} frames`);
  const tlb = m.tlb();
  for (const e of tlb.entries) log.push(`set ${e.set} way ${e.way}: ${e.va} -> ${e.pfn}`);
  const amap = m.amap(1, a + 2 * PAGE);
  if (amap) log.push(`amap ${amap.id}: ${amap.slots.length} slots`);
  log.push(`${states.length} ${same.length} ${copied.length} ${sum.free} free, ${tlb.hits} hits, ${procs.length} processes`);
  const abi = abiNames();
  for (const [name, v] of abi['prot'] ?? []) log.push(`${name}=${v}`);

  // scenario text and events
  const r: LineResult = m.execLine(1, '$b = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0');
  if (r.ok) log.push(r.output ? r.output.text : '(blank)');
  else log.push(`line ${r.line}: ${r.message}`);
  if (r.ok && r.output) {
    const t: Touched = r.output.touched;
    const pids: number[] = t.pids;
    const last: Span | undefined = t.ranges[t.ranges.length - 1];
    if (last) log.push(`${pids.join(',')}: ${BigInt(last.start)}..${BigInt(last.end)}`);
    // @ts-expect-error an address may be a BigInt
    const start: number = t.ranges[0].start;
    log.push(String(start));
  }
  const kindNames: FrameKindName[] = frameKindNames();
  for (const k of kindNames) if (k.name === 'page-table') log.push(`page tables are kind ${k.id}`);
  // @ts-expect-error the core spells it 'page-table'
  if (kindNames.some((k) => k.name === 'page table')) log.push('never');
  const run = m.runText('store $b 1\nfork p2\np2: load $b\n');
  log.push(run.text);
  if (run.error) log.push(`line ${run.error.line}: ${run.error.message}`);
  for (const o of run.outputs) log.push(`${o.line} ${o.op} ${o.result} ${o.extra.join('|')}`);
  // an exercise's verdicts (FORMAT-expect.md): per expect line, and on its output
  const graded = m.runText('expect frames anon>=0\n');
  const verdicts: ExpectationResult[] = graded.expectations;
  for (const e of verdicts) log.push(`${e.line} ${e.passed ? 'pass' : `FAIL ${e.what}: expected ${e.expected}, found ${e.found}`}`);
  for (const o of graded.outputs) if (o.expectation && o.failure === 'expectation') log.push(o.expectation.found);
  const bulk: BulkRun = m.runTextBulk('load $b\nstore $b 1\n');
  for (let k = 0; k < bulk.count; k++) {
    if (bulk.failures[k] !== 0) log.push(`line ${bulk.lines[k]} failed: ${m.output(k)?.text ?? ''}`);
  }
  log.push(bulk.text);
  log.push(m.processNames().map((p) => `${p.name}=${p.pid}`).join(' '));
  log.push(m.variables().map((v) => v.name).join(' '));
  const all = m.takeEvents();
  const few = m.takeEvents(10);
  const events: VmEvent[] = [...all.events, ...few.events];
  for (const e of events) log.push(`${e.type}: ${e.text}`);
  m.setEvents(false);
  log.push(`${all.dropped + few.dropped} dropped`);

  // the raw API: numbers in, numbers out, details on demand
  const codes: RawCodes = rawCodes();
  const at: number = m.rawMmap(1, 0, 8 * PAGE, 3, 0x22, -1, 0);
  if (at < 0) log.push(`mmap failed: ${-at}`);
  const got: number = m.rawStore(1, at, 7) === 0 ? m.rawLoad(1, at) : -1;
  if (got === codes.SEGV_MAPERR) {
    const why: RawError | null = m.lastError();
    if (why && 'signal' in why) log.push(`${why.signal} ${why.code}`);
    else if (why && 'errno' in why) log.push(why.errno);
    else if (why) log.push(why.message);
  }
  const results = new Int32Array(2);
  const faults: number = m.runTrace(
    Uint8Array.of(codes.STORE, codes.LOAD), Uint32Array.of(1, 1), Float64Array.of(at, at), Uint8Array.of(9, 0), results);
  log.push(`${faults} faults, loaded ${results[1]}`);
  // @ts-expect-error the raw API takes Numbers only
  m.rawLoad(1, 5n);
  log.push(String(m.rawFork(1) + m.rawExit(2) + m.rawMunmap(1, at, PAGE) + m.rawMprotect(1, at, PAGE, 1)));

  const broken: string | null = m.check();
  if (broken) log.push(broken);
  log.push(`${m.resets} resets`);
  m.reset();
  m.free();
  return log;
}
