//! The pmap: machine-independent mapping calls over the x86_64 model
//! (BSD `pmap(9)`; in Linux the page-table half of `mm/memory.c`).
//!
//! The VM layer above decides *what* should be mapped; the pmap only builds
//! and edits the page tables that make the MMU see it. Every table lives in a
//! frame allocated from [`PhysMem`] and every entry is a real `u64` in it, so
//! [`crate::arch::x86_64::walk`] reads exactly what the pmap wrote.
//!
//! ```text
//!   Pmap { cr3 } ─► PML4 frame ─► PDPT frame ─► PD frame ─┬─► PT frame ─► 4 KiB frames
//!                                                         └─► (PS) 2 MiB run of 512 frames
//! ```
//!
//! Conventions:
//! - intermediate entries are `P|RW|US` without NX, so the leaf alone
//!   decides the permissions; leaves are `P|US|(RW)|(NX)`;
//! - each page-table frame's count of non-zero entries is kept in
//!   [`PhysMem::table_entries`] (FreeBSD's page-table-page `ref_count`): a
//!   table whose count drops to 0 is freed at once and its parent entry
//!   cleared;
//! - every leaf change emits `PteWrite`; the MMU's own A/D updates do not;
//! - when a present leaf is removed or replaced, its D bit is carried into
//!   the frame's `dirty` and A into `referenced` (Linux `zap_pte_range`:
//!   `set_page_dirty`, `mark_page_accessed`), so no state is lost;
//! - every call that changes a present leaf returns the [`TlbFlush`] it
//!   owes: the TLB keeps the old translation until that is flushed.
//!
//! Non-canonical addresses are folded onto the 48-bit linear space (bits
//! 63..48 ignored, the gap between the halves clamped to its edge); callers
//! are expected to pass user addresses.

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE, Pfn, PhysAddr, VirtAddr};
use crate::arch::x86_64::pte::{ADDR_MASK, ENTRIES, Pte, PteFlags};
use crate::arch::x86_64::tlb::Tlb;
use crate::event::{Event, EventLog};
use crate::phys::{FrameOwner, PhysMem};

/// Above this many pages one flush of the whole address space is cheaper
/// than an INVLPG per page (Linux `tlb_single_page_flush_ceiling`).
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: usize = 33;

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

/// Pages a [`TlbFlush`] lists one by one before it switches to a range.
const FLUSH_INLINE: usize = 4;

/// The TLB flush a PTE change owes (the x86_64 crate's `MapperFlush`,
/// Linux's `mmu_gather`): a few pages listed one by one, or else the range
/// `[start, end)` covering every page changed. When the flush is done, a
/// range of more than [`TLB_SINGLE_PAGE_FLUSH_CEILING`] pages becomes one
/// flush of the whole address space (`flush_tlb_mm_range`). Flush it with
/// [`TlbFlush::flush`] or drop the obligation with [`TlbFlush::ignore`].
///
/// A 2 MiB translation is owed as its first 4 KiB page: INVLPG of any
/// address inside a large page drops the large-page entry.
#[must_use = "a changed PTE leaves a stale TLB entry until it is flushed"]
#[derive(Debug)]
pub struct TlbFlush {
    asid: u16,
    /// The whole address space is owed.
    all: bool,
    /// Pages listed in `list` (range mode when more than FLUSH_INLINE).
    len: u8,
    list: [u64; FLUSH_INLINE],
    /// Range mode: the pages `start..end` (byte addresses, page aligned).
    start: u64,
    end: u64,
}

impl TlbFlush {
    /// Nothing to flush.
    #[inline]
    pub fn none(asid: u16) -> TlbFlush {
        TlbFlush {
            asid,
            all: false,
            len: 0,
            list: [0; FLUSH_INLINE],
            start: 0,
            end: 0,
        }
    }
    /// One page (or the 2 MiB page covering `va`) to flush.
    pub fn page(asid: u16, va: VirtAddr) -> TlbFlush {
        let mut f = TlbFlush::none(asid);
        f.add(va);
        f
    }
    /// The address space whose entries are to be flushed.
    pub fn asid(&self) -> u16 {
        self.asid
    }
    pub fn is_empty(&self) -> bool {
        !self.all && self.len == 0
    }
    #[inline]
    fn is_range(&self) -> bool {
        self.len as usize > FLUSH_INLINE
    }
    /// Pages owed in range mode.
    #[inline]
    fn range_pages(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }
    /// Whether flushing will drop the whole address space's translations.
    pub fn is_all(&self) -> bool {
        self.all || (self.is_range() && self.range_pages() > TLB_SINGLE_PAGE_FLUSH_CEILING as u64)
    }
    /// The pages that will be INVLPGed, in order (empty when
    /// [`TlbFlush::is_all`]).
    pub fn pages(&self) -> Vec<VirtAddr> {
        if self.is_all() {
            Vec::new()
        } else if self.is_range() {
            (self.start..self.end)
                .step_by(PAGE_SIZE as usize)
                .map(VirtAddr)
                .collect()
        } else {
            self.list[..self.len as usize]
                .iter()
                .map(|&v| VirtAddr(v))
                .collect()
        }
    }
    /// Owe a flush of `va`'s page too.
    #[inline]
    pub fn add(&mut self, va: VirtAddr) {
        let page = va.0 & !(PAGE_SIZE - 1);
        let n = self.len as usize;
        if self.all {
        } else if n > FLUSH_INLINE {
            self.start = self.start.min(page);
            self.end = self.end.max(page + PAGE_SIZE);
        } else if n > 0 && self.list[n - 1] == page {
        } else if n < FLUSH_INLINE {
            self.list[n] = page;
            self.len += 1;
        } else {
            // Too many to list: cover them all with one range.
            let lo = self.list.iter().copied().fold(page, u64::min);
            let hi = self.list.iter().copied().fold(page, u64::max);
            self.start = lo;
            self.end = hi.saturating_add(PAGE_SIZE);
            self.len = FLUSH_INLINE as u8 + 1;
        }
    }
    /// Take over `other`'s obligation (same address space).
    pub fn merge(&mut self, other: TlbFlush) {
        debug_assert_eq!(
            self.asid, other.asid,
            "merging flushes of two address spaces"
        );
        if other.all {
            self.all = true;
        } else if other.is_range() {
            self.add(VirtAddr(other.start));
            self.add(VirtAddr(other.end - PAGE_SIZE));
            // Both ends added: make sure we are in range mode covering them.
            if !self.is_range() {
                let (lo, hi) = (other.start, other.end);
                let list = self.list;
                let n = self.len as usize;
                self.start = list[..n].iter().copied().fold(lo, u64::min);
                self.end = list[..n].iter().map(|&p| p + PAGE_SIZE).fold(hi, u64::max);
                self.len = FLUSH_INLINE as u8 + 1;
            } else {
                self.start = self.start.min(other.start);
                self.end = self.end.max(other.end);
            }
        } else {
            for &p in &other.list[..other.len as usize] {
                self.add(VirtAddr(p));
            }
        }
    }
    /// Do it: INVLPG per page (event `TlbFlushPage` each), or one flush of
    /// the address space (event `TlbFlushAsid`).
    #[inline]
    pub fn flush(self, tlb: &mut Tlb, ev: &mut EventLog) {
        // Filling an empty PTE owes nothing (the usual case on a fault).
        if !self.is_empty() {
            self.flush_owed(tlb, ev);
        }
    }
    fn flush_owed(&self, tlb: &mut Tlb, ev: &mut EventLog) {
        let asid = self.asid;
        if self.is_all() {
            let removed = tlb.flush_asid(asid);
            ev.push_with(|| Event::TlbFlushAsid { asid, removed });
        } else if self.is_range() {
            let n = self.range_pages() as usize;
            tlb.flush_pages(asid, VirtAddr(self.start), n, |va, removed| {
                ev.push_with(|| Event::TlbFlushPage { asid, va, removed })
            });
        } else {
            for &p in &self.list[..self.len as usize] {
                let va = VirtAddr(p);
                let removed = tlb.flush_page(asid, va);
                ev.push_with(|| Event::TlbFlushPage { asid, va, removed });
            }
        }
    }
    /// Drop the obligation on purpose (e.g. the address space is not loaded
    /// and its TLB entries are flushed wholesale later).
    pub fn ignore(self) {}
}

/// What [`Pmap::visit_tables`] shows a visitor.
pub trait TableVisitor {
    /// A table frame `pfn` at `level` (4 = PML4 .. 1 = PT) translating
    /// `[start, last]`, with `used` non-zero entries.
    fn table(&mut self, pfn: Pfn, level: u8, start: VirtAddr, last: VirtAddr, used: u32);
    /// Present entry `index` of the current table, translating from `va`;
    /// `leaf`: it maps a page (4 KiB, or 2 MiB with PS) rather than a
    /// table. Return false to stop this table here.
    fn entry(&mut self, index: usize, pte: Pte, va: VirtAddr, level: u8, leaf: bool) -> bool;
    /// The current table is done; `cut`: `entry` stopped it early.
    fn end_table(&mut self, cut: bool);
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

/// One address space's page tables.
#[derive(Clone, Debug)]
pub struct Pmap {
    cr3: Pfn,
    asid: u16,
    resident: u64,
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

/// The state of one range operation (`remove`, `protect`): the flush it
/// owes, where removed pages are reported, and the linear range `[s, e)`.
struct Zap<'a> {
    flush: &'a mut TlbFlush,
    /// Pages reported as unmapped (`remove` only).
    out: Option<&'a mut Vec<Unmapped>>,
    s: u64,
    e: u64,
    /// `protect`: the RW/NX bits leaves get.
    bits: u64,
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

    fn alloc_table(
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

    /// The table at `target` level (1 = PT, 2 = PD) for `va`, allocating the
    /// missing tables on the way (`pmap_alloc_ptp` / `__pte_alloc`) and
    /// demoting a 2 MiB leaf that is in the way.
    ///
    /// => on `NoMemory` nothing has changed: the frames needed are counted
    ///    before any is taken.
    fn table_for(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        target: u8,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) -> Result<Pfn, PmapError> {
        // Down through the tables that exist.
        let mut t = self.cr3;
        let mut level = 4;
        let mut e = Pte(0);
        while level > target {
            e = rd(phys, t, va.table_index(level));
            if !e.is_present() || (level == 2 && e.is_huge()) {
                break;
            }
            t = e.pfn();
            level -= 1;
        }
        if level == target {
            return Ok(t);
        }
        let huge = e.is_mapped();
        let need = if huge { 1 } else { (level - target) as u64 };
        if phys.free_frames() < need {
            return Err(PmapError::NoMemory);
        }
        if huge {
            let idx = va.table_index(2);
            flush.merge(self.demote_at(phys, t, idx, va.align_down(HUGE_PAGE_SIZE), ev)?);
            return Ok(rd(phys, t, idx).pfn());
        }
        while level > target {
            let idx = va.table_index(level);
            let n = self.alloc_table(phys, level - 1, va, ev)?;
            if rd(phys, t, idx).is_unused() {
                used_inc(phys, t);
            }
            wr(phys, t, idx, Pte::new(n, TABLE_FLAGS));
            t = n;
            level -= 1;
        }
        Ok(t)
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
        let va = va.align_down(PAGE_SIZE);
        let mut flush = TlbFlush::none(self.asid);
        let pt = self.table_for(phys, va, 1, &mut flush, ev)?;
        let idx = va.table_index(1);
        let old = rd(phys, pt, idx);
        let new = Pte::new(pfn, prot.leaf_flags());
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
            }
        }
        Ok(flush)
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
        let pd = self.table_for(phys, va, 2, &mut flush, ev)?;
        let idx = va.table_index(2);
        let old = rd(phys, pd, idx);
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
                    let l = lin(va.0);
                    let mut zap = Zap {
                        flush: &mut flush,
                        out: None,
                        s: l,
                        e: l + HUGE_PAGE_SIZE,
                        bits: 0,
                    };
                    self.zap_pt(phys, pt, l, &mut zap, ev);
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
    fn demote_at(
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

    /// Clear the PT leaf `pt[idx]` (page at linear `l`), reporting it.
    fn zap_pte(
        &mut self,
        phys: &mut PhysMem,
        pt: Pfn,
        idx: usize,
        l: u64,
        zap: &mut Zap,
        ev: &mut EventLog,
    ) {
        let old = rd(phys, pt, idx);
        let va = canon(l);
        wr(phys, pt, idx, Pte(0));
        used_dec(phys, pt);
        release(phys, old.pfn(), old);
        self.resident -= 1;
        let asid = self.asid;
        ev.push_with(|| Event::PteWrite {
            asid,
            va,
            level: 1,
            old: old.0,
            new: 0,
        });
        zap.flush.add(va);
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

    /// Clear every present PTE of `pt` (table at linear `base`) in the zap range.
    fn zap_pt(&mut self, phys: &mut PhysMem, pt: Pfn, base: u64, zap: &mut Zap, ev: &mut EventLog) {
        let Some((first, last)) = span_indices(1, base, zap.s, zap.e) else {
            return;
        };
        for idx in first..=last {
            if rd(phys, pt, idx).is_mapped() {
                self.zap_pte(phys, pt, idx, base + ((idx as u64) << PAGE_SHIFT), zap, ev);
            }
        }
    }

    /// Clear the 2 MiB leaf `pd[idx]` (at linear `l`); reports the 4 KiB
    /// pages that lie in the zap range.
    fn zap_huge(
        &mut self,
        phys: &mut PhysMem,
        pd: Pfn,
        idx: usize,
        l: u64,
        zap: &mut Zap,
        ev: &mut EventLog,
    ) {
        let old = rd(phys, pd, idx);
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
        zap.flush.add(va);
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

    fn remove_into(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        out: Option<&mut Vec<Unmapped>>,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        if let Some((s, e)) = page_span(start, end) {
            let mut zap = Zap {
                flush: &mut flush,
                out,
                s,
                e,
                bits: 0,
            };
            self.remove_in(phys, self.cr3, 4, 0, &mut zap, ev);
        }
        flush
    }

    fn remove_in(
        &mut self,
        phys: &mut PhysMem,
        table: Pfn,
        level: u8,
        base: u64,
        zap: &mut Zap,
        ev: &mut EventLog,
    ) {
        if level == 1 {
            return self.zap_pt(phys, table, base, zap, ev);
        }
        let Some((first, last)) = span_indices(level, base, zap.s, zap.e) else {
            return;
        };
        let shift = shift_of(level);
        for idx in first..=last {
            let e = rd(phys, table, idx);
            if !e.is_mapped() {
                continue;
            }
            let lo = base + ((idx as u64) << shift);
            let hi = lo + (1 << shift);
            if level == 2 && e.is_huge() {
                if zap.s <= lo && hi <= zap.e {
                    self.zap_huge(phys, table, idx, lo, zap, ev);
                    continue;
                }
                match self.demote_at(phys, table, idx, canon(lo), ev) {
                    Ok(f) => zap.flush.merge(f),
                    Err(PmapError::NoMemory) => {
                        self.zap_huge(phys, table, idx, lo, zap, ev);
                        continue;
                    }
                }
            }
            let child = rd(phys, table, idx).pfn();
            self.remove_in(phys, child, level - 1, lo, zap, ev);
        }
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
        self.free_tables_in(phys, self.cr3, 4, 0, (s, e), (floor, ceiling, 3), ev);
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
        self.free_tables_in(phys, self.cr3, 4, 0, (s, e), (s, e, 1), ev);
    }

    #[allow(clippy::too_many_arguments)]
    fn free_tables_in(
        &mut self,
        phys: &mut PhysMem,
        table: Pfn,
        level: u8,
        base: u64,
        (s, e): (u64, u64),
        (floor, ceiling, top): (u64, u64, u8),
        ev: &mut EventLog,
    ) {
        let Some((first, last)) = span_indices(level, base, s, e) else {
            return;
        };
        let shift = shift_of(level);
        for idx in first..=last {
            let entry = rd(phys, table, idx);
            if !entry.is_mapped() || (level == 2 && entry.is_huge()) {
                continue;
            }
            let lo = base + ((idx as u64) << shift);
            let hi = lo + (1 << shift);
            let child = entry.pfn();
            if level > 2 {
                self.free_tables_in(
                    phys,
                    child,
                    level - 1,
                    lo,
                    (s, e),
                    (floor, ceiling, top),
                    ev,
                );
            }
            // `top`: the highest level of table that may go.
            if level - 1 <= top && used(phys, child) == 0 && floor <= lo && hi <= ceiling {
                wr(phys, table, idx, Pte(0));
                used_dec(phys, table);
                self.free_table(phys, child, level - 1, ev);
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

    fn protect_bits(
        &mut self,
        phys: &mut PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        bits: u64,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        if let Some((s, e)) = page_span(start, end) {
            let mut zap = Zap {
                flush: &mut flush,
                out: None,
                s,
                e,
                bits,
            };
            self.protect_in(phys, self.cr3, 4, 0, &mut zap, ev);
        }
        flush
    }

    fn protect_in(
        &mut self,
        phys: &mut PhysMem,
        table: Pfn,
        level: u8,
        base: u64,
        zap: &mut Zap,
        ev: &mut EventLog,
    ) {
        let Some((first, last)) = span_indices(level, base, zap.s, zap.e) else {
            return;
        };
        let shift = shift_of(level);
        for idx in first..=last {
            let e = rd(phys, table, idx);
            if !e.is_mapped() {
                continue;
            }
            let lo = base + ((idx as u64) << shift);
            let hi = lo + (1 << shift);
            let leaf = level == 1 || (level == 2 && e.is_huge());
            if leaf && (level == 1 || (zap.s <= lo && hi <= zap.e)) {
                let new = Pte((e.0 & !PROT_BITS) | zap.bits);
                if new != e {
                    wr(phys, table, idx, new);
                    let (asid, va) = (self.asid, canon(lo));
                    ev.push_with(|| Event::PteWrite {
                        asid,
                        va,
                        level,
                        old: e.0,
                        new: new.0,
                    });
                    zap.flush.add(va);
                }
                continue;
            }
            if leaf {
                match self.demote_at(phys, table, idx, canon(lo), ev) {
                    Ok(f) => zap.flush.merge(f),
                    Err(PmapError::NoMemory) => {
                        self.zap_huge(phys, table, idx, lo, zap, ev);
                        continue;
                    }
                }
            }
            let child = rd(phys, table, idx).pfn();
            self.protect_in(phys, child, level - 1, lo, zap, ev);
        }
    }

    /// The leaf mapping `va`: (table, index, level, entry).
    fn find_leaf(&self, phys: &PhysMem, va: VirtAddr) -> Option<(Pfn, usize, u8, Pte)> {
        let mut t = self.cr3;
        for level in (1..=4u8).rev() {
            let idx = va.table_index(level);
            let e = rd(phys, t, idx);
            if !e.is_mapped() {
                return None;
            }
            if level == 1 || (level == 2 && e.is_huge()) {
                return Some((t, idx, level, e));
            }
            t = e.pfn();
        }
        None
    }

    /// What the page tables say about `va` (`pmap_extract`); `pfn` is the
    /// 4 KiB frame of `va` even inside a 2 MiB mapping.
    pub fn lookup(&self, phys: &PhysMem, va: VirtAddr) -> Option<Mapping> {
        let (_, _, level, e) = self.find_leaf(phys, va)?;
        let huge = level == 2;
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

    /// Clear `flag` in the leaf mapping `va`; a flush is owed if it was set.
    fn clear_flag(
        &mut self,
        phys: &mut PhysMem,
        va: VirtAddr,
        flag: PteFlags,
        ev: &mut EventLog,
    ) -> TlbFlush {
        let mut flush = TlbFlush::none(self.asid);
        if let Some((t, idx, level, old)) = self.find_leaf(phys, va)
            && old.flags().contains(flag)
        {
            let new = old.without(flag);
            wr(phys, t, idx, new);
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
            flush.add(va);
        }
        flush
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
            Some((pd, idx, 2, _)) => {
                self.demote_at(phys, pd, idx, va.align_down(HUGE_PAGE_SIZE), ev)
            }
            _ => Ok(TlbFlush::none(self.asid)),
        }
    }

    /// Free every page-table frame (`pmap_destroy`).
    ///
    /// => caller removed all mappings first (checked in debug builds; any
    ///    left over have their mapcounts dropped).
    pub fn destroy(mut self, phys: &mut PhysMem, ev: &mut EventLog) {
        debug_assert_eq!(self.resident, 0, "pmap destroyed with pages still mapped");
        self.destroy_in(phys, self.cr3, 4, ev);
        self.free_table(phys, self.cr3, 4, ev);
    }

    fn destroy_in(&mut self, phys: &mut PhysMem, table: Pfn, level: u8, ev: &mut EventLog) {
        let mut left = used(phys, table);
        let mut idx = 0;
        while left > 0 && idx < ENTRIES {
            let e = rd(phys, table, idx);
            if !e.is_unused() {
                left -= 1;
                wr(phys, table, idx, Pte(0));
                used_dec(phys, table);
                if e.is_mapped() {
                    if level == 1 {
                        release(phys, e.pfn(), e);
                        self.resident = self.resident.saturating_sub(1);
                    } else if level == 2 && e.is_huge() {
                        for i in 0..PAGES_PER_HUGE {
                            release(phys, Pfn(huge_base(e) + i), e);
                        }
                        self.resident = self.resident.saturating_sub(PAGES_PER_HUGE);
                    } else {
                        self.destroy_in(phys, e.pfn(), level - 1, ev);
                        self.free_table(phys, e.pfn(), level - 1, ev);
                    }
                }
            }
            idx += 1;
        }
    }

    /// Every page-table frame with its level, PML4 first, then depth-first
    /// in address order.
    pub fn table_frames(&self, phys: &PhysMem) -> Vec<(Pfn, u8)> {
        fn visit(phys: &PhysMem, t: Pfn, level: u8, out: &mut Vec<(Pfn, u8)>) {
            out.push((t, level));
            if level == 1 {
                return;
            }
            for_used(phys, t, |_, e| {
                if e.is_present() && !(level == 2 && e.is_huge()) {
                    visit(phys, e.pfn(), level - 1, out);
                }
            });
        }
        let mut out = Vec::new();
        visit(phys, self.cr3, 4, &mut out);
        out
    }

    /// Walk the tree of table frames from CR3 in address order, for views
    /// of it: `v.table` for each table, `v.entry` for each present entry
    /// (a non-leaf entry's table is visited right after it, unless `entry`
    /// says stop), `v.end_table` when a table is done.
    pub fn visit_tables(&self, phys: &PhysMem, v: &mut impl TableVisitor) {
        fn visit(phys: &PhysMem, t: Pfn, level: u8, base: u64, v: &mut dyn TableVisitor) {
            let shift = shift_of(level);
            let span = 1u64 << (shift + 9);
            v.table(
                t,
                level,
                canon(base),
                canon(base + (span - 1)),
                used(phys, t),
            );
            let mut left = used(phys, t);
            let mut cut = false;
            for idx in 0..ENTRIES {
                if left == 0 {
                    break;
                }
                let e = rd(phys, t, idx);
                if e.is_unused() {
                    continue;
                }
                left -= 1;
                if !e.is_mapped() {
                    continue;
                }
                let l = base + ((idx as u64) << shift);
                let leaf = level == 1 || (level == 2 && e.is_huge());
                if !v.entry(idx, e, canon(l), level, leaf) {
                    cut = true;
                    break;
                }
                if !leaf {
                    visit(phys, e.pfn(), level - 1, l, v);
                }
            }
            v.end_table(cut);
        }
        visit(phys, self.cr3, 4, 0, v);
    }

    /// Call `f(va, leaf, level)` for every present leaf (level 1, or 2 for a
    /// 2 MiB leaf) in address order.
    pub fn for_each_leaf(&self, phys: &PhysMem, mut f: impl FnMut(VirtAddr, Pte, u8)) {
        fn visit(
            phys: &PhysMem,
            t: Pfn,
            level: u8,
            base: u64,
            f: &mut dyn FnMut(VirtAddr, Pte, u8),
        ) {
            let shift = shift_of(level);
            for_used(phys, t, |idx, e| {
                if !e.is_mapped() {
                    return;
                }
                let l = base + ((idx as u64) << shift);
                if level == 1 || (level == 2 && e.is_huge()) {
                    f(canon(l), e, level);
                } else {
                    visit(phys, e.pfn(), level - 1, l, f);
                }
            });
        }
        visit(phys, self.cr3, 4, 0, &mut f);
    }

    /// [`Pmap::for_each_leaf`] for the leaves that meet `[start, end)` only
    /// (a 2 MiB leaf across an edge is reported whole), descending only
    /// into the tables that meet the range.
    pub fn for_each_leaf_in(
        &self,
        phys: &PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        mut f: impl FnMut(VirtAddr, Pte, u8),
    ) {
        type Visit<'a> = &'a mut dyn FnMut(VirtAddr, Pte, u8);
        fn visit(phys: &PhysMem, t: Pfn, level: u8, base: u64, s: u64, e: u64, f: Visit) {
            let Some((first, last)) = span_indices(level, base, s, e) else {
                return;
            };
            let shift = shift_of(level);
            for idx in first..=last {
                let en = rd(phys, t, idx);
                if !en.is_mapped() {
                    continue;
                }
                let l = base + ((idx as u64) << shift);
                if level == 1 || (level == 2 && en.is_huge()) {
                    f(canon(l), en, level);
                } else {
                    visit(phys, en.pfn(), level - 1, l, s, e, f);
                }
            }
        }
        visit(phys, self.cr3, 4, 0, lin(start.0), lin(end.0), &mut f);
    }
}

/// Call `f(index, entry)` for the non-zero entries of `table` in index
/// order, stopping once the table's count of used entries is reached.
fn for_used(phys: &PhysMem, table: Pfn, mut f: impl FnMut(usize, Pte)) {
    let mut left = used(phys, table);
    let mut idx = 0;
    while left > 0 && idx < ENTRIES {
        let e = rd(phys, table, idx);
        if !e.is_unused() {
            left -= 1;
            f(idx, e);
        }
        idx += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::mmu::{Access, PfErrorCode, WalkOutcome, translate, walk};
    use std::collections::BTreeMap;

    struct Rig {
        phys: PhysMem,
        tlb: Tlb,
        ev: EventLog,
        pmap: Pmap,
    }

    impl Rig {
        fn new(frames: u64) -> Rig {
            let mut phys = PhysMem::new(frames);
            let mut ev = EventLog::new(true);
            let pmap = Pmap::new(&mut phys, 7, &mut ev).unwrap();
            ev.take();
            Rig {
                phys,
                tlb: Tlb::new(16, 4),
                ev,
                pmap,
            }
        }
        fn frame(&mut self) -> Pfn {
            self.phys
                .alloc(FrameOwner::Anon { anon: 0 }, &mut self.ev)
                .unwrap()
        }
        fn enter(&mut self, va: u64, pfn: Pfn, prot: PteProt) -> TlbFlush {
            self.pmap
                .enter(&mut self.phys, VirtAddr(va), pfn, prot, &mut self.ev)
                .unwrap()
        }
        fn go(&mut self, va: u64, a: Access) -> Result<PhysAddr, crate::arch::x86_64::PageFault> {
            let cr3 = self.pmap.cr3();
            translate(
                &mut self.phys,
                &mut self.tlb,
                cr3,
                7,
                VirtAddr(va),
                a,
                &mut self.ev,
            )
        }
        /// Every invariant the pmap keeps, checked from the frames.
        fn check(&self) {
            let mut resident = 0;
            let mut maps: BTreeMap<Pfn, u32> = BTreeMap::new();
            for (t, level) in self.pmap.table_frames(&self.phys) {
                assert!(self.phys.is_allocated(t));
                assert_eq!(
                    self.phys.desc(t).owner,
                    FrameOwner::PageTable { asid: 7, level }
                );
                let nonzero = (0..ENTRIES)
                    .filter(|&i| !rd(&self.phys, t, i).is_unused())
                    .count();
                assert_eq!(
                    used(&self.phys, t) as usize,
                    nonzero,
                    "count of table {t} level {level}"
                );
            }
            self.pmap.for_each_leaf(&self.phys, |_, pte, level| {
                let n = if level == 2 { PAGES_PER_HUGE } else { 1 };
                resident += n;
                for i in 0..n {
                    *maps.entry(pte.pfn().add(i)).or_default() += 1;
                }
            });
            assert_eq!(resident, self.pmap.resident_pages());
            for p in self.phys.allocated() {
                assert_eq!(
                    self.phys.desc(p).mapcount,
                    maps.get(&p).copied().unwrap_or(0),
                    "mapcount of {p}"
                );
            }
        }
    }

    #[test]
    fn enter_builds_tables_and_lookup_agrees_with_the_walk() {
        let mut r = Rig::new(4096);
        let page = r.frame();
        r.ev.take();
        let va = 0x7f00_1234_5000;
        let f = r.enter(va, page, PteProt::READ_WRITE);
        assert!(f.is_empty(), "a fresh PTE needs no flush");
        f.ignore();
        let evs = r.ev.take();
        let levels: Vec<u8> = evs
            .iter()
            .filter_map(|e| match e {
                Event::TableAlloc { level, .. } => Some(*level),
                _ => None,
            })
            .collect();
        assert_eq!(levels, vec![3, 2, 1]);
        assert!(matches!(
            evs.last(),
            Some(Event::PteWrite {
                level: 1,
                old: 0,
                ..
            })
        ));
        assert_eq!(r.pmap.resident_pages(), 1);
        assert_eq!(r.phys.desc(page).mapcount, 1);
        let m = r.pmap.lookup(&r.phys, VirtAddr(va + 0x123)).unwrap();
        assert_eq!(
            m,
            Mapping {
                pfn: page,
                present: true,
                writable: true,
                executable: false,
                dirty: false,
                accessed: false,
                huge: false
            }
        );
        assert_eq!(r.pmap.lookup(&r.phys, VirtAddr(va + 0x1000)), None);
        let w = walk(&r.phys, r.pmap.cr3(), VirtAddr(va));
        for s in &w.steps[..3] {
            assert_eq!(
                s.entry.flags(),
                PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::USER
            );
        }
        assert_eq!(
            w.steps[3].entry.flags(),
            PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::USER | PteFlags::NO_EXECUTE
        );
        assert!(matches!(w.outcome, WalkOutcome::Mapped { pfn, .. } if pfn == page));
        // The MMU agrees and sets A/D, which lookup then reports.
        assert_eq!(r.go(va + 9, Access::Write), Ok(PhysAddr(page.addr().0 + 9)));
        let m = r.pmap.lookup(&r.phys, VirtAddr(va)).unwrap();
        assert!(m.dirty && m.accessed);
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        assert_eq!(r.pmap.table_frames(&r.phys)[0], (r.pmap.cr3(), 4));
        r.check();
    }

    #[test]
    fn replacing_a_leaf_owes_a_flush_and_the_tlb_stays_stale_until_it_is_done() {
        let mut r = Rig::new(4096);
        let (a, b) = (r.frame(), r.frame());
        let va = 0x40_0000;
        r.enter(va, a, PteProt::READ_WRITE).ignore();
        assert_eq!(r.go(va, Access::Write), Ok(a.addr()));
        let f = r.enter(va, b, PteProt::READ_WRITE);
        assert_eq!(f.pages(), &[VirtAddr(va)]);
        assert_eq!(r.phys.desc(a).mapcount, 0);
        assert!(r.phys.desc(a).dirty, "D carried into the frame");
        assert_eq!(r.phys.desc(b).mapcount, 1);
        // Not flushed yet: the CPU still writes to the old frame.
        assert_eq!(r.go(va, Access::Write), Ok(a.addr()));
        r.ev.take();
        f.flush(&mut r.tlb, &mut r.ev);
        assert_eq!(
            r.ev.take(),
            vec![Event::TlbFlushPage {
                asid: 7,
                va: VirtAddr(va),
                removed: 1
            }]
        );
        assert_eq!(r.go(va, Access::Write), Ok(b.addr()));
        r.check();
    }

    #[test]
    fn no_memory_changes_nothing() {
        let mut r = Rig::new(1024);
        let page = r.frame();
        while r.phys.free_frames() > 2 {
            r.frame();
        }
        let before = r.phys.free_frames();
        let err = r.pmap.enter(
            &mut r.phys,
            VirtAddr(0x1000),
            page,
            PteProt::READ,
            &mut r.ev,
        );
        assert_eq!(err.unwrap_err(), PmapError::NoMemory);
        assert_eq!(r.phys.free_frames(), before);
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
        assert_eq!(r.phys.desc(page).mapcount, 0);
        r.check();
        // With exactly enough frames it works.
        let mut r2 = Rig::new(1024);
        let p = r2.frame();
        while r2.phys.free_frames() > 3 {
            r2.frame();
        }
        r2.enter(0x1000, p, PteProt::READ).ignore();
        assert_eq!(r2.phys.free_frames(), 0);
        assert!(
            r2.pmap
                .enter_huge(
                    &mut r2.phys,
                    VirtAddr(1 << 39),
                    Pfn(512),
                    PteProt::READ,
                    &mut r2.ev
                )
                .is_err()
        );
        r2.check();
    }

    #[test]
    fn remove_keeps_tables_and_reports_pages() {
        let mut r = Rig::new(4096);
        let free0 = r.phys.free_frames();
        let pages: Vec<Pfn> = (0..3).map(|_| r.frame()).collect();
        let base = 0x1234_0000_0000;
        for (i, &p) in pages.iter().enumerate() {
            r.enter(base + i as u64 * 0x1000, p, PteProt::READ_WRITE)
                .ignore();
        }
        r.go(base + 0x1000, Access::Write).unwrap();
        r.ev.take();
        // Remove the middle page: tables stay.
        let (f, un) = r.pmap.remove(
            &mut r.phys,
            VirtAddr(base + 0x1000),
            VirtAddr(base + 0x2000),
            &mut r.ev,
        );
        assert_eq!(un.len(), 1);
        assert_eq!(
            (un[0].va, un[0].pfn, un[0].dirty, un[0].accessed),
            (VirtAddr(base + 0x1000), pages[1], true, true)
        );
        assert_eq!(f.pages(), &[VirtAddr(base + 0x1000)]);
        f.flush(&mut r.tlb, &mut r.ev);
        assert!(r.go(base + 0x1000, Access::Read).is_err());
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        r.check();
        // Even told that nothing is mapped around, free_tables never
        // frees a table that still holds a leaf.
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(base + 0x1000),
            VirtAddr(base + 0x2000),
            0,
            u64::MAX,
            &mut r.ev,
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        assert!(r.go(base, Access::Read).is_ok());
        r.check();
        // Remove the rest with a vast range: the tables stay (as
        // `zap_page_range` leaves them), empty.
        r.ev.take();
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
        f.ignore();
        assert_eq!(
            un.iter().map(|u| u.pfn).collect::<Vec<_>>(),
            vec![pages[0], pages[2]]
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        r.check();
        // free_tables with a floor or ceiling inside the PT's 2 MiB span
        // keeps the PT (a neighbour could use it), and so its parents.
        let pt_base = base & !0x1f_ffff;
        for (floor, ceiling) in [(pt_base + 0x1000, u64::MAX), (0, pt_base + 0x1f_f000)] {
            r.pmap.free_tables(
                &mut r.phys,
                VirtAddr(base),
                VirtAddr(base + 0x3000),
                floor,
                ceiling,
                &mut r.ev,
            );
            assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        }
        // The room between the mappings covers it all: PT, PD and PDPT go.
        r.ev.take();
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(base),
            VirtAddr(base + 0x3000),
            pt_base,
            pt_base + 0x20_0000,
            &mut r.ev,
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 3, "only the PT");
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(base),
            VirtAddr(base + 0x3000),
            0,
            u64::MAX,
            &mut r.ev,
        );
        let freed: Vec<u8> =
            r.ev.take()
                .iter()
                .filter_map(|e| match e {
                    Event::TableFree { level, .. } => Some(*level),
                    _ => None,
                })
                .collect();
        assert_eq!(freed, vec![1, 2, 3]);
        assert_eq!(r.pmap.table_frames(&r.phys), vec![(r.pmap.cr3(), 4)]);
        assert_eq!(r.pmap.resident_pages(), 0);
        assert_eq!(used(&r.phys, r.pmap.cr3()), 0);
        r.check();
        for p in pages {
            r.phys.free(p, &mut r.ev);
        }
        assert_eq!(r.phys.free_frames(), free0, "only the PML4 is left");
        // Empty ranges, odd ranges: nothing happens, nothing breaks.
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(5 << 12), VirtAddr(1 << 12), &mut r.ev);
        assert!(f.is_empty() && un.is_empty());
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(u64::MAX), &mut r.ev);
        assert!(f.is_empty() && un.is_empty());
    }

    #[test]
    fn many_pages_flush_the_whole_asid() {
        let mut r = Rig::new(4096);
        for i in 0..40 {
            let p = r.frame();
            r.enter(i * 0x1000, p, PteProt::READ_WRITE).ignore();
            r.go(i * 0x1000, Access::Read).unwrap();
        }
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(40 * 0x1000), &mut r.ev);
        assert_eq!(un.len(), 40);
        assert!(f.is_all());
        r.ev.take();
        f.flush(&mut r.tlb, &mut r.ev);
        assert!(matches!(
            r.ev.take()[..],
            [Event::TlbFlushAsid { asid: 7, .. }]
        ));
        assert!(r.tlb.entries().is_empty());
        // Up to 33 pages flush one by one.
        let mut f = TlbFlush::none(7);
        for i in 0..33 {
            f.add(VirtAddr(i << 12));
        }
        f.add(VirtAddr(32 << 12));
        assert!(!f.is_all() && f.pages().len() == 33);
        assert_eq!(f.pages()[5], VirtAddr(5 << 12));
        let mut g = TlbFlush::page(7, VirtAddr(99 << 12));
        g.merge(f);
        assert!(g.is_all());
        g.ignore();
        r.check();
    }

    #[test]
    fn flush_lists_few_pages_then_covers_a_range() {
        let mut f = TlbFlush::none(7);
        for p in [3u64, 1, 3, 8] {
            f.add(VirtAddr(p << 12 | 0x10));
        }
        let pages = |f: &TlbFlush| f.pages().iter().map(|v| v.0 >> 12).collect::<Vec<_>>();
        assert_eq!(
            pages(&f),
            vec![3, 1, 3, 8],
            "listed as given, a repeat of the last merged"
        );
        f.add(VirtAddr(5 << 12));
        assert_eq!(
            pages(&f),
            (1..=8).collect::<Vec<_>>(),
            "one range over all of them"
        );
        let mut g = TlbFlush::page(7, VirtAddr(20 << 12));
        g.merge(f);
        assert_eq!(pages(&g), (1..=20).collect::<Vec<_>>());
        assert!(!g.is_all());
        // The events are one INVLPG per page of the range.
        let mut tlb = Tlb::new(16, 4);
        let mut ev = EventLog::new(true);
        g.flush(&mut tlb, &mut ev);
        let evs = ev.take();
        assert_eq!(evs.len(), 20);
        assert_eq!(
            evs[0],
            Event::TlbFlushPage {
                asid: 7,
                va: VirtAddr(1 << 12),
                removed: 0
            }
        );
        let mut h = TlbFlush::page(7, VirtAddr(0));
        h.merge(TlbFlush::page(7, VirtAddr(34 << 12)));
        for p in [10, 11, 12] {
            h.add(VirtAddr(p << 12));
        }
        assert!(h.is_all(), "35 pages: past the ceiling");
        assert!(h.pages().is_empty());
        h.ignore();
    }

    #[test]
    fn huge_mapping_translate_and_demote() {
        let mut r = Rig::new(4096);
        let run = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
            .unwrap();
        let va = 0x6000_0000;
        r.ev.take();
        r.pmap
            .enter_huge(
                &mut r.phys,
                VirtAddr(va),
                run,
                PteProt::READ_WRITE,
                &mut r.ev,
            )
            .unwrap()
            .ignore();
        assert_eq!(r.pmap.resident_pages(), 512);
        assert!((0..512).all(|i| r.phys.desc(run.add(i)).mapcount == 1));
        let m = r.pmap.lookup(&r.phys, VirtAddr(va + 0x5_5000)).unwrap();
        assert!(m.huge && m.writable);
        assert_eq!(m.pfn, run.add(0x55));
        assert_eq!(
            r.go(va + 0x5_5010, Access::Write),
            Ok(PhysAddr(run.add(0x55).addr().0 + 0x10))
        );
        assert!(r.tlb.contains(7, VirtAddr(va)).unwrap().huge);
        r.check();
        let mut leaves = Vec::new();
        r.pmap
            .for_each_leaf(&r.phys, |va, _, level| leaves.push((va, level)));
        assert_eq!(leaves, vec![(VirtAddr(va), 2)]);
        // Demote: 512 PTEs with the same bits, A/D copied.
        r.ev.take();
        let f = r
            .pmap
            .demote(&mut r.phys, VirtAddr(va + 0x1000), &mut r.ev)
            .unwrap();
        assert_eq!(f.pages(), &[VirtAddr(va)]);
        let evs = r.ev.take();
        assert!(
            evs.iter()
                .any(|e| matches!(e, Event::HugeDemote { va: v, .. } if *v == VirtAddr(va)))
        );
        assert!(
            evs.iter()
                .any(|e| matches!(e, Event::TableAlloc { level: 1, .. }))
        );
        assert_eq!(r.pmap.resident_pages(), 512);
        for i in [0u64, 0x55, 511] {
            let m = r.pmap.lookup(&r.phys, VirtAddr(va + i * 0x1000)).unwrap();
            assert!(!m.huge && m.writable && m.dirty && m.accessed && !m.executable);
            assert_eq!(m.pfn, run.add(i));
        }
        // Before the flush the huge TLB entry still answers; after, 4K walks.
        assert!(r.tlb.contains(7, VirtAddr(va + 0x7000)).unwrap().huge);
        f.flush(&mut r.tlb, &mut r.ev);
        assert_eq!(r.go(va + 0x7000, Access::Read), Ok(run.add(7).addr()));
        assert!(!r.tlb.contains(7, VirtAddr(va + 0x7000)).unwrap().huge);
        r.check();
        let f = r.pmap.demote(&mut r.phys, VirtAddr(va), &mut r.ev).unwrap();
        assert!(f.is_empty(), "not huge any more: no-op");
        f.ignore();
    }

    #[test]
    fn remove_of_huge_whole_and_partial() {
        let mut r = Rig::new(4096);
        let run = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
            .unwrap();
        let va = 0x20_0000 * 5;
        r.pmap
            .enter_huge(&mut r.phys, VirtAddr(va), run, PteProt::READ, &mut r.ev)
            .unwrap()
            .ignore();
        // Partial: a demote, then only the range goes.
        let (f, un) = r.pmap.remove(
            &mut r.phys,
            VirtAddr(va + 0x1000),
            VirtAddr(va + 0x3000),
            &mut r.ev,
        );
        assert_eq!(un.len(), 2);
        assert_eq!(un[0].pfn, run.add(1));
        assert!(
            f.pages().contains(&VirtAddr(va)),
            "the huge TLB entry is flushed"
        );
        f.ignore();
        assert_eq!(r.pmap.resident_pages(), 510);
        assert!(
            r.pmap
                .lookup(&r.phys, VirtAddr(va))
                .is_some_and(|m| !m.huge)
        );
        assert!(r.pmap.lookup(&r.phys, VirtAddr(va + 0x2000)).is_none());
        r.check();
        // Whole: 512 reports from a fresh huge mapping, tables freed.
        let run2 = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 2 }, &mut r.ev)
            .unwrap();
        let va2 = va + 0x20_0000;
        r.pmap
            .enter_huge(&mut r.phys, VirtAddr(va2), run2, PteProt::READ, &mut r.ev)
            .unwrap()
            .ignore();
        let (f, un) = r.pmap.remove(
            &mut r.phys,
            VirtAddr(va2),
            VirtAddr(va2 + 0x20_0000),
            &mut r.ev,
        );
        f.ignore();
        assert_eq!(un.len(), 512);
        assert!(
            un.iter()
                .enumerate()
                .all(|(i, u)| u.pfn == run2.add(i as u64)
                    && u.va == VirtAddr(va2 + i as u64 * 0x1000))
        );
        r.check();
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 40), &mut r.ev);
        f.ignore();
        assert_eq!(un.len(), 510);
        // The tables stay until free_tables, which frees them all here.
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(0),
            VirtAddr(1 << 40),
            0,
            u64::MAX,
            &mut r.ev,
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
        r.check();
    }

    #[test]
    fn enter_huge_reuses_an_empty_page_table_slot() {
        let mut r = Rig::new(4096);
        let p = r.frame();
        r.enter(0x40_1000, p, PteProt::READ).ignore();
        // Leave the PT in place but empty by writing through the pmap: remove
        // would free it, so clear it by hand like a caller that zapped it.
        let (pt, idx, _, _) = r.pmap.find_leaf(&r.phys, VirtAddr(0x40_1000)).unwrap();
        wr(&mut r.phys, pt, idx, Pte(0));
        used_dec(&mut r.phys, pt);
        r.phys.desc_mut(p).mapcount = 0;
        r.pmap.resident -= 1;
        let run = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
            .unwrap();
        r.ev.take();
        r.pmap
            .enter_huge(
                &mut r.phys,
                VirtAddr(0x40_0000),
                run,
                PteProt::ALL,
                &mut r.ev,
            )
            .unwrap()
            .ignore();
        assert!(r.ev.take().contains(&Event::TableFree {
            asid: 7,
            level: 1,
            pfn: pt
        }));
        assert!(!r.phys.is_allocated(pt));
        assert!(
            r.pmap
                .lookup(&r.phys, VirtAddr(0x40_1000))
                .is_some_and(|m| m.huge && m.executable)
        );
        r.check();
        // enter of a 4K page inside the huge one demotes it first.
        let q = r.frame();
        let f = r.enter(0x40_3000, q, PteProt::READ);
        assert!(
            f.pages().contains(&VirtAddr(0x40_0000)) && f.pages().contains(&VirtAddr(0x40_3000))
        );
        f.ignore();
        assert_eq!(r.phys.desc(run.add(3)).mapcount, 0);
        assert_eq!(r.pmap.lookup(&r.phys, VirtAddr(0x40_3000)).unwrap().pfn, q);
        assert_eq!(
            r.pmap.lookup(&r.phys, VirtAddr(0x40_4000)).unwrap().pfn,
            run.add(4)
        );
        assert_eq!(r.pmap.resident_pages(), 512);
        r.check();
    }

    #[test]
    fn protect_keeps_ad_and_owes_flushes() {
        let mut r = Rig::new(4096);
        let p = r.frame();
        r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
        r.go(0x1000, Access::Write).unwrap();
        let f = r.pmap.protect(
            &mut r.phys,
            VirtAddr(0),
            VirtAddr(0x10_0000),
            PteProt::READ_EXEC,
            &mut r.ev,
        );
        assert_eq!(f.pages(), &[VirtAddr(0x1000)]);
        let m = r.pmap.lookup(&r.phys, VirtAddr(0x1000)).unwrap();
        assert!(!m.writable && m.executable && m.dirty && m.accessed);
        // Stale: the write still goes through until the flush.
        assert!(r.go(0x1000, Access::Write).is_ok());
        f.flush(&mut r.tlb, &mut r.ev);
        let e = r.go(0x1000, Access::Write).unwrap_err();
        assert_eq!(
            e.code,
            PfErrorCode::PRESENT | PfErrorCode::WRITE | PfErrorCode::USER
        );
        assert!(r.go(0x1000, Access::Execute).is_ok());
        // Same protection again: nothing to write, nothing owed.
        let f = r.pmap.protect(
            &mut r.phys,
            VirtAddr(0),
            VirtAddr(0x10_0000),
            PteProt::READ_EXEC,
            &mut r.ev,
        );
        assert!(f.is_empty());
        f.ignore();
        // Partial protect of a huge page demotes it.
        let run = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
            .unwrap();
        r.pmap
            .enter_huge(
                &mut r.phys,
                VirtAddr(0x20_0000),
                run,
                PteProt::READ_WRITE,
                &mut r.ev,
            )
            .unwrap()
            .ignore();
        r.pmap
            .protect(
                &mut r.phys,
                VirtAddr(0x20_0000),
                VirtAddr(0x20_2000),
                PteProt::READ,
                &mut r.ev,
            )
            .ignore();
        assert!(
            !r.pmap
                .lookup(&r.phys, VirtAddr(0x20_1000))
                .unwrap()
                .writable
        );
        assert!(
            r.pmap
                .lookup(&r.phys, VirtAddr(0x20_2000))
                .unwrap()
                .writable
        );
        // Whole huge page: one PD entry changes, PS kept.
        let run2 = r
            .phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 2 }, &mut r.ev)
            .unwrap();
        r.pmap
            .enter_huge(
                &mut r.phys,
                VirtAddr(0x40_0000),
                run2,
                PteProt::READ_WRITE,
                &mut r.ev,
            )
            .unwrap()
            .ignore();
        let f = r.pmap.protect(
            &mut r.phys,
            VirtAddr(0x40_0000),
            VirtAddr(0x60_0000),
            PteProt::READ,
            &mut r.ev,
        );
        assert_eq!(f.pages(), &[VirtAddr(0x40_0000)]);
        f.ignore();
        assert!(
            r.pmap
                .lookup(&r.phys, VirtAddr(0x40_0000))
                .is_some_and(|m| m.huge && !m.writable)
        );
        r.check();
    }

    #[test]
    fn clear_dirty_and_accessed() {
        let mut r = Rig::new(4096);
        let p = r.frame();
        r.enter(0x5000, p, PteProt::READ_WRITE).ignore();
        let f = r.pmap.clear_dirty(&mut r.phys, VirtAddr(0x5000), &mut r.ev);
        assert!(f.is_empty(), "D was clear");
        f.ignore();
        r.go(0x5000, Access::Write).unwrap();
        let f = r.pmap.clear_dirty(&mut r.phys, VirtAddr(0x5123), &mut r.ev);
        assert_eq!(f.pages(), &[VirtAddr(0x5000)]);
        let m = r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap();
        assert!(!m.dirty && m.accessed);
        // The cached dirty entry hides the next write from the PTE until flushed.
        r.go(0x5000, Access::Write).unwrap();
        assert!(!r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().dirty);
        f.flush(&mut r.tlb, &mut r.ev);
        r.go(0x5000, Access::Write).unwrap();
        assert!(r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().dirty);
        r.pmap
            .clear_accessed(&mut r.phys, VirtAddr(0x5000), &mut r.ev)
            .ignore();
        assert!(!r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().accessed);
        let f = r
            .pmap
            .clear_accessed(&mut r.phys, VirtAddr(0x9000), &mut r.ev);
        assert!(f.is_empty(), "unmapped: no-op");
        f.ignore();
        r.check();
    }

    #[test]
    fn upper_half_addresses_and_leaf_order() {
        let mut r = Rig::new(4096);
        let (a, b, c) = (r.frame(), r.frame(), r.frame());
        let hi = 0xffff_8000_0000_1000;
        r.enter(hi, a, PteProt::READ).ignore();
        r.enter(0x7fff_ffff_f000, b, PteProt::READ).ignore();
        r.enter(0x1000, c, PteProt::READ).ignore();
        let mut seen = Vec::new();
        r.pmap
            .for_each_leaf(&r.phys, |va, pte, _| seen.push((va, pte.pfn())));
        assert_eq!(
            seen,
            vec![
                (VirtAddr(0x1000), c),
                (VirtAddr(0x7fff_ffff_f000), b),
                (VirtAddr(hi), a)
            ]
        );
        let (f, un) = r.pmap.remove(
            &mut r.phys,
            VirtAddr(0xffff_8000_0000_0000),
            VirtAddr(0xffff_ffff_ffff_f000),
            &mut r.ev,
        );
        f.ignore();
        assert_eq!(un.len(), 1);
        assert_eq!(un[0].va, VirtAddr(hi));
        r.check();
    }

    #[test]
    fn visit_tables_sees_every_table_and_leaf_in_order() {
        #[derive(Default)]
        struct Seen {
            tables: Vec<(Pfn, u8, u64, u64)>,
            leaves: Vec<(u64, bool)>,
            depth: usize,
            stop_after: Option<usize>,
            cut: bool,
        }
        impl TableVisitor for Seen {
            fn table(&mut self, pfn: Pfn, level: u8, start: VirtAddr, last: VirtAddr, _: u32) {
                self.depth += 1;
                self.tables.push((pfn, level, start.0, last.0));
            }
            fn entry(&mut self, _: usize, _: Pte, va: VirtAddr, level: u8, leaf: bool) -> bool {
                if leaf {
                    if self.stop_after == Some(self.leaves.len()) {
                        return false;
                    }
                    self.leaves.push((va.0, level == 2));
                }
                true
            }
            fn end_table(&mut self, cut: bool) {
                self.cut |= cut;
                self.depth -= 1;
            }
        }
        let mut r = Rig::new(4096);
        let base = 0x7f12_3456_0000u64;
        for i in 0..3 {
            let f = r.frame();
            r.enter(base + i * 0x1000, f, PteProt::READ_WRITE).ignore();
        }
        let f = r.frame();
        r.enter(0x1000, f, PteProt::READ_WRITE).ignore();
        let mut seen = Seen::default();
        r.pmap.visit_tables(&r.phys, &mut seen);
        assert_eq!(seen.depth, 0, "every table ended");
        assert!(!seen.cut);
        // One PML4, then per address region a PDPT, PD and PT, lowest first.
        let levels: Vec<u8> = seen.tables.iter().map(|t| t.1).collect();
        assert_eq!(levels, [4, 3, 2, 1, 3, 2, 1]);
        assert_eq!(seen.tables[0].0, r.pmap.cr3());
        assert_eq!((seen.tables[0].2, seen.tables[0].3), (0, u64::MAX));
        let pt = seen.tables[6];
        assert_eq!(
            (pt.2, pt.3),
            (base & !0x1f_ffff, (base & !0x1f_ffff) + 0x1f_ffff)
        );
        let frames: Vec<(Pfn, u8)> = seen.tables.iter().map(|t| (t.0, t.1)).collect();
        assert_eq!(frames, r.pmap.table_frames(&r.phys));
        assert_eq!(
            seen.leaves,
            [
                (0x1000, false),
                (base, false),
                (base + 0x1000, false),
                (base + 0x2000, false)
            ]
        );
        // Stopping a table early is reported as a cut.
        let mut some = Seen {
            stop_after: Some(2),
            ..Seen::default()
        };
        r.pmap.visit_tables(&r.phys, &mut some);
        assert!(some.cut);
        assert_eq!(some.leaves.len(), 2);
        assert_eq!(some.depth, 0);
    }

    #[test]
    fn destroy_returns_every_table_frame() {
        let mut r = Rig::new(4096);
        let start = r.phys.free_frames() + 1; // + the PML4
        let p = r.frame();
        for i in 0..10u64 {
            r.enter(i << 30, p, PteProt::READ).ignore();
        }
        let (f, _) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
        f.ignore();
        r.enter(0x1000, p, PteProt::READ).ignore();
        r.pmap
            .remove(&mut r.phys, VirtAddr(0x1000), VirtAddr(0x2000), &mut r.ev)
            .0
            .ignore();
        let pmap = r.pmap.clone();
        pmap.destroy(&mut r.phys, &mut r.ev);
        r.phys.free(p, &mut r.ev);
        assert_eq!(r.phys.free_frames(), start);
    }

    /// Random enter/enter_huge/remove/protect/demote against a model map.
    #[test]
    fn random_operations_keep_every_invariant() {
        let mut r = Rig::new(8192);
        let mut model: BTreeMap<u64, Pfn> = BTreeMap::new(); // vpn -> pfn
        let frames: Vec<Pfn> = (0..64).map(|_| r.frame()).collect();
        let mut runs: Vec<Pfn> = Vec::new();
        for _ in 0..4 {
            runs.push(
                r.phys
                    .alloc_huge(|_| FrameOwner::Anon { anon: 9 }, &mut r.ev)
                    .unwrap(),
            );
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        // 8 MiB window straddling a PDPT boundary.
        let window = (1u64 << 30) - 0x40_0000;
        for step in 0..3000 {
            let va = window + rnd(2048) * 0x1000;
            match rnd(10) {
                0..=3 => {
                    let p = frames[rnd(64) as usize];
                    r.enter(va, p, PteProt::READ_WRITE)
                        .flush(&mut r.tlb, &mut r.ev);
                    model.insert(va >> 12, p);
                }
                4 => {
                    let hva = va & !(HUGE_PAGE_SIZE - 1);
                    let run = runs[rnd(4) as usize];
                    let (f, _) = r.pmap.remove(
                        &mut r.phys,
                        VirtAddr(hva),
                        VirtAddr(hva + HUGE_PAGE_SIZE),
                        &mut r.ev,
                    );
                    f.flush(&mut r.tlb, &mut r.ev);
                    r.pmap
                        .enter_huge(&mut r.phys, VirtAddr(hva), run, PteProt::ALL, &mut r.ev)
                        .unwrap()
                        .flush(&mut r.tlb, &mut r.ev);
                    for i in 0..512 {
                        model.insert((hva >> 12) + i, run.add(i));
                    }
                }
                5..=7 => {
                    let end = va + rnd(700) * 0x1000;
                    let (f, un) =
                        r.pmap
                            .remove(&mut r.phys, VirtAddr(va), VirtAddr(end), &mut r.ev);
                    f.flush(&mut r.tlb, &mut r.ev);
                    let gone: Vec<u64> =
                        model.range(va >> 12..end >> 12).map(|(&k, _)| k).collect();
                    assert_eq!(un.len(), gone.len(), "step {step}");
                    for (u, k) in un.iter().zip(&gone) {
                        assert_eq!(u.va.0 >> 12, *k);
                        assert_eq!(model.remove(k), Some(u.pfn));
                    }
                    // Half the time free what tables the room between
                    // the nearest mapped pages allows (munmap's
                    // free_pgtables); leaves must all survive it.
                    if rnd(2) == 0 {
                        let floor = model
                            .range(..va >> 12)
                            .next_back()
                            .map_or(0, |(&k, _)| (k + 1) << 12);
                        let ceiling = model
                            .range(end >> 12..)
                            .next()
                            .map_or(u64::MAX, |(&k, _)| k << 12);
                        r.pmap.free_tables(
                            &mut r.phys,
                            VirtAddr(va),
                            VirtAddr(end),
                            floor,
                            ceiling,
                            &mut r.ev,
                        );
                    }
                }
                8 => {
                    let end = va + rnd(700) * 0x1000;
                    r.pmap
                        .protect(
                            &mut r.phys,
                            VirtAddr(va),
                            VirtAddr(end),
                            PteProt::READ,
                            &mut r.ev,
                        )
                        .flush(&mut r.tlb, &mut r.ev);
                }
                _ => {
                    r.pmap
                        .demote(&mut r.phys, VirtAddr(va), &mut r.ev)
                        .unwrap()
                        .flush(&mut r.tlb, &mut r.ev);
                }
            }
            if step % 50 == 0 {
                r.check();
            }
            // The MMU sees exactly the model (TLB always flushed here).
            let probe = window + rnd(2048) * 0x1000;
            let got = r.go(probe, Access::Read).ok().map(|pa| pa.pfn());
            assert_eq!(
                got,
                model.get(&(probe >> 12)).copied(),
                "step {step} va {probe:#x}"
            );
        }
        r.check();
        assert_eq!(r.pmap.resident_pages(), model.len() as u64);
        let (f, un) = r
            .pmap
            .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
        f.ignore();
        assert_eq!(un.len(), model.len());
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(0),
            VirtAddr(1 << 47),
            0,
            u64::MAX,
            &mut r.ev,
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
        r.check();
    }
}

#[cfg(test)]
mod instr {
    //! Fixed workloads to count instructions with callgrind (`VMCORE_N`
    //! iterations; compare two values of N to cancel the setup):
    //! `VMCORE_N=1000 valgrind --tool=callgrind <test binary> instr_map --ignored`
    use super::*;
    use crate::arch::x86_64::mmu::{Access, translate};

    fn n() -> u64 {
        std::env::var("VMCORE_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000)
    }

    #[test]
    #[ignore]
    fn instr_map_touch_unmap() {
        let mut phys = PhysMem::new(1 << 18);
        let mut ev = EventLog::new(false);
        let mut tlb = Tlb::new(16, 4);
        let mut pmap = Pmap::new(&mut phys, 1, &mut ev).unwrap();
        let base = 0x7f00_0000_0000u64;
        for _ in 0..n() {
            let mut frames = [Pfn(0); 16];
            for (i, f) in frames.iter_mut().enumerate() {
                let va = VirtAddr(base + i as u64 * 4096);
                *f = phys
                    .alloc(FrameOwner::Anon { anon: i as u32 }, &mut ev)
                    .unwrap();
                pmap.enter(&mut phys, va, *f, PteProt::READ_WRITE, &mut ev)
                    .unwrap()
                    .flush(&mut tlb, &mut ev);
                let pa = translate(
                    &mut phys,
                    &mut tlb,
                    pmap.cr3(),
                    1,
                    va,
                    Access::Write,
                    &mut ev,
                )
                .unwrap();
                phys.write_u8(pa, 1);
            }
            let (f, _un) = pmap.remove(
                &mut phys,
                VirtAddr(base),
                VirtAddr(base + 16 * 4096),
                &mut ev,
            );
            f.flush(&mut tlb, &mut ev);
            for f in frames {
                phys.free(f, &mut ev);
            }
        }
    }

    #[test]
    #[ignore]
    fn instr_tlb_hit() {
        let mut phys = PhysMem::new(1 << 18);
        let mut ev = EventLog::new(false);
        let mut tlb = Tlb::new(16, 4);
        let mut pmap = Pmap::new(&mut phys, 1, &mut ev).unwrap();
        let base = 0x7f00_0000_0000u64;
        let p = phys.alloc(FrameOwner::Anon { anon: 0 }, &mut ev).unwrap();
        pmap.enter(&mut phys, VirtAddr(base), p, PteProt::READ_WRITE, &mut ev)
            .unwrap()
            .ignore();
        let mut sum = 0u64;
        for i in 0..n() * 1000 {
            let va = VirtAddr(base + (i & 0xfff));
            let pa = translate(
                &mut phys,
                &mut tlb,
                pmap.cr3(),
                1,
                va,
                Access::Read,
                &mut ev,
            )
            .unwrap();
            sum += phys.read_u8(pa) as u64;
        }
        assert_eq!(sum, 0);
    }
}
