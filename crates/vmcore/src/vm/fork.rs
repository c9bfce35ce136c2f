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
use crate::vm::map::{Entry, Inherit};

impl Machine {
    pub(crate) fn vmspace_fork(&mut self, pid: Pid) -> SysResult<Pid> {
        let child = self
            .spawn(Some(pid))
            .ok_or(enomem("no memory for page tables"))?;
        let parent = &self.procs[&pid];
        let entries: Vec<_> = parent.map.entries.values().cloned().collect();
        let (brk_start, brk, fds) = (parent.brk_start, parent.brk, parent.fds.clone());
        let memlock_limit = parent.memlock_limit;
        let anon_loc = parent.map.anon_loc;
        for e in entries {
            // Linux's madvise flags are its inheritance values.
            let inherit = if e.flags.contains(VmFlags::DONTCOPY) {
                Inherit::None
            } else if e.flags.contains(VmFlags::WIPEONFORK) {
                Inherit::Zero
            } else {
                e.inherit
            };
            match inherit {
                Inherit::None => continue,
                Inherit::Zero => self.fork_zero(pid, child, &e),
                Inherit::Share if !e.is_shared() => self.fork_share_private(pid, child, &e),
                Inherit::Copy if e.is_shared() => self.fork_copy_shared(pid, child, &e),
                Inherit::Copy | Inherit::Share => self.fork_copy(pid, child, &e),
            }
        }
        for fd in fds.values() {
            self.open_files.get_mut(*fd).expect("open file").refs += 1;
        }
        let cp = self.proc_mut(child);
        cp.fds = fds;
        cp.brk_start = brk_start;
        cp.brk = brk;
        cp.memlock_limit = memlock_limit;
        cp.map.anon_loc = anon_loc;
        self.ev.push(Event::Fork { parent: pid, child });
        Ok(child)
    }

    /// The usual inheritance: shared memory stays shared, private memory
    /// becomes copy-on-write in both (`uvm_mapent_forkcopy`, `dup_mmap`).
    fn fork_copy(&mut self, pid: Pid, child: Pid, e: &Entry) {
        let mut c = self.child_entry(e, VmFlags::empty());
        if let Some(r) = e.aref {
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
            self.copy_leaves(pid, child, e);
            self.pmap_protect(pid, e.start, e.end, e.prot);
        } else if e.anon_vma.is_some() {
            // No private page yet, but an anon_vma: Linux copies the
            // page tables all the same (`vma_needs_copy`), so the child
            // also has the zero pages and page-cache pages mapped.
            self.copy_leaves(pid, child, e);
        }
        if e.anon_vma.is_some() {
            // `anon_vma_fork`: the child's entry gets an anon_vma of its
            // own, chained to the parent's (so it never merges with an
            // entry that has none), whether or not pages were copied.
            c.anon_vma = Some(self.new_anon_vma());
            c.anon_vma_forked = true;
        }
        self.fork_guards(pid, child, e);
        self.proc_mut(child).map.entries.insert(c);
    }

    /// MADV_WIPEONFORK, `VM_INHERIT_ZERO`: the child gets fresh
    /// zero-filled private memory in the entry's place; a shared entry's
    /// object is not the child's.
    fn fork_zero(&mut self, _pid: Pid, child: Pid, e: &Entry) {
        let mut c = e.clone();
        c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
        c.aref = None;
        c.needs_copy = false;
        c.anon_vma = None;
        c.anon_vma_forked = false;
        if e.is_shared() {
            c.flags -= VmFlags::SHARED | VmFlags::MAYSHARE;
            c.object = None;
            c.pgoff = e.start >> crate::addr::PAGE_SHIFT;
        } else if let Some(o) = c.object {
            self.object_ref(o);
        }
        self.proc_mut(child).map.entries.insert(c);
    }

    /// `VM_INHERIT_SHARE` of private memory (`uvm_mapent_forkshared`):
    /// the parent's amap is made its own first (`amap_copy` if it still
    /// needs copying, a new one if it has none), then parent and child
    /// hold the same amap without needs-copy, so a write by either lands
    /// in the one anon both map.
    fn fork_share_private(&mut self, pid: Pid, child: Pid, e: &Entry) {
        // `amap_ensure` copies an amap that needs it, or makes one.
        let mut pe = e.clone();
        self.amap_ensure(pid, &mut pe);
        let c = self.child_entry(&pe, VmFlags::empty());
        if let Some(r) = pe.aref {
            self.amap_ref(r.amap, r.slotoff, pe.pages());
        }
        self.copy_leaves(pid, child, &pe);
        self.fork_guards(pid, child, &pe);
        self.proc_mut(child).map.entries.insert(c);
    }

    /// minherit COPY of a shared mapping (the BSDs only): the child's
    /// entry is a private copy-on-write mapping of the same object, as
    /// `uvm_mapent_forkcopy` and `vm_map_copy_entry` make it. FreeBSD's
    /// `vm_map_copy_entry` marks the parent's entry copy-on-write too
    /// (`MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY`, its pages write-protected):
    /// from then on the parent's own writes go to private copies, no
    /// longer seen by those that share the object.
    fn fork_copy_shared(&mut self, pid: Pid, child: Pid, e: &Entry) {
        if self.personality().kernel == crate::personality::Kernel::FreeBsd {
            let en = self
                .proc_mut(pid)
                .map
                .entries
                .get_mut(&e.start)
                .expect("entry");
            en.flags -= VmFlags::SHARED | VmFlags::MAYSHARE;
            self.pmap_protect(pid, e.start, e.end, e.prot);
        }
        let c = self.child_entry(e, VmFlags::SHARED | VmFlags::MAYSHARE);
        self.copy_leaves(pid, child, &c);
        self.proc_mut(child).map.entries.insert(c);
    }

    /// The child's copy of entry `e`: without the locks (mlock and
    /// MCL_FUTURE are not inherited) and the flags in `drop`, holding a
    /// reference to the object.
    fn child_entry(&mut self, e: &Entry, drop: VmFlags) -> Entry {
        let mut c = e.clone();
        c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT | drop;
        if let Some(o) = c.object {
            self.object_ref(o);
        }
        c
    }

    fn fork_guards(&mut self, pid: Pid, child: Pid, e: &Entry) {
        let g: Vec<u64> = self.procs[&pid]
            .guards
            .range(e.start..e.end)
            .copied()
            .collect();
        self.proc_mut(child).guards.extend(g);
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
