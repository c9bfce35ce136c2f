//! How NetBSD UVM joins and splits map entries ([`MergeRule::Uvm`]).
//!
//! UVM merges only when something new meets an old neighbour:
//!
//! ```text
//!   mmap (uvm_map_enter)       new entry + compatible neighbour -> one entry
//!                              (both still copy-on-write-pending: no amap)
//!   first fault (amap_copy)    entry without amap + neighbour WITH a private
//!                              amap (am_ref 1) -> one entry, the neighbour's
//!                              amap extended (amap_extend; E2BIG at 256 slots)
//!   first fault, >= 256 pages  clip to the 64 KiB-aligned 16-page chunk of
//!                              the fault first (UVM_AMAP_LARGE, UVM_AMAP_CHUNK)
//!   mprotect, minherit,        clip, never merge: a round trip leaves three
//!   madvise, mlock, munlock    entries (Linux and FreeBSD heal to one)
//! ```
//!
//! "Compatible" is `UVM_ET_ISCOMPATIBLE`: the same entry type (copy-on-write
//! and needs-copy included), object at contiguous offsets or none,
//! protection, maximum protection (the `MAY*` flags here), inheritance and
//! advice, and no wiring. A private entry leaves the "needs-copy, no amap"
//! state at its first fault (anonymous memory: any fault; a file: a write),
//! so a fresh mapping does not merge with a touched one at `mmap` time; its
//! own first fault joins them instead (case `nb_merge`).
//!
//! Shared anonymous memory is an amap in UVM (`UVM_FLAG_OVERLAY`) and a
//! hidden shmem object here: a new shared anonymous mapping just above one
//! whose object nobody else holds extends that object, which is what
//! `amap_extend` does for UVM's back-merge (case `nb_merge_shared_file`).
//! Only the back-merge is modelled for it.

use super::map::Entry;
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::MergeRule;
use crate::vm::object::ObjKind;

/// `UVM_AMAP_LARGE`: an entry this many pages long or more is chunked at
/// its first fault, and `amap_extend` refuses to grow an amap to it.
pub(crate) const UVM_AMAP_LARGE: u64 = 256;
/// `UVM_AMAP_CHUNK`: the pages of one chunk (64 KiB).
pub(crate) const UVM_AMAP_CHUNK: u64 = 16;

/// The entry flags UVM compares (`ACCOUNT` is Linux's commit charge).
fn uvm_flags(e: &Entry) -> VmFlags {
    e.flags - VmFlags::ACCOUNT
}

/// The parts of `UVM_ET_ISCOMPATIBLE` that do not depend on the amaps:
/// adjacent, same protection, maximum protection, inheritance, advice and
/// sharing, not wired, the same object at contiguous offsets (or none).
fn compatible(a: &Entry, b: &Entry) -> bool {
    a.end == b.start
        && a.prot == b.prot
        && uvm_flags(a) == uvm_flags(b)
        && a.inherit == b.inherit
        && !a.flags.contains(VmFlags::LOCKED)
        && a.object == b.object
        && (a.object.is_none() || a.pgoff + a.pages() == b.pgoff)
}

impl Machine {
    /// `uvm_map_enter`'s merge test between a new entry and a neighbour:
    /// compatible, and for private memory both still without an amap
    /// (copy-on-write pending); an entry that has faulted has its own amap
    /// and a different entry type.
    pub(crate) fn uvm_mergeable(a: &Entry, b: &Entry) -> bool {
        compatible(a, b)
            && (a.is_shared() || (a.aref.is_none() && b.aref.is_none()))
            && a.needs_copy == b.needs_copy
    }

    /// Whether UVM's rules apply to this machine.
    pub(crate) fn uvm_rules(&self) -> bool {
        self.cfg.personality.map_policy.merge == MergeRule::Uvm
    }

    /// The object a new shared anonymous mapping `[start, start+len)` with
    /// `prot` and `flags` can share with the entry just below it: that
    /// entry's hidden shmem object, when nothing else holds it. Returns the
    /// object and the page offset the new entry takes in it; the object is
    /// grown to cover the new pages (`amap_extend` of the back-merge).
    pub(crate) fn uvm_extend_shared_anon(
        &mut self,
        pid: Pid,
        start: u64,
        len: u64,
        prot: crate::flags::Prot,
        flags: VmFlags,
    ) -> Option<(u32, u64)> {
        let prev = self.procs[&pid].map.prev_of(start)?;
        if prev.end != start
            || prev.prot != prot
            || uvm_flags(prev) != flags - VmFlags::ACCOUNT
            || prev.inherit != crate::vm::map::Inherit::Share
            || prev.flags.contains(VmFlags::LOCKED)
        {
            return None;
        }
        let obj = prev.object?;
        let pgoff = prev.pgoff + prev.pages();
        let o = self.objects.get_mut(obj)?;
        if o.kind != ObjKind::Shmem || o.refs != 1 || o.size != pgoff * PAGE_SIZE {
            return None;
        }
        o.size += len;
        Some((obj, pgoff))
    }

    /// `amap_copy` as the fault path (`[va, va+1)`) and wiring (the range
    /// wired) call it for the entry holding `lo`: an entry that already
    /// has an amap only copies it if it needs copying. One without an amap
    /// is first clipped to the 64 KiB chunks around `[lo, hi)` when it is
    /// large, then joined to a neighbour that has a private amap
    /// (`uvm_mapent_trymerge(UVM_MERGE_COPYING)`), and only when neither
    /// joins is given an amap of its own. Returns the start of the entry
    /// now holding `lo`.
    pub(crate) fn uvm_amap_copy(&mut self, pid: Pid, lo: u64, hi: u64) -> u64 {
        let va = lo;
        let e = self.procs[&pid]
            .map
            .find(va)
            .expect("faulting entry")
            .clone();
        if e.aref.is_some() {
            if e.needs_copy {
                self.amap_copy(pid, e.start);
            }
            return e.start;
        }
        if e.pages() >= UVM_AMAP_LARGE {
            let chunk = UVM_AMAP_CHUNK * PAGE_SIZE;
            let cs = (lo & !(chunk - 1)).max(e.start);
            let ce = (hi.saturating_add(chunk - 1) & !(chunk - 1)).min(e.end);
            self.clip(pid, cs);
            self.clip(pid, ce);
        }
        let e = self.procs[&pid]
            .map
            .find(va)
            .expect("faulting entry")
            .clone();
        let map = &self.procs[&pid].map;
        if let Some(n) = map.entries.get(&e.end)
            && self.joins_copying(&e, n, n)
        {
            self.join_entries(pid, e.end);
            return e.start;
        }
        if let Some(p) = map.prev_of(e.start)
            && self.joins_copying(p, &e, p)
        {
            let s = p.start;
            self.join_entries(pid, e.start);
            return s;
        }
        self.amap_ensure_at_uvm(pid, e.start);
        e.start
    }

    /// `uvm_mapent_trymerge` in copying mode for the lower entry `a` and
    /// the upper `b`, of which `owner` has the amap: compatible once the
    /// needs-copy state is ignored, the amap private to `owner` (one
    /// reference, no needs-copy), and the joined amap below
    /// `UVM_AMAP_LARGE` slots (`amap_extend` returns E2BIG).
    fn joins_copying(&self, a: &Entry, b: &Entry, owner: &Entry) -> bool {
        let Some(r) = owner.aref else { return false };
        let other = if core::ptr::eq(owner, a) { b } else { a };
        other.aref.is_none()
            && !a.is_shared()
            && compatible(a, b)
            && !owner.needs_copy
            && self.amaps.get(r.amap).is_some_and(|am| am.refs == 1)
            && a.pages() + b.pages() < UVM_AMAP_LARGE
    }

    /// A fresh amap for the entry at `start`.
    fn amap_ensure_at_uvm(&mut self, pid: Pid, start: u64) {
        let mut e = self.procs[&pid].map.entry(start).clone();
        self.amap_ensure(pid, &mut e);
    }

    /// Whether wiring `size` more bytes passes `uvmexp.wiredmax`, the
    /// system-wide limit on wired pages (a third of memory by default).
    pub(crate) fn past_wiredmax(&self, size: u64) -> bool {
        let wiredmax = self.phys.total_frames() / 3;
        (size >> PAGE_SHIFT).saturating_add(self.phys.wired_total()) > wiredmax
    }

    /// Pages of `pid` in wired (locked) entries: what
    /// `pmap_wired_count` gives once every wired page is faulted in.
    pub(crate) fn wired_bytes(&self, pid: Pid) -> u64 {
        self.procs[&pid]
            .map
            .entries
            .values()
            .filter(|e| e.flags.contains(VmFlags::LOCKED))
            .map(|e| e.pages() << PAGE_SHIFT)
            .sum()
    }
}
