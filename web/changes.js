// What a step touched, derived from its events: the frames, the virtual
// pages and the map entries the views highlight as "changed in the last step".

import { num } from './format.js';
import { KIND, kindOf } from './palette.js';

/** The page holding `va` (addresses are up to 48 bits: no 32-bit `&`). */
const pageOf = (va) => Math.floor(va / 4096) * 4096;

export class Changes {
  constructor() {
    /** pfn -> 'alloc' | 'free' | 'copy' | 'table' | 'mapped' | 'loan' */
    this.frames = new Map();
    /** `${pid}:${pageVa}` -> what happened */
    this.pages = new Map();
    /** [{ pid, start, end, how }] */
    this.ranges = [];
    /** asids whose TLB was flushed entirely */
    this.flushedAsids = new Set();
    /** [{ asid, va }] flushed by INVLPG */
    this.flushedPages = [];
    /** pids that appeared or exited */
    this.procs = new Set();
    this.mapChanged = false;
  }

  /** Derive the changes from a list of events (asidToPid maps a TLB tag to a pid). */
  static from(events, asidToPid = new Map()) {
    const c = new Changes();
    for (const e of events || []) c.add(e, asidToPid);
    return c;
  }

  page(pid, va, how) {
    this.pages.set(`${pid}:${pageOf(num(va))}`, how);
  }

  add(e, asidToPid) {
    switch (e.type) {
      case 'frame_alloc':
        this.frames.set(num(e.pfn), kindOf(e.kind) === KIND.PAGE_TABLE ? 'table' : 'alloc');
        break;
      case 'huge_frame_alloc':
        for (let i = 0; i < 512; i++) this.frames.set(num(e.pfn) + i, 'alloc');
        break;
      case 'frame_free':
        this.frames.set(num(e.pfn), 'free');
        break;
      case 'frame_copy':
        this.frames.set(num(e.from), 'copy');
        this.frames.set(num(e.to), 'copy');
        break;
      case 'table_alloc':
        this.frames.set(num(e.pfn), 'table');
        break;
      case 'table_free':
        this.frames.set(num(e.pfn), 'free');
        break;
      case 'fault_resolved':
        if (!this.frames.has(num(e.pfn))) this.frames.set(num(e.pfn), 'mapped');
        this.page(e.pid, e.va, e.how);
        break;
      case 'page_fault':
        this.page(e.pid, e.va, 'fault');
        break;
      case 'signal':
        this.page(e.pid, e.va, 'signal');
        break;
      case 'page_drop':
        this.page(e.pid, e.va, 'drop');
        break;
      case 'huge_collapse':
        // MADV_COLLAPSE: every page of the 2 MiB block now lies in one run.
        for (let i = 0; i < 512; i++) {
          this.page(e.pid, num(e.va) + i * 4096, 'collapse');
          if (!this.frames.has(num(e.pfn) + i)) this.frames.set(num(e.pfn) + i, 'mapped');
        }
        break;
      case 'pte_write': {
        const pid = asidToPid.get(num(e.asid));
        if (pid !== undefined && num(e.level) === 1) this.page(pid, e.va, 'pte');
        break;
      }
      case 'tlb_flush_asid':
        this.flushedAsids.add(num(e.asid));
        break;
      case 'tlb_flush_page':
        this.flushedPages.push({ asid: num(e.asid), va: pageOf(num(e.va)) });
        break;
      case 'entry_insert':
      case 'entry_remove':
      case 'entry_merge':
      case 'amap_copy':
        this.ranges.push({ pid: e.pid, start: num(e.start), end: num(e.end), how: e.type });
        this.mapChanged = true;
        break;
      case 'entry_split':
        this.ranges.push({ pid: e.pid, start: num(e.start), end: num(e.end), at: num(e.at), how: e.type });
        this.mapChanged = true;
        break;
      case 'fork':
        this.procs.add(e.child);
        this.mapChanged = true;
        break;
      case 'exit':
        this.procs.add(e.pid);
        this.mapChanged = true;
        break;
      case 'loan_page':
        this.frames.set(num(e.pfn), 'loan');
        break;
      case 'loan_break':
        // the borrower keeps `old`; the owner maps the copy in `new`
        this.frames.set(num(e.old), 'loan');
        this.frames.set(num(e.new), 'copy');
        if (e.va !== null && e.va !== undefined) this.page(e.pid, e.va, 'loan_break');
        break;
      case 'loan_orphan':
        this.frames.set(num(e.pfn), 'loan');
        break;
      case 'syscall':
        // mprotect/madvise/mlock of a whole entry change it without a split
        this.mapChanged = true;
        break;
      default:
        break;
    }
  }

  /** Whether an entry [start, end) of pid was touched by the step. */
  touchesEntry(pid, start, end) {
    for (const r of this.ranges) {
      if (r.pid === pid && r.start < end && start < r.end) return true;
    }
    return false;
  }

  /** Whether any page of [start, end) of pid was touched. */
  touchesPages(pid, start, end) {
    for (const key of this.pages.keys()) {
      const i = key.indexOf(':');
      if (Number(key.slice(0, i)) !== pid) continue;
      const va = Number(key.slice(i + 1));
      if (va >= start && va < end) return true;
    }
    return false;
  }
}

/** The fields of an event that point somewhere another view can show. */
export function eventTargets(e) {
  const t = { frames: [], pid: null, va: null, range: null };
  if ('pid' in e) t.pid = e.pid;
  for (const k of ['pfn', 'from', 'to', 'table', 'old', 'new']) if (k in e) t.frames.push(num(e[k]));
  if ('va' in e && e.va !== null && e.va !== undefined) t.va = num(e.va);
  if ('start' in e && 'end' in e) t.range = { start: num(e.start), end: num(e.end) };
  if (e.type === 'fork') t.pid = e.child;
  return t;
}
