//! brk(2): the heap, an anonymous entry that grows and shrinks at its end
//! (`do_brk_flags`).

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, enomem, enosys};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};
use crate::vm::mapops::NewMapping;

impl Machine {
    /// brk(2) as the raw system call: returns the new break, or the old one
    /// when the request cannot be met (glibc turns that into ENOMEM).
    pub fn brk(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        self.syscall(pid, Sys::Brk, &[addr], |m| match m.kernel() {
            Kernel::Linux => m.do_brk(pid, addr),
            Kernel::FreeBsd => m.freebsd_break(pid, addr),
            Kernel::NetBsd => Err(enosys("no break system call in this personality")),
        })
    }

    /// libc's `sbrk(incr)`: move the break by `incr` (a signed amount,
    /// modulo 2^64) and return the old break. Under Linux it is glibc's,
    /// over brk(2) (ENOMEM when the kernel kept the old break).
    pub fn sbrk(&mut self, pid: Pid, incr: u64) -> SysResult<u64> {
        self.proc_ref(pid)?;
        match self.kernel() {
            Kernel::Linux => {
                let old = self.procs[&pid].brk;
                if incr == 0 {
                    return Ok(old);
                }
                let want = old.wrapping_add(incr);
                if (incr as i64) < 0 && want > old || (incr as i64) > 0 && want < old {
                    return Err(enomem("the break would wrap"));
                }
                if self.brk(pid, want)? != want {
                    return Err(enomem("the kernel kept the old break"));
                }
                Ok(old)
            }
            Kernel::FreeBsd => self.freebsd_sbrk(pid, incr),
            Kernel::NetBsd => Err(enosys("no break system call in this personality")),
        }
    }

    pub(super) fn do_brk(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        {
            let m = self;
            let p = &m.procs[&pid];
            let (start, old) = (p.brk_start, p.brk);
            if addr < start || addr > m.layout().task_size {
                return Ok(old);
            }
            let round = |x: u64| (x + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
            let (old_top, new_top) = (round(old), round(addr));
            if new_top < old_top {
                m.unmap_range(pid, new_top, old_top);
            } else if new_top > old_top {
                if !m.procs[&pid].map.is_free(old_top, new_top) {
                    return Ok(old);
                }
                let flags = VmFlags::MAYREAD
                    | VmFlags::MAYWRITE
                    | VmFlags::MAYEXEC
                    | VmFlags::ACCOUNT
                    | m.procs[&pid].def_flags;
                m.map_region(
                    pid,
                    NewMapping {
                        start: old_top,
                        len: new_top - old_top,
                        prot: Prot::READ | Prot::WRITE,
                        flags,
                        object: None,
                        pgoff: old_top >> 12,
                        replace: false,
                        populate: false,
                    },
                );
            }
            m.proc_mut(pid).brk = addr;
            Ok(addr)
        }
    }
}
