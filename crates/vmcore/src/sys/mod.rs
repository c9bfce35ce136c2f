//! The system-call layer: argument checks in the kernel's order, errno, and
//! then calls into the map layer (the way `uvm_mmap.c` only checks and
//! rounds before calling `uvm_map`). One file per call family.

mod brk;
mod file;
mod fork;
mod freebsd;
mod inherit;
mod madvise;
mod mincore;
mod mlock;
mod mmap;
mod mprotect;
mod mremap;
mod msync;
mod munmap;
mod netbsd;
mod resource;

use crate::addr::PAGE_SIZE;
use crate::errno::{SysError, SysResult, enosys};
use crate::event::{Event, Pid};
use crate::machine::Machine;
use crate::personality::{Kernel, Sys};

/// What a system call returns, as the raw value the kernel would.
pub(crate) trait RawRet {
    fn raw(&self) -> i64;
}
impl RawRet for () {
    fn raw(&self) -> i64 {
        0
    }
}
impl RawRet for u64 {
    fn raw(&self) -> i64 {
        *self as i64
    }
}
impl RawRet for u32 {
    fn raw(&self) -> i64 {
        *self as i64
    }
}
impl RawRet for i32 {
    fn raw(&self) -> i64 {
        *self as i64
    }
}
impl RawRet for Vec<u8> {
    fn raw(&self) -> i64 {
        0
    }
}
impl RawRet for Option<u8> {
    fn raw(&self) -> i64 {
        self.map_or(0, |v| v as i64)
    }
}

/// `offset_in_page`.
pub(crate) const fn unaligned(x: u64) -> bool {
    x & (PAGE_SIZE - 1) != 0
}

/// `PAGE_ALIGN` with Linux's wrap-around: `None` if it wraps past 2^64.
pub(crate) const fn page_align(x: u64) -> Option<u64> {
    crate::addr::align_up(x, PAGE_SIZE)
}

impl Machine {
    /// Which kernel's checks the system calls run.
    pub(crate) fn kernel(&self) -> Kernel {
        self.personality().kernel
    }

    /// Run one system call for `pid`: check the process and that the
    /// personality has the call (ENOSYS otherwise), record the call and its
    /// result, with the personality's errno number, as events.
    pub(crate) fn syscall<T: RawRet>(
        &mut self,
        pid: Pid,
        call: Sys,
        args: &[u64],
        f: impl FnOnce(&mut Machine) -> SysResult<T>,
    ) -> SysResult<T> {
        self.proc_ref(pid)?;
        let name = call.name();
        let personality = self.personality();
        let r = if personality.has(call) {
            Ok(())
        } else {
            Err(enosys("the personality has no such system call"))
        };
        if self.ev.enabled() {
            self.ev.push(Event::Syscall {
                pid,
                name,
                args: args.to_vec(),
            });
        }
        self.running = pid;
        let r = r.and_then(|()| f(self));
        // The OOM killer may have chosen this process during the call.
        self.oom_reap_pending();
        if self.ev.enabled() {
            let e = match &r {
                Ok(v) => Event::SyscallReturn {
                    pid,
                    name,
                    result: v.raw(),
                    errno: None,
                    reason: None,
                },
                Err(SysError { errno, reason }) => Event::SyscallReturn {
                    pid,
                    name,
                    result: -i64::from(personality.errno_number(*errno)),
                    errno: Some(errno.name()),
                    reason: Some(reason),
                },
            };
            self.ev.push(e);
        }
        r
    }
}
