//! Swap entries in the page tables: where a page was swapped out, its PTE
//! holds a [`SwapPte`] (Linux keeps `swp_entry_t` there; UVM keeps the slot
//! in the anon and leaves the pmap empty, but the Linux personality shows
//! what Linux's tables hold). The MMU ignores a non-present entry, so an
//! access faults and the fault handler finds the entry here.

use super::cursor::{Cursor, Walk};
use super::*;
use crate::arch::x86_64::pte::SwapPte;

impl Pmap {
    /// The swap entry the PTE for `va` holds, if it holds one.
    pub fn swap_entry(&self, phys: &PhysMem, va: VirtAddr) -> Option<SwapPte> {
        if self.swap_entries == 0 {
            return None;
        }
        let w = Walk {
            empty: true,
            ..Walk::LEAVES
        };
        let slot = Cursor::point(phys, self.cr3, lin(va.0), w)?;
        if slot.level != 1 {
            return None;
        }
        SwapPte::decode(slot.pte)
    }
}
