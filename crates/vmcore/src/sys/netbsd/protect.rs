//! mprotect(2) and minherit(2) under NetBSD: `sys_mprotect` ->
//! `uvm_map_protect_user` -> `uvm_map_protect`, and `sys_minherit` ->
//! `uvm_map_inherit`.

use super::mmap::{max_prot, pax_mprotect_validate};
use super::round_and_check;
use crate::errno::{SysResult, eacces, einval, enomem};
use crate::event::Pid;
use crate::flags::Prot;
use crate::machine::Machine;
use crate::personality::netbsd::abi::{
    MAP_INHERIT_COPY, MAP_INHERIT_NONE, MAP_INHERIT_SHARE, MAP_INHERIT_ZERO,
};
use crate::vm::map::Inherit;

impl Machine {
    /// `sys_mprotect`: PROT_MPROTECT bits dropped; a bad range is EINVAL;
    /// W|X is EACCES (PaX MPROTECT). `uvm_map_protect` then clips at the
    /// start, checks every entry against its maximum protection (EACCES,
    /// the clip staying: case `nb_mprotect_split`), and only then clips at
    /// the end and sets the protection. Holes are not checked; nothing
    /// merges again. Under `VM_MAP_WIREFUTURE` an entry leaving PROT_NONE
    /// is wired.
    pub(crate) fn netbsd_mprotect(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
    ) -> SysResult<()> {
        let prot = prot & 7;
        let (start, size) = round_and_check(self.layout(), addr, len)
            .ok_or(einval("range outside the user address space"))?;
        let end = start + size;
        pax_mprotect_validate(prot)?;
        self.clip(pid, start);
        let starts = self.nb_entries_in(pid, start, end);
        for &s in &starts {
            let e = self.procs[&pid].map.entry(s);
            if prot & max_prot(e.flags) != prot {
                return Err(eacces("beyond the mapping's maximum protection"));
            }
        }
        let new = Prot::from_raw(prot);
        let wirefuture = self.nb_wirefuture(pid);
        self.clip(pid, end);
        for s in starts {
            let e = self.procs[&pid].map.entry(s).clone();
            if e.prot == new {
                continue;
            }
            let hi = e.end;
            self.proc_mut(pid)
                .map
                .entries
                .get_mut(&s)
                .expect("listed")
                .prot = new;
            // The page tables lose what the entry lost now; what it gained
            // comes back fault by fault (copy-on-write stays intact).
            if new.is_empty()
                || !new.writable()
                || new.executable() != e.prot.executable()
                || !e.prot.writable()
            {
                self.pmap_protect(pid, s, hi, new);
            }
            if wirefuture
                && e.prot.is_empty()
                && !new.is_empty()
                && !e.flags.contains(crate::flags::VmFlags::LOCKED)
                && self.nb_wire(pid, s, hi).is_err()
            {
                return Err(enomem("cannot wire the memory made accessible"));
            }
        }
        Ok(())
    }

    /// `sys_minherit` -> `uvm_map_inherit`: a bad range is EINVAL, as is
    /// any value but SHARE, COPY, NONE and ZERO (DONATE_COPY included);
    /// holes are skipped; the entries are clipped and never merged.
    pub(crate) fn netbsd_minherit(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        inherit: u64,
    ) -> SysResult<()> {
        let (start, size) = round_and_check(self.layout(), addr, len)
            .ok_or(einval("range outside the user address space"))?;
        let inherit = match inherit as u32 as u64 {
            MAP_INHERIT_SHARE => Inherit::Share,
            MAP_INHERIT_COPY => Inherit::Copy,
            MAP_INHERIT_NONE => Inherit::None,
            MAP_INHERIT_ZERO => Inherit::Zero,
            _ => return Err(einval("unknown inheritance")),
        };
        self.set_inherit(pid, start, start + size, inherit);
        Ok(())
    }
}
