//! The x86_64 paging model: 4-level page tables stored in simulated frames
//! (Intel SDM vol. 3A chapter 4).
//!
//! - [`pte`]: the entry format, its flag bits, and the table geometry;
//! - [`mmu`]: the CPU's translation: TLB lookup, page walk, A/D bits, #PF;
//! - [`tlb`]: the set-associative, PCID-tagged TLB.
//!
//! Building and changing the tables is the pmap's job (`crate::pmap`).

pub mod mmu;
pub mod pte;
pub mod tlb;

pub use mmu::{Access, PageFault, PfErrorCode, Walk, WalkOutcome, WalkStep, translate, walk};
pub use pte::{ADDR_MASK, ENTRIES, LEVELS, MAX_PHYS_BITS, Pte, PteFlags, level_name};
pub use tlb::{Tlb, TlbEntry};
