//! Changing the protection of a range of entries: `mprotect_fixup`
//! (Linux) / `uvm_map_protect` (NetBSD): split at the ends, change the
//! protection and the page tables, merge again.

use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;

/// The entry flags `e` gets with protection `prot` (`mprotect_fixup`'s
/// `newflags`): the accounting bit follows the write permission.
pub(crate) fn mprotect_flags(e: &crate::vm::map::Entry, prot: Prot) -> VmFlags {
    let mut flags = e.flags;
    if prot.writable() {
        // First write grant of private memory: charge it.
        if !e.prot.writable()
            && !flags.intersects(
                VmFlags::ACCOUNT | VmFlags::SHARED | VmFlags::NORESERVE | VmFlags::HUGETLB,
            )
        {
            flags |= VmFlags::ACCOUNT;
        }
    } else if flags.contains(VmFlags::ACCOUNT) && e.object.is_none() && e.anon_vma.is_none() {
        // Read-only again before any page was faulted: uncharge.
        flags -= VmFlags::ACCOUNT;
    }
    flags
}

impl Machine {
    /// Change `[lo, hi)` (inside one entry) to `prot`: split, set, lower
    /// the PTEs, merge.
    pub(crate) fn mprotect_fixup(&mut self, pid: Pid, lo: u64, hi: u64, prot: Prot) {
        let e = self.procs[&pid]
            .map
            .find(lo)
            .expect("caller found the entry")
            .clone();
        // The same protection changes nothing, not even the accounting
        // (`mprotect_fixup` returns before it when newflags == oldflags).
        if prot == e.prot {
            return;
        }
        let flags = mprotect_flags(&e, prot);
        self.clip(pid, lo);
        self.clip(pid, hi);
        {
            let en = self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&lo)
                .expect("clipped");
            en.prot = prot;
            en.flags = flags;
        }
        // Write access is only ever taken away here (a write fault grants it
        // back, knowing whether the page is shared copy-on-write);
        // PROT_NONE keeps the pages mapped but inaccessible (PROTNONE
        // entries), and leaving PROT_NONE makes them present again.
        if prot.is_empty()
            || !prot.writable()
            || prot.executable() != e.prot.executable()
            || !e.prot.writable()
        {
            self.pmap_protect(pid, lo, hi, prot);
        }
        // A private locked entry becoming writable is populated at once,
        // breaking copy-on-write now rather than at the first store.
        let populate = e.flags.contains(VmFlags::LOCKED)
            && !e.prot.writable()
            && !e.flags.contains(VmFlags::SHARED)
            && prot.writable();
        self.merge_around(pid, lo);
        if populate {
            let _ = self.populate(pid, lo, hi);
        }
    }
}
