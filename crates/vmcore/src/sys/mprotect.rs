//! mprotect(2): `do_mprotect_pkey` and `mprotect_fixup`.

use super::{page_align, unaligned};
use crate::errno::{SysResult, eacces, einval, enomem};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::linux::abi::{
    PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE,
};
use crate::personality::{Kernel, Sys};

impl Machine {
    /// mprotect(2). Entries before a hole keep their new protection when
    /// the call fails with ENOMEM at the hole, as in Linux.
    pub fn mprotect(&mut self, pid: Pid, addr: u64, len: u64, prot: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Mprotect, &[addr, len, prot], |m| {
            match m.kernel() {
                Kernel::Linux => m.do_mprotect(pid, addr, len, prot),
                Kernel::FreeBsd => m.freebsd_mprotect(pid, addr, len, prot),
                Kernel::NetBsd => m.netbsd_mprotect(pid, addr, len, prot),
            }
        })
    }

    pub(super) fn do_mprotect(
        &mut self,
        pid: Pid,
        mut start: u64,
        len: u64,
        prot: u64,
    ) -> SysResult<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(einval("PROT_GROWSDOWN and PROT_GROWSUP together"));
        }
        if unaligned(start) {
            return Err(einval("address is not page aligned"));
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_align(len).unwrap_or(0);
        let end = start.wrapping_add(len);
        if end <= start {
            return Err(enomem("range wraps around"));
        }
        let bits = prot & !grows;
        if bits & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(einval("unknown protection bits"));
        }
        let new = Prot::from_raw(bits);
        let map = &self.procs[&pid].map;
        let Some(first) = map.find_vma(start) else {
            return Err(enomem("nothing mapped at the address"));
        };
        if grows & PROT_GROWSDOWN != 0 {
            if first.start >= end {
                return Err(enomem("nothing mapped in the range"));
            }
            start = first.start;
            if !first.flags.contains(VmFlags::GROWSDOWN) {
                return Err(einval(
                    "PROT_GROWSDOWN on a mapping that does not grow down",
                ));
            }
        } else if first.start > start {
            return Err(enomem("nothing mapped at the address"));
        }
        if grows & PROT_GROWSUP != 0 {
            return Err(einval("no mapping grows up on x86_64"));
        }
        let mut nstart = start;
        loop {
            let Some(e) = self.procs[&pid].map.find_vma(nstart) else {
                return Err(enomem("range has a hole"));
            };
            if e.start > nstart {
                return Err(enomem("range has a hole"));
            }
            // Requested bits beyond VM_MAY* -> EACCES.
            let may = e.flags;
            if (new.readable() && !may.contains(VmFlags::MAYREAD))
                || (new.writable() && !may.contains(VmFlags::MAYWRITE))
                || (new.executable() && !may.contains(VmFlags::MAYEXEC))
            {
                return Err(eacces("protection not allowed for this mapping"));
            }
            let tmp = e.end.min(end);
            // The first write grant charges private memory: heuristic
            // overcommit refuses more than RAM + swap.
            if new.writable()
                && !e.prot.writable()
                && !e.flags.intersects(
                    VmFlags::ACCOUNT | VmFlags::SHARED | VmFlags::NORESERVE | VmFlags::HUGETLB,
                )
                && (tmp - nstart) / crate::addr::PAGE_SIZE > self.overcommit_limit()
            {
                return Err(enomem("more than RAM + swap (heuristic overcommit)"));
            }
            // mprotect_fixup -> vma_modify_flags: a change that splits a
            // hugetlb mapping off its huge pages is refused; the entries
            // before it keep their new protection (case hugetlb_split_rules).
            if new != e.prot {
                let e = e.clone();
                let flags = crate::vm::protect::mprotect_flags(&e, new);
                self.may_modify(pid, &e, (nstart, tmp), new, flags)?;
            }
            self.mprotect_fixup(pid, nstart, tmp, new);
            nstart = tmp;
            if nstart >= end {
                return Ok(());
            }
        }
    }
}
