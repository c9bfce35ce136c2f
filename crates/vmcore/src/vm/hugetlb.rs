//! hugetlbfs: memory backed by the huge page pool (Linux `mm/hugetlb.c`,
//! `fs/hugetlbfs/inode.c`).
//!
//! `mmap(MAP_HUGETLB|MAP_ANONYMOUS)` maps an unlinked hugetlbfs file
//! (`hugetlb_file_setup`, shown in `/proc/PID/maps` as
//! `/anon_hugepage (deleted)`). Its pages do not come from the buddy
//! allocator but from a pool of huge pages set aside per size (an
//! *hstate*) by `vm.nr_hugepages`:
//!
//! ```text
//!   hstate   page size   nr_hugepages   free   reserved
//!   2 MiB    0x200000         0           0        0      (the default)
//!   1 GiB    0x40000000       0           0        0
//! ```
//!
//! - mmap reserves, up front, every huge page the mapping could need
//!   (`hugetlb_reserve_pages`); the pool cannot give them, so the call
//!   fails with ENOMEM. With MAP_NORESERVE (VM_NORESERVE) nothing is
//!   reserved and the mapping is made.
//! - A fault asks the pool for a page (`hugetlb_no_page` ->
//!   `alloc_hugetlb_folio`); with nothing free and nothing reserved it
//!   fails and the access raises SIGBUS, as does every population
//!   (`get_user_pages` sees VM_FAULT_SIGBUS: MADV_POPULATE_* is EFAULT,
//!   mlock ENOMEM). So a hugetlb mapping here never holds a page.
//! - The mapping is VM_HUGETLB | VM_DONTEXPAND: it never merges
//!   (VM_DONTEXPAND is in VM_SPECIAL, which `vma_merge_*` refuse), never
//!   grows by mremap, is never locked (`mlock_fixup` skips it), and is
//!   never charged to the commit limit (`accountable_mapping`).
//! - It may only be cut at a multiple of its page size
//!   (`hugetlb_vm_op_split`, the `may_split` of `hugetlb_vm_ops`): munmap,
//!   mprotect, madvise and MAP_FIXED that would split it elsewhere fail
//!   with EINVAL (case `hugetlb_split_rules`).
//!
//! The recording machine's pool is empty (`nr_hugepages` 0 for both
//! sizes), and so is the simulator's: a pool that holds pages would need
//! huge page frames and their PMD mappings, which are not modelled, so the
//! pool's size is a constant of the machine rather than a setting.

use crate::addr::HUGE_PAGE_SIZE;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::vm::map::Entry;
use crate::vm::object::ObjKind;

/// One huge page size and its pool (`struct hstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hstate {
    /// The huge page size in bytes (`huge_page_size`).
    pub size: u64,
    /// `nr_hugepages`: the pages in the pool, free or in use.
    pub nr_hugepages: u64,
}

/// The hstates of the recording machine (x86_64 with 1 GiB page support):
/// 2 MiB, the default, and 1 GiB, both with empty pools.
pub const HSTATES: [Hstate; 2] = [
    Hstate {
        size: HUGE_PAGE_SIZE,
        nr_hugepages: 0,
    },
    Hstate {
        size: 1 << 30,
        nr_hugepages: 0,
    },
];

/// `hstate_sizelog`: MAP_HUGETLB's size as a log2 (bits 26..31 of the
/// flags); 0 is the default hstate. `None`: no hstate of that size (EINVAL).
pub fn hstate_sizelog(log: u64) -> Option<&'static Hstate> {
    if log == 0 {
        return Some(&HSTATES[0]);
    }
    HSTATES
        .iter()
        .find(|h| h.size == 1u64.checked_shl(log as u32).unwrap_or(0))
}

impl Hstate {
    /// `hugetlb_reserve_pages` -> `hugetlb_acct_memory`: whether `pages`
    /// more huge pages can be reserved. Nothing is ever reserved or in
    /// use here (no fault can succeed), so every free page is available.
    pub fn can_reserve(&self, pages: u64) -> bool {
        pages <= self.nr_hugepages
    }
}

impl Machine {
    /// The huge page size of a hugetlb entry (its file's hstate), or
    /// `None` for any other entry.
    pub(crate) fn hugetlb_page_size(&self, e: &Entry) -> Option<u64> {
        if !e.flags.contains(VmFlags::HUGETLB) {
            return None;
        }
        match e.object.and_then(|o| self.objects.get(o)).map(|o| &o.kind) {
            Some(ObjKind::Hugetlb(size)) => Some(*size),
            _ => Some(HUGE_PAGE_SIZE),
        }
    }

    /// `hugetlb_vm_op_split`, the `may_split` of `hugetlb_vm_ops`: whether
    /// splitting the entry `e` at `addr` is refused because `addr` is not
    /// a multiple of its huge page size.
    pub(crate) fn hugetlb_refuses_split(&self, e: &Entry, addr: u64) -> bool {
        self.hugetlb_page_size(e)
            .is_some_and(|size| addr > e.start && addr < e.end && !addr.is_multiple_of(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizelog_zero_is_the_default_two_mib_hstate() {
        assert_eq!(hstate_sizelog(0).map(|h| h.size), Some(HUGE_PAGE_SIZE));
    }

    #[test]
    fn sizelog_names_two_mib_and_one_gib_only() {
        assert_eq!(hstate_sizelog(21).map(|h| h.size), Some(HUGE_PAGE_SIZE));
        assert_eq!(hstate_sizelog(30).map(|h| h.size), Some(1 << 30));
        assert_eq!(hstate_sizelog(1), None);
        assert_eq!(hstate_sizelog(16), None);
        assert_eq!(hstate_sizelog(63), None);
    }

    #[test]
    fn an_empty_pool_reserves_nothing() {
        for h in HSTATES {
            assert!(h.can_reserve(0));
            assert!(!h.can_reserve(1));
        }
    }
}
