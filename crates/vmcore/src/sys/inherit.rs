//! minherit(2), the BSDs' call that sets what a child gets of a range at
//! fork (`vm_map_inherit` in FreeBSD, `uvm_map_inherit` in NetBSD). Linux
//! has no minherit; MADV_DONTFORK and MADV_WIPEONFORK are its nearest.

use crate::errno::{SysResult, enosys};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};

impl Machine {
    /// minherit(2) with the personality's raw inheritance value.
    pub fn minherit(&mut self, pid: Pid, addr: u64, len: u64, inherit: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Minherit, &[addr, len, inherit], |m| {
            match m.kernel() {
                Kernel::Linux => Err(enosys("Linux has no minherit")),
                Kernel::FreeBsd => m.freebsd_minherit(pid, addr, len, inherit),
                Kernel::NetBsd => m.netbsd_minherit(pid, addr, len, inherit),
            }
        })
    }
}
