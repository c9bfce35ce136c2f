//! mmap(2): Linux `ksys_mmap_pgoff` -> `do_mmap` -> `get_unmapped_area` ->
//! `mmap_region`, checks in the kernel's order.

use super::{page_align, unaligned};
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, ebadf, eexist, einval, enomem, eoverflow};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::Sys;
use crate::personality::linux::abi::*;
use crate::vm::map::Entry;
use crate::vm::object::{ObjKind, Object};

/// `sysctl vm.max_map_count`.
pub const MAX_MAP_COUNT: usize = 65_530;

/// Flags `MAP_SHARED_VALIDATE` accepts (`LEGACY_MAP_MASK` plus MAP_SYNC,
/// which needs DAX and so fails later on a plain file).
const LEGACY_MAP_MASK: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | 0xfc00_0000; // MAP_HUGE_MASK << MAP_HUGE_SHIFT

impl Machine {
    /// mmap(2). `fd` is ignored with MAP_ANONYMOUS. (Six arguments, as the
    /// system call has, plus the calling process.)
    #[allow(clippy::too_many_arguments)]
    pub fn mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        off: u64,
    ) -> SysResult<u64> {
        self.syscall(
            pid,
            Sys::Mmap,
            &[addr, len, prot, flags, fd as u64, off],
            |m| m.do_mmap(pid, addr, len, prot, flags, fd, off),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn do_mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        off: u64,
    ) -> SysResult<u64> {
        // arch sys_mmap: the offset must be page aligned.
        if unaligned(off) {
            return Err(einval("offset is not a multiple of the page size"));
        }
        let anon = flags & MAP_ANONYMOUS != 0;
        // ksys_mmap_pgoff: the descriptor is looked up before anything else.
        let object = if anon {
            None
        } else {
            let o = self
                .fd_object(pid, fd)
                .ok_or(ebadf("not an open file descriptor"))?;
            if flags & MAP_HUGETLB != 0 {
                return Err(einval("MAP_HUGETLB needs a hugetlbfs file"));
            }
            Some(o)
        };
        if anon && flags & MAP_HUGETLB != 0 {
            // No huge pages are reserved in the hugetlb pool.
            return Err(enomem("no hugetlb pages reserved"));
        }
        // do_mmap.
        if len == 0 {
            return Err(einval("length is zero"));
        }
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        let layout = *self.layout();
        let mut hint = addr;
        if !fixed && hint != 0 && hint < layout.mmap_min_addr {
            hint = layout.mmap_min_addr; // round_hint_to_min
        }
        let len = page_align(len)
            .filter(|&l| l != 0)
            .ok_or(enomem("length overflows when rounded to pages"))?;
        let pgoff = off >> PAGE_SHIFT;
        if pgoff.checked_add(len >> PAGE_SHIFT).is_none() {
            return Err(eoverflow("offset + length overflows"));
        }
        if self.procs[&pid].map.entries.len() > MAX_MAP_COUNT {
            return Err(enomem("too many mappings (vm.max_map_count)"));
        }
        // get_unmapped_area.
        if len > layout.task_size - layout.mmap_min_addr {
            return Err(enomem("length larger than the address space"));
        }
        let start = if fixed {
            if addr > layout.task_size - len {
                return Err(enomem("fixed range ends beyond the user address space"));
            }
            if unaligned(addr) {
                return Err(einval("fixed address is not page aligned"));
            }
            // Below vm.mmap_min_addr only CAP_SYS_RAWIO may map; the
            // scenarios run as root, so it is allowed (`cap_mmap_addr`).
            addr
        } else {
            self.unmapped_area(pid, hint, len)
                .ok_or(enomem("no free range large enough"))?
        };
        if flags & MAP_FIXED_NOREPLACE != 0 && !self.procs[&pid].map.is_free(start, start + len) {
            return Err(eexist("MAP_FIXED_NOREPLACE range is in use"));
        }
        let p = Prot::from_raw(prot);
        let mut vm =
            VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC | self.procs[&pid].def_flags;
        if flags & MAP_GROWSDOWN != 0 {
            vm |= VmFlags::GROWSDOWN;
        }
        if flags & MAP_LOCKED != 0 {
            vm |= VmFlags::LOCKED;
        }
        let entry_pgoff;
        match object {
            Some(_) => {
                match flags & MAP_TYPE {
                    MAP_SHARED_VALIDATE if flags & !LEGACY_MAP_MASK != 0 => {
                        return Err(crate::errno::eopnotsupp(
                            "unknown flag with MAP_SHARED_VALIDATE",
                        ));
                    }
                    MAP_SHARED | MAP_SHARED_VALIDATE => vm |= VmFlags::SHARED | VmFlags::MAYSHARE,
                    MAP_PRIVATE => {}
                    _ => return Err(einval("mapping type must be MAP_SHARED or MAP_PRIVATE")),
                }
                if vm.contains(VmFlags::GROWSDOWN) {
                    return Err(einval("MAP_GROWSDOWN on a file"));
                }
                entry_pgoff = pgoff;
            }
            None => match flags & MAP_TYPE {
                MAP_SHARED => {
                    if vm.contains(VmFlags::GROWSDOWN) {
                        return Err(einval("MAP_GROWSDOWN on shared memory"));
                    }
                    vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
                    entry_pgoff = 0;
                }
                MAP_PRIVATE => entry_pgoff = start >> PAGE_SHIFT,
                _ => return Err(einval("mapping type must be MAP_SHARED or MAP_PRIVATE")),
            },
        }
        if flags & MAP_NORESERVE != 0 {
            vm |= VmFlags::NORESERVE;
        }
        // accountable_mapping: private writable memory is charged.
        if p.writable() && !vm.intersects(VmFlags::SHARED | VmFlags::NORESERVE) {
            vm |= VmFlags::ACCOUNT;
        }
        // Heuristic overcommit (`__vm_enough_memory`, OVERCOMMIT_GUESS): one
        // accounted mapping may not exceed RAM + swap. shmem is accounted
        // when it is created, unless MAP_NORESERVE.
        let accounted = vm.contains(VmFlags::ACCOUNT)
            || (object.is_none()
                && vm.contains(VmFlags::SHARED)
                && !vm.contains(VmFlags::NORESERVE));
        if accounted && len / PAGE_SIZE > self.phys.total_frames() {
            return Err(enomem("more than RAM + swap (heuristic overcommit)"));
        }
        // mmap_region: a fixed mapping replaces whatever was there (a
        // placed one landed in a hole).
        if fixed {
            self.unmap_range(pid, start, start + len);
        }
        let object = match object {
            Some(o) => Some(o),
            None if vm.contains(VmFlags::SHARED) => {
                // shmem_zero_setup: a hidden shmem file of the mapping's size.
                Some(self.objects.insert(Object::new(ObjKind::Shmem, len)))
            }
            None => None,
        };
        let e = Entry {
            start,
            end: start + len,
            prot: p,
            flags: vm,
            object,
            pgoff: entry_pgoff,
            aref: None,
            needs_copy: false,
            anon_vma: None,
            anon_vma_forked: false,
        };
        self.insert_entry(pid, e);
        let populate = (flags & MAP_POPULATE != 0 && flags & MAP_NONBLOCK == 0)
            || (vm.contains(VmFlags::LOCKED) && !vm.contains(VmFlags::LOCKONFAULT));
        if populate {
            // mm_populate ignores errors: the mapping stands regardless.
            let _ = self.populate(pid, start, start + len);
        }
        Ok(start)
    }

    /// `get_unmapped_area` without MAP_FIXED: the hint if the range there
    /// is free, else the highest free range below `mmap_base`.
    pub(crate) fn unmapped_area(&mut self, pid: Pid, hint: u64, len: u64) -> Option<u64> {
        let l = *self.layout();
        let map = &mut self.proc_mut(pid).map;
        if hint != 0 {
            let h = page_align(hint)?;
            if l.task_size - len >= h && h >= l.mmap_min_addr && map.is_free(h, h + len) {
                let above_ok = map.entries.range(h + len..).next().is_none_or(|e| {
                    !e.flags.contains(VmFlags::GROWSDOWN)
                        || e.start - (h + len) >= l.stack_guard_gap
                });
                if above_ok {
                    return Some(h);
                }
            }
        }
        map.find_space_topdown(len, l.mmap_min_addr, l.mmap_base, l.stack_guard_gap)
    }

    /// Fault in every page of `[start, end)` as `__mm_populate` does: write
    /// faults for private writable entries (so pages are really
    /// allocated), read faults otherwise; lock-on-fault entries are left
    /// alone. The first failure is returned as `get_user_pages` reports it
    /// (EFAULT for PROT_NONE or a page past the end of a file, ENOMEM when
    /// memory runs out); callers that populate on a best-effort basis
    /// (MAP_POPULATE, mlockall) ignore it.
    pub(crate) fn populate(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        self.populate_range(pid, start, end, true)
    }

    /// [`Machine::populate`] as mlock does it (`__mm_populate` with
    /// `ignore_errors` 0): the first failure ends the walk, and the entries
    /// after it are left alone. With `ignore_errors` a failure only ends
    /// its own entry and the walk goes on at the next.
    pub(crate) fn populate_range(
        &mut self,
        pid: Pid,
        start: u64,
        end: u64,
        ignore_errors: bool,
    ) -> SysResult<()> {
        use crate::arch::x86_64::mmu::Access;
        let mut va = start;
        let mut first_err = None;
        while va < end {
            let Some(e) = self.procs[&pid].map.find_vma(va) else {
                break;
            };
            if e.start >= end {
                break;
            }
            let (lo, hi, prot, flags) = (va.max(e.start), e.end.min(end), e.prot, e.flags);
            va = hi;
            if flags.contains(VmFlags::LOCKONFAULT) {
                continue;
            }
            if !prot.readable() {
                first_err
                    .get_or_insert(crate::errno::efault("PROT_NONE memory cannot be populated"));
                if !ignore_errors {
                    break;
                }
                continue;
            }
            let access = if prot.writable() && !flags.contains(VmFlags::SHARED) {
                Access::Write
            } else {
                Access::Read
            };
            let mut a = lo;
            while a < hi {
                match self.access(pid, a, access) {
                    Ok(_) => {}
                    Err(crate::machine::AccessError::OutOfMemory) => {
                        first_err.get_or_insert(enomem("out of memory while populating"));
                        break;
                    }
                    Err(_) => {
                        first_err
                            .get_or_insert(crate::errno::efault("page past the end of the file"));
                        break;
                    }
                }
                a += PAGE_SIZE;
            }
            if first_err.is_some() && !ignore_errors {
                break;
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
