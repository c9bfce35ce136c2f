//! munmap(2): `do_vmi_munmap`.

use super::{page_align, unaligned};
use crate::errno::{SysResult, einval};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};

impl Machine {
    /// munmap(2): holes in the range are fine.
    pub fn munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Munmap, &[addr, len], |m| match m.kernel() {
            Kernel::Linux => m.do_munmap(pid, addr, len),
            Kernel::FreeBsd => m.freebsd_munmap(pid, addr, len),
            Kernel::NetBsd => m.netbsd_munmap(pid, addr, len),
        })
    }

    pub(super) fn do_munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        {
            let m = self;
            let task_size = m.layout().task_size;
            if unaligned(addr) || addr > task_size || len > task_size - addr {
                return Err(einval(
                    "address unaligned or range outside the user address space",
                ));
            }
            let len = page_align(len).unwrap_or(0);
            if len == 0 {
                return Err(einval("length is zero"));
            }
            // vms_gather_munmap_vmas: a hugetlb mapping is cut only at a
            // huge page boundary (case hugetlb_split_rules).
            m.may_split_range(pid, addr, addr + len)?;
            m.unmap_range(pid, addr, addr + len);
            Ok(())
        }
    }
}
