//! fork(2) and exit(2): address spaces are copied (`dup_mmap`,
//! `uvmspace_fork`) and torn down (`exit_mmap`).

use crate::errno::SysResult;
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::Sys;

impl Machine {
    /// fork(2): the child gets a copy of the address space. Private memory
    /// becomes copy-on-write: the amap is shared with needs-copy set on
    /// both sides and every present PTE is copied write-protected (as
    /// Linux's `copy_page_range` does for entries with anonymous pages).
    /// MADV_DONTFORK entries are left out; MADV_WIPEONFORK entries start
    /// empty in the child; locks and MCL_FUTURE are not inherited.
    pub fn fork(&mut self, pid: Pid) -> SysResult<Pid> {
        self.syscall(pid, Sys::Fork, &[], |m| m.vmspace_fork(pid))
    }

    /// exit(2): the address space goes (`exit_mmap`), the descriptors are
    /// closed, the page tables freed and the TLB entries of the address
    /// space flushed.
    pub fn exit(&mut self, pid: Pid) -> SysResult<()> {
        self.syscall(pid, Sys::Exit, &[], |m| {
            m.vmspace_exit(pid);
            Ok(())
        })
    }
}
