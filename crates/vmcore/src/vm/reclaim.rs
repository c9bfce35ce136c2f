//! Page reclaim (Linux `mm/vmscan.c`, UVM `uvm_pdaemon.c`).
//!
//! Under a memory limit (the processes' memory cgroup, `memlimit`), or
//! with no frame free, an allocation first reclaims
//! (`try_to_free_mem_cgroup_pages`, `SWAP_CLUSTER_MAX` pages at a time)
//! from the LRU lists of anonymous pages, the classic two lists:
//!
//! ```text
//!   new page -> [inactive: newest ... oldest] --evict--> swap
//!                  ^   |  referenced, first time: keep, mark, to the head
//!                  |   '- referenced again: to the active list
//!   deactivate  <- [active: newest ... oldest]   (while inactive < active)
//! ```
//!
//! A new page was referenced by its first fault, so it gets one second
//! chance: pages touched once, in order, leave in the order they were
//! first touched (`memlimit_fifo`). `folio_check_references` decides;
//! MADV_COLD clears the accessed bits and the mark, so cold pages leave at
//! the first meeting (`memlimit_cold`). When nothing can be reclaimed (no
//! swap, or a full area), the OOM killer (`mm/oom_kill.c`) kills the
//! process with the highest badness (`oom_badness`: resident pages + swap
//! entries + page-table pages; on a tie the later process, as
//! `oom_evaluate_task` scans), and the allocation is tried again.
//!
//! Simplification: the LRU scan reclaims anonymous pages only (those one
//! process maps, those fork shares, and those in the swap cache); shmem
//! and page-cache pages stay (Linux would reclaim them too).
//!
//! Reclaim as the advice calls do it: MADV_FREE's lazy freeing
//! (`madvise_free_pte_range`) and MADV_PAGEOUT's reclaim
//! (`madvise_cold_or_pageout_pte_range` -> `reclaim_pages` ->
//! `shrink_folio_list`): clean lazily freed pages are discarded, clean
//! shmem pages without swap dropped, and with a swap area on, exclusive
//! private anonymous pages written to swap (`pageout_anon`).

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SIZE, PAGES_PER_HUGE, Pfn, VirtAddr};
use crate::arch::x86_64::pte::SwapPte;
use crate::event::{Event, Pid};
use crate::machine::Machine;
use crate::phys::{FrameOwner, LruList};
use crate::vm::anon::{AnonId, AnonPage};
use crate::vm::map::Entry;
use crate::vm::page_alloc::NoMemory;
use crate::vm::swap::{Shadow, Slot};
use std::collections::HashMap;

/// Pages reclaimed per attempt (`SWAP_CLUSTER_MAX`).
const SWAP_CLUSTER_MAX: u64 = 32;
/// Attempts without progress before the OOM killer
/// (`MAX_RECLAIM_RETRIES`).
const MAX_RECLAIM_RETRIES: u32 = 16;
/// The first and gentlest scan priority: a list is scanned `size >>
/// priority` pages at a time (`DEF_PRIORITY`).
const DEF_PRIORITY: u32 = 12;
/// The recorder's `memory.swappiness` (and the kernel's default).
const SWAPPINESS: u64 = 60;
/// `MAX_SWAPPINESS`: anon and file weights add up to it.
const MAX_SWAPPINESS: u64 = 200;

/// What `folio_check_references` decides for a page on the inactive list.
enum Verdict {
    /// Referenced for the first time since it was last met: mark it, put
    /// it back at the head.
    Keep,
    /// Referenced again: to the active list.
    Activate,
    /// Not referenced since it was last met: out.
    Reclaim,
}

impl Machine {
    /// MADV_FREE of private anonymous memory (`madvise_free_pte_range`),
    /// page by page in this page table:
    ///
    /// - a swap entry is freed (`free_swap_and_cache_nr`): the page is gone
    ///   from this process, other holders of the entry keep it;
    /// - a page that is dirty (the folio's flag, not the PTE's) or in the
    ///   swap cache is left alone when another PTE maps it; otherwise its
    ///   swap-cache copy is let go (`folio_free_swap`) and the flag cleared;
    /// - then the PTE loses its dirty and accessed bits and the page is
    ///   lazily freed (`folio_mark_lazyfree`), even one that fork shares
    ///   and that no one has dirtied since: reclaim may drop it unless it
    ///   is written again.
    pub(crate) fn lazyfree(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let mut va = lo;
        while va < hi {
            let here = va;
            va += PAGE_SIZE;
            let p = &self.procs[&pid];
            if p.pmap.swap_entry(&self.phys, VirtAddr(here)).is_some() {
                self.discard_private(pid, e.start, here, here + PAGE_SIZE);
                continue;
            }
            let Some(m) = p.pmap.lookup(&self.phys, VirtAddr(here)) else {
                continue;
            };
            let entry = p.map.entry(e.start);
            let Some(anon) = entry
                .slot(here)
                .and_then(|(amap, s)| self.amaps.get(amap).and_then(|a| a.lookup(s)))
            else {
                continue; // the zero page: no folio (`vm_normal_folio`)
            };
            let Some(a) = self.anons.get(anon) else {
                continue;
            };
            if a.pfn() != Some(m.pfn) {
                continue;
            }
            if m.huge {
                // A huge page is split by the kernel first; here it is
                // lazily freed whole when one mapping has it.
                if a.refs == 1 && self.phys.desc(m.pfn).mapcount == 1 {
                    self.mark_lazyfree(pid, here, anon);
                }
                continue;
            }
            let cached = matches!(a.page, AnonPage::Cached { .. });
            let d = self.phys.desc(m.pfn);
            if cached || d.dirty {
                if d.mapcount != 1 || a.refs != 1 {
                    continue;
                }
                // Another swap entry still naming the slot keeps the page
                // in the swap cache, and the page as it is.
                if cached && !self.free_swap_cache(anon) {
                    continue;
                }
                self.phys.desc_mut(m.pfn).dirty = false;
            }
            self.mark_lazyfree(pid, here, anon);
        }
    }

    /// The PTE at `va` loses its dirty and accessed bits, and `anon` is
    /// lazily freed.
    fn mark_lazyfree(&mut self, pid: Pid, va: u64, anon: AnonId) {
        if let Some(a) = self.anons.get_mut(anon) {
            a.lazyfree = true;
        }
        let p = self.procs.get_mut(&pid).expect("live");
        let flush = p
            .pmap
            .clear_dirty(&mut self.phys, VirtAddr(va), &mut self.ev);
        flush.flush(&mut self.tlb, &mut self.ev);
        let p = self.procs.get_mut(&pid).expect("live");
        p.pmap
            .clear_accessed(&mut self.phys, VirtAddr(va), &mut self.ev)
            .ignore();
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
            let id = self.amaps.get(r.amap).and_then(|a| a.lookup(slot));
            let anon = id.and_then(|a| self.anons.get(a));
            let lazy = anon.is_some_and(|a| a.lazyfree);
            // A lent page is on no paging queue: reclaim never meets it.
            let lent = anon.and_then(|a| a.pfn()).is_some_and(|p| self.lent(p));
            let m = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va));
            let dirty = m.is_some_and(|m| m.dirty);
            // MADV_PAGEOUT leaves a page another PTE maps alone
            // (`folio_maybe_mapped_shared`).
            let shared = m.is_some_and(|m| self.phys.desc(m.pfn).mapcount != 1);
            if !lazy || shared {
                va += PAGE_SIZE;
                continue;
            }
            if lent {
                kept.push(va);
            } else if !dirty {
                self.discard_private(pid, e.start, va, va + PAGE_SIZE);
            } else {
                if let Some(a) = id.and_then(|a| self.anons.get_mut(a)) {
                    a.lazyfree = false;
                }
                kept.push(va);
            }
            va += PAGE_SIZE;
        }
        kept
    }

    /// A huge page wholly inside MADV_PAGEOUT's range goes to swap whole:
    /// it takes a whole empty cluster, and `try_to_unmap` splits the PMD
    /// into 512 swap entries for consecutive slots (`thp_pageout`). False
    /// (nothing done) when a subpage is shared or no cluster is free.
    fn pageout_thp(&mut self, pid: Pid, e: &Entry, block: u64) -> bool {
        let Some(r) = e.aref else { return false };
        let first = r.slotoff + (block - e.start) / PAGE_SIZE;
        let mut pages = Vec::with_capacity(PAGES_PER_HUGE as usize);
        for i in 0..PAGES_PER_HUGE {
            let va = block + i * PAGE_SIZE;
            let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va)) else {
                return false;
            };
            let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(first + i)) else {
                return false;
            };
            if !self.exclusive_anon(anon, m.pfn) {
                return false;
            }
            pages.push((va, anon, m.pfn));
        }
        let Some(base) = self.swap_mut().alloc_huge() else {
            return false;
        };
        let p = self.procs.get_mut(&pid).expect("live");
        if let Ok(flush) = p.pmap.demote(&mut self.phys, VirtAddr(block), &mut self.ev) {
            flush.flush(&mut self.tlb, &mut self.ev);
        }
        for (i, (va, anon, pfn)) in pages.into_iter().enumerate() {
            self.write_out_anon(pid, va, anon, pfn, Slot(base.0 + i as u32));
        }
        true
    }

    /// Split the huge page at `block` for a page-out of part of it
    /// (`split_huge_page` with `RMP_USE_SHARED_ZEROPAGE`): the PMD becomes
    /// 512 PTEs, and every subpage that holds only zeros is dropped and
    /// replaced by the shared zero page. False if it could not be split.
    fn split_thp_for_pageout(&mut self, pid: Pid, e: &Entry, block: u64) -> bool {
        let Some(r) = e.aref else { return false };
        let p = self.procs.get_mut(&pid).expect("live");
        match p.pmap.demote(&mut self.phys, VirtAddr(block), &mut self.ev) {
            Ok(flush) => flush.flush(&mut self.tlb, &mut self.ev),
            Err(_) => return false,
        }
        let first = r.slotoff + (block - e.start) / PAGE_SIZE;
        let exec = e.prot.executable();
        for i in 0..PAGES_PER_HUGE {
            let va = block + i * PAGE_SIZE;
            let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va)) else {
                continue;
            };
            if self.phys.frame_bytes(m.pfn).is_some() || m.pfn == self.zero_pfn || self.lent(m.pfn)
            {
                continue;
            }
            let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(first + i)) else {
                continue;
            };
            if self.anons.get(anon).is_none_or(|a| a.refs != 1) {
                continue;
            }
            self.zap(pid, va, va + PAGE_SIZE);
            self.amaps
                .get_mut(r.amap)
                .expect("live amap")
                .set(first + i, None);
            self.anon_unref(anon);
            let zero = self.zero_pfn;
            // Without a frame for a page table it simply stays unmapped.
            let _ = self.pmap_enter(pid, va, zero, false, exec);
        }
        true
    }

    /// MADV_PAGEOUT of shmem (shared anonymous memory, memfds): each page of
    /// the object in `[lo, hi)` that this page table alone maps (a
    /// PROT_NONE entry too: `pte_present` holds for it), not wired, goes
    /// through `shrink_folio_list`, which for a shmem folio unmaps it
    /// first (`try_to_unmap`) and then:
    ///
    /// - a clean page (never written since a read fault made it) leaves
    ///   the page cache (`__remove_mapping`): it reads back as zeros;
    /// - a dirty one is written to the next free slot and the object keeps
    ///   the swap entry (`shmem_writeout`); with no area on or no slot free
    ///   it is redirtied and stays in the page cache, unmapped
    ///   (AOP_WRITEPAGE_ACTIVATE).
    ///
    /// Regular files keep their pages and mappings: the recording kernel
    /// kept them (case `pageout_shared_clean`).
    pub(crate) fn pageout_shmem(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let Some(obj) = e.object else { return };
        if !self.objects.get(obj).is_some_and(|o| o.is_shmem()) {
            return;
        }
        let mut va = lo;
        while va < hi {
            let here = va;
            va += PAGE_SIZE;
            let index = e.object_index(here);
            let Some(&pfn) = self.objects.get(obj).and_then(|o| o.pages.get(&index)) else {
                continue;
            };
            let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(here)) else {
                continue;
            };
            let d = self.phys.desc(pfn);
            // A lent page is on no paging queue: reclaim never meets it.
            if m.pfn != pfn || m.huge || d.mapcount != 1 || d.wired != 0 || d.loans != 0 {
                continue;
            }
            if !m.dirty && !d.dirty {
                self.zap(pid, here, here + PAGE_SIZE);
                self.punch_hole(obj, index, 1);
                continue;
            }
            let slot = if self.swap.is_some() {
                self.swap_mut().alloc()
            } else {
                None
            };
            self.zap(pid, here, here + PAGE_SIZE);
            let Some(s) = slot else {
                // Unmapped and still dirty (the zap carried the PTE's
                // dirty bit to the page): it stays in the page cache.
                continue;
            };
            let bytes = self.phys.frame_bytes(pfn).map(|b| b.to_vec());
            let area = self.swap_mut();
            area.write(s, bytes.as_deref().unwrap_or(&[]));
            area.dup(s);
            let o = self.objects.get_mut(obj).expect("live object");
            o.pages.remove(&index);
            o.swap.insert(index, (s, None));
            self.phys.free(pfn, &mut self.ev);
            self.ev.push_with(|| Event::SwapOut {
                pid,
                va: VirtAddr(here),
                slot: s.0,
            });
        }
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
            let Some(mut m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(here)) else {
                continue;
            };
            if m.huge && self.phys.desc(m.pfn).owner == FrameOwner::Zero {
                // The huge zero page is on no LRU: skipped, whole.
                va = (here & !(HUGE_PAGE_SIZE - 1)) + HUGE_PAGE_SIZE;
                continue;
            }
            if m.huge {
                let block = here & !(HUGE_PAGE_SIZE - 1);
                let whole = block >= lo.max(e.start) && block + HUGE_PAGE_SIZE <= hi.min(e.end);
                if whole && self.pageout_thp(pid, e, block) {
                    va = block + HUGE_PAGE_SIZE;
                    continue;
                }
                // Only part of it is advised, or no whole cluster is free:
                // split it, then take its pages one by one.
                if !self.split_thp_for_pageout(pid, e, block) {
                    continue;
                }
                match self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(here)) {
                    Some(again) => m = again,
                    None => continue,
                }
            }
            // A PROT_NONE leaf is taken too (`pte_present`).
            if m.huge {
                continue;
            }
            let slot = r.slotoff + (here - e.start) / PAGE_SIZE;
            let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(slot)) else {
                continue;
            };
            if let Some(cached) = self.cached_exclusive(anon, m.pfn) {
                // Still in the swap cache: it keeps its slot.
                // `try_to_unmap` turns the PTE back into that swap entry
                // and the copy in memory leaves the cache
                // (`__remove_mapping`), written to the slot again first
                // if it was dirtied.
                self.write_out_anon(pid, here, anon, m.pfn, cached);
                self.swap_mut().set_cached(cached, false);
                continue;
            }
            if !self.exclusive_anon(anon, m.pfn) {
                continue;
            }
            if !self.swap_out_page(pid, here, anon, m.pfn) {
                return; // the area is full: the rest stay in memory
            }
        }
    }

    /// Frames the processes' memory cgroup is charged with: every frame in
    /// use but the zero pages.
    pub(crate) fn memcg_usage(&self) -> u64 {
        let used = self.phys.total_frames() - self.phys.free_frames();
        used - 1 - if self.huge_zero.is_some() { 512 } else { 0 }
    }

    /// Make room for `n` more frames: reclaim while over the limit (or out
    /// of frames), then kill (`mem_cgroup_out_of_memory`). This is
    /// `try_charge_memcg`: each failed charge calls
    /// `try_to_free_mem_cgroup_pages`, retried while it makes progress and
    /// `MAX_RECLAIM_RETRIES` times more when it does not.
    ///
    /// => `Err(NoMemory)` when the OOM killer chose the running process
    ///    (it dies when its operation unwinds) or found no victim.
    pub(crate) fn make_room(&mut self, n: u64, may_kill: bool) -> Result<(), NoMemory> {
        let mut retries = 0;
        loop {
            let over_limit = self.memlimit.is_some_and(|l| self.memcg_usage() + n > l);
            if !over_limit && self.phys.free_frames() >= n {
                return Ok(());
            }
            if self.oom_pending.is_some() {
                return Err(NoMemory);
            }
            if self.try_to_free_pages(n) > 0 {
                retries = 0;
                continue;
            }
            retries += 1;
            if retries < MAX_RECLAIM_RETRIES {
                continue;
            }
            if !may_kill || !self.oom_allowed {
                return Err(NoMemory);
            }
            match self.oom_kill() {
                Some(v) if v != self.running => retries = 0,
                _ => return Err(NoMemory),
            }
        }
    }

    /// A lower memory limit (`mem_cgroup_resize_max`, cgroup v1's
    /// `memory.limit_in_bytes`): while more than `limit` pages are in use,
    /// `try_to_free_mem_cgroup_pages` for one page (so at least
    /// `SWAP_CLUSTER_MAX`); false (EBUSY) as soon as one call frees
    /// nothing.
    pub(crate) fn shrink_to_limit(&mut self, limit: u64) -> bool {
        while self.memcg_usage() > limit {
            if self.try_to_free_pages(1) == 0 {
                return false;
            }
        }
        true
    }

    /// `try_to_free_mem_cgroup_pages` -> `do_try_to_free_pages`: at least
    /// `SWAP_CLUSTER_MAX` pages are to go (`nr_to_reclaim`). The lists are
    /// scanned at falling priority, from `DEF_PRIORITY` (a 4096th of each
    /// list) down to 0 (all of it), until that many have gone. Returns the
    /// pages reclaimed, which may be more than asked: the scan stops only
    /// between batches.
    fn try_to_free_pages(&mut self, nr_pages: u64) -> u64 {
        if !self.swap_slot_free() {
            return 0;
        }
        let nr_to_reclaim = nr_pages.max(SWAP_CLUSTER_MAX);
        let mut reclaimed = 0;
        for priority in (0..=DEF_PRIORITY).rev() {
            reclaimed += self.shrink_lruvec(priority, nr_to_reclaim);
            if reclaimed >= nr_to_reclaim {
                break;
            }
        }
        reclaimed
    }

    /// `shrink_lruvec` at one priority. `get_scan_count` decides how many
    /// pages of each list to scan: `size >> priority`, of which the
    /// anonymous share (`SCAN_FRACT`, `calculate_pressure_balance`) is
    /// swappiness against the file LRU's 200 - swappiness, each weighed
    /// against its recent cost; at priority 0 everything (`SCAN_EQUAL`).
    /// The scan goes in batches of `SWAP_CLUSTER_MAX`, inactive list first,
    /// and ends after the batch that brings this call's count to
    /// `nr_to_reclaim` (memcg reclaim has no file pages left to balance).
    /// The active list is aged only while the inactive list is the smaller
    /// (`inactive_is_low`, as `prepare_scan_control` sets
    /// `may_deactivate`), and once more at the end.
    fn shrink_lruvec(&mut self, priority: u32, nr_to_reclaim: u64) -> u64 {
        if !self.swap_slot_free() {
            return 0;
        }
        let may_deactivate = self.inactive_is_low();
        let share = |size: u64, m: &Machine| -> u64 {
            let scan = size >> priority;
            if priority == 0 {
                return scan;
            }
            let (ap, denominator) = m.anon_fraction();
            scan * ap / denominator
        };
        let mut nr_inactive = share(self.phys.lru_len(LruList::Inactive), self);
        let mut nr_active = share(self.phys.lru_len(LruList::Active), self);
        let mut done = 0;
        while nr_inactive > 0 {
            let k = nr_inactive.min(SWAP_CLUSTER_MAX);
            nr_inactive -= k;
            done += self.shrink_inactive_list(k);
            if nr_active > 0 {
                let k = nr_active.min(SWAP_CLUSTER_MAX);
                nr_active -= k;
                if may_deactivate {
                    self.shrink_active_list(k);
                }
            }
            if done >= nr_to_reclaim {
                break;
            }
        }
        if self.inactive_is_low() {
            self.shrink_active_list(SWAP_CLUSTER_MAX);
        }
        done
    }

    /// `can_reclaim_anon_pages`: a swap slot is free (an area being
    /// turned off has none: swapoff clears `SWP_WRITEOK` first). Without
    /// one, `get_scan_count` scans no anonymous page at all.
    fn swap_slot_free(&self) -> bool {
        self.swap
            .as_ref()
            .is_some_and(|a| a.writeok() && a.inuse() < a.size())
    }

    /// `calculate_pressure_balance` with the file LRU empty of cost:
    /// (anon fraction, denominator). Swappiness is the recorder's 60
    /// (`memory.swappiness`); `MAX_SWAPPINESS` is 200.
    fn anon_fraction(&self) -> (u64, u64) {
        let total = self.anon_cost; // + file_cost, 0
        let anon_cost = total + self.anon_cost;
        let file_cost = total;
        let total = anon_cost + file_cost;
        let ap = SWAPPINESS * (total + 1) / (anon_cost + 1);
        let fp = (MAX_SWAPPINESS - SWAPPINESS) * (total + 1) / (file_cost + 1);
        (ap, ap + fp)
    }

    /// `inactive_is_low` for the anonymous lists: the inactive list is
    /// smaller than the active one times `int_sqrt(10 * GiB)` (1 below
    /// a GiB).
    fn inactive_is_low(&self) -> bool {
        let inactive = self.phys.lru_len(LruList::Inactive);
        let active = self.phys.lru_len(LruList::Active);
        let gb = (inactive + active) >> (30 - 12);
        let ratio = if gb > 0 { (10 * gb).isqrt() } else { 1 };
        inactive * ratio < active
    }

    /// `lru_note_cost`: pages written out cost `SWAP_CLUSTER_MAX` each,
    /// pages rotated one; the sum decays by half whenever it passes a
    /// quarter of the LRU.
    fn note_cost(&mut self, nr_io: u64, nr_rotated: u64) {
        let cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated;
        if cost == 0 {
            return;
        }
        self.anon_cost += cost;
        let lrusize = self.phys.lru_len(LruList::Inactive) + self.phys.lru_len(LruList::Active);
        if self.anon_cost > lrusize / 4 {
            self.anon_cost /= 2;
        }
    }

    /// `shrink_inactive_list`: `isolate_lru_folios` takes up to `nr`
    /// pages from the old end of the inactive list, then
    /// `shrink_folio_list` decides each (`folio_check_references`): kept
    /// pages go back to the head in the order they were taken, activated
    /// ones to the active list, the rest to swap. Returns the pages
    /// reclaimed.
    fn shrink_inactive_list(&mut self, nr: u64) -> u64 {
        let mut batch = Vec::with_capacity(nr as usize);
        while (batch.len() as u64) < nr {
            let Some(pfn) = self.phys.lru_oldest(LruList::Inactive) else {
                break;
            };
            self.phys.lru_del(pfn);
            if let FrameOwner::Anon { anon } = self.phys.desc(pfn).owner {
                batch.push((pfn, anon));
            }
        }
        let scanned = batch.len() as u64;
        // The whole reverse map is built only when a hint fails.
        let mut rmap = None;
        let mut done = 0;
        for (pfn, anon) in batch {
            if self.reclaim_pin == Some(anon) {
                // A fault holds it.
                self.phys.lru_add(pfn, LruList::Inactive);
                continue;
            }
            if self.cached_unmapped(anon, pfn) {
                // Only in the swap cache (read ahead, or by
                // MADV_WILLNEED): nothing maps it to have referenced it,
                // and its copy in the slot is current. It just leaves the
                // cache (`__remove_mapping`).
                self.phys.desc_mut(pfn).referenced = false;
                self.drop_swap_cache(anon, pfn);
                self.evicted(anon);
                done += 1;
                continue;
            }
            let maps = self.anon_maps(anon, &mut rmap);
            if maps.is_empty() {
                // Not mapped, locked, or mapped in a way reclaim does not
                // take here: back to the head.
                self.phys.lru_add(pfn, LruList::Inactive);
                continue;
            }
            match self.check_references(&maps, pfn) {
                Verdict::Keep => {
                    self.phys.desc_mut(pfn).referenced = true;
                    self.phys.lru_add(pfn, LruList::Inactive);
                }
                Verdict::Activate => {
                    self.phys.desc_mut(pfn).referenced = true;
                    self.phys.lru_add(pfn, LruList::Active);
                    // `move_folios_to_lru` ages the lists for each page it
                    // activates (`workingset_age_nonresident`).
                    self.nonresident_age += 1;
                }
                Verdict::Reclaim if self.anons.get(anon).is_some_and(|a| a.lazyfree) => {
                    if self.reclaim_lazyfree_page(&maps, anon, pfn) {
                        done += 1;
                    } else {
                        self.phys.lru_add(pfn, LruList::Active);
                    }
                }
                Verdict::Reclaim => {
                    if self.swap_out_mapped(&maps, anon, pfn) {
                        self.evicted(anon);
                        done += 1;
                    } else {
                        // No slot (`add_to_swap` failed): activated.
                        self.phys.lru_add(pfn, LruList::Active);
                    }
                }
            }
        }
        self.note_cost(done, scanned - done);
        done
    }

    /// `shrink_active_list`: up to `nr` pages from the old end of the
    /// active list lose their accessed bits (`folio_referenced`) and go to
    /// the head of the inactive list, in order; anonymous pages are never
    /// kept active (only executable file pages are). Their mark
    /// (`PG_referenced`) stays, so a use before the next scan activates
    /// them again.
    fn shrink_active_list(&mut self, nr: u64) {
        let mut rmap = None;
        for _ in 0..nr {
            let Some(pfn) = self.phys.lru_oldest(LruList::Active) else {
                break;
            };
            self.phys.lru_del(pfn);
            if let FrameOwner::Anon { anon } = self.phys.desc(pfn).owner {
                for (pid, va) in self.anon_maps(anon, &mut rmap) {
                    self.clear_young(pid, va);
                }
            }
            self.phys.lru_add(pfn, LruList::Inactive);
        }
    }

    /// `folio_referenced` for a page one PTE maps: whether the PTE's
    /// accessed bit was set; it is cleared as it is read.
    fn clear_young(&mut self, pid: Pid, va: u64) -> bool {
        let p = self.procs.get_mut(&pid).expect("live");
        let young = p
            .pmap
            .lookup(&self.phys, VirtAddr(va))
            .is_some_and(|m| m.accessed);
        if young {
            let flush = p
                .pmap
                .clear_accessed(&mut self.phys, VirtAddr(va), &mut self.ev);
            flush.flush(&mut self.tlb, &mut self.ev);
        }
        young
    }

    /// `folio_check_references`: the accessed bits of the PTEs that map
    /// the page (each cleared as it is read, `folio_referenced`) and its
    /// mark. Referenced once: kept and marked the first time, activated
    /// when marked already; referenced through more than one PTE:
    /// activated at once.
    fn check_references(&mut self, maps: &[(Pid, u64)], pfn: Pfn) -> Verdict {
        let young = maps
            .iter()
            .filter(|&&(pid, va)| self.clear_young(pid, va))
            .count();
        let d = self.phys.desc_mut(pfn);
        let marked = core::mem::take(&mut d.referenced);
        match young {
            0 => Verdict::Reclaim,
            1 if !marked => Verdict::Keep,
            _ => Verdict::Activate,
        }
    }

    /// Where `anon` is mapped: its one place when it has one
    /// (`anon_location`), else what the reverse map of the whole machine
    /// says, built once per scan in `rmap` (`rmap_walk`).
    fn anon_maps(
        &self,
        anon: AnonId,
        rmap: &mut Option<HashMap<AnonId, Vec<(Pid, u64)>>>,
    ) -> Vec<(Pid, u64)> {
        match self.anon_location(anon) {
            Some(at) => vec![at],
            None => rmap
                .get_or_insert_with(|| self.anon_rmap())
                .get(&anon)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Every place each reclaimable anonymous page is mapped (the reverse
    /// map `rmap_walk_anon` walks): a resident anon mapped by 4 KiB leaves
    /// (PROT_NONE too), neither wired nor lent, either by one process's
    /// PTE alone with one amap slot ([`Machine::reclaimable_at`]), or by
    /// several PTEs after fork, every one of them found in an unlocked
    /// entry.
    fn anon_rmap(&self) -> HashMap<AnonId, Vec<(Pid, u64)>> {
        let mut out: HashMap<AnonId, Vec<(Pid, u64)>> = HashMap::new();
        for (&pid, p) in self.procs.iter() {
            for e in p.map.entries.values() {
                let Some(r) = e.aref else { continue };
                if e.flags.contains(crate::flags::VmFlags::LOCKED) {
                    continue;
                }
                let Some(am) = self.amaps.get(r.amap) else {
                    continue;
                };
                for (slot, anon) in am.iter() {
                    if slot < r.slotoff || slot >= r.slotoff + e.pages() {
                        continue;
                    }
                    let Some(pfn) = self.anons.get(anon).and_then(|a| a.pfn()) else {
                        continue;
                    };
                    let va = e.start + (slot - r.slotoff) * PAGE_SIZE;
                    let mapped = p
                        .pmap
                        .lookup(&self.phys, VirtAddr(va))
                        .is_some_and(|m| m.pfn == pfn && !m.huge);
                    if mapped {
                        out.entry(anon).or_default().push((pid, va));
                    }
                }
            }
        }
        out.retain(|&anon, maps| match maps.as_slice() {
            [(pid, va)] => self.reclaimable_at(anon, *pid, *va),
            _ => self.shared_reclaimable(anon, maps.len()),
        });
        out
    }

    /// Whether `anon`, found mapped by `n` PTEs (more than one), may be
    /// reclaimed: resident, neither wired nor lent, and those are all its
    /// mappings.
    fn shared_reclaimable(&self, anon: AnonId, n: usize) -> bool {
        let Some(pfn) = self.anons.get(anon).and_then(|a| a.pfn()) else {
            return false;
        };
        let d = self.phys.desc(pfn);
        d.wired == 0 && d.loans == 0 && d.mapcount as usize == n
    }

    /// Where `anon` is mapped, from its hint, if the hint holds and the
    /// page may be reclaimed (the conditions of [`Machine::anon_rmap`]).
    fn anon_location(&self, anon: AnonId) -> Option<(Pid, u64)> {
        let (pid, va) = self.anons.get(anon)?.at?;
        let e = self
            .procs
            .get(&pid)?
            .map
            .find(va)
            .filter(|e| e.contains(va))?;
        if e.flags.contains(crate::flags::VmFlags::LOCKED) {
            return None;
        }
        let (amap, s) = e.slot(va)?;
        (self.amaps.get(amap)?.lookup(s) == Some(anon) && self.reclaimable_at(anon, pid, va))
            .then_some((pid, va))
    }

    /// Whether `anon` may be reclaimed from `pid`'s page at `va`: it is
    /// resident, one mapping's alone ([`Machine::exclusive_anon`]), and
    /// that mapping is a 4 KiB leaf there (PROT_NONE too: `pte_present`).
    fn reclaimable_at(&self, anon: AnonId, pid: Pid, va: u64) -> bool {
        let Some(pfn) = self.anons.get(anon).and_then(|a| a.pfn()) else {
            return false;
        };
        (self.exclusive_anon(anon, pfn) || self.cached_exclusive(anon, pfn).is_some())
            && self.procs.get(&pid).is_some_and(|p| {
                p.pmap
                    .lookup(&self.phys, VirtAddr(va))
                    .is_some_and(|m| m.pfn == pfn && !m.huge)
            })
    }

    /// `shrink_folio_list` for a page mapped by the PTEs `maps`: one
    /// process's alone goes as [`Machine::swap_out_page`]; one that fork
    /// shares goes to the next free slot, and `try_to_unmap` turns every
    /// PTE into a swap entry for it, not exclusive, each holding the slot
    /// once. False when no slot is free.
    fn swap_out_mapped(&mut self, maps: &[(Pid, u64)], anon: AnonId, pfn: Pfn) -> bool {
        let cached = match self.anons.get(anon).map(|a| a.page) {
            Some(AnonPage::Cached { slot, .. }) => Some(slot),
            _ => None,
        };
        if let ([(pid, va)], None) = (maps, cached) {
            return self.swap_out_page(*pid, *va, anon, pfn);
        }
        // A page still in the swap cache keeps its slot: the PTEs get it
        // back and the copy leaves the cache (as MADV_PAGEOUT does it).
        let Some(s) = cached.or_else(|| self.swap_mut().alloc()) else {
            return false;
        };
        if let ([(pid, va)], Some(s)) = (maps, cached) {
            self.write_out_anon(*pid, *va, anon, pfn, s);
            self.swap_mut().set_cached(s, false);
            return true;
        }
        let bytes = self.phys.frame_bytes(pfn).map(|b| b.to_vec());
        self.swap_mut().write(s, bytes.as_deref().unwrap_or(&[]));
        self.swap_mut().set_shadow(s, Shadow::Root);
        let sw = SwapPte {
            area: 0,
            offset: u64::from(s.0),
            exclusive: false,
        };
        for &(pid, va) in maps {
            self.swap_mut().dup(s);
            let p = self.procs.get_mut(&pid).expect("live");
            let flush = p
                .pmap
                .swap_out(&mut self.phys, VirtAddr(va), sw, &mut self.ev);
            flush.flush(&mut self.tlb, &mut self.ev);
            self.ev.push_with(|| Event::SwapOut {
                pid,
                va: VirtAddr(va),
                slot: s.0,
            });
        }
        self.anons.get_mut(anon).expect("live").page = AnonPage::Swapped { slot: s };
        if cached.is_some() {
            self.swap_mut().set_cached(s, false);
        }
        self.phys.free(pfn, &mut self.ev);
        true
    }

    /// `shrink_folio_list` for a lazily freed page (MADV_FREE, not
    /// swap-backed): one no PTE has dirtied since is dropped, and reads
    /// back as zeros; one written again is swap-backed once more and kept
    /// (`try_to_unmap_one`: `folio_set_swapbacked`, activated). Returns
    /// whether it was dropped.
    fn reclaim_lazyfree_page(&mut self, maps: &[(Pid, u64)], anon: AnonId, pfn: Pfn) -> bool {
        let dirty = self.phys.desc(pfn).dirty
            || maps.iter().any(|&(pid, va)| {
                self.procs[&pid]
                    .pmap
                    .lookup(&self.phys, VirtAddr(va))
                    .is_some_and(|m| m.dirty)
            });
        if dirty {
            if let Some(a) = self.anons.get_mut(anon) {
                a.lazyfree = false;
            }
            return false;
        }
        for &(pid, va) in maps {
            let Some(start) = self.procs[&pid].map.find(va).map(|e| e.start) else {
                continue;
            };
            self.discard_private(pid, start, va, va + PAGE_SIZE);
        }
        true
    }

    /// `workingset_eviction` by the memory cgroup's reclaim: `anon`'s slot
    /// keeps the cgroup's clock, which then ticks.
    fn evicted(&mut self, anon: AnonId) {
        if let Some(slot) = self.anons.get(anon).and_then(|a| a.slot()) {
            let eviction = self.nonresident_age;
            self.swap_mut().set_shadow(slot, Shadow::Memcg { eviction });
        }
        self.nonresident_age += 1;
    }

    /// `workingset_refault` for a page just read from its slot into `pfn`:
    /// a page whose refault distance (evictions and activations since it
    /// went) fits in the working set (the active anonymous list, while
    /// swap has room: `workingset_test_recent`) was pushed out too soon,
    /// and starts on the active list (which ages the lists once more). A
    /// page MADV_PAGEOUT pushed out is judged against the whole machine,
    /// and always fits.
    pub(crate) fn refault(&mut self, pfn: Pfn, shadow: Option<Shadow>) {
        let recent = match shadow {
            None => false,
            Some(Shadow::Root) => true,
            Some(Shadow::Memcg { eviction }) => {
                let distance = self.nonresident_age.saturating_sub(eviction);
                let workingset = if self.swap_slot_free() {
                    self.phys.lru_len(LruList::Active)
                } else {
                    0
                };
                distance <= workingset
            }
        };
        if recent && self.phys.desc(pfn).lru == LruList::Inactive {
            self.phys.lru_add(pfn, LruList::Active);
            self.nonresident_age += 1;
        }
    }

    /// Whether `anon`'s page in `pfn` is only in the swap cache: mapped by
    /// no PTE, neither wired nor lent.
    fn cached_unmapped(&self, anon: AnonId, pfn: Pfn) -> bool {
        let Some(AnonPage::Cached { pfn: p, .. }) = self.anons.get(anon).map(|a| a.page) else {
            return false;
        };
        let d = self.phys.desc(pfn);
        p == pfn && d.mapcount == 0 && d.wired == 0 && d.loans == 0
    }

    /// `anon`'s unmapped page leaves the swap cache and memory: the slot
    /// (which the swap entries still name) holds it.
    fn drop_swap_cache(&mut self, anon: AnonId, pfn: Pfn) {
        let Some(AnonPage::Cached { slot, .. }) = self.anons.get(anon).map(|a| a.page) else {
            return;
        };
        let a = self.anons.get_mut(anon).expect("live");
        a.page = AnonPage::Swapped { slot };
        a.readahead = false;
        self.swap_mut().set_cached(slot, false);
        self.phys.free(pfn, &mut self.ev);
    }

    /// `shrink_folio_list` -> `add_to_swap` + `try_to_unmap` +
    /// `pageout`: the page at `va` of `pid` goes to the next free slot, its
    /// PTE becomes an exclusive swap entry. False when no slot is free.
    fn swap_out_page(&mut self, pid: Pid, va: u64, anon: AnonId, pfn: Pfn) -> bool {
        let Some(s) = self.swap_mut().alloc() else {
            return false;
        };
        self.write_out_anon(pid, va, anon, pfn, s);
        true
    }

    /// The page of `anon` in frame `pfn`, mapped at `va` by `pid` alone,
    /// goes to the taken slot `s`: its bytes are written there, its PTE
    /// becomes an exclusive swap entry, its frame is freed.
    fn write_out_anon(&mut self, pid: Pid, va: u64, anon: AnonId, pfn: Pfn, s: Slot) {
        let bytes = self.phys.frame_bytes(pfn).map(|b| b.to_vec());
        let area = self.swap_mut();
        area.write(s, bytes.as_deref().unwrap_or(&[]));
        area.dup(s);
        // MADV_PAGEOUT's shadow; the memory cgroup's reclaim puts its own
        // (`evicted`).
        area.set_shadow(s, Shadow::Root);
        let sw = SwapPte {
            area: 0,
            offset: u64::from(s.0),
            exclusive: true,
        };
        let p = self.procs.get_mut(&pid).expect("live");
        let flush = p
            .pmap
            .swap_out(&mut self.phys, VirtAddr(va), sw, &mut self.ev);
        flush.flush(&mut self.tlb, &mut self.ev);
        self.anons.get_mut(anon).expect("live").page = AnonPage::Swapped { slot: s };
        self.phys.free(pfn, &mut self.ev);
        self.ev.push_with(|| Event::SwapOut {
            pid,
            va: VirtAddr(va),
            slot: s.0,
        });
    }

    /// Whether `anon` is resident in `pfn` and the page is one mapping's
    /// alone, unlocked: what page-out and reclaim may take
    /// (`folio_maybe_mapped_shared` false, not mlocked).
    fn exclusive_anon(&self, anon: AnonId, pfn: Pfn) -> bool {
        let Some(a) = self.anons.get(anon) else {
            return false;
        };
        let d = self.phys.desc(pfn);
        // A page on loan is never taken: UVM keeps it off the paging
        // queues (`uvm_pagedequeue` when it is lent), so the page daemon
        // cannot swap it out or free it; it returns to a queue when its
        // last loan ends (`uvm_unloanpage` -> `uvm_pageactivate`).
        a.page == (AnonPage::Resident { pfn })
            && a.refs == 1
            && d.mapcount == 1
            && d.wired == 0
            && d.loans == 0
    }

    /// The slot of `anon`'s page when it is in the swap cache in `pfn` and
    /// mapped by one PTE alone (other holders of the slot, swap entries and
    /// amaps, do not count: `folio_maybe_mapped_shared`), unlocked and not
    /// lent: what page-out may take back to its slot.
    fn cached_exclusive(&self, anon: AnonId, pfn: Pfn) -> Option<Slot> {
        let a = self.anons.get(anon)?;
        let AnonPage::Cached { pfn: p, slot } = a.page else {
            return None;
        };
        let d = self.phys.desc(pfn);
        (p == pfn && d.mapcount == 1 && d.wired == 0 && d.loans == 0).then_some(slot)
    }

    /// `out_of_memory` for the memory cgroup: the victim is the process
    /// with the highest `oom_badness` (resident pages, swap entries and
    /// page-table pages), the later one on a tie. Another process dies at
    /// once; the running one when its operation unwinds. Returns the
    /// victim.
    fn oom_kill(&mut self) -> Option<Pid> {
        let mut victim = None;
        let mut worst = 0;
        for (&pid, p) in self.procs.iter() {
            let tables = p.pmap.table_frames(&self.phys).len() as u64;
            let points = p.pmap.resident_pages() + p.pmap.swap_entries() + tables;
            if victim.is_none() || points >= worst {
                victim = Some(pid);
                worst = points;
            }
        }
        let v = victim?;
        self.ev.push_with(|| Event::OomKill {
            pid: v,
            points: worst,
        });
        if v == self.running {
            self.oom_pending = Some(v);
        } else {
            self.oom_killed.insert(v);
            self.vmspace_exit(v);
        }
        Some(v)
    }

    /// The running process's operation has unwound: if the OOM killer
    /// chose it, it dies now (`do_exit` from the pending SIGKILL).
    pub(crate) fn oom_reap_pending(&mut self) {
        if let Some(v) = self.oom_pending.take()
            && self.procs.contains_key(&v)
        {
            self.oom_killed.insert(v);
            self.vmspace_exit(v);
        }
    }

    /// MADV_COLD (`madvise_cold_or_pageout_pte_range` without pageout):
    /// the exclusive anonymous pages of `[lo, hi)` lose their accessed bit
    /// and their mark, and an active one goes back to the inactive list
    /// (`folio_deactivate`): they leave first under pressure.
    pub(crate) fn cold(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        let Some(r) = e.aref else { return };
        let mut va = lo;
        while va < hi {
            let here = va;
            va += PAGE_SIZE;
            let slot = r.slotoff + (here - e.start) / PAGE_SIZE;
            let Some(anon) = self.amaps.get(r.amap).and_then(|a| a.lookup(slot)) else {
                continue;
            };
            let Some(AnonPage::Resident { pfn }) = self.anons.get(anon).map(|a| a.page) else {
                continue;
            };
            if self.phys.desc(pfn).mapcount != 1 {
                continue;
            }
            let p = self.procs.get_mut(&pid).expect("live");
            let flush = p
                .pmap
                .clear_accessed(&mut self.phys, VirtAddr(here), &mut self.ev);
            flush.flush(&mut self.tlb, &mut self.ev);
            self.phys.desc_mut(pfn).referenced = false;
            if self.phys.desc(pfn).lru == LruList::Active {
                self.phys.lru_add(pfn, LruList::Inactive);
            }
        }
    }
}
