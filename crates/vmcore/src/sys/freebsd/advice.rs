//! madvise(2), mincore(2), msync(2): FreeBSD `kern_madvise` ->
//! `vm_map_madvise`, `kern_mincore` with amd64 `pmap_mincore`,
//! `kern_msync` -> `vm_map_sync`.

use super::page_range;
use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::errno::{SysResult, ebusy, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::freebsd::abi::*;

impl Machine {
    /// `kern_madvise`. MADV_PROTECT is `procctl(PROC_SPROTECT)` (the
    /// scenarios run as root, so it succeeds). Then the range must lie in
    /// the user map (EINVAL), is rounded out, and the advice applies to
    /// what is mapped; holes are skipped. Entry advice (NORMAL, RANDOM,
    /// SEQUENTIAL, NOSYNC, AUTOSYNC, NOCORE, CORE) clips and re-merges;
    /// object advice (WILLNEED, DONTNEED, FREE) never frees data: DONTNEED
    /// and FREE clear the referenced and modified bits of the mappings
    /// (`pmap_advise`) and keep the pages.
    pub(in crate::sys) fn freebsd_madvise(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        advice: u64,
    ) -> SysResult<()> {
        let advice = advice & 0xffff_ffff;
        if advice == MADV_PROTECT {
            return Ok(());
        }
        let last = addr.checked_add(len).ok_or(einval("range wraps around"))?;
        if !self.freebsd_range_valid(addr, last) {
            return Err(einval("range outside the user map"));
        }
        let (start, end) = page_range(addr, len).ok_or(einval("range wraps around"))?;
        let entry_advice: Option<fn(VmFlags) -> VmFlags> = match advice {
            MADV_NORMAL => Some(|x| x - (VmFlags::RAND_READ | VmFlags::SEQ_READ)),
            MADV_RANDOM => Some(|x| (x - VmFlags::SEQ_READ) | VmFlags::RAND_READ),
            MADV_SEQUENTIAL => Some(|x| (x - VmFlags::RAND_READ) | VmFlags::SEQ_READ),
            MADV_NOSYNC => Some(|x| x | VmFlags::NOSYNC),
            MADV_AUTOSYNC => Some(|x| x - VmFlags::NOSYNC),
            MADV_NOCORE => Some(|x| x | VmFlags::DONTDUMP),
            MADV_CORE => Some(|x| x - VmFlags::DONTDUMP),
            MADV_WILLNEED | MADV_DONTNEED | MADV_FREE => None,
            _ => return Err(einval("unknown advice")),
        };
        if start == end {
            return Ok(());
        }
        if let Some(f) = entry_advice {
            // update_flags skips holes, clips only the entries whose flags
            // change and merges them again.
            self.update_flags(pid, start, end, f);
            return Ok(());
        }
        if advice == MADV_WILLNEED {
            // vm_map_pmap_enter(MAP_PREFAULT_MADVISE): the resident pages
            // of each entry's object are entered (holes and guards
            // skipped). Only file and shm objects can hold pages this
            // process has not mapped; an entry with private copies has a
            // shadow object, whose pages are all mapped already.
            for s in self.procs[&pid].map.overlapping(start, end) {
                let e = self.procs[&pid].map.entry(s).clone();
                if e.flags.intersects(VmFlags::GUARD | VmFlags::STACK_GAP) || e.aref.is_some() {
                    continue;
                }
                let Some(obj) = e.object else {
                    continue;
                };
                let (lo, hi) = (e.start.max(start), e.end.min(end));
                self.freebsd_prefault(pid, lo, hi - lo, e.prot, obj, e.object_index(lo), true);
            }
            return Ok(());
        }
        for s in self.procs[&pid].map.overlapping(start, end) {
            let e = self.procs[&pid].map.entry(s).clone();
            if e.flags
                .intersects(VmFlags::GUARD | VmFlags::STACK_GAP | VmFlags::LOCKED)
            {
                continue;
            }
            let (lo, hi) = (e.start.max(start), e.end.min(end));
            self.pmap_advise(pid, lo, hi);
        }
        Ok(())
    }

    /// amd64 `pmap_advise`: the accessed and modified bits of the leaves
    /// in `[lo, hi)` are cleared, the dirtiness saved in the page first
    /// (`vm_page_dirty`); the mappings stay.
    fn pmap_advise(&mut self, pid: Pid, lo: u64, hi: u64) {
        let mut va = lo;
        while va < hi {
            let m = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va));
            if let Some(m) = m.filter(|m| m.present && !m.huge) {
                if m.dirty && m.pfn != self.zero_pfn {
                    self.phys.desc_mut(m.pfn).dirty = true;
                }
                let p = self.procs.get_mut(&pid).expect("live");
                let f = p
                    .pmap
                    .clear_dirty(&mut self.phys, VirtAddr(va), &mut self.ev);
                f.flush(&mut self.tlb, &mut self.ev);
                let p = self.procs.get_mut(&pid).expect("live");
                let f = p
                    .pmap
                    .clear_accessed(&mut self.phys, VirtAddr(va), &mut self.ev);
                f.flush(&mut self.tlb, &mut self.ev);
            }
            va += PAGE_SIZE;
        }
    }

    /// `kern_mincore` with `vm.mincore_mapped=1`: the start is rounded
    /// down; an end past the user map or wrapping is ENOMEM; the start
    /// must be mapped (even for LEN 0), and any hole before the end is
    /// ENOMEM. Each page's byte is amd64 `pmap_mincore` of this
    /// process's page table: a present leaf is MINCORE_INCORE, its
    /// accessed bit MINCORE_REFERENCED | MINCORE_REFERENCED_OTHER, its
    /// dirty bit on a writable leaf MINCORE_MODIFIED |
    /// MINCORE_MODIFIED_OTHER, a 2 MiB leaf MINCORE_PSIND(1).
    pub(in crate::sys) fn freebsd_mincore(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
    ) -> SysResult<Vec<u8>> {
        let first = addr & !(PAGE_SIZE - 1);
        // `end = round_page(addr0 + len)`, modulo 2^64 as in C: a LEN that
        // wraps back to within ADDR's page leaves an empty range.
        let end = addr.wrapping_add(len).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if end < first || end > self.layout().task_size {
            return Err(enomem("range outside the user map"));
        }
        let map = &self.procs[&pid].map;
        if map.find(first).is_none() {
            return Err(enomem("nothing mapped at the address"));
        }
        let mut va = first;
        while va < end {
            match map.find(va) {
                Some(e) => va = e.end,
                None => return Err(enomem("range has a hole")),
            }
        }
        let pmap = &self.procs[&pid].pmap;
        let mut out = Vec::with_capacity(((end - first) / PAGE_SIZE).min(1 << 20) as usize);
        let mut va = first;
        while va < end {
            let byte = match pmap.lookup(&self.phys, VirtAddr(va)) {
                Some(m) if m.present => {
                    let mut b = MINCORE_INCORE;
                    if m.huge {
                        b |= MINCORE_PSIND_1;
                    }
                    if m.dirty && m.writable {
                        b |= MINCORE_MODIFIED | MINCORE_MODIFIED_OTHER;
                    }
                    if m.accessed {
                        b |= MINCORE_REFERENCED | MINCORE_REFERENCED_OTHER;
                    }
                    b
                }
                _ => 0,
            };
            out.push(byte);
            va += PAGE_SIZE;
        }
        Ok(out)
    }

    /// `kern_msync` -> `vm_map_sync`. MS_SYNC is 0: only MS_ASYNC and
    /// MS_INVALIDATE together are refused, other bits are ignored. The
    /// start must be mapped (ENOMEM); LEN 0 means the whole entry there;
    /// MS_INVALIDATE over user-wired memory is EBUSY; a hole is ENOMEM.
    /// Then dirty pages of shared file mappings are written back.
    pub(in crate::sys) fn freebsd_msync(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        flags: u64,
    ) -> SysResult<()> {
        let flags = flags & 0xffff_ffff;
        let (mut start, mut end) = page_range(addr, len).ok_or(einval("range wraps around"))?;
        if flags & (MS_ASYNC | MS_INVALIDATE) == MS_ASYNC | MS_INVALIDATE {
            return Err(einval("MS_ASYNC and MS_INVALIDATE together"));
        }
        let map = &self.procs[&pid].map;
        let Some(e) = map.find(start) else {
            return Err(enomem("nothing mapped at the address"));
        };
        if start == end {
            (start, end) = (e.start, e.end);
        }
        let invalidate = flags & MS_INVALIDATE != 0;
        let mut va = start;
        let mut parts = Vec::new();
        while va < end {
            let Some(e) = map.find(va) else {
                return Err(enomem("range has a hole"));
            };
            if invalidate && e.flags.contains(VmFlags::LOCKED) {
                return Err(ebusy("MS_INVALIDATE over wired memory"));
            }
            let on_disk = e
                .object
                .and_then(|o| self.objects.get(o))
                .is_some_and(|o| !o.is_shmem());
            if on_disk && e.flags.contains(VmFlags::SHARED) {
                parts.push((va, e.end.min(end)));
            }
            va = e.end;
        }
        for (lo, hi) in parts {
            self.writeback(pid, lo, hi);
        }
        Ok(())
    }
}
