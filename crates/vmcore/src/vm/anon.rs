//! Anons: the unit of anonymous memory (NetBSD `uvm_anon.c`).
//!
//! An anon owns one page and counts the amap slots that point at it
//! (`an_ref`). Two slots sharing one anon is copy-on-write sharing:
//! whoever writes first while `refs > 1` copies the page (fault case 1B).
//!
//! The page is in a frame, on swap, or both (UVM's `an_page` and
//! `an_swslot`; both set is what Linux calls the swap cache):
//!
//! ```text
//!   Resident(pfn) --pageout--> Swapped(slot) --fault, readahead,--> Cached{pfn, slot}
//!        ^                                        WILLNEED               |
//!        '------------- last user's write fault, swapoff ----------------'
//! ```

use crate::addr::Pfn;
use crate::vm::swap::Slot;
use serde::Serialize;

/// The id of an anon in the machine's anon table.
pub type AnonId = u32;

/// Where an anon's bytes are.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AnonPage {
    /// In a frame only.
    Resident { pfn: Pfn },
    /// In a frame and in a swap slot: the page is in the swap cache, and
    /// page tables may hold either the page or the slot's swap entry.
    Cached { pfn: Pfn, slot: Slot },
    /// In a swap slot only.
    Swapped { slot: Slot },
}

#[derive(Clone, Debug, Serialize)]
pub struct Anon {
    pub page: AnonPage,
    /// How many amap slots point here (`an_ref`).
    pub refs: u32,
    /// MADV_FREE: clean and may be discarded instead of swapped.
    pub lazyfree: bool,
    /// `PG_readahead`: read into the swap cache by readahead for another
    /// page's fault, and not found there by a fault since; the first fault
    /// that finds it counts a readahead hit.
    pub readahead: bool,
    /// Where a fault last mapped it (process, address): the reverse map's
    /// hint that reclaim checks before it trusts it (Linux finds the page
    /// through `folio->mapping` and `folio->index`).
    #[serde(skip)]
    pub at: Option<(u32, u64)>,
}

impl Anon {
    /// A new anon whose page is in `pfn`.
    pub fn resident(pfn: Pfn) -> Anon {
        Anon {
            page: AnonPage::Resident { pfn },
            refs: 1,
            lazyfree: false,
            readahead: false,
            at: None,
        }
    }
    /// The frame holding the page, if it is in memory.
    pub fn pfn(&self) -> Option<Pfn> {
        match self.page {
            AnonPage::Resident { pfn } | AnonPage::Cached { pfn, .. } => Some(pfn),
            AnonPage::Swapped { .. } => None,
        }
    }
    /// The swap slot holding the page, if any.
    pub fn slot(&self) -> Option<Slot> {
        match self.page {
            AnonPage::Cached { slot, .. } | AnonPage::Swapped { slot } => Some(slot),
            AnonPage::Resident { .. } => None,
        }
    }
}
