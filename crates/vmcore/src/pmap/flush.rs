//! The TLB flush a page-table change owes, as a value that must be used.
//!
//! Changing or removing a present leaf does not change what the TLB holds:
//! until the stale translation is flushed the CPU may keep using it. Every
//! pmap call that changes a present leaf therefore returns a [`TlbFlush`],
//! `#[must_use]`, which the caller either performs ([`TlbFlush::flush`]) or
//! drops on purpose ([`TlbFlush::ignore`]). Linux batches the same debt in
//! an `mmu_gather` (`tlb_gather_mmu` .. `tlb_finish_mmu`); the x86_64 crate
//! returns a `MapperFlush`.

use crate::addr::{PAGE_SHIFT, PAGE_SIZE, VirtAddr};
use crate::arch::x86_64::tlb::Tlb;
use crate::event::{Event, EventLog};

/// Above this many pages one flush of the whole address space is cheaper
/// than an INVLPG per page (Linux `tlb_single_page_flush_ceiling`).
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: usize = 33;

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
