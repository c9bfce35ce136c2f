//! mincore(2): Linux `mm/mincore.c`.

use super::unaligned;
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};

impl Machine {
    /// mincore(2): one byte per page, 1 when resident. Fails with ENOMEM
    /// at the first unmapped page.
    pub fn mincore(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        self.syscall(pid, Sys::Mincore, &[addr, len], |m| match m.kernel() {
            Kernel::Linux => m.do_mincore(pid, addr, len),
            Kernel::FreeBsd => m.freebsd_mincore(pid, addr, len),
            Kernel::NetBsd => m.netbsd_mincore(pid, addr, len),
        })
    }

    pub(super) fn do_mincore(&mut self, pid: Pid, start: u64, len: u64) -> SysResult<Vec<u8>> {
        if unaligned(start) {
            return Err(einval("address is not page aligned"));
        }
        // access_ok(start, len)
        // `TASK_SIZE_MAX`, which `access_ok` uses, is `TASK_SIZE` with
        // 4-level paging.
        let task_size_max = self.layout().task_size;
        if len > task_size_max || start > task_size_max - len {
            return Err(enomem("range outside the user address space"));
        }
        let pages = (len >> PAGE_SHIFT) + u64::from(len & (PAGE_SIZE - 1) != 0);
        let mut out = Vec::with_capacity(pages.min(1 << 20) as usize);
        let mut va = start;
        for _ in 0..pages {
            let Some(e) = self.procs[&pid].map.find(va) else {
                return Err(enomem("page not mapped"));
            };
            out.push(u8::from(self.resident(pid, e, va)));
            va += PAGE_SIZE;
        }
        Ok(out)
    }
}
