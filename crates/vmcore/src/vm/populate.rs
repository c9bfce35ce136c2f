//! Populating a range: faulting its pages in ahead of use, as
//! `__mm_populate` / `get_user_pages` do for MAP_POPULATE, mlock and
//! mlockall, and `madvise_populate` for MADV_POPULATE_(READ|WRITE).

use crate::addr::PAGE_SIZE;
use crate::arch::x86_64::mmu::Access;
use crate::errno::{SysResult, efault, einval, enomem};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;

impl Machine {
    /// Fault in every page of `[start, end)` as `__mm_populate` does: write
    /// faults for private writable entries (so pages are really
    /// allocated), read faults otherwise; lock-on-fault entries are left
    /// alone. The first failure is returned as `get_user_pages` reports it
    /// (EFAULT for PROT_NONE or a page past the end of a file, ENOMEM when
    /// memory runs out); callers that populate on a best-effort basis
    /// (MAP_POPULATE, mlockall) ignore it.
    pub(crate) fn populate(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        self.populate_range(pid, start, end, true)
    }

    /// [`Machine::populate`] as mlock does it (`__mm_populate` with
    /// `ignore_errors` 0): the first failure ends the walk, and the entries
    /// after it are left alone. With `ignore_errors` a failure only ends
    /// its own entry and the walk goes on at the next.
    pub(crate) fn populate_range(
        &mut self,
        pid: Pid,
        start: u64,
        end: u64,
        ignore_errors: bool,
    ) -> SysResult<()> {
        let mut va = start;
        let mut first_err = None;
        while va < end {
            let Some(e) = self.procs[&pid].map.find_vma(va) else {
                break;
            };
            if e.start >= end {
                break;
            }
            let (lo, hi, prot, flags) = (va.max(e.start), e.end.min(end), e.prot, e.flags);
            va = hi;
            if flags.contains(VmFlags::LOCKONFAULT) {
                continue;
            }
            if !prot.readable() {
                first_err
                    .get_or_insert(crate::errno::efault("PROT_NONE memory cannot be populated"));
                if !ignore_errors {
                    break;
                }
                continue;
            }
            let access = if prot.writable() && !flags.contains(VmFlags::SHARED) {
                Access::Write
            } else {
                Access::Read
            };
            let mut a = lo;
            while a < hi {
                match self.access(pid, a, access) {
                    Ok(_) => {}
                    Err(crate::machine::AccessError::OutOfMemory) => {
                        first_err.get_or_insert(enomem("out of memory while populating"));
                        break;
                    }
                    Err(_) => {
                        first_err
                            .get_or_insert(crate::errno::efault("page past the end of the file"));
                        break;
                    }
                }
                a += PAGE_SIZE;
            }
            if first_err.is_some() && !ignore_errors {
                break;
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// MADV_POPULATE_READ/WRITE (`madvise_populate`): fault pages in as
    /// `get_user_pages` would, entry by entry from `start`; a hole is ENOMEM
    /// where it is met, a missing permission EINVAL, a page that would raise
    /// a signal EFAULT.
    pub(crate) fn madvise_populate(
        &mut self,
        pid: Pid,
        start: u64,
        end: u64,
        write: bool,
    ) -> SysResult<()> {
        let mut va = start;
        while va < end {
            let Some(e) = self.procs[&pid].map.find(va).cloned() else {
                return Err(enomem("range has a hole"));
            };
            if (!write && !e.prot.contains(Prot::READ)) || (write && !e.prot.writable()) {
                return Err(einval("POPULATE needs the matching permission"));
            }
            let access = if write { Access::Write } else { Access::Read };
            let hi = e.end.min(end);
            while va < hi {
                match self.access(pid, va, access) {
                    Ok(_) => {}
                    Err(crate::machine::AccessError::OutOfMemory) => {
                        return Err(enomem("out of memory"));
                    }
                    Err(_) => return Err(efault("the page would raise a signal")),
                }
                va += PAGE_SIZE;
            }
        }
        Ok(())
    }
}
