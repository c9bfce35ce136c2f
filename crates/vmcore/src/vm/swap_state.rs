//! The swap cache and swap-in (Linux `mm/swap_state.c` and `do_swap_page`
//! in `mm/memory.c`; UVM `uvm_anon.c` `uvm_anon_pagein`).
//!
//! A fault on a page whose anon is on swap reads it back. As the
//! recordings show Linux 6.18 doing it on a synchronous device:
//! - a swap entry no one else holds (one user, nothing in the swap cache)
//!   is read alone, mapped, and its slot freed, for a read and a write
//!   fault alike: a major fault that bypasses the swap cache
//!   (`SWP_SYNCHRONOUS_IO` with `__swap_count == 1`); a read leaves the
//!   page clean;
//! - an entry with more users (after fork) goes through the swap cache
//!   with VMA readahead (`swap_vma_readahead`, window from
//!   `swap_vma_ra_win`): the pages of the window whose entries in the
//!   faulting process are swap entries are read into the cache, which
//!   every process shares, and the faulting one is mapped (major);
//! - a fault that finds its page in the swap cache is minor; it maps the
//!   cached page and ends this page table's use of the slot; the slot
//!   stays with the cache unless this was a write by its last user, the
//!   area is more than half full or the entry is locked
//!   (`should_try_to_free_swap`).
//!
//! `readahead_fork` pins the window: each entry keeps hits (4 when new),
//! the previous window and the previous fault address; see [`RaState`].

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SIZE, Pfn, VirtAddr};
use crate::arch::x86_64::mmu::Access;
use crate::event::{Event, Pid};
use crate::flags::VmFlags;
use crate::machine::{AccessError, Machine};
use crate::phys::FrameOwner;
use crate::vm::anon::{AnonId, AnonPage};
use crate::vm::map::Entry;
use crate::vm::swap::Slot;

/// How [`Machine::swap_in`] found the page.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SwapIn {
    /// In memory already, not in the swap cache.
    Resident,
    /// Read for this fault alone (no one else held the entry).
    Sole,
    /// In the swap cache (found there, or read there with readahead).
    Cached,
}

/// `1 << vm.page-cluster` (3): the largest readahead window.
const RA_MAX_WIN: u64 = 8;

/// The swap readahead state of one map entry (`vma->swap_readahead_info`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RaState {
    /// Readahead pages found in the cache since the last read.
    pub hits: u64,
    /// The window of the last read.
    pub win: u64,
    /// The page of the last swap fault: one that read, or one that found
    /// its page in the swap cache.
    pub prev: u64,
}

impl Default for RaState {
    /// A new mapping starts with 4 hits (`GET_SWAP_RA_VAL`).
    fn default() -> Self {
        RaState {
            hits: 4,
            win: 0,
            prev: 0,
        }
    }
}

impl RaState {
    /// `__swapin_nr_pages`: the window for a fault at page `fault`.
    pub fn window(&self, fault: u64) -> u64 {
        let mut n = self.hits + 2;
        if n == 2 {
            // Not next to the previous fault: no readahead.
            if fault != self.prev + 1 && fault + 1 != self.prev {
                n = 1;
            }
        } else {
            n = n.next_power_of_two().max(4);
        }
        n = n.min(RA_MAX_WIN);
        n.max(self.win / 2)
    }
}

impl Machine {
    /// Make the page of `anon` resident for a fault at `page` in `pid`'s
    /// entry `e` (see the module doc). Afterwards the anon's page is in a
    /// frame and this page table no longer uses the slot.
    pub(crate) fn swap_in(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        anon: AnonId,
    ) -> Result<SwapIn, AccessError> {
        let state = self.anons.get(anon).expect("live anon").page;
        let slot = match state {
            AnonPage::Resident { .. } => return Ok(SwapIn::Resident),
            AnonPage::Cached { slot, .. } | AnonPage::Swapped { slot } => slot,
        };
        let pte_holds = self.procs[&pid]
            .pmap
            .swap_entry(&self.phys, VirtAddr(page))
            .is_some_and(|sw| sw.offset == u64::from(slot.0));
        let AnonPage::Swapped { .. } = state else {
            if !pte_holds {
                // The page table maps the cached page already: a
                // protection fault (`do_wp_page`), not a swap-in.
                return Ok(SwapIn::Resident);
            }
            // A swap-cache hit (`swap_update_readahead`): a page that
            // readahead brought in counts once for the readahead window
            // (`folio_test_clear_readahead`), and the fault address is
            // stored with the hits.
            let a = self.anons.get_mut(anon).expect("live anon");
            let hit = core::mem::take(&mut a.readahead);
            let ra = &mut self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&e.start)
                .expect("entry")
                .ra;
            ra.hits += u64::from(hit);
            ra.prev = page / PAGE_SIZE;
            return Ok(SwapIn::Cached);
        };
        let area = self.swap.as_ref().expect("a slot implies an area");
        let sole = area.count(slot) <= u32::from(pte_holds);
        if sole {
            // The synchronous path: this page alone, its slot freed once
            // mapped.
            self.read_into_cache(anon, slot)?;
            self.proc_mut(pid).maj_flt += 1;
            return Ok(SwapIn::Sole);
        }
        self.swap_readahead(pid, e, page)?;
        if self.anons.get(anon).expect("live").pfn().is_none() {
            // Readahead could not take this page (no frame): read it alone.
            self.read_into_cache(anon, slot)?;
        }
        self.proc_mut(pid).maj_flt += 1;
        Ok(SwapIn::Cached)
    }

    /// After a fault mapped the page of `anon` (and so ended this page
    /// table's use of its slot): the swap cache lets go of the slot when no
    /// swap entry names it any more and the read was the sole one, or a
    /// write by the last user, or the area is more than half full, or the
    /// entry is locked (`should_try_to_free_swap`, `folio_free_swap`).
    pub(crate) fn swap_settle(&mut self, anon: AnonId, how: SwapIn, e: &Entry, access: Access) {
        if how == SwapIn::Resident {
            return;
        }
        let Some(a) = self.anons.get(anon) else {
            return;
        };
        let AnonPage::Cached { pfn, slot } = a.page else {
            return;
        };
        let area = self.swap.as_ref().expect("a slot implies an area");
        if area.count(slot) > 0 {
            return;
        }
        let last_write = access == Access::Write && a.refs == 1;
        let full = u64::from(area.inuse()) * 2 > u64::from(area.size());
        if how == SwapIn::Sole || last_write || full || e.flags.contains(VmFlags::LOCKED) {
            self.leave_swap_cache(anon, pfn, slot);
            if how != SwapIn::Sole {
                // `folio_free_swap` takes the page out of the swap cache:
                // its only copy is in memory now, so it is dirty. (The
                // synchronous read of a sole page never entered the swap
                // cache and stays clean.)
                self.phys.desc_mut(pfn).dirty = true;
            }
        }
    }

    /// `folio_free_swap` for `anon`'s page: out of the swap cache, its slot
    /// freed, when no swap entry names the slot; the page is dirty then
    /// (its only copy is in memory). False (nothing done) when it is not
    /// in the cache or a swap entry still names the slot.
    pub(crate) fn free_swap_cache(&mut self, anon: AnonId) -> bool {
        let Some(AnonPage::Cached { pfn, slot }) = self.anons.get(anon).map(|a| a.page) else {
            return false;
        };
        if self.swap.as_ref().is_some_and(|s| s.count(slot) > 0) {
            return false;
        }
        self.leave_swap_cache(anon, pfn, slot);
        self.phys.desc_mut(pfn).dirty = true;
        true
    }

    /// `anon`'s page in `pfn` leaves the swap cache: resident only, the
    /// area no longer holds `slot` for it.
    fn leave_swap_cache(&mut self, anon: AnonId, pfn: Pfn, slot: Slot) {
        self.anons.get_mut(anon).expect("live").page = AnonPage::Resident { pfn };
        self.swap_mut().set_cached(slot, false);
    }

    /// `anon`'s page read from `slot` into the swap cache (`swap_read_folio`
    /// into a folio added with `add_to_swap_cache`): it is in a frame and
    /// still in its slot.
    pub(crate) fn read_into_cache(&mut self, anon: AnonId, slot: Slot) -> Result<(), AccessError> {
        let pfn = self.read_slot(anon, slot)?;
        let a = self.anons.get_mut(anon).expect("live");
        a.page = AnonPage::Cached { pfn, slot };
        a.readahead = false;
        self.swap_mut().set_cached(slot, true);
        Ok(())
    }

    /// A frame for `anon` holding the bytes of `slot` (`swap_read_folio`).
    fn read_slot(&mut self, anon: AnonId, slot: Slot) -> Result<Pfn, AccessError> {
        let pfn = self.alloc_page(FrameOwner::Anon { anon })?;
        if self.anons.get(anon).is_none() {
            // Reclaim for this frame killed the anon's last owner.
            self.phys.free(pfn, &mut self.ev);
            return Err(AccessError::OutOfMemory);
        }
        let area = self.swap.as_ref().expect("a slot implies an area");
        if let Some(bytes) = area.read(slot) {
            self.phys.write_frame(pfn, bytes);
        }
        let shadow = self.swap_mut().take_shadow(slot);
        self.refault(pfn, shadow);
        self.ev.push_with(|| Event::SwapIn { slot: slot.0, pfn });
        Ok(pfn)
    }

    /// `swap_vma_readahead` for a fault at `page` in `e`: read into the
    /// swap cache every page of the window whose entry in `pid`'s page
    /// table is a swap entry and whose anon is on swap only.
    fn swap_readahead(&mut self, pid: Pid, e: &Entry, page: u64) -> Result<(), AccessError> {
        let fault = page / PAGE_SIZE;
        let ra = self.procs[&pid].map.entry(e.start).ra;
        let n = ra.window(fault);
        let block = page & !(HUGE_PAGE_SIZE - 1);
        // `swap_vma_ra_win`: a fault just after the previous one reads
        // ahead from itself, one just before it reads behind up to
        // itself, any other is centred; then clipped to the entry and
        // the 2 MiB block.
        let left = if fault == ra.prev + 1 {
            page
        } else if ra.prev == fault + 1 {
            (page + PAGE_SIZE).saturating_sub(n * PAGE_SIZE)
        } else {
            page.saturating_sub((n - 1) / 2 * PAGE_SIZE)
        };
        let lo = left.max(e.start).max(block);
        let hi = (left + n * PAGE_SIZE)
            .min(e.end)
            .min(block + HUGE_PAGE_SIZE);
        {
            let r = &mut self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&e.start)
                .expect("entry")
                .ra;
            r.hits = 0;
            r.win = n;
            r.prev = fault;
        }
        let mut va = lo;
        let mut pages = 0;
        while va < hi {
            let sw = self.procs[&pid].pmap.swap_entry(&self.phys, VirtAddr(va));
            if sw.is_some()
                && let Some((amap, s)) = e.slot(va)
                && let Some(a) = self.amaps.get(amap).and_then(|am| am.lookup(s))
                && let AnonPage::Swapped { slot } = self.anons.get(a).expect("live anon").page
            {
                self.read_into_cache(a, slot)?;
                // `folio_set_readahead` for the pages around the fault.
                self.anons.get_mut(a).expect("live anon").readahead = va != page;
                pages += 1;
            }
            va += PAGE_SIZE;
        }
        self.ev.push_with(|| Event::SwapReadahead {
            pid,
            start: VirtAddr(lo),
            end: VirtAddr(hi),
            pages,
        });
        Ok(())
    }

    /// The last reference to an anon went: free its frame and leave the
    /// swap cache (`uvm_anfree`, `free_swap_and_cache`).
    pub(crate) fn anon_page_free(&mut self, page: AnonPage) {
        match page {
            AnonPage::Resident { pfn } => self.phys.free(pfn, &mut self.ev),
            AnonPage::Cached { pfn, slot } => {
                self.phys.free(pfn, &mut self.ev);
                self.swap_mut().set_cached(slot, false);
            }
            AnonPage::Swapped { .. } => {}
        }
    }

    pub(crate) fn swap_mut(&mut self) -> &mut crate::vm::swap::SwapArea {
        self.swap.as_mut().expect("a slot implies an area")
    }

    /// Zap's half for swap entries (`zap_nonpresent_ptes`): each entry of
    /// `[start, end)` in `pid`'s tables goes, and with it one user of its
    /// slot (`free_swap_and_cache`).
    pub(crate) fn swap_entries_drop(&mut self, pid: Pid, start: u64, end: u64) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.pmap.swap_entries() == 0 {
            return;
        }
        let gone =
            p.pmap
                .take_swap_range(&mut self.phys, VirtAddr(start), VirtAddr(end), &mut self.ev);
        for (_, sw) in gone {
            self.swap_mut().put(Slot(sw.offset as u32));
        }
    }

    /// Fork's half for swap entries (`copy_nonpresent_pte`): the child gets
    /// a copy of each entry of `[start, end)`, one more user of its slot;
    /// both lose the exclusive bit. Without a frame for the child's page
    /// table an entry is not copied: the child finds the page through its
    /// amap.
    pub(crate) fn swap_entries_copy(&mut self, from: Pid, to: Pid, start: u64, end: u64) {
        let Some(p) = self.procs.get_mut(&from) else {
            return;
        };
        if p.pmap.swap_entries() == 0 {
            return;
        }
        let shared =
            p.pmap
                .share_swap_range(&mut self.phys, VirtAddr(start), VirtAddr(end), &mut self.ev);
        for (va, sw) in shared {
            let c = self.procs.get_mut(&to).expect("child");
            if c.pmap
                .put_swap(&mut self.phys, va, sw, &mut self.ev)
                .is_ok()
            {
                self.swap_mut().dup(Slot(sw.offset as u32));
            }
        }
    }

    /// mremap's half for swap entries (`move_ptes`): the entries of
    /// `[from, from + len)` move to `to` with the page tables. One that
    /// cannot be placed (no frame for a table) gives up its slot use.
    pub(crate) fn swap_entries_move(&mut self, pid: Pid, from: u64, len: u64, to: u64) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.pmap.swap_entries() == 0 {
            return;
        }
        let moved = p.pmap.take_swap_range(
            &mut self.phys,
            VirtAddr(from),
            VirtAddr(from + len),
            &mut self.ev,
        );
        for (va, sw) in moved {
            let nva = VirtAddr(to + (va.0 - from));
            let p = self.procs.get_mut(&pid).expect("live");
            if p.pmap
                .put_swap(&mut self.phys, nva, sw, &mut self.ev)
                .is_err()
            {
                self.swap_mut().put(Slot(sw.offset as u32));
            }
        }
    }

    /// MADV_WILLNEED over swapped anonymous memory
    /// (`swapin_walk_pmd_entry`, once `force_swapin_readahead`): exactly
    /// the pages of `[lo, hi)` whose entries are swap entries are read
    /// into the swap cache, no readahead; the entries stay. Memory running
    /// out ends it quietly, as readahead does.
    pub(crate) fn swapin_range(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        if e.aref.is_none() || self.procs[&pid].pmap.swap_entries() == 0 {
            return;
        }
        let mut va = lo;
        while va < hi {
            let sw = self.procs[&pid].pmap.swap_entry(&self.phys, VirtAddr(va));
            if sw.is_some()
                && let Some((amap, s)) = e.slot(va)
                && let Some(a) = self.amaps.get(amap).and_then(|am| am.lookup(s))
                && let AnonPage::Swapped { slot } = self.anons.get(a).expect("live anon").page
                && self.read_into_cache(a, slot).is_err()
            {
                return;
            }
            va += PAGE_SIZE;
        }
    }

    /// `try_to_unuse`: every swap entry of every process is replaced by
    /// its page, read back if it is on swap only, mapped where the entry
    /// was (read-only while the anon is shared or the amap needs copying;
    /// an entry shared after fork becomes one page mapped by both), and
    /// every anon leaves the swap area. Not a fault: nothing is counted.
    pub(crate) fn swap_unuse(&mut self) -> Result<(), crate::errno::SysError> {
        let nomem = || crate::errno::enomem("out of memory while swapping pages back in");
        let pids: Vec<Pid> = self.procs.keys().copied().collect();
        for pid in pids {
            let mut entries = Vec::new();
            self.procs[&pid]
                .pmap
                .for_each_swap(&self.phys, |va, sw| entries.push((va.0, sw)));
            for (va, sw) in entries {
                let slot = Slot(sw.offset as u32);
                let e = self.procs[&pid]
                    .map
                    .find(va)
                    .expect("a swap entry lies in an entry")
                    .clone();
                let anon = e
                    .slot(va)
                    .and_then(|(a, s)| self.amaps.get(a).and_then(|am| am.lookup(s)))
                    .expect("a swap entry's page has an anon");
                if let AnonPage::Swapped { .. } = self.anons.get(anon).expect("live").page {
                    self.read_into_cache(anon, slot).map_err(|_| nomem())?;
                }
                let a = self.anons.get(anon).expect("live");
                let pfn = a.pfn().expect("cached");
                let writable = e.prot.writable() && a.refs == 1 && !e.needs_copy && !self.lent(pfn);
                self.unwire_range(pid, va, va + PAGE_SIZE);
                let r = self.pmap_enter(pid, va, pfn, writable, e.prot.executable());
                if r.is_ok() && e.prot.is_empty() {
                    // `unuse_pte` maps with the entry's protection: a
                    // PROT_NONE entry gets a PROTNONE leaf.
                    self.pmap_protect(pid, va, va + PAGE_SIZE, e.prot);
                }
                // A locked entry's page is wired once mapped.
                self.wire_range(pid, va, va + PAGE_SIZE);
                r.map_err(|_| nomem())?;
            }
        }
        // shmem pages go back into their objects, unmapped.
        let shmem: Vec<(u32, u64)> = self
            .objects
            .iter()
            .flat_map(|(id, o)| o.swap.keys().map(move |&i| (id, i)))
            .collect();
        for (obj, index) in shmem {
            self.shmem_swapin(obj, index).map_err(|_| nomem())?;
        }
        // Anons on swap that no page table names any more come back too.
        let left: Vec<(AnonId, AnonPage)> = self
            .anons
            .iter()
            .filter(|(_, a)| a.slot().is_some())
            .map(|(id, a)| (id, a.page))
            .collect();
        for (id, page) in left {
            let (pfn, slot) = match page {
                AnonPage::Cached { pfn, slot } => (pfn, slot),
                AnonPage::Swapped { slot } => {
                    (self.read_slot(id, slot).map_err(|_| nomem())?, slot)
                }
                AnonPage::Resident { .. } => continue,
            };
            self.leave_swap_cache(id, pfn, slot);
            // `folio_free_swap`: with its slot gone the page's only copy is
            // in memory, so it is dirty (smaps `Private_Dirty` after
            // swapoff, whatever the PTE says).
            self.phys.desc_mut(pfn).dirty = true;
        }
        Ok(())
    }

    /// A shmem page on swap comes back into its object's page cache
    /// (`shmem_swapin_folio`): read from the slot unless it is in the swap
    /// cache, and the slot is freed. Not mapped anywhere by this.
    pub(crate) fn shmem_swapin(&mut self, obj: u32, index: u64) -> Result<Pfn, AccessError> {
        let (slot, cached) = self.objects.get(obj).expect("live object").swap[&index];
        let pfn = match cached {
            Some(pfn) => pfn,
            None => self.read_shmem_slot(obj, index, slot)?,
        };
        let o = self.objects.get_mut(obj).expect("live object");
        o.swap.remove(&index);
        o.pages.insert(index, pfn);
        // Its only copy is in memory now (`folio_mark_dirty` as the swap
        // entry goes).
        self.phys.desc_mut(pfn).dirty = true;
        let area = self.swap_mut();
        area.set_cached(slot, false);
        area.put(slot);
        Ok(pfn)
    }

    /// A frame of `obj`'s page cache for page `index` holding the bytes
    /// of `slot`.
    fn read_shmem_slot(&mut self, obj: u32, index: u64, slot: Slot) -> Result<Pfn, AccessError> {
        let pfn = self.alloc_page(FrameOwner::Cache { object: obj, index })?;
        if self
            .objects
            .get(obj)
            .is_none_or(|o| !o.swap.contains_key(&index))
        {
            self.phys.free(pfn, &mut self.ev);
            return Err(AccessError::OutOfMemory);
        }
        let area = self.swap.as_ref().expect("a slot implies an area");
        if let Some(bytes) = area.read(slot) {
            self.phys.write_frame(pfn, bytes);
        }
        self.ev.push_with(|| Event::SwapIn { slot: slot.0, pfn });
        Ok(pfn)
    }

    /// MADV_WILLNEED over swapped shmem (`shmem_swapin_range`): the pages
    /// of object pages `[first, end)` on swap are read into the swap cache.
    pub(crate) fn shmem_willneed(&mut self, obj: u32, first: u64, end: u64) {
        let Some(o) = self.objects.get(obj) else {
            return;
        };
        let todo: Vec<(u64, Slot)> = o
            .swap
            .range(first..end)
            .filter(|(_, (_, c))| c.is_none())
            .map(|(&i, &(s, _))| (i, s))
            .collect();
        for (index, slot) in todo {
            let Ok(pfn) = self.read_shmem_slot(obj, index, slot) else {
                return;
            };
            self.objects
                .get_mut(obj)
                .expect("live")
                .swap
                .insert(index, (slot, Some(pfn)));
            self.swap_mut().set_cached(slot, true);
        }
    }

    /// An object gives up a swapped page (truncation, the object's end).
    pub(crate) fn shmem_swap_free(&mut self, slot: Slot, cached: Option<Pfn>) {
        if let Some(pfn) = cached {
            self.phys.free(pfn, &mut self.ev);
            self.swap_mut().set_cached(slot, false);
        }
        self.swap_mut().put(slot);
    }
}
