//! The break: FreeBSD's `break(2)` system call (`kern_break` in
//! `sys/vm/vm_unix.c`) and libc's `brk`/`sbrk` over it
//! (`lib/libc/sys/brk.c`): the heap is private anonymous read-write
//! memory between the page-rounded initial break (minbrk) and the
//! page-rounded current break.

use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, enomem};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::freebsd::MAXDSIZ;
use crate::vm::mapops::NewMapping;

impl Machine {
    /// libc `brk(addr)`: an address below minbrk sets the break to minbrk
    /// (`brk_test.c brk_basic`); then `kern_break`. Returns the new break.
    pub(in crate::sys) fn freebsd_break(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        let minbrk = self.procs[&pid].brk_start;
        self.kern_break(pid, addr.max(minbrk))
    }

    /// libc `sbrk(incr)`: the old break; the new one `old + incr` (a
    /// signed amount) must not wrap (ENOMEM), then `kern_break`.
    pub(in crate::sys) fn freebsd_sbrk(&mut self, pid: Pid, incr: u64) -> SysResult<u64> {
        let old = self.procs[&pid].brk;
        if incr == 0 {
            return Ok(old);
        }
        let new = old.wrapping_add(incr);
        if ((incr as i64) < 0 && new > old) || ((incr as i64) > 0 && new < old) {
            return Err(enomem("the break would wrap"));
        }
        self.kern_break(pid, new)?;
        Ok(old)
    }

    /// `kern_break`: below the base the break is left alone; growing past
    /// RLIMIT_DATA (maxdsiz) or the user map, or into mapped memory, is
    /// ENOMEM, and so is growing wired memory (mlockall(MCL_FUTURE))
    /// beyond RLIMIT_MEMLOCK; growth maps private anonymous read-write
    /// memory (`vm_map_insert`, wired under MCL_FUTURE), shrinking unmaps
    /// it (`vm_map_delete`).
    fn kern_break(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        let round = |x: u64| x.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1));
        let (base, cur) = (self.procs[&pid].brk_start, self.procs[&pid].brk);
        let base_r = round(base).unwrap_or(base);
        let Some(new) = round(addr) else {
            return Err(enomem("the break would leave the user map"));
        };
        if new < base_r {
            return Ok(cur);
        }
        let old = round(cur).unwrap_or(cur);
        if new > old {
            if new - base_r > MAXDSIZ {
                return Err(enomem("the break beyond RLIMIT_DATA"));
            }
            if new > self.layout().task_size {
                return Err(enomem("the break beyond the user map"));
            }
            let wirefuture = self.procs[&pid].def_flags.contains(VmFlags::LOCKED);
            if wirefuture
                && let Some(limit) = self.memlock_limit(pid)
                && (new - old).saturating_add(self.freebsd_wired_bytes(pid)) > limit
            {
                return Err(enomem("wired break growth beyond RLIMIT_MEMLOCK"));
            }
            if !self.procs[&pid].map.is_free(old, new) {
                return Err(enomem("the break would grow into a mapping"));
            }
            let mut flags = VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
            if wirefuture {
                flags |= VmFlags::LOCKED;
            }
            self.map_region(
                pid,
                NewMapping {
                    start: old,
                    len: new - old,
                    prot: Prot::READ | Prot::WRITE,
                    flags,
                    object: None,
                    pgoff: old >> PAGE_SHIFT,
                    replace: false,
                    populate: wirefuture,
                },
            );
        } else if new < old {
            self.unmap_range(pid, new, old);
        }
        self.proc_mut(pid).brk = addr;
        Ok(addr)
    }
}
