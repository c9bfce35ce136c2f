//! mlock(2), munlock(2), mlockall(2), munlockall(2) under NetBSD:
//! `sys_mlock` & co. over `uvm_map_pageable` and `uvm_map_pageable_all`.
//!
//! Wiring is VM_LOCKED on the entry, as under Linux. NetBSD counts nested
//! mlocks (`wired_count`), but one munlock clears the count
//! (`uvm_map_entry_unwire`), so a flag is what a process can observe.

use super::round_and_check;
use crate::errno::{SysResult, eagain, efault, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::netbsd::abi::{MCL_CURRENT, MCL_FUTURE};

impl Machine {
    /// `sys_mlock`: a bad range is ENOMEM; more than `uvmexp.wiredmax`
    /// pages wired in the system, or more than RLIMIT_MEMLOCK bytes in the
    /// process, is EAGAIN (the limit applies to root; PR kern/48962); then
    /// `uvm_map_pageable`, whose EFAULT (nothing at the start) becomes
    /// ENOMEM and whose EINVAL (a hole, PROT_NONE) stays.
    pub(crate) fn netbsd_mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        let (addr, size) = round_and_check(self.layout(), addr, len)
            .ok_or(enomem("range outside the user address space"))?;
        if self.past_wiredmax(size) {
            return Err(eagain("more than uvmexp.wiredmax pages would be wired"));
        }
        let limit = self.memlock_limit(pid).unwrap_or(u64::MAX);
        if size.saturating_add(self.wired_bytes(pid)) > limit {
            return Err(eagain("more than RLIMIT_MEMLOCK would be wired"));
        }
        self.nb_wire(pid, addr, addr + size).map_err(|e| {
            if e.errno == crate::errno::Errno::EFAULT {
                enomem("nothing mapped at the address")
            } else {
                e
            }
        })
    }

    /// `uvm_map_pageable` wiring `[start, end)`: the entry at `start`
    /// (EFAULT if none) is clipped there; a first pass gives every entry
    /// its amap (`amap_copy`, which may chunk and join, vm/uvm_merge.rs),
    /// clips at `end` and fails with EINVAL at PROT_NONE or a hole (the
    /// clips stay); then the pages are wired and faulted in.
    pub(crate) fn nb_wire(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        if self.nb_lookup(pid, start).is_none() {
            return Err(efault("nothing mapped at the address"));
        }
        if start == end {
            return Ok(());
        }
        self.clip(pid, start);
        let mut va = start;
        while va < end {
            let e = self.procs[&pid].map.find(va).expect("checked").clone();
            if !e.flags.contains(VmFlags::LOCKED)
                && !e.is_shared()
                && (e.aref.is_none() || e.needs_copy)
                && (e.flags.contains(VmFlags::MAYWRITE) || e.object.is_none())
            {
                self.uvm_amap_copy(pid, va.max(e.start), end);
                self.clip(pid, start);
            }
            self.clip(pid, end);
            let e = self.procs[&pid].map.find(va).expect("checked").clone();
            let hole = e.end < end && self.procs[&pid].map.find(e.end).is_none();
            if e.prot.is_empty() || hole {
                return Err(einval(if hole {
                    "a hole in the range"
                } else {
                    "PROT_NONE memory cannot be wired"
                }));
            }
            va = e.end;
        }
        self.update_flags(pid, start, end, |x| x | VmFlags::LOCKED);
        // Faults that fail (a page past EOF) leave the wiring in place.
        let _ = self.populate_range(pid, start, end, true);
        Ok(())
    }

    /// `sys_munlock`: every failure is ENOMEM: a bad range, nothing mapped
    /// at the start, a hole, or memory that is not wired
    /// (`t_mlock.c munlock_unlocked`).
    pub(crate) fn netbsd_munlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        let (start, size) = round_and_check(self.layout(), addr, len)
            .ok_or(enomem("range outside the user address space"))?;
        let end = start + size;
        if self.nb_lookup(pid, start).is_none() {
            return Err(enomem("nothing mapped at the address"));
        }
        if start == end {
            return Ok(());
        }
        self.clip(pid, start);
        let mut va = start;
        while va < end {
            let Some(e) = self.procs[&pid].map.find(va) else {
                return Err(enomem("a hole in the range"));
            };
            if !e.flags.contains(VmFlags::LOCKED) {
                return Err(enomem("memory that is not wired"));
            }
            va = e.end;
        }
        self.clip(pid, end);
        self.update_flags(pid, start, end, |x| x - VmFlags::LOCKED);
        Ok(())
    }

    /// `sys_mlockall` -> `uvm_map_pageable_all`: flags 0 or unknown bits
    /// are EINVAL; MCL_FUTURE sets `VM_MAP_WIREFUTURE`; MCL_CURRENT wires
    /// every entry but PROT_NONE ones, ENOMEM when that would pass
    /// RLIMIT_MEMLOCK (nothing is wired then).
    pub(crate) fn netbsd_mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<()> {
        let flags = flags as u32 as u64;
        if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE) != 0 {
            return Err(einval("bad mlockall flags"));
        }
        if flags & MCL_FUTURE != 0 {
            self.proc_mut(pid).def_flags |= VmFlags::LOCKED;
        }
        if flags & MCL_CURRENT == 0 {
            return Ok(());
        }
        let todo: Vec<(u64, u64)> = self.procs[&pid]
            .map
            .entries
            .values()
            .filter(|e| !e.prot.is_empty() && !e.flags.contains(VmFlags::LOCKED))
            .map(|e| (e.start, e.end))
            .collect();
        let size: u64 = todo.iter().map(|(s, e)| e - s).sum();
        let limit = self.memlock_limit(pid).unwrap_or(u64::MAX);
        if self.past_wiredmax(size) || size.saturating_add(self.wired_bytes(pid)) > limit {
            return Err(enomem("more than RLIMIT_MEMLOCK would be wired"));
        }
        for (s, e) in todo {
            // Entries may have been joined by an earlier amap_copy.
            if let Some(st) = self.nb_lookup(pid, s) {
                let en = self.procs[&pid].map.entry(st).clone();
                if !en.is_shared()
                    && (en.aref.is_none() || en.needs_copy)
                    && (en.flags.contains(VmFlags::MAYWRITE) || en.object.is_none())
                {
                    self.uvm_amap_copy(pid, s, e);
                }
            }
            let (lo, hi) = match self.nb_lookup(pid, s) {
                Some(st) => (st, self.procs[&pid].map.entry(st).end),
                None => continue,
            };
            self.update_flags(pid, lo, hi, |x| x | VmFlags::LOCKED);
            let _ = self.populate_range(pid, lo, hi, true);
        }
        Ok(())
    }

    /// `sys_munlockall`: `VM_MAP_WIREFUTURE` cleared, everything unwired.
    pub(crate) fn netbsd_munlockall(&mut self, pid: Pid) -> SysResult<()> {
        self.proc_mut(pid).def_flags -= VmFlags::LOCKED;
        let task_size = self.layout().task_size;
        self.update_flags(pid, 0, task_size, |x| x - VmFlags::LOCKED);
        Ok(())
    }
}
