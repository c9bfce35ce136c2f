//! MADV_COLLAPSE: the synchronous collapse of 2 MiB blocks into huge pages
//! (`madvise_collapse`, mm/khugepaged.c), what khugepaged does in the
//! background, on request.
//!
//! The rules here are the ones recorded on Linux 6.18 (the `collapse_*`
//! cases of `tests/conformance/recorded`):
//!
//! - The entry must be allowed a huge page with the sysfs setting ignored
//!   (`thp_vma_allowable_order` with `TVA_FORCED_COLLAPSE`): not
//!   MADV_NOHUGEPAGE, big enough to hold an aligned 2 MiB block whose
//!   object offset lines up, private anonymous memory that has an
//!   anon_vma (a write, or a huge zero page, gave it one) or a mapping of
//!   shmem, shared or private. A regular file is EINVAL at once.
//! - A range that lies inside one block, without reaching its end, is
//!   EINVAL.
//! - Each aligned block inside the range is then collapsed in turn; a block
//!   already mapped by a PMD counts as done. The first block that cannot
//!   be collapsed ends the walk with EINVAL: an anonymous block without a
//!   page table (`SCAN_PMD_NULL`), or with a guard marker
//!   (`SCAN_PTE_NON_PRESENT`), a shmem block with no page cached. No huge
//!   frame free is ENOMEM (`SCAN_ALLOC_HUGE_PAGE_FAIL`).
//! - Anonymous: the block's pages are copied into a fresh 2 MiB frame run,
//!   holes and the zero page as zeros (`__collapse_huge_page_copy`); the
//!   process gets one PMD, writable if the entry is, and private anons of
//!   its own, so pages it shared copy-on-write with a fork stay with the
//!   other process. Read-only, PROT_NONE and written-then-freed pages
//!   collapse too.
//! - shmem (`collapse_file`): the block's cached pages are copied into a
//!   fresh 2 MiB run, holes as zeros, past the end of the file too; the run
//!   replaces them in the page cache (dirty: shmem cannot write it back),
//!   the old pages leave every page table, and the caller maps the run
//!   with one PMD (read-only in a private mapping; one with copy-on-write
//!   pages of its own in the block keeps them and gets EINVAL, the page
//!   cache collapsed all the same). Other processes fault the pages back in one by one
//!   (Linux would give them the PMD too, having retracted their page
//!   tables; only the page-table view can tell).

use super::map::Entry;
use crate::addr::{HUGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE, Pfn, VirtAddr};
use crate::errno::{SysResult, einval, enomem};
use crate::event::{Event, Pid};
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::phys::FrameOwner;
use crate::pmap::PmdState;

impl Machine {
    /// MADV_COLLAPSE over `[lo, hi)`, a part of the entry `e`.
    pub(crate) fn madvise_collapse(
        &mut self,
        pid: Pid,
        e: &Entry,
        lo: u64,
        hi: u64,
    ) -> SysResult<()> {
        if e.flags.contains(VmFlags::NOHUGEPAGE) {
            return Err(einval("MADV_COLLAPSE on a MADV_NOHUGEPAGE range"));
        }
        // `thp_vma_suitable_order` at the entry's last possible block.
        let fits = e
            .end
            .checked_sub(HUGE_PAGE_SIZE)
            .is_some_and(|last| last & !(HUGE_PAGE_SIZE - 1) >= e.start);
        if !fits || !((e.start >> PAGE_SHIFT).wrapping_sub(e.pgoff)).is_multiple_of(PAGES_PER_HUGE)
        {
            return Err(einval("the mapping cannot hold an aligned 2 MiB page"));
        }
        // shmem, shared or private (`shmem_allowable_huge_orders`); not a
        // regular file.
        let shmem = match e.object {
            None => false,
            Some(o) if self.objects.get(o).is_some_and(|o| o.is_shmem()) => true,
            Some(_) => return Err(einval("MADV_COLLAPSE of a regular file")),
        };
        if !shmem && e.anon_vma.is_none() {
            return Err(einval("MADV_COLLAPSE of anonymous memory never written"));
        }
        let hstart = lo.next_multiple_of(HUGE_PAGE_SIZE);
        let hend = hi & !(HUGE_PAGE_SIZE - 1);
        // A range inside one block: the kernel's block count,
        // `(hend - hstart) >> HPAGE_PMD_SHIFT`, wraps and is never reached.
        // (A range that ends where its first boundary is holds none: 0.)
        if hstart > hend {
            return Err(einval("the range holds no whole 2 MiB block"));
        }
        let mut block = hstart;
        while block < hend {
            let done = if shmem {
                self.collapse_file(pid, e, block)?
            } else {
                self.collapse_anon(pid, e.start, block)?
            };
            if !done {
                return Err(einval("a 2 MiB block could not be collapsed"));
            }
            block += HUGE_PAGE_SIZE;
        }
        Ok(())
    }

    /// `hpage_collapse_scan_pmd` + `collapse_huge_page` for one block of the
    /// private anonymous entry starting at `estart`. Ok(false): the block
    /// cannot be collapsed.
    fn collapse_anon(&mut self, pid: Pid, estart: u64, block: u64) -> SysResult<bool> {
        let p = &self.procs[&pid];
        if p.pmap
            .lookup(&self.phys, VirtAddr(block))
            .is_some_and(|m| m.huge)
        {
            return Ok(true); // SCAN_PMD_MAPPED
        }
        if p.pmap.pmd(&self.phys, VirtAddr(block)) == PmdState::None {
            return Ok(false); // SCAN_PMD_NULL
        }
        if p.guards
            .range(block..block + HUGE_PAGE_SIZE)
            .next()
            .is_some()
        {
            return Ok(false); // SCAN_PTE_NON_PRESENT
        }
        if self.block_has_lent_page(pid, block) {
            return Ok(false); // SCAN_PAGE_COUNT: a page with an extra reference
        }
        let Ok(base) = self.alloc_huge_run(|_| FrameOwner::None) else {
            return Err(enomem("no free 2 MiB run of frames"));
        };
        // `__collapse_huge_page_copy`: what the process sees, page by page.
        for i in 0..PAGES_PER_HUGE {
            let va = VirtAddr(block + i * PAGE_SIZE);
            if let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, va)
                && m.pfn != self.zero_pfn
            {
                self.phys.copy_frame(m.pfn, base.add(i), &mut self.ev);
            }
        }
        let mut e = self.procs[&pid].map.entry(estart).clone();
        self.amap_ensure(pid, &mut e);
        self.zap(pid, block, block + HUGE_PAGE_SIZE);
        let (amap, first) = e.slot(block).expect("amap ensured");
        // The old pages go with their anons (a page shared copy-on-write
        // stays with the other process).
        self.give_huge_anons(amap, first, base);
        // The PMD is made writable if the entry is (`maybe_pmd_mkwrite`).
        if !self.map_collapsed(pid, &e, block, base, e.prot.writable()) {
            // No page table could be had: the anons stay in the amap and
            // the next access faults them in one by one.
            return Err(enomem("no memory for the page tables"));
        }
        Ok(true)
    }

    /// Whether a page mapped in the 2 MiB block at `block` of `pid` is on
    /// loan: the kernel holds a reference to it, which khugepaged refuses
    /// to collapse (`SCAN_PAGE_COUNT`), and the borrower's page must stay.
    fn block_has_lent_page(&self, pid: Pid, block: u64) -> bool {
        let mut lent = false;
        self.procs[&pid].pmap.for_each_leaf_in(
            &self.phys,
            VirtAddr(block),
            VirtAddr(block + HUGE_PAGE_SIZE),
            |_, pte, _| lent |= self.lent(pte.pfn()),
        );
        lent
    }

    /// Map the collapsed run from `base` at `block` with one PMD (PROTNONE
    /// in a PROT_NONE entry) and say so. False: no page table for it.
    fn map_collapsed(
        &mut self,
        pid: Pid,
        e: &Entry,
        block: u64,
        base: Pfn,
        writable: bool,
    ) -> bool {
        if self
            .pmap_enter_huge(pid, block, base, writable, e.prot.executable())
            .is_err()
        {
            return false;
        }
        if e.prot.is_empty() {
            self.pmap_protect(pid, block, block + HUGE_PAGE_SIZE, e.prot);
        }
        // The block's old leaves were zapped (and unwired): a locked entry
        // wires the new PMD's frames.
        self.wire_range(pid, block, block + HUGE_PAGE_SIZE);
        self.ev.push_with(|| Event::HugeCollapse {
            pid,
            va: VirtAddr(block),
            pfn: base,
        });
        true
    }

    /// `hpage_collapse_scan_file` + `collapse_file` for one block of a
    /// shmem mapping (see the module documentation).
    fn collapse_file(&mut self, pid: Pid, e: &Entry, block: u64) -> SysResult<bool> {
        let obj = e.object.expect("shmem entry");
        let first = e.object_index(block);
        let range = first..first + PAGES_PER_HUGE;
        let o = self.objects.get(obj).expect("live object");
        if o.pages.range(range.clone()).next().is_none() {
            return Ok(false); // nothing cached: nothing to collapse
        }
        // Already one run, mapped by a PMD here (SCAN_PMD_MAPPED).
        if self.procs[&pid]
            .pmap
            .lookup(&self.phys, VirtAddr(block))
            .is_some_and(|m| m.huge)
        {
            return Ok(true);
        }
        // A lent page holds an extra reference (SCAN_PAGE_COUNT).
        if o.pages.range(range.clone()).any(|(_, &p)| self.lent(p)) {
            return Ok(false);
        }
        let Ok(base) = self.alloc_huge_run(|i| FrameOwner::Cache {
            object: obj,
            index: first + i,
        }) else {
            return Err(enomem("no free 2 MiB run of frames"));
        };
        // The new folio takes the cached pages' contents, holes as zeros.
        let o = self.objects.get(obj).expect("live object");
        let old: Vec<(u64, Pfn)> = o
            .pages
            .range(range.clone())
            .map(|(&i, &p)| (i, p))
            .collect();
        for &(index, pfn) in &old {
            self.phys
                .copy_frame(pfn, base.add(index - first), &mut self.ev);
        }
        // The old pages leave every page table (`try_to_unmap`; private
        // copies of them stay) and the page cache.
        self.unmap_object_pages(obj, first, first + PAGES_PER_HUGE, false);
        let o = self.objects.get_mut(obj).expect("live object");
        for index in range {
            o.pages.insert(index, base.add(index - first));
        }
        for (_, pfn) in old {
            self.phys.free(pfn, &mut self.ev);
        }
        // shmem has nowhere to write it back: the folio is dirty.
        for i in 0..PAGES_PER_HUGE {
            self.phys.desc_mut(base.add(i)).dirty = true;
        }
        // A private mapping with copy-on-write pages of its own in the
        // block cannot map the folio (`SCAN_PAGE_ANON`): the page cache
        // stays collapsed, the process keeps its copies.
        let own_copies = !e.is_shared()
            && e.slot(block).is_some_and(|(amap, s)| {
                self.amaps
                    .get(amap)
                    .is_some_and(|am| (s..s + PAGES_PER_HUGE).any(|i| am.lookup(i).is_some()))
            });
        if own_copies {
            return Ok(false);
        }
        // The caller maps it with one PMD (`collapse_pte_mapped_thp`),
        // read-only in a private mapping; a page table that cannot be had
        // leaves the block to fault in.
        let writable = e.prot.writable() && e.is_shared();
        self.map_collapsed(pid, e, block, base, writable);
        Ok(true)
    }
}
