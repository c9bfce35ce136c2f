//! Operations on map entries that touch the layers below: clipping
//! (`uvm_map_clip_start/end`, Linux `__split_vma`), merging (`vma_merge`),
//! unmapping (`uvm_unmap_remove`, `do_vmi_munmap`), and the amap/anon/object
//! reference counting that goes with them (`amap_ref`, `amap_unref`,
//! `amap_copy`, `uvm_anfree`).

use super::amap::{Amap, AmapRef};
use super::map::Entry;
use crate::addr::{PAGE_SHIFT, VirtAddr};
use crate::event::{Event, Pid};
use crate::flags::Prot;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::MergeRule;
use crate::phys::FrameOwner;
use crate::vm::map::Inherit;
use crate::vm::object::{ObjKind, Object};

impl MergeRule {
    /// Whether the entries `a` (below) and `b` (above, adjacent) may be
    /// one entry under this rule.
    pub(crate) fn mergeable(self, a: &Entry, b: &Entry) -> bool {
        match self {
            MergeRule::Linux => Machine::linux_mergeable(a, b),
            MergeRule::Uvm => Machine::uvm_mergeable(a, b),
            MergeRule::FreeBsd => freebsd_mergeable(a, b),
        }
    }

    /// Whether a new entry `new` joins the entry `prev` just below it when
    /// it is inserted. Linux and UVM: the same test as any merge. FreeBSD
    /// (`vm_map_insert1`): besides two entries that could be one, a new
    /// private anonymous mapping extends the anonymous memory of `prev`,
    /// touched or not, as long as that memory is `prev`'s alone
    /// (`vm_object_coalesce`: no backing object, not shared) and `prev`
    /// is not wired.
    pub(crate) fn coalesces(self, prev: &Entry, new: &Entry) -> bool {
        match self {
            MergeRule::Linux => Machine::linux_mergeable(prev, new),
            MergeRule::Uvm => Machine::uvm_mergeable(prev, new),
            MergeRule::FreeBsd => {
                freebsd_mergeable(prev, new)
                    || (new.object.is_none()
                        && new.aref.is_none()
                        && prev.object.is_none()
                        && !prev.needs_copy
                        && !prev.flags.contains(VmFlags::LOCKED)
                        && freebsd_entries_alike(prev, new))
            }
        }
    }
}

/// What FreeBSD compares of two touching entries besides their objects:
/// protection, maximum protection, inheritance, wiring and the entry
/// flags (`eflags`, copy-on-write state included); neither may be a stack
/// or a stack gap (`MAP_ENTRY_NOMERGE_MASK`). Linux's accounting bit is
/// not a FreeBSD entry flag.
fn freebsd_entries_alike(a: &Entry, b: &Entry) -> bool {
    let nomerge = VmFlags::GROWSDOWN | VmFlags::STACK_GAP;
    a.end == b.start
        && !(a.flags | b.flags).intersects(nomerge)
        && a.prot == b.prot
        && (a.flags ^ b.flags) - VmFlags::ACCOUNT == VmFlags::empty()
        && a.inherit == b.inherit
        && a.needs_copy == b.needs_copy
}

/// `vm_map_mergeable_neighbors`: alike, and the same object at contiguous
/// offsets, or none. Here the object of private memory is its upper layer
/// (the amap, FreeBSD's anonymous or shadow object) over the file, if any.
fn freebsd_mergeable(a: &Entry, b: &Entry) -> bool {
    let lower = a.object == b.object && (a.object.is_none() || a.pgoff + a.pages() == b.pgoff);
    let upper = match (a.aref, b.aref) {
        (None, None) => true,
        (Some(x), Some(y)) => x.amap == y.amap && x.slotoff + a.pages() == y.slotoff,
        _ => false,
    };
    freebsd_entries_alike(a, b) && lower && upper
}

/// A new mapping as mmap(2) asks the map layer for it, its arguments
/// checked and its place chosen.
pub(crate) struct NewMapping {
    pub start: u64,
    pub len: u64,
    pub prot: Prot,
    pub flags: VmFlags,
    /// The file, memfd or shmem object mapped, if any; anonymous shared
    /// memory gets a hidden shmem object of its own here.
    pub object: Option<u32>,
    /// The entry's page offset: the object's, or for private anonymous
    /// memory the virtual page number (as Linux keeps it).
    pub pgoff: u64,
    /// MAP_FIXED: whatever is mapped in the range goes first.
    pub replace: bool,
    /// Fault the pages in afterwards (MAP_POPULATE, MAP_LOCKED).
    pub populate: bool,
}

impl Machine {
    /// `mmap_region` / `uvm_map`: a fixed mapping replaces whatever was
    /// there (a placed one landed in a hole); the entry is linked, merged
    /// with its neighbours where the merge rule allows, and populated if
    /// asked. `mm_populate` ignores errors: the mapping stands regardless.
    pub(crate) fn map_region(&mut self, pid: Pid, m: NewMapping) {
        let (start, len) = (m.start, m.len);
        if m.replace {
            self.unmap_range(pid, start, start + len);
        }
        let object = match m.object {
            Some(o) => Some(o),
            None if m.flags.contains(VmFlags::SHARED) => {
                // shmem_zero_setup: a hidden shmem file of the mapping's size.
                Some(self.objects.insert(Object::new(ObjKind::Shmem, len)))
            }
            None => None,
        };
        let e = Entry {
            start,
            end: start + len,
            prot: m.prot,
            flags: m.flags,
            object,
            pgoff: m.pgoff,
            aref: None,
            needs_copy: false,
            anon_vma: None,
            anon_vma_forked: false,
            // A shared mapping is inherited shared, a private one copied
            // (`MAP_INHERIT_SHARE` is what the BSDs' mmap gives MAP_SHARED).
            inherit: if m.flags.contains(VmFlags::MAYSHARE) {
                crate::vm::map::Inherit::Share
            } else {
                crate::vm::map::Inherit::Copy
            },
            ra: Default::default(),
        };
        self.insert_entry(pid, e);
        if m.populate {
            let _ = self.populate(pid, start, start + len);
        }
    }

    // ----- anons -----

    /// Drop one reference to an anon; the last one frees its frame
    /// (`uvm_anfree`). The caller has removed every PTE that mapped it.
    pub(crate) fn anon_unref(&mut self, anon: u32) {
        let Some(a) = self.anons.get_mut(anon) else {
            return;
        };
        a.refs -= 1;
        if a.refs == 0 {
            let page = a.page;
            self.anons.remove(anon);
            self.anon_page_free(page);
        }
    }

    // ----- amaps -----

    /// One more entry covers `[slotoff, slotoff + n)` of `amap` (fork).
    pub(crate) fn amap_ref(&mut self, amap: u32, slotoff: u64, n: u64) {
        let am = self
            .amaps
            .get_mut(amap)
            .expect("entry references a live amap");
        am.refs += 1;
        am.adjust_refs(slotoff, slotoff + n, 1);
    }

    /// An entry covering `[slotoff, slotoff + n)` lets go of `amap`
    /// (`amap_unref`): slots nobody covers any more lose their anons, and
    /// the last reference frees the amap (`amap_wipeout`).
    pub(crate) fn amap_unref(&mut self, amap: u32, slotoff: u64, n: u64) {
        let am = self
            .amaps
            .get_mut(amap)
            .expect("entry references a live amap");
        am.refs -= 1;
        let dead = if am.refs == 0 {
            // `amap_wipeout`: the last reference goes, and with it every
            // anon (each slot's coverage drops to zero at once).
            let dead = am.take_range(0, am.nslots());
            self.amaps.remove(amap);
            dead
        } else {
            am.adjust_refs(slotoff, slotoff + n, -1);
            let mut dead = Vec::new();
            for (lo, hi) in am.uncovered_in(slotoff, slotoff + n) {
                dead.extend(am.take_range(lo, hi));
            }
            dead
        };
        for a in dead {
            self.anon_unref(a);
        }
    }

    /// Give the entry at `start` an amap of its own (`amap_copy`): the new
    /// amap points at the same anons (each gains a reference, so the pages
    /// stay copy-on-write at the anon level) and needs-copy is cleared. An
    /// amap nobody else references is simply kept.
    pub(crate) fn amap_copy(&mut self, pid: Pid, start: u64) {
        let e = self.procs[&pid].map.entry(start).clone();
        let Some(r) = e.aref else {
            self.proc_mut(pid)
                .map
                .entries
                .get_mut(&start)
                .expect("entry")
                .needs_copy = false;
            return;
        };
        let n = e.pages();
        let old = self.amaps.get(r.amap).expect("live amap");
        if old.refs == 1 {
            self.proc_mut(pid)
                .map
                .entries
                .get_mut(&start)
                .expect("entry")
                .needs_copy = false;
            return;
        }
        let new = old.copy_range(r.slotoff, n);
        for (_, a) in new.iter() {
            self.anons.get_mut(a).expect("live anon").refs += 1;
        }
        let id = self.amaps.insert(new);
        {
            let en = self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&start)
                .expect("entry");
            en.aref = Some(AmapRef {
                amap: id,
                slotoff: 0,
            });
            en.needs_copy = false;
        }
        self.amap_unref(r.amap, r.slotoff, n);
        self.ev.push_with(|| Event::AmapCopy {
            pid,
            start: VirtAddr(e.start),
            end: VirtAddr(e.end),
            slots: n,
        });
    }

    /// Give the entry at `start` an amap if it has none yet
    /// (`amap_alloc` on the first private write), and an anon_vma the way
    /// `anon_vma_prepare` finds one: shared with a compatible neighbour.
    /// `e` is the caller's copy of the entry, brought up to date.
    pub(crate) fn amap_ensure(&mut self, pid: Pid, e: &mut Entry) {
        if e.aref.is_some() && !e.needs_copy {
            return;
        }
        self.amap_ensure_at(pid, e.start);
        *e = self.procs[&pid].map.entry(e.start).clone();
    }

    fn amap_ensure_at(&mut self, pid: Pid, start: u64) {
        let e = &self.procs[&pid].map.entries[&start];
        if e.aref.is_some() {
            if e.needs_copy {
                self.amap_copy(pid, start);
            }
            return;
        }
        let n = e.pages();
        let id = self.amaps.insert(Amap::new(n));
        self.anon_vma_prepare(pid, start);
        let en = self
            .proc_mut(pid)
            .map
            .entries
            .get_mut(&start)
            .expect("entry");
        en.aref = Some(AmapRef {
            amap: id,
            slotoff: 0,
        });
        en.needs_copy = false;
    }

    /// `anon_vma_prepare` / `find_mergeable_anon_vma`: reuse a neighbour's
    /// anon_vma when the two entries could be one (same object and flags
    /// but for rwx, pages lining up), else make a new one.
    pub(crate) fn anon_vma_prepare(&mut self, pid: Pid, start: u64) {
        let map = &self.procs[&pid].map;
        let e = &map.entries[&start];
        if e.anon_vma.is_some() {
            return;
        }
        let compatible = |a: &Entry, b: &Entry| {
            a.end == b.start
                && a.object == b.object
                && a.pgoff + a.pages() == b.pgoff
                && (a.flags ^ b.flags).is_empty()
        };
        let mut found = None;
        if let Some(p) = map.prev_of(e.start)
            && compatible(p, e)
            && !p.anon_vma_forked
        {
            found = p.anon_vma;
        }
        if found.is_none()
            && let Some(n) = map.entries.get(&e.end)
            && compatible(e, n)
            && !n.anon_vma_forked
        {
            found = n.anon_vma;
        }
        let av = match found {
            Some(a) => a,
            None => self.new_anon_vma(),
        };
        self.proc_mut(pid)
            .map
            .entries
            .get_mut(&start)
            .expect("entry")
            .anon_vma = Some(av);
    }

    // ----- objects -----

    pub(crate) fn object_ref(&mut self, obj: u32) {
        self.objects.get_mut(obj).expect("live object").refs += 1;
    }

    /// Drop a reference to an object; the last one frees its page cache.
    /// (Nothing maps its pages any more: map entries hold references.)
    pub(crate) fn object_unref(&mut self, obj: u32) {
        let o = self.objects.get_mut(obj).expect("live object");
        o.refs -= 1;
        if o.refs == 0 {
            let o = self.objects.remove(obj).expect("live object");
            for (_, pfn) in o.pages {
                self.phys.free(pfn, &mut self.ev);
            }
            for (_, (slot, cached)) in o.swap {
                self.shmem_swap_free(slot, cached);
            }
        }
    }

    /// The page-cache frame for page `index` of `obj`, read in (here:
    /// allocated zeroed, as for a hole) if it is not cached.
    pub(crate) fn cache_page(&mut self, obj: u32, index: u64) -> Option<crate::addr::Pfn> {
        let o = self.objects.get(obj)?;
        if let Some(&pfn) = o.pages.get(&index) {
            return Some(pfn);
        }
        if o.swap.contains_key(&index) {
            return self.shmem_swapin(obj, index).ok();
        }
        let pfn = self
            .alloc_page(FrameOwner::Cache { object: obj, index })
            .ok()?;
        self.objects.get_mut(obj)?.pages.insert(index, pfn);
        Some(pfn)
    }

    // ----- clipping and merging -----

    /// Split the entry containing `addr` so that an entry starts at `addr`
    /// (`uvm_map_clip_start`, `__split_vma`). Both halves keep the amap,
    /// covering disjoint slots of it, and the object.
    pub(crate) fn clip(&mut self, pid: Pid, addr: u64) {
        if self.cfg.personality.map_policy.merge == MergeRule::FreeBsd {
            self.charge_object(pid, addr);
        }
        let p = self.proc_mut(pid);
        let Some(e) = p.map.find(addr) else { return };
        if e.start == addr {
            return;
        }
        let left = e;
        let mut right = e.clone();
        let left_pages = (addr - left.start) >> PAGE_SHIFT;
        right.start = addr;
        // A FreeBSD stack gap's offset is the protection the stack grows
        // with, not a position: both halves keep it.
        if !left.flags.contains(VmFlags::STACK_GAP) {
            right.pgoff = left.pgoff + left_pages;
        }
        if let Some(r) = &mut right.aref {
            r.slotoff += left_pages;
        }
        let (start, end) = (left.start, right.end);
        p.map.entries.get_mut(&start).expect("entry").end = addr;
        let aref = right.aref;
        let obj = right.object;
        p.map.entries.insert(right);
        if let Some(r) = aref {
            self.amaps.get_mut(r.amap).expect("live amap").refs += 1;
        }
        if let Some(o) = obj {
            self.object_ref(o);
        }
        self.ev.push_with(|| Event::EntrySplit {
            pid,
            start: VirtAddr(start),
            at: VirtAddr(addr),
            end: VirtAddr(end),
        });
    }

    /// FreeBSD's `vm_map_entry_charge_object`, called before an entry is
    /// clipped at `addr`: private anonymous memory that has no object yet
    /// gets one for the whole entry, so both halves share it at
    /// contiguous offsets and can merge again later. Guards and stack
    /// gaps never get one.
    fn charge_object(&mut self, pid: Pid, addr: u64) {
        let Some(e) = self.procs[&pid].map.find(addr) else {
            return;
        };
        if e.start == addr
            || e.aref.is_some()
            || e.object.is_some()
            || e.flags.intersects(VmFlags::GUARD | VmFlags::STACK_GAP)
        {
            return;
        }
        let start = e.start;
        self.amap_ensure_at(pid, start);
    }

    /// Whether the entries `a` (below) and `b` (above, adjacent) may be
    /// one entry under Linux's rule: `is_mergeable_vma` +
    /// `is_mergeable_anon_vma`.
    fn linux_mergeable(a: &Entry, b: &Entry) -> bool {
        let anon_ok = match (a.anon_vma, b.anon_vma) {
            (Some(x), Some(y)) => x == y,
            (Some(_), None) => !a.anon_vma_forked,
            (None, Some(_)) => !b.anon_vma_forked,
            (None, None) => true,
        };
        // VM_SPECIAL (here VM_DONTEXPAND, which every hugetlb mapping
        // has) never merges (`vma_merge_new_range`, `vma_merge_existing_range`).
        a.end == b.start
            && !a.flags.contains(VmFlags::DONTEXPAND)
            && a.prot == b.prot
            && a.flags == b.flags
            && a.inherit == b.inherit
            && a.object == b.object
            && a.pgoff + a.pages() == b.pgoff
            && anon_ok
    }

    /// Whether two entries' anon_vmas could be one: either has none, or
    /// they are the same (`are_anon_vmas_compatible`).
    fn anon_vmas_compatible(a: &Entry, b: &Entry) -> bool {
        match (a.anon_vma, b.anon_vma) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
    }

    /// Merge the entry ending at `addr` with the one starting there, if
    /// they are compatible (`vma_merge`). Returns whether they merged.
    pub(crate) fn try_merge(&mut self, pid: Pid, addr: u64) -> bool {
        self.try_merge_as(pid, addr, false)
    }

    /// [`Machine::try_merge`]; `inserted`: the entry at `addr` was just
    /// inserted, and joins the one below by the merge rule's insertion
    /// test ([`MergeRule::coalesces`]).
    fn try_merge_as(&mut self, pid: Pid, addr: u64, inserted: bool) -> bool {
        let map = &self.procs[&pid].map;
        let Some(b) = map.entries.get(&addr) else {
            return false;
        };
        let Some(a) = map.prev_of(addr) else {
            return false;
        };
        let rule = self.cfg.personality.map_policy.merge;
        let ok = if inserted {
            rule.coalesces(a, b)
        } else {
            rule.mergeable(a, b)
        };
        if a.end != addr || !ok {
            return false;
        }
        self.join_entries(pid, addr);
        true
    }

    /// Make the entry ending at `addr` and the one starting there one
    /// entry; the caller has checked that they may be.
    pub(crate) fn join_entries(&mut self, pid: Pid, addr: u64) {
        let map = &self.procs[&pid].map;
        let b = map.entries.get(&addr).expect("entry above");
        let a = map.prev_of(addr).expect("entry below");
        let (a_start, b_start) = (a.start, b.start);
        // The upper layers join too. Entries that already cover adjacent
        // slots of one amap just drop a reference; otherwise each side is
        // given an amap of its own and the two are concatenated.
        let same = match (a.aref, b.aref) {
            (Some(x), Some(y)) => {
                x.amap == y.amap
                    && x.slotoff + a.pages() == y.slotoff
                    && a.needs_copy == b.needs_copy
            }
            (None, None) => true,
            _ => false,
        };
        if !same {
            for s in [a_start, b_start] {
                let e = &self.procs[&pid].map.entries[&s];
                if e.aref.is_some() {
                    self.amap_copy(pid, s);
                }
            }
        }
        let p = self.proc_mut(pid);
        let a = p.map.entries.remove(&a_start).expect("entry");
        let b = p.map.entries.remove(&b_start).expect("entry");
        let mut m = a.clone();
        m.end = b.end;
        m.anon_vma = a.anon_vma.or(b.anon_vma);
        m.anon_vma_forked = a.anon_vma_forked || b.anon_vma_forked;
        m.needs_copy = a.needs_copy;
        p.map.entries.insert(m.clone());
        if same {
            if let Some(r) = a.aref {
                self.amaps.get_mut(r.amap).expect("live amap").refs -= 1;
            }
        } else {
            let (an, bn) = (a.pages(), b.pages());
            let mut joined = Amap::new(an + bn);
            for (side, off, n) in [(a.aref, 0u64, an), (b.aref, an, bn)] {
                if let Some(r) = side {
                    let old = self.amaps.remove(r.amap).expect("private amap");
                    debug_assert_eq!(old.refs, 1);
                    for (slot, an) in old.anons_in(r.slotoff, r.slotoff + n) {
                        joined.set(off + slot - r.slotoff, Some(an));
                    }
                }
            }
            let id = self.amaps.insert(joined);
            let en = self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&m.start)
                .expect("entry");
            en.aref = Some(AmapRef {
                amap: id,
                slotoff: 0,
            });
            en.needs_copy = false;
        }
        if let Some(o) = b.object {
            self.object_unref(o);
        }
        self.ev.push_with(|| Event::EntryMerge {
            pid,
            start: VirtAddr(m.start),
            end: VirtAddr(m.end),
        });
    }

    /// Try merging the entry starting at `start` with both neighbours.
    /// Returns the start of the entry that now contains `start`.
    pub(crate) fn merge_around(&mut self, pid: Pid, start: u64) -> u64 {
        // UVM never merges an entry that already exists (`uvm_map_protect`,
        // `uvm_map_inherit`, `uvm_map_advice`, `uvm_map_pageable` only clip).
        if self.cfg.personality.map_policy.merge == MergeRule::Uvm {
            return start;
        }
        let map = &self.procs[&pid].map;
        let Some(e) = map.entries.get(&start) else {
            return start;
        };
        let end = e.end;
        // Mergeable with both neighbours, but they are not with each
        // other: the left one wins (`can_vma_merge_right`).
        let rule = self.cfg.personality.map_policy.merge;
        let right_too = match (map.prev_of(start), map.entries.get(&end)) {
            (Some(p), Some(n))
                if rule == MergeRule::Linux && p.end == start && rule.mergeable(p, e) =>
            {
                Self::anon_vmas_compatible(p, n)
            }
            _ => true,
        };
        if right_too {
            self.try_merge(pid, end);
        }
        if self.try_merge(pid, start) {
            return self.procs[&pid].map.find(start).map_or(start, |e| e.start);
        }
        start
    }

    /// Insert a new entry and merge it with its neighbours as `mmap_region`
    /// does.
    pub(crate) fn insert_entry(&mut self, pid: Pid, e: Entry) -> u64 {
        let (start, end) = (e.start, e.end);
        if let Some(o) = e.object {
            self.object_ref(o);
        }
        // Which neighbours could take it, looked up once each before the
        // insertion (`vma_merge_new_range`).
        // [start, end) is free: walking down from `end` meets the entry
        // starting there (if any), then the one below `start`.
        let rule = self.cfg.personality.map_policy.merge;
        let mut it = self.procs[&pid].map.entries.range(..=end).rev();
        let (mut next, mut prev) = (false, false);
        if let Some(n) = it.next() {
            if n.start == end {
                next = rule.mergeable(&e, n);
                if let Some(p) = it.next() {
                    prev = rule.coalesces(p, &e);
                    // Both sides, but not compatible with each other: the
                    // left one wins (`can_vma_merge_right`).
                    next &= rule != MergeRule::Linux || !prev || Self::anon_vmas_compatible(p, n);
                }
            } else {
                prev = rule.coalesces(n, &e);
            }
        }
        self.proc_mut(pid).map.entries.insert(e);
        self.ev.push_with(|| Event::EntryInsert {
            pid,
            start: VirtAddr(start),
            end: VirtAddr(end),
        });
        if next {
            self.try_merge(pid, end);
        }
        if prev && self.try_merge_as(pid, start, true) {
            return self.procs[&pid].map.find(start).map_or(start, |e| e.start);
        }
        start
    }

    /// Remove everything mapped in `[start, end)`: split the entries at the
    /// edges, zap the page tables, drop amap and object references
    /// (`do_vmi_munmap`).
    pub(crate) fn unmap_range(&mut self, pid: Pid, start: u64, end: u64) {
        // An empty range unmaps nothing (vm_map_delete / uvm_unmap of
        // start == end); the search below would find the entry at start.
        if start >= end {
            return;
        }
        // The common case, one whole entry, needs no clipping or search.
        let mut it = self.procs[&pid].map.entries.range(start..);
        let exact = it.next().is_some_and(|e| e.start == start && e.end == end);
        let next_start = if exact {
            Some(it.next().map(|e| e.start))
        } else {
            None
        };
        if !exact {
            self.clip(pid, start);
            self.clip(pid, end);
        }
        let (one, many);
        let starts: &[u64] = if exact {
            one = [start];
            &one
        } else {
            many = self.procs[&pid].map.overlapping(start, end);
            &many
        };
        if starts.is_empty() {
            return;
        }
        self.zap(pid, start, end);
        let p = self.proc_mut(pid);
        if p.guards.range(start..end).next().is_some() {
            let gone: Vec<u64> = p.guards.range(start..end).copied().collect();
            for g in gone {
                p.guards.remove(&g);
            }
        }
        for s in starts {
            let e = self.proc_mut(pid).map.entries.remove(s).expect("entry");
            if let Some(r) = e.aref {
                self.amap_unref(r.amap, r.slotoff, e.pages());
            }
            if let Some(o) = e.object {
                self.object_unref(o);
            }
            self.ev.push_with(|| Event::EntryRemove {
                pid,
                start: VirtAddr(e.start),
                end: VirtAddr(e.end),
            });
        }
        self.free_pgtables(pid, start, end);
        let l = self.layout();
        let base = l.mmap_base.min(l.task_size);
        self.proc_mut(pid).map.note_unmapped(end, base, next_start);
    }

    /// MADV_DONTNEED of `[lo, hi)` inside the entry starting at
    /// `entry_start`: its private pages go, and page tables whose whole
    /// 2 MiB span was zapped are freed (6.14's PT_RECLAIM in
    /// `zap_page_range_single`).
    pub(crate) fn dontneed(&mut self, pid: Pid, entry_start: u64, lo: u64, hi: u64) {
        self.discard_private(pid, entry_start, lo, hi);
        if let Some(p) = self.procs.get_mut(&pid) {
            p.pmap
                .reclaim_empty_pts(&mut self.phys, VirtAddr(lo), VirtAddr(hi), &mut self.ev);
        }
    }

    /// Throw away the private pages of `[start, end)` inside one entry:
    /// zap the PTEs and drop the amap slots (MADV_DONTNEED on private
    /// memory, `zap_page_range_single`). Shared objects keep their data.
    pub(crate) fn discard_private(&mut self, pid: Pid, entry_start: u64, start: u64, end: u64) {
        self.zap(pid, start, end);
        let e = &self.procs[&pid].map.entries[&entry_start];
        if e.aref.is_none() {
            return;
        }
        // The slots must be this entry's own before they are emptied: an
        // amap shared through fork is copied first (`amap_copy`).
        let r = e.aref.expect("amap");
        let first = r.slotoff + ((start - e.start) >> PAGE_SHIFT);
        let n = (end - start) >> PAGE_SHIFT;
        let am = self.amaps.get(r.amap).expect("live amap");
        if e.needs_copy || am.max_refs_in(first, first + n) > 1 {
            self.amap_copy(pid, entry_start);
        }
        let e = &self.procs[&pid].map.entries[&entry_start];
        let r = e.aref.expect("amap");
        let first = r.slotoff + ((start - e.start) >> PAGE_SHIFT);
        let n = (end - start) >> PAGE_SHIFT;
        let dead = self
            .amaps
            .get_mut(r.amap)
            .expect("live amap")
            .take_range(first, first + n);
        for a in dead {
            self.anon_unref(a);
        }
    }

    /// Set the inheritance of the entries in `[start, end)` (holes are
    /// skipped), clipping them at the edges as `vm_map_inherit` and
    /// `uvm_map_inherit` do, then merging where the merge rule allows.
    pub(crate) fn set_inherit(&mut self, pid: Pid, start: u64, end: u64, inherit: Inherit) {
        if start >= end {
            return;
        }
        self.clip(pid, start);
        self.clip(pid, end);
        let starts = self.procs[&pid].map.overlapping(start, end);
        for &s in &starts {
            self.proc_mut(pid)
                .map
                .entries
                .get_mut(&s)
                .expect("listed")
                .inherit = inherit;
        }
        for s in starts {
            if let Some(e) = self.procs[&pid].map.find(s) {
                let s = e.start;
                self.merge_around(pid, s);
            }
        }
    }

    /// Change the flags of `[start, end)` entry by entry with `f`, clipping
    /// the edges and merging afterwards (`madvise_update_vma`,
    /// `mlock_fixup`): only entries whose flags change are split.
    pub(crate) fn update_flags(
        &mut self,
        pid: Pid,
        start: u64,
        end: u64,
        f: impl Fn(VmFlags) -> VmFlags,
    ) {
        let starts = self.procs[&pid].map.overlapping(start, end);
        let mut changed = Vec::new();
        for s in starts {
            let e = &self.procs[&pid].map.entries[&s];
            let new = f(e.flags);
            if new == e.flags {
                continue;
            }
            let (lo, hi) = (e.start.max(start), e.end.min(end));
            // Locking or unlocking wires or unwires what is mapped
            // (`mlock_vma_pages_range` in `mlock_fixup`).
            let relock = (new ^ e.flags).contains(VmFlags::LOCKED);
            self.clip(pid, lo);
            self.clip(pid, hi);
            if relock {
                self.unwire_range(pid, lo, hi);
            }
            self.proc_mut(pid)
                .map
                .entries
                .get_mut(&lo)
                .expect("clipped")
                .flags = new;
            if relock {
                self.wire_range(pid, lo, hi);
            }
            changed.push(lo);
        }
        for s in changed {
            if let Some(e) = self.procs[&pid].map.find(s) {
                let s = e.start;
                self.merge_around(pid, s);
            }
        }
    }
}
