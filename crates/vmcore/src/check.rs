//! `Machine::check`: the invariants of the whole machine, as code. Tests
//! call it after every step; a failure names the first broken rule.
//!
//! 1. Map entries are ordered, page aligned, non-overlapping, in user space.
//! 2. Amap references: `refs` = entries pointing at the amap; `ppref[i]` =
//!    entries covering slot i; uncovered slots hold no anon.
//! 3. Anon references: `refs` = amap slots pointing at the anon; its frame
//!    is allocated and owned by it.
//! 4. Object references: name + open files + entries; cache frames owned.
//! 5. Frame accounting: every allocated frame has exactly one owner that
//!    knows it (anon, page cache, a live page table, the zero pages): no
//!    leak, no double use.
//! 6. Page tables against entries: every present leaf lies in an entry,
//!    maps the page the entry says (the anon's frame, else the object's
//!    cache frame, else the zero page) and is no more permissive than the
//!    entry; a writable private page is exclusively owned.
//! 7. Each frame's mapcount equals the leaf PTEs that map it; its wired
//!    count equals the pages of VM_LOCKED entries whose leaf maps it (the
//!    zero pages never count; see `vm/wire.rs`).
//! 8. TLB coherence: every cached translation is what a walk would give
//!    now, with no more permission than the PTE.
//! 9. Loans (`vm/loan.rs`): each frame's loan count equals the pages of
//!    live loans that hold it; a lent frame is allocated, on no LRU list
//!    and mapped read-only everywhere (6); a frame owned by its loans alone
//!    (an orphan) has at least one, and nothing else owns it.

use crate::addr::{PAGE_SIZE, PAGES_PER_HUGE, Pfn, VirtAddr};
use crate::arch::x86_64::mmu::{self, WalkOutcome};
use crate::arch::x86_64::pte::PteFlags;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::phys::FrameOwner;
use crate::vm::swap::SwapOwner;
use std::collections::{BTreeMap, BTreeSet};

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

impl Machine {
    /// Verify every invariant; `Err` describes the first one broken.
    pub fn check(&self) -> Result<(), String> {
        let mut amap_refs: BTreeMap<u32, u32> = BTreeMap::new();
        // Coverage of each amap: (first slot, end slot) per entry.
        let mut cover: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
        let mut obj_refs: BTreeMap<u32, u32> = BTreeMap::new();
        let mut of_refs: BTreeMap<u32, u32> = BTreeMap::new();
        let mut owned: BTreeSet<u64> = BTreeSet::new();
        let mut mapcount: BTreeMap<u64, u32> = BTreeMap::new();
        let mut wired: BTreeMap<u64, u32> = BTreeMap::new();

        let mut own = |pfn: Pfn, what: &str| -> Result<(), String> {
            ensure!(owned.insert(pfn.0), "frame {pfn} owned twice ({what})");
            Ok(())
        };
        own(self.zero_pfn, "zero page")?;
        if let Some(z) = self.huge_zero {
            for i in 0..PAGES_PER_HUGE {
                own(z.add(i), "huge zero page")?;
            }
        }

        for (&pid, p) in &self.procs {
            // 1. entries
            let mut last_end = 0;
            if let Err(msg) = p.map.entries.check() {
                return Err(format!("p{pid}: {msg}"));
            }
            for e in &p.map.entries {
                let s = e.start;
                ensure!(e.start < e.end, "p{pid}: empty entry at {s:#x}");
                ensure!(
                    e.start % PAGE_SIZE == 0 && e.end % PAGE_SIZE == 0,
                    "p{pid}: unaligned entry {s:#x}"
                );
                ensure!(e.start >= last_end, "p{pid}: entries overlap at {s:#x}");
                ensure!(
                    e.end <= self.layout().task_size,
                    "p{pid}: entry beyond user space"
                );
                last_end = e.end;
                if let Some(r) = e.aref {
                    *amap_refs.entry(r.amap).or_default() += 1;
                    let am = self
                        .amaps
                        .get(r.amap)
                        .ok_or(format!("p{pid}: entry {s:#x} has a dead amap"))?;
                    ensure!(
                        r.slotoff + e.pages() <= am.nslots(),
                        "p{pid}: entry {s:#x} runs past its amap's slots"
                    );
                    cover
                        .entry(r.amap)
                        .or_default()
                        .push((r.slotoff, r.slotoff + e.pages()));
                }
                ensure!(
                    !(e.is_shared() && e.aref.is_some()),
                    "p{pid}: shared entry {s:#x} has an amap"
                );
                if let Some(o) = e.object {
                    *obj_refs.entry(o).or_default() += 1;
                }
            }
            for &g in &p.guards {
                ensure!(
                    p.map.find(g).is_some(),
                    "p{pid}: guard page {g:#x} outside every entry"
                );
                ensure!(
                    p.pmap.lookup(&self.phys, VirtAddr(g)).is_none(),
                    "p{pid}: guard page {g:#x} has a PTE"
                );
            }
            for &of in p.fds.values() {
                *of_refs.entry(of).or_default() += 1;
            }
            // page tables
            for (pfn, _) in p.pmap.table_frames(&self.phys) {
                own(pfn, "page table")?;
            }
            // 6. leaves against entries
            let mut err = None;
            p.pmap.for_each_leaf(&self.phys, |va, pte, level| {
                if err.is_some() {
                    return;
                }
                let span = if level == 2 { PAGES_PER_HUGE } else { 1 };
                for i in 0..span {
                    let a = va.as_u64() + i * PAGE_SIZE;
                    let pfn = pte.pfn().add(i);
                    *mapcount.entry(pfn.0).or_default() += 1;
                    if p.map
                        .find(a)
                        .is_some_and(|e| e.flags.contains(VmFlags::LOCKED))
                        && self.phys.desc(pfn).owner != FrameOwner::Zero
                    {
                        *wired.entry(pfn.0).or_default() += 1;
                    }
                    if let Err(x) = self.check_leaf(pid, a, pfn, pte.flags()) {
                        err = Some(x);
                        return;
                    }
                }
            });
            if let Some(x) = err {
                return Err(x);
            }
        }

        // 2. amaps
        for (id, am) in self.amaps.iter() {
            let refs = amap_refs.get(&id).copied().unwrap_or(0);
            ensure!(
                am.refs == refs,
                "amap {id}: refs {} but {refs} entries point at it",
                am.refs
            );
            // Recount the coverage run by run and compare.
            let spans = cover.get(&id).cloned().unwrap_or_default();
            for (lo, hi, c) in am.runs() {
                let mut cuts: Vec<u64> = vec![lo, hi];
                for &(a, b) in &spans {
                    cuts.extend([a, b].into_iter().filter(|&x| x > lo && x < hi));
                }
                cuts.sort_unstable();
                cuts.dedup();
                for w in cuts.windows(2) {
                    let want = spans
                        .iter()
                        .filter(|&&(a, b)| a <= w[0] && w[1] <= b)
                        .count() as u32;
                    ensure!(
                        c == want,
                        "amap {id}: slots {}..{} covered {c} times, by {want} entries",
                        w[0],
                        w[1]
                    );
                    if want == 0 {
                        ensure!(
                            am.anons_in(w[0], w[1]).is_empty(),
                            "amap {id}: an anon in slots nobody covers"
                        );
                    }
                }
            }
        }
        // 3. anons
        let mut anon_refs: BTreeMap<u32, u32> = BTreeMap::new();
        for (_, am) in self.amaps.iter() {
            for (_, a) in am.iter() {
                *anon_refs.entry(a).or_default() += 1;
            }
        }
        let mut swap_owner = BTreeMap::new();
        for (id, a) in self.anons.iter() {
            let refs = anon_refs.get(&id).copied().unwrap_or(0);
            ensure!(
                a.refs == refs && refs > 0,
                "anon {id}: refs {} but {refs} slots point at it",
                a.refs
            );
            if let Some(pfn) = a.pfn() {
                ensure!(
                    self.phys.is_allocated(pfn),
                    "anon {id}: frame {pfn} is free"
                );
                ensure!(
                    self.phys.desc(pfn).owner == FrameOwner::Anon { anon: id },
                    "anon {id}: frame {pfn} is owned by {:?}",
                    self.phys.desc(pfn).owner
                );
                own(pfn, "anon")?;
            }
            if let Some(slot) = a.slot() {
                let area = self
                    .swap
                    .as_ref()
                    .ok_or(format!("anon {id}: swap slot {} with no area", slot.0))?;
                ensure!(
                    area.cached(slot) == a.pfn().is_some(),
                    "anon {id}: slot {} swap-cache state disagrees",
                    slot.0
                );
                ensure!(
                    swap_owner.insert(slot, SwapOwner::Anon(id)).is_none(),
                    "slot {} belongs to two anons",
                    slot.0
                );
            }
        }
        ensure!(
            anon_refs.keys().all(|a| self.anons.get(*a).is_some()),
            "an amap slot points at a dead anon"
        );
        // 4. objects and open files
        for (id, f) in self.open_files.iter() {
            let refs = of_refs.get(&id).copied().unwrap_or(0);
            ensure!(
                f.refs == refs,
                "open file {id}: refs {} but {refs} descriptors",
                f.refs
            );
            *obj_refs.entry(f.object).or_default() += 1;
        }
        for &o in self.files.values() {
            *obj_refs.entry(o).or_default() += 1;
        }
        for (id, o) in self.objects.iter() {
            let refs = obj_refs.get(&id).copied().unwrap_or(0);
            ensure!(
                o.refs == refs,
                "object {id}: refs {} but {refs} holders",
                o.refs
            );
            for (&index, &pfn) in &o.pages {
                ensure!(
                    self.phys.desc(pfn).owner == FrameOwner::Cache { object: id, index },
                    "object {id}: cache page {index} frame {pfn} misowned"
                );
                own(pfn, "page cache")?;
            }
            for (&index, &(slot, cached)) in &o.swap {
                ensure!(
                    !o.pages.contains_key(&index),
                    "object {id}: page {index} both cached and on swap"
                );
                if let Some(pfn) = cached {
                    ensure!(
                        self.phys.desc(pfn).owner == FrameOwner::Cache { object: id, index },
                        "object {id}: swap-cache page {index} frame {pfn} misowned"
                    );
                    own(pfn, "shmem swap cache")?;
                }
                let area = self
                    .swap
                    .as_ref()
                    .ok_or(format!("object {id}: page {index} on swap with no area"))?;
                ensure!(
                    area.cached(slot) == cached.is_some(),
                    "object {id}: slot {} swap-cache state disagrees",
                    slot.0
                );
                let owner = SwapOwner::Shmem { object: id, index };
                ensure!(
                    swap_owner.insert(slot, owner).is_none(),
                    "slot {} has two owners",
                    slot.0
                );
            }
        }
        self.check_swap(&swap_owner)?;
        // 9. loans
        let mut lent: BTreeMap<u64, u32> = BTreeMap::new();
        for (id, l) in &self.loans {
            ensure!(*id == l.id, "{id}: filed under another id");
            ensure!(
                id.number() < self.next_loan,
                "{id}: numbered past the next loan"
            );
            for &pfn in &l.pages {
                ensure!(self.phys.is_allocated(pfn), "{id}: frame {pfn} is free");
                *lent.entry(pfn.0).or_default() += 1;
            }
        }
        for (&pfn, &n) in &lent {
            let d = self.phys.desc(Pfn(pfn));
            ensure!(
                d.loans == n,
                "frame {pfn}: loan count {} but {n} loaned pages hold it",
                d.loans
            );
            ensure!(
                d.lru == crate::phys::LruList::None,
                "frame {pfn}: on loan but on an LRU list"
            );
            if d.owner == FrameOwner::Loaned {
                own(Pfn(pfn), "orphan kept by its loans")?;
            }
        }
        // 5. frame accounting
        let allocated: BTreeSet<u64> = self.phys.allocated().map(|p| p.0).collect();
        ensure!(
            allocated == owned,
            "frame accounting: {} allocated, {} owned (leaked: {:?}, unallocated in use: {:?})",
            allocated.len(),
            owned.len(),
            allocated.difference(&owned).take(5).collect::<Vec<_>>(),
            owned.difference(&allocated).take(5).collect::<Vec<_>>()
        );
        ensure!(
            self.phys.free_frames() + allocated.len() as u64 == self.phys.total_frames(),
            "free count {} + allocated {} != total {}",
            self.phys.free_frames(),
            allocated.len(),
            self.phys.total_frames()
        );
        // 7. mapcounts and wiring
        let wired_sum: u64 = wired.values().map(|&w| w as u64).sum();
        ensure!(
            self.phys.wired_total() == wired_sum,
            "wired total {} but locked mappings {wired_sum}",
            self.phys.wired_total()
        );
        for &pfn in &allocated {
            let loans = lent.get(&pfn).copied().unwrap_or(0);
            ensure!(
                self.phys.desc(Pfn(pfn)).loans == loans,
                "frame {pfn}: loan count {} but {loans} loaned pages hold it",
                self.phys.desc(Pfn(pfn)).loans
            );
            let want = wired.get(&pfn).copied().unwrap_or(0);
            let have = self.phys.desc(Pfn(pfn)).wired;
            ensure!(
                have == want,
                "frame {pfn}: wired {have} but {want} locked mappings map it"
            );
            // A page-table frame's count is its used entries instead.
            if matches!(self.phys.desc(Pfn(pfn)).owner, FrameOwner::PageTable { .. }) {
                continue;
            }
            let want = mapcount.get(&pfn).copied().unwrap_or(0);
            let have = self.phys.desc(Pfn(pfn)).mapcount;
            let kind = self.phys.kind_bytes()[pfn as usize];
            ensure!(
                kind == self.phys.desc(Pfn(pfn)).owner.kind() as u8
                    | if have > 1 { crate::phys::SHARED_BIT } else { 0 },
                "frame {pfn}: kind byte {kind:#x} disagrees with its descriptor"
            );
            ensure!(
                have == want,
                "frame {pfn}: mapcount {have} but {want} PTEs map it"
            );
        }
        // 8. TLB coherence
        let live: BTreeMap<u16, &crate::machine::Process> =
            self.procs.values().map(|p| (p.pmap.asid(), p)).collect();
        for (set, way, t) in self.tlb.entries() {
            let p = live.get(&t.asid).ok_or(format!(
                "TLB set {set} way {way}: entry of a dead address space"
            ))?;
            let va = VirtAddr(t.vpn * PAGE_SIZE);
            let w = mmu::walk(&self.phys, p.pmap.cr3(), va);
            match w.outcome {
                WalkOutcome::Mapped {
                    pfn,
                    huge,
                    writable,
                    executable,
                    ..
                } => {
                    ensure!(
                        pfn == t.pfn && huge == t.huge,
                        "TLB: stale translation for {va} in asid {}",
                        t.asid
                    );
                    ensure!(
                        !t.writable || writable,
                        "TLB: {va} writable in the TLB but not in the PTE"
                    );
                    ensure!(
                        !t.executable || executable,
                        "TLB: {va} executable in the TLB but NX in the PTE"
                    );
                }
                WalkOutcome::NotMapped { .. } => {
                    return Err(format!(
                        "TLB: translation for unmapped {va} in asid {} (a missing INVLPG)",
                        t.asid
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_leaf(&self, pid: u32, va: u64, pfn: Pfn, flags: PteFlags) -> Result<(), String> {
        let p = &self.procs[&pid];
        let e = p
            .map
            .find(va)
            .ok_or(format!("p{pid}: PTE for {va:#x} outside every entry"))?;
        // A PROTNONE leaf (P clear) grants nothing; it belongs in PROT_NONE
        // entries and only there.
        let present = flags.contains(PteFlags::PRESENT);
        let w = present && flags.contains(PteFlags::WRITABLE);
        let x = present && !flags.contains(PteFlags::NO_EXECUTE);
        ensure!(
            !w || self.phys.desc(pfn).loans == 0,
            "p{pid}: {va:#x} maps lent frame {pfn} writable"
        );
        ensure!(
            !w || e.prot.writable(),
            "p{pid}: {va:#x} writable PTE in a read-only entry"
        );
        ensure!(
            !x || e.prot.executable(),
            "p{pid}: {va:#x} executable PTE in a no-exec entry"
        );
        ensure!(
            present == e.prot.readable(),
            "p{pid}: {va:#x} {} PTE in a {} entry",
            if present { "present" } else { "PROTNONE" },
            if e.prot.readable() {
                "readable"
            } else {
                "PROT_NONE"
            }
        );
        let anon = e
            .slot(va)
            .and_then(|(a, s)| self.amaps.get(a).and_then(|am| am.lookup(s)));
        if let Some(a) = anon {
            let an = self
                .anons
                .get(a)
                .ok_or(format!("p{pid}: {va:#x} dead anon"))?;
            ensure!(
                an.pfn() == Some(pfn),
                "p{pid}: {va:#x} maps frame {pfn} but its anon holds {:?}",
                an.pfn()
            );
            ensure!(
                !w || (an.refs == 1 && !e.needs_copy),
                "p{pid}: {va:#x} writable while shared copy-on-write"
            );
            return Ok(());
        }
        let is_zero = pfn == self.zero_pfn
            || self
                .huge_zero
                .is_some_and(|z| pfn.0 >= z.0 && pfn.0 < z.0 + PAGES_PER_HUGE);
        if is_zero {
            ensure!(!w, "p{pid}: {va:#x} zero page mapped writable");
            ensure!(
                e.object.is_none(),
                "p{pid}: {va:#x} zero page in a file mapping"
            );
            return Ok(());
        }
        let obj = e.object.ok_or(format!(
            "p{pid}: {va:#x} maps frame {pfn}, which is not its page"
        ))?;
        let cached = self
            .objects
            .get(obj)
            .and_then(|o| o.pages.get(&e.object_index(va)).copied());
        ensure!(
            cached == Some(pfn),
            "p{pid}: {va:#x} maps frame {pfn}, not the page-cache frame {cached:?}"
        );
        ensure!(
            !w || e.is_shared(),
            "p{pid}: {va:#x} private file page mapped writable"
        );
        Ok(())
    }
}
