//! Amaps: the upper, anonymous layer of a mapping (NetBSD `uvm_amap.c`).
//!
//! ```text
//!   map entry --aref{amap, slotoff}--> amap --slots[i]--> anon --> frame
//!                                        ^ refs: entries pointing here
//!                                        ^ ppref[i]: entries covering slot i
//! ```
//!
//! A private mapping's pages that differ from the backing object (or that
//! have no object at all) live in its amap, one slot per page. Several map
//! entries may share an amap: the halves of a split entry cover disjoint
//! slots of it, and after `fork` parent and child cover the same slots with
//! `needs_copy` set until one of them writes (`amap_copy`).
//!
//! UVM keeps per-page reference counts (`am_ppref`) only once an amap is
//! partially referenced and run-length encodes them; this model keeps a
//! plain count per slot from the start, which is the same information with
//! the invariant visible: `ppref[i]` = number of entries whose range covers
//! slot `i`, and a slot whose count drops to zero loses its anon
//! (`amap_pp_adjref` -> `amap_wiperange`).

use super::anon::AnonId;
use serde::Serialize;

/// The id of an amap in the machine's amap table.
pub type AmapId = u32;

/// A map entry's reference into an amap (`struct vm_aref`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct AmapRef {
    pub amap: AmapId,
    /// The slot that holds the entry's first page (`ar_pageoff`).
    pub slotoff: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Amap {
    /// `am_anon`: one optional anon per page slot.
    pub slots: Vec<Option<AnonId>>,
    /// `am_ref`: map entries that reference this amap.
    pub refs: u32,
    /// `am_ppref`: map entries covering each slot.
    pub ppref: Vec<u32>,
}

impl Amap {
    /// `amap_alloc`: an amap of `nslots` empty slots with one reference
    /// covering `[0, covered)`.
    pub fn new(nslots: u64) -> Amap {
        let n = nslots as usize;
        Amap {
            slots: vec![None; n],
            refs: 1,
            ppref: vec![1; n],
        }
    }
    pub fn nslots(&self) -> u64 {
        self.slots.len() as u64
    }
    /// The anon in `slot`, if any (`amap_lookup`).
    pub fn lookup(&self, slot: u64) -> Option<AnonId> {
        self.slots.get(slot as usize).copied().flatten()
    }
    /// Slots in use (`am_nused`).
    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}
