//! Where a mapping without MAP_FIXED lands: `get_unmapped_area`, by the
//! personality's placement rule ([`crate::personality::Placement`]).

use crate::addr::{PAGE_SIZE, align_down, align_up};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::Placement;

impl Machine {
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
        }
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
