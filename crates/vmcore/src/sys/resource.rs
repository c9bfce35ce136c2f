//! setrlimit(2) for the one resource the VM calls consult,
//! `RLIMIT_MEMLOCK`: how many bytes a process may wire.

use crate::errno::{SysResult, enosys};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};

impl Machine {
    /// setrlimit(RLIMIT_MEMLOCK): the soft and the hard limit to `bytes`
    /// (`None`: RLIM_INFINITY). A child made by fork inherits it.
    pub fn setrlimit_memlock(&mut self, pid: Pid, bytes: Option<u64>) -> SysResult<()> {
        let raw = bytes.unwrap_or(u64::MAX);
        self.syscall(pid, Sys::Setrlimit, &[raw], |m| match m.kernel() {
            Kernel::Linux => Err(enosys("not offered under Linux")),
            Kernel::FreeBsd | Kernel::NetBsd => {
                m.proc_mut(pid).memlock_limit = bytes;
                Ok(())
            }
        })
    }

    /// The process's `RLIMIT_MEMLOCK` (`None`: unlimited, as for root).
    pub fn memlock_limit(&self, pid: Pid) -> Option<u64> {
        self.procs.get(&pid).and_then(|p| p.memlock_limit)
    }
}
