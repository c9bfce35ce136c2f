//! mmap(2) and munmap(2) under NetBSD: `sys_mmap`, `uvm_mmap`,
//! `sys_munmap`.

use super::{PAGE_MASK, range_test, round_and_check, round_page};
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, eacces, ebadf, einval, enomem, eoverflow};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::netbsd::abi::{
    MAP_ALIGNMENT_MASK, MAP_ALIGNMENT_SHIFT, MAP_ANON, MAP_FIXED, MAP_PRIVATE, MAP_SHARED,
    MAP_TRYFIXED, MAP_WIRED, PROT_EXEC, PROT_MPROTECT_SHIFT, PROT_WRITE,
};
use crate::vm::mapops::NewMapping;

/// `VM_PROT_ALL`.
const VM_PROT_ALL: u64 = 7;

/// The MAY* flags that carry an entry's maximum protection.
pub(super) fn max_flags(maxprot: u64) -> VmFlags {
    let mut f = VmFlags::empty();
    if maxprot & 1 != 0 {
        f |= VmFlags::MAYREAD;
    }
    if maxprot & 2 != 0 {
        f |= VmFlags::MAYWRITE;
    }
    if maxprot & 4 != 0 {
        f |= VmFlags::MAYEXEC;
    }
    f
}

/// An entry's maximum protection, from its MAY* flags.
pub(super) fn max_prot(flags: VmFlags) -> u64 {
    u64::from(flags.contains(VmFlags::MAYREAD))
        | u64::from(flags.contains(VmFlags::MAYWRITE)) << 1
        | u64::from(flags.contains(VmFlags::MAYEXEC)) << 2
}

/// `PAX_MPROTECT_VALIDATE`: PaX MPROTECT never lets a mapping be
/// writable and executable at once.
pub(super) fn pax_mprotect_validate(prot: u64) -> SysResult<()> {
    if prot & (PROT_WRITE | PROT_EXEC) == PROT_WRITE | PROT_EXEC {
        return Err(eacces("PaX MPROTECT: writable and executable"));
    }
    Ok(())
}

impl Machine {
    /// `sys_mmap` then `uvm_mmap`. Unknown MAP and PROT bits are ignored;
    /// an anonymous LEN 0 returns the default address and maps nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn netbsd_mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        size: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        pos: u64,
    ) -> SysResult<u64> {
        let l = *self.layout();
        let prot_in = prot as u32 as u64;
        let prot = prot_in & VM_PROT_ALL;
        let extraprot = (prot_in >> PROT_MPROTECT_SHIFT) & VM_PROT_ALL;
        let flags = flags as u32 as u64;
        if flags & (MAP_SHARED | MAP_PRIVATE) == MAP_SHARED | MAP_PRIVATE {
            return Err(einval("MAP_SHARED and MAP_PRIVATE together"));
        }
        let anon = flags & MAP_ANON != 0;
        if size == 0 && !anon {
            return Err(einval("length 0 of a file"));
        }
        // The file position's page offset is carried into the address.
        let pageoff = pos & PAGE_MASK;
        let pos = pos - pageoff;
        if size > u64::MAX - PAGE_SIZE + 1 - pageoff {
            return Err(enomem("length overflows when rounded to pages"));
        }
        let size = round_page(size + pageoff);
        let fixed = flags & MAP_FIXED != 0;
        let orig_addr = addr;
        let mut addr = addr;
        // VM_DEFAULT_ADDRESS_TOPDOWN: just below the stack area.
        let default_addr = l.mmap_base.saturating_sub(size) & !PAGE_MASK;
        let mut defaddr = 0;
        let mut addrhint = false;
        if fixed {
            addr = addr.wrapping_sub(pageoff);
            if addr & PAGE_MASK != 0 {
                return Err(einval("fixed address and offset disagree in the page"));
            }
            range_test(&l, addr, size, true)?;
        } else if addr == 0 || flags & MAP_TRYFIXED == 0 {
            defaddr = default_addr;
            addr = if addr == 0 {
                defaddr
            } else {
                addr.min(defaddr)
            };
            addrhint = addr != 0 && addr != defaddr;
        }
        // The descriptor (`fd_getfile`, `vn_mmap`) or anonymous memory.
        let (object, maxprot, file_pgoff) = if !anon {
            let obj = self
                .fd_object(pid, fd)
                .ok_or(ebadf("not an open file descriptor"))?;
            let access = self.fd_access(pid, fd).unwrap_or_default();
            if (pos as i64) < 0 {
                return Err(einval("negative file offset"));
            }
            if pos.checked_add(size).is_none_or(|e| e > i64::MAX as u64) {
                return Err(eoverflow("offset + length overflows"));
            }
            // vn_mmap: EXEC always; READ with a readable descriptor; WRITE
            // for a private mapping, or a shared one on a writable
            // descriptor.
            let mut maxprot = PROT_EXEC;
            if access.readable() {
                maxprot |= 1;
            } else if prot & 1 != 0 {
                return Err(eacces("PROT_READ on a descriptor not open for reading"));
            }
            if flags & MAP_SHARED != 0 {
                if access.writable() {
                    maxprot |= PROT_WRITE;
                } else if prot & PROT_WRITE != 0 {
                    return Err(eacces("shared PROT_WRITE on a read-only descriptor"));
                }
            } else {
                maxprot |= PROT_WRITE;
            }
            (Some(obj), maxprot, pos >> PAGE_SHIFT)
        } else {
            if fd != -1 {
                return Err(einval("MAP_ANON with a descriptor"));
            }
            (None, VM_PROT_ALL, 0)
        };
        // PaX MPROTECT (`pax_mprotect_maxprotect`, `_validate`).
        let want = prot | extraprot;
        if want & maxprot != want {
            return Err(eacces("more than the descriptor allows"));
        }
        let maxprot = want & maxprot;
        pax_mprotect_validate(prot)?;
        // `pax_aslr_mmap`: a non-fixed mapping that had no hint, or maps a
        // file, is moved by the per-process delta: outside the arena here,
        // where the default address lies.
        if !fixed && (orig_addr == 0 || !anon) {
            addr = default_addr;
            addrhint = false;
        }
        // uvm_mmap.
        if size == 0 {
            return Ok(addr.wrapping_add(pageoff));
        }
        let align_shift = (flags & MAP_ALIGNMENT_MASK) >> MAP_ALIGNMENT_SHIFT;
        let mut align = 0;
        if align_shift != 0 {
            if align_shift >= 64 {
                return Err(einval("alignment wider than an address"));
            }
            align = 1u64 << align_shift;
            if align < PAGE_SIZE {
                return Err(einval("alignment below a page"));
            }
            if align >= l.task_size {
                return Err(enomem("alignment beyond the map"));
            }
            if fixed {
                if addr & (align - 1) != 0 {
                    return Err(einval("fixed address not aligned as asked"));
                }
                align = 0;
            }
        }
        let start = if fixed {
            self.unmap_range(pid, addr, addr + size);
            addr
        } else {
            let hint = round_page(addr);
            match self.nb_findspace(pid, hint, size, align) {
                Some(a) => a,
                None if addrhint => self
                    .nb_findspace(pid, defaddr, size, align)
                    .ok_or(enomem("no free range large enough"))?,
                None => return Err(enomem("no free range large enough")),
            }
        };
        let shared = flags & MAP_SHARED != 0;
        let mut vm = max_flags(maxprot);
        if shared {
            vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
        }
        let p = Prot::from_raw(prot);
        // Shared anonymous memory next to shared anonymous memory nobody
        // else holds: one amap grows (vm/uvm_merge.rs).
        let (object, pgoff) = match object {
            Some(o) => (Some(o), file_pgoff),
            None if shared => match self.uvm_extend_shared_anon(pid, start, size, p, vm) {
                Some((o, off)) => (Some(o), off),
                None => (None, 0),
            },
            None => (None, start >> PAGE_SHIFT),
        };
        self.map_region(
            pid,
            NewMapping {
                start,
                len: size,
                prot: p,
                flags: vm,
                object,
                pgoff,
                replace: false,
                populate: false,
            },
        );
        // POSIX 1003.1b: MAP_WIRED, or mlockall(MCL_FUTURE), wires the new
        // mapping, unless it is PROT_NONE; past RLIMIT_MEMLOCK it is
        // unmapped again.
        if prot != 0 && (flags & MAP_WIRED != 0 || self.nb_wirefuture(pid)) {
            let limit = self.memlock_limit(pid).unwrap_or(u64::MAX);
            if self.past_wiredmax(size) || size.saturating_add(self.wired_bytes(pid)) > limit {
                self.unmap_range(pid, start, start + size);
                return Err(enomem("more than RLIMIT_MEMLOCK would be wired"));
            }
            if let Err(e) = self.nb_wire(pid, start, start + size) {
                self.unmap_range(pid, start, start + size);
                return Err(e);
            }
        }
        Ok(start + pageoff)
    }

    /// `uvm_map_findspace` with an alignment: the placement of
    /// [`crate::personality::Placement::UvmTopDown`], asked for enough room
    /// to align the start down inside it.
    pub(super) fn nb_findspace(
        &mut self,
        pid: Pid,
        hint: u64,
        size: u64,
        align: u64,
    ) -> Option<u64> {
        if align <= PAGE_SIZE {
            return self.unmapped_area(pid, hint, size);
        }
        // uvm_map_align_va: a top-down map rounds the hint *down* to the
        // alignment before looking (a bottom-up one would round it up).
        let hint = hint & !(align - 1);
        let l = self.layout();
        if hint >= l.mmap_min_addr
            && hint.checked_add(size).is_some_and(|e| e <= l.task_size)
            && self.procs[&pid].map.is_free(hint, hint + size)
        {
            return Some(hint);
        }
        let room = size.checked_add(align - PAGE_SIZE)?;
        let a = self.unmapped_area(pid, hint, room)?;
        Some((a + room - size) & !(align - 1))
    }

    /// `sys_munmap`: `round_and_check` (EINVAL), LEN 0 is success, holes
    /// are fine, wired memory is unwired first (`uvm_unmap_remove`).
    pub(crate) fn netbsd_munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<()> {
        let (addr, size) = round_and_check(self.layout(), addr, len)
            .ok_or(einval("range outside the user address space"))?;
        if size == 0 {
            return Ok(());
        }
        self.unmap_range(pid, addr, addr + size);
        Ok(())
    }
}
