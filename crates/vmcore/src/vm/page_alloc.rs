//! The allocation funnel: every frame the machine hands out is taken here
//! (Linux `mm/page_alloc.c` `alloc_pages`, NetBSD UVM `uvm_pagealloc`).
//!
//! ```text
//!   fault.rs   zero fill, COW copy, private file promote ---.
//!   fault.rs   THP run, huge zero page --------------------+--> alloc_page
//!   collapse.rs  anon and shmem 2 MiB runs ----------------|    alloc_huge_run
//!   mapops.rs  page-cache pages (faults, pread/pwrite, ...)|        |
//!   machine.rs the zero page ------------------------------'        |
//!                                                                   v
//!   pmap.rs    PML4 (Pmap::new), PDPT/PD/PT (enter paths) ---> PhysMem::admit
//!                                                           (the choke point:
//!                                                            numbers every
//!                                                            request, injects
//!                                                            failures)
//! ```
//!
//! Contract for every caller: a refused allocation changes nothing, and the
//! caller must leave the machine as it was before the step that needed the
//! frame (freeing what it took for that step), then report "no memory":
//! ENOMEM/EAGAIN from a system call, [`AccessError::OutOfMemory`] from an
//! access. `tests/alloc_failure.rs` makes each allocation of many scenarios
//! fail in turn and checks exactly that.
//!
//! Reclaim will run here: when the free lists are empty, `alloc_page` is
//! where the kernel wakes `kswapd` and then reclaims directly
//! (`__alloc_pages_slowpath`: `__alloc_pages_direct_reclaim`, and at last
//! `__alloc_pages_may_oom`), and where UVM waits for the pagedaemon
//! (`uvm_wait`). Frames whose descriptor is wired (`FrameDesc::wired`,
//! see `vm/wire.rs`) are off limits to it.
//!
//! Page-table frames are allocated inside the pmap, which only holds
//! `&mut PhysMem`; they reach the same choke point, `PhysMem::admit`, so
//! failure injection covers them too. Should reclaim need to run before a
//! page-table allocation as well, the funnel can reserve the frames the
//! pmap may need (at most three tables for one 4 KiB mapping) before the
//! pmap call, the way Linux preallocates a PTE table (`pte_alloc`) before
//! taking the page-table lock.

use crate::addr::Pfn;
use crate::machine::{AccessError, Machine};
use crate::phys::FrameOwner;

/// The allocator had no frame to give (or was told to fail, by
/// [`Machine::inject_alloc_failure`]). Nothing was changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct NoMemory;

impl From<NoMemory> for AccessError {
    fn from(_: NoMemory) -> AccessError {
        AccessError::OutOfMemory
    }
}

impl Machine {
    /// One zero-filled frame for `owner` (`alloc_page`, `uvm_pagealloc`).
    /// Over the memory limit, or with no frame free, reclaim runs first and
    /// then the OOM killer (`vm/reclaim.rs`); an anonymous page joins the
    /// inactive list (`folio_add_lru_vma`).
    ///
    /// => returns `Err(NoMemory)` with nothing changed when no frame can
    ///    be had (or the OOM killer chose the running process).
    pub(crate) fn alloc_page(&mut self, owner: FrameOwner) -> Result<Pfn, NoMemory> {
        if self.memlimit.is_some() || self.phys.free_frames() == 0 {
            self.make_room(1, true)?;
        }
        let pfn = self.phys.alloc(owner, &mut self.ev).ok_or(NoMemory)?;
        // Reclaim has somewhere to put anonymous pages only while a swap
        // area is on; only then are they kept on the LRU lists.
        if self.swap.is_some()
            && let FrameOwner::Anon { .. } = owner
        {
            self.phys.lru_add(pfn, crate::phys::LruList::Inactive);
        }
        Ok(pfn)
    }

    /// 512 contiguous zero-filled frames, the first 2 MiB-aligned: the
    /// backing of a huge page (`alloc_pages(order 9)`, `vma_alloc_folio`
    /// for a PMD). `owner(i)` owns frame `i` of the run.
    ///
    /// => returns `Err(NoMemory)` with nothing changed when no aligned run
    ///    is free (here compaction would run before reclaim).
    pub(crate) fn alloc_huge_run(
        &mut self,
        owner: impl Fn(u64) -> FrameOwner,
    ) -> Result<Pfn, NoMemory> {
        self.phys.alloc_huge(owner, &mut self.ev).ok_or(NoMemory)
    }

    /// For tests: of the allocation requests from now on (every frame,
    /// huge run and page-table frame counts one), serve the first `after`
    /// and refuse the next `count` (`u64::MAX`: all), as if memory had run
    /// out. Replaces any earlier injection.
    pub fn inject_alloc_failure(&mut self, after: u64, count: u64) {
        self.phys.fail_allocs(Some((after, count)));
    }

    /// Stop refusing allocations.
    pub fn clear_alloc_failure(&mut self) {
        self.phys.fail_allocs(None);
    }

    /// Allocation requests made since the machine was built, served or
    /// refused (the numbering [`Machine::inject_alloc_failure`] counts in).
    pub fn alloc_requests(&self) -> u64 {
        self.phys.alloc_requests()
    }
}
