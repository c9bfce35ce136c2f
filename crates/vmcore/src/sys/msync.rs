//! msync(2): Linux `mm/msync.c`.

use super::unaligned;
use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, ebusy, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::linux::abi::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};
use crate::personality::{Kernel, Sys};

impl Machine {
    /// msync(2). MS_SYNC writes dirty pages of shared file mappings back.
    pub fn msync(&mut self, pid: Pid, addr: u64, len: u64, flags: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Msync, &[addr, len, flags], |m| match m.kernel() {
            Kernel::Linux => m.do_msync(pid, addr, len, flags),
            Kernel::FreeBsd => m.freebsd_msync(pid, addr, len, flags),
            Kernel::NetBsd => m.netbsd_msync(pid, addr, len, flags),
        })
    }

    pub(super) fn do_msync(
        &mut self,
        pid: Pid,
        mut start: u64,
        len: u64,
        flags: u64,
    ) -> SysResult<()> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 {
            return Err(einval("unknown msync flags"));
        }
        if unaligned(start) {
            return Err(einval("address is not page aligned"));
        }
        if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
            return Err(einval("MS_ASYNC and MS_SYNC together"));
        }
        let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let end = start.wrapping_add(len);
        if end < start {
            return Err(enomem("range wraps around"));
        }
        if end == start {
            return Ok(());
        }
        let mut unmapped = false;
        loop {
            let Some(e) = self.procs[&pid].map.find_vma(start).cloned() else {
                return Err(enomem("range has a hole"));
            };
            if start < e.start {
                if flags == MS_ASYNC {
                    return Err(enomem("range has a hole"));
                }
                start = e.start;
                if start >= end {
                    return Err(enomem("range has a hole"));
                }
                unmapped = true;
            }
            if flags & MS_INVALIDATE != 0 && e.flags.contains(VmFlags::LOCKED) {
                return Err(ebusy("MS_INVALIDATE on locked memory"));
            }
            let hi = e.end.min(end);
            // shmem has nothing to write back to (`noop_fsync`): its pages
            // stay dirty.
            let on_disk = e
                .object
                .and_then(|o| self.objects.get(o))
                .is_some_and(|o| !o.is_shmem());
            if flags & MS_SYNC != 0 && on_disk && e.flags.contains(VmFlags::SHARED) {
                self.writeback(pid, start, hi);
            }
            start = e.end;
            if start >= end {
                break;
            }
        }
        if unmapped {
            return Err(enomem("range has a hole"));
        }
        Ok(())
    }
}
