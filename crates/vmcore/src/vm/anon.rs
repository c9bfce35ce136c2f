//! Anons: the unit of anonymous memory (NetBSD `uvm_anon.c`).
//!
//! An anon owns one resident page and counts the amap slots that point at
//! it (`an_ref`). Two slots sharing one anon is copy-on-write sharing:
//! whoever writes first while `refs > 1` copies the page (fault case 1B).

use crate::addr::Pfn;
use serde::Serialize;

/// The id of an anon in the machine's anon table.
pub type AnonId = u32;

#[derive(Clone, Debug, Serialize)]
pub struct Anon {
    /// The frame that holds the page's bytes.
    pub pfn: Pfn,
    /// How many amap slots point here (`an_ref`).
    pub refs: u32,
    /// MADV_FREE: clean and may be discarded instead of swapped.
    pub lazyfree: bool,
}
