//! madvise(2): Linux `mm/madvise.c`. Flag advice changes `vm_flags` (and so
//! splits and merges entries); the rest acts on pages.

use super::{page_align, unaligned};
use crate::addr::PAGE_SIZE;
use crate::errno::{SysError, SysResult, eacces, einval, enomem, eperm};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::linux::abi::*;
use crate::personality::{Kernel, Sys};
use crate::vm::map::Entry;

/// `madvise_behavior_valid`.
fn valid(advice: u64) -> bool {
    matches!(
        advice,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_WILLNEED
            | MADV_DONTNEED
            | MADV_FREE
            | MADV_REMOVE
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_MERGEABLE
            | MADV_UNMERGEABLE
            | MADV_HUGEPAGE
            | MADV_NOHUGEPAGE
            | MADV_DONTDUMP
            | MADV_DODUMP
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
            | MADV_COLD
            | MADV_PAGEOUT
            | MADV_POPULATE_READ
            | MADV_POPULATE_WRITE
            | MADV_DONTNEED_LOCKED
            | MADV_COLLAPSE
            | MADV_HWPOISON
            | MADV_SOFT_OFFLINE
            | MADV_GUARD_INSTALL
            | MADV_GUARD_REMOVE
    )
}

impl Machine {
    /// madvise(2). Over a hole every mapped part is still advised and the
    /// call returns ENOMEM at the end.
    pub fn madvise(&mut self, pid: Pid, addr: u64, len: u64, advice: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Madvise, &[addr, len, advice], |m| {
            match m.kernel() {
                Kernel::Linux => m.do_madvise(pid, addr, len, advice),
                Kernel::FreeBsd => m.freebsd_madvise(pid, addr, len, advice),
                Kernel::NetBsd => m.netbsd_madvise(pid, addr, len, advice),
            }
        })
    }

    pub(super) fn do_madvise(
        &mut self,
        pid: Pid,
        start: u64,
        len_in: u64,
        advice: u64,
    ) -> SysResult<()> {
        if !valid(advice) {
            return Err(einval("unknown advice"));
        }
        if unaligned(start) {
            return Err(einval("address is not page aligned"));
        }
        let len = page_align(len_in).unwrap_or(0);
        if len_in != 0 && len == 0 {
            return Err(einval("length overflows when rounded"));
        }
        let end = start.wrapping_add(len);
        if end < start {
            return Err(einval("range wraps around"));
        }
        if end == start {
            return Ok(());
        }
        if matches!(advice, MADV_HWPOISON | MADV_SOFT_OFFLINE) {
            return Err(eperm("memory-failure injection is not simulated"));
        }
        if matches!(advice, MADV_POPULATE_READ | MADV_POPULATE_WRITE) {
            return self.madvise_populate(pid, start, end, advice == MADV_POPULATE_WRITE);
        }
        // The walk: apply to each mapped piece; remember a hole.
        let mut unmapped = false;
        let mut va = start;
        let mut err: Option<SysError> = None;
        while va < end {
            let Some(e) = self.procs[&pid].map.find_vma(va).cloned() else {
                unmapped = true;
                break;
            };
            if e.start >= end {
                unmapped = true;
                break;
            }
            if e.start > va {
                unmapped = true;
            }
            let (lo, hi) = (va.max(e.start), e.end.min(end));
            if let Err(x) = self.madvise_one(pid, &e, lo, hi, advice) {
                err = Some(x);
                break;
            }
            va = hi;
        }
        if let Some(e) = err {
            return Err(e);
        }
        if unmapped {
            return Err(enomem("range has a hole"));
        }
        Ok(())
    }

    /// `madvise_update_vma`: change the flags of `[lo, hi)` of the entry
    /// `e`, which is split at the edges if the flags change; a hugetlb
    /// mapping only at huge page boundaries (`hugetlb_vm_op_split`: EINVAL,
    /// case hugetlb_madvise).
    fn madvise_update(
        &mut self,
        pid: Pid,
        e: &Entry,
        lo: u64,
        hi: u64,
        f: impl Fn(VmFlags) -> VmFlags,
    ) -> SysResult<()> {
        let new = f(e.flags);
        if new != e.flags {
            // madvise_vma_behavior: a refused split for want of map slots
            // is EAGAIN ("try again"), not ENOMEM.
            self.may_modify(pid, e, (lo, hi), e.prot, new)
                .map_err(|err| match err.errno {
                    crate::errno::Errno::ENOMEM => {
                        crate::errno::eagain("too many mappings to split one (vm.max_map_count)")
                    }
                    _ => err,
                })?;
        }
        self.update_flags(pid, lo, hi, f);
        Ok(())
    }

    fn madvise_one(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64, advice: u64) -> SysResult<()> {
        let private_anon = e.object.is_none() && !e.is_shared();
        let hugetlb = e.flags.contains(VmFlags::HUGETLB);
        let set = |f: VmFlags| move |x: VmFlags| x | f;
        match advice {
            MADV_NORMAL => self.madvise_update(pid, e, lo, hi, |x| {
                x - (VmFlags::RAND_READ | VmFlags::SEQ_READ)
            })?,
            MADV_RANDOM => self.madvise_update(pid, e, lo, hi, |x| {
                (x - VmFlags::SEQ_READ) | VmFlags::RAND_READ
            })?,
            MADV_SEQUENTIAL => self.madvise_update(pid, e, lo, hi, |x| {
                (x - VmFlags::RAND_READ) | VmFlags::SEQ_READ
            })?,
            MADV_DONTFORK => self.madvise_update(pid, e, lo, hi, set(VmFlags::DONTCOPY))?,
            MADV_DOFORK => self.madvise_update(pid, e, lo, hi, |x| x - VmFlags::DONTCOPY)?,
            MADV_DONTDUMP => self.madvise_update(pid, e, lo, hi, set(VmFlags::DONTDUMP))?,
            // madvise_vma_behavior: droppable memory stays out of dumps
            // and out of fork children (case mmap_droppable).
            MADV_DODUMP | MADV_KEEPONFORK if e.flags.contains(VmFlags::DROPPABLE) => {
                return Err(einval("droppable memory is never dumped or inherited"));
            }
            MADV_DODUMP => self.madvise_update(pid, e, lo, hi, |x| x - VmFlags::DONTDUMP)?,
            MADV_WIPEONFORK => {
                if !private_anon {
                    return Err(einval("WIPEONFORK needs private anonymous memory"));
                }
                self.madvise_update(pid, e, lo, hi, set(VmFlags::WIPEONFORK))?;
            }
            MADV_KEEPONFORK => self.madvise_update(pid, e, lo, hi, |x| x - VmFlags::WIPEONFORK)?,
            MADV_HUGEPAGE => self.madvise_update(pid, e, lo, hi, |x| {
                (x - VmFlags::NOHUGEPAGE) | VmFlags::HUGEPAGE
            })?,
            MADV_NOHUGEPAGE => self.madvise_update(pid, e, lo, hi, |x| {
                (x - VmFlags::HUGEPAGE) | VmFlags::NOHUGEPAGE
            })?,
            MADV_MERGEABLE => {
                // KSM takes private memory, file-backed included
                // (`vma_ksm_compatible`); shared and hugetlb mappings are
                // left alone.
                if !e.is_shared() && !e.flags.contains(VmFlags::HUGETLB) {
                    self.madvise_update(pid, e, lo, hi, set(VmFlags::MERGEABLE))?;
                }
            }
            MADV_UNMERGEABLE => self.madvise_update(pid, e, lo, hi, |x| x - VmFlags::MERGEABLE)?,
            // hugetlbfs has no readahead and no swap: nothing to do.
            MADV_WILLNEED if hugetlb => {}
            MADV_WILLNEED => {
                // Readahead of the range into the page cache
                // (`vfs_fadvise(POSIX_FADV_WILLNEED)`). Anonymous memory
                // and shmem (memfds, shared anonymous mappings) only have
                // swapped-out pages brought back (`shmem_swapin_range`),
                // and without swap there are none: nothing is allocated.
                if let Some(obj) = e.object {
                    self.readahead(obj, e.object_index(lo), e.object_index(hi))?;
                    self.shmem_willneed(obj, e.object_index(lo), e.object_index(hi));
                }
                self.swapin_range(pid, e, lo, hi);
            }
            // madvise_dontneed_free_valid_vma: on hugetlb the range must
            // start at a huge page boundary and its end is rounded down
            // to one; the pool gave no page, so there is nothing to zap
            // (case hugetlb_madvise).
            MADV_DONTNEED | MADV_DONTNEED_LOCKED if hugetlb => {
                if !lo.is_multiple_of(self.hugetlb_page_size(e).expect("hugetlb")) {
                    return Err(einval("hugetlb DONTNEED must start at a huge page"));
                }
            }
            MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
                if advice == MADV_DONTNEED && e.flags.contains(VmFlags::LOCKED) {
                    return Err(einval("DONTNEED on locked memory"));
                }
                self.dontneed(pid, e.start, lo, hi);
            }
            MADV_FREE => {
                if !private_anon {
                    return Err(einval("MADV_FREE needs private anonymous memory"));
                }
                if e.flags.contains(VmFlags::LOCKED) {
                    return Err(einval("MADV_FREE on locked memory"));
                }
                self.lazyfree(pid, e, lo, hi);
            }
            MADV_REMOVE => {
                if e.flags.contains(VmFlags::LOCKED) {
                    return Err(einval("MADV_REMOVE on locked memory"));
                }
                let Some(obj) = e.object else {
                    return Err(einval("MADV_REMOVE needs a file"));
                };
                if !e.flags.contains(VmFlags::SHARED) || !e.flags.contains(VmFlags::MAYWRITE) {
                    return Err(eacces("MADV_REMOVE needs a shared writable mapping"));
                }
                let first = e.object_index(lo);
                let n = (hi - lo) / PAGE_SIZE;
                self.punch_hole(obj, first, n);
            }
            MADV_COLD | MADV_PAGEOUT => {
                // can_madv_lru_vma: not locked, not hugetlb.
                if e.flags.intersects(VmFlags::LOCKED | VmFlags::HUGETLB) {
                    return Err(einval("COLD/PAGEOUT on locked memory"));
                }
                if advice == MADV_COLD {
                    self.cold(pid, e, lo, hi);
                }
                if advice == MADV_PAGEOUT {
                    let kept = self.reclaim_lazyfree(pid, e, lo, hi);
                    self.pageout_shmem(pid, e, lo, hi);
                    self.pageout_anon(pid, e, lo, hi, &kept);
                }
            }
            // thp_vma_allowable_order and is_valid_guard_vma: never on
            // hugetlb.
            MADV_COLLAPSE | MADV_GUARD_INSTALL | MADV_GUARD_REMOVE if hugetlb => {
                return Err(einval("not on a hugetlb mapping"));
            }
            MADV_COLLAPSE => self.madvise_collapse(pid, e, lo, hi)?,
            MADV_GUARD_INSTALL => {
                if e.flags.contains(VmFlags::LOCKED) {
                    return Err(einval("guard pages cannot be installed in locked memory"));
                }
                self.guard_install(pid, e, lo, hi);
            }
            MADV_GUARD_REMOVE => self.guard_remove(pid, lo, hi),
            _ => return Err(einval("unknown advice")),
        }
        Ok(())
    }
}
