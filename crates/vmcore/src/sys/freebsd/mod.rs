//! The FreeBSD system calls (`sys/vm/vm_mmap.c`, `sys/vm/vm_unix.c`):
//! argument checks in FreeBSD's order and errno, then the same map layer
//! (`crate::vm`) as every personality. One file per call family:
//!
//! ```text
//!   mmap.rs      kern_mmap, vm_mmap_object, vn_mmap / shm_mmap, MAP_STACK, MAP_GUARD
//!   protect.rs   kern_munmap, kern_mprotect, kern_minherit
//!   advice.rs    kern_madvise, kern_mincore, kern_msync
//!   wire.rs      kern_mlock, kern_munlock, mlockall, munlockall
//!   brk.rs       kern_break and libc's brk/sbrk over it
//! ```
//!
//! What FreeBSD shares with every call: the start is rounded down to its
//! page and the length grows by what was cut off, then is rounded up
//! (`trunc_page`, `round_page`); a range that wraps or leaves the user map
//! `[VM_MIN_ADDRESS, VM_MAXUSER_ADDRESS)` is refused (`vm_map_range_valid`).

mod advice;
mod brk;
mod mmap;
mod protect;
mod wire;

use crate::addr::PAGE_SIZE;
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::{Backing, Machine, MapsLine};
use crate::vm::map::Entry;

/// The page-rounded range of a call: `[trunc_page(addr),
/// trunc_page(addr) + round_page(len + pageoff))`, computed as the C
/// does, modulo 2^64 (`size += pageoff; size = round_page(size)`), so a
/// LEN in the last page below 2^64 rounds to 0 and the range is empty;
/// `None` when the end wraps past 2^64 (`addr + size < addr`).
pub(crate) fn page_range(addr: u64, len: u64) -> Option<(u64, u64)> {
    let pageoff = addr & (PAGE_SIZE - 1);
    let start = addr - pageoff;
    let size = len.wrapping_add(pageoff).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let end = start.checked_add(size)?;
    Some((start, end))
}

/// The maximum protection of an entry (`max_protection`), kept in the
/// entry's VM_MAY* bits.
pub(crate) fn max_prot(flags: VmFlags) -> Prot {
    let mut p = Prot::empty();
    if flags.contains(VmFlags::MAYREAD) {
        p |= Prot::READ;
    }
    if flags.contains(VmFlags::MAYWRITE) {
        p |= Prot::WRITE;
    }
    if flags.contains(VmFlags::MAYEXEC) {
        p |= Prot::EXEC;
    }
    p
}

/// The VM_MAY* bits that carry maximum protection `max`.
pub(crate) fn may_flags(max: Prot) -> VmFlags {
    let mut f = VmFlags::empty();
    if max.contains(Prot::READ) {
        f |= VmFlags::MAYREAD;
    }
    if max.contains(Prot::WRITE) {
        f |= VmFlags::MAYWRITE;
    }
    if max.contains(Prot::EXEC) {
        f |= VmFlags::MAYEXEC;
    }
    f
}

impl Machine {
    /// `vm_map_range_valid`: `[start, end)` lies in the user map.
    pub(crate) fn freebsd_range_valid(&self, start: u64, end: u64) -> bool {
        let l = self.layout();
        end >= start && start >= l.mmap_min_addr && end <= l.task_size
    }

    /// One line of the address-space listing (`maps`) as FreeBSD would
    /// show the entry (`kern_proc_vmmap_out`, in the listing's format):
    /// `s` for entries of a MAP_SHARED mapping (and what a child inherits
    /// shared from them), the file offset for file and memfd entries, 0x0
    /// for anonymous memory, and `guard` for MAP_GUARD entries and stack
    /// gaps.
    pub(crate) fn freebsd_maps_line(&self, e: &Entry) -> MapsLine {
        let mut line = self.linux_maps_line(e);
        if e.flags.intersects(VmFlags::GUARD | VmFlags::STACK_GAP) {
            line.backing = Backing::Guard;
            line.offset = 0;
        } else if matches!(line.backing, Backing::Shmem) {
            line.offset = 0;
        }
        line
    }

    /// The pages of `pid` wired by the user (`pmap_wired_count`): the
    /// pages of its mlocked entries, all of them resident.
    pub(crate) fn freebsd_wired_bytes(&self, pid: Pid) -> u64 {
        self.procs[&pid]
            .map
            .entries
            .values()
            .filter(|e| e.flags.contains(VmFlags::LOCKED))
            .map(|e| e.end - e.start)
            .sum()
    }
}

impl Machine {
    /// FreeBSD has no mremap: the personality lacks the call, so the
    /// dispatcher answers ENOSYS before it gets here.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::sys) fn freebsd_mremap(
        &mut self,
        _pid: Pid,
        _old: u64,
        _old_len: u64,
        _new_len: u64,
        _flags: u64,
        _new_addr: u64,
    ) -> crate::errno::SysResult<u64> {
        Err(crate::errno::enosys("FreeBSD has no mremap"))
    }
}
