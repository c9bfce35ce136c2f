//! The NetBSD system calls: argument checks in NetBSD's order and errno, then
//! the same map layer (`crate::vm`) as every personality.
//!
//! Until each call has its NetBSD checks, it runs Linux's (`do_*`).

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, einval};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::netbsd::abi::{
    MAP_INHERIT_COPY, MAP_INHERIT_NONE, MAP_INHERIT_SHARE, MAP_INHERIT_ZERO,
};
use crate::vm::map::Inherit;

impl Machine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn netbsd_mmap(
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
    pub(super) fn netbsd_munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_munmap(pid, addr, len)
    }
    pub(super) fn netbsd_mprotect(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
    ) -> SysResult<()> {
        self.do_mprotect(pid, addr, len, prot)
    }
    pub(super) fn netbsd_madvise(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        advice: u64,
    ) -> SysResult<()> {
        self.do_madvise(pid, addr, len, advice)
    }
    pub(super) fn netbsd_mincore(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        self.do_mincore(pid, addr, len)
    }
    pub(super) fn netbsd_mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_mlock(pid, addr, len, crate::flags::VmFlags::LOCKED)
    }
    pub(super) fn netbsd_munlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        self.do_mlock(pid, addr, len, crate::flags::VmFlags::empty())
    }
    pub(super) fn netbsd_mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        self.do_mlockall(pid, flags)
    }
    pub(super) fn netbsd_munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.do_munlockall(pid)
    }
    pub(super) fn netbsd_msync(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        flags: u64,
    ) -> SysResult<()> {
        self.do_msync(pid, addr, len, flags)
    }
    /// `sys_minherit` -> `range_test` -> `uvm_map_inherit`: the start
    /// rounded down, the length rounded up; a range outside the map or
    /// wrapping is EINVAL, as is any value but SHARE, COPY, NONE and ZERO
    /// (DONATE_COPY included); holes are skipped.
    pub(super) fn netbsd_minherit(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        inherit: u64,
    ) -> SysResult<()> {
        let pageoff = addr & (PAGE_SIZE - 1);
        let addr = addr - pageoff;
        let size = len.wrapping_add(pageoff).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let l = self.layout();
        let end = addr.wrapping_add(size);
        if addr < l.mmap_min_addr || end > l.task_size || addr > end {
            return Err(einval("range outside the user address space"));
        }
        let inherit = match inherit as u32 as u64 {
            MAP_INHERIT_SHARE => Inherit::Share,
            MAP_INHERIT_COPY => Inherit::Copy,
            MAP_INHERIT_NONE => Inherit::None,
            MAP_INHERIT_ZERO => Inherit::Zero,
            _ => return Err(einval("unknown inheritance")),
        };
        self.set_inherit(pid, addr, end, inherit);
        Ok(())
    }
}

impl Machine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn netbsd_mremap(
        &mut self,
        pid: Pid,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        self.do_mremap(pid, old, old_len, new_len, flags, new_addr)
    }
}

impl Machine {
    /// One line of the address-space listing (`maps`) as this kernel
    /// shows an entry.
    pub(crate) fn netbsd_maps_line(&self, e: &crate::vm::map::Entry) -> crate::machine::MapsLine {
        self.linux_maps_line(e)
    }
}
