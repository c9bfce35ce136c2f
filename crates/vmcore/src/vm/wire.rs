//! Wiring: which frames locked mappings hold (Linux `mm/mlock.c`,
//! NetBSD UVM `uvm_map_pageable` / `uvm_fault_wire`).
//!
//! A frame's `wired` count ([`crate::phys::FrameDesc::wired`], UVM's
//! `wire_count`) is the number of 4 KiB pages of VM_LOCKED entries, in
//! every process, whose leaf PTE (present or PROTNONE, 4 KiB or part of a
//! 2 MiB leaf) maps it. Reclaim must pass over a frame whose count is not
//! zero. The zero pages are never counted: mlock skips them, as
//! `mlock_pte_range` does (`vm_normal_page` gives no page for them).
//!
//! ```text
//!   VM_LOCKED entry  [ a | b | - | c ]     wired(frame of a) += 1, ...;
//!   other entry      [ a |   ]             no count for this mapping of a
//! ```
//!
//! So the count changes exactly when a leaf appears or goes inside a locked
//! entry, or an entry with leaves gains or loses VM_LOCKED. Every such
//! change is bracketed: the pages concerned are unwired with the state
//! before and wired again with the state after. The brackets:
//!
//! - leaves removed: [`Machine::zap`] unwires first (munmap, exit, mremap's
//!   source, truncation, MADV_DONTNEED_LOCKED, collapse);
//! - leaves made by a fault in a locked entry: [`Machine::fault_unwire`]
//!   and [`Machine::fault_rewire`] around it
//!   (populate, mlock, MCL_ONFAULT/MLOCK_ONFAULT faults, copy-on-write);
//! - leaves moved or made outside faults: mremap's destination and a
//!   collapsed PMD are wired after they are entered;
//! - VM_LOCKED set or cleared: `update_flags` (mlock, munlock, mlockall,
//!   munlockall) and mremap's MREMAP_DONTUNMAP unlock bracket the entry.
//!
//! fork's child never inherits VM_LOCKED, so its copied leaves are not
//! counted; mprotect and madvise splits keep leaves and VM_LOCKED, so they
//! change nothing. `Machine::check` recounts every frame from the page
//! tables and entries and compares.

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SIZE, PAGES_PER_HUGE, Pfn, VirtAddr};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::phys::FrameOwner;

impl Machine {
    /// Count the frames mapped in the locked entries of `[start, end)` of
    /// `pid` as wired once more (`mlock_vma_pages_range` with `mlock`).
    pub(crate) fn wire_range(&mut self, pid: Pid, start: u64, end: u64) {
        for pfn in self.locked_frames(pid, start, end) {
            self.phys.wire(pfn);
        }
    }

    /// Undo [`Machine::wire_range`] for the same state of `[start, end)`
    /// (`munlock_vma_pages_range`). Free when nothing is wired anywhere.
    #[inline]
    pub(crate) fn unwire_range(&mut self, pid: Pid, start: u64, end: u64) {
        if self.phys.wired_total() != 0 {
            self.unwire_locked(pid, start, end);
        }
    }

    #[inline(never)]
    fn unwire_locked(&mut self, pid: Pid, start: u64, end: u64) {
        for pfn in self.locked_frames(pid, start, end) {
            self.phys.unwire(pfn);
        }
    }

    /// The frame of each 4 KiB page of `[start, end)` that lies in a
    /// VM_LOCKED entry of `pid` and has a leaf, the zero pages left out.
    fn locked_frames(&self, pid: Pid, start: u64, end: u64) -> Vec<Pfn> {
        let mut out = Vec::new();
        let Some(p) = self.procs.get(&pid) else {
            return out;
        };
        for s in p.map.overlapping(start, end) {
            let e = p.map.entry(s);
            if !e.flags.contains(VmFlags::LOCKED) {
                continue;
            }
            let (lo, hi) = (e.start.max(start), e.end.min(end));
            p.pmap
                .for_each_leaf_in(&self.phys, VirtAddr(lo), VirtAddr(hi), |va, pte, level| {
                    let span = if level == 2 { PAGES_PER_HUGE } else { 1 };
                    for i in 0..span {
                        let a = va.as_u64() + i * PAGE_SIZE;
                        let pfn = pte.pfn().add(i);
                        if a >= lo && a < hi && self.phys.desc(pfn).owner != FrameOwner::Zero {
                            out.push(pfn);
                        }
                    }
                });
        }
        out
    }

    /// Before a fault in a locked entry (`handle_mm_fault` then
    /// `mlock_folio` in `set_pte_range` / `do_huge_pmd_anonymous_page`):
    /// unwire the faulting page, or its whole 2 MiB block if a huge leaf
    /// maps it. [`Machine::fault_rewire`] wires the same span (or the
    /// block, if a huge leaf maps the page now) once the fault is done: a
    /// huge leaf only appears where the block had no leaf at all, and one
    /// that goes (split to 4 KiB PTEs) leaves its other pages mapped as
    /// they were. Out of line, so the ordinary fault path stays as it was.
    #[cold]
    #[inline(never)]
    pub(crate) fn fault_unwire(&mut self, pid: Pid, va: u64) -> FaultSpan {
        let page = va & !(PAGE_SIZE - 1);
        let span = FaultSpan {
            page,
            huge: self.huge_at(pid, page),
        };
        let (s, t) = span.range();
        self.unwire_range(pid, s, t);
        span
    }

    /// After the fault: see [`Machine::fault_unwire`].
    #[cold]
    #[inline(never)]
    pub(crate) fn fault_rewire(&mut self, pid: Pid, mut span: FaultSpan) {
        span.huge |= self.huge_at(pid, span.page);
        let (s, t) = span.range();
        self.wire_range(pid, s, t);
    }

    fn huge_at(&self, pid: Pid, page: u64) -> bool {
        self.procs
            .get(&pid)
            .and_then(|p| p.pmap.lookup(&self.phys, VirtAddr(page)))
            .is_some_and(|x| x.huge)
    }
}

/// What a fault in a locked entry unwired: the faulting page, or its 2 MiB
/// block when `huge`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultSpan {
    page: u64,
    huge: bool,
}

impl FaultSpan {
    fn range(self) -> (u64, u64) {
        if self.huge {
            let block = self.page & !(HUGE_PAGE_SIZE - 1);
            (block, block + HUGE_PAGE_SIZE)
        } else {
            (self.page, self.page + PAGE_SIZE)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::addr::{PAGE_SIZE, VirtAddr};
    use crate::event::Pid;
    use crate::machine::{Machine, MachineConfig};
    use crate::personality::linux::abi::*;

    const A: u64 = 0x3000_0000_0000;
    const B: u64 = 0x3100_0000_0000;
    const PG: u64 = PAGE_SIZE;
    const RW: u64 = PROT_READ | PROT_WRITE;
    const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    fn machine() -> Machine {
        Machine::new(MachineConfig {
            frames: 16 << 10,
            ..MachineConfig::default()
        })
    }

    /// The wired count of the frame `pid` maps at `va` (None: not mapped).
    fn wired(m: &Machine, pid: Pid, va: u64) -> Option<u32> {
        let p = m.process(pid)?;
        let at = p.pmap.lookup(&m.phys, VirtAddr(va))?;
        Some(m.phys.desc(at.pfn).wired)
    }

    fn locked_anon(m: &mut Machine, pages: u64) {
        m.mmap(1, A, pages * PG, RW, PRIV, -1, 0).unwrap();
        m.mlock(1, A, pages * PG).unwrap();
        m.check().unwrap();
    }

    #[test]
    fn mlock_wires_each_page_once() {
        let mut m = machine();
        locked_anon(&mut m, 4);
        for i in 0..4 {
            assert_eq!(wired(&m, 1, A + i * PG), Some(1));
        }
        assert_eq!(m.phys.wired_total(), 4);
    }

    #[test]
    fn munlock_unwires_only_its_range() {
        let mut m = machine();
        locked_anon(&mut m, 4);
        m.munlock(1, A + PG, 2 * PG).unwrap();
        m.check().unwrap();
        let got: Vec<_> = (0..4).map(|i| wired(&m, 1, A + i * PG)).collect();
        assert_eq!(got, [Some(1), Some(0), Some(0), Some(1)]);
        assert_eq!(m.phys.wired_total(), 2);
    }

    #[test]
    fn fork_child_does_not_inherit_the_lock() {
        let mut m = machine();
        locked_anon(&mut m, 2);
        let c = m.fork(1).unwrap();
        m.check().unwrap();
        // Both map the same frame; only the parent's mapping is locked.
        assert_eq!(wired(&m, c, A), Some(1));
        assert_eq!(wired(&m, 1, A), Some(1));
        // The child's copy-on-write copy is not wired; the parent's frame is.
        m.store(c, A, 7).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, c, A), Some(0));
        assert_eq!(wired(&m, 1, A), Some(1));
        assert_eq!(m.phys.wired_total(), 2);
    }

    #[test]
    fn munmap_of_part_of_a_locked_range_unwires_that_part() {
        let mut m = machine();
        locked_anon(&mut m, 4);
        m.munmap(1, A + PG, 2 * PG).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A), Some(1));
        assert_eq!(wired(&m, 1, A + PG), None);
        assert_eq!(wired(&m, 1, A + 3 * PG), Some(1));
        assert_eq!(m.phys.wired_total(), 2);
    }

    #[test]
    fn mcl_onfault_wires_a_page_when_it_faults_in() {
        let mut m = machine();
        m.mlockall(1, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)
            .unwrap();
        m.mmap(1, A, 4 * PG, RW, PRIV, -1, 0).unwrap();
        assert_eq!(wired(&m, 1, A + PG), None, "not populated");
        let before = m.phys.wired_total();
        m.store(1, A + PG, 1).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A + PG), Some(1));
        assert_eq!(m.phys.wired_total(), before + 1);
        m.munlockall(1).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A + PG), Some(0));
        assert_eq!(m.phys.wired_total(), 0);
    }

    #[test]
    fn the_zero_page_is_never_wired() {
        let mut m = machine();
        m.mmap(1, A, 2 * PG, PROT_READ, PRIV | MAP_LOCKED, -1, 0)
            .unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A), Some(0), "mapped, to the zero page");
        assert_eq!(m.phys.wired_total(), 0);
    }

    #[test]
    fn a_shared_page_counts_each_locked_mapping() {
        let mut m = machine();
        let fd = m.memfd(1, "s", PG).unwrap();
        let shared = MAP_SHARED | MAP_FIXED | MAP_LOCKED;
        m.mmap(1, A, PG, RW, shared, fd as i64, 0).unwrap();
        m.mmap(1, B, PG, RW, shared, fd as i64, 0).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A), Some(2));
        m.munlock(1, B, PG).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A), Some(1));
    }

    #[test]
    fn mremap_moves_the_wiring_and_mprotect_keeps_it() {
        let mut m = machine();
        locked_anon(&mut m, 4);
        let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
        assert_eq!(m.mremap(1, A, 4 * PG, 4 * PG, flags, B), Ok(B));
        m.check().unwrap();
        assert_eq!(wired(&m, 1, B + 3 * PG), Some(1));
        m.mprotect(1, B + PG, PG, PROT_READ).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, B + PG), Some(1));
        assert_eq!(m.phys.wired_total(), 4);
    }

    #[test]
    fn exit_unwires_everything() {
        let mut m = machine();
        let c = m.fork(1).unwrap();
        m.mmap(c, A, 4 * PG, RW, PRIV | MAP_LOCKED, -1, 0).unwrap();
        assert_eq!(m.phys.wired_total(), 4);
        m.exit(c).unwrap();
        m.check().unwrap();
        assert_eq!(m.phys.wired_total(), 0);
    }

    #[test]
    fn a_locked_huge_page_wires_all_its_frames() {
        let mut m = machine();
        m.mmap(1, A, 4 << 20, RW, PRIV, -1, 0).unwrap();
        m.madvise(1, A, 4 << 20, MADV_HUGEPAGE).unwrap();
        m.mlock(1, A, 2 << 20).unwrap();
        m.check().unwrap();
        assert!(
            m.process(1)
                .unwrap()
                .pmap
                .lookup(&m.phys, VirtAddr(A))
                .unwrap()
                .huge
        );
        assert_eq!(wired(&m, 1, A + 511 * PG), Some(1));
        assert_eq!(m.phys.wired_total(), 512);
        // Unlocking half of the huge page unwires that half only.
        m.munlock(1, A, 1 << 20).unwrap();
        m.check().unwrap();
        assert_eq!(wired(&m, 1, A), Some(0));
        assert_eq!(m.phys.wired_total(), 256);
    }
}
