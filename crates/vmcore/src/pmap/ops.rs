//! The pmap operations: each one a loop over a [`Cursor`].

use super::cursor::{Cursor, Edit, Leaves, Rules, Slot, Step, Tree, Walk, point, point_mut};
use super::*;
use crate::addr::HUGE_PAGE_SIZE;
use crate::arch::x86_64::pte::ADDR_MASK;
use crate::event::Event;

/// Where a range operation (`remove`, `protect`) reports the pages it
/// removes, and its linear range `[s, e)`.
struct Zap<'a> {
    /// Pages reported as unmapped (`remove` only).
    out: Option<&'a mut Vec<Unmapped>>,
    s: u64,
    e: u64,
}

impl Pmap {
    pub(super) fn alloc_table(
        &self,
        phys: &mut PhysMem,
        level: u8,
        va: VirtAddr,
        ev: &mut EventLog,
    ) -> Result<Pfn, PmapError> {
        let asid = self.asid;
        let pfn = phys
            .alloc(FrameOwner::PageTable { asid, level }, ev)
            .ok_or(PmapError::NoMemory)?;
        ev.push_with(|| Event::TableAlloc {
            asid,
            va,
            level,
            pfn,
        });
        Ok(pfn)
    }

    fn free_table(&self, phys: &mut PhysMem, pfn: Pfn, level: u8, ev: &mut EventLog) {
        debug_assert_eq!(
            used(phys, pfn),
            0,
            "freeing a page table that still has entries"
        );
        let asid = self.asid;
        phys.set_table_entries(pfn, 0);
        ev.push_with(|| Event::TableFree { asid, level, pfn });
        phys.free(pfn, ev);
    }

    /// The slot at `bottom` level for `va` (`walk` is [`Walk::ENTER`] or
    /// [`Walk::ENTER_HUGE`]), allocating the missing tables on the way
    /// (`pmap_alloc_ptp` / `__pte_alloc`) and demoting a 2 MiB leaf that is
    /// in the way of a 4 KiB one.
    ///
    /// => on `NoMemory` nothing has changed: the frames needed are counted
    ///    before any is taken.
    ///
    /// Inlined so that each caller's `walk` is a constant the cursor's
    /// rules fold against.
    #[inline(always)]
    fn slot_for(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        walk: Walk,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) -> Result<Slot, PmapError> {
        let slot = point_mut(self, phys, lin(va.0), walk, flush, ev)?;
        Ok(slot.expect("an allocating walk ends at its slot"))
    }

    /// `pmap_enter`: map the 4 KiB page at `va` to `pfn` with `prot`.
    ///
    /// => allocates missing tables (`TableAlloc`); a 2 MiB leaf covering
    ///    `va` is demoted first.
    /// => replaces a present leaf (its frame's mapcount -1, a flush owed);
    ///    `pfn`'s mapcount +1. The leaf has A/D clear.
    /// => on `NoMemory` nothing has changed.
    pub fn enter(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        pfn: Pfn,
        prot: PteProt,
        ev: &mut EventLog,
    ) -> Result<TlbFlush, PmapError> {
        self.enter_slot(phys, va, pfn, prot, PteFlags::empty(), ev)
            .map(|(f, _, _)| f)
    }

    /// [`Pmap::enter`], also saying which page table and index the leaf
    /// went to; `extra` bits (DIRTY for fork's copy of a dirty leaf) go
    /// into the leaf with the protection.
    fn enter_slot(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        pfn: Pfn,
        prot: PteProt,
        extra: PteFlags,
        ev: &mut EventLog,
    ) -> Result<(TlbFlush, Pfn, usize), PmapError> {
        let va = va.align_down(PAGE_SIZE);
        let mut flush = TlbFlush::none(self.asid);
        let Slot {
            table: pt,
            idx,
            pte: old,
            ..
        } = self.slot_for(phys, va, Walk::ENTER, &mut flush, ev)?;
        flush.merge(self.enter_at(phys, pt, idx, old, va, pfn, prot, extra, ev));
        Ok((flush, pt, idx))
    }

    /// The second half of [`Pmap::enter`]: write the leaf into slot `idx`
    /// of page table `pt` (which holds `old`), once the walk has found it.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn enter_at(
        &mut self,
        phys: &mut PhysMem,
        pt: Pfn,
        idx: usize,
        old: Pte,
        va: VirtAddr,
        pfn: Pfn,
        prot: PteProt,
        extra: PteFlags,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        let new = Pte::new(pfn, prot.leaf_flags() | extra);
        wr(phys, pt, idx, new);
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 1,
            old: old.0,
            new: new.0,
        });
        phys.map_inc(pfn);
        if old.is_mapped() {
            release(phys, old.pfn(), old);
            flush.add(va);
        } else {
            self.resident += 1;
            if old.is_unused() {
                used_inc(phys, pt);
            } else {
                // A swap entry gives way to the page read back
                // (`do_swap_page`); the caller dropped its use of the slot.
                self.swap_entries -= 1;
            }
        }
        flush
    }

    /// Map a 2 MiB page at `va` (2 MiB aligned) to the 512 frames from `pfn`
    /// (512-aligned) with one PD entry with PS (`do_huge_pmd_anonymous_page`).
    ///
    /// => the PD slot must be empty or hold a page table with no entries
    ///    (that table is freed); an old 2 MiB leaf is replaced.
    /// => mapcount +1 on each of the 512 frames.
    /// => on `NoMemory` nothing has changed.
    pub fn enter_huge(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        pfn: Pfn,
        prot: PteProt,
        ev: &mut EventLog,
    ) -> Result<TlbFlush, PmapError> {
        debug_assert!(va.is_aligned(HUGE_PAGE_SIZE) && pfn.0.is_multiple_of(PAGES_PER_HUGE));
        let va = va.align_down(HUGE_PAGE_SIZE);
        let pfn = Pfn(pfn.0 & !(PAGES_PER_HUGE - 1));
        let mut flush = TlbFlush::none(self.asid);
        let Slot {
            table: pd,
            idx,
            pte: old,
            ..
        } = self.slot_for(phys, va, Walk::ENTER_HUGE, &mut flush, ev)?;
        let new = Pte::new(pfn, prot.leaf_flags() | PteFlags::HUGE);
        for i in 0..PAGES_PER_HUGE {
            phys.map_inc(pfn.add(i));
        }
        if old.is_mapped() {
            if old.is_huge() {
                for i in 0..PAGES_PER_HUGE {
                    release(phys, Pfn(huge_base(old) + i), old);
                }
                self.resident -= PAGES_PER_HUGE;
                flush.add(va);
            } else {
                let pt = old.pfn();
                if used(phys, pt) != 0 {
                    debug_assert!(false, "enter_huge over a page table that still maps pages");
                    let end = VirtAddr(va.0 + HUGE_PAGE_SIZE);
                    flush.merge(self.remove_range(phys, va, end, ev));
                }
                self.free_table(phys, pt, 1, ev);
            }
        }
        wr(phys, pd, idx, new);
        if old.is_unused() {
            used_inc(phys, pd);
        }
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 2,
            old: old.0,
            new: new.0,
        });
        self.resident += PAGES_PER_HUGE;
        Ok(flush)
    }

    /// Split the 2 MiB leaf at `pd[idx]` (mapping `va2m`) into a page table
    /// of 512 PTEs with the same bits (`split_huge_pmd`).
    pub(super) fn demote_at(
        &mut self,
        phys: &mut PhysMem,
        pd: Pfn,
        idx: usize,
        va2m: VirtAddr,
        ev: &mut EventLog,
    ) -> Result<TlbFlush, PmapError> {
        let old = rd(phys, pd, idx);
        debug_assert!(old.is_mapped() && old.is_huge());
        let pt = self.alloc_table(phys, 1, va2m, ev)?;
        let base = huge_base(old);
        // Same P/RW/US/A/D/NX and software bits; PS goes (bit 7 is PAT in a PTE).
        let bits = old.0 & !ADDR_MASK & !PteFlags::HUGE.bits();
        for i in 0..ENTRIES {
            wr(phys, pt, i, Pte(((base + i as u64) << PAGE_SHIFT) | bits));
        }
        phys.set_table_entries(pt, ENTRIES as u32);
        let new = Pte::new(pt, TABLE_FLAGS);
        wr(phys, pd, idx, new);
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va: va2m,
            level: 2,
            old: old.0,
            new: new.0,
        });
        ev.push_with(|| Event::HugeDemote {
            asid,
            va: va2m,
            table: pt,
        });
        Ok(TlbFlush::page(asid, va2m))
    }

    /// Clear the PT leaf in `slot`, reporting it (`zap_pte_range`); the
    /// caller takes the page off `resident`.
    #[inline(always)]
    fn zap_pte(
        &mut self,
        phys: &mut PhysMem,
        slot: &Slot,
        zap: &mut Zap,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) {
        let (pt, idx, l, old) = (slot.table, slot.idx, slot.lin, slot.pte);
        let va = canon(l);
        wr(phys, pt, idx, Pte(0));
        used_dec(phys, pt);
        release(phys, old.pfn(), old);
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 1,
            old: old.0,
            new: 0,
        });
        flush.add(va);
        if let Some(out) = &mut zap.out {
            if out.capacity() == 0 {
                // One allocation for a typical range instead of regrowing.
                out.reserve(((zap.e - l) >> PAGE_SHIFT).min(64) as usize);
            }
            let f = old.flags();
            out.push(Unmapped {
                va,
                pfn: old.pfn(),
                dirty: f.contains(PteFlags::DIRTY),
                accessed: f.contains(PteFlags::ACCESSED),
                writable: f.contains(PteFlags::WRITABLE),
            });
        }
    }

    /// Clear the 2 MiB leaf in `slot` (`zap_huge_pmd`); reports the 4 KiB
    /// pages that lie in the zap range.
    fn zap_huge(
        &mut self,
        phys: &mut PhysMem,
        slot: &Slot,
        zap: &mut Zap,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) {
        let (pd, idx, l, old) = (slot.table, slot.idx, slot.lin, slot.pte);
        let va = canon(l);
        wr(phys, pd, idx, Pte(0));
        used_dec(phys, pd);
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 2,
            old: old.0,
            new: 0,
        });
        let f = old.flags();
        let base = huge_base(old);
        for i in 0..PAGES_PER_HUGE {
            release(phys, Pfn(base + i), old);
            let pl = l + (i << PAGE_SHIFT);
            if let Some(out) = &mut zap.out
                && zap.s <= pl
                && pl < zap.e
            {
                out.push(Unmapped {
                    va: canon(pl),
                    pfn: Pfn(base + i),
                    dirty: f.contains(PteFlags::DIRTY),
                    accessed: f.contains(PteFlags::ACCESSED),
                    writable: f.contains(PteFlags::WRITABLE),
                });
            }
        }
        self.resident -= PAGES_PER_HUGE;
        flush.add(va);
    }

    /// `pmap_remove`: unmap every page in `[start, end)` (page aligned).
    ///
    /// => a 2 MiB leaf wholly inside yields 512 `Unmapped`; one partly
    ///    inside is demoted first. (Should that demote find no free frame,
    ///    the whole 2 MiB leaf is dropped — PTEs are only a cache of the map
    ///    — and only the pages inside the range are reported.)
    /// => mapcount -1 per page; the page tables stay, empty or not, as
    ///    `zap_page_range` leaves them: [`Pmap::free_tables`] frees them
    ///    when the mappings around allow (`free_pgtables`).
    /// => empty upper-level slots are skipped whole, so a huge empty range
    ///    costs a few reads.
    pub fn remove(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) -> (TlbFlush, Vec<Unmapped>) {
        let mut out = Vec::new();
        let flush = self.remove_into(phys, start, end, Some(&mut out), ev);
        (flush, out)
    }

    /// [`Pmap::remove`] without the list of what was unmapped (each
    /// frame's descriptor still receives its leaf's A and D bits).
    pub fn remove_range(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) -> TlbFlush {
        self.remove_into(phys, start, end, None, ev)
    }

    /// `zap_page_range`: the walk splits a 2 MiB leaf cut by the range,
    /// and hands out each leaf left inside it: a page table's PTEs as one
    /// run (`zap_pte_range`).
    fn remove_into(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        out: Option<&mut Vec<Unmapped>>,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        let Some((s, e)) = page_span(start, end) else {
            return flush;
        };
        let mut zap = Zap { out, s, e };
        if e - s == PAGE_SIZE {
            // One page (munmap of a page, a page-out): straight down the
            // path; only a 2 MiB leaf to split takes the range walk.
            match point(phys, self.cr3, s, Walk::LEAVES) {
                None => return flush,
                Some(slot) if slot.level == 1 => {
                    self.zap_pte(phys, &slot, &mut zap, &mut flush, ev);
                    self.resident -= 1;
                    return flush;
                }
                Some(_) => {}
            }
        }
        let mut c = Cursor::<Edit>::new(phys, self.cr3, s, e);
        // Never `NoMemory`: a split that finds no frame hands the leaf out.
        while let Ok(Some(step)) = c.next_mut(self, phys, &mut flush, ev) {
            match step {
                Step::Run(mut run) => {
                    let mut n = 0;
                    while let Some(slot) = run.next(phys) {
                        self.zap_pte(phys, &slot, &mut zap, &mut flush, ev);
                        n += 1;
                    }
                    self.resident -= n;
                }
                // A 2 MiB leaf, wholly inside or not to be split.
                Step::Entry(slot) => self.zap_huge(phys, &slot, &mut zap, &mut flush, ev),
                _ => {}
            }
        }
        flush
    }

    /// `free_pgtables` after an unmap of `[start, end)`: free the page
    /// tables (levels 1..3) there that are empty and whose whole span lies
    /// inside `[floor, ceiling)` — the room between the mappings left
    /// below and above, so that no other mapping can need them. (Linux
    /// passes the previous entry's end and the next one's start.) Tables
    /// that only cover part of that room stay, as they do in Linux, until
    /// a later unmap or the exit frees them.
    pub fn free_tables(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        floor: u64,
        ceiling: u64,
        ev: &mut EventLog,
    ) {
        let Some((s, e)) = page_span(start, end) else {
            return;
        };
        // Both bounds are user addresses: the lower half of the space.
        let (floor, ceiling) = (floor.min(HALF), ceiling.min(HALF));
        // The smallest table that may go is a page table, whose 2 MiB span
        // must meet [s, e) and lie in the room: with none such, nothing
        // (and no table above one) can be freed.
        let first = (s & !(HUGE_PAGE_SIZE - 1)).max(floor.next_multiple_of(HUGE_PAGE_SIZE));
        if first >= e || first.saturating_add(HUGE_PAGE_SIZE) > ceiling {
            return;
        }
        // Nothing is mapped in the 512 GiB around the range: no table to
        // free (the PML4 itself stays).
        let top = PAGE_SHIFT + 27;
        if s >> top == (e - 1) >> top && rd(phys, self.cr3, ((s >> top) & 511) as usize).is_unused()
        {
            return;
        }
        self.free_tables_in(phys, (s, e), (floor, ceiling, 3), ev);
    }

    /// Linux 6.14's page-table reclaim on MADV_DONTNEED (`mm/pt_reclaim.c`,
    /// CONFIG_PT_RECLAIM): a PTE table whose whole 2 MiB span the zap
    /// covered, and which it left empty, is freed. Upper levels stay.
    pub fn reclaim_empty_pts(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) {
        let Some((s, e)) = page_span(start, end) else {
            return;
        };
        self.free_tables_in(phys, (s, e), (s, e, 1), ev);
    }

    /// Free the empty tables of levels `1..=top` under `[s, e)` whose span
    /// lies in `[floor, ceiling)`, children before parents. The walk stops
    /// at the PD entries: a page table is judged by its count alone.
    fn free_tables_in(
        &mut self,
        phys: &mut PhysMem,
        (s, e): (u64, u64),
        (floor, ceiling, top): (u64, u64, u8),
        ev: &mut EventLog,
    ) {
        /// Down to the PD entries, each table reported when done.
        struct FreeTables;
        impl Rules for FreeTables {
            const WALK: Walk = Walk {
                bottom: 2,
                tables: true,
                ..Walk::LEAVES
            };
        }
        // Free the table at `level` that entry `from` points to, if empty
        // and in the room.
        let mut free = |pmap: &mut Pmap, phys: &mut PhysMem, from: Slot, level: u8| {
            let child = from.pte.pfn();
            let (lo, hi) = (from.lin, from.lin + (1u64 << shift_of(from.level)));
            if level <= top && used(phys, child) == 0 && floor <= lo && hi <= ceiling {
                wr(phys, from.table, from.idx, Pte(0));
                used_dec(phys, from.table);
                pmap.free_table(phys, child, level, ev);
            }
        };
        let mut c = Cursor::<FreeTables>::new(phys, self.cr3, s, e);
        while let Some(step) = c.next(phys) {
            match step {
                // The PD entries: each page table is done.
                Step::Run(mut run) => {
                    while let Some(slot) = run.next(phys) {
                        if !slot.pte.is_huge() {
                            free(self, phys, slot, 1);
                        }
                    }
                }
                // A table whose children are done.
                Step::Done {
                    from: Some(from),
                    level,
                    ..
                } => free(self, phys, from, level),
                _ => {}
            }
        }
    }

    /// `pmap_protect`: set RW and NX of every mapped leaf in `[start, end)`
    /// to `prot`, keeping A/D; a PROTNONE leaf becomes present again. A
    /// 2 MiB leaf partly inside is demoted (or, with no free frame for
    /// that, dropped whole: it will fault back in).
    pub fn protect(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        prot: PteProt,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let bits = prot.leaf_flags().bits() & PROT_BITS;
        self.protect_bits(phys, start, end, bits, ev)
    }

    /// `change_protection` to PROT_NONE (`pte_modify` with `PAGE_NONE`):
    /// every mapped leaf in `[start, end)` keeps its page, its A/D and its
    /// place in the mapcount, but loses P, US, RW and NX and gains
    /// PROTNONE, so that any access faults while mincore, smaps and the
    /// next mprotect still find the page.
    pub fn protect_none(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) -> TlbFlush {
        self.protect_bits(phys, start, end, PteFlags::PROTNONE.bits(), ev)
    }

    /// `change_protection`: the [`PROT_BITS`] of every leaf in the range
    /// become `bits`.
    fn protect_bits(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        bits: u64,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        let Some((s, e)) = page_span(start, end) else {
            return flush;
        };
        let mut c = Cursor::<Edit>::new(phys, self.cr3, s, e);
        let mut zap = Zap { out: None, s, e };
        while let Ok(Some(step)) = c.next_mut(self, phys, &mut flush, ev) {
            match step {
                // A page table's PTEs (`change_pte_range`).
                Step::Run(mut run) => {
                    while let Some(slot) = run.next(phys) {
                        self.protect_leaf(phys, &slot, bits, &mut flush, ev);
                    }
                }
                // Cut by the range and not split for want of a frame.
                Step::Entry(slot) if !slot.whole => {
                    self.zap_huge(phys, &slot, &mut zap, &mut flush, ev)
                }
                Step::Entry(slot) => self.protect_leaf(phys, &slot, bits, &mut flush, ev),
                _ => {}
            }
        }
        flush
    }

    /// The [`PROT_BITS`] of the leaf in `slot` become `bits`.
    #[inline(always)]
    fn protect_leaf(
        &mut self,
        phys: &mut PhysMem,
        slot: &Slot,
        bits: u64,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) {
        let (old, new) = (slot.pte, Pte((slot.pte.0 & !PROT_BITS) | bits));
        if new != old {
            wr(phys, slot.table, slot.idx, new);
            let (asid, va, level) = (self.asid, slot.va(), slot.level);
            ev.push_with(|| Event::PteWrite {
                asid,
                va,
                level,
                old: old.0,
                new: new.0,
            });
            flush.add(va);
        }
    }

    /// The leaf mapping `va`, as the cursor hands it out.
    pub(super) fn find_leaf(&self, phys: &PhysMem, va: VirtAddr) -> Option<Slot> {
        point(phys, self.cr3, lin(va.0), Walk::LEAVES)
    }

    /// What the page tables say about `va` (`pmap_extract`); `pfn` is the
    /// 4 KiB frame of `va` even inside a 2 MiB mapping.
    pub fn lookup(&self, phys: &PhysMem, va: VirtAddr) -> Option<Mapping> {
        let slot = self.find_leaf(phys, va)?;
        let (e, huge) = (slot.pte, slot.level == 2);
        let f = e.flags();
        let present = e.is_present();
        Some(Mapping {
            pfn: if huge {
                Pfn(huge_base(e) + va.table_index(1) as u64)
            } else {
                e.pfn()
            },
            present,
            writable: present && f.contains(PteFlags::WRITABLE),
            executable: present && !f.contains(PteFlags::NO_EXECUTE),
            dirty: f.contains(PteFlags::DIRTY),
            accessed: f.contains(PteFlags::ACCESSED),
            huge,
        })
    }

    /// What maps the 2 MiB block around `va`: nothing, a page table, or a
    /// 2 MiB leaf — Linux's `pmd_none` / `pmd_trans_huge` on the PD entry.
    ///
    /// Unlike [`crate::arch::x86_64::walk`], which stops at the first entry
    /// without P, this reads the entry as the kernel does: a PROT_NONE
    /// 2 MiB leaf is [`PmdState::Huge`], not [`PmdState::None`].
    pub fn pmd(&self, phys: &PhysMem, va: VirtAddr) -> PmdState {
        match point(phys, self.cr3, lin(va.0), Walk::PMD) {
            Some(slot) if slot.is_huge_leaf() => PmdState::Huge,
            Some(slot) if slot.pte.is_mapped() => PmdState::Table,
            _ => PmdState::None,
        }
    }

    /// Clear `flag` in the leaf mapping `va`; a flush is owed if it was set.
    /// Set `flag` in the leaf mapping `va` (fork keeping a private page's
    /// dirty bit, `__copy_present_ptes`); nothing is owed to the TLB for a
    /// bit only software reads.
    fn set_flag(&mut self, phys: &mut PhysMem, va: VirtAddr, flag: PteFlags, ev: &mut EventLog) {
        if let Some(slot) = self.find_leaf(phys, va)
            && !slot.pte.flags().contains(flag)
        {
            let (old, level) = (slot.pte, slot.level);
            let new = old.with(flag);
            wr(phys, slot.table, slot.idx, new);
            let asid = self.asid;
            ev.push_with(|| Event::PteWrite {
                asid,
                va: slot.va(),
                level,
                old: old.0,
                new: new.0,
            });
        }
    }

    fn clear_flag(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        flag: PteFlags,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        if let Some(leaf) =
            self.rewrite_leaf(phys, va, ev, |f| f.contains(flag), |p| p.without(flag))
        {
            flush.add(leaf);
        }
        flush
    }

    /// Set `bits` (A, D) in the leaf mapping `va`, as a moved PTE keeps
    /// them (`move_ptes`). No flush: the TLB may only lack them.
    pub(super) fn keep_bits(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        bits: PteFlags,
        ev: &mut EventLog,
    ) {
        if !bits.is_empty() {
            self.rewrite_leaf(phys, va, ev, |f| !f.contains(bits), |p| p.with(bits));
        }
    }

    /// Rewrite the leaf mapping `va` (the whole 2 MiB leaf if huge) to
    /// `new(old)` when `wanted(old's flags)`, with its event. => the
    /// leaf's address (aligned to its size), when it was rewritten.
    fn rewrite_leaf(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        ev: &mut EventLog,
        wanted: impl FnOnce(PteFlags) -> bool,
        new: impl FnOnce(Pte) -> Pte,
    ) -> Option<VirtAddr> {
        let slot = self.find_leaf(phys, va)?;
        if !wanted(slot.pte.flags()) {
            return None;
        }
        let (old, level) = (slot.pte, slot.level);
        let new = new(old);
        wr(phys, slot.table, slot.idx, new);
        let va = va.align_down(if level == 2 {
            HUGE_PAGE_SIZE
        } else {
            PAGE_SIZE
        });
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level,
            old: old.0,
            new: new.0,
        });
        Some(va)
    }

    /// `pmap_clear_modify`: clear D in the leaf mapping `va` (the whole 2 MiB
    /// leaf if huge). The flush matters: a TLB entry cached dirty lets
    /// writes through without setting D again.
    pub fn clear_dirty(&mut self, phys: &mut PhysMem, va: VirtAddr, ev: &mut EventLog) -> TlbFlush {
        self.clear_flag(phys, va, PteFlags::DIRTY, ev)
    }

    /// `pmap_clear_reference`: clear A in the leaf mapping `va`. (Linux on
    /// x86 skips this flush, `ptep_clear_flush_young`: a stale entry only
    /// delays the next A update. Callers may `ignore()` it likewise.)
    pub fn clear_accessed(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        ev: &mut EventLog,
    ) -> TlbFlush {
        self.clear_flag(phys, va, PteFlags::ACCESSED, ev)
    }

    /// `split_huge_pmd`: turn the 2 MiB leaf covering `va` into a page table
    /// of 512 PTEs with the same bits (A/D copied). No-op if `va` is not
    /// mapped huge. Mapcounts and the resident count do not change.
    pub fn demote(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        ev: &mut EventLog,
    ) -> Result<TlbFlush, PmapError> {
        match self.find_leaf(phys, va) {
            Some(slot) if slot.level == 2 => self.demote_at(
                phys,
                slot.table,
                slot.idx,
                va.align_down(HUGE_PAGE_SIZE),
                ev,
            ),
            _ => Ok(TlbFlush::none(self.asid)),
        }
    }

    /// `pmap_copy` (Linux `copy_page_range`, as fork uses it): every leaf of
    /// `self` that starts in `[start, end)` — 4 KiB leaves and 2 MiB leaves
    /// alike, PROT_NONE ones included — is entered in `dst` at the same
    /// address for the same frame(s), with `prot` (fork passes
    /// `writable: false` and the entry's `executable`).
    ///
    /// => each copy is [`Pmap::enter`] or [`Pmap::enter_huge`] on `dst`:
    ///    mapcount +1 per 4 KiB frame, tables allocated as needed, the same
    ///    events; a leaf for which `dst` cannot get a page-table frame is
    ///    skipped (the child faults it in later).
    /// => a 2 MiB leaf that starts below `start` is left out, one that
    ///    starts inside is copied whole even if it reaches past `end`.
    /// => the copies are present leaves: a PROT_NONE range must be made
    ///    inaccessible by the caller afterwards ([`Pmap::protect_none`]).
    /// => leaves are read as `self` holds them now: a caller that
    ///    write-protects `self` range by range first may have demoted a
    ///    2 MiB leaf that crossed into the range before.
    /// => `keep_dirty` (a private mapping): a copy keeps its leaf's dirty
    ///    bit, as `__copy_present_ptes` cleans only shared mappings' copies.
    /// => the flush returned is `dst`'s (empty unless `dst` had leaves in
    ///    the range).
    #[allow(clippy::too_many_arguments)]
    pub fn copy_range(
        &self,
        dst: &mut Pmap,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        prot: PteProt,
        keep_dirty: bool,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(dst.asid);
        let Some((s, e)) = page_span(start, end) else {
            return flush;
        };
        let dirty = |pte: Pte| keep_dirty && pte.flags().contains(PteFlags::DIRTY);
        let mut c = Cursor::<Leaves>::new(phys, self.cr3, s, e);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Run(mut run) => {
                    // `copy_pte_range` works a page table at a time: the
                    // child's table for the leaves of one parent table is
                    // found (or made) by the first leaf's walk; the others
                    // go straight into it, with the same writes and events
                    // as an `enter` each.
                    let mut tables: Option<(Pfn, Pfn)> = None;
                    while let Some(slot) = run.next(phys) {
                        let va = slot.va();
                        let pfn = slot.pte.pfn();
                        // The copy is written once, its D bit with it, as
                        // `__copy_present_ptes` sets the child's PTE.
                        let extra = if dirty(slot.pte) {
                            PteFlags::DIRTY
                        } else {
                            PteFlags::empty()
                        };
                        let done = match tables {
                            Some((src, pt)) if src == slot.table && slot.level == 1 => {
                                let idx = va.table_index(1);
                                let old = rd(phys, pt, idx);
                                let f = dst.enter_at(phys, pt, idx, old, va, pfn, prot, extra, ev);
                                Some((f, pt))
                            }
                            _ => dst
                                .enter_slot(phys, va, pfn, prot, extra, ev)
                                .ok()
                                .map(|(f, pt, _)| (f, pt)),
                        };
                        let Some((f, pt)) = done else {
                            continue;
                        };
                        tables = Some((slot.table, pt));
                        flush.merge(f);
                    }
                }
                Step::Entry(slot) if slot.lin >= s => {
                    if let Ok(f) = dst.enter_huge(phys, slot.va(), slot.pte.pfn(), prot, ev) {
                        flush.merge(f);
                        if dirty(slot.pte) {
                            dst.set_flag(phys, slot.va(), PteFlags::DIRTY, ev);
                        }
                    }
                }
                _ => {}
            }
        }
        flush
    }

    /// `move_page_tables` (mremap): the leaves that start in
    /// `[from, from + len)` move to `to + (va - from)`. `from`, `to` and
    /// `len` are page aligned; the two ranges do not overlap.
    ///
    /// => the old range is removed as [`Pmap::remove_range`] removes it
    ///    (A/D carried to the frames, a 2 MiB leaf cut by its edges
    ///    demoted), then each leaf is entered anew with A/D clear, keeping
    ///    its RW and NX bits (a PROT_NONE leaf arrives present, writable
    ///    no, executable yes: the caller protects it again, as for a
    ///    copy).
    /// => a 2 MiB leaf whose new address is 2 MiB aligned stays one leaf
    ///    (`move_huge_pmd`); otherwise it arrives as 512 4 KiB leaves.
    /// => a leaf that cannot be entered (no frame for a page table) is
    ///    dropped: the VM layer above still has its page and faults it in.
    /// => mapcounts end where they began for what moved; the flush covers
    ///    the old range (and any leaf the new one replaced).
    pub fn move_range(
        &mut self,
        phys: &mut PhysMem,
        from: VirtAddr,
        len: u64,
        to: VirtAddr,
        ev: &mut EventLog,
    ) -> TlbFlush {
        debug_assert!(from.is_aligned(PAGE_SIZE) && to.is_aligned(PAGE_SIZE));
        let end = VirtAddr(from.0.saturating_add(len));
        let mut flush = TlbFlush::none(self.asid);
        let Some((s, e)) = page_span(from, end) else {
            return flush;
        };
        let mut moved = Vec::new();
        let mut c = Cursor::<Leaves>::new(phys, self.cr3, s, e);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Run(mut run) => {
                    while let Some(slot) = run.next(phys) {
                        moved.push(slot);
                    }
                }
                Step::Entry(slot) if slot.lin >= s => moved.push(slot),
                _ => {}
            }
        }
        flush.merge(self.remove_range(phys, from, end, ev));
        for slot in moved {
            let nva = to.0 + (slot.va().0 - from.0);
            let f = slot.pte.flags();
            let prot = PteProt {
                writable: f.contains(PteFlags::WRITABLE),
                executable: !f.contains(PteFlags::NO_EXECUTE),
            };
            let pfn = slot.pte.pfn();
            // The moved entry keeps its accessed and dirty bits.
            let bits = f & (PteFlags::ACCESSED | PteFlags::DIRTY);
            if slot.level == 2 && nva.is_multiple_of(HUGE_PAGE_SIZE) {
                if let Ok(f) = self.enter_huge(phys, VirtAddr(nva), pfn, prot, ev) {
                    flush.merge(f);
                    self.keep_bits(phys, VirtAddr(nva), bits, ev);
                }
            } else if slot.level == 2 {
                for i in 0..PAGES_PER_HUGE {
                    let va = VirtAddr(nva + i * PAGE_SIZE);
                    if let Ok(f) = self.enter(phys, va, pfn.add(i), prot, ev) {
                        flush.merge(f);
                        self.keep_bits(phys, va, bits, ev);
                    }
                }
            } else if let Ok(f) = self.enter(phys, VirtAddr(nva), pfn, prot, ev) {
                flush.merge(f);
                self.keep_bits(phys, VirtAddr(nva), bits, ev);
            }
        }
        flush
    }

    /// Free every page-table frame (`pmap_destroy`).
    ///
    /// => caller removed all mappings first (checked in debug builds; any
    ///    left over have their mapcounts dropped).
    pub fn destroy(mut self, phys: &mut PhysMem, ev: &mut EventLog) {
        debug_assert_eq!(self.resident, 0, "pmap destroyed with pages still mapped");
        let mut c = Cursor::<Tree>::new(phys, self.cr3, 0, LIN_TOP);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Table { .. } => {}
                Step::Run(mut run) => {
                    while let Some(slot) = run.next(phys) {
                        let e = slot.pte;
                        wr(phys, slot.table, slot.idx, Pte(0));
                        used_dec(phys, slot.table);
                        release(phys, e.pfn(), e);
                        self.resident = self.resident.saturating_sub(1);
                    }
                }
                Step::Entry(slot) => {
                    let e = slot.pte;
                    wr(phys, slot.table, slot.idx, Pte(0));
                    used_dec(phys, slot.table);
                    for i in 0..PAGES_PER_HUGE {
                        release(phys, Pfn(huge_base(e) + i), e);
                    }
                    self.resident = self.resident.saturating_sub(PAGES_PER_HUGE);
                }
                Step::Done {
                    pfn, level, from, ..
                } => {
                    if let Some(from) = from {
                        wr(phys, from.table, from.idx, Pte(0));
                        used_dec(phys, from.table);
                    }
                    self.free_table(phys, pfn, level, ev);
                }
            }
        }
    }
}
