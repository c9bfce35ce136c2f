//! mmap(2): Linux `ksys_mmap_pgoff` -> `do_mmap` -> `get_unmapped_area` ->
//! `mmap_region`, checks in the kernel's order.

use super::{page_align, unaligned};
use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, eacces, ebadf, eexist, einval, enomem, eoverflow};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::linux::MAX_LFS_FILESIZE;
use crate::personality::linux::abi::*;
use crate::personality::{Kernel, Sys};
use crate::vm::hugetlb::{HSTATES, hstate_sizelog};
use crate::vm::mapops::NewMapping;
use crate::vm::object::ObjKind;
use crate::vm::place::Backing;

/// `MAX_ERRNO`: the last 4095 values of an address are error numbers.
const MAX_ERRNO: u64 = 4095;

/// Flags `MAP_SHARED_VALIDATE` accepts (`LEGACY_MAP_MASK`; a file system
/// that offers MAP_SYNC, as ext4 does, adds it).
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
    | MAP_HUGE_MASK << MAP_HUGE_SHIFT;

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
            |m| match m.kernel() {
                Kernel::Linux => m.do_mmap(pid, addr, len, prot, flags, fd, off),
                Kernel::FreeBsd => m.freebsd_mmap(pid, addr, len, prot, flags, fd, off),
                Kernel::NetBsd => m.netbsd_mmap(pid, addr, len, prot, flags, fd, off),
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn do_mmap(
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
        // ksys_mmap_pgoff: MAP_HUGETLB with MAP_ANONYMOUS maps an unlinked
        // hugetlbfs file (`hugetlb_file_setup`), its length rounded up to
        // the default huge page; do_mmap then treats it as a file.
        let hugetlb = anon && flags & MAP_HUGETLB != 0;
        // hstate_sizelog: bits 26..31 name the huge page size as a log2;
        // 0 is the default (2 MiB). The recording machine has 2 MiB and
        // 1 GiB hstates; any other size (MAP_UNINITIALIZED is bit 26, a
        // size of 2 bytes) is EINVAL (case mmap_hugetlb_sizes).
        let hpage = if hugetlb {
            hstate_sizelog((flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK)
                .ok_or(einval("no huge page of that size"))?
                .size
        } else {
            HUGE_PAGE_SIZE
        };
        let len = if hugetlb {
            len.wrapping_add(hpage - 1) & !(hpage - 1)
        } else {
            len
        };
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
        if self.map_count(pid) > self.cfg.max_map_count {
            return Err(enomem("too many mappings (vm.max_map_count)"));
        }
        // get_unmapped_area.
        if len > layout.task_size - layout.mmap_min_addr {
            return Err(enomem("length larger than the address space"));
        }
        let start = if fixed {
            // hugetlb_get_unmapped_area: a fixed hugetlb address must be
            // huge-page aligned (case mmap_hugetlb_anon), checked first.
            if hugetlb && addr & (hpage - 1) != 0 {
                return Err(einval("fixed hugetlb address is not huge-page aligned"));
            }
            // __get_unmapped_area takes the address the placement returns
            // for an error when it lies in the last 4095 bytes
            // (IS_ERR_VALUE), and MAP_FIXED returns it unchanged: a failed
            // mmap's result used as a fixed address fails with that very
            // errno (case mmap_fixed_err_value).
            if addr >= MAX_ERRNO.wrapping_neg()
                && let Some(e) = self
                    .personality()
                    .errno
                    .by_number(addr.wrapping_neg() as i32)
            {
                return Err(crate::errno::SysError::new(
                    e,
                    "the address reads as an error value",
                ));
            }
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
            let low32 = flags & MAP_32BIT != 0;
            let backing = if hugetlb {
                Backing::Hugetlb { size: hpage }
            } else if anon {
                if flags & MAP_SHARED == 0 {
                    Backing::PrivateAnon
                } else {
                    Backing::Plain
                }
            } else {
                self.file_backing(object, off)
            };
            self.linux_unmapped_area(pid, backing, hint, len, low32)
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
        // calc_vm_flag_bits: a stack is never backed by huge pages (Linux
        // 6.7+), so it merges only with other NOHUGEPAGE memory (case
        // mmap_stack_nohugepage).
        if flags & MAP_STACK != 0 {
            vm |= VmFlags::NOHUGEPAGE;
        }
        // file_mmap_ok: a file's mapping may not reach past
        // MAX_LFS_FILESIZE (regular files, memfd and hugetlbfs alike;
        // case mmap_offset_overflow).
        if (object.is_some() || hugetlb)
            && pgoff > (MAX_LFS_FILESIZE - len.min(MAX_LFS_FILESIZE)) >> PAGE_SHIFT
        {
            return Err(eoverflow("offset + length past the largest file position"));
        }
        if hugetlb {
            // do_mmap's switch for a file, then hugetlbfs_file_mmap.
            match flags & MAP_TYPE {
                MAP_SHARED_VALIDATE if flags & !LEGACY_MAP_MASK != 0 => {
                    return Err(crate::errno::eopnotsupp(
                        "unknown flag with MAP_SHARED_VALIDATE",
                    ));
                }
                MAP_SHARED | MAP_SHARED_VALIDATE | MAP_PRIVATE => {}
                _ => return Err(einval("mapping type must be MAP_SHARED or MAP_PRIVATE")),
            }
            if vm.contains(VmFlags::GROWSDOWN) {
                return Err(einval("MAP_GROWSDOWN on a file"));
            }
            // __mmap_region: the MAP_FIXED range is cleared first, which
            // may not cut another hugetlb mapping off its huge pages.
            if fixed {
                self.may_split_range(pid, start, start + len)?;
            }
            // From here on the errors come from hugetlbfs_file_mmap, called
            // by __mmap_region after a MAP_FIXED range was cleared: what
            // the range covered is gone (case mmap_hugetlb_fixed_unmaps).
            if fixed {
                self.unmap_range(pid, start, start + len);
            }
            if off & (hpage - 1) != 0 {
                return Err(einval("hugetlb offset is not huge-page aligned"));
            }
            return self.mmap_hugetlb(pid, start, len, p, vm, flags, pgoff, hpage);
        }
        let entry_pgoff;
        // calc_vm_flag_bits: MAP_SYNC becomes VM_SYNC whatever the mapping
        // type (it keeps the mapping from merging with one without it).
        // ext4 offers MAP_SYNC (FOP_MMAP_SYNC), so MAP_SHARED_VALIDATE lets
        // it through on a regular file; ext4_file_mmap then refuses VM_SYNC
        // without DAX, after __mmap_region cleared a MAP_FIXED range (case
        // mmap_sync_ext4). shmem neither offers nor checks it.
        if flags & MAP_SYNC != 0 {
            vm |= VmFlags::SYNC;
        }
        let access = self.fd_access(pid, fd).unwrap_or_default();
        let on_ext4 = object
            .is_some_and(|o| matches!(self.objects.get(o).expect("live").kind, ObjKind::File(_)));
        let mask = if on_ext4 {
            LEGACY_MAP_MASK | MAP_SYNC
        } else {
            LEGACY_MAP_MASK
        };
        match object {
            Some(_) => {
                match flags & MAP_TYPE {
                    MAP_SHARED_VALIDATE if flags & !mask != 0 => {
                        return Err(crate::errno::eopnotsupp(
                            "unknown flag with MAP_SHARED_VALIDATE",
                        ));
                    }
                    MAP_SHARED | MAP_SHARED_VALIDATE => {
                        // A shared writable mapping needs a descriptor open
                        // for writing; without FMODE_WRITE the mapping can
                        // never become writable (VM_MAYWRITE cleared).
                        if prot & PROT_WRITE != 0 && !access.writable() {
                            return Err(eacces(
                                "shared writable mapping of a read-only descriptor",
                            ));
                        }
                        vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
                        if !access.writable() {
                            vm -= VmFlags::MAYWRITE | VmFlags::SHARED;
                        }
                    }
                    MAP_PRIVATE => {}
                    _ => return Err(einval("mapping type must be MAP_SHARED or MAP_PRIVATE")),
                }
                // Every file mapping reads the file: FMODE_READ.
                if !access.readable() {
                    return Err(eacces("mapping of a descriptor not open for reading"));
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
                MAP_DROPPABLE => {
                    // do_mmap: droppable memory is never locked, never a
                    // stack, never hugetlb; it is not reserved, not copied
                    // on fork and not dumped (case mmap_droppable).
                    if flags & (MAP_LOCKED | MAP_HUGETLB) != 0 {
                        return Err(einval("MAP_DROPPABLE with MAP_LOCKED or MAP_HUGETLB"));
                    }
                    if vm.contains(VmFlags::GROWSDOWN) {
                        return Err(einval("MAP_DROPPABLE with MAP_GROWSDOWN"));
                    }
                    vm |= VmFlags::DROPPABLE
                        | VmFlags::NORESERVE
                        | VmFlags::WIPEONFORK
                        | VmFlags::DONTDUMP;
                    entry_pgoff = start >> PAGE_SHIFT;
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
        // __mmap_region: vms_gather_munmap_vmas splits what a MAP_FIXED
        // range cuts before anything else, and a hugetlb mapping may not
        // be cut off its huge pages (case hugetlb_split_rules).
        if fixed {
            self.may_split_range(pid, start, start + len)?;
        }
        if accounted && len / PAGE_SIZE > self.overcommit_limit() {
            if fixed {
                // __mmap_region: vms_gather_munmap_vmas has already split
                // the entries the range cuts. A refused charge for private
                // memory puts them back as they were, split
                // (vms_abort_munmap_vmas); shmem is charged only in
                // shmem_zero_setup, after the old pages were cleared, and
                // the old entries are gone (case mmap_fixed_enomem_leftovers).
                if object.is_none() && vm.contains(VmFlags::SHARED) {
                    self.unmap_range(pid, start, start + len);
                } else {
                    self.clip(pid, start);
                    self.clip(pid, start + len);
                }
            }
            return Err(enomem("more than RAM + swap (heuristic overcommit)"));
        }
        if on_ext4 && vm.contains(VmFlags::SYNC) {
            if fixed {
                self.unmap_range(pid, start, start + len);
            }
            return Err(crate::errno::eopnotsupp("MAP_SYNC needs DAX"));
        }
        let populate = (flags & MAP_POPULATE != 0 && flags & MAP_NONBLOCK == 0)
            || (vm.contains(VmFlags::LOCKED) && !vm.contains(VmFlags::LOCKONFAULT));
        self.map_region(
            pid,
            NewMapping {
                start,
                len,
                prot: p,
                flags: vm,
                object,
                pgoff: entry_pgoff,
                replace: fixed,
                populate,
            },
        );
        Ok(start)
    }

    /// The rest of `do_mmap` for MAP_HUGETLB|MAP_ANONYMOUS once the file
    /// checks passed: `hugetlbfs_file_mmap` makes the entry VM_HUGETLB |
    /// VM_DONTEXPAND and reserves its pages (`hugetlb_reserve_pages`),
    /// which the empty pool refuses unless MAP_NORESERVE asked for no
    /// reservation (vm/hugetlb.rs; cases mmap_hugetlb_anon,
    /// mmap_hugetlb_noreserve). `start` is free by now.
    #[allow(clippy::too_many_arguments)]
    fn mmap_hugetlb(
        &mut self,
        pid: Pid,
        start: u64,
        len: u64,
        prot: Prot,
        mut vm: VmFlags,
        flags: u64,
        pgoff: u64,
        hpage: u64,
    ) -> SysResult<u64> {
        let h = HSTATES
            .iter()
            .find(|h| h.size == hpage)
            .expect("hpage came from an hstate");
        // do_mmap: MAP_NORESERVE always gives a hugetlb file VM_NORESERVE,
        // whatever the overcommit policy.
        if flags & MAP_NORESERVE != 0 {
            vm |= VmFlags::NORESERVE;
        }
        if !vm.contains(VmFlags::NORESERVE) && !h.can_reserve(len / hpage) {
            return Err(enomem(
                "no huge pages to reserve (the hugetlb pool is empty)",
            ));
        }
        if flags & MAP_TYPE != MAP_PRIVATE {
            vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
        }
        // Populated as any mapping (MAP_POPULATE, or VM_LOCKED as do_mmap
        // saw it); the faults fail and mm_populate ignores them.
        let populate = (flags & MAP_POPULATE != 0 && flags & MAP_NONBLOCK == 0)
            || (vm.contains(VmFlags::LOCKED) && !vm.contains(VmFlags::LOCKONFAULT));
        // __mmap_complete: a hugetlb mapping is never locked; no ACCOUNT
        // either (`accountable_mapping` leaves hugetlbfs out).
        vm -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
        vm |= VmFlags::HUGETLB | VmFlags::DONTEXPAND;
        // hugetlb_file_setup: an unlinked file of the rounded length.
        let object = self
            .objects
            .insert(crate::vm::object::Object::new(ObjKind::Hugetlb(hpage), len));
        self.map_region(
            pid,
            NewMapping {
                start,
                len,
                prot,
                flags: vm,
                object: Some(object),
                pgoff,
                replace: false,
                populate,
            },
        );
        Ok(start)
    }
}
