//! Reclaim as the advice calls do it: MADV_FREE's lazy freeing
//! (`madvise_free_pte_range`) and MADV_PAGEOUT's reclaim
//! (`madvise_cold_or_pageout_pte_range` -> `reclaim_pages` ->
//! `shrink_folio_list`): clean lazily freed pages are discarded, clean
//! shmem pages without swap dropped, and with a swap area on, exclusive
//! private anonymous pages written to swap (`pageout_anon`).

use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::arch::x86_64::pte::SwapPte;
use crate::event::Pid;
use crate::machine::Machine;
use crate::vm::anon::AnonPage;
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

    /// MADV_PAGEOUT of lazily freed pages: those that stayed clean are
    /// discarded and read back as zero; one written again since is
    /// swap-backed once more (`folio_set_swapbacked`) and kept by this
    /// pass. Returns the pages kept that way.
    pub(crate) fn reclaim_lazyfree(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) -> Vec<u64> {
        let mut kept = Vec::new();
        let Some(r) = e.aref else { return kept };
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
            } else if lazy {
                let anon = self.amaps.get(r.amap).and_then(|a| a.lookup(slot));
                if let Some(a) = anon.and_then(|a| self.anons.get_mut(a)) {
                    a.lazyfree = false;
                }
                kept.push(va);
            }
            va += PAGE_SIZE;
        }
        kept
    }

    /// MADV_PAGEOUT with a swap area on: each present 4 KiB page of
    /// `[lo, hi)` in `e` that is private anonymous memory mapped by this
    /// page table alone (not the zero page, not shared copy-on-write:
    /// `folio_maybe_mapped_shared`) leaves memory for the next free slot,
    /// in address order; its PTE becomes a swap entry with the exclusive
    /// bit (`try_to_unmap_one`). With no slot free the rest stay. `keep`:
    /// pages this pass keeps anyway.
    pub(crate) fn pageout_anon(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64, keep: &[u64]) {
        let Some(r) = e.aref else { return };
        if self.swap.is_none() {
            return;
        }
        let mut va = lo;
        while va < hi {
            let here = va;
            va += PAGE_SIZE;
            if keep.contains(&here) {
                continue;
            }
            let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(here)) else {
                continue;
            };
            if !m.present || m.huge {
                continue;
            }
            let slot = r.slotoff + (here - e.start) / PAGE_SIZE;
            let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(slot)) else {
                continue;
            };
            let a = self.anons.get(anon).expect("live anon");
            let d = self.phys.desc(m.pfn);
            if a.page != (AnonPage::Resident { pfn: m.pfn })
                || a.refs != 1
                || d.mapcount != 1
                || d.wired != 0
            {
                continue;
            }
            let Some(s) = self.swap_mut().alloc() else {
                return; // the area is full: the rest stay in memory
            };
            let bytes = self.phys.frame_bytes(m.pfn).map(|b| b.to_vec());
            let area = self.swap_mut();
            area.write(s, bytes.as_deref().unwrap_or(&[]));
            area.dup(s);
            let sw = SwapPte {
                area: 0,
                offset: u64::from(s.0),
                exclusive: true,
            };
            let p = self.procs.get_mut(&pid).expect("live");
            let flush = p
                .pmap
                .swap_out(&mut self.phys, VirtAddr(here), sw, &mut self.ev);
            flush.flush(&mut self.tlb, &mut self.ev);
            self.anons.get_mut(anon).expect("live").page = AnonPage::Swapped { slot: s };
            self.phys.free(m.pfn, &mut self.ev);
        }
    }
}
