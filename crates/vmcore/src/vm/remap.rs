//! Moving and growing mappings, the map-layer half of mremap(2)
//! (`move_vma`, `vma_expand`, `copy_vma`, `move_page_tables`): an entry
//! grows in place, or moves (its amap, page-table entries and guard
//! markers with it) to a new place, or is duplicated there (old length 0).

use crate::addr::PAGE_SHIFT;
use crate::errno::{SysResult, efault, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;

/// Where a moved mapping goes.
pub(crate) enum Target {
    /// Exactly here, replacing what is there (MREMAP_FIXED).
    Fixed(u64),
    /// Here if free, else wherever there is room (0: no preference).
    Hint(u64),
}

impl Machine {
    /// A fixed-address move of a range spanning several entries (Linux
    /// 6.17+): each entry piece moves to its offset from `new_addr`,
    /// replacing only what lies under it there; what faces a hole of the
    /// source is left alone.
    pub(crate) fn move_many(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        new_addr: u64,
        dontunmap: bool,
    ) -> SysResult<u64> {
        let pieces: Vec<(u64, u64)> = self.procs[&pid]
            .map
            .overlapping(addr, addr + len)
            .into_iter()
            .map(|s| {
                let e = &self.procs[&pid].map.entries[&s];
                (e.start.max(addr), e.end.min(addr + len))
            })
            .collect();
        for (lo, mut hi) in pieces {
            let dest = new_addr + (lo - addr);
            // check_prep_vma for each piece: a hugetlb piece is moved in
            // whole huge pages, from and to huge page boundaries
            // (`align_hugetlb`).
            let e = self.procs[&pid].map.find(lo).expect("listed").clone();
            if let Some(size) = self.hugetlb_page_size(&e) {
                if lo % size != 0 || !dest.is_multiple_of(size) {
                    return Err(crate::errno::einval("hugetlb moves by whole huge pages"));
                }
                hi = lo + (hi - lo).next_multiple_of(size);
            }
            self.move_mapping(
                pid,
                lo,
                hi - lo,
                hi - lo,
                Target::Fixed(dest),
                dontunmap,
                false,
            )?;
        }
        Ok(new_addr)
    }

    /// Grow the entry at `start` to end at `new_end`; its amap grows with it
    /// (`amap_extend(AMAP_EXTEND_FORWARDS)`).
    pub(crate) fn extend_entry(&mut self, pid: Pid, start: u64, new_end: u64) {
        let e = self.procs[&pid].map.entry(start).clone();
        if e.aref.is_some() {
            self.amap_copy(pid, start);
        }
        let e = self.procs[&pid].map.entry(start).clone();
        let new_pages = (new_end - e.start) >> PAGE_SHIFT;
        if let Some(r) = e.aref {
            let am = self.amaps.get_mut(r.amap).expect("live amap");
            let want = r.slotoff + new_pages;
            if am.nslots() < want {
                am.resize(want);
            }
            am.adjust_refs(r.slotoff + e.pages(), want, 1);
        }
        // A shmem object keeps its size: pages past it raise SIGBUS.
        self.proc_mut(pid)
            .map
            .entries
            .get_mut(&start)
            .expect("entry")
            .end = new_end;
    }

    /// Move `[addr, addr+old_len)` to a new place of `new_len` bytes
    /// (`move_vma`), or copy it (`dup`: old length 0). A locked mapping
    /// then has what it gained populated, errors ignored (`mm_populate`
    /// at the end of `mremap`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn move_mapping(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        target: Target,
        dontunmap: bool,
        dup: bool,
    ) -> SysResult<u64> {
        let locked = self.procs[&pid]
            .map
            .find(addr)
            .is_some_and(|e| e.flags.contains(VmFlags::LOCKED));
        let dest = self.relocate(pid, addr, old_len, new_len, target, dontunmap, dup)?;
        let kept = if dup { 0 } else { old_len };
        if locked && new_len > kept {
            let _ = self.populate(pid, dest + kept, dest + new_len);
        }
        Ok(dest)
    }

    /// [`Machine::move_mapping`] without the populate: the PTEs and the
    /// amap slots travel with the mapping. `target` is either the fixed
    /// address (`MREMAP_FIXED`) or a hint.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn relocate(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        target: Target,
        dontunmap: bool,
        dup: bool,
    ) -> SysResult<u64> {
        let dest = match target {
            Target::Fixed(t) => {
                // do_munmap of the target, which may not cut a hugetlb
                // mapping off its huge pages (case hugetlb_mremap).
                self.may_split_range(pid, t, t + new_len)?;
                self.unmap_range(pid, t, t + new_len);
                // With a zero old length the destination may cover the
                // source itself: it is gone now, and the call fails with
                // the destination unmapped (`mremap_to` looks the source up
                // again after `do_munmap`).
                if self.procs[&pid].map.find(addr).is_none() {
                    return Err(efault("the old mapping was unmapped by the new range"));
                }
                t
            }
            Target::Hint(h) => {
                // vrm_set_new_addr: get_unmapped_area as mmap's, with the
                // entry's file and offset (an ext4 file or 2 MiB multiples
                // of private anonymous memory land THP aligned).
                let backing =
                    self.entry_backing(self.procs[&pid].map.find(addr).expect("mapped"), addr);
                self.linux_unmapped_area(pid, backing, h, new_len, false)
                    .ok_or(enomem("no free range large enough"))?
            }
        };
        let mut old_len = if dup { 0 } else { old_len };
        if !dup && new_len < old_len {
            // Shrinking while moving: the tail goes first (`mremap_to`).
            self.may_split_range(pid, addr + new_len, addr + old_len)?;
            self.unmap_range(pid, addr + new_len, addr + old_len);
            old_len = new_len;
        }
        // prep_move_vma: the move may need up to three more entries.
        if self.map_count_at_limit(pid, 3) {
            return Err(enomem("too many mappings to move one (vm.max_map_count)"));
        }
        // The whole source entry, before it is split for the move.
        let whole = self.procs[&pid]
            .map
            .find(addr)
            .map(|e| (e.start, e.end))
            .expect("mapped");
        if !dup {
            self.clip(pid, addr);
            self.clip(pid, addr + old_len);
        }
        let src = self.procs[&pid].map.find(addr).expect("mapped").clone();
        let mut ne = src.clone();
        ne.start = dest;
        ne.end = dest + new_len;
        if src.object.is_none() && !src.is_shared() && src.anon_vma.is_none() {
            // An unfaulted anonymous entry takes the page number of its new
            // place, so it can merge there (`copy_vma`).
            ne.pgoff = dest >> PAGE_SHIFT;
        }
        if dup {
            ne.pgoff = src.object_index(addr);
            ne.aref = None;
            if let Some(o) = ne.object {
                self.object_ref(o);
            }
            self.proc_mut(pid).map.entries.insert(ne);
            return Ok(dest);
        }
        // Move the page-table entries (`move_page_tables`). The moved
        // frames are unwired here and wired again below if the new entry
        // is locked.
        self.unwire_range(pid, addr, addr + old_len);
        self.pmap_move(pid, addr, old_len, dest);
        // Guard markers travel with the page tables.
        let guards: Vec<u64> = self.procs[&pid]
            .guards
            .range(addr..addr + old_len)
            .copied()
            .collect();
        {
            let p = self.proc_mut(pid);
            for g in guards {
                p.guards.remove(&g);
                p.guards.insert(dest + (g - addr));
            }
        }
        // The amap goes with the pages; the old entry keeps none.
        let aref = src.aref;
        {
            let p = self.proc_mut(pid);
            let old = p.map.entries.get_mut(&addr).expect("mapped");
            old.aref = None;
            old.needs_copy = false;
        }
        if let Some(o) = ne.object {
            self.object_ref(o);
        }
        ne.aref = aref;
        // It arrives at its old size and then grows, amap and all.
        ne.end = dest + old_len;
        self.proc_mut(pid).map.entries.insert(ne.clone());
        if new_len > old_len {
            self.extend_entry(pid, dest, dest + new_len);
        }
        if ne.prot.is_empty() {
            // PROTNONE entries move as they were: mapped, inaccessible.
            self.pmap_protect(pid, dest, dest + old_len, ne.prot);
        }
        self.wire_range(pid, dest, dest + old_len);
        if dontunmap {
            // `copy_vma` merges the new range into a neighbour when it can,
            // and the whole source entry (never split by the kernel) may be
            // that neighbour: then the two are one entry, which
            // `dontunmap_complete` unlocks as a whole.
            let dest_end = dest + old_len;
            let joins_source = (dest_end == whole.0 || dest == whole.1) && {
                let mut source = src.clone();
                source.start = whole.0;
                source.end = whole.1;
                source.pgoff = src.pgoff - ((addr - whole.0) >> PAGE_SHIFT);
                let moved = self.procs[&pid].map.entry(dest);
                if dest_end == whole.0 {
                    self.cfg
                        .personality
                        .map_policy
                        .merge
                        .mergeable(moved, &source)
                } else {
                    self.cfg
                        .personality
                        .map_policy
                        .merge
                        .mergeable(&source, moved)
                }
            };
            // The merge takes in the new range's other neighbour too, if
            // it matches (a three-way `vma_merge_new_range`).
            let other = if !joins_source {
                None
            } else if dest_end == whole.0 {
                let map = &self.procs[&pid].map;
                map.prev_of(dest)
                    .filter(|p| {
                        self.cfg
                            .personality
                            .map_policy
                            .merge
                            .mergeable(p, map.entry(dest))
                    })
                    .map(|p| p.start)
            } else {
                let map = &self.procs[&pid].map;
                map.entries
                    .get(&dest_end)
                    .filter(|n| {
                        self.cfg
                            .personality
                            .map_policy
                            .merge
                            .mergeable(map.entry(dest), n)
                    })
                    .map(|n| n.start)
            };
            // The source entry is left whole, unlocked (`dontunmap_complete`
            // clears VM_LOCKED on it): the emptied range joins it again.
            // The kernel never split it, so it merges with nothing outside
            // its old bounds, even a neighbour it now matches — unless
            // `copy_vma` made them one already.
            let mut unlock = self.procs[&pid].map.overlapping(whole.0, whole.1);
            if joins_source {
                unlock.push(dest);
                unlock.extend(other);
            }
            for s in unlock {
                let end = self.procs[&pid].map.entry(s).end;
                self.unwire_range(pid, s, end);
                self.proc_mut(pid)
                    .map
                    .entries
                    .get_mut(&s)
                    .expect("entry")
                    .flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
            }
            if addr + old_len < whole.1 {
                self.try_merge(pid, addr + old_len);
            }
            if addr > whole.0 {
                self.try_merge(pid, addr);
            }
            if joins_source {
                self.try_merge(pid, if dest_end == whole.0 { whole.0 } else { dest });
                if other.is_some() {
                    self.try_merge(pid, if dest_end == whole.0 { dest } else { dest_end });
                }
            }
        } else {
            self.unmap_range(pid, addr, addr + old_len);
        }
        self.merge_around(pid, dest);
        Ok(dest)
    }
}
