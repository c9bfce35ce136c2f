//! mlock(2), munlock(2), mlockall(2), munlockall(2): FreeBSD `kern_mlock`
//! -> `vm_map_wire(USER | NOHOLES)`, `kern_munlock` -> `vm_map_unwire`,
//! `sys_mlockall`, `sys_munlockall`. User wiring is one flag per entry
//! (`MAP_ENTRY_USER_WIRED`): a second mlock changes nothing and one
//! munlock undoes it.

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::freebsd::abi::{MCL_CURRENT, MCL_FUTURE};

impl Machine {
    /// The rounded range of mlock and munlock: `[trunc_page(addr),
    /// round_page(addr + len))`; EINVAL when `addr + len` or its rounding
    /// wraps.
    fn freebsd_wire_range(addr: u64, len: u64) -> SysResult<(u64, u64)> {
        let last = addr.checked_add(len).ok_or(einval("range wraps around"))?;
        let end = last
            .checked_add(PAGE_SIZE - 1)
            .map(|x| x & !(PAGE_SIZE - 1))
            .ok_or(einval("range wraps around"))?;
        Ok((addr & !(PAGE_SIZE - 1), end))
    }

    /// The first pass of `vm_map_wire` / `vm_map_unwire` with
    /// `VM_MAP_WIRE_NOHOLES`: the start mapped, no hole up to the end,
    /// and (`need_access`, wiring) every entry readable or executable:
    /// PROT_NONE memory and guards are KERN_INVALID_ADDRESS, ENOMEM.
    fn freebsd_wire_check(
        &self,
        pid: Pid,
        start: u64,
        end: u64,
        need_access: bool,
    ) -> SysResult<()> {
        let map = &self.procs[&pid].map;
        let mut va = start;
        while va < end {
            let Some(e) = map.find(va) else {
                return Err(enomem("hole or unmapped start in the range"));
            };
            if need_access && e.prot.is_empty() {
                return Err(enomem("PROT_NONE memory cannot be wired"));
            }
            va = e.end;
        }
        Ok(())
    }

    /// `kern_mlock`: a wrapping range is EINVAL; wiring beyond
    /// RLIMIT_MEMLOCK (counting what the process has wired already,
    /// `pmap_wired_count`) is ENOMEM; then `vm_map_wire`, which faults
    /// every page in. Unaligned ranges are fine.
    pub(in crate::sys) fn freebsd_mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        let (start, end) = Self::freebsd_wire_range(addr, len)?;
        if let Some(limit) = self.memlock_limit(pid)
            && (end - start).saturating_add(self.freebsd_wired_bytes(pid)) > limit
        {
            return Err(enomem("more than RLIMIT_MEMLOCK would be wired"));
        }
        if start == end {
            return Ok(());
        }
        self.freebsd_wire_check(pid, start, end, true)?;
        self.update_flags(pid, start, end, |x| x | VmFlags::LOCKED);
        // vm_fault_wire: every page is faulted in (errors left to the
        // access that meets them).
        let _ = self.populate_range(pid, start, end, true);
        Ok(())
    }

    /// `kern_munlock`: the same range rules; a hole or an unmapped start
    /// is ENOMEM; memory that is not locked is fine.
    pub(in crate::sys) fn freebsd_munlock(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
    ) -> SysResult<()> {
        let (start, end) = Self::freebsd_wire_range(addr, len)?;
        if start == end {
            return Ok(());
        }
        self.freebsd_wire_check(pid, start, end, false)?;
        self.update_flags(pid, start, end, |x| x - VmFlags::LOCKED);
        Ok(())
    }

    /// `sys_mlockall`: no flag or an unknown one is EINVAL; MCL_CURRENT
    /// with a map larger than RLIMIT_MEMLOCK is ENOMEM; MCL_FUTURE sets
    /// `MAP_WIREFUTURE` (kept as the process's VM_LOCKED default);
    /// MCL_CURRENT wires every entry that can be accessed (PROT_NONE
    /// entries and guards are skipped, `VM_MAP_WIRE_HOLESOK`).
    pub(in crate::sys) fn freebsd_mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        let flags = flags & 0xffff_ffff;
        if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE) != 0 {
            return Err(einval("bad mlockall flags"));
        }
        if flags & MCL_CURRENT != 0
            && let Some(limit) = self.memlock_limit(pid)
        {
            let size: u64 = self.procs[&pid]
                .map
                .entries
                .values()
                .map(|e| e.end - e.start)
                .sum();
            if size > limit {
                return Err(enomem("the map is larger than RLIMIT_MEMLOCK"));
            }
        }
        if flags & MCL_FUTURE != 0 {
            self.proc_mut(pid).def_flags |= VmFlags::LOCKED;
        }
        if flags & MCL_CURRENT != 0 {
            let task_size = self.layout().task_size;
            let wired: Vec<(u64, u64)> = self.procs[&pid]
                .map
                .entries
                .values()
                .filter(|e| !e.prot.is_empty())
                .map(|e| (e.start, e.end))
                .collect();
            for (lo, hi) in wired {
                self.update_flags(pid, lo, hi, |x| x | VmFlags::LOCKED);
            }
            let _ = self.populate(pid, 0, task_size);
        }
        Ok(())
    }

    /// `sys_munlockall`: MAP_WIREFUTURE goes and the whole map is unwired.
    pub(in crate::sys) fn freebsd_munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.proc_mut(pid).def_flags -= VmFlags::LOCKED;
        let task_size = self.layout().task_size;
        self.update_flags(pid, 0, task_size, |x| x - VmFlags::LOCKED);
        Ok(())
    }
}
