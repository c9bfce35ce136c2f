//! Page loaning (NetBSD `uvm_loan.c`): pages of a process's memory lent
//! read-only to the kernel without copying them, as `sosend_loan` lends a
//! buffer written to a socket (`uvm_loan(map, va, len, v,
//! UVM_LOAN_TOPAGE)`), until the kernel gives them back (`uvm_unloan`).
//!
//! ```text
//!   user map of the lender          frames                 the borrower (a Loan)
//!   entry -> amap slot -> anon ---> [ page  loans=1 ] <--- pages[0]
//!   entry -> object page ---------> [ page  loans=2 ] <--- pages[1] (and another loan)
//!   untouched private anon -------> [ zero page     ] <--- pages[2] (uvm_loanzero)
//! ```
//!
//! Where each page comes from (`uvm_loanentry`, one page at a time):
//! 1. an anon in the entry's amap: its page, brought in from swap first
//!    (`uvm_loananon` with `uvmfault_anonget`);
//! 2. otherwise the entry's object: its page, read in (`uvm_loanuobj` with
//!    `pgo_get`). The hidden object of a shared anonymous mapping stands
//!    for UVM's shared amap here: an untouched page there has neither anon
//!    nor object page, and fails (case 4 below);
//! 3. otherwise, in a copy-on-write (private) entry: the shared zero page
//!    (`uvm_loanzero`, the page of `uvm_loanzero_object`);
//! 4. otherwise the loan fails.
//!
//! A page with no map entry fails with ENOENT (`uvmfault_lookup`); any
//! failure of `uvm_loanentry` (a wired page, a page that cannot be brought
//! in, case 4) with EINVAL. On failure the pages already lent are given
//! back (`uvm_unloanpage`), so a failed loan changes nothing.
//!
//! The rules while a page is on loan (the frame's `loans`, UVM's
//! `loan_count`):
//! - every user mapping of the page is read-only: the first loan
//!   write-protects it everywhere (`pmap_page_protect(pg, VM_PROT_READ)`,
//!   with the TLB shootdown), and faults never map it writable
//!   (`uvm_fault_upper_loan`, `uvm_fault_lower_direct_loan`);
//! - a write that would change the page in place breaks the loan for that
//!   page: an anon takes a copy (`uvm_loanbreak_anon`), an object page is
//!   replaced in the object by a copy (`uvm_loanbreak` + `uvm_pagereplace`);
//!   every mapping of the old page is removed, so all of them, and `pread`,
//!   see the copy. A copy-on-write fault copies as usual and leaves the
//!   lent page alone. The borrower keeps the old page either way;
//! - the owner freeing the page only disowns it (`uvm_pagefree`,
//!   `uvm_anfree`): it stays, an orphan ([`FrameOwner::Loaned`]), until its
//!   last loan ends;
//! - the page is on no paging queue (`uvm_pagedequeue`): the page daemon
//!   never reclaims or swaps out a lent page. Reclaim and MADV_PAGEOUT here
//!   skip it the same way (`vm/reclaim.rs`, `exclusive_anon`).
//!
//! Loaning is a mechanism of the machine, like the amaps it reads: it does
//! not look at the personality (the scenario language offers it only under
//! NetBSD, the one kernel of the three that has it).

use crate::addr::{PAGE_SIZE, Pfn, VirtAddr};
use crate::arch::x86_64::mmu::Access;
use crate::arch::x86_64::pte::PteFlags;
use crate::errno::{SysError, SysResult, einval, enoent, enomem, esrch};
use crate::event::{Event, FaultResolution, Pid};
use crate::machine::{AccessError, Machine};
use crate::phys::FrameOwner;
use crate::pmap::PteProt;
use crate::vm::anon::AnonPage;
use crate::vm::map::Entry;
use crate::vm::object::ObjKind;
use core::fmt;
use serde::Serialize;
use std::collections::BTreeSet;

/// Most pages one loan may hold (256 MiB): the borrower's array of page
/// pointers must be allocated (`sosend_loan` lends at most 64 KiB at a
/// time); a loan that reaches past it fails with ENOMEM there, unless a
/// page before it failed first.
pub const LOAN_MAX_PAGES: u64 = 1 << 16;

/// A loan, as the borrower holds it. Only [`Machine::loan`] makes one, and
/// numbers are never reused, so an id names one loan for the machine's
/// life: once that loan ends, the id stays invalid.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct LoanId(u64);

impl LoanId {
    /// The loan's number (1 for the machine's first loan).
    pub fn number(self) -> u64 {
        self.0
    }
}

impl fmt::Display for LoanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loan #{}", self.0)
    }
}

/// Why [`Machine::loan_read`] could not read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, thiserror::Error)]
pub enum LoanError {
    /// The loan was ended by [`Machine::unloan`].
    #[error("{0} has ended")]
    Ended(LoanId),
    /// The offset is not inside the loaned pages.
    #[error("offset {off:#x} is outside {loan} ({len:#x} bytes)")]
    OutOfRange { loan: LoanId, off: u64, len: u64 },
}

/// One loan: the pages `pid` lent from `start`, in order.
#[derive(Clone, Debug, Serialize)]
pub struct Loan {
    pub id: LoanId,
    /// The process whose map the pages were lent from (it may have exited).
    pub pid: Pid,
    /// `trunc_page(addr)`: offset 0 of the loan.
    pub start: u64,
    /// The frame lent for each page.
    pub pages: Vec<Pfn>,
}

impl Loan {
    /// The loan's length in bytes.
    pub fn len(&self) -> u64 {
        self.pages.len() as u64 * PAGE_SIZE
    }
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

/// Where `uvm_loanentry` takes one page from.
enum Source {
    Anon(u32),
    Object(u32, u64),
    Zero,
}

impl Machine {
    /// Lend the pages of `[trunc_page(addr), round_page(addr + len))` of
    /// `pid`'s map to the kernel (`uvm_loan` with `UVM_LOAN_TOPAGE`).
    ///
    /// => returns the loan, whose pages the borrower reads with
    ///    [`Machine::loan_read`] until [`Machine::unloan`].
    /// => `ESRCH`: no process `pid`. `ENOENT`: a page of the range has no
    ///    map entry (or the range wraps past the end of the address
    ///    space). `EINVAL`: a page is wired (mlocked), an untouched page of
    ///    a shared anonymous mapping, a file page past the end of the file,
    ///    or a page that could not be brought in for want of memory.
    ///    `ENOMEM`: more than [`LOAN_MAX_PAGES`] pages (the first failure
    ///    met, page by page, is the one returned), or the OOM killer chose
    ///    `pid` meanwhile. On failure nothing stays lent.
    pub fn loan(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<LoanId> {
        self.proc_ref(pid)?;
        self.running = pid;
        let start = addr & !(PAGE_SIZE - 1);
        let end = addr
            .checked_add(len)
            .and_then(|e| crate::addr::align_up(e, PAGE_SIZE));
        let id = LoanId(self.next_loan);
        let r = match end {
            None => Err((
                addr,
                enoent("the range wraps past the end of the address space"),
                0,
            )),
            Some(end) => self.loan_pages(pid, id, start, end),
        };
        let r = match r {
            Ok(pages) if self.oom_pending == Some(pid) => {
                let returned = self.give_back(&pages);
                Err((start, enomem("the OOM killer chose the lender"), returned))
            }
            r => r,
        };
        if let Err((va, e, returned)) = r {
            self.ev.push_with(|| Event::LoanRefused {
                pid,
                va: VirtAddr(va),
                errno: e.errno.name(),
                reason: e.reason,
                returned,
            });
        }
        self.oom_reap_pending();
        let pages = r.map_err(|(_, e, _)| e)?;
        self.next_loan += 1;
        // The first loan of a page write-protects every mapping of it (a
        // page lent before has none writable left: nothing to do there).
        let lent: BTreeSet<Pfn> = pages
            .iter()
            .copied()
            .filter(|&p| p != self.zero_pfn)
            .collect();
        self.page_protect_read(&lent);
        self.ev.push_with(|| Event::Loan {
            loan: id.0,
            pid,
            start: VirtAddr(start),
            pages: pages.len() as u64,
        });
        self.loans.insert(
            id,
            Loan {
                id,
                pid,
                start,
                pages,
            },
        );
        Ok(id)
    }

    /// `uvm_loan`'s loop: lend each page of `[start, end)` in turn. On a
    /// failure the pages lent so far are given back, and the failing
    /// address, the error and how many were given back are returned.
    fn loan_pages(
        &mut self,
        pid: Pid,
        id: LoanId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Pfn>, (u64, SysError, u64)> {
        let n = ((end - start) / PAGE_SIZE).min(LOAN_MAX_PAGES);
        let mut pages = Vec::with_capacity(n as usize);
        let mut va = start;
        while va < end {
            if pages.len() as u64 == LOAN_MAX_PAGES {
                let e = enomem("more pages than one loan may hold (LOAN_MAX_PAGES)");
                return Err((va, e, self.give_back(&pages)));
            }
            match self.loan_one(pid, va) {
                Ok(pfn) => {
                    self.phys.loan_inc(pfn);
                    let loans = self.phys.desc(pfn).loans;
                    self.ev.push_with(|| Event::LoanPage {
                        loan: id.0,
                        va: VirtAddr(va),
                        pfn,
                        loans,
                    });
                    pages.push(pfn);
                }
                Err(e) => return Err((va, e, self.give_back(&pages))),
            }
            va += PAGE_SIZE;
        }
        Ok(pages)
    }

    /// A failed loan gives back the pages it had lent (`uvm_unloanpage`
    /// in `uvm_loan`'s failure path). Returns how many.
    fn give_back(&mut self, pages: &[Pfn]) -> u64 {
        for &pfn in pages {
            self.unloan_page(pfn);
        }
        pages.len() as u64
    }

    /// One loan of `pfn` ends (`uvm_unloanpage`): an orphan whose last
    /// loan this was is freed (returns true); an anon's page with no loan
    /// left goes back on a paging queue (`uvm_pageactivate`), when reclaim
    /// keeps queues at all (a swap area is on, `alloc_page`).
    fn unloan_page(&mut self, pfn: Pfn) -> bool {
        if self.phys.loan_dec(pfn, &mut self.ev) {
            return true;
        }
        if self.phys.desc(pfn).loans == 0
            && self.swap.is_some()
            && matches!(self.phys.desc(pfn).owner, FrameOwner::Anon { .. })
        {
            self.phys.lru_add(pfn, crate::phys::LruList::Active);
        }
        false
    }

    /// `uvm_loanentry` for the page at `va`: the frame to lend, resident.
    fn loan_one(&mut self, pid: Pid, va: u64) -> SysResult<Pfn> {
        let e = self
            .procs
            .get(&pid)
            .ok_or(esrch("no such process"))?
            .map
            .find(va)
            .cloned()
            .ok_or(enoent("no map entry there (uvmfault_lookup)"))?;
        let src = self.loan_source(&e, va)?;
        let pfn = match src {
            Source::Anon(anon) => self.loan_anon_page(anon)?,
            Source::Object(obj, index) => self.loan_object_page(obj, index)?,
            Source::Zero => return Ok(self.zero_pfn),
        };
        if self.phys.desc(pfn).wired > 0 {
            return Err(einval("the page is wired (mlocked)"));
        }
        Ok(pfn)
    }

    /// Which of `uvm_loanentry`'s cases the page at `va` of `e` is.
    fn loan_source(&self, e: &Entry, va: u64) -> SysResult<Source> {
        if let Some((amap, slot)) = e.slot(va)
            && let Some(anon) = self.amaps.get(amap).and_then(|a| a.lookup(slot))
        {
            return Ok(Source::Anon(anon));
        }
        if let Some(obj) = e.object {
            let index = e.object_index(va);
            let o = self.objects.get(obj).ok_or(einval("the object is gone"))?;
            if o.kind == ObjKind::Shmem
                && !o.pages.contains_key(&index)
                && !o.swap.contains_key(&index)
            {
                return Err(einval(
                    "untouched page of a shared anonymous mapping: no anon to lend",
                ));
            }
            if o.beyond_eof(index) {
                return Err(einval("the page lies past the end of the file"));
            }
            return Ok(Source::Object(obj, index));
        }
        if e.is_shared() {
            return Err(einval("no anon and no object page to lend"));
        }
        Ok(Source::Zero)
    }

    /// `uvm_loananon`: the anon's page, read back from swap first
    /// (`uvmfault_anonget`); it stays in the swap cache as any page read in.
    fn loan_anon_page(&mut self, anon: u32) -> SysResult<Pfn> {
        let a = self.anons.get(anon).ok_or(einval("the anon is gone"))?;
        match a.page {
            AnonPage::Resident { pfn } | AnonPage::Cached { pfn, .. } => Ok(pfn),
            AnonPage::Swapped { slot } => {
                self.read_into_cache(anon, slot)
                    .map_err(|_| einval("out of memory reading the page from swap"))?;
                self.anons
                    .get(anon)
                    .and_then(|a| a.pfn())
                    .ok_or(einval("the anon is gone"))
            }
        }
    }

    /// `uvm_loanuobj`: the object's page, read in if it is not cached
    /// (`pgo_get`).
    fn loan_object_page(&mut self, obj: u32, index: u64) -> SysResult<Pfn> {
        self.cache_page(obj, index)
            .ok_or(einval("out of memory reading the page in"))
    }

    /// Read the byte at `off` from the start of `loan`: what the borrower
    /// (the socket's reader) receives. Not a process's access: no fault,
    /// no TLB.
    pub fn loan_read(&self, loan: LoanId, off: u64) -> Result<u8, LoanError> {
        let l = self.loans.get(&loan).ok_or(LoanError::Ended(loan))?;
        let i = off / PAGE_SIZE;
        let pfn = *l
            .pages
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .ok_or(LoanError::OutOfRange {
                loan,
                off,
                len: l.len(),
            })?;
        Ok(self.phys.read_u8(pfn.addr().offset(off % PAGE_SIZE)))
    }

    /// End `loan` (`uvm_unloan` -> `uvm_unloanpage`): each page loses one
    /// loan; an orphan whose last loan this was is freed, and an anon's
    /// page goes back on a paging queue (`uvm_pageactivate`).
    ///
    /// => `EINVAL` if the loan has ended already.
    pub fn unloan(&mut self, loan: LoanId) -> SysResult<()> {
        let l = self
            .loans
            .remove(&loan)
            .ok_or(einval("the loan has ended already"))?;
        let mut freed = 0;
        for &pfn in &l.pages {
            if self.unloan_page(pfn) {
                freed += 1;
            }
        }
        self.ev.push_with(|| Event::Unloan {
            loan: loan.0,
            pages: l.pages.len() as u64,
            freed,
        });
        Ok(())
    }

    /// The loans in force, oldest first.
    pub fn loans(&self) -> impl Iterator<Item = &Loan> {
        self.loans.values()
    }

    /// One loan, if it is in force.
    pub fn loan_info(&self, loan: LoanId) -> Option<&Loan> {
        self.loans.get(&loan)
    }

    /// The loans holding frame `pfn` (who borrowed it), oldest first.
    pub fn borrowers(&self, pfn: Pfn) -> Vec<LoanId> {
        if self.phys.desc(pfn).loans == 0 {
            return Vec::new();
        }
        self.loans
            .values()
            .filter(|l| l.pages.contains(&pfn))
            .map(|l| l.id)
            .collect()
    }

    /// Every present leaf of every process that maps one of `pfns`, as
    /// (pid, page address, writable, executable): the reverse map, found
    /// by one pass over the page tables (UVM keeps pv lists for this).
    fn leaves_mapping(&self, pfns: &BTreeSet<Pfn>) -> Vec<(Pid, u64, bool, bool)> {
        let mut out = Vec::new();
        if pfns.is_empty() {
            return out;
        }
        for (&pid, p) in &self.procs {
            p.pmap.for_each_leaf(&self.phys, |va, pte, level| {
                let flags = pte.flags();
                if !flags.contains(PteFlags::PRESENT) {
                    return;
                }
                let span = if level == 2 { 512 } else { 1 };
                let base = pte.pfn();
                for i in 0..span {
                    if pfns.contains(&base.add(i)) {
                        out.push((
                            pid,
                            va.as_u64() + i * PAGE_SIZE,
                            flags.contains(PteFlags::WRITABLE),
                            !flags.contains(PteFlags::NO_EXECUTE),
                        ));
                    }
                }
            });
        }
        out
    }

    /// `pmap_page_protect(pg, VM_PROT_READ)` for each of `pfns`: every
    /// writable mapping loses write access, with its INVLPG. A 2 MiB
    /// mapping is split first, so only the lent page turns read-only.
    fn page_protect_read(&mut self, pfns: &BTreeSet<Pfn>) {
        for (pid, va, writable, executable) in self.leaves_mapping(pfns) {
            if !writable {
                continue;
            }
            let Some(p) = self.procs.get_mut(&pid) else {
                continue;
            };
            let flush = p.pmap.protect(
                &mut self.phys,
                VirtAddr(va),
                VirtAddr(va + PAGE_SIZE),
                PteProt {
                    writable: false,
                    executable,
                },
                &mut self.ev,
            );
            flush.flush(&mut self.tlb, &mut self.ev);
        }
    }

    /// `pmap_page_protect(pg, VM_PROT_NONE)`: every mapping of `pfn` goes
    /// (each process faults the page back in from its owner), but the
    /// faulting leaf `writer`, which the fault replaces with the copy (and
    /// whose wiring the fault path has taken off already, `vm/wire.rs`).
    fn page_remove_all(&mut self, pfn: Pfn, writer: Option<(Pid, u64)>) {
        let one = BTreeSet::from([pfn]);
        for (pid, va, _, _) in self.leaves_mapping(&one) {
            if writer != Some((pid, va)) {
                self.zap(pid, va, va + PAGE_SIZE);
            }
        }
    }

    /// Whether frame `pfn` is on loan (faults must not map it writable).
    #[inline]
    pub(crate) fn lent(&self, pfn: Pfn) -> bool {
        self.phys.desc(pfn).loans > 0
    }

    /// `uvm_loanbreak_anon`: a write fault by `pid` at `page` of `e` on
    /// `anon` (one reference, not needing a copy), whose page is on loan.
    /// The anon takes a copy of the page in a new frame; every mapping of
    /// the old one is removed (so every process that shares the anon
    /// faults the copy in), and the old page stays with the borrower,
    /// owned by nobody else. The writer maps the copy writable.
    pub(crate) fn loanbreak_anon(
        &mut self,
        pid: Pid,
        e: &Entry,
        page: u64,
        anon: u32,
        old: Pfn,
    ) -> Result<(), AccessError> {
        let new = self.alloc_page(FrameOwner::Anon { anon })?;
        if self.anons.get(anon).and_then(|a| a.pfn()) != Some(old) {
            // Reclaim for the frame changed the anon (the OOM killer took a
            // process): retry the fault from the start.
            self.phys.free(new, &mut self.ev);
            return Err(AccessError::OutOfMemory);
        }
        self.phys.copy_frame(old, new, &mut self.ev);
        self.page_remove_all(old, Some((pid, page)));
        let a = self.anons.get_mut(anon).expect("live anon");
        a.page = match a.page {
            AnonPage::Cached { slot, .. } => AnonPage::Cached { pfn: new, slot },
            _ => AnonPage::Resident { pfn: new },
        };
        a.lazyfree = false;
        self.phys.disown(old);
        self.ev.push_with(|| Event::LoanBreak {
            pid,
            va: Some(VirtAddr(page)),
            old,
            new,
            anon: true,
        });
        self.pmap_enter(pid, page, new, true, e.prot.executable())?;
        self.ev.push_with(|| Event::FaultResolved {
            pid,
            va: VirtAddr(page),
            how: FaultResolution::LoanBreak,
            pfn: new,
        });
        Ok(())
    }

    /// `uvm_loanbreak` + `uvm_pagereplace`: page `index` of `obj`, in frame
    /// `old`, is on loan and is about to be written in place. A copy takes
    /// its place in the object (dirty, as the old one was or is about to
    /// be); every mapping of the old page is removed, so every mapping and
    /// `pread` see the copy. The old page stays with the borrower. Returns
    /// the copy's frame.
    pub(crate) fn loanbreak_object(
        &mut self,
        pid: Pid,
        va: Option<u64>,
        obj: u32,
        index: u64,
        old: Pfn,
    ) -> Option<Pfn> {
        let new = self
            .alloc_page(FrameOwner::Cache { object: obj, index })
            .ok()?;
        if self.objects.get(obj).and_then(|o| o.pages.get(&index)) != Some(&old) {
            self.phys.free(new, &mut self.ev);
            return None;
        }
        self.phys.copy_frame(old, new, &mut self.ev);
        self.page_remove_all(old, va.map(|va| (pid, va)));
        self.objects
            .get_mut(obj)
            .expect("live object")
            .pages
            .insert(index, new);
        self.phys.desc_mut(new).dirty = true;
        self.phys.disown(old);
        self.ev.push_with(|| Event::LoanBreak {
            pid,
            va: va.map(VirtAddr),
            old,
            new,
            anon: false,
        });
        Some(new)
    }

    /// A write into page `index` of `obj` through the page cache (`pwrite`,
    /// the zeroing of a partial page by truncation: `ubc_fault` breaks the
    /// loan): the page the write may change, a copy if it was on loan.
    pub(crate) fn cache_page_for_write(&mut self, pid: Pid, obj: u32, index: u64) -> Option<Pfn> {
        let pfn = self.cache_page(obj, index)?;
        if !self.lent(pfn) {
            return Some(pfn);
        }
        self.loanbreak_object(pid, None, obj, index, pfn)
    }

    /// Whether a fault for `access` on lent frame `pfn` must break the loan
    /// (a write) rather than map it read-only.
    #[inline]
    pub(crate) fn breaks_loan(&self, pfn: Pfn, access: Access) -> bool {
        access == Access::Write && self.lent(pfn)
    }
}
