//! When an entry may be split (Linux `mm/vma.c`): the checks made before
//! `__split_vma` cuts a VMA in two, which can refuse the call that needed
//! the cut.
//!
//! - **The map count.** A process may hold at most `vm.max_map_count`
//!   VMAs ([`MachineConfig::max_map_count`], 65,530 as on the recording
//!   machine; the simulator's process counts its stack entry, as Linux
//!   counts every VMA). `split_vma` (mprotect, madvise, mlock:
//!   `vma_modify`) refuses a split when the count is already at the limit
//!   (ENOMEM, EAGAIN for madvise), unless the changed range merges into a
//!   neighbour instead; unmapping (`vms_gather_munmap_vmas`: munmap,
//!   MAP_FIXED, mremap) refuses only a cut in the middle of one entry,
//!   and lets the count go over the limit for the edges. mremap
//!   refuses a move when the count is within 3 of the limit
//!   (`prep_move_vma`), and a call with a new address within 5
//!   (`check_mremap_params`). mmap itself refuses once the count is past
//!   the limit (`do_mmap`).
//! - **hugetlb.** A hugetlb entry is cut only at a huge page boundary
//!   (`hugetlb_vm_op_split`, vm/hugetlb.rs): EINVAL. The map count is
//!   checked first.
//!
//! Where a call needs two splits and the second is refused, the first
//! stays done (cases hugetlb_split_rules and hugetlb_split_start_kept).
//! The map-count rules cannot be recorded as small cases (the limit takes
//! some 65,000 mappings to reach); `tests/conformance/tools/mapcount.py`
//! compares them with the kernel through `vmplay host`, and the tests
//! below pin them with a small limit.
//!
//! [`MachineConfig::max_map_count`]: crate::machine::MachineConfig::max_map_count

use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::flags::{Prot, VmFlags};
use crate::machine::Machine;
use crate::personality::MergeRule;
use crate::vm::map::Entry;

impl Machine {
    /// `mm->map_count`: the entries (VMAs) of the process.
    pub(crate) fn map_count(&self, pid: Pid) -> usize {
        self.procs[&pid].map.entries.len()
    }

    /// Whether the process already holds `vm.max_map_count` entries, less
    /// `margin`: the test of `split_vma` (margin 0) and `prep_move_vma` (3).
    pub(crate) fn map_count_at_limit(&self, pid: Pid, margin: usize) -> bool {
        self.map_count(pid) + margin >= self.cfg.max_map_count
    }

    /// The splits that unmapping `[start, end)` needs
    /// (`vms_gather_munmap_vmas`, for munmap, MAP_FIXED and mremap): the
    /// entry at `start` is split first, then the one at `end`. A cut in
    /// the middle of one entry needs a free map slot (ENOMEM); a hugetlb
    /// entry is cut only at a huge page boundary (EINVAL). When the second
    /// split is refused the first stays done (the entries are put back
    /// split, `vms_abort_munmap_vmas`).
    pub(crate) fn may_split_range(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        if let Some(e) = self.procs[&pid].map.find(start) {
            if e.start < start && end < e.end && self.map_count_at_limit(pid, 0) {
                return Err(enomem(
                    "too many mappings to cut one in two (vm.max_map_count)",
                ));
            }
            if self.hugetlb_refuses_split(e, start) {
                return Err(einval(
                    "a hugetlb mapping is split only at a huge page boundary",
                ));
            }
        }
        if let Some(e) = self.procs[&pid].map.find(end)
            && self.hugetlb_refuses_split(e, end)
        {
            self.clip(pid, start);
            return Err(einval(
                "a hugetlb mapping is split only at a huge page boundary",
            ));
        }
        Ok(())
    }

    /// The splits that changing `[lo, hi)` of the entry `e` to `prot` and
    /// `flags` needs (`vma_modify` -> `split_vma`, for mprotect, madvise
    /// and mlock): none at an edge where the changed range merges into the
    /// neighbour instead (`vma_merge_existing_range`); else at `lo` first,
    /// then at `hi`, each refused when the map count is at the limit
    /// (ENOMEM) or when it cuts a hugetlb entry off its huge pages
    /// (EINVAL). When only the split at `hi` is refused, the one at `lo`
    /// stays done.
    pub(crate) fn may_modify(
        &mut self,
        pid: Pid,
        e: &Entry,
        (lo, hi): (u64, u64),
        prot: Prot,
        flags: VmFlags,
    ) -> SysResult<()> {
        let map = &self.procs[&pid].map;
        let mut changed = e.clone();
        changed.pgoff = e.object_index(lo.max(e.start));
        changed.start = lo;
        changed.end = hi;
        changed.prot = prot;
        changed.flags = flags;
        let linux = self.cfg.personality.map_policy.merge == MergeRule::Linux;
        // A partial range at one edge of `e` joins the neighbour there
        // (which grows, `e` shrinks): no new entry, no split.
        let merges_left = lo == e.start
            && linux
            && map
                .prev_of(lo)
                .is_some_and(|p| p.end == lo && MergeRule::Linux.mergeable(p, &changed));
        let merges_right = hi == e.end
            && linux
            && map
                .entries
                .get(&hi)
                .is_some_and(|n| MergeRule::Linux.mergeable(&changed, n));
        let split_lo = lo > e.start && !merges_right;
        let split_hi = hi < e.end && !merges_left;
        let refuse = |m: &Machine, at: u64, extra: usize| -> SysResult<()> {
            if m.map_count(pid) + extra >= m.cfg.max_map_count {
                return Err(enomem("too many mappings to split one (vm.max_map_count)"));
            }
            if m.hugetlb_refuses_split(e, at) {
                return Err(einval(
                    "a hugetlb mapping is split only at a huge page boundary",
                ));
            }
            Ok(())
        };
        if split_lo {
            refuse(self, lo, 0)?;
        }
        if split_hi && let Err(err) = refuse(self, hi, usize::from(split_lo)) {
            if split_lo {
                self.clip(pid, lo);
            }
            return Err(err);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::errno::Errno;
    use crate::machine::{Machine, MachineConfig};
    use crate::personality::linux::abi::*;

    const A: u64 = 0x3000_0000_0000;
    const MIB: u64 = 1 << 20;
    const RW: u64 = PROT_READ | PROT_WRITE;
    const FIX: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    /// A machine whose process may hold `limit` entries, with a 4 MiB
    /// read-write mapping at A and a 16 KiB PROT_NONE one right after it:
    /// three entries with the stack.
    fn two_mappings(limit: usize) -> Machine {
        let mut m = Machine::new(MachineConfig {
            max_map_count: limit,
            ..MachineConfig::reference()
        });
        m.mmap(1, A, 4 * MIB, RW, FIX, -1, 0).unwrap();
        m.mmap(1, A + 4 * MIB, 16 << 10, PROT_NONE, FIX, -1, 0)
            .unwrap();
        assert_eq!(m.map_count(1), 3);
        m
    }

    fn errno<T: std::fmt::Debug>(r: crate::errno::SysResult<T>) -> Errno {
        r.expect_err("refused").errno
    }

    #[test]
    fn mmap_is_refused_only_once_the_count_is_past_the_limit() {
        let mut m = two_mappings(3);
        m.mmap(1, A + 8 * MIB, 4096, PROT_READ, FIX, -1, 0).unwrap();
        assert_eq!(
            errno(m.mmap(1, A + 10 * MIB, 4096, PROT_READ, FIX, -1, 0)),
            Errno::ENOMEM
        );
    }

    #[test]
    fn at_the_limit_a_split_is_refused_unless_the_range_merges_instead() {
        let mut m = two_mappings(3);
        assert_eq!(
            errno(m.mprotect(1, A + 8192, 4096, PROT_NONE)),
            Errno::ENOMEM
        );
        assert_eq!(errno(m.mprotect(1, A, 4096, PROT_NONE)), Errno::ENOMEM);
        // The last page joins the PROT_NONE neighbour: no new entry.
        m.mprotect(1, A + 4 * MIB - 4096, 4096, PROT_NONE).unwrap();
        assert_eq!(m.map_count(1), 3);
        assert_eq!(errno(m.madvise(1, A, 4096, MADV_RANDOM)), Errno::EAGAIN);
        assert_eq!(errno(m.mlock(1, A, 4096)), Errno::ENOMEM);
        assert_eq!(m.map_count(1), 3);
    }

    #[test]
    fn one_below_the_limit_the_second_split_is_refused_and_the_first_stays() {
        let mut m = two_mappings(4);
        assert_eq!(
            errno(m.mprotect(1, A + 8192, 4096, PROT_NONE)),
            Errno::ENOMEM
        );
        assert_eq!(m.map_count(1), 4);
        assert!(m.procs[&1].map.entries.get(&(A + 8192)).is_some());
    }

    #[test]
    fn munmap_may_cut_an_edge_past_the_limit_but_not_the_middle() {
        let mut m = two_mappings(3);
        assert_eq!(errno(m.munmap(1, A + 8192, 4096)), Errno::ENOMEM);
        m.munmap(1, A, 4096).unwrap();
        assert_eq!(m.map_count(1), 3);
    }

    #[test]
    fn mremap_keeps_three_slots_for_a_move_and_five_for_a_new_address() {
        let to = A + 16 * MIB;
        // Five below the limit: a fixed target is refused up front.
        let mut m = two_mappings(8);
        assert_eq!(
            errno(m.mremap(1, A, 2 * MIB, 2 * MIB, MREMAP_MAYMOVE | MREMAP_FIXED, to)),
            Errno::ENOMEM
        );
        // Four below: a move without one goes through; three below: not.
        let mut m = two_mappings(7);
        m.mremap(1, A, MIB, 2 * MIB, MREMAP_MAYMOVE, 0).unwrap();
        let mut m = two_mappings(6);
        assert_eq!(
            errno(m.mremap(1, A, MIB, 2 * MIB, MREMAP_MAYMOVE, 0)),
            Errno::ENOMEM
        );
        // Shrinking needs no slot.
        m.mremap(1, A + MIB, MIB, 4096, 0, 0).unwrap();
    }
}
