//! The pmap: machine-independent mapping calls over the x86_64 model
//! (BSD `pmap(9)`; in Linux the page-table half of `mm/memory.c` and
//! `mm/mremap.c`).
//!
//! The VM layer above decides *what* should be mapped; the pmap only builds
//! and edits the page tables that make the MMU see it. Every table lives in a
//! frame allocated from [`PhysMem`] and every entry is a real `u64` in it, so
//! [`crate::arch::x86_64::walk`] reads exactly what the pmap wrote.
//!
//! ```text
//!   Pmap { cr3 } ─► PML4 frame ─► PDPT frame ─► PD frame ─┬─► PT frame ─► 4 KiB frames
//!                    (level 4)     (level 3)    (level 2) │    (level 1)
//!                                                         └─► (PS) 2 MiB run of 512 frames
//! ```
//!
//! Layout of this module:
//!
//! ```text
//!   mod.rs     Pmap, PteProt, Mapping, PmdState; address and table-frame helpers
//!   flush.rs   TlbFlush: the #[must_use] flush a PTE change owes
//!   cursor.rs  Cursor: the one walk over the table tree, steered by Walk flags
//!              (allocate missing tables? split 2 MiB leaves? report tables?)
//!   ops.rs     enter, enter_huge, remove, protect, lookup, pmd, copy_range,
//!              move_range, free_tables, destroy ...: loops over a Cursor
//!   visit.rs   visit_tables, table_frames, for_each_leaf: read-only views
//!   tests.rs   unit tests; instr.rs: fixed workloads for callgrind
//! ```
//!
//! Conventions:
//! - intermediate entries are `P|RW|US` without NX, so the leaf alone
//!   decides the permissions; leaves are `P|US|(RW)|(NX)`;
//! - each page-table frame's count of non-zero entries is kept in
//!   [`PhysMem::table_entries`] (FreeBSD's page-table-page `ref_count`);
//!   an empty table stays until `free_tables`, `reclaim_empty_pts` or
//!   `destroy` frees it (Linux `free_pgtables`);
//! - every leaf change emits `PteWrite`; the MMU's own A/D updates do not;
//! - when a present leaf is removed or replaced, its D bit is carried into
//!   the frame's `dirty` and A into `referenced` (Linux `zap_pte_range`:
//!   `set_page_dirty`, `mark_page_accessed`), so no state is lost;
//! - every call that changes a present leaf returns the [`TlbFlush`] it
//!   owes: the TLB keeps the old translation until that is flushed;
//! - nothing above the pmap needs [`Pte`] bits to decide anything: it asks
//!   [`Pmap::lookup`] (a page) or [`Pmap::pmd`] (a 2 MiB block).
//!
//! Non-canonical addresses are folded onto the 48-bit linear space (bits
//! 63..48 ignored, the gap between the halves clamped to its edge); callers
//! are expected to pass user addresses.

mod cursor;
mod flush;
#[cfg(test)]
mod instr;
mod ops;
mod swap;
#[cfg(test)]
mod tests;
mod visit;

pub use flush::{TLB_SINGLE_PAGE_FLUSH_CEILING, TlbFlush};
pub use visit::TableVisitor;

use crate::addr::{PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE, Pfn, PhysAddr, VirtAddr};
use crate::arch::x86_64::pte::{ENTRIES, Pte, PteFlags};
use crate::event::EventLog;
use crate::phys::{FrameOwner, PhysMem};

/// Flags of a PML4/PDPT/PD entry pointing to the next table.
const TABLE_FLAGS: PteFlags = PteFlags::PRESENT
    .union(PteFlags::WRITABLE)
    .union(PteFlags::USER);
/// The bits `protect` rewrites in a leaf: whether and how it may be used.
/// Everything else (the frame, A/D, PS, software bits) is kept, as Linux's
/// `pte_modify` keeps `_PAGE_CHG_MASK`.
const PROT_BITS: u64 = PteFlags::PRESENT.bits()
    | PteFlags::USER.bits()
    | PteFlags::WRITABLE.bits()
    | PteFlags::NO_EXECUTE.bits()
    | PteFlags::PROTNONE.bits();

/// The permissions of a user leaf (US is always set; reads always allowed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PteProt {
    pub writable: bool,
    /// When false the leaf gets NX.
    pub executable: bool,
}

impl PteProt {
    pub const READ: PteProt = PteProt {
        writable: false,
        executable: false,
    };
    pub const READ_WRITE: PteProt = PteProt {
        writable: true,
        executable: false,
    };
    pub const READ_EXEC: PteProt = PteProt {
        writable: false,
        executable: true,
    };
    pub const ALL: PteProt = PteProt {
        writable: true,
        executable: true,
    };

    /// The flags of a fresh 4 KiB leaf with these permissions (A/D clear).
    pub fn leaf_flags(self) -> PteFlags {
        let mut f = PteFlags::PRESENT | PteFlags::USER;
        if self.writable {
            f |= PteFlags::WRITABLE;
        }
        if !self.executable {
            f |= PteFlags::NO_EXECUTE;
        }
        f
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PmapError {
    /// No free frame for a page table.
    NoMemory,
}

/// One 4 KiB page a `remove` took away, with its leaf's bits.
#[derive(Clone, Copy, Debug)]
pub struct Unmapped {
    pub va: VirtAddr,
    pub pfn: Pfn,
    pub dirty: bool,
    pub accessed: bool,
    pub writable: bool,
}

/// What a present leaf says about one 4 KiB page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The 4 KiB frame of the page (inside a huge mapping too).
    pub pfn: Pfn,
    /// The CPU may use the entry (false: PROTNONE, every access faults).
    pub present: bool,
    pub writable: bool,
    pub executable: bool,
    pub dirty: bool,
    pub accessed: bool,
    /// Mapped by a 2 MiB PD entry.
    pub huge: bool,
}

/// What the page tables hold for the 2 MiB block around an address: the
/// PD entry (Linux's PMD) that covers it. Names after Linux's PMD tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmdState {
    /// No page table covers the block (`pmd_none`): the PD entry, or an
    /// entry above it, is empty. A 2 MiB page could be mapped here at once
    /// (`do_huge_pmd_anonymous_page`); khugepaged finds nothing to collapse
    /// (`SCAN_PMD_NULL`).
    None,
    /// A page table maps the block in 4 KiB pages (`!pmd_none &&
    /// !pmd_trans_huge`); it may hold no entries at all.
    Table,
    /// One 2 MiB leaf maps the block (`pmd_trans_huge`), present or
    /// PROT_NONE (check with [`Pmap::lookup`]'s `present`).
    Huge,
}

/// One address space's page tables.
#[derive(Clone, Debug)]
pub struct Pmap {
    cr3: Pfn,
    asid: u16,
    resident: u64,
    /// Swap entries in the tables (`MM_SWAPENTS`): the walks that look for
    /// them are skipped while there are none.
    swap_entries: u64,
}

impl Pmap {
    /// A new, empty address space: allocates its PML4 frame.
    pub fn new(phys: &mut PhysMem, asid: u16, ev: &mut EventLog) -> Result<Pmap, PmapError> {
        let cr3 = phys
            .alloc(FrameOwner::PageTable { asid, level: 4 }, ev)
            .ok_or(PmapError::NoMemory)?;
        Ok(Pmap {
            cr3,
            asid,
            resident: 0,
            swap_entries: 0,
        })
    }

    /// The PML4 frame (what CR3 holds while this address space runs).
    pub fn cr3(&self) -> Pfn {
        self.cr3
    }
    pub fn asid(&self) -> u16 {
        self.asid
    }
    /// 4 KiB pages mapped (a 2 MiB mapping counts 512).
    pub fn resident_pages(&self) -> u64 {
        self.resident
    }
}

// ---- linear-address helpers -------------------------------------------

const HALF: u64 = 1 << 47;
const UPPER: u64 = 0xffff_0000_0000_0000;
const LIN_TOP: u64 = 1 << 48;

/// A virtual address as an offset in the 48-bit space the PML4 covers.
#[inline]
fn lin(va: u64) -> u64 {
    if va >= UPPER | HALF {
        va - UPPER
    } else {
        va.min(HALF)
    }
}

/// The canonical address of a 48-bit linear offset.
#[inline]
fn canon(l: u64) -> VirtAddr {
    if l >= HALF {
        VirtAddr(l | UPPER)
    } else {
        VirtAddr(l)
    }
}

/// The whole pages of `[start, end)` as linear offsets, if any.
#[inline]
fn page_span(start: VirtAddr, end: VirtAddr) -> Option<(u64, u64)> {
    let s = lin(start.0) & !(PAGE_SIZE - 1);
    let e = lin(end.0).next_multiple_of(PAGE_SIZE).min(LIN_TOP);
    (s < e).then_some((s, e))
}

/// Bytes one entry of a table at `level` covers.
#[inline]
fn shift_of(level: u8) -> u32 {
    PAGE_SHIFT + 9 * (level as u32 - 1)
}

// ---- table-frame helpers ---------------------------------------------

#[inline]
fn rd(phys: &PhysMem, table: Pfn, idx: usize) -> Pte {
    Pte(phys.read_u64(PhysAddr((table.0 << PAGE_SHIFT) | (idx as u64 * 8))))
}

#[inline]
fn wr(phys: &mut PhysMem, table: Pfn, idx: usize, pte: Pte) {
    phys.write_u64(PhysAddr((table.0 << PAGE_SHIFT) | (idx as u64 * 8)), pte.0)
}

/// The first non-zero entry of `table` among `from..=last`, if any: one
/// tight scan over the frame's bytes, for the rows of empty slots of a
/// sparse tree (`from` may be `last + 1`: nothing to scan). Kept out of
/// line: the walks' loops over dense tables stay small.
#[inline(never)]
fn next_used(phys: &PhysMem, table: Pfn, from: usize, last: usize) -> Option<(usize, Pte)> {
    debug_assert!(from <= last + 1 && last < ENTRIES);
    // No bytes: the frame is all zero.
    let bytes = phys.frame_bytes(table)?;
    bytes[from * 8..(last + 1) * 8]
        .chunks_exact(8)
        .position(|b| b != [0; 8])
        .map(|i| (from + i, rd(phys, table, from + i)))
}

/// Non-zero entries in a table frame.
#[inline]
fn used(phys: &PhysMem, table: Pfn) -> u32 {
    phys.table_entries(table)
}

#[inline]
fn used_inc(phys: &mut PhysMem, table: Pfn) {
    let n = phys.table_entries(table) + 1;
    debug_assert!(n as usize <= ENTRIES);
    phys.set_table_entries(table, n);
}

#[inline]
fn used_dec(phys: &mut PhysMem, table: Pfn) {
    let n = phys.table_entries(table);
    debug_assert!(n > 0);
    phys.set_table_entries(table, n.saturating_sub(1));
}

/// A leaf no longer maps `pfn`: drop the mapcount, keep its A/D news.
#[inline]
fn release(phys: &mut PhysMem, pfn: Pfn, leaf: Pte) {
    debug_assert!(
        phys.desc(pfn).mapcount > 0,
        "mapcount underflow on frame {pfn}"
    );
    let f = leaf.flags();
    phys.unmap_leaf(
        pfn,
        f.contains(PteFlags::DIRTY),
        f.contains(PteFlags::ACCESSED),
    );
}

#[inline]
fn huge_base(leaf: Pte) -> u64 {
    leaf.pfn().0 & !(PAGES_PER_HUGE - 1)
}

/// Index range `first..=last` of a table at `level` whose entries (table
/// starting at linear `base`) meet `[s, e)`; `None` if they do not meet.
#[inline]
fn span_indices(level: u8, base: u64, s: u64, e: u64) -> Option<(usize, usize)> {
    let shift = shift_of(level);
    let top = base + ((ENTRIES as u64) << shift);
    let (s, e) = (s.max(base), e.min(top));
    if s >= e {
        return None;
    }
    Some((
        ((s - base) >> shift) as usize,
        ((e - 1 - base) >> shift) as usize,
    ))
}
