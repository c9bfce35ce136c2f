//! Amaps: the upper, anonymous layer of a mapping (NetBSD `uvm_amap.c`).
//!
//! ```text
//!   map entry --aref{amap, slotoff}--> amap --slot i--> anon --> frame
//!                                        ^ refs: entries pointing here
//!                                        ^ ppref: entries covering each slot
//! ```
//!
//! A private mapping's pages that differ from the backing object (or that
//! have no object at all) live in its amap, one slot per page. Several map
//! entries may share an amap: the halves of a split entry cover disjoint
//! slots of it, and after `fork` parent and child cover the same slots with
//! `needs_copy` set until one of them writes (`amap_copy`).
//!
//! Part 1, the interface: [`Amap::lookup`], [`Amap::set`],
//! [`Amap::take_range`], [`Amap::adjust_refs`] and friends. Callers never
//! reach into the storage.
//!
//! Part 2, the layout. UVM keeps `am_anon[]` (one slot per page),
//! `am_slots[]` (the used slots, dense) and `am_bckptr[]` (the inverse,
//! with `am_slots[am_bckptr[X]] == X`). Here the slot array is sparse so a
//! terabyte mapping with one page written costs one chunk: slots are held
//! in chunks of 512 (one chunk per 2 MiB of address space, like a page
//! table), and only chunks with a used slot exist. The per-page reference
//! counts (`am_ppref`) are run-length encoded, as UVM encodes them: a map
//! from the first slot of each run to the run's count.

use super::anon::AnonId;
use serde::Serialize;
use std::collections::BTreeMap;

/// The id of an amap in the machine's amap table.
pub type AmapId = u32;

/// Slots per storage chunk.
const CHUNK: u64 = 512;

/// Up to 512 slots and how many of them are used. A chunk is only as long
/// as the amap reaches into it, so a 16-page amap costs 16 slots, not 512.
#[derive(Clone, Debug)]
struct Chunk {
    slots: Box<[Option<AnonId>]>,
    used: u16,
}

/// A map entry's reference into an amap (`struct vm_aref`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct AmapRef {
    pub amap: AmapId,
    /// The slot that holds the entry's first page (`ar_pageoff`).
    pub slotoff: u64,
}

#[derive(Clone, Debug)]
pub struct Amap {
    nslots: u64,
    /// `am_anon`, chunked and sparse.
    chunks: BTreeMap<u64, Chunk>,
    used: usize,
    /// `am_ref`: map entries that reference this amap.
    pub refs: u32,
    /// `am_ppref`, run-length encoded: run start -> entries covering it.
    /// Always has a run at 0; a run lasts until the next key or `nslots`.
    ppref: BTreeMap<u64, u32>,
}

impl Amap {
    /// `amap_alloc`: `nslots` empty slots and one reference covering all.
    pub fn new(nslots: u64) -> Amap {
        Amap {
            nslots,
            chunks: BTreeMap::new(),
            used: 0,
            refs: 1,
            ppref: BTreeMap::from([(0, 1)]),
        }
    }
    pub fn nslots(&self) -> u64 {
        self.nslots
    }
    /// Slots in use (`am_nused`).
    pub fn used(&self) -> usize {
        self.used
    }
    /// The anon in `slot`, if any (`amap_lookup`).
    #[inline]
    pub fn lookup(&self, slot: u64) -> Option<AnonId> {
        let c = self.chunks.get(&(slot / CHUNK))?;
        c.slots.get((slot % CHUNK) as usize).copied().flatten()
    }
    /// Slots of chunk `ci` inside the amap.
    fn chunk_len(&self, ci: u64) -> usize {
        self.nslots.saturating_sub(ci * CHUNK).min(CHUNK) as usize
    }
    /// Put `anon` (or nothing) in `slot` (`amap_add` / `amap_unadd`);
    /// returns what was there.
    pub fn set(&mut self, slot: u64, anon: Option<AnonId>) -> Option<AnonId> {
        debug_assert!(slot < self.nslots);
        let (ci, i) = (slot / CHUNK, (slot % CHUNK) as usize);
        let old = match anon {
            Some(_) => {
                let len = self.chunk_len(ci);
                let c = match self.chunks.get_mut(&ci) {
                    Some(c) => c,
                    None => self.chunks.entry(ci).or_insert(Chunk {
                        slots: vec![None; len].into_boxed_slice(),
                        used: 0,
                    }),
                };
                let old = std::mem::replace(&mut c.slots[i], anon);
                if old.is_none() {
                    c.used += 1;
                }
                old
            }
            None => {
                let c = self.chunks.get_mut(&ci)?;
                let old = c.slots[i].take();
                if old.is_some() {
                    c.used -= 1;
                    if c.used == 0 {
                        self.chunks.remove(&ci);
                    }
                }
                old
            }
        };
        match (old.is_some(), anon.is_some()) {
            (false, true) => self.used += 1,
            (true, false) => self.used -= 1,
            _ => {}
        }
        old
    }
    /// `amap_copy`'s new amap: slots `[lo, lo + n)` of this one as slots
    /// `0..n` of a fresh amap with one reference (the anons' reference
    /// counts are the caller's). The same amap as `n` empty slots filled
    /// one by one with [`Amap::set`]; when `lo` starts a chunk, whole
    /// chunks are copied at once.
    pub fn copy_range(&self, lo: u64, n: u64) -> Amap {
        let mut new = Amap::new(n);
        if n == 0 {
            return new;
        }
        if !lo.is_multiple_of(CHUNK) {
            for (slot, a) in self.anons_in(lo, lo + n) {
                new.set(slot - lo, Some(a));
            }
            return new;
        }
        let first = lo / CHUNK;
        for (&ci, c) in self.chunks.range(first..=(lo + n - 1) / CHUNK) {
            let nci = ci - first;
            let len = new.chunk_len(nci).min(c.slots.len());
            let slots: Box<[Option<AnonId>]> = c.slots[..len].into();
            let used = slots.iter().filter(|s| s.is_some()).count();
            if used == 0 {
                continue;
            }
            let mut slots = slots.into_vec();
            slots.resize(new.chunk_len(nci), None);
            new.used += used;
            new.chunks.insert(
                nci,
                Chunk {
                    slots: slots.into_boxed_slice(),
                    used: used as u16,
                },
            );
        }
        new
    }
    /// The used slots in `[lo, hi)` with their anons, lowest first.
    pub fn anons_in(&self, lo: u64, hi: u64) -> Vec<(u64, AnonId)> {
        let mut v = Vec::new();
        if lo >= hi {
            return v;
        }
        for (&ci, c) in self.chunks.range(lo / CHUNK..=(hi - 1) / CHUNK) {
            let base = ci * CHUNK;
            let (a, b) = (lo.max(base) - base, hi.min(base + CHUNK) - base);
            let b = b.min(c.slots.len() as u64);
            for (i, s) in c.slots[a as usize..b as usize].iter().enumerate() {
                if let Some(x) = s {
                    v.push((base + a + i as u64, *x));
                }
            }
        }
        v
    }
    /// Every used slot, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, AnonId)> + '_ {
        self.chunks.iter().flat_map(|(ci, c)| {
            let base = ci * CHUNK;
            c.slots
                .iter()
                .enumerate()
                .filter_map(move |(i, s)| s.map(|a| (base + i as u64, a)))
        })
    }
    /// Empty the slots of `[lo, hi)`, returning their anons
    /// (`amap_wiperange` without the anon release, which is the caller's).
    pub fn take_range(&mut self, lo: u64, hi: u64) -> Vec<AnonId> {
        if lo >= hi || self.used == 0 {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(((hi - lo) as usize).min(self.used));
        let mut emptied = Vec::new();
        for (&ci, c) in self.chunks.range_mut(lo / CHUNK..=(hi - 1) / CHUNK) {
            let base = ci * CHUNK;
            let a = (lo.max(base) - base) as usize;
            let b = ((hi.min(base + CHUNK) - base) as usize).min(c.slots.len());
            for s in c.slots[a.min(b)..b].iter_mut() {
                if let Some(x) = s.take() {
                    out.push(x);
                    c.used -= 1;
                }
            }
            if c.used == 0 {
                emptied.push(ci);
            }
        }
        for ci in emptied {
            self.chunks.remove(&ci);
        }
        self.used -= out.len();
        out
    }
    /// Grow or shrink the slot count (`amap_extend`); new slots are empty
    /// and covered by nobody until a reference is added.
    pub fn resize(&mut self, nslots: u64) {
        if nslots < self.nslots {
            debug_assert!(self.anons_in(nslots, self.nslots).is_empty());
            self.ppref.split_off(&nslots.max(1));
        } else if nslots > self.nslots {
            // A partial last chunk grows to what the amap now reaches.
            let last = (self.nslots.max(1) - 1) / CHUNK;
            let len = (nslots - last * CHUNK).min(CHUNK) as usize;
            if let Some(c) = self.chunks.get_mut(&last)
                && c.slots.len() < len
            {
                let mut v = c.slots.to_vec();
                v.resize(len, None);
                c.slots = v.into_boxed_slice();
            }
            self.split_run(self.nslots);
            self.ppref.insert(self.nslots, 0);
            self.coalesce();
        }
        self.nslots = nslots;
    }

    // ----- per-page references (`amap_pp_adjref`) -----

    /// Entries covering `slot`.
    pub fn ppref_at(&self, slot: u64) -> u32 {
        self.ppref.range(..=slot).next_back().map_or(0, |(_, &c)| c)
    }
    /// Add `delta` to the coverage of `[lo, hi)`.
    pub fn adjust_refs(&mut self, lo: u64, hi: u64, delta: i64) {
        if lo >= hi {
            return;
        }
        self.split_run(lo);
        self.split_run(hi);
        for (_, c) in self.ppref.range_mut(lo..hi) {
            *c = (*c as i64 + delta).max(0) as u32;
        }
        self.coalesce();
    }
    /// The runs of `[lo, hi)` nobody covers.
    pub fn uncovered_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64)> {
        self.run_iter()
            .filter(|&(_, _, c)| c == 0)
            .filter_map(|(s, e, _)| {
                let (a, b) = (s.max(lo), e.min(hi));
                (a < b).then_some((a, b))
            })
            .collect()
    }
    /// The most entries covering any slot of `[lo, hi)`.
    pub fn max_refs_in(&self, lo: u64, hi: u64) -> u32 {
        self.run_iter()
            .filter(|&(s, e, _)| s < hi && e > lo)
            .map(|(_, _, c)| c)
            .max()
            .unwrap_or(0)
    }
    /// All runs as (first slot, end slot, count).
    pub fn runs(&self) -> Vec<(u64, u64, u32)> {
        self.run_iter().collect()
    }
    fn run_iter(&self) -> impl Iterator<Item = (u64, u64, u32)> + '_ {
        let mut it = self.ppref.iter().peekable();
        std::iter::from_fn(move || {
            loop {
                let (&s, &c) = it.next()?;
                let e = it.peek().map_or(self.nslots, |p| *p.0);
                if s < e {
                    return Some((s, e, c));
                }
            }
        })
    }
    fn split_run(&mut self, at: u64) {
        if at >= self.nslots.max(1) || self.ppref.contains_key(&at) {
            return;
        }
        let c = self.ppref_at(at);
        self.ppref.insert(at, c);
    }
    fn coalesce(&mut self) {
        let mut prev: Option<u32> = None;
        let mut dup = Vec::new();
        for (&s, &c) in &self.ppref {
            if prev == Some(c) {
                dup.push(s);
            }
            prev = Some(c);
        }
        for s in dup {
            self.ppref.remove(&s);
        }
    }
}

impl Serialize for Amap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Amap", 4)?;
        st.serialize_field("nslots", &self.nslots)?;
        st.serialize_field("refs", &self.refs)?;
        st.serialize_field("slots", &self.iter().collect::<Vec<_>>())?;
        st.serialize_field("ppref", &self.runs())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_range_is_the_amap_filled_slot_by_slot() {
        let mut a = Amap::new(3000);
        for slot in (0..3000).filter(|s| s % 7 == 0 || (1024..1536).contains(s)) {
            a.set(slot, Some(slot as AnonId + 1));
        }
        for (lo, n) in [
            (0, 3000),
            (512, 1000),
            (1024, 512),
            (512, 2488),
            (3, 700),
            (1536, 0),
            (2560, 440),
        ] {
            let mut want = Amap::new(n);
            for (slot, x) in a.anons_in(lo, lo + n) {
                want.set(slot - lo, Some(x));
            }
            let got = a.copy_range(lo, n);
            assert_eq!(got.nslots(), n);
            assert_eq!(got.used(), want.used(), "copy of {lo}+{n}");
            assert_eq!(
                got.iter().collect::<Vec<_>>(),
                want.iter().collect::<Vec<_>>()
            );
            assert_eq!(got.refs, 1);
            for slot in [0, n / 2, n.saturating_sub(1)] {
                assert_eq!(got.lookup(slot), want.lookup(slot));
            }
            // and it works as an amap afterwards: emptying a chunk drops it
            let mut got = got;
            for (slot, _) in want.iter() {
                got.set(slot, None);
            }
            assert_eq!(got.used(), 0);
            assert!(got.chunks.is_empty());
        }
    }

    #[test]
    fn sparse_slots() {
        let mut a = Amap::new(1 << 40);
        assert_eq!(a.set(5, Some(7)), None);
        assert_eq!(a.set((1 << 40) - 1, Some(8)), None);
        assert_eq!(a.lookup(5), Some(7));
        assert_eq!(a.lookup(6), None);
        assert_eq!(a.used(), 2);
        assert_eq!(a.take_range(0, 10), vec![7]);
        assert_eq!(a.used(), 1);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![((1 << 40) - 1, 8)]);
    }

    #[test]
    fn ppref_runs() {
        let mut a = Amap::new(16);
        a.adjust_refs(4, 8, 1);
        assert_eq!(a.runs(), vec![(0, 4, 1), (4, 8, 2), (8, 16, 1)]);
        a.adjust_refs(0, 16, -1);
        assert_eq!(a.uncovered_in(0, 16), vec![(0, 4), (8, 16)]);
        assert_eq!(a.max_refs_in(0, 16), 1);
        a.adjust_refs(4, 8, -1);
        assert_eq!(a.runs(), vec![(0, 16, 0)]);
        a.resize(32);
        a.adjust_refs(16, 32, 1);
        assert_eq!(a.runs(), vec![(0, 16, 0), (16, 32, 1)]);
    }
}
