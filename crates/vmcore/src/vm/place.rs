//! Where a mapping without MAP_FIXED lands: `get_unmapped_area`, by the
//! personality's placement rule ([`crate::personality::Placement`]).

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE, align_down, align_up};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::Placement;
use crate::vm::map::Entry;
use crate::vm::object::{ObjId, ObjKind};

/// What Linux's `__get_unmapped_area` dispatches on: the backing of the
/// mapping being placed, as mmap(2) and an mremap(2) move both describe
/// it (mremap passes the entry's `vm_file`, its page offset and
/// MAP_SHARED for a `VM_MAYSHARE` entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backing {
    /// No file, not shared: the anonymous THP rule may apply.
    PrivateAnon,
    /// shmem or memfd (`shmem_get_unmapped_area`, plain with shmem THP
    /// `never`), or anything else placed the plain way.
    Plain,
    /// An ext4 file (`thp_get_unmapped_area`); `off` is the byte offset of
    /// the mapping's first page in the file.
    Ext4 { off: u64 },
    /// hugetlbfs (`hugetlb_get_unmapped_area`), by huge pages of `size`.
    Hugetlb { size: u64 },
}

impl Machine {
    /// Linux's `__get_unmapped_area` without MAP_FIXED: the file system's
    /// own placement, or for private anonymous memory without a hint and a
    /// multiple of 2 MiB long the THP-aligned one
    /// (`thp_get_unmapped_area_vmflags`; case placement_thp_aligned_anon),
    /// or the plain one. A padded search that fails falls back to the
    /// plain one. mmap(2) and an mremap(2) move both come here (case
    /// mremap_move_thp_aligned).
    pub(crate) fn linux_unmapped_area(
        &mut self,
        pid: Pid,
        backing: Backing,
        hint: u64,
        len: u64,
        low32: bool,
    ) -> Option<u64> {
        let padded = match backing {
            Backing::PrivateAnon if hint == 0 && len.is_multiple_of(HUGE_PAGE_SIZE) => {
                self.thp_unmapped_area(pid, 0, len, 0, low32)
            }
            Backing::Ext4 { off } => self.thp_unmapped_area(pid, hint, len, off, low32),
            Backing::Hugetlb { size } => {
                return self.unmapped_area_aligned(pid, hint, len, low32, size);
            }
            Backing::PrivateAnon | Backing::Plain => None,
        };
        padded.or_else(|| self.unmapped_area_flags(pid, hint, len, low32))
    }

    /// The [`Backing`] of a mapping of `object` from byte `off`: ext4 for
    /// a file, the plain placement for shmem and memfd.
    pub(crate) fn file_backing(&self, object: Option<ObjId>, off: u64) -> Backing {
        match object.and_then(|o| self.objects.get(o)).map(|o| &o.kind) {
            Some(ObjKind::File(_)) => Backing::Ext4 { off },
            Some(ObjKind::Hugetlb(size)) => Backing::Hugetlb { size: *size },
            _ => Backing::Plain,
        }
    }

    /// The [`Backing`] an mremap(2) move of `e` from `addr` is placed by
    /// (`vrm_set_new_addr`: the entry's file, the page offset of `addr`
    /// in it, MAP_SHARED for a shared entry).
    pub(crate) fn entry_backing(&self, e: &Entry, addr: u64) -> Backing {
        if let Some(size) = self.hugetlb_page_size(e) {
            return Backing::Hugetlb { size };
        }
        match e.object {
            None if !e.is_shared() => Backing::PrivateAnon,
            None => Backing::Plain,
            Some(_) => self.file_backing(e.object, e.object_index(addr) << PAGE_SHIFT),
        }
    }

    /// `get_unmapped_area` without MAP_FIXED, by the personality's rule.
    pub(crate) fn unmapped_area(&mut self, pid: Pid, hint: u64, len: u64) -> Option<u64> {
        self.unmapped_area_flags(pid, hint, len, false)
    }

    /// `get_unmapped_area`; `low32` is MAP_32BIT, which x86 serves from
    /// the window `[1 GiB, 2 GiB)` bottom up (`arch_get_unmapped_area_topdown`
    /// goes to `bottomup`; `find_start_end`), the hint rounded UP there
    /// (`PAGE_ALIGN`) and honoured only inside the window (case
    /// `mmap_32bit_hint`).
    pub(crate) fn unmapped_area_flags(
        &mut self,
        pid: Pid,
        hint: u64,
        len: u64,
        low32: bool,
    ) -> Option<u64> {
        if low32 {
            const BEGIN: u64 = 0x4000_0000;
            const END: u64 = 0x8000_0000;
            let gap = self.layout().stack_guard_gap;
            let map = &self.proc_mut(pid).map;
            if len > END {
                return None;
            }
            if hint != 0 {
                let h = align_up(hint, PAGE_SIZE)?;
                if END - len >= h && map.is_free(h, h + len) {
                    return Some(h);
                }
            }
            return map.find_space_bottomup(len, BEGIN, END, gap);
        }
        match self.personality().map_policy.placement {
            Placement::TopDown => self.unmapped_area_topdown(pid, hint, len),
            Placement::UvmTopDown => self.uvm_findspace(pid, hint, len),
            Placement::FirstFitUp => {
                self.find_space_first_fit(pid, hint, len, PAGE_SIZE, None, false)
            }
        }
    }

    /// `__thp_get_unmapped_area` (Linux, mm/huge_memory.c): place `len`
    /// bytes of a mapping whose first byte is at offset `off` of its file
    /// (0 for anonymous memory) so that the file's 2 MiB blocks fall on
    /// 2 MiB boundaries of the address space, where a PMD can map them.
    /// `None` when the rule does not apply or its search fails: the caller
    /// then places the mapping the plain way.
    ///
    /// => only a range holding a whole 2 MiB-aligned block of the file
    ///    qualifies (`off_end - round_up(off, 2M) >= 2M`).
    /// => the search is for `len + 2 MiB`, the hint tried first; a hint
    ///    the padded range fits at is kept as it is (so a hint free for
    ///    `len` but not for the padding is not taken: the range comes from
    ///    the top-down search).
    /// => otherwise the start moves up by `(off - start) mod 2 MiB`, or
    ///    by a whole 2 MiB when that is 0 (top down, `MMF_TOPDOWN`).
    pub(crate) fn thp_unmapped_area(
        &mut self,
        pid: Pid,
        hint: u64,
        len: u64,
        off: u64,
        low32: bool,
    ) -> Option<u64> {
        const PMD: u64 = 2 << 20;
        let off_end = off.checked_add(len)?;
        let off_align = align_up(off, PMD)?;
        if off_end <= off_align || off_end - off_align < PMD {
            return None;
        }
        let len_pad = len.checked_add(PMD)?;
        off.checked_add(len_pad)?;
        let ret = self.unmapped_area_flags(pid, hint, len_pad, low32)?;
        // The hint as x86 takes it, rounded down to its page (an unaligned
        // hint the padded range fits at is kept: case
        // placement_thp_aligned_ext4).
        if hint != 0 && ret == align_down(hint, PAGE_SIZE) {
            return Some(ret);
        }
        let off_sub = off.wrapping_sub(ret) & (PMD - 1);
        self.forget_search_start(pid);
        Some(if off_sub == 0 {
            ret + PMD
        } else {
            ret + off_sub
        })
    }

    /// After a placement that moved the mapping up inside the range the
    /// search found (THP alignment, a huge page boundary): the search
    /// cached that range's start as where the next one begins, but the
    /// pages between it and the mapping belong to the hole below, which a
    /// search from there would cut short. Linux keeps no cached start
    /// (`vm_unmapped_area` walks the gaps from `high_limit` every time),
    /// so the next search starts at the top again, as a full search.
    fn forget_search_start(&mut self, pid: Pid) {
        self.proc_mut(pid).map.free_area_cache = 0;
    }

    /// `hugetlb_get_unmapped_area` (Linux): the hint rounded UP to the huge
    /// page size `align`, taken as x86's placement takes a hint (case
    /// hugetlb_placement); else the placement's search for a range
    /// aligned to `align` (`vm_unmapped_area` with `align_mask`): the
    /// highest gap of `len + align - PAGE_SIZE` bytes, the range at its
    /// top moved down to a boundary, or with MAP_32BIT the lowest one,
    /// moved up.
    pub(crate) fn unmapped_area_aligned(
        &mut self,
        pid: Pid,
        hint: u64,
        len: u64,
        low32: bool,
        align: u64,
    ) -> Option<u64> {
        const BEGIN: u64 = 0x4000_0000;
        const END: u64 = 0x8000_0000;
        let l = *self.layout();
        let map = &mut self.proc_mut(pid).map;
        let h = hint.wrapping_add(align - 1) & !(align - 1);
        if h != 0 {
            let fits = if low32 {
                len <= END && END - len >= h
            } else {
                l.task_size - len >= h && h >= l.mmap_min_addr
            };
            if fits && map.is_free(h, h + len) {
                let above_ok = low32
                    || map.entries.range(h + len..).next().is_none_or(|e| {
                        !e.flags.contains(VmFlags::GROWSDOWN)
                            || e.start - (h + len) >= l.stack_guard_gap
                    });
                if above_ok {
                    return Some(h);
                }
            }
        }
        let padded = len.checked_add(align - PAGE_SIZE)?;
        if low32 {
            if padded > END {
                return None;
            }
            let a = map.find_space_bottomup(padded, BEGIN, END, l.stack_guard_gap)?;
            return align_up(a, align);
        }
        let a = map.find_space_topdown(padded, l.mmap_min_addr, l.mmap_base, l.stack_guard_gap)?;
        self.forget_search_start(pid);
        Some(align_down(a + padded - len, align))
    }

    /// `uvm_map_findspace` on a top-down map (NetBSD): the hint, rounded
    /// up to its page, when `[hint, hint+len)` is free and inside the
    /// map; else the highest free range starting at or below the hint
    /// (so a busy hint in the arena may give a lower gap of the arena,
    /// case `nb_hint_topdown`). Without a hint the search starts at the
    /// default address, `mmap_base` (`VM_DEFAULT_ADDRESS_TOPDOWN`).
    fn uvm_findspace(&mut self, pid: Pid, hint: u64, len: u64) -> Option<u64> {
        let l = *self.layout();
        let map = &mut self.proc_mut(pid).map;
        if hint == 0 || hint >= l.mmap_base {
            return map.find_space_topdown(len, l.mmap_min_addr, l.mmap_base, 0);
        }
        let h = align_up(hint, PAGE_SIZE)?;
        if h >= l.mmap_min_addr
            && h.checked_add(len).is_some_and(|e| e <= l.task_size)
            && map.is_free(h, h + len)
        {
            return Some(h);
        }
        let top = h.checked_add(len)?.min(l.mmap_base);
        map.search_down_from(len, l.mmap_min_addr, top)
    }

    /// FreeBSD's `vm_map_find_min` with ASLR off: the first free range at
    /// or above the hint (rounded up to a page) that fits, at a multiple
    /// of `align`, ending at or below `max_addr` (MAP_32BIT's 2 GiB) if
    /// given. Without a hint the search starts at `default_addr`, the end
    /// of the largest heap (`daddr + maxdsiz`), or for private anonymous
    /// memory (`cluster`) at `anon_loc`, which then moves to the new end
    /// (`vm.cluster_anon`). A search above a hint that finds nothing is
    /// tried again from `default_addr`.
    pub(crate) fn find_space_first_fit(
        &mut self,
        pid: Pid,
        hint: u64,
        len: u64,
        align: u64,
        max_addr: Option<u64>,
        cluster: bool,
    ) -> Option<u64> {
        let l = *self.layout();
        let default_addr = l.mmap_base;
        let top = max_addr.unwrap_or(l.task_size).min(l.task_size);
        let map = &mut self.proc_mut(pid).map;
        let hint = align_up(hint, PAGE_SIZE)?;
        let from = if hint != 0 {
            hint.max(l.mmap_min_addr)
        } else if max_addr.is_some() {
            // MAP_32BIT without a usable hint: the 1 GiB above the initial
            // break is kept for the heap; search from there.
            align_up(l.brk_start + (1 << 30), PAGE_SIZE)?
        } else if cluster && map.anon_loc != 0 {
            map.anon_loc
        } else {
            default_addr
        };
        let found = map.find_space_upward(len, from, top, align).or_else(|| {
            (from > default_addr || (hint == 0 && from != default_addr))
                .then(|| map.find_space_upward(len, default_addr.min(from), top, align))
                .flatten()
        });
        if let Some(a) = found
            && cluster
            && hint == 0
        {
            map.anon_loc = a + len;
        }
        found
    }

    /// `arch_get_unmapped_area_topdown` (arch/x86/kernel/sys_x86_64.c):
    /// the hint, rounded DOWN to its page (`addr &= PAGE_MASK`, unlike the
    /// generic `PAGE_ALIGN`; case `placement_hint_unaligned`), if the
    /// range there is free (and keeps the guard gap below a stack), else
    /// the highest free range below `mmap_base`.
    fn unmapped_area_topdown(&mut self, pid: Pid, hint: u64, len: u64) -> Option<u64> {
        let l = *self.layout();
        let map = &mut self.proc_mut(pid).map;
        if hint != 0 {
            let h = align_down(hint, PAGE_SIZE);
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
}

#[cfg(test)]
mod tests {
    use crate::machine::{Machine, MachineConfig};
    use crate::personality::linux::abi::*;

    const MIB: u64 = 1 << 20;
    const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

    /// The entry holding `va`: (start, end).
    fn entry(m: &Machine, va: u64) -> (u64, u64) {
        let e = m.procs[&1].map.find(va).expect("mapped");
        (e.start, e.end)
    }

    /// A THP-aligned mapping moved up from where its padded search ended:
    /// the next plain mapping too large for the hole above it goes right
    /// below it, as `vm_unmapped_area` finds the highest gap, and merges
    /// with it (found by difffuzz's hints class near the map-count limit:
    /// the host had one entry fewer).
    #[test]
    fn a_placement_after_a_thp_aligned_one_is_a_full_search() {
        let mut m = Machine::new(MachineConfig::reference());
        let a = m.mmap(1, 0, 4 * MIB, PROT_READ, ANON, -1, 0).unwrap();
        assert_eq!(a % (2 * MIB), 0);
        let len = 2 * MIB + 4096;
        let b = m.mmap(1, 0, len, PROT_READ, ANON, -1, 0).unwrap();
        assert_eq!(b + len, a);
        assert_eq!(entry(&m, b), (b, a + 4 * MIB));
        // So mremap cannot grow it in place (the host's -ENOMEM).
        assert!(m.mremap(1, b, len, len + 4096, 0, 0).is_err());
    }

    /// The same after a hugetlb mapping placed at a huge page boundary
    /// above where its padded search ended.
    #[test]
    fn a_placement_after_a_hugetlb_one_is_a_full_search() {
        let mut m = Machine::new(MachineConfig::reference());
        m.mmap(1, 0, 4096, PROT_READ, ANON, -1, 0).unwrap();
        let flags = ANON | MAP_HUGETLB | MAP_NORESERVE;
        let h = m.mmap(1, 0, 2 * MIB, PROT_READ, flags, -1, 0).unwrap();
        assert_eq!(h % (2 * MIB), 0);
        let len = 2 * MIB + 4096;
        let b = m.mmap(1, 0, len, PROT_READ, ANON, -1, 0).unwrap();
        assert_eq!(b + len, h);
        assert!(m.mremap(1, b, len, len + 4096, 0, 0).is_err());
    }
}
