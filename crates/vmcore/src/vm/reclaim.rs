//! Reclaim as the advice calls do it today: MADV_FREE's lazy freeing
//! (`madvise_free_pte_range`) and MADV_PAGEOUT/COLD's reclaim of the
//! pages that can go without swap (`reclaim_pages` over clean
//! swap-backed and lazily freed pages). Swap, the LRU and the page-out
//! daemon will live here too.

use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::event::Pid;
use crate::machine::Machine;
use crate::vm::map::Entry;

impl Machine {
    /// MADV_FREE (`madvise_free_single_vma`): exclusively owned pages become
    /// clean and lazily freeable; with no memory pressure they keep their
    /// data, and a later store cancels the free.
    pub(crate) fn lazyfree(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let Some(r) = e.aref else { return };
        let mut va = lo;
        while va < hi {
            let slot = r.slotoff + (va - e.start) / PAGE_SIZE;
            if let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(slot))
                && let Some(a) = self.anons.get_mut(anon)
                && a.refs == 1
            {
                a.lazyfree = true;
                let p = self.procs.get_mut(&pid).expect("live");
                let flush = p
                    .pmap
                    .clear_dirty(&mut self.phys, VirtAddr(va), &mut self.ev);
                flush.flush(&mut self.tlb, &mut self.ev);
            }
            va += PAGE_SIZE;
        }
    }

    /// MADV_PAGEOUT of shared memory pages (shared anonymous memory, memfd)
    /// without swap: a page that was never written since it was allocated
    /// (a read fault made it) can go, for it reads back as zeros; a dirty
    /// one would need swap and stays. This is `shrink_folio_list` removing
    /// a clean folio from the page cache (`__remove_mapping`), after
    /// `madvise_cold_or_pageout_pte_range` has skipped pages that another
    /// PTE also maps (`folio_maybe_mapped_shared`). Only pages this entry
    /// maps are looked at, through a private mapping of the object too.
    /// Regular files keep their pages: the recording kernel kept them,
    /// dirty or written back (recorded in `pageout_shared_clean`).
    pub(crate) fn reclaim_clean_swapbacked(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let Some(obj) = e.object else { return };
        if !self.objects.get(obj).is_some_and(|o| o.is_shmem()) {
            return;
        }
        let mut va = lo;
        while va < hi {
            let index = e.object_index(va);
            let cached = self
                .objects
                .get(obj)
                .and_then(|o| o.pages.get(&index).copied());
            let mapped = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va));
            if let (Some(pfn), Some(m)) = (cached, mapped) {
                let d = self.phys.desc(pfn);
                if m.pfn == pfn
                    && !m.huge
                    && !m.dirty
                    && !d.dirty
                    && d.mapcount == 1
                    && d.wired == 0
                {
                    self.punch_hole(obj, index, 1);
                }
            }
            va += PAGE_SIZE;
        }
    }

    /// MADV_PAGEOUT without swap: only lazily freed pages that stayed clean
    /// can be reclaimed; they are discarded and read back as zero.
    pub(crate) fn reclaim_lazyfree(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let Some(r) = e.aref else { return };
        let mut va = lo;
        while va < hi {
            let slot = r.slotoff + (va - e.start) / PAGE_SIZE;
            let lazy = self
                .amaps
                .get(r.amap)
                .and_then(|a| a.lookup(slot))
                .and_then(|a| self.anons.get(a))
                .is_some_and(|a| a.lazyfree);
            let dirty = self.procs[&pid]
                .pmap
                .lookup(&self.phys, VirtAddr(va))
                .is_some_and(|m| m.dirty);
            if lazy && !dirty {
                self.discard_private(pid, e.start, va, va + PAGE_SIZE);
            }
            va += PAGE_SIZE;
        }
    }
}
