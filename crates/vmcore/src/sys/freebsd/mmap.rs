//! mmap(2): FreeBSD `kern_mmap` -> `vm_mmap_object` -> `vm_map_find` /
//! `vm_map_fixed` (`sys/vm/vm_mmap.c`, `sys/vm/vm_map.c`), with the
//! descriptor's say from `vn_mmap` (files) and `shm_mmap` (shm objects).

use super::may_flags;
use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE, Pfn, VirtAddr};
use crate::errno::{SysResult, eacces, ebadf, einval, enomem, enotsup};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::freebsd::STACK_SIZE;
use crate::personality::freebsd::abi::*;
use crate::vm::mapops::NewMapping;
use crate::vm::object::ObjKind;

/// `PROT_ALL`.
const PROT_ALL: u64 = PROT_READ | PROT_WRITE | PROT_EXEC;
/// `MAP_32BIT_MAX_ADDR`: a MAP_32BIT mapping ends at or below 2 GiB.
const MAP_32BIT_MAX_ADDR: u64 = 1 << 31;
/// The flags `kern_mmap` knows; any other bit is EINVAL.
const KNOWN_FLAGS: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_HASSEMAPHORE
    | MAP_STACK
    | MAP_NOSYNC
    | MAP_ANON
    | MAP_EXCL
    | MAP_NOCORE
    | MAP_PREFAULT_READ
    | MAP_GUARD
    | MAP_32BIT
    | MAP_ALIGNMENT_MASK;
/// What may accompany MAP_GUARD.
const GUARD_FLAGS: u64 = MAP_FIXED | MAP_GUARD | MAP_EXCL | MAP_32BIT | MAP_ALIGNMENT_MASK;

/// What kind of entry `vm_mmap_object` makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// MAP_GUARD: no object, no access (`MAP_CREATE_GUARD`).
    Guard,
    /// MAP_STACK: a stack that grows down into its gap.
    Stack,
    Anon,
    File(u32),
}

impl Machine {
    /// FreeBSD's `kern_mmap`. `prot` and `flags` are C ints: only their
    /// low 32 bits reach the kernel.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::sys) fn freebsd_mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        off: u64,
    ) -> SysResult<u64> {
        let (prot, mut flags) = (prot & 0xffff_ffff, flags & 0xffff_ffff);
        // 1-2. PROT and PROT_MAX (kern_mmap_maxprot with
        // vm.imply_prot_max=0: no PROT_MAX means all).
        if prot & !(PROT_ALL | PROT_ALL << PROT_MAX_SHIFT) != 0 {
            return Err(einval("unknown PROT bits"));
        }
        let max_user = (prot >> PROT_MAX_SHIFT) & PROT_ALL;
        let prot = prot & PROT_ALL;
        if max_user != 0 && prot & !max_user != 0 {
            return Err(enotsup("protection beyond its own PROT_MAX"));
        }
        let max_user = if max_user == 0 { PROT_ALL } else { max_user };
        // 3. Two reserved bits are ignored, for old binaries.
        flags &= !(MAP_RESERVED0020 | MAP_RESERVED0040);
        // 4. (osrel >= P_OSREL_MAP_ANON)
        if len == 0 {
            return Err(einval("length is zero"));
        }
        let mut off = off;
        if flags & MAP_ANON != 0 && (fd != -1 || off != 0) {
            return Err(einval("MAP_ANON with a descriptor or an offset"));
        }
        // 5. A stack is anonymous read-write memory.
        if flags & MAP_STACK != 0 {
            if fd != -1 || prot & (PROT_READ | PROT_WRITE) != PROT_READ | PROT_WRITE {
                return Err(einval("MAP_STACK needs fd -1 and PROT_READ|PROT_WRITE"));
            }
            flags |= MAP_ANON;
            off = 0;
        }
        // 6-8.
        if flags & !KNOWN_FLAGS != 0 {
            return Err(einval("unknown MAP flags"));
        }
        if flags & MAP_EXCL != 0 && flags & MAP_FIXED == 0 {
            return Err(einval("MAP_EXCL without MAP_FIXED"));
        }
        if flags & (MAP_SHARED | MAP_PRIVATE) == MAP_SHARED | MAP_PRIVATE {
            return Err(einval("MAP_SHARED and MAP_PRIVATE together"));
        }
        // 10.
        if flags & MAP_GUARD != 0
            && (prot != PROT_NONE || fd != -1 || off != 0 || flags & !GUARD_FLAGS != 0)
        {
            return Err(einval(
                "MAP_GUARD takes PROT_NONE, fd -1, offset 0 and only FIXED, EXCL, 32BIT, ALIGNED",
            ));
        }
        // 11. The size covers the offset's part page; a wrap is ENOMEM.
        let pageoff = off & (PAGE_SIZE - 1);
        off -= pageoff;
        let size = len
            .checked_add(pageoff)
            .and_then(|s| s.checked_add(PAGE_SIZE - 1))
            .map(|s| s & !(PAGE_SIZE - 1))
            .ok_or(enomem("length wraps when rounded to pages"))?;
        // 12. MAP_ALIGNED(n): 2^n bytes, at least a page, below 2^64.
        let align_field = flags & MAP_ALIGNMENT_MASK;
        let shift = align_field >> MAP_ALIGNMENT_SHIFT;
        if align_field != 0 && align_field != MAP_ALIGNED_SUPER && !(12..64).contains(&shift) {
            return Err(einval("MAP_ALIGNED below a page or beyond 2^63"));
        }
        // 13. A fixed range: aligned like the offset, inside the user map.
        let fixed = flags & MAP_FIXED != 0;
        let mut addr = addr;
        if fixed {
            addr = addr.wrapping_sub(pageoff);
            if addr & (PAGE_SIZE - 1) != 0 {
                return Err(einval("fixed address not aligned like the offset"));
            }
            let end = addr.checked_add(size).ok_or(einval("range wraps around"))?;
            if !self.freebsd_range_valid(addr, end) {
                return Err(einval("fixed range outside the user map"));
            }
            if flags & MAP_32BIT != 0 && end > MAP_32BIT_MAX_ADDR {
                return Err(einval("MAP_32BIT range ends above 2 GiB"));
            }
        }
        // 15. The object and the descriptor's say on the maximum protection.
        let kind = if flags & MAP_GUARD != 0 {
            Kind::Guard
        } else if flags & MAP_STACK != 0 {
            Kind::Stack
        } else if flags & MAP_ANON != 0 {
            Kind::Anon
        } else {
            Kind::File(
                self.fd_object(pid, fd)
                    .ok_or(ebadf("not an open file descriptor"))?,
            )
        };
        let shared = flags & MAP_SHARED != 0;
        let mut maxprot = max_user;
        if let Kind::File(obj) = kind {
            if flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
                return Err(einval("a file mapping needs MAP_SHARED or MAP_PRIVATE"));
            }
            maxprot &= self.freebsd_fd_maxprot(pid, fd, obj, prot, shared)?;
            // vn_mmap: the offset and size must stay below OFF_MAX.
            if (off as i64) < 0 || off > i64::MAX as u64 - size {
                return Err(einval("offset + length beyond the largest file offset"));
            }
        }
        if kind == Kind::Guard {
            maxprot = PROT_NONE;
        }
        // vm_mmap_object: under mlockall(MCL_FUTURE) the new range is to
        // be wired, so it must fit under RLIMIT_MEMLOCK with what is
        // wired already.
        if self.procs[&pid].def_flags.contains(VmFlags::LOCKED)
            && let Some(limit) = self.memlock_limit(pid)
            && self.freebsd_wired_bytes(pid).saturating_add(size) > limit
        {
            return Err(enomem("MCL_FUTURE mapping beyond RLIMIT_MEMLOCK"));
        }
        // 14 and vm_mmap_object: where it goes.
        let start = if fixed {
            if flags & MAP_EXCL != 0 && !self.procs[&pid].map.is_free(addr, addr + size) {
                return Err(enomem("MAP_EXCL range is in use"));
            }
            addr
        } else {
            let mut hint = addr;
            if flags & MAP_32BIT != 0 && hint.saturating_add(size) > MAP_32BIT_MAX_ADDR {
                hint = 0;
            }
            let l = *self.layout();
            // kern_mmap: a file mapping without a hint, or hinted into the
            // heap's reach, goes above the largest heap.
            if matches!(kind, Kind::File(_))
                && (hint == 0 || (hint >= l.brk_start && hint < l.mmap_base))
            {
                hint = l.mmap_base;
            }
            let align = if align_field == MAP_ALIGNED_SUPER
                || (align_field == 0 && matches!(kind, Kind::File(_)))
            {
                // VMFS_SUPER_SPACE, and VMFS_OPTIMAL_SPACE for objects:
                // superpage alignment for ranges of a superpage or more.
                if size >= HUGE_PAGE_SIZE {
                    HUGE_PAGE_SIZE
                } else {
                    PAGE_SIZE
                }
            } else if align_field != 0 {
                1 << shift
            } else {
                PAGE_SIZE
            };
            let cluster = kind == Kind::Anon && !shared && prot != PROT_NONE;
            let max_addr = (flags & MAP_32BIT != 0).then_some(MAP_32BIT_MAX_ADDR);
            self.find_space_first_fit(pid, hint, size, align, max_addr, cluster)
                .ok_or(enomem("no free range large enough"))?
        };
        self.freebsd_map(pid, start, size, prot, maxprot, flags, kind, off)?;
        Ok(start + pageoff)
    }

    /// `vn_mmap` / `shm_mmap`: the most the descriptor allows. Execute
    /// always (no noexec mounts here); read if it was opened for reading,
    /// else asking for PROT_READ is EACCES; write for a private mapping,
    /// and for a shared one only if it was opened for writing, else
    /// asking for PROT_WRITE is EACCES.
    fn freebsd_fd_maxprot(
        &self,
        pid: Pid,
        fd: i64,
        obj: u32,
        prot: u64,
        shared: bool,
    ) -> SysResult<u64> {
        let access = self.fd_access(pid, fd).unwrap_or_default();
        let shm = matches!(
            self.objects.get(obj).map(|o| &o.kind),
            Some(ObjKind::Memfd(_) | ObjKind::Shmem)
        );
        let mut max = PROT_EXEC;
        if access.readable() {
            max |= PROT_READ;
        } else if prot & PROT_READ != 0 || shm {
            // shm_mmap refuses a descriptor not open for reading at all.
            return Err(eacces("mapping readable a descriptor not open for reading"));
        }
        if !shared || access.writable() {
            max |= PROT_WRITE;
        } else if prot & PROT_WRITE != 0 {
            return Err(eacces(
                "shared writable mapping of a descriptor not open for writing",
            ));
        }
        Ok(max)
    }

    /// `vm_mmap_object` once the place is known: a fixed range is cleared
    /// first (`vm_map_fixed`), then the entry is inserted (and merged, by
    /// FreeBSD's rule), and wired when mlockall(MCL_FUTURE) is in effect
    /// (`MAP_WIREFUTURE`; a failure to wire is ignored).
    #[allow(clippy::too_many_arguments)]
    fn freebsd_map(
        &mut self,
        pid: Pid,
        start: u64,
        size: u64,
        prot: u64,
        maxprot: u64,
        flags: u64,
        kind: Kind,
        off: u64,
    ) -> SysResult<()> {
        let p = Prot::from_raw(prot);
        let mut vm = may_flags(Prot::from_raw(maxprot));
        if flags & MAP_NOSYNC != 0 {
            vm |= VmFlags::NOSYNC;
        }
        if flags & MAP_NOCORE != 0 {
            vm |= VmFlags::DONTDUMP;
        }
        if flags & MAP_SHARED != 0 && kind != Kind::Guard {
            vm |= VmFlags::SHARED | VmFlags::MAYSHARE;
        }
        let wirefuture = self.procs[&pid].def_flags.contains(VmFlags::LOCKED) && !p.is_empty();
        if wirefuture && kind != Kind::Guard {
            vm |= VmFlags::LOCKED;
        }
        let (object, pgoff) = match kind {
            Kind::File(o) => (Some(o), off >> PAGE_SHIFT),
            // Shared anonymous memory gets an object of its own, from 0.
            _ if vm.contains(VmFlags::SHARED) => (None, 0),
            _ => (None, start >> PAGE_SHIFT),
        };
        match kind {
            Kind::Guard => vm |= VmFlags::GUARD,
            Kind::Stack => {
                // vm_map_stack_locked: the stack's first `sgrowsiz` at the
                // top, the rest a gap it grows into, keeping one guard page.
                let guard = self.layout().stack_guard_gap;
                if size <= guard {
                    return Err(einval("stack no larger than its guard page"));
                }
                let init = STACK_SIZE.min(size - guard);
                let gap_end = start + size - init;
                self.map_region(
                    pid,
                    NewMapping {
                        start,
                        len: gap_end - start,
                        prot: Prot::empty(),
                        flags: VmFlags::STACK_GAP,
                        object: None,
                        // The gap keeps the protection the stack grows
                        // with in its offset, as `prot | PROT_MAX(max)`.
                        pgoff: prot | maxprot << PROT_MAX_SHIFT,
                        replace: true,
                        populate: false,
                    },
                );
                self.map_region(
                    pid,
                    NewMapping {
                        start: gap_end,
                        len: init,
                        prot: p,
                        flags: vm | VmFlags::GROWSDOWN,
                        object: None,
                        pgoff: gap_end >> PAGE_SHIFT,
                        replace: true,
                        populate: vm.contains(VmFlags::LOCKED),
                    },
                );
                return Ok(());
            }
            _ => {}
        }
        self.map_region(
            pid,
            NewMapping {
                start,
                len: size,
                prot: p,
                flags: vm,
                object,
                pgoff,
                replace: true,
                populate: vm.contains(VmFlags::LOCKED),
            },
        );
        if let (Kind::File(obj), false) = (kind, vm.contains(VmFlags::LOCKED)) {
            let all = flags & MAP_PREFAULT_READ != 0;
            self.freebsd_prefault(pid, start, size, p, obj, pgoff, all);
        }
        Ok(())
    }

    /// `vm_map_pmap_enter` from `vm_map_insert1` (and from
    /// `vm_map_madvise` for MADV_WILLNEED): a mapping of an object that is
    /// readable or executable gets the object's resident pages entered,
    /// read-only and with the accessed and modified bits clear
    /// (`pmap_enter_object` -> `pmap_enter_quick`, which leaves a page
    /// already mapped alone), so `mincore` shows them (0x01) before any
    /// access. MAP_PREFAULT_PARTIAL (`all` false) stops at the first
    /// resident page `MAX_INIT_PT` (96) pages or more into the range; the
    /// range is clipped to the object's size.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn freebsd_prefault(
        &mut self,
        pid: Pid,
        start: u64,
        size: u64,
        prot: Prot,
        obj: u32,
        pindex: u64,
        all: bool,
    ) {
        const MAX_INIT_PT: u64 = 96;
        if !prot.readable() && !prot.executable() {
            return;
        }
        let Some(o) = self.objects.get(obj) else {
            return;
        };
        let obj_pages = o.size.div_ceil(PAGE_SIZE);
        if pindex >= obj_pages {
            return;
        }
        let mut psize = (size >> PAGE_SHIFT).min(obj_pages - pindex);
        if !all {
            psize = psize.min(MAX_INIT_PT);
        }
        let pages: Vec<(u64, Pfn)> = o
            .pages
            .range(pindex..pindex + psize)
            .map(|(&i, &pfn)| (i, pfn))
            .collect();
        for (i, pfn) in pages {
            let va = start + ((i - pindex) << PAGE_SHIFT);
            let pmap = &self.procs[&pid].pmap;
            if pmap.lookup(&self.phys, VirtAddr(va)).is_some()
                || pmap.swap_entry(&self.phys, VirtAddr(va)).is_some()
            {
                continue;
            }
            // Without a frame for a page table the page simply stays
            // unmapped until it is touched.
            let _ = self.pmap_enter(pid, va, pfn, false, prot.executable());
        }
    }
}
