//! The page-fault handler (`uvm_fault`, Linux `handle_mm_fault`).
//!
//! The CPU raised #PF; find the entry, check the access against its
//! protection, then resolve by case, one function each:
//!
//! ```text
//!   no entry (or below a stack that may grow)  -> SIGSEGV (SEGV_MAPERR) / grow
//!   access not allowed by the entry            -> SIGSEGV (SEGV_ACCERR)
//!   shared object (file, memfd, shmem)         -> fault_shared: map the page cache
//!   private, page has an anon in the amap      -> fault_anon   (UVM case 1A/1B)
//!   private, no anon, anonymous memory         -> fault_zero   (zero page / zero fill)
//!   private, no anon, file-backed              -> fault_file   (case 2A / 2B promote)
//!   huge-page eligible block, nothing mapped   -> fault_huge   (THP)
//! ```

use crate::addr::{HUGE_PAGE_SIZE, PAGE_SIZE, PAGES_PER_HUGE, Pfn, VirtAddr};
use crate::arch::x86_64::mmu::{Access, PfErrorCode};
use crate::event::{Event, FaultResolution, Pid, SignalCode};
use crate::flags::VmFlags;
use crate::machine::{AccessError, Machine};
use crate::phys::FrameOwner;
use crate::pmap::{PmdState, PteProt};
use crate::vm::amap::{Amap, AmapRef};
use crate::vm::anon::{Anon, AnonPage};
use crate::vm::map::Entry;

/// The readahead window: `ra_pages` = 128 KiB.
pub(crate) const RA_PAGES: u64 = 32;

impl Machine {
    /// Resolve a fault at `va` for `access`, or say which signal is due.
    pub(crate) fn handle_fault(
        &mut self,
        pid: Pid,
        va: u64,
        access: Access,
        code: u32,
    ) -> Result<(), AccessError> {
        let e = match self.procs[&pid].map.find(va) {
            // FreeBSD: a fault in the gap below a MAP_STACK entry grows it.
            Some(e) if e.flags.contains(VmFlags::STACK_GAP) => {
                let gap = e.clone();
                match self.grow_into_gap(pid, gap, va) {
                    Some(e) => e,
                    None => return Err(self.signal(pid, va, SignalCode::SegvMaperr)),
                }
            }
            Some(e) => e.clone(),
            None => match self.grow_stack(pid, va) {
                Some(e) => e,
                None => return Err(self.signal(pid, va, SignalCode::SegvMaperr)),
            },
        };
        // What a fault maps in a locked entry is wired (vm/wire.rs).
        let locked = e
            .flags
            .contains(VmFlags::LOCKED)
            .then(|| self.fault_unwire(pid, va));
        let r = self.resolve_fault(pid, e, va, access, code);
        if let Some(span) = locked {
            self.fault_rewire(pid, span);
        }
        r
    }

    /// The fault once its entry `e` is known (grown, for a stack).
    /// Inlined (with `fault_zero` and `thp_eligible`) into the CPU's
    /// fault path as one body, as it was before the wiring bracket split
    /// it off: otherwise `mmap64k_touch16_munmap` runs 1.3% more
    /// instructions.
    #[inline(always)]
    fn resolve_fault(
        &mut self,
        pid: Pid,
        e: Entry,
        va: u64,
        access: Access,
        code: u32,
    ) -> Result<(), AccessError> {
        let page = va & !(PAGE_SIZE - 1);
        if self.procs[&pid].guards.contains(&page) {
            return Err(self.signal(pid, va, SignalCode::SegvMaperr));
        }
        // x86 `access_error`: a write needs VM_WRITE; a protection fault
        // on a present page (an instruction fetch from an NX page) is an
        // error; a not-present read or fetch only needs the entry to be
        // accessible at all. So a fetch from a non-executable mapping first
        // faults the page in, then faults again on NX.
        let allowed = match access {
            Access::Write => e.prot.writable(),
            Access::Read | Access::Execute => {
                code & PfErrorCode::PRESENT.bits() == 0 && e.prot.readable()
            }
        };
        if !allowed {
            return Err(self.signal(pid, va, SignalCode::SegvAccerr));
        }
        // hugetlb_fault -> hugetlb_no_page: the page comes from the huge
        // page pool, which has none to give (vm/hugetlb.rs).
        if e.flags.contains(VmFlags::HUGETLB) {
            return Err(self.fault_hugetlb(pid, va));
        }
        if e.is_shared() {
            return self.fault_shared(pid, &e, page, access);
        }
        if self.thp_eligible(pid, &e, page) && self.fault_huge(pid, &e, page, access)? {
            return Ok(());
        }
        let write = access == Access::Write;
        // UVM (`uvm_fault_check`): an entry that still needs copying gets
        // its amap now, on a write, or on any fault when no object lies
        // below; the first one may clip and join (vm/uvm_merge.rs).
        let e = if self.uvm_rules()
            && (e.aref.is_none() || e.needs_copy)
            && (write || e.object.is_none())
        {
            let s = self.uvm_amap_copy(pid, page, page + 1);
            self.procs[&pid].map.entry(s).clone()
        } else {
            e
        };
        let e = if write && e.needs_copy {
            self.amap_copy(pid, e.start);
            self.procs[&pid].map.entry(e.start).clone()
        } else {
            e
        };
        if let Some((amap, slot)) = e.slot(page)
            && let Some(anon) = self.amaps.get(amap).and_then(|a| a.lookup(slot))
        {
            return self.fault_anon(pid, &e, page, anon, access);
        }
        match e.object {
            None => self.fault_zero(pid, e, page, access),
            Some(obj) => self.fault_file(pid, e, page, obj, access),
        }
    }

    /// A fault in a hugetlb mapping (`hugetlb_no_page`): the page must
    /// come from the huge page pool (`alloc_hugetlb_folio`), whose empty
    /// pool has none to give and nothing reserved (vm/hugetlb.rs), so the
    /// fault is VM_FAULT_SIGBUS.
    #[cold]
    fn fault_hugetlb(&mut self, pid: Pid, va: u64) -> AccessError {
        self.signal(pid, va, SignalCode::BusAdrerr)
    }

    /// Below a `MAP_GROWSDOWN` entry a fault grows it (`expand_stack`), as
    /// long as `stack_guard_gap` stays free below the new start.
    fn grow_stack(&mut self, pid: Pid, va: u64) -> Option<Entry> {
        // A FreeBSD stack grows only into the gap reserved below it
        // (`grow_into_gap`); below anything else a fault is SIGSEGV.
        if self.personality().kernel == crate::personality::Kernel::FreeBsd {
            return None;
        }
        let l = self.layout();
        let map = &self.procs[&pid].map;
        let next = map.entries.range(va..).next()?;
        if !next.flags.contains(VmFlags::GROWSDOWN) {
            return None;
        }
        let new_start = va & !(PAGE_SIZE - 1);
        // acct_stack_growth: the stack may not exceed RLIMIT_STACK.
        if next.end - new_start > l.stack_rlimit {
            return None;
        }
        // expand_downwards: an accessible entry below keeps a guard gap.
        if let Some(prev) = map.prev_of(va)
            && !prev.flags.contains(VmFlags::GROWSDOWN)
            && prev.prot.readable()
            && new_start - prev.end < l.stack_guard_gap
        {
            return None;
        }
        if new_start < l.mmap_min_addr {
            return None;
        }
        let old = next.clone();
        let grow = (old.start - new_start) / PAGE_SIZE;
        let mut e = old.clone();
        e.start = new_start;
        e.pgoff = old.pgoff.checked_sub(grow)?;
        // The amap grows backwards (`amap_extend(AMAP_EXTEND_BACKWARDS)`).
        if e.aref.is_some() {
            self.amap_copy(pid, old.start);
        }
        let old = self.procs[&pid].map.entry(old.start).clone();
        if let Some(r) = old.aref {
            // The entry's amap is its own now: rebuild it with `grow` empty
            // slots in front.
            let old_am = self.amaps.get_mut(r.amap).expect("live amap");
            let moved = old_am.anons_in(r.slotoff, r.slotoff + old.pages());
            let mut am = Amap::new(grow + old.pages());
            for (slot, a) in moved {
                am.set(slot - r.slotoff + grow, Some(a));
            }
            *old_am = am;
            e.aref = Some(AmapRef {
                amap: r.amap,
                slotoff: 0,
            });
        }
        let p = self.proc_mut(pid);
        p.map.entries.remove(&old.start);
        p.map.entries.insert(e.clone());
        self.ev.push_with(|| Event::EntryInsert {
            pid,
            start: VirtAddr(new_start),
            end: VirtAddr(e.end),
        });
        Some(e)
    }

    fn resolved(&mut self, pid: Pid, va: u64, how: FaultResolution, pfn: Pfn) {
        self.ev.push_with(|| Event::FaultResolved {
            pid,
            va: VirtAddr(va),
            how,
            pfn,
        });
    }

    /// Case 1A/1B: the page already has an anon. A read maps it (read-only
    /// while it is shared or the amap needs copying); a write to an anon
    /// with other references copies it first (copy-on-write).
    fn fault_anon(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        anon: u32,
        access: Access,
    ) -> Result<(), AccessError> {
        let pin = self.reclaim_pin.replace(anon);
        let how = self.swap_in(pid, e, page, anon);
        let r = how.and_then(|how| {
            let r = self.fault_anon_mapped(pid, e, page, anon, access);
            self.swap_settle(anon, how, e, access);
            r
        });
        self.reclaim_pin = pin;
        r
    }

    /// [`Machine::fault_anon`] once the anon's page is in memory.
    fn fault_anon_mapped(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        anon: u32,
        access: Access,
    ) -> Result<(), AccessError> {
        let a = self.anons.get(anon).expect("live anon").clone();
        let a_pfn = a.pfn().expect("swapped in");
        self.anons.get_mut(anon).expect("live anon").at = Some((pid, page));
        let exec = e.prot.executable();
        if access != Access::Write {
            // A lent page is only ever mapped read-only (`uvm_fault_upper`
            // caps `enter_prot` while `loan_count` is set).
            let writable = e.prot.writable() && a.refs == 1 && !e.needs_copy && !self.lent(a_pfn);
            self.pmap_enter(pid, page, a_pfn, writable, exec)?;
            self.resolved(pid, page, FaultResolution::Remap, a_pfn);
            return Ok(());
        }
        if a.refs > 1 {
            let new_id = self.anons.insert(Anon {
                at: Some((pid, page)),
                ..Anon::resident(a_pfn)
            });
            let Ok(pfn) = self.alloc_page(FrameOwner::Anon { anon: new_id }) else {
                self.anons.remove(new_id);
                return Err(AccessError::OutOfMemory);
            };
            self.phys.copy_frame(a_pfn, pfn, &mut self.ev);
            self.anons.get_mut(new_id).expect("just made").page = AnonPage::Resident { pfn };
            if let Err(err) = self.pmap_enter(pid, page, pfn, true, exec) {
                self.anons.remove(new_id);
                self.phys.free(pfn, &mut self.ev);
                return Err(err);
            }
            let (amap, slot) = e.slot(page).expect("anon implies amap");
            let am = self.amaps.get_mut(amap).expect("live amap");
            am.set(slot, Some(new_id));
            // `amap_add(..., replace)`: a slot that several entries map at
            // once (a MAP_REMAPDUP view, minherit SHARE) now holds the
            // copy for all of them, so the old page leaves every other
            // mapping (`pmap_page_protect(VM_PROT_NONE)`); each faults the
            // page of its own amap back in.
            if am.max_refs_in(slot, slot + 1) > 1 {
                self.page_remove_all(a_pfn, Some((pid, page)));
            }
            self.anon_unref(anon);
            self.resolved(pid, page, FaultResolution::CowCopy, pfn);
        } else if self.lent(a_pfn) {
            // The sole owner would write the lent page in place: the anon
            // takes a copy instead (`uvm_fault_upper_loan`).
            self.loanbreak_anon(pid, e, page, anon, a_pfn)?;
        } else {
            let was_mapped = self.procs[&pid]
                .pmap
                .lookup(&self.phys, VirtAddr(page))
                .is_some();
            self.pmap_enter(pid, page, a_pfn, true, exec)?;
            // A lazily freed page written again stays lazily freed: the
            // write leaves its PTE dirty, and the next reclaim finds it so
            // and makes it swap-backed again (`folio_set_swapbacked` in
            // `shrink_folio_list`), keeping it for that pass.
            if was_mapped {
                // `wp_can_reuse_anon_folio`: the page this process alone
                // maps leaves the swap cache when no swap entry names its
                // slot any more (`folio_free_swap`, which dirties it).
                let _ = self.free_swap_cache(anon);
            }
            let how = if was_mapped {
                FaultResolution::CowReuse
            } else {
                FaultResolution::Remap
            };
            self.resolved(pid, page, how, a_pfn);
        }
        Ok(())
    }

    /// Untouched private anonymous memory: a read maps the shared zero page
    /// read-only (`do_anonymous_page`); a write takes a fresh zeroed frame
    /// into a new anon (UVM case 2B with no object).
    #[inline(always)]
    fn fault_zero(
        &mut self,
        pid: Pid,
        mut e: Entry,
        page: u64,
        access: Access,
    ) -> Result<(), AccessError> {
        if access != Access::Write && !self.uvm_rules() {
            // FreeBSD has no shared zero page for anonymous memory either: a
            // read fault allocates a zeroed page in the object as a write
            // does (`vm_fault` -> `vm_page_alloc` + zero fill), mapped with
            // the entry's protection but not modified. (UVM's read takes
            // the write path below: `uvm_fault_upper` case 2B.)
            if self.personality().kernel == crate::personality::Kernel::FreeBsd {
                self.amap_ensure(pid, &mut e);
                let pfn = self.new_anon_page_as(pid, &e, page, None, e.prot.writable())?;
                self.resolved(pid, page, FaultResolution::ZeroFill, pfn);
                return Ok(());
            }
            let zero = self.zero_pfn;
            self.pmap_enter(pid, page, zero, false, e.prot.executable())?;
            self.resolved(pid, page, FaultResolution::ZeroPage, zero);
            return Ok(());
        }
        self.amap_ensure(pid, &mut e);
        let pfn = self.new_anon_page(pid, &e, page, None)?;
        self.resolved(pid, page, FaultResolution::ZeroFill, pfn);
        Ok(())
    }

    /// Put a new anon in the slot for `page`, its frame zeroed or copied
    /// from `copy_from`, and map it writable.
    fn new_anon_page(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        copy_from: Option<Pfn>,
    ) -> Result<Pfn, AccessError> {
        self.new_anon_page_as(pid, e, page, copy_from, e.prot.writable())
    }

    /// [`Machine::new_anon_page`], mapped `writable` or read-only.
    fn new_anon_page_as(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        copy_from: Option<Pfn>,
        writable: bool,
    ) -> Result<Pfn, AccessError> {
        let id = self.anons.next_id();
        let Ok(pfn) = self.alloc_page(FrameOwner::Anon { anon: id }) else {
            return Err(AccessError::OutOfMemory);
        };
        if let Some(src) = copy_from {
            self.phys.copy_frame(src, pfn, &mut self.ev);
        }
        let made = self.anons.insert(Anon {
            at: Some((pid, page)),
            ..Anon::resident(pfn)
        });
        if made != id {
            // Reclaim for the frame freed anons (the OOM killer took a
            // process): the id expected is not the one given.
            self.phys.set_owner(pfn, FrameOwner::Anon { anon: made });
        }
        let id = made;
        if let Err(err) = self.pmap_enter(pid, page, pfn, writable, e.prot.executable()) {
            self.anons.remove(id);
            self.phys.free(pfn, &mut self.ev);
            return Err(err);
        }
        let (amap, slot) = e.slot(page).expect("amap ensured");
        let am = self.amaps.get_mut(amap).expect("live amap");
        am.set(slot, Some(id));
        // An amap shared through the BSDs' INHERIT_SHARE: the others that
        // map this slot still map what lay below it (the file's page, or
        // the one their parent copied); they must fault and find the new
        // anon (the CVE-2021-29626 fix, `tests/sys/vm/shared_shadow_inval_test.c`).
        if am.refs > 1 && self.personality().kernel != crate::personality::Kernel::Linux {
            self.unmap_slot_elsewhere(pid, amap, slot);
        }
        Ok(pfn)
    }

    /// Remove the leaves of every other mapping of slot `slot` of `amap`.
    fn unmap_slot_elsewhere(&mut self, pid: Pid, amap: u32, slot: u64) {
        let mut gone = Vec::new();
        for p in self.procs.values() {
            for e in p.map.entries.values() {
                if let Some(r) = e.aref
                    && r.amap == amap
                    && slot >= r.slotoff
                    && slot < r.slotoff + e.pages()
                {
                    let va = e.start + ((slot - r.slotoff) << crate::addr::PAGE_SHIFT);
                    if p.pid != pid {
                        gone.push((p.pid, va));
                    }
                }
            }
        }
        for (p, va) in gone {
            self.zap(p, va, va + PAGE_SIZE);
        }
    }

    /// FreeBSD's `vm_map_growstack`: a fault in the gap below a MAP_STACK
    /// entry grows the stack down to cover it, by a multiple of
    /// `sgrowsiz` (128 KiB) but never into the guard page left at the
    /// bottom of the gap, with the protection the gap keeps in its offset
    /// (`prot | PROT_MAX(max)`), even if the stack's lowest page has been
    /// given another one since (PR 272585). The grown part is an entry of
    /// its own (stacks never merge).
    fn grow_into_gap(&mut self, pid: Pid, gap: Entry, va: u64) -> Option<Entry> {
        use crate::personality::freebsd::{STACK_SIZE, abi::PROT_MAX_SHIFT};
        let stack = self.procs[&pid].map.entries.get(&gap.end)?.clone();
        if !stack.flags.contains(VmFlags::GROWSDOWN) {
            return None;
        }
        let guard = self.layout().stack_guard_gap;
        let page = va & !(PAGE_SIZE - 1);
        let need = stack.start - page;
        let max_grow = (gap.end - gap.start).checked_sub(guard)?;
        if need > max_grow {
            return None;
        }
        let grow = need
            .div_ceil(STACK_SIZE)
            .saturating_mul(STACK_SIZE)
            .min(max_grow);
        let new_start = stack.start - grow;
        let prot = crate::flags::Prot::from_raw(gap.pgoff);
        let max = crate::flags::Prot::from_raw(gap.pgoff >> PROT_MAX_SHIFT);
        let mut flags = VmFlags::GROWSDOWN;
        for (p, f) in [
            (crate::flags::Prot::READ, VmFlags::MAYREAD),
            (crate::flags::Prot::WRITE, VmFlags::MAYWRITE),
            (crate::flags::Prot::EXEC, VmFlags::MAYEXEC),
        ] {
            if max.contains(p) {
                flags |= f;
            }
        }
        if self.procs[&pid].def_flags.contains(VmFlags::LOCKED) {
            flags |= VmFlags::LOCKED;
        }
        self.unmap_range(pid, new_start, gap.end);
        self.map_region(
            pid,
            crate::vm::mapops::NewMapping {
                start: new_start,
                len: grow,
                prot,
                flags,
                object: None,
                pgoff: new_start >> crate::addr::PAGE_SHIFT,
                replace: false,
                populate: false,
            },
        );
        self.procs[&pid].map.find(va).cloned()
    }

    /// Private file mapping, page not yet copied: a read maps the page
    /// cache read-only, so later changes to the file show through (case
    /// 2A); a write copies the file's page into a new anon (case 2B,
    /// "promote"). A page wholly past the end of the file is SIGBUS.
    fn fault_file(
        &mut self,
        pid: Pid,
        mut e: Entry,
        page: u64,
        obj: u32,
        access: Access,
    ) -> Result<(), AccessError> {
        // `do_cow_fault` prepares the anon_vma before it reads the page, so
        // a write past the end of the file leaves one behind (which then
        // decides what the entry merges with).
        if access == Access::Write && e.anon_vma.is_none() {
            self.anon_vma_prepare(pid, e.start);
        }
        let index = e.object_index(page);
        if self.objects.get(obj).is_none_or(|o| o.beyond_eof(index)) {
            // FreeBSD raises SIGSEGV here, not SIGBUS: the failure its own
            // test suite expects of `mmap_truncate_signal` (bug 211924).
            let vnode = self
                .objects
                .get(obj)
                .is_some_and(|o| matches!(o.kind, crate::vm::object::ObjKind::File(_)));
            if vnode && self.personality().kernel == crate::personality::Kernel::FreeBsd {
                return Err(self.signal(pid, page, SignalCode::SegvMaperr));
            }
            return Err(self.signal(pid, page, SignalCode::BusAdrerr));
        }
        let cache = self
            .fault_in_cache(obj, index, e.flags)
            .ok_or(AccessError::OutOfMemory)?;
        if access != Access::Write {
            self.pmap_enter(pid, page, cache, false, e.prot.executable())?;
            self.resolved(pid, page, FaultResolution::PageCache, cache);
            return Ok(());
        }
        self.amap_ensure(pid, &mut e);
        let pfn = self.new_anon_page(pid, &e, page, Some(cache))?;
        self.resolved(pid, page, FaultResolution::FilePromote, pfn);
        Ok(())
    }

    /// Shared mapping of an object: map its page-cache frame. shmem pages
    /// map writable at once; a regular file's page maps read-only until the
    /// first write, which marks it dirty (`do_shared_fault`, `page_mkwrite`).
    fn fault_shared(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        access: Access,
    ) -> Result<(), AccessError> {
        let obj = e.object.expect("shared entries have an object");
        let index = e.object_index(page);
        let Some(o) = self.objects.get(obj) else {
            return Err(self.signal(pid, page, SignalCode::BusAdrerr));
        };
        if o.beyond_eof(index) {
            return Err(self.signal(pid, page, SignalCode::BusAdrerr));
        }
        let shmem = o.is_shmem();
        // A shmem page on swap is read back: a major fault, unless the
        // page is in the swap cache.
        let major = o
            .swap
            .get(&index)
            .is_some_and(|(_, cached)| cached.is_none());
        let mut pfn = self
            .fault_in_cache(obj, index, e.flags)
            .ok_or(AccessError::OutOfMemory)?;
        if major {
            self.proc_mut(pid).maj_flt += 1;
        }
        let write = access == Access::Write;
        let was_mapped = self.procs[&pid]
            .pmap
            .lookup(&self.phys, VirtAddr(page))
            .is_some();
        // A write to a lent page of the object replaces it in the object
        // by a copy (`uvm_fault_lower_direct_loan` -> `uvm_loanbreak`).
        let broke = self.breaks_loan(pfn, access);
        if broke {
            pfn = self
                .loanbreak_object(pid, Some(page), obj, index, pfn)
                .ok_or(AccessError::OutOfMemory)?;
        }
        self.pmap_enter(
            pid,
            page,
            pfn,
            e.prot.writable() && (write || shmem) && !self.lent(pfn),
            e.prot.executable(),
        )?;
        if write {
            self.phys.desc_mut(pfn).dirty = true;
        }
        let how = if broke {
            FaultResolution::LoanBreak
        } else if was_mapped {
            FaultResolution::WriteEnable
        } else {
            FaultResolution::PageCache
        };
        self.resolved(pid, page, how, pfn);
        if shmem && !write && !e.flags.contains(VmFlags::LOCKED) {
            self.fault_around(pid, e, obj, page);
        }
        Ok(())
    }

    /// `do_fault_around` (`fault_around_bytes` = 64 KiB) for a read fault
    /// on shmem: the other pages of the object that are in memory within
    /// the 16-page block around `page` (aligned in virtual address, clipped
    /// to the entry) are mapped too (`filemap_map_pages`). Pages on swap,
    /// or only in the swap cache, are not.
    fn fault_around(&mut self, pid: Pid, e: &Entry, obj: u32, page: u64) {
        const AROUND: u64 = 16 * PAGE_SIZE;
        let lo = (page & !(AROUND - 1)).max(e.start);
        let hi = ((page & !(AROUND - 1)) + AROUND).min(e.end);
        let mut va = lo;
        while va < hi {
            let here = va;
            va += PAGE_SIZE;
            if here == page || self.procs[&pid].guards.contains(&here) {
                continue;
            }
            let index = e.object_index(here);
            let Some(&pfn) = self.objects.get(obj).and_then(|o| o.pages.get(&index)) else {
                continue;
            };
            if self.procs[&pid]
                .pmap
                .lookup(&self.phys, VirtAddr(here))
                .is_some()
                || self.procs[&pid]
                    .pmap
                    .swap_entry(&self.phys, VirtAddr(here))
                    .is_some()
            {
                continue;
            }
            // Without a frame for a page table the neighbour simply stays
            // unmapped.
            let writable = e.prot.writable() && !self.lent(pfn);
            let _ = self.pmap_enter(pid, here, pfn, writable, e.prot.executable());
        }
    }

    /// Transparent huge pages in `madvise` mode: only in MADV_HUGEPAGE
    /// entries of private anonymous memory, for a 2 MiB-aligned block the
    /// entry covers whole, when nothing is mapped in it yet
    /// (`thp_vma_allowable_order`, `pmd_none`).
    #[inline(always)]
    fn thp_eligible(&self, pid: Pid, e: &Entry, page: u64) -> bool {
        if e.object.is_some()
            || !e.flags.contains(VmFlags::HUGEPAGE)
            || e.flags.contains(VmFlags::NOHUGEPAGE)
        {
            return false;
        }
        let block = page & !(HUGE_PAGE_SIZE - 1);
        if block < e.start || block + HUGE_PAGE_SIZE > e.end {
            return false;
        }
        // `transhuge_vma_suitable`: the object offset must line up too.
        if !((e.start >> 12).wrapping_sub(e.pgoff)).is_multiple_of(PAGES_PER_HUGE) {
            return false;
        }
        let p = &self.procs[&pid];
        // `pmd_none`: nothing maps the block yet, not even a page table.
        if p.pmap.pmd(&self.phys, VirtAddr(block)) != PmdState::None {
            return false;
        }
        // Guard markers are PTEs in Linux: their page table keeps the PMD
        // from being empty, so the block faults in 4 KiB pages.
        if p.guards
            .range(block..block + HUGE_PAGE_SIZE)
            .next()
            .is_some()
        {
            return false;
        }
        match e.slot(block) {
            Some((amap, first)) => {
                let am = self.amaps.get(amap).expect("live amap");
                (first..first + PAGES_PER_HUGE).all(|s| am.lookup(s).is_none())
            }
            None => true,
        }
    }

    /// Fault in a whole 2 MiB block: a write takes 512 contiguous zeroed
    /// frames (one anon each) mapped by one PD entry with PS set; a read
    /// maps the huge zero page. Returns false to fall back to 4 KiB pages
    /// when no aligned run of frames is free.
    fn fault_huge(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        access: Access,
    ) -> Result<bool, AccessError> {
        let block = page & !(HUGE_PAGE_SIZE - 1);
        let exec = e.prot.executable();
        if access != Access::Write {
            let zero = match self.huge_zero {
                Some(z) => z,
                None => match self.alloc_huge_run(|_| FrameOwner::Zero) {
                    Ok(z) => {
                        self.huge_zero = Some(z);
                        z
                    }
                    Err(_) => return Ok(false),
                },
            };
            self.anon_vma_prepare(pid, e.start);
            self.pmap_enter_huge(pid, block, zero, false, exec)?;
            self.resolved(pid, page, FaultResolution::HugeZeroPage, zero);
            return Ok(true);
        }
        let mut e = e.clone();
        self.amap_ensure(pid, &mut e);
        let Ok(base) = self.alloc_huge_run(|_| FrameOwner::None) else {
            return Ok(false);
        };
        if let Err(err) = self.pmap_enter_huge(pid, block, base, true, exec) {
            for i in 0..PAGES_PER_HUGE {
                self.phys.free(base.add(i), &mut self.ev);
            }
            return Err(err);
        }
        let (amap, first) = e.slot(block).expect("amap ensured");
        self.give_huge_anons(amap, first, base);
        self.resolved(pid, page, FaultResolution::HugeZeroFill, base);
        Ok(true)
    }

    /// Put the 2 MiB frame run from `base` into amap slots `first..+512`,
    /// one anon per 4 KiB piece (UVM's anons have no compound form; the
    /// run stays contiguous, which the PMD needs). Anons that held those
    /// slots are dropped.
    pub(crate) fn give_huge_anons(&mut self, amap: u32, first: u64, base: Pfn) {
        for i in 0..PAGES_PER_HUGE {
            let pfn = base.add(i);
            let id = self.anons.insert(Anon::resident(pfn));
            self.phys.set_owner(pfn, FrameOwner::Anon { anon: id });
            let am = self.amaps.get_mut(amap).expect("live amap");
            let old = am.lookup(first + i);
            am.set(first + i, Some(id));
            if let Some(old) = old {
                self.anon_unref(old);
            }
        }
    }

    /// The page-cache frame for a fault on page `index`. A miss in a
    /// regular file reads around it (`do_sync_mmap_readahead`): a window of
    /// 32 pages centred on the fault, clipped to the end of the file, or
    /// just the page under MADV_RANDOM. shmem has no readahead.
    fn fault_in_cache(&mut self, obj: u32, index: u64, flags: VmFlags) -> Option<Pfn> {
        let o = self.objects.get(obj)?;
        if !o.pages.contains_key(&index) && !o.is_shmem() && !flags.contains(VmFlags::RAND_READ) {
            let eof = o.size.div_ceil(PAGE_SIZE);
            let lo = index.saturating_sub(RA_PAGES / 2);
            let hi = (lo + RA_PAGES).min(eof);
            for i in lo..hi {
                if i != index {
                    self.cache_page(obj, i)?;
                }
            }
        }
        self.cache_page(obj, index)
    }

    pub(crate) fn pmap_enter_huge(
        &mut self,
        pid: Pid,
        va: u64,
        pfn: Pfn,
        writable: bool,
        executable: bool,
    ) -> Result<(), AccessError> {
        let p = self
            .procs
            .get_mut(&pid)
            .ok_or(AccessError::NoProcess(pid))?;
        let flush = p
            .pmap
            .enter_huge(
                &mut self.phys,
                VirtAddr(va),
                pfn,
                PteProt {
                    writable,
                    executable,
                },
                &mut self.ev,
            )
            .map_err(|_| AccessError::OutOfMemory)?;
        flush.flush(&mut self.tlb, &mut self.ev);
        Ok(())
    }
}
