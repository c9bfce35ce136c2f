//! Guard pages (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE, Linux 6.13):
//! pages of an entry that raise SIGSEGV on any access without splitting
//! the entry. Linux keeps them as PTE markers (`madvise_guard_install`,
//! `PTE_MARKER_GUARD`); here they are a set of page addresses per process,
//! which fork copies and mremap moves as it would the markers.

use crate::addr::PAGE_SIZE;
use crate::event::Pid;
use crate::machine::Machine;
use crate::vm::map::Entry;

impl Machine {
    /// `madvise_guard_install`: the pages of `[lo, hi)` in `e` are thrown
    /// away and marked.
    pub(crate) fn guard_install(&mut self, pid: Pid, e: &Entry, lo: u64, hi: u64) {
        if e.is_shared() {
            self.zap(pid, lo, hi);
        } else {
            self.discard_private(pid, e.start, lo, hi);
        }
        let p = self.proc_mut(pid);
        p.guards.extend((lo..hi).step_by(PAGE_SIZE as usize));
        // The page tables are no longer empty, so the entry gets an
        // anon_vma, which makes fork copy the markers (and, like any
        // anon_vma, decides what the entry may merge with).
        self.anon_vma_prepare(pid, e.start);
    }

    /// `madvise_guard_remove`: the markers of `[lo, hi)` go; the pages
    /// fault in afresh.
    pub(crate) fn guard_remove(&mut self, pid: Pid, lo: u64, hi: u64) {
        let p = self.proc_mut(pid);
        let gone: Vec<u64> = p.guards.range(lo..hi).copied().collect();
        for g in gone {
            p.guards.remove(&g);
        }
    }
}
