//! munmap(2), mprotect(2) and minherit(2): FreeBSD `kern_munmap` ->
//! `vm_map_delete`, `kern_mprotect` -> `vm_map_protect`, `kern_minherit`
//! -> `vm_map_inherit`. Holes in the range are skipped by all three.

use super::{max_prot, may_flags, page_range};
use crate::errno::{SysResult, eacces, einval, enotsup};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::freebsd::abi::{
    INHERIT_COPY, INHERIT_NONE, INHERIT_SHARE, INHERIT_ZERO, PROT_EXEC, PROT_MAX_SHIFT, PROT_READ,
    PROT_WRITE,
};
use crate::vm::map::Inherit;

const PROT_ALL: u64 = PROT_READ | PROT_WRITE | PROT_EXEC;

impl Machine {
    /// `kern_munmap`: LEN 0 is EINVAL; the start is rounded down (which
    /// widens the range); a range outside the user map is EINVAL; holes
    /// and unmapped ranges are fine.
    pub(in crate::sys) fn freebsd_munmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
    ) -> SysResult<()> {
        if len == 0 {
            return Err(einval("length is zero"));
        }
        let (start, end) = page_range(addr, len).ok_or(einval("range wraps around"))?;
        if !self.freebsd_range_valid(start, end) {
            return Err(einval("range outside the user map"));
        }
        self.unmap_range(pid, start, end);
        Ok(())
    }

    /// `kern_mprotect` -> `vm_map_protect`. PROT may carry PROT_MAX, which
    /// sets the entries' maximum protection too (it can only shrink).
    /// First pass: every entry in the range must allow the protection
    /// (and the new maximum) within its maximum, else EACCES and nothing
    /// changes; holes and MAP_GUARD entries are skipped. Then each entry
    /// is clipped, changed, and merged again with its neighbours.
    pub(in crate::sys) fn freebsd_mprotect(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
    ) -> SysResult<()> {
        let prot = prot & 0xffff_ffff;
        if prot & !(PROT_ALL | PROT_ALL << PROT_MAX_SHIFT) != 0 {
            return Err(einval("unknown PROT bits"));
        }
        let (start, end) = page_range(addr, len).ok_or(einval("range wraps around"))?;
        let new_max = (prot >> PROT_MAX_SHIFT) & PROT_ALL;
        let set_max = new_max != 0;
        let new = Prot::from_raw(prot);
        let new_max = Prot::from_raw(new_max);
        if start == end {
            return Ok(());
        }
        if set_max && !new_max.contains(new) {
            return Err(enotsup("protection beyond the PROT_MAX given with it"));
        }
        let starts = self.procs[&pid].map.overlapping(start, end);
        for &s in &starts {
            let e = self.procs[&pid].map.entry(s);
            if e.flags.contains(VmFlags::GUARD) {
                continue;
            }
            let max = if e.flags.contains(VmFlags::STACK_GAP) {
                Prot::from_raw(e.pgoff >> PROT_MAX_SHIFT)
            } else {
                max_prot(e.flags)
            };
            if !max.contains(new | new_max) {
                return Err(eacces("protection beyond the mapping's maximum"));
            }
        }
        for s in starts {
            let Some(e) = self.procs[&pid].map.find(s.max(start)).cloned() else {
                continue;
            };
            let (lo, hi) = (e.start.max(start), e.end.min(end));
            if e.flags.contains(VmFlags::GUARD) {
                continue;
            }
            if e.flags.contains(VmFlags::STACK_GAP) {
                // A stack gap keeps the protection the stack will grow
                // with; the gap itself stays inaccessible.
                self.clip(pid, lo);
                self.clip(pid, hi);
                let en = self
                    .proc_mut(pid)
                    .map
                    .entries
                    .get_mut(&lo)
                    .expect("clipped");
                let old_max = Prot::from_raw(en.pgoff >> PROT_MAX_SHIFT);
                let max = if set_max { new_max } else { old_max };
                en.pgoff = u64::from(new.bits()) | u64::from(max.bits()) << PROT_MAX_SHIFT;
                continue;
            }
            let mut target = new;
            if set_max && max_prot(e.flags) != new_max {
                // SET_MAXPROT: the maximum, and the current protection
                // limited to it, before SET_PROT.
                self.clip(pid, lo);
                self.clip(pid, hi);
                let en = self
                    .proc_mut(pid)
                    .map
                    .entries
                    .get_mut(&lo)
                    .expect("clipped");
                en.flags = (en.flags - may_flags(Prot::all())) | may_flags(new_max);
                target = new & new_max;
            }
            self.mprotect_fixup(pid, lo, hi, target);
            // Re-merged even when only the maximum changed
            // (`vm_map_try_merge_entries` on every entry touched).
            if let Some(e) = self.procs[&pid].map.find(lo) {
                let s = e.start;
                self.merge_around(pid, s);
            }
        }
        Ok(())
    }

    /// `kern_minherit` -> `vm_map_inherit`: the range rounded out; a
    /// wrapping range or an unknown value EINVAL; holes skipped; the
    /// entries clipped, changed and merged again. A MAP_GUARD entry keeps
    /// its inheritance when asked for INHERIT_ZERO.
    pub(in crate::sys) fn freebsd_minherit(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        inherit: u64,
    ) -> SysResult<()> {
        let (start, end) = page_range(addr, len).ok_or(einval("range wraps around"))?;
        // `vm_inherit_t` is a `char`: kern_minherit keeps the low byte of
        // the int it is given, so 0x102 is INHERIT_NONE.
        let inherit = match inherit & 0xff {
            INHERIT_SHARE => Inherit::Share,
            INHERIT_COPY => Inherit::Copy,
            INHERIT_NONE => Inherit::None,
            INHERIT_ZERO => Inherit::Zero,
            _ => return Err(einval("unknown inheritance")),
        };
        let l = self.layout();
        let (lo, hi) = (start.max(l.mmap_min_addr), end.min(l.task_size));
        if inherit == Inherit::Zero {
            // Set entry by entry around the guards.
            let starts = self.procs[&pid].map.overlapping(lo, hi);
            for s in starts {
                let e = self.procs[&pid].map.find(s.max(lo)).cloned();
                if let Some(e) = e
                    && !e.flags.contains(VmFlags::GUARD)
                {
                    self.set_inherit(pid, e.start.max(lo), e.end.min(hi), inherit);
                }
            }
        } else {
            self.set_inherit(pid, lo, hi, inherit);
        }
        Ok(())
    }
}
