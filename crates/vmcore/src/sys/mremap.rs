//! mremap(2): Linux `mm/mremap.c` (`check_mremap_params`, `check_prep_vma`,
//! `mremap_to`, `expand_vma`, `move_vma`).

use super::{page_align, unaligned};
use crate::errno::{SysResult, efault, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::linux::abi::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use crate::personality::{Kernel, Sys};
use crate::vm::remap::Target;

impl Machine {
    /// mremap(2): shrink, grow in place, or move.
    pub fn mremap(
        &mut self,
        pid: Pid,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        self.syscall(
            pid,
            Sys::Mremap,
            &[old, old_len, new_len, flags, new_addr],
            |m| match m.kernel() {
                Kernel::Linux => m.do_mremap(pid, old, old_len, new_len, flags, new_addr),
                Kernel::FreeBsd => m.freebsd_mremap(pid, old, old_len, new_len, flags, new_addr),
                Kernel::NetBsd => m.netbsd_mremap(pid, old, old_len, new_len, flags, new_addr),
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn do_mremap(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        let old_len = page_align(old_len).unwrap_or(0);
        let new_len = page_align(new_len).unwrap_or(0);
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(einval("unknown mremap flags"));
        }
        if unaligned(addr) {
            return Err(einval("address is not page aligned"));
        }
        if new_len == 0 {
            return Err(einval("new length is zero"));
        }
        let task_size = self.layout().task_size;
        if new_len > task_size {
            return Err(einval("new length larger than the address space"));
        }
        let implies_new_addr = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
        if implies_new_addr {
            if new_addr > task_size - new_len {
                return Err(einval("new range outside the address space"));
            }
            if unaligned(new_addr) {
                return Err(einval("new address is not page aligned"));
            }
            if flags & MREMAP_MAYMOVE == 0 {
                return Err(einval(
                    "MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE",
                ));
            }
            if flags & MREMAP_DONTUNMAP != 0 && old_len != new_len {
                return Err(einval("MREMAP_DONTUNMAP cannot resize"));
            }
            if addr < new_addr + new_len && new_addr < addr.wrapping_add(old_len) {
                return Err(einval("new range overlaps the old one"));
            }
            // check_mremap_params: unmapping the target and moving may
            // split both ranges in three; refuse early when that could
            // reach vm.max_map_count (probed by tools/mapcount.py).
            if self.map_count_at_limit(pid, 5) {
                return Err(enomem("too many mappings to move one (vm.max_map_count)"));
            }
        }
        let Some(e) = self.procs[&pid].map.find(addr).cloned() else {
            return Err(efault("nothing mapped at the old address"));
        };
        // check_prep_vma -> align_hugetlb: a hugetlb mapping moves and
        // shrinks by whole huge pages, from and to huge page boundaries (the
        // new address is checked even when it is not used), and never
        // grows; nor may MREMAP_DONTUNMAP keep it (VM_DONTEXPAND). A move
        // across several entries aligns each piece (`remap_move`), so the
        // first piece here only when it ends inside this entry (case
        // hugetlb_mremap).
        // `vrm_move_only` looks at the lengths before that alignment (case
        // hugetlb_mremap_move_only).
        let move_only = flags & MREMAP_FIXED != 0 && old_len == new_len;
        let (old_len, new_len) = match self.hugetlb_page_size(&e) {
            Some(size) => {
                let up = |x: u64| x.wrapping_add(size - 1) & !(size - 1);
                let (o, n) = if move_only && old_len > e.end - addr {
                    (old_len, new_len)
                } else {
                    (up(old_len), up(new_len))
                };
                if !addr.is_multiple_of(size) || !new_addr.is_multiple_of(size) || n > o {
                    return Err(einval(
                        "hugetlb mremap needs huge page alignment and no growth",
                    ));
                }
                if flags & MREMAP_DONTUNMAP != 0 {
                    return Err(einval("MREMAP_DONTUNMAP of a hugetlb mapping"));
                }
                (o, n)
            }
            None => (old_len, new_len),
        };
        if old_len == 0 && !e.is_shared() {
            return Err(einval("old length zero on a private mapping"));
        }
        // Same size, nowhere to go: nothing to do.
        if !implies_new_addr && old_len == new_len {
            return Ok(addr);
        }
        // Since Linux 6.17 a shrink, and a pure move to a fixed address, may
        // span several entries (and the holes between them); anything else
        // must stay inside the first entry.
        let spans = old_len > e.end - addr;
        let pure_move = move_only;
        if spans && new_len >= old_len && !pure_move {
            return Err(efault("old range crosses the end of its mapping"));
        }
        // A zero old length duplicates a shared mapping (the DOS-emu case).
        let dup = old_len == 0;
        // shrink_vma unmaps [addr + new_len, addr + old_len) with
        // do_vmi_munmap, which refuses a range ending past TASK_SIZE (or
        // wrapping): EINVAL. mremap_to has unmapped the target by then
        // (case mremap_shrink_past_top).
        let shrink_past_top =
            old_len > new_len && addr.checked_add(old_len).is_none_or(|end| end > task_size);
        // vrm_calc_charge: an accounted mapping is charged its growth (the
        // whole new length with MREMAP_DONTUNMAP, which keeps the old);
        // heuristic overcommit refuses more than RAM + swap at once (case
        // mremap_grow_overcommit).
        let charge = if flags & MREMAP_DONTUNMAP != 0 {
            new_len
        } else {
            new_len.saturating_sub(old_len)
        };
        let overcommit = e.flags.contains(VmFlags::ACCOUNT)
            && charge / crate::addr::PAGE_SIZE > self.overcommit_limit();
        if flags & MREMAP_FIXED == 0 && flags & MREMAP_DONTUNMAP == 0 && shrink_past_top {
            return Err(einval("the shrunk tail ends past the user address space"));
        }
        if flags & MREMAP_FIXED != 0 {
            if spans && pure_move {
                return self.move_many(pid, addr, old_len, new_addr, flags & MREMAP_DONTUNMAP != 0);
            }
            if spans && new_len > e.end - addr {
                // Shrinking may cross entries; what then moves may not.
                return Err(efault("moved range crosses the end of its mapping"));
            }
            // After that check (case mremap_fixed_shrink_order).
            if shrink_past_top {
                self.unmap_range(pid, new_addr, new_addr + new_len);
                if self.procs[&pid].map.find(addr).is_none() {
                    return Err(efault("the target's unmapping removed the old mapping"));
                }
                return Err(einval("the shrunk tail ends past the user address space"));
            }
            if overcommit {
                // move_vma charges after mremap_to cleared the target.
                self.unmap_range(pid, new_addr, new_addr + new_len);
                return Err(enomem("more than RAM + swap (heuristic overcommit)"));
            }
            return self.move_mapping(
                pid,
                addr,
                old_len,
                new_len,
                Target::Fixed(new_addr),
                flags & MREMAP_DONTUNMAP != 0,
                dup,
            );
        }
        if overcommit {
            return Err(enomem("more than RAM + swap (heuristic overcommit)"));
        }
        if flags & MREMAP_DONTUNMAP != 0 {
            return self.move_mapping(
                pid,
                addr,
                old_len,
                new_len,
                Target::Hint(new_addr),
                flags & MREMAP_DONTUNMAP != 0,
                dup,
            );
        }
        if !dup && new_len <= old_len {
            if new_len < old_len {
                // shrink_vma -> do_vmi_munmap.
                self.may_split_range(pid, addr + new_len, addr + old_len)?;
                self.unmap_range(pid, addr + new_len, addr + old_len);
            }
            return Ok(addr);
        }
        // Grow in place when the range ends the entry and the space after it is free.
        if !dup && addr + old_len == e.end {
            let grow_end = addr
                .checked_add(new_len)
                .filter(|&x| x <= self.layout().task_size);
            if let Some(ge) = grow_end
                && self.procs[&pid].map.is_free(e.end, ge)
            {
                self.extend_entry(pid, e.start, ge);
                self.try_merge(pid, ge);
                if e.flags.contains(VmFlags::LOCKED) && !e.flags.contains(VmFlags::LOCKONFAULT) {
                    let _ = self.populate(pid, e.end, ge);
                }
                return Ok(addr);
            }
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(enomem("cannot grow in place and MREMAP_MAYMOVE not given"));
        }
        self.move_mapping(
            pid,
            addr,
            old_len,
            new_len,
            // Without MREMAP_FIXED the new address is not even a hint.
            Target::Hint(0),
            flags & MREMAP_DONTUNMAP != 0,
            dup,
        )
    }
}
