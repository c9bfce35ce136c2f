//! madvise(2) and msync(2) under NetBSD: `sys_madvise`, `sys___msync13`
//! and the `uvm_map_clean` both lean on.

use super::round_and_check;
use crate::addr::PAGE_SHIFT;
use crate::errno::{SysResult, ebusy, efault, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::netbsd::abi::{
    MADV_DONTNEED, MADV_FREE, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MS_ASYNC,
    MS_INVALIDATE, MS_SYNC,
};
use crate::vm::object::ObjKind;

/// What `uvm_map_clean` is asked to do (its `PGO_*` flags).
#[derive(Clone, Copy)]
struct Clean {
    /// PGO_FREE: free the private anons (amap not shared) and, for msync,
    /// invalidate.
    free: bool,
    /// PGO_CLEANIT: write dirty file pages back.
    clean: bool,
}

impl Machine {
    /// `sys_madvise`: a bad range is EINVAL; NORMAL, RANDOM and
    /// SEQUENTIAL set the entries' advice (`uvm_map_advice`: clip, holes
    /// skipped, no merge); WILLNEED is 0; DONTNEED only deactivates
    /// (the data stays) and FREE frees private anons at once, both through
    /// `uvm_map_clean` (EFAULT over a hole); SPACEAVAIL and unknown advice
    /// are EINVAL.
    pub(crate) fn netbsd_madvise(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        advice: u64,
    ) -> SysResult<()> {
        let (start, size) = round_and_check(self.layout(), addr, len)
            .ok_or(einval("range outside the user address space"))?;
        let end = start + size;
        match advice as u32 as u64 {
            a @ (MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL) => {
                let set = match a {
                    MADV_RANDOM => VmFlags::RAND_READ,
                    MADV_SEQUENTIAL => VmFlags::SEQ_READ,
                    _ => VmFlags::empty(),
                };
                if start < end {
                    self.clip(pid, start);
                    self.clip(pid, end);
                    self.update_flags(pid, start, end, |x| {
                        (x - (VmFlags::RAND_READ | VmFlags::SEQ_READ)) | set
                    });
                }
                Ok(())
            }
            MADV_WILLNEED => Ok(()),
            MADV_DONTNEED => self.uvm_map_clean(
                pid,
                start,
                end,
                Clean {
                    free: false,
                    clean: false,
                },
            ),
            MADV_FREE => self.uvm_map_clean(
                pid,
                start,
                end,
                Clean {
                    free: true,
                    clean: false,
                },
            ),
            _ => Err(einval("unknown advice (MADV_SPACEAVAIL included)")),
        }
    }

    /// `sys___msync13`: unknown bits, none of ASYNC/SYNC/INVALIDATE, or
    /// ASYNC with SYNC are EINVAL (flags 0 included); a bad range is
    /// ENOMEM; LEN 0 means the entry holding ADDR (EINVAL if none); then
    /// `uvm_map_clean`, INVALIDATE freeing (EBUSY when the first entry is
    /// wired), an unmapped start or a hole EFAULT.
    pub(crate) fn netbsd_msync(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        flags: u64,
    ) -> SysResult<()> {
        let flags = flags as u32 as u64;
        let all = MS_ASYNC | MS_SYNC | MS_INVALIDATE;
        if flags & !all != 0
            || flags & all == 0
            || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
        {
            return Err(einval("bad msync flags"));
        }
        let (mut start, mut size) = round_and_check(self.layout(), addr, len)
            .ok_or(enomem("range outside the user address space"))?;
        if size == 0 {
            let e = self.procs[&pid]
                .map
                .find(start)
                .ok_or(einval("LEN 0 and nothing mapped at the address"))?;
            start = e.start;
            size = e.end - e.start;
        }
        self.uvm_map_clean(
            pid,
            start,
            start + size,
            Clean {
                free: flags & MS_INVALIDATE != 0,
                clean: true,
            },
        )
    }

    /// `uvm_map_clean`: a first pass fails with EFAULT when nothing is
    /// mapped at `start` or the range has a hole, and with EBUSY when
    /// freeing and the FIRST entry is wired (the kernel tests only that
    /// one: case `nb_msync`). Then, entry by entry: freeing drops the
    /// anons of an amap no one else references (a shared amap is only
    /// deactivated; wired entries are skipped; msync's invalidation only
    /// deactivates them); cleaning writes a shared
    /// file mapping's dirty pages back. Deactivating keeps every page.
    fn uvm_map_clean(&mut self, pid: Pid, start: u64, end: u64, how: Clean) -> SysResult<()> {
        let Some(first) = self.nb_lookup(pid, start) else {
            return Err(efault("nothing mapped at the address"));
        };
        if how.free
            && self.procs[&pid]
                .map
                .entry(first)
                .flags
                .contains(VmFlags::LOCKED)
        {
            return Err(ebusy("the first entry is wired"));
        }
        if !self.nb_contiguous(pid, start, end) {
            return Err(efault("a hole in the range"));
        }
        for s in self.nb_entries_in(pid, start, end) {
            let e = self.procs[&pid].map.entry(s).clone();
            let (lo, hi) = (e.start.max(start), e.end.min(end));
            // The amap layer frees only for PGO_FREE alone (MADV_FREE):
            // msync's PGO_CLEANIT|PGO_FREE just deactivates the anons ("in
            // these first 3 cases, we just deactivate the page").
            let free_anons = how.free && !how.clean && !e.flags.contains(VmFlags::LOCKED);
            if free_anons
                && !e.is_shared()
                && let Some(r) = e.aref
                && self.amaps.get(r.amap).is_some_and(|am| am.refs == 1)
            {
                self.discard_private(pid, s, lo, hi);
            }
            // Shared anonymous memory is an amap too in UVM (uvm_mmap's
            // UVM_FLAG_OVERLAY), here a shmem object: freed the same way
            // when this one entry is its only reference (`amap_refs`; a
            // fork's share or a clipped entry makes two).
            if free_anons
                && e.is_shared()
                && let Some(obj) = e.object
                && self
                    .objects
                    .get(obj)
                    .is_some_and(|o| o.kind == ObjKind::Shmem && o.refs == 1)
            {
                let first = e.pgoff + ((lo - e.start) >> PAGE_SHIFT);
                self.punch_hole(obj, first, (hi - lo) >> PAGE_SHIFT);
            }
            let on_disk = e
                .object
                .and_then(|o| self.objects.get(o))
                .is_some_and(|o| !o.is_shmem());
            if how.clean && on_disk && e.is_shared() {
                self.writeback(pid, lo, hi);
            }
        }
        Ok(())
    }
}
