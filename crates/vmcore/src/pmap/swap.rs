//! Swap entries in the page tables: where a page was swapped out, its PTE
//! holds a [`SwapPte`] (Linux keeps `swp_entry_t` there; UVM keeps the slot
//! in the anon and leaves the pmap empty, but the Linux personality shows
//! what Linux's tables hold). The MMU ignores a non-present entry, so an
//! access faults and the fault handler finds the entry here.
//!
//! A swap entry counts as a used entry of its table (the table is not
//! freed under it) and in [`Pmap::swap_entries`], not as resident.
//! [`Pmap::enter`] over a swap entry replaces it (swap-in); the other
//! operations leave swap entries alone except the ones below, which the
//! layers above call where Linux handles non-present entries: zap
//! (`zap_nonpresent_ptes`), fork (`copy_nonpresent_pte`) and mremap
//! (`move_ptes`).

use super::cursor::{self, Cursor, Rules, Step, Walk};
use super::*;
use crate::arch::x86_64::pte::SwapPte;
use crate::event::Event;

/// Walks that hand out every entry of a page table, empty ones included,
/// so that swap entries (not mapped) are seen.
const PT_ENTRIES: Walk = Walk {
    empty: true,
    ..Walk::LEAVES
};

/// The rules of a walk over [`PT_ENTRIES`].
struct PtEntries;
impl Rules for PtEntries {
    const WALK: Walk = PT_ENTRIES;
}

/// The swap entries of `[s, e)` (linear), with their slots.
fn swap_slots(phys: &PhysMem, cr3: Pfn, s: u64, e: u64) -> Vec<(cursor::Slot, SwapPte)> {
    let mut found = Vec::new();
    let mut take = |slot: cursor::Slot| {
        if slot.level == 1
            && let Some(sw) = SwapPte::decode(slot.pte)
        {
            found.push((slot, sw));
        }
    };
    let mut c = Cursor::<PtEntries>::new(phys, cr3, s, e);
    while let Some(step) = c.next(phys) {
        match step {
            Step::Run(mut run) => {
                while let Some(slot) = run.next(phys) {
                    take(slot);
                }
            }
            Step::Entry(slot) => take(slot),
            _ => {}
        }
    }
    found
}

impl Pmap {
    /// Swap entries in the tables (`MM_SWAPENTS`).
    pub fn swap_entries(&self) -> u64 {
        self.swap_entries
    }

    /// The swap entry the PTE for `va` holds, if it holds one.
    pub fn swap_entry(&self, phys: &PhysMem, va: VirtAddr) -> Option<SwapPte> {
        if self.swap_entries == 0 {
            return None;
        }
        let slot = cursor::point(phys, self.cr3, lin(va.0), PT_ENTRIES)?;
        if slot.level != 1 {
            return None;
        }
        SwapPte::decode(slot.pte)
    }

    /// `try_to_unmap_one` for a page going to swap: the present 4 KiB leaf
    /// at `va` becomes the swap entry `sw`. The frame loses a mapping (its
    /// dirty and accessed news kept); the flush of `va` is owed.
    ///
    /// => the caller checked that a 4 KiB leaf maps `va`.
    pub fn swap_out(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        sw: SwapPte,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let va = va.align_down(PAGE_SIZE);
        let mut flush = TlbFlush::none(self.asid);
        let Some(slot) = cursor::point(phys, self.cr3, lin(va.0), Walk::LEAVES) else {
            debug_assert!(false, "no leaf at {va:?} to swap out");
            return flush;
        };
        debug_assert!(slot.level == 1 && slot.pte.is_mapped());
        let (old, new) = (slot.pte, sw.encode());
        wr(phys, slot.table, slot.idx, new);
        release(phys, old.pfn(), old);
        self.resident -= 1;
        self.swap_entries += 1;
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 1,
            old: old.0,
            new: new.0,
        });
        flush.add(va);
        flush
    }

    /// The swap entries of `[start, end)`, in address order, with `f`
    /// deciding for each whether it stays (`Some(new)`: rewritten, e.g.
    /// without its exclusive bit) or goes (`None`: cleared).
    fn edit_swap(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
        mut f: impl FnMut(VirtAddr, SwapPte) -> Option<SwapPte>,
    ) {
        if self.swap_entries == 0 {
            return;
        }
        let Some((s, e)) = page_span(start, end) else {
            return;
        };
        let found = swap_slots(phys, self.cr3, s, e);
        let asid = self.asid;
        for (slot, sw) in found {
            let va = slot.va();
            let new = f(va, sw).map_or(Pte(0), SwapPte::encode);
            if new == slot.pte {
                continue;
            }
            wr(phys, slot.table, slot.idx, new);
            if new.is_unused() {
                used_dec(phys, slot.table);
                self.swap_entries -= 1;
            }
            ev.push_with(|| Event::PteWrite {
                asid,
                va,
                level: 1,
                old: slot.pte.0,
                new: new.0,
            });
        }
    }

    /// Clear the swap entries of `[start, end)` and return them
    /// (`zap_nonpresent_ptes`): the caller drops its use of each slot.
    pub fn take_swap_range(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) -> Vec<(VirtAddr, SwapPte)> {
        let mut out = Vec::new();
        self.edit_swap(phys, start, end, ev, |va, sw| {
            out.push((va, sw));
            None
        });
        out
    }

    /// Fork's half of `copy_nonpresent_pte` in the parent: the swap entries
    /// of `[start, end)` lose their exclusive bit (the page will be shared)
    /// and are returned for the child.
    pub fn share_swap_range(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        ev: &mut EventLog,
    ) -> Vec<(VirtAddr, SwapPte)> {
        let mut out = Vec::new();
        self.edit_swap(phys, start, end, ev, |va, sw| {
            let shared = SwapPte {
                exclusive: false,
                ..sw
            };
            out.push((va, shared));
            Some(shared)
        });
        out
    }

    /// Write the swap entry `sw` at `va` (fork's child, mremap's new
    /// place), building the tables on the way.
    ///
    /// => `va` holds nothing yet.
    /// => on `NoMemory` nothing has changed.
    pub fn put_swap(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        sw: SwapPte,
        ev: &mut EventLog,
    ) -> Result<(), PmapError> {
        let va = va.align_down(PAGE_SIZE);
        let mut flush = TlbFlush::none(self.asid);
        let slot = cursor::point_mut(self, phys, lin(va.0), Walk::ENTER, &mut flush, ev)?
            .expect("an allocating walk ends at its slot");
        // Nothing was mapped here, so no translation can be cached.
        flush.ignore();
        debug_assert!(slot.pte.is_unused(), "put_swap over {:#x}", slot.pte.0);
        let new = sw.encode();
        wr(phys, slot.table, slot.idx, new);
        used_inc(phys, slot.table);
        self.swap_entries += 1;
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 1,
            old: 0,
            new: new.0,
        });
        Ok(())
    }

    /// Every swap entry, in address order (for `check` and views).
    pub fn for_each_swap(&self, phys: &PhysMem, mut f: impl FnMut(VirtAddr, SwapPte)) {
        if self.swap_entries == 0 {
            return;
        }
        for (slot, sw) in swap_slots(phys, self.cr3, 0, LIN_TOP) {
            f(slot.va(), sw);
        }
    }
}
