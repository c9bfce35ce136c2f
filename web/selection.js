// What the student is looking at, in one place: the selected process, map
// entry, page and frame, and the marks a step or an event leaves on the
// diagrams. Every view reads it; every click, key and step changes it
// through `select()`, which derives the rest the way the hardware does:
// a page → the map entry holding it → the frame its walk ends in.
//
//   select({ process: pid })                  a lane of the address space
//   select({ entry: { pid, start } })         a map entry
//   select({ page: { pid, va } })             a page (of an entry, a frame's mapper, the walk)
//   select({ frame: pfn })                    a frame of physical memory
//   select({ tlb: { asid, va, pfn } })        a TLB slot: its process's page, and its frame
//   select({ event, step })                   an event of the log: what it points at
//   select({ step })                          a step just taken: the process and addresses it touched
//
// The machine is reached through `world` (see the constructor), so this
// module holds no machine and no DOM.

import { num } from './format.js';
import { eventTargets } from './changes.js';

/** Events about one translation (asid + address): they mark its TLB slot. */
const TRANSLATION_EVENTS = new Set(['tlb_miss', 'tlb_flush_page', 'tlb_flush_asid', 'pte_write', 'huge_demote', 'huge_collapse', 'page_fault', 'fault_resolved', 'signal', 'page_drop']);

/** Accesses: the page they touch is selected even outside every entry (it faulted). */
const ACCESS_OPS = new Set(['load', 'store', 'fill', 'exec']);

/** Operations on a range of addresses: the range is drawn as a band. */
const RANGE_OPS = new Set(['munmap', 'mprotect', 'madvise', 'mincore', 'mlock', 'munlock', 'msync', 'fill']);

/** The first address past user space (47 bits): nothing above is drawn. */
const USER_END = 2 ** 47;

export class Selection {
  /**
   * @param world what the selection asks of the machine:
   *   entryAt(pid, va)  the map entry holding va, or null
   *   walk(pid, va)     the page walk of va, or null
   *   alive(pid)        whether the process exists
   *   pidOf(asid)       the process of a TLB tag, or undefined
   *   asidOf(pid)       the TLB tag of a process, or null
   *   lastStep()        the step taken last
   */
  constructor(world) {
    this.world = world;
    this.clear();
  }

  /** Nothing selected but process 1; no marks. */
  clear() {
    /** The selected process (its lane, the console's process). */
    this.pid = 1;
    /** The selected map entry: { pid, start }, or null. */
    this.entry = null;
    /** The selected page: { pid, va }, or null (the walk shows it). */
    this.page = null;
    /** The selected frame number, or null. */
    this.frame = null;
    this.clearMarks();
  }

  /** Forget what the last step or event pointed at. */
  clearMarks() {
    /** Where the last step or the selected event points: { pid, va, range? }. */
    this.mark = null;
    /** The selected event's translation for the TLB view: { asid, va, type, last }. */
    this.tlbMark = null;
    /** Frames the selected event names. */
    this.markFrames = [];
  }

  /** Select one object (see the module comment) and what follows from it. */
  select(target) {
    if ('process' in target) {
      this.pid = target.process;
    } else if ('entry' in target) {
      this.entry = { pid: target.entry.pid, start: target.entry.start };
      this.pid = target.entry.pid;
    } else if ('page' in target) {
      this.#page(target.page.pid, target.page.va);
      this.mark = { pid: target.page.pid, va: target.page.va };
      this.tlbMark = null;
    } else if ('frame' in target) {
      this.frame = target.frame;
    } else if ('tlb' in target) {
      const { asid, va, pfn } = target.tlb;
      const pid = this.world.pidOf(asid);
      if (pid !== undefined) {
        this.#page(pid, va);
        this.mark = { pid, va };
      }
      this.frame = pfn;
      this.tlbMark = null;
    } else if ('event' in target) {
      this.#event(target.event, target.step);
    } else if ('step' in target) {
      this.#step(target.step);
    } else {
      throw new Error(`select: nothing to select in ${JSON.stringify(target)}`);
    }
  }

  /**
   * Make the selection fit the machine as it is now: a process that is gone
   * gives way to the first one alive, an entry that is gone is dropped, an
   * entry that changed is found again by its start.
   * @param {number[]} pids the live processes, in lane order
   * @param {(pid: number) => object[]} entries a process's map entries
   * @returns the selected entry's view, or null
   */
  settle(pids, entries) {
    if (!pids.includes(this.pid)) this.pid = pids.length ? pids[0] : null;
    if (!this.entry || !pids.includes(this.entry.pid)) {
      this.entry = null;
      return null;
    }
    const { pid, start } = this.entry;
    const list = entries(pid);
    const e = list.find((x) => x.start === start) || list.find((x) => x.start <= start && start < x.end) || null;
    this.entry = e ? { pid, start: e.start } : null;
    return e;
  }

  /** The process and address the walk shows: the selected page, or the selected process and no address. */
  walkTarget(alive) {
    const pid = this.page && alive.has(this.page.pid) ? this.page.pid : this.pid;
    const va = this.page && this.page.pid === pid ? this.page.va : null;
    return { pid, va };
  }

  /** The selected page's address if it lies in process `pid`, else null. */
  pageIn(pid) {
    return this.page && this.page.pid === pid ? this.page.va : null;
  }

  /** A page, the entry holding it and the frame its walk ends in. */
  #page(pid, va) {
    this.pid = pid;
    this.page = { pid, va };
    const e = this.world.entryAt(pid, va);
    if (e) this.entry = { pid, start: e.start };
    const w = this.world.walk(pid, va);
    if (w && w.mapped) this.frame = num(w.pfn);
  }

  #event(e, step) {
    const t = eventTargets(e);
    let pid = t.pid;
    if (pid === null && 'asid' in e) pid = this.world.pidOf(num(e.asid)) ?? null;
    if (pid !== null && t.va !== null && this.world.alive(pid)) this.#page(pid, t.va);
    else if (pid !== null && t.range) this.pid = pid;
    this.mark = { pid, va: t.va, range: t.range };
    this.tlbMark = this.#tlbMarkOf(e, pid, t.va, step);
    this.markFrames = t.frames;
    if (t.frames.length) this.frame = t.frames[t.frames.length - 1];
  }

  /** The translation (asid + page) an event concerns, for the TLB view; null if none. */
  #tlbMarkOf(e, pid, va, step) {
    if (!TRANSLATION_EVENTS.has(e.type)) return null;
    let asid = 'asid' in e ? num(e.asid) : null;
    if (asid === null && pid !== null) asid = this.world.asidOf(pid);
    if (asid === null) return null;
    if (e.type !== 'tlb_flush_asid' && va === null) return null;
    return { asid, va: e.type === 'tlb_flush_asid' ? null : Math.floor(va / 4096) * 4096, type: e.type, last: !step || step === this.world.lastStep() };
  }

  /**
   * Point at what a step worked on: its process, the address it touched
   * (its first fault, else the last range the runner says it touched: for
   * mremap the new place) and the map entry there, so stepping through a
   * scenario follows the action. A console line leaves the process alone.
   */
  #step(step) {
    this.clearMarks();
    if (!step || !step.ok || !step.output) return;
    const { pid, op, touched } = step.output;
    if (!this.world.alive(pid)) return;
    const hit = step.events.find((e) => (e.type === 'page_fault' || e.type === 'signal') && e.pid === pid);
    const range = touched.ranges.length ? touched.ranges[touched.ranges.length - 1] : null;
    const va = hit ? num(hit.va) : range ? num(range.start) : null;
    if (step.source !== 'console') this.pid = pid;
    if (va === null || va >= USER_END) return;
    const entry = this.world.entryAt(pid, va);
    if (entry) this.entry = { pid, start: entry.start };
    if (ACCESS_OPS.has(op) || entry) {
      this.page = { pid, va };
      const w = this.world.walk(pid, va);
      if (w && w.mapped) this.frame = num(w.pfn);
    }
    const len = range && !hit && RANGE_OPS.has(op) ? num(range.end) - num(range.start) : 0;
    this.mark = len > 0 ? { pid, va, range: { start: va, end: va + len } } : { pid, va };
  }
}
