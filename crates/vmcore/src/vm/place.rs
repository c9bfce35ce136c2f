//! Where a mapping without MAP_FIXED lands: `get_unmapped_area`, by the
//! personality's placement rule ([`crate::personality::Placement`]).

use crate::addr::{PAGE_SIZE, align_down};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::Placement;

impl Machine {
    /// `get_unmapped_area` without MAP_FIXED, by the personality's rule.
    pub(crate) fn unmapped_area(&mut self, pid: Pid, hint: u64, len: u64) -> Option<u64> {
        match self.personality().map_policy.placement {
            Placement::TopDown => self.unmapped_area_topdown(pid, hint, len),
        }
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
