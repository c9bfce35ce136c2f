//! The swap area: slots on a swap device that hold the bytes of pages
//! that left memory (Linux `mm/swapfile.c`, NetBSD `uvm_swap.c`).
//!
//! ```text
//!   slot:     0        1  2  3 ...  511 | 512 ... 1023 | 1024 ...     N-1
//!   cluster:  |<-------- cluster 0 ---->|<- cluster 1 ->|<- cluster 2 ...
//!             header (never handed out)
//!   per slot: count (users: swap PTEs, shmem objects), cache (a page in
//!             the swap cache), data (the page's bytes; None = all zeros,
//!             the kernel's `zeromap`)
//! ```
//!
//! Slots are handed out as Linux 6.18 hands them out on a synchronous
//! device with one CPU (`folio_alloc_swap` -> `cluster_alloc_swap_entry`,
//! as the `cases-swap` recordings pin them down):
//! - a 4 KiB page takes the next free slot after the last one handed out
//!   (`alloc_swap_scan_cluster` moves the cursor to `offset + 1`); freed
//!   slots behind the cursor are not taken again while its cluster has
//!   free slots further on;
//! - when the cursor's cluster has none, the search goes on from the start
//!   of a cluster that is in use and has room (the `nonfull` list), then of
//!   an empty one (the `free` list): in a small area that means the freed
//!   slots (`swap_small`);
//! - a huge page takes a whole empty cluster, the lowest (the first
//!   page-out of a huge page gets 512...1023, the next 1024...1535), and that
//!   cluster serves huge pages only until it is empty again (`thp_slots`).
//!
//! A slot is free when nothing uses it: no swap entry in a page table or a
//! shmem object, and no page in the swap cache (`swap_map[offset] == 0`).

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, ebusy, einval};
use crate::event::Pid;
use crate::machine::Machine;
use serde::Serialize;
use std::collections::BTreeMap;

/// Slots per cluster: one huge page (`SWAPFILE_CLUSTER` = `HPAGE_PMD_NR`).
pub const CLUSTER_SLOTS: u32 = 512;

/// A slot number on the swap area (the swap entry's offset).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub struct Slot(pub u32);

/// What one slot holds.
#[derive(Clone, Debug, Default)]
struct SlotInfo {
    /// Users of the slot: swap entries in page tables and shmem objects
    /// (the low bits of `swap_map[offset]`).
    count: u32,
    /// A page of the swap cache holds the slot (`SWAP_HAS_CACHE`).
    cached: bool,
    /// Taken by an allocation and not yet freed (a slot can be taken with
    /// no user yet, between allocation and the first swap entry).
    taken: bool,
    /// The shadow the page left when reclaim freed it
    /// (`workingset_eviction`); taken by the next read.
    shadow: Option<Shadow>,
}

/// A page's shadow in the swap cache (`pack_shadow`): where it was evicted
/// from, and when, so that a refault can tell whether the page would
/// have stayed had the working set had the room (`workingset_refault`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shadow {
    /// Evicted with no memory cgroup as the target (MADV_PAGEOUT's
    /// `reclaim_pages`): judged against the whole machine's lists, which
    /// on the recording machine always hold the refault distance.
    Root,
    /// Evicted by the memory cgroup's reclaim, at this value of its
    /// `nonresident_age`.
    Memcg { eviction: u64 },
}

/// Which allocation a cluster serves (`ci->order`): 4 KiB pages, or huge
/// pages only, from the first allocation in it until it is empty again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClusterOrder {
    Small,
    Huge,
}

/// One active swap area (`struct swap_info_struct`).
#[derive(Clone, Debug)]
pub struct SwapArea {
    slots: Vec<SlotInfo>,
    /// The page bytes of written slots; an all-zero page stores nothing
    /// (`zeromap`: no I/O, the slot is taken all the same).
    data: BTreeMap<u32, Box<[u8]>>,
    /// Per cluster: slots taken, and the order it serves while in use.
    cluster_used: Vec<u32>,
    cluster_order: Vec<ClusterOrder>,
    /// The 4 KiB cursor: the next slot to try (`percpu_swap_cluster`).
    cursor: Option<u32>,
    /// Slots taken (`inuse_pages`), the header not included.
    inuse: u32,
    /// New pages may go here (`SWP_WRITEOK`); swapoff clears it first.
    writeok: bool,
}

impl SwapArea {
    /// An area of `pages` pages, page 0 holding the header: `pages - 1`
    /// usable slots, numbered from 1.
    pub fn new(pages: u32) -> SwapArea {
        let nclusters = pages.div_ceil(CLUSTER_SLOTS) as usize;
        let mut a = SwapArea {
            slots: vec![SlotInfo::default(); pages as usize],
            data: BTreeMap::new(),
            cluster_used: vec![0; nclusters],
            cluster_order: vec![ClusterOrder::Small; nclusters],
            cursor: None,
            inuse: 0,
            writeok: true,
        };
        // The header counts as used (`SWAP_MAP_BAD`), so cluster 0 starts
        // on the nonfull list and the first page-out gets slot 1.
        if pages > 0 {
            a.slots[0].taken = true;
            a.cluster_used[0] = 1;
        }
        a
    }

    /// Usable slots (`si->pages`).
    pub fn size(&self) -> u32 {
        (self.slots.len() as u32).saturating_sub(1)
    }

    /// Slots taken (`si->inuse_pages`).
    pub fn inuse(&self) -> u32 {
        self.inuse
    }

    fn cluster_len(&self, c: usize) -> u32 {
        let start = c as u32 * CLUSTER_SLOTS;
        (self.slots.len() as u32 - start).min(CLUSTER_SLOTS)
    }

    fn take(&mut self, s: u32) {
        let info = &mut self.slots[s as usize];
        debug_assert!(!info.taken);
        info.taken = true;
        self.cluster_used[(s / CLUSTER_SLOTS) as usize] += 1;
        self.inuse += 1;
    }

    /// The first free slot of cluster `c` at or after `from`.
    fn scan(&self, c: usize, from: u32) -> Option<u32> {
        let start = c as u32 * CLUSTER_SLOTS;
        let end = start + self.cluster_len(c);
        (from.max(start)..end).find(|&s| !self.slots[s as usize].taken)
    }

    /// Whether slots are handed out (`SWP_WRITEOK`): not while swapoff
    /// empties the area.
    pub fn writeok(&self) -> bool {
        self.writeok
    }

    /// A slot for one 4 KiB page, or `None` when the area is full (or
    /// being turned off).
    pub fn alloc(&mut self) -> Option<Slot> {
        if !self.writeok {
            return None;
        }
        if let Some(cur) = self.cursor {
            let c = (cur / CLUSTER_SLOTS) as usize;
            if c < self.cluster_used.len()
                && self.cluster_order[c] == ClusterOrder::Small
                && let Some(s) = self.scan(c, cur)
            {
                self.take(s);
                self.cursor = Some(s + 1);
                return Some(Slot(s));
            }
        }
        // Another cluster: one in use with room before an empty one, each
        // scanned from its start.
        let n = self.cluster_used.len();
        let nonfull = (0..n).find(|&c| {
            self.cluster_used[c] > 0
                && self.cluster_order[c] == ClusterOrder::Small
                && self.cluster_used[c] < self.cluster_len(c)
        });
        let c = nonfull.or_else(|| (0..n).find(|&c| self.cluster_used[c] == 0))?;
        self.cluster_order[c] = ClusterOrder::Small;
        let s = self.scan(c, 0)?;
        self.take(s);
        self.cursor = Some(s + 1);
        Some(Slot(s))
    }

    /// A whole empty cluster for one huge page: its first slot, or `None`.
    pub fn alloc_huge(&mut self) -> Option<Slot> {
        if !self.writeok {
            return None;
        }
        let c = (0..self.cluster_used.len())
            .find(|&c| self.cluster_used[c] == 0 && self.cluster_len(c) == CLUSTER_SLOTS)?;
        self.cluster_order[c] = ClusterOrder::Huge;
        let start = c as u32 * CLUSTER_SLOTS;
        for s in start..start + CLUSTER_SLOTS {
            self.take(s);
        }
        Some(Slot(start))
    }

    /// Store a page's bytes in a taken slot (`swap_writepage`); an
    /// all-zero page stores nothing (`zeromap`).
    pub fn write(&mut self, s: Slot, bytes: &[u8]) {
        debug_assert!(self.slots[s.0 as usize].taken);
        if bytes.iter().all(|&b| b == 0) {
            self.data.remove(&s.0);
        } else {
            self.data.insert(s.0, bytes.into());
        }
    }

    /// The bytes of a slot (`swap_read_folio`): `None` reads as zeros.
    pub fn read(&self, s: Slot) -> Option<&[u8]> {
        self.data.get(&s.0).map(|b| &b[..])
    }

    /// Leave a shadow for the page just written to `s`.
    pub fn set_shadow(&mut self, s: Slot, shadow: Shadow) {
        if let Some(i) = self.slots.get_mut(s.0 as usize) {
            i.shadow = Some(shadow);
        }
    }

    /// Take the shadow of `s` (a read replaces it with the page).
    pub fn take_shadow(&mut self, s: Slot) -> Option<Shadow> {
        self.slots
            .get_mut(s.0 as usize)
            .and_then(|i| i.shadow.take())
    }

    /// One more user of the slot (`swap_duplicate`: fork copying a swap
    /// entry, a shmem object taking one).
    pub fn dup(&mut self, s: Slot) {
        self.slots[s.0 as usize].count += 1;
    }

    /// Users of the slot (`__swap_count`).
    pub fn count(&self, s: Slot) -> u32 {
        self.slots.get(s.0 as usize).map_or(0, |i| i.count)
    }

    /// Whether the slot is taken.
    pub fn is_taken(&self, s: Slot) -> bool {
        self.slots.get(s.0 as usize).is_some_and(|i| i.taken)
    }

    /// Whether a page of the swap cache holds the slot.
    pub fn cached(&self, s: Slot) -> bool {
        self.slots.get(s.0 as usize).is_some_and(|i| i.cached)
    }

    /// A page enters or leaves the swap cache for this slot.
    pub fn set_cached(&mut self, s: Slot, cached: bool) {
        self.slots[s.0 as usize].cached = cached;
        self.maybe_free(s);
    }

    /// One user fewer (`swap_free`); the slot is freed when no user and
    /// no swap-cache page is left. Returns whether it was freed.
    pub fn put(&mut self, s: Slot) -> bool {
        let info = &mut self.slots[s.0 as usize];
        debug_assert!(info.count > 0, "slot {} has no user", s.0);
        info.count = info.count.saturating_sub(1);
        self.maybe_free(s)
    }

    fn maybe_free(&mut self, s: Slot) -> bool {
        let info = &mut self.slots[s.0 as usize];
        if !info.taken || info.count > 0 || info.cached {
            return false;
        }
        info.taken = false;
        info.shadow = None;
        self.data.remove(&s.0);
        let c = (s.0 / CLUSTER_SLOTS) as usize;
        self.cluster_used[c] -= 1;
        self.inuse -= 1;
        if self.cluster_used[c] == 0 {
            self.cluster_order[c] = ClusterOrder::Small;
        }
        true
    }

    /// Taken slots, lowest first, with their users and cache state (for
    /// views and `Machine::check`).
    pub fn taken(&self) -> impl Iterator<Item = (Slot, u32, bool)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, i)| i.taken)
            .map(|(s, i)| (Slot(s as u32), i.count, i.cached))
    }
}

/// Who holds a swap slot: an anon (the page tables hold its swap
/// entries) or a shmem object's page (the object holds the entry).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SwapOwner {
    Anon(u32),
    Shmem { object: u32, index: u64 },
}

/// The machine's swap and memory-limit calls (`swapon(2)`, `swapoff(2)`,
/// the memory cgroup's `memory.limit_in_bytes`) and what they report.
impl Machine {
    /// `swapon`: a swap area of `size` bytes (a multiple of 4 KiB; page 0
    /// holds the header). EBUSY when an area is on: there is one at a time.
    pub fn swapon(&mut self, size: u64) -> SysResult<()> {
        if self.swap.is_some() {
            return Err(ebusy("a swap area is already on"));
        }
        let pages = u32::try_from(size / PAGE_SIZE)
            .ok()
            .filter(|&p| p >= 2)
            .ok_or(einval("swap area size out of range"))?;
        self.swap = Some(SwapArea::new(pages));
        // The anonymous pages already in memory join the inactive list, in
        // frame order (their ages are not known: pages are kept on the
        // lists only while an area is on).
        let anon: Vec<crate::addr::Pfn> = self
            .phys
            .allocated()
            .filter(|&p| {
                let d = self.phys.desc(p);
                matches!(d.owner, crate::phys::FrameOwner::Anon { .. })
                    && d.lru == crate::phys::LruList::None
            })
            .collect();
        for p in anon {
            self.phys.lru_add(p, crate::phys::LruList::Inactive);
        }
        Ok(())
    }

    /// `swapoff`: every page in the area comes back into memory, then the
    /// area goes. EINVAL when no area is on; ENOMEM when memory runs out
    /// first (the pages read so far stay in memory, the area stays on).
    pub fn swapoff(&mut self) -> SysResult<()> {
        if self.swap.is_none() {
            return Err(einval("no swap area is on"));
        }
        // No page goes out to the area any more (`SWP_WRITEOK` cleared),
        // and bringing the pages back kills nobody: short of memory, the
        // call fails and the area stays (`reinsert_swap_info`).
        self.swap_mut().writeok = false;
        self.oom_allowed = false;
        let r = self.swap_unuse();
        self.oom_allowed = true;
        if let Err(e) = r {
            self.swap_mut().writeok = true;
            return Err(e);
        }
        debug_assert_eq!(self.swap.as_ref().map(|a| a.inuse()), Some(0));
        self.swap = None;
        Ok(())
    }

    /// Set the memory limit of the processes' memory cgroup to `limit`
    /// bytes. EBUSY when more is in use and reclaim cannot bring it below
    /// (the old limit stays).
    pub fn memlimit(&mut self, limit: u64) -> SysResult<()> {
        let old = self.memlimit.replace(limit / PAGE_SIZE);
        if !self.shrink_to_limit(limit / PAGE_SIZE) {
            self.memlimit = old;
            return Err(ebusy(
                "more memory in use than the limit, and reclaim cannot free it",
            ));
        }
        Ok(())
    }

    /// Pages that are in the swap area and not in memory: each taken slot
    /// with a user and no page in the swap cache counts once.
    pub fn swapped(&self) -> u64 {
        self.swap.as_ref().map_or(0, |a| {
            a.taken()
                .filter(|&(_, users, cached)| users > 0 && !cached)
                .count() as u64
        })
    }

    /// The major faults of `pid` since the last call (or since it started).
    pub fn take_major_faults(&mut self, pid: Pid) -> SysResult<u64> {
        self.proc_ref(pid)?;
        Ok(core::mem::take(&mut self.proc_mut(pid).maj_flt))
    }

    /// Whether the OOM killer killed `pid`.
    pub fn oom_killed(&self, pid: Pid) -> bool {
        self.oom_killed.contains(&pid)
    }

    /// The swap area, if one is on (for views).
    pub fn swap_area(&self) -> Option<&SwapArea> {
        self.swap.as_ref()
    }
}

impl Machine {
    /// The swap invariants, for [`Machine::check`]: every slot taken has a
    /// user or a page in the swap cache and belongs to one anon
    /// (`owners`: slot -> anon, from the anon check); its count of users
    /// is the number of swap entries naming it in the page tables; every
    /// swap entry names a taken slot whose anon is the one the entry's
    /// amap slot holds.
    pub(crate) fn check_swap(&self, owners: &BTreeMap<Slot, SwapOwner>) -> Result<(), String> {
        let mut users: BTreeMap<Slot, u32> = BTreeMap::new();
        for (pid, p) in self.procs.iter() {
            let mut err = None;
            let mut n = 0;
            p.pmap.for_each_swap(&self.phys, |va, sw| {
                n += 1;
                let slot = Slot(sw.offset as u32);
                *users.entry(slot).or_default() += 1;
                if err.is_some() {
                    return;
                }
                let anon = p
                    .map
                    .find(va.0)
                    .and_then(|e| e.slot(va.0))
                    .and_then(|(a, s)| self.amaps.get(a).and_then(|am| am.lookup(s)));
                if anon.is_none() || owners.get(&slot) != anon.map(SwapOwner::Anon).as_ref() {
                    err = Some(format!(
                        "p{pid}: swap entry at {:#x} names slot {} but its amap slot holds {anon:?}",
                        va.0, slot.0
                    ));
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            if n != p.pmap.swap_entries() {
                return Err(format!(
                    "p{pid}: {n} swap entries in the tables, {} counted",
                    p.pmap.swap_entries()
                ));
            }
        }
        let Some(area) = &self.swap else {
            return match users.keys().next() {
                Some(s) => Err(format!("a swap entry names slot {} with no area on", s.0)),
                None => Ok(()),
            };
        };
        for (owner_slot, owner) in owners {
            if let SwapOwner::Shmem { .. } = owner {
                *users.entry(*owner_slot).or_default() += 1;
            }
            if !area.is_taken(*owner_slot) {
                return Err(format!(
                    "swap slot {} has an owner but is free",
                    owner_slot.0
                ));
            }
        }
        for (slot, count, cached) in area.taken() {
            let want = users.remove(&slot).unwrap_or(0);
            if count != want {
                return Err(format!(
                    "swap slot {}: {count} users counted, {want} swap entries name it",
                    slot.0
                ));
            }
            if count == 0 && !cached {
                return Err(format!(
                    "swap slot {} leaked: taken, no user, not cached",
                    slot.0
                ));
            }
            if !owners.contains_key(&slot) {
                return Err(format!("swap slot {} belongs to no anon", slot.0));
            }
        }
        if let Some(s) = users.keys().next() {
            return Err(format!("a swap entry names free slot {}", s.0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_page_out_gets_slot_1_and_the_next_ones_follow() {
        let mut a = SwapArea::new(16384);
        assert_eq!(a.size(), 16383);
        let got: Vec<u32> = (0..4).map(|_| a.alloc().unwrap().0).collect();
        assert_eq!(got, [1, 2, 3, 4]);
        assert_eq!(a.inuse(), 4);
    }

    #[test]
    fn freed_slots_are_not_reused_while_the_cluster_has_room_further_on() {
        let mut a = SwapArea::new(16384);
        let s: Vec<Slot> = (0..16).map(|_| a.alloc().unwrap()).collect();
        for &x in &s {
            a.dup(x);
        }
        for &x in &s {
            assert!(a.put(x));
        }
        assert_eq!(a.alloc(), Some(Slot(17)));
    }

    #[test]
    fn a_small_area_reuses_freed_slots_once_the_cursor_runs_off_its_end() {
        // 48 KiB: 12 pages, 11 slots.
        let mut a = SwapArea::new(12);
        let s: Vec<Slot> = (0..11).map(|_| a.alloc().unwrap()).collect();
        assert_eq!(s.last(), Some(&Slot(11)));
        assert_eq!(a.alloc(), None);
        a.dup(s[2]);
        a.put(s[2]);
        assert_eq!(a.alloc(), Some(Slot(3)));
    }

    #[test]
    fn a_huge_page_takes_a_whole_empty_cluster() {
        let mut a = SwapArea::new(4096);
        assert_eq!(a.alloc(), Some(Slot(1)));
        assert_eq!(a.alloc_huge(), Some(Slot(512)));
        assert_eq!(a.alloc_huge(), Some(Slot(1024)));
        // 4 KiB pages go on filling their own cluster.
        assert_eq!(a.alloc(), Some(Slot(2)));
        assert_eq!(a.inuse(), 2 + 1024);
    }

    #[test]
    fn a_huge_page_cluster_serves_no_small_page() {
        // Cluster 0 full, cluster 1 holds a huge page: small pages go to 2.
        let mut a = SwapArea::new(2048);
        for _ in 0..511 {
            a.alloc().unwrap();
        }
        assert_eq!(a.alloc_huge(), Some(Slot(512)));
        assert_eq!(a.alloc(), Some(Slot(1024)));
    }

    #[test]
    fn a_slot_stays_taken_while_the_swap_cache_holds_it() {
        let mut a = SwapArea::new(100);
        let s = a.alloc().unwrap();
        a.dup(s);
        a.set_cached(s, true);
        assert!(!a.put(s));
        assert_eq!(a.inuse(), 1);
        a.set_cached(s, false);
        assert_eq!(a.inuse(), 0);
    }

    #[test]
    fn an_all_zero_page_stores_no_bytes() {
        let mut a = SwapArea::new(100);
        let s = a.alloc().unwrap();
        a.write(s, &[0; 4096]);
        assert_eq!(a.read(s), None);
        let t = a.alloc().unwrap();
        a.write(t, &[7; 4096]);
        assert_eq!(a.read(t).map(|b| b[4095]), Some(7));
    }
}
