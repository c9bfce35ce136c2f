//! mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2): Linux
//! `mm/mlock.c`. The scenario runs as root: no RLIMIT_MEMLOCK limit.

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::linux::abi::{MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT};
use crate::personality::{Kernel, Sys};

const LOCK_MASK: VmFlags = VmFlags::LOCKED.union(VmFlags::LOCKONFAULT);

/// `mlock_fixup`: the lock bits an entry with flags `x` gets; droppable
/// and hugetlb memory (VM_DONTEXPAND is VM_SPECIAL) are left as they are,
/// neither locked nor counted.
fn lock_flags(x: VmFlags, lock: VmFlags) -> VmFlags {
    if x.intersects(VmFlags::DROPPABLE | VmFlags::HUGETLB | VmFlags::DONTEXPAND) {
        x
    } else {
        (x - LOCK_MASK) | lock
    }
}

impl Machine {
    /// mlock(2): lock and populate. The address is rounded down.
    pub fn mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Mlock, &[addr, len], |m| match m.kernel() {
            Kernel::Linux => m.do_mlock(pid, addr, len, VmFlags::LOCKED),
            Kernel::FreeBsd => m.freebsd_mlock(pid, addr, len),
            Kernel::NetBsd => m.netbsd_mlock(pid, addr, len),
        })
    }

    /// mlock2(2): with MLOCK_ONFAULT pages are locked as they fault in.
    pub fn mlock2(&mut self, pid: Pid, addr: u64, len: u64, flags: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Mlock2, &[addr, len, flags], |m| {
            if flags & !MLOCK_ONFAULT != 0 {
                return Err(einval("unknown mlock2 flags"));
            }
            let f = if flags & MLOCK_ONFAULT != 0 {
                LOCK_MASK
            } else {
                VmFlags::LOCKED
            };
            m.do_mlock(pid, addr, len, f)
        })
    }

    /// munlock(2).
    pub fn munlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Munlock, &[addr, len], |m| match m.kernel() {
            Kernel::Linux => m.do_mlock(pid, addr, len, VmFlags::empty()),
            Kernel::FreeBsd => m.freebsd_munlock(pid, addr, len),
            Kernel::NetBsd => m.netbsd_munlock(pid, addr, len),
        })
    }

    pub(super) fn do_mlock(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        lock: VmFlags,
    ) -> SysResult<()> {
        let off = addr & (PAGE_SIZE - 1);
        let len = len.wrapping_add(off).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let start = addr & !(PAGE_SIZE - 1);
        // apply_vma_lock_flags
        let end = start.wrapping_add(len);
        if end < start {
            return Err(einval("range wraps around"));
        }
        if end == start {
            return Ok(());
        }
        if self.procs[&pid].map.find(start).is_none() {
            return Err(enomem("nothing mapped at the address"));
        }
        let mut va = start;
        let mut hole = false;
        while va < end {
            let Some(e) = self.procs[&pid].map.find_vma(va).cloned() else {
                hole = true;
                break;
            };
            if e.start > va {
                hole = true;
                break;
            }
            let hi = e.end.min(end);
            // mlock_fixup -> vma_modify_flags: the split may be refused
            // (vm/split.rs).
            let new = lock_flags(e.flags, lock);
            if new != e.flags {
                self.may_modify(pid, &e, (va, hi), e.prot, new)?;
            }
            self.update_flags(pid, va, hi, |x| lock_flags(x, lock));
            va = hi;
        }
        if hole {
            return Err(enomem("range has a hole"));
        }
        if lock == VmFlags::LOCKED {
            // __mlock_posix_error_return: EFAULT -> ENOMEM, ENOMEM -> EAGAIN.
            if let Err(e) = self.populate_range(pid, start, end, false) {
                return Err(match e.errno {
                    crate::errno::Errno::ENOMEM => {
                        crate::errno::eagain("out of memory while locking")
                    }
                    _ => enomem("part of the range cannot be faulted in"),
                });
            }
        }
        Ok(())
    }

    /// mlockall(2).
    pub fn mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Mlockall, &[flags], |m| match m.kernel() {
            Kernel::Linux => m.do_mlockall(pid, flags),
            Kernel::FreeBsd => m.freebsd_mlockall(pid, flags),
            Kernel::NetBsd => m.netbsd_mlockall(pid, flags),
        })
    }

    pub(super) fn do_mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        {
            let m = self;
            if flags == 0
                || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
                || flags == MCL_ONFAULT
            {
                return Err(einval("bad mlockall flags"));
            }
            let to_add = if flags & MCL_ONFAULT != 0 {
                LOCK_MASK
            } else {
                VmFlags::LOCKED
            };
            let p = m.proc_mut(pid);
            p.def_flags -= LOCK_MASK;
            if flags & MCL_FUTURE != 0 {
                p.def_flags |= to_add;
            }
            if flags & MCL_CURRENT != 0 {
                let task_size = m.layout().task_size;
                m.update_flags(pid, 0, task_size, |x| lock_flags(x, to_add));
                // Errors are ignored here (`mm_populate`).
                let _ = m.populate(pid, 0, task_size);
            }
            Ok(())
        }
    }

    /// munlockall(2).
    pub fn munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.syscall(pid, Sys::Munlockall, &[], |m| match m.kernel() {
            Kernel::Linux => m.do_munlockall(pid),
            Kernel::FreeBsd => m.freebsd_munlockall(pid),
            Kernel::NetBsd => m.netbsd_munlockall(pid),
        })
    }

    pub(super) fn do_munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.proc_mut(pid).def_flags -= LOCK_MASK;
        let task_size = self.layout().task_size;
        self.update_flags(pid, 0, task_size, |x| x - LOCK_MASK);
        Ok(())
    }
}
