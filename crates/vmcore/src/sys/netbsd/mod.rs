//! The NetBSD system calls (`sys/uvm/uvm_mmap.c` 1.184, `uvm_mremap.c`):
//! the arguments checked in NetBSD's order with NetBSD's errno, then the
//! map layer (`crate::vm`) under UVM's rules ([`MergeRule::Uvm`],
//! [`Placement::UvmTopDown`]).
//!
//! One file per part of `uvm_mmap.c`, as there:
//!
//! - `mmap`: `sys_mmap` and `uvm_mmap`, with PaX MPROTECT (a mapping's
//!   maximum protection is what it was created with plus
//!   `PROT_MPROTECT(...)`; W|X refused);
//! - `mremap`: `sys_mremap` / `uvm_mremap` (MAP_REMAPDUP);
//! - `protect`: `sys_mprotect` -> `uvm_map_protect`, `sys_minherit`;
//! - `clean`: `uvm_map_clean` behind `sys_madvise` and `sys___msync13`;
//! - `mincore`: `sys_mincore`;
//! - `wire`: `sys_mlock`, `sys_munlock`, `sys_mlockall`,
//!   `sys_munlockall` over `uvm_map_pageable`.
//!
//! Every range check goes through [`round_and_check`] and [`range_test`],
//! as in the kernel; each caller turns a failure into its own errno.
//!
//! [`MergeRule::Uvm`]: crate::personality::MergeRule::Uvm
//! [`Placement::UvmTopDown`]: crate::personality::Placement::UvmTopDown

mod clean;
mod mincore;
mod mmap;
mod mremap;
mod protect;
mod wire;

use crate::addr::PAGE_SIZE;
use crate::errno::{SysResult, einval, eoverflow};
use crate::event::Pid;
use crate::machine::Machine;
use crate::personality::Layout;
use crate::vm::object::ObjKind;

/// `PAGE_MASK` as NetBSD spells it: the offset bits of an address.
const PAGE_MASK: u64 = PAGE_SIZE - 1;

/// `round_page` with the C wrap-around.
const fn round_page(x: u64) -> u64 {
    x.wrapping_add(PAGE_MASK) & !PAGE_MASK
}

/// `range_test`: `[addr, addr+size)` must start inside the map, end
/// inside it and not wrap. mmap reports the last two as EFBIG and
/// EOVERFLOW; every other caller gets EINVAL.
fn range_test(l: &Layout, addr: u64, size: u64, ismmap: bool) -> SysResult<()> {
    let eaddr = addr.wrapping_add(size);
    if addr < l.mmap_min_addr {
        return Err(einval("below the bottom of the map (vm.user_va0_disable)"));
    }
    if eaddr > l.task_size {
        return Err(if ismmap {
            crate::errno::efbig("past the top of the map")
        } else {
            einval("past the top of the map")
        });
    }
    if addr > eaddr {
        return Err(if ismmap {
            eoverflow("range wraps around")
        } else {
            einval("range wraps around")
        });
    }
    Ok(())
}

/// `round_and_check`: the start truncated to its page, the length grown
/// by that offset and rounded up to pages (LEN 0 stays 0), then
/// [`range_test`]. `None` when it fails: each call picks its own errno.
fn round_and_check(l: &Layout, addr: u64, size: u64) -> Option<(u64, u64)> {
    let pageoff = addr & PAGE_MASK;
    let addr = addr - pageoff;
    let size = if size != 0 {
        round_page(size.wrapping_add(pageoff))
    } else {
        0
    };
    range_test(l, addr, size, false).ok()?;
    Some((addr, size))
}

impl Machine {
    /// The start of the entry holding `va`, if any (`uvm_map_lookup_entry`).
    fn nb_lookup(&self, pid: Pid, va: u64) -> Option<u64> {
        self.procs[&pid].map.find(va).map(|e| e.start)
    }

    /// The starts of the entries overlapping `[start, end)`: none when the
    /// range is empty (the kernel's loops run `while entry->start < end`).
    fn nb_entries_in(&self, pid: Pid, start: u64, end: u64) -> Vec<u64> {
        if start >= end {
            return Vec::new();
        }
        self.procs[&pid].map.overlapping(start, end)
    }

    /// Whether `[start, end)` is mapped without a hole from `start` on,
    /// the test `uvm_map_pageable`, `uvm_map_clean` and `sys_mincore` make
    /// entry by entry.
    fn nb_contiguous(&self, pid: Pid, start: u64, end: u64) -> bool {
        let map = &self.procs[&pid].map;
        let mut va = start;
        while va < end {
            match map.find(va) {
                Some(e) => va = e.end,
                None => return false,
            }
        }
        true
    }

    /// `VM_MAP_WIREFUTURE`: mlockall(MCL_FUTURE) is in effect. Kept as
    /// Linux keeps it, VM_LOCKED in the process's default flags.
    fn nb_wirefuture(&self, pid: Pid) -> bool {
        self.procs[&pid]
            .def_flags
            .contains(crate::flags::VmFlags::LOCKED)
    }

    /// One line of the address-space listing (`maps`) as NetBSD's
    /// Linux-format `/proc/PID/maps` shows an entry (`procfs_domap`): the
    /// fourth column `p` for a copy-on-write entry, `s` otherwise; the
    /// offset of anonymous memory, shared or not, is 0.
    pub(crate) fn netbsd_maps_line(&self, e: &crate::vm::map::Entry) -> crate::machine::MapsLine {
        let mut line = self.linux_maps_line(e);
        let anon = e
            .object
            .and_then(|o| self.objects.get(o))
            .is_none_or(|o| o.kind == ObjKind::Shmem);
        if anon {
            line.offset = 0;
        }
        line
    }
}
