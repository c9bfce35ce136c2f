//! The translation lookaside buffer: a set-associative cache of finished
//! page walks, tagged with the PCID (here: the asid) so a CR3 switch need not
//! flush it (Intel SDM vol. 3A §4.10 "Caching Translation Information").
//!
//! The TLB is *not* coherent with the page tables: changing a PTE leaves the
//! old translation cached until software invalidates it with INVLPG
//! ([`Tlb::flush_page`]) or a flush of the whole address space
//! ([`Tlb::flush_asid`], a CR3 write without the no-flush bit / INVPCID).
//! Forgetting that is a classic kernel bug, and here it is observable.
//!
//! ```text
//!   va ─► vpn = va >> 12 ──► set = vpn mod sets ──► compare the `ways` tags
//!         2 MiB entries: set = (vpn >> 9) mod sets, tag = vpn & !511
//! ```
//!
//! Replacement is least-recently-used within a set (a global use counter).

use crate::addr::{PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE, Pfn, PhysAddr, VirtAddr};
use serde::Serialize;

/// Most sets a TLB may have.
pub const MAX_SETS: usize = 4096;
/// Most ways a TLB may have.
pub const MAX_WAYS: usize = 64;

/// One cached translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TlbEntry {
    /// PCID tag: the address space this translation belongs to.
    pub asid: u16,
    /// 4K page number of the va; for a huge entry the 2 MiB-aligned first one.
    pub vpn: u64,
    /// Frame of `vpn`; for a huge entry the first frame of the run.
    pub pfn: Pfn,
    /// A 2 MiB translation (from a PD entry with PS).
    pub huge: bool,
    /// RW combined over all levels.
    pub writable: bool,
    /// US combined over all levels.
    pub user: bool,
    /// No NX at any level.
    pub executable: bool,
    /// The leaf's D bit was set when cached: writes need no walk.
    pub dirty: bool,
}

impl TlbEntry {
    /// Whether this entry translates `vpn` (of address space `asid`).
    #[inline]
    pub fn covers(&self, asid: u16, vpn: u64) -> bool {
        self.asid == asid
            && if self.huge {
                self.vpn == vpn & !(PAGES_PER_HUGE - 1)
            } else {
                self.vpn == vpn
            }
    }
    /// The physical address of `va`, which this entry covers.
    #[inline]
    pub fn phys(&self, va: VirtAddr) -> PhysAddr {
        let vpn = va.0 >> PAGE_SHIFT;
        PhysAddr(((self.pfn.0 + (vpn - self.vpn)) << PAGE_SHIFT) | va.page_offset())
    }
}

/// A set-associative TLB.
///
/// Storage is a tag word per slot (valid bit, PCID, page size, vpn) for a
/// fast compare, the entry itself, and an LRU stamp.
#[derive(Clone, Debug)]
pub struct Tlb {
    sets: usize,
    ways: usize,
    /// `sets * ways` tags, set-major; 0 = invalid.
    tags: Vec<u64>,
    /// The entry of each slot (meaningful when its tag is valid).
    slots: Vec<TlbEntry>,
    /// Last-use stamp of each slot (LRU).
    stamps: Vec<u64>,
    /// Per slot, the accesses a hit may finish without a walk: bit 0 read,
    /// bit 1 write (writable and already dirty), bit 2 execute.
    quick: Vec<u8>,
    clock: u64,
    hits: u64,
    misses: u64,
    /// Slot of the latest hit: checked first. A shortcut of the simulator
    /// only (the result is the same as scanning the set).
    last: usize,
    /// Some valid entry may be a 2 MiB one. While false, lookups and
    /// INVLPG skip the second set probe: another shortcut that changes no
    /// result (set on every huge insert, cleared when a full pass finds
    /// no huge entry left).
    maybe_huge: bool,
}

const VALID: u64 = 1 << 63;
/// 36 bits of page number: enough for a canonical 48-bit address (bits
/// 47..63 are copies of bit 47, so folding them away loses nothing).
const VPN_MASK: u64 = (1 << 36) - 1;

#[inline]
fn tag(asid: u16, vpn: u64, huge: bool) -> u64 {
    VALID | ((asid as u64) << 40) | ((vpn & VPN_MASK) << 1) | huge as u64
}

/// The `quick` bits of an entry.
#[inline]
fn quick_bits(e: &TlbEntry) -> u8 {
    if !e.user {
        return 0;
    }
    1 | (((e.writable && e.dirty) as u8) << 1) | ((e.executable as u8) << 2)
}

const EMPTY: TlbEntry = TlbEntry {
    asid: 0,
    vpn: 0,
    pfn: Pfn(0),
    huge: false,
    writable: false,
    user: false,
    executable: false,
    dirty: false,
};

impl Tlb {
    /// A TLB of `sets` sets (rounded up to a power of two) of `ways` entries,
    /// both clamped to 1..=[`MAX_SETS`] / 1..=[`MAX_WAYS`].
    pub fn new(sets: usize, ways: usize) -> Tlb {
        let sets = sets.clamp(1, MAX_SETS).next_power_of_two();
        let ways = ways.clamp(1, MAX_WAYS);
        Tlb {
            sets,
            ways,
            tags: vec![0; sets * ways],
            slots: vec![EMPTY; sets * ways],
            stamps: vec![0; sets * ways],
            quick: vec![0; sets * ways],
            clock: 0,
            hits: 0,
            misses: 0,
            last: 0,
            maybe_huge: false,
        }
    }

    #[inline]
    fn set_of(&self, vpn: u64) -> usize {
        (vpn as usize) & (self.sets - 1)
    }
    #[inline]
    fn huge_set_of(&self, vpn: u64) -> usize {
        ((vpn >> 9) as usize) & (self.sets - 1)
    }

    /// The slot holding the translation of `vpn`: a 4K entry first, then a
    /// 2 MiB entry covering it.
    #[inline(always)]
    fn find(&self, asid: u16, vpn: u64) -> Option<usize> {
        let t = tag(asid, vpn, false);
        if self.tags.get(self.last) == Some(&t) {
            return Some(self.last);
        }
        let base = self.set_of(vpn) * self.ways;
        if let Some(w) = self.tags[base..base + self.ways]
            .iter()
            .position(|&x| x == t)
        {
            return Some(base + w);
        }
        if !self.maybe_huge {
            return None;
        }
        let t = tag(asid, vpn & !(PAGES_PER_HUGE - 1), true);
        let base = self.huge_set_of(vpn) * self.ways;
        self.tags[base..base + self.ways]
            .iter()
            .position(|&x| x == t)
            .map(|w| base + w)
    }

    /// Look up the translation of `va`; a hit becomes most recently used.
    /// Counts hits and misses.
    #[inline]
    pub fn lookup(&mut self, asid: u16, va: VirtAddr) -> Option<TlbEntry> {
        match self.find(asid, va.0 >> PAGE_SHIFT) {
            Some(i) => {
                self.hits += 1;
                self.clock += 1;
                self.stamps[i] = self.clock;
                self.last = i;
                Some(self.slots[i])
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// The hardware's fast case in one step: if the most recently hit slot
    /// holds the 4K translation of `va` and it allows `quick` (1 read, 2
    /// write, 4 execute) without a walk, count the hit and return the
    /// physical address. Otherwise `None`, with nothing changed: the caller
    /// then does the full [`Tlb::lookup`]. The result is exactly what
    /// `lookup` would give.
    #[inline(always)]
    pub fn quick_hit(&mut self, asid: u16, va: VirtAddr, quick: u8) -> Option<PhysAddr> {
        let i = self.last;
        let vpn = va.0 >> PAGE_SHIFT;
        if self.tags.get(i) != Some(&tag(asid, vpn, false)) || self.quick[i] & quick == 0 {
            return None;
        }
        self.hits += 1;
        self.clock += 1;
        self.stamps[i] = self.clock;
        Some(PhysAddr(
            (self.slots[i].pfn.0 << PAGE_SHIFT) | va.page_offset(),
        ))
    }

    /// The translation of `va` if cached, without touching LRU or counters.
    pub fn contains(&self, asid: u16, va: VirtAddr) -> Option<TlbEntry> {
        self.find(asid, va.0 >> PAGE_SHIFT).map(|i| self.slots[i])
    }

    /// Cache a translation. An entry for the same (asid, vpn, huge) is
    /// replaced; otherwise a free way, else the least recently used way of
    /// the set is evicted.
    pub fn insert(&mut self, mut e: TlbEntry) {
        let set = if e.huge {
            debug_assert!(
                e.vpn.is_multiple_of(PAGES_PER_HUGE) && e.pfn.0.is_multiple_of(PAGES_PER_HUGE)
            );
            e.vpn &= !(PAGES_PER_HUGE - 1);
            self.huge_set_of(e.vpn)
        } else {
            self.set_of(e.vpn)
        };
        let t = tag(e.asid, e.vpn, e.huge);
        let base = set * self.ways;
        // One pass: the same translation if cached, else the first free
        // way, else the least recently used (first of equals).
        let tags = &self.tags[base..base + self.ways];
        let stamps = &self.stamps[base..base + self.ways];
        let mut victim = 0;
        let mut best = u64::MAX;
        for (w, (&x, &st)) in tags.iter().zip(stamps).enumerate() {
            if x == t {
                victim = w;
                break;
            }
            let age = if x == 0 { 0 } else { st };
            if age < best {
                best = age;
                victim = w;
            }
        }
        let i = base + victim;
        self.maybe_huge |= e.huge;
        self.clock += 1;
        self.tags[i] = t;
        self.slots[i] = e;
        self.quick[i] = quick_bits(&e);
        self.stamps[i] = self.clock;
    }

    /// Record that the cached translation of `va` now has D set in its PTE.
    pub fn mark_dirty(&mut self, asid: u16, va: VirtAddr) {
        if let Some(i) = self.find(asid, va.0 >> PAGE_SHIFT) {
            self.slots[i].dirty = true;
            self.quick[i] = quick_bits(&self.slots[i]);
        }
    }

    /// Drop the slot of the set at `base` whose tag is `t` (tags are unique
    /// within a set: `insert` replaces); returns how many were dropped.
    #[inline]
    fn drop_tag(&mut self, base: usize, t: u64) -> u32 {
        match self.tags[base..base + self.ways]
            .iter()
            .position(|&x| x == t)
        {
            Some(w) => {
                self.tags[base + w] = 0;
                1
            }
            None => 0,
        }
    }

    /// INVLPG: drop the 4K translation of `va` and any 2 MiB one covering it.
    /// Returns how many entries were dropped.
    pub fn flush_page(&mut self, asid: u16, va: VirtAddr) -> u32 {
        let vpn = va.0 >> PAGE_SHIFT;
        let small = self.drop_tag(self.set_of(vpn) * self.ways, tag(asid, vpn, false));
        if !self.maybe_huge {
            return small;
        }
        let huge = tag(asid, vpn & !(PAGES_PER_HUGE - 1), true);
        small + self.drop_tag(self.huge_set_of(vpn) * self.ways, huge)
    }

    /// INVLPG of the `n` pages from `start`, in order, calling
    /// `each(va, removed)` for each page: exactly a loop of
    /// [`Tlb::flush_page`], done in one pass over the TLB when that is
    /// cheaper (a small TLB, many pages).
    pub fn flush_pages(
        &mut self,
        asid: u16,
        start: VirtAddr,
        n: usize,
        mut each: impl FnMut(VirtAddr, u32),
    ) -> u32 {
        const MAX_PASS: usize = 64;
        let start = start.align_down(PAGE_SIZE);
        let page = |i: usize| VirtAddr(start.0.wrapping_add((i as u64) << PAGE_SHIFT));
        if n > MAX_PASS || n * 2 * self.ways < self.tags.len() {
            let mut total = 0;
            for i in 0..n {
                let r = self.flush_page(asid, page(i));
                each(page(i), r);
                total += r;
            }
            return total;
        }
        // Each entry is dropped by the first page of the range inside it.
        let mut counts = [0u32; MAX_PASS];
        let first = start.0 >> PAGE_SHIFT;
        let last = first + n as u64; // exclusive
        for (t, e) in self.tags.iter_mut().zip(&self.slots) {
            if *t == 0 || e.asid != asid {
                continue;
            }
            let (lo, hi) = if e.huge {
                (e.vpn, e.vpn + PAGES_PER_HUGE)
            } else {
                (e.vpn, e.vpn + 1)
            };
            let hit = lo.max(first);
            if hit < hi.min(last) {
                *t = 0;
                counts[(hit - first) as usize] += 1;
            }
        }
        for (i, &c) in counts[..n].iter().enumerate() {
            each(page(i), c);
        }
        counts[..n].iter().sum()
    }

    fn retain(&mut self, keep: impl Fn(&TlbEntry) -> bool) -> u32 {
        let mut n = 0;
        let mut huge = false;
        for (t, e) in self.tags.iter_mut().zip(&self.slots) {
            if *t != 0 && !keep(e) {
                *t = 0;
                n += 1;
            }
            huge |= *t != 0 && e.huge;
        }
        self.maybe_huge = huge;
        n
    }

    /// Drop every translation of one address space (INVPCID single-context).
    pub fn flush_asid(&mut self, asid: u16) -> u32 {
        self.retain(|e| e.asid != asid)
    }

    /// Drop every translation (CR4.PCIDE toggle / INVPCID all-context).
    pub fn flush_all(&mut self) -> u32 {
        self.retain(|_| false)
    }

    /// The valid entries as (set, way, entry).
    pub fn entries(&self) -> Vec<(usize, usize, TlbEntry)> {
        self.tags
            .iter()
            .zip(&self.slots)
            .enumerate()
            .filter(|(_, (t, _))| **t != 0)
            .map(|(i, (_, e))| (i / self.ways, i % self.ways, *e))
            .collect()
    }

    pub fn sets(&self) -> usize {
        self.sets
    }
    pub fn ways(&self) -> usize {
        self.ways
    }
    pub fn hits(&self) -> u64 {
        self.hits
    }
    pub fn misses(&self) -> u64 {
        self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e4k(asid: u16, vpn: u64, pfn: u64) -> TlbEntry {
        TlbEntry {
            asid,
            vpn,
            pfn: Pfn(pfn),
            huge: false,
            writable: true,
            user: true,
            executable: false,
            dirty: false,
        }
    }

    #[test]
    fn geometry_is_clamped() {
        let t = Tlb::new(5, 0);
        assert_eq!((t.sets(), t.ways()), (8, 1));
        let t = Tlb::new(usize::MAX, usize::MAX);
        assert_eq!((t.sets(), t.ways()), (MAX_SETS, MAX_WAYS));
        let t = Tlb::new(0, 4);
        assert_eq!((t.sets(), t.ways()), (1, 4));
    }

    #[test]
    fn hit_miss_and_asid_tags() {
        let mut t = Tlb::new(16, 4);
        assert_eq!(t.lookup(1, VirtAddr(0x5000)), None);
        t.insert(e4k(1, 5, 77));
        let hit = t.lookup(1, VirtAddr(0x5abc)).unwrap();
        assert_eq!(hit.phys(VirtAddr(0x5abc)), PhysAddr(77 * 4096 + 0xabc));
        assert_eq!(t.lookup(2, VirtAddr(0x5000)), None, "other PCID");
        assert_eq!((t.hits(), t.misses()), (1, 2));
        assert!(t.contains(1, VirtAddr(0x5000)).is_some());
        assert_eq!((t.hits(), t.misses()), (1, 2), "contains changes no stats");
        // Re-inserting the same page replaces, never duplicates.
        t.insert(e4k(1, 5, 78));
        assert_eq!(t.entries().len(), 1);
        assert_eq!(t.contains(1, VirtAddr(0x5000)).unwrap().pfn, Pfn(78));
        t.mark_dirty(1, VirtAddr(0x5000));
        assert!(t.contains(1, VirtAddr(0x5000)).unwrap().dirty);
    }

    #[test]
    fn set_associative_lru_eviction() {
        // 4 sets x 2 ways: vpns 0, 4, 8 all land in set 0.
        let mut t = Tlb::new(4, 2);
        t.insert(e4k(1, 0, 100));
        t.insert(e4k(1, 4, 104));
        assert!(t.lookup(1, VirtAddr(0)).is_some()); // vpn 0 now MRU, vpn 4 LRU
        t.insert(e4k(1, 8, 108)); // evicts vpn 4
        assert!(t.contains(1, VirtAddr(0)).is_some());
        assert!(t.contains(1, VirtAddr(4 << 12)).is_none());
        assert!(t.contains(1, VirtAddr(8 << 12)).is_some());
        // Other sets are untouched by the conflict.
        t.insert(e4k(1, 1, 101));
        assert_eq!(t.entries().iter().filter(|(s, _, _)| *s == 0).count(), 2);
        assert_eq!(t.entries().iter().filter(|(s, _, _)| *s == 1).count(), 1);
        t.insert(e4k(1, 12, 112)); // evicts vpn 0 (LRU now)
        assert!(t.contains(1, VirtAddr(0)).is_none());
    }

    #[test]
    fn huge_entries_and_invlpg() {
        let mut t = Tlb::new(16, 4);
        let h = TlbEntry {
            huge: true,
            vpn: 512,
            pfn: Pfn(1024),
            ..e4k(3, 0, 0)
        };
        t.insert(h);
        t.insert(e4k(3, 600, 9)); // a 4K entry inside the same 2 MiB (allowed)
        let va = VirtAddr((512 + 7) << 12 | 0x10);
        let hit = t.lookup(3, va).unwrap();
        assert!(hit.huge);
        assert_eq!(hit.phys(va), PhysAddr(((1024 + 7) << 12) | 0x10));
        assert_eq!(
            t.lookup(3, VirtAddr(600 << 12)).unwrap().pfn,
            Pfn(9),
            "4K entry wins"
        );
        assert!(t.lookup(3, VirtAddr(1024 << 12)).is_none());
        // INVLPG anywhere in the 2 MiB page drops the huge entry and the 4K one at va.
        assert_eq!(t.flush_page(3, VirtAddr(600 << 12)), 2);
        assert!(t.entries().is_empty());
    }

    #[test]
    fn flush_asid_and_all() {
        let mut t = Tlb::new(16, 4);
        for v in 0..10 {
            t.insert(e4k(1, v, v));
            t.insert(e4k(2, v, v));
        }
        assert_eq!(t.flush_asid(1), 10);
        assert!(t.entries().iter().all(|(_, _, e)| e.asid == 2));
        assert_eq!(t.flush_page(2, VirtAddr(3 << 12)), 1);
        assert_eq!(t.flush_page(2, VirtAddr(3 << 12)), 0);
        assert_eq!(t.flush_all(), 9);
    }

    #[test]
    fn flush_pages_is_a_loop_of_invlpg() {
        // Same contents in two TLBs; one-pass and page-by-page must agree.
        let fill = |t: &mut Tlb| {
            for v in 0..40 {
                t.insert(e4k(1, 500 + v, v));
                t.insert(e4k(2, 500 + v, v));
            }
            t.insert(TlbEntry {
                huge: true,
                vpn: 512,
                pfn: Pfn(0),
                ..e4k(1, 0, 0)
            });
        };
        for (sets, ways) in [(16, 4), (1, 64), (4096, 1)] {
            let mut a = Tlb::new(sets, ways);
            fill(&mut a);
            let mut b = a.clone();
            let mut got = Vec::new();
            let total = a.flush_pages(1, VirtAddr(505 << 12), 20, |va, r| got.push((va, r)));
            let mut want = Vec::new();
            for i in 0..20u64 {
                let va = VirtAddr((505 + i) << 12);
                want.push((va, b.flush_page(1, va)));
            }
            assert_eq!(got, want, "{sets}x{ways}");
            assert_eq!(total, want.iter().map(|w| w.1).sum::<u32>());
            assert_eq!(a.entries(), b.entries());
        }
    }
}
