//! mremap(2): Linux `mm/mremap.c` (`check_mremap_params`, `check_prep_vma`,
//! `mremap_to`, `expand_vma`, `move_vma`).

use super::{page_align, unaligned};
use crate::abi::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE};
use crate::arch::x86_64::pte::PteFlags;
use crate::errno::{SysResult, efault, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::{Machine, TASK_SIZE};

/// Where a moved mapping goes.
enum Target {
    /// Exactly here, replacing what is there (MREMAP_FIXED).
    Fixed(u64),
    /// Here if free, else wherever there is room (0: no preference).
    Hint(u64),
}

impl Machine {
    /// mremap(2): shrink, grow in place, or move.
    pub fn mremap(
        &mut self,
        pid: Pid,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        self.syscall(
            pid,
            "mremap",
            &[old, old_len, new_len, flags, new_addr],
            |m| m.do_mremap(pid, old, old_len, new_len, flags, new_addr),
        )
    }

    fn do_mremap(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        let old_len = page_align(old_len).unwrap_or(0);
        let new_len = page_align(new_len).unwrap_or(0);
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(einval("unknown mremap flags"));
        }
        if unaligned(addr) {
            return Err(einval("address is not page aligned"));
        }
        if new_len == 0 {
            return Err(einval("new length is zero"));
        }
        if new_len > TASK_SIZE {
            return Err(einval("new length larger than the address space"));
        }
        let implies_new_addr = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
        if implies_new_addr {
            if new_addr > TASK_SIZE - new_len {
                return Err(einval("new range outside the address space"));
            }
            if unaligned(new_addr) {
                return Err(einval("new address is not page aligned"));
            }
            if flags & MREMAP_MAYMOVE == 0 {
                return Err(einval(
                    "MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE",
                ));
            }
            if flags & MREMAP_DONTUNMAP != 0 && old_len != new_len {
                return Err(einval("MREMAP_DONTUNMAP cannot resize"));
            }
            if addr < new_addr + new_len && new_addr < addr.wrapping_add(old_len) {
                return Err(einval("new range overlaps the old one"));
            }
        }
        let Some(e) = self.procs[&pid].map.find(addr).cloned() else {
            return Err(efault("nothing mapped at the old address"));
        };
        if old_len == 0 && !e.is_shared() {
            return Err(einval("old length zero on a private mapping"));
        }
        // Same size, nowhere to go: nothing to do.
        if !implies_new_addr && old_len == new_len {
            return Ok(addr);
        }
        // Since Linux 6.17 a shrink, and a pure move to a fixed address, may
        // span several entries (and the holes between them); anything else
        // must stay inside the first entry.
        let spans = old_len > e.end - addr;
        let pure_move = flags & MREMAP_FIXED != 0 && new_len == old_len;
        if spans && new_len >= old_len && !pure_move {
            return Err(efault("old range crosses the end of its mapping"));
        }
        // A zero old length duplicates a shared mapping (the DOS-emu case).
        let dup = old_len == 0;
        if flags & MREMAP_FIXED != 0 {
            if spans && pure_move {
                return self.move_many(pid, addr, old_len, new_addr, flags);
            }
            if spans && new_len > e.end - addr {
                // Shrinking may cross entries; what then moves may not.
                return Err(efault("moved range crosses the end of its mapping"));
            }
            return self.move_mapping(
                pid,
                addr,
                old_len,
                new_len,
                Target::Fixed(new_addr),
                flags,
                dup,
            );
        }
        if flags & MREMAP_DONTUNMAP != 0 {
            return self.move_mapping(
                pid,
                addr,
                old_len,
                new_len,
                Target::Hint(new_addr),
                flags,
                dup,
            );
        }
        if !dup && new_len <= old_len {
            if new_len < old_len {
                self.unmap_range(pid, addr + new_len, addr + old_len);
            }
            return Ok(addr);
        }
        // Grow in place when the range ends the entry and the space after it is free.
        if !dup && addr + old_len == e.end {
            let grow_end = addr.checked_add(new_len).filter(|&x| x <= TASK_SIZE);
            if let Some(ge) = grow_end
                && self.procs[&pid].map.is_free(e.end, ge)
            {
                self.extend_entry(pid, e.start, ge);
                self.try_merge(pid, ge);
                if e.flags.contains(VmFlags::LOCKED) && !e.flags.contains(VmFlags::LOCKONFAULT) {
                    let _ = self.populate(pid, e.end, ge);
                }
                return Ok(addr);
            }
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(enomem("cannot grow in place and MREMAP_MAYMOVE not given"));
        }
        self.move_mapping(
            pid,
            addr,
            old_len,
            new_len,
            // Without MREMAP_FIXED the new address is not even a hint.
            Target::Hint(0),
            flags,
            dup,
        )
    }

    /// A fixed-address move of a range spanning several entries (Linux
    /// 6.17+): each entry piece moves to its offset from `new_addr`,
    /// replacing only what lies under it there; what faces a hole of the
    /// source is left alone.
    fn move_many(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        new_addr: u64,
        flags: u64,
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
        for (lo, hi) in pieces {
            let dest = new_addr + (lo - addr);
            self.move_mapping(pid, lo, hi - lo, hi - lo, Target::Fixed(dest), flags, false)?;
        }
        Ok(new_addr)
    }

    /// Grow the entry at `start` to end at `new_end`; its amap grows with it
    /// (`amap_extend(AMAP_EXTEND_FORWARDS)`).
    fn extend_entry(&mut self, pid: Pid, start: u64, new_end: u64) {
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
    fn move_mapping(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        target: Target,
        flags: u64,
        dup: bool,
    ) -> SysResult<u64> {
        let locked = self.procs[&pid]
            .map
            .find(addr)
            .is_some_and(|e| e.flags.contains(VmFlags::LOCKED));
        let dest = self.relocate(pid, addr, old_len, new_len, target, flags, dup)?;
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
    fn relocate(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        target: Target,
        flags: u64,
        dup: bool,
    ) -> SysResult<u64> {
        let dest = match target {
            Target::Fixed(t) => {
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
            Target::Hint(h) => self
                .unmapped_area(pid, h, new_len)
                .ok_or(enomem("no free range large enough"))?,
        };
        let mut old_len = if dup { 0 } else { old_len };
        if !dup && new_len < old_len {
            // Shrinking while moving: the tail goes first (`mremap_to`).
            self.unmap_range(pid, addr + new_len, addr + old_len);
            old_len = new_len;
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
        // Move the page-table entries (`move_page_tables`).
        let mut moved = Vec::new();
        {
            let p = &self.procs[&pid];
            p.pmap.for_each_leaf(&self.phys, |va, pte, level| {
                let v = va.as_u64();
                if v >= addr && v < addr + old_len {
                    moved.push((v, pte, level));
                }
            });
        }
        self.zap(pid, addr, addr + old_len);
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
        let dontunmap = flags & MREMAP_DONTUNMAP != 0;
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
        for (va, pte, level) in moved {
            let nva = dest + (va - addr);
            let w = pte.flags().contains(PteFlags::WRITABLE);
            let x = !pte.flags().contains(PteFlags::NO_EXECUTE);
            // A page that cannot be entered (no memory for a page table) is
            // simply not mapped: its anon is still in the amap, and the next
            // access faults it back in.
            if level == 2 && nva.is_multiple_of(HUGE_PAGE_SIZE) {
                let _ = self.pmap_enter_huge(pid, nva, pte.pfn(), w, x);
            } else if level == 2 {
                for i in 0..PAGES_PER_HUGE {
                    let _ = self.pmap_enter(pid, nva + i * PAGE_SIZE, pte.pfn().add(i), w, x);
                }
            } else {
                let _ = self.pmap_enter(pid, nva, pte.pfn(), w, x);
            }
        }
        if ne.prot.is_empty() {
            // PROTNONE entries move as they were: mapped, inaccessible.
            self.pmap_protect(pid, dest, dest + old_len, ne.prot);
        }
        // The zap unwired the source; a locked destination wires them again.
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
                    Self::mergeable(moved, &source)
                } else {
                    Self::mergeable(&source, moved)
                }
            };
            // The merge takes in the new range's other neighbour too, if
            // it matches (a three-way `vma_merge_new_range`).
            let other = if !joins_source {
                None
            } else if dest_end == whole.0 {
                let map = &self.procs[&pid].map;
                map.prev_of(dest)
                    .filter(|p| Self::mergeable(p, map.entry(dest)))
                    .map(|p| p.start)
            } else {
                let map = &self.procs[&pid].map;
                map.entries
                    .get(&dest_end)
                    .filter(|n| Self::mergeable(map.entry(dest), n))
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
