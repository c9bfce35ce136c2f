//! The address space across fork: `uvmspace_fork` (NetBSD) / `dup_mmap`
//! (Linux). Every entry is copied by its inheritance: private memory
//! becomes copy-on-write (the amap shared with needs-copy on both sides,
//! the parent's PTEs write-protected and copied read-only into the child,
//! as `copy_page_range` does for entries with anonymous pages);
//! MADV_DONTFORK entries are left out; MADV_WIPEONFORK entries start empty
//! in the child; locks and MCL_FUTURE are not inherited.

use crate::errno::{SysResult, enomem};
use crate::event::{Event, Pid};
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::pmap::PteProt;
use crate::vm::map::Entry;

impl Machine {
    pub(crate) fn vmspace_fork(&mut self, pid: Pid) -> SysResult<Pid> {
        let child = self
            .spawn(Some(pid))
            .ok_or(enomem("no memory for page tables"))?;
        let parent = &self.procs[&pid];
        let entries: Vec<_> = parent.map.entries.values().cloned().collect();
        let (brk_start, brk, fds) = (parent.brk_start, parent.brk, parent.fds.clone());
        for e in entries {
            if e.flags.contains(VmFlags::DONTCOPY) {
                continue;
            }
            let mut c = e.clone();
            c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
            if let Some(o) = c.object {
                self.object_ref(o);
            }
            if e.flags.contains(VmFlags::WIPEONFORK) {
                c.aref = None;
                c.needs_copy = false;
                c.anon_vma = None;
                c.anon_vma_forked = false;
            } else if let Some(r) = e.aref {
                self.amap_ref(r.amap, r.slotoff, e.pages());
                c.needs_copy = true;
                self.proc_mut(pid)
                    .map
                    .entries
                    .get_mut(&e.start)
                    .expect("entry")
                    .needs_copy = true;
                // Copy the parent's PTEs into the child read-only, and
                // write-protect the parent's.
                self.copy_leaves(pid, child, &e);
                self.pmap_protect(pid, e.start, e.end, e.prot);
            } else if e.anon_vma.is_some() {
                // No private page yet, but an anon_vma: Linux copies the
                // page tables all the same (`vma_needs_copy`), so the child
                // also has the zero pages and page-cache pages mapped.
                self.copy_leaves(pid, child, &e);
            }
            if !e.flags.contains(VmFlags::WIPEONFORK) && e.anon_vma.is_some() {
                // `anon_vma_fork`: the child's entry gets an anon_vma of its
                // own, chained to the parent's (so it never merges with an
                // entry that has none), whether or not pages were copied.
                c.anon_vma = Some(self.new_anon_vma());
                c.anon_vma_forked = true;
            }
            if !e.flags.contains(VmFlags::WIPEONFORK) {
                let g: Vec<u64> = self.procs[&pid]
                    .guards
                    .range(e.start..e.end)
                    .copied()
                    .collect();
                self.proc_mut(child).guards.extend(g);
            }
            self.proc_mut(child).map.entries.insert(c);
        }
        for fd in fds.values() {
            self.open_files.get_mut(*fd).expect("open file").refs += 1;
        }
        let cp = self.proc_mut(child);
        cp.fds = fds;
        cp.brk_start = brk_start;
        cp.brk = brk;
        self.ev.push(Event::Fork { parent: pid, child });
        Ok(child)
    }

    /// `copy_page_range` for one entry: the parent's leaves inside it,
    /// read-only in the child (a write faults and sorts out sharing).
    fn copy_leaves(&mut self, pid: Pid, child: Pid, e: &Entry) {
        let prot = PteProt {
            writable: false,
            executable: e.prot.executable(),
        };
        self.pmap_copy(pid, child, e.start, e.end, prot, !e.is_shared());
        if e.prot.is_empty() {
            // Copied PROTNONE entries stay inaccessible.
            self.pmap_protect(child, e.start, e.end, e.prot);
        }
    }

    /// The address space of an exiting process goes (`exit_mmap`,
    /// `uvmspace_free`): every entry is unmapped, the descriptors closed,
    /// the page tables freed and the TLB entries of its PCID flushed.
    pub(crate) fn vmspace_exit(&mut self, pid: Pid) {
        self.unmap_range(pid, 0, self.layout().task_size);
        let fds: Vec<i32> = self.procs[&pid].fds.keys().copied().collect();
        for fd in fds {
            let _ = self.close_fd(pid, fd);
        }
        let p = self.procs.remove(&pid).expect("checked");
        if self.cpu.0 == pid {
            self.cpu = (0, crate::addr::Pfn(0), 0);
        }
        let asid = p.pmap.asid();
        p.pmap.destroy(&mut self.phys, &mut self.ev);
        let removed = self.tlb.flush_asid(asid);
        self.ev.push(Event::TlbFlushAsid { asid, removed });
        self.ev.push(Event::Exit { pid });
    }
}
