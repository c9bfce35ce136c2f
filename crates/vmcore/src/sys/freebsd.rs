//! The FreeBSD system calls: argument checks in FreeBSD's order and errno, then
//! the same map layer (`crate::vm`) as every personality.
//!
//! Until each call has its FreeBSD checks, it runs Linux's (`do_*`).

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, einval};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::freebsd::abi::{INHERIT_COPY, INHERIT_NONE, INHERIT_SHARE, INHERIT_ZERO};
use crate::vm::map::Inherit;

impl Machine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn freebsd_mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        off: u64,
    ) -> SysResult<u64> {
        self.do_mmap(pid, addr, len, prot, flags, fd, off)
    }
    pub(super) fn freebsd_munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_munmap(pid, addr, len)
    }
    pub(super) fn freebsd_mprotect(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
    ) -> SysResult<()> {
        self.do_mprotect(pid, addr, len, prot)
    }
    pub(super) fn freebsd_madvise(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        advice: u64,
    ) -> SysResult<()> {
        self.do_madvise(pid, addr, len, advice)
    }
    pub(super) fn freebsd_mincore(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        self.do_mincore(pid, addr, len)
    }
    pub(super) fn freebsd_mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_mlock(pid, addr, len, crate::flags::VmFlags::LOCKED)
    }
    pub(super) fn freebsd_munlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_mlock(pid, addr, len, crate::flags::VmFlags::empty())
    }
    pub(super) fn freebsd_mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        self.do_mlockall(pid, flags)
    }
    pub(super) fn freebsd_munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.do_munlockall(pid)
    }
    pub(super) fn freebsd_msync(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        flags: u64,
    ) -> SysResult<()> {
        self.do_msync(pid, addr, len, flags)
    }
    /// `sys_minherit` -> `vm_map_inherit`: the start rounded down, the
    /// length rounded up, a wrapping range EINVAL, the range clamped to
    /// the map (`VM_MAP_RANGE_CHECK`); holes are skipped.
    pub(super) fn freebsd_minherit(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        inherit: u64,
    ) -> SysResult<()> {
        let pageoff = addr & (PAGE_SIZE - 1);
        let addr = addr - pageoff;
        let size = len.wrapping_add(pageoff).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if addr.wrapping_add(size) < addr {
            return Err(einval("range wraps around"));
        }
        let inherit = match inherit as u32 as u64 {
            INHERIT_SHARE => Inherit::Share,
            INHERIT_COPY => Inherit::Copy,
            INHERIT_NONE => Inherit::None,
            INHERIT_ZERO => Inherit::Zero,
            _ => return Err(einval("unknown inheritance")),
        };
        let l = self.layout();
        let (lo, hi) = (addr.max(l.mmap_min_addr), (addr + size).min(l.task_size));
        self.set_inherit(pid, lo, hi, inherit);
        Ok(())
    }
}

impl Machine {
    /// FreeBSD has no mremap; the dispatcher never gets here (ENOSYS).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn freebsd_mremap(
        &mut self,
        _pid: Pid,
        _old: u64,
        _old_len: u64,
        _new_len: u64,
        _flags: u64,
        _new_addr: u64,
    ) -> SysResult<u64> {
        Err(crate::errno::enosys("FreeBSD has no mremap"))
    }
    pub(super) fn freebsd_break(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        self.do_brk(pid, addr)
    }
    pub(super) fn freebsd_sbrk(&mut self, pid: Pid, incr: u64) -> SysResult<u64> {
        let old = self.procs[&pid].brk;
        self.do_brk(pid, old.wrapping_add(incr))?;
        Ok(old)
    }
}

impl Machine {
    /// One line of the address-space listing (`maps`) as this kernel
    /// shows an entry.
    pub(crate) fn freebsd_maps_line(&self, e: &crate::vm::map::Entry) -> crate::machine::MapsLine {
        self.linux_maps_line(e)
    }
}
