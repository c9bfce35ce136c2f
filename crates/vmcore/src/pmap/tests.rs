use super::*;
use crate::addr::HUGE_PAGE_SIZE;
use crate::arch::x86_64::mmu::{Access, PfErrorCode, WalkOutcome, translate, walk};
use crate::arch::x86_64::tlb::Tlb;
use crate::event::Event;
use std::collections::BTreeMap;

struct Rig {
    phys: PhysMem,
    tlb: Tlb,
    ev: EventLog,
    pmap: Pmap,
}

impl Rig {
    fn new(frames: u64) -> Rig {
        let mut phys = PhysMem::new(frames);
        let mut ev = EventLog::new(true);
        let pmap = Pmap::new(&mut phys, 7, &mut ev).unwrap();
        ev.take();
        Rig {
            phys,
            tlb: Tlb::new(16, 4),
            ev,
            pmap,
        }
    }
    fn frame(&mut self) -> Pfn {
        self.phys
            .alloc(FrameOwner::Anon { anon: 0 }, &mut self.ev)
            .unwrap()
    }
    fn enter(&mut self, va: u64, pfn: Pfn, prot: PteProt) -> TlbFlush {
        self.pmap
            .enter(&mut self.phys, VirtAddr(va), pfn, prot, &mut self.ev)
            .unwrap()
    }
    fn go(&mut self, va: u64, a: Access) -> Result<PhysAddr, crate::arch::x86_64::PageFault> {
        let cr3 = self.pmap.cr3();
        translate(
            &mut self.phys,
            &mut self.tlb,
            cr3,
            7,
            VirtAddr(va),
            a,
            &mut self.ev,
        )
    }
    /// Every invariant the pmap keeps, checked from the frames.
    fn check(&self) {
        let mut resident = 0;
        let mut maps: BTreeMap<Pfn, u32> = BTreeMap::new();
        for (t, level) in self.pmap.table_frames(&self.phys) {
            assert!(self.phys.is_allocated(t));
            assert_eq!(
                self.phys.desc(t).owner,
                FrameOwner::PageTable { asid: 7, level }
            );
            let nonzero = (0..ENTRIES)
                .filter(|&i| !rd(&self.phys, t, i).is_unused())
                .count();
            assert_eq!(
                used(&self.phys, t) as usize,
                nonzero,
                "count of table {t} level {level}"
            );
        }
        self.pmap.for_each_leaf(&self.phys, |_, pte, level| {
            let n = if level == 2 { PAGES_PER_HUGE } else { 1 };
            resident += n;
            for i in 0..n {
                *maps.entry(pte.pfn().add(i)).or_default() += 1;
            }
        });
        assert_eq!(resident, self.pmap.resident_pages());
        for p in self.phys.allocated() {
            assert_eq!(
                self.phys.desc(p).mapcount,
                maps.get(&p).copied().unwrap_or(0),
                "mapcount of {p}"
            );
        }
    }
}

#[test]
fn enter_builds_tables_and_lookup_agrees_with_the_walk() {
    let mut r = Rig::new(4096);
    let page = r.frame();
    r.ev.take();
    let va = 0x7f00_1234_5000;
    let f = r.enter(va, page, PteProt::READ_WRITE);
    assert!(f.is_empty(), "a fresh PTE needs no flush");
    f.ignore();
    let evs = r.ev.take();
    let levels: Vec<u8> = evs
        .iter()
        .filter_map(|e| match e {
            Event::TableAlloc { level, .. } => Some(*level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, vec![3, 2, 1]);
    assert!(matches!(
        evs.last(),
        Some(Event::PteWrite {
            level: 1,
            old: 0,
            ..
        })
    ));
    assert_eq!(r.pmap.resident_pages(), 1);
    assert_eq!(r.phys.desc(page).mapcount, 1);
    let m = r.pmap.lookup(&r.phys, VirtAddr(va + 0x123)).unwrap();
    assert_eq!(
        m,
        Mapping {
            pfn: page,
            present: true,
            writable: true,
            executable: false,
            dirty: false,
            accessed: false,
            huge: false
        }
    );
    assert_eq!(r.pmap.lookup(&r.phys, VirtAddr(va + 0x1000)), None);
    let w = walk(&r.phys, r.pmap.cr3(), VirtAddr(va));
    for s in &w.steps[..3] {
        assert_eq!(
            s.entry.flags(),
            PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::USER
        );
    }
    assert_eq!(
        w.steps[3].entry.flags(),
        PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::USER | PteFlags::NO_EXECUTE
    );
    assert!(matches!(w.outcome, WalkOutcome::Mapped { pfn, .. } if pfn == page));
    // The MMU agrees and sets A/D, which lookup then reports.
    assert_eq!(r.go(va + 9, Access::Write), Ok(PhysAddr(page.addr().0 + 9)));
    let m = r.pmap.lookup(&r.phys, VirtAddr(va)).unwrap();
    assert!(m.dirty && m.accessed);
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    assert_eq!(r.pmap.table_frames(&r.phys)[0], (r.pmap.cr3(), 4));
    r.check();
}

#[test]
fn replacing_a_leaf_owes_a_flush_and_the_tlb_stays_stale_until_it_is_done() {
    let mut r = Rig::new(4096);
    let (a, b) = (r.frame(), r.frame());
    let va = 0x40_0000;
    r.enter(va, a, PteProt::READ_WRITE).ignore();
    assert_eq!(r.go(va, Access::Write), Ok(a.addr()));
    let f = r.enter(va, b, PteProt::READ_WRITE);
    assert_eq!(f.pages(), &[VirtAddr(va)]);
    assert_eq!(r.phys.desc(a).mapcount, 0);
    // An anonymous page keeps no D bit of a leaf that goes (a file page
    // would: `pmap_remove` tests below).
    assert!(
        !r.phys.desc(a).dirty,
        "D of an anonymous page is not carried"
    );
    assert_eq!(r.phys.desc(b).mapcount, 1);
    // Not flushed yet: the CPU still writes to the old frame.
    assert_eq!(r.go(va, Access::Write), Ok(a.addr()));
    r.ev.take();
    f.flush(&mut r.tlb, &mut r.ev);
    assert_eq!(
        r.ev.take(),
        vec![Event::TlbFlushPage {
            asid: 7,
            va: VirtAddr(va),
            removed: 1
        }]
    );
    assert_eq!(r.go(va, Access::Write), Ok(b.addr()));
    r.check();
}

#[test]
fn no_memory_changes_nothing() {
    let mut r = Rig::new(1024);
    let page = r.frame();
    while r.phys.free_frames() > 2 {
        r.frame();
    }
    let before = r.phys.free_frames();
    let err = r.pmap.enter(
        &mut r.phys,
        VirtAddr(0x1000),
        page,
        PteProt::READ,
        &mut r.ev,
    );
    assert_eq!(err.unwrap_err(), PmapError::NoMemory);
    assert_eq!(r.phys.free_frames(), before);
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
    assert_eq!(r.phys.desc(page).mapcount, 0);
    r.check();
    // With exactly enough frames it works.
    let mut r2 = Rig::new(1024);
    let p = r2.frame();
    while r2.phys.free_frames() > 3 {
        r2.frame();
    }
    r2.enter(0x1000, p, PteProt::READ).ignore();
    assert_eq!(r2.phys.free_frames(), 0);
    assert!(
        r2.pmap
            .enter_huge(
                &mut r2.phys,
                VirtAddr(1 << 39),
                Pfn(512),
                PteProt::READ,
                &mut r2.ev
            )
            .is_err()
    );
    r2.check();
}

#[test]
fn remove_keeps_tables_and_reports_pages() {
    let mut r = Rig::new(4096);
    let free0 = r.phys.free_frames();
    let pages: Vec<Pfn> = (0..3).map(|_| r.frame()).collect();
    let base = 0x1234_0000_0000;
    for (i, &p) in pages.iter().enumerate() {
        r.enter(base + i as u64 * 0x1000, p, PteProt::READ_WRITE)
            .ignore();
    }
    r.go(base + 0x1000, Access::Write).unwrap();
    r.ev.take();
    // Remove the middle page: tables stay.
    let (f, un) = r.pmap.remove(
        &mut r.phys,
        VirtAddr(base + 0x1000),
        VirtAddr(base + 0x2000),
        &mut r.ev,
    );
    assert_eq!(un.len(), 1);
    assert_eq!(
        (un[0].va, un[0].pfn, un[0].dirty, un[0].accessed),
        (VirtAddr(base + 0x1000), pages[1], true, true)
    );
    assert_eq!(f.pages(), &[VirtAddr(base + 0x1000)]);
    f.flush(&mut r.tlb, &mut r.ev);
    assert!(r.go(base + 0x1000, Access::Read).is_err());
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    r.check();
    // Even told that nothing is mapped around, free_tables never
    // frees a table that still holds a leaf.
    r.pmap.free_tables(
        &mut r.phys,
        VirtAddr(base + 0x1000),
        VirtAddr(base + 0x2000),
        0,
        u64::MAX,
        &mut r.ev,
    );
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    assert!(r.go(base, Access::Read).is_ok());
    r.check();
    // Remove the rest with a vast range: the tables stay (as
    // `zap_page_range` leaves them), empty.
    r.ev.take();
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
    f.ignore();
    assert_eq!(
        un.iter().map(|u| u.pfn).collect::<Vec<_>>(),
        vec![pages[0], pages[2]]
    );
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    r.check();
    // free_tables with a floor or ceiling inside the PT's 2 MiB span
    // keeps the PT (a neighbour could use it), and so its parents.
    let pt_base = base & !0x1f_ffff;
    for (floor, ceiling) in [(pt_base + 0x1000, u64::MAX), (0, pt_base + 0x1f_f000)] {
        r.pmap.free_tables(
            &mut r.phys,
            VirtAddr(base),
            VirtAddr(base + 0x3000),
            floor,
            ceiling,
            &mut r.ev,
        );
        assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    }
    // The room between the mappings covers it all: PT, PD and PDPT go.
    r.ev.take();
    r.pmap.free_tables(
        &mut r.phys,
        VirtAddr(base),
        VirtAddr(base + 0x3000),
        pt_base,
        pt_base + 0x20_0000,
        &mut r.ev,
    );
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 3, "only the PT");
    r.pmap.free_tables(
        &mut r.phys,
        VirtAddr(base),
        VirtAddr(base + 0x3000),
        0,
        u64::MAX,
        &mut r.ev,
    );
    let freed: Vec<u8> =
        r.ev.take()
            .iter()
            .filter_map(|e| match e {
                Event::TableFree { level, .. } => Some(*level),
                _ => None,
            })
            .collect();
    assert_eq!(freed, vec![1, 2, 3]);
    assert_eq!(r.pmap.table_frames(&r.phys), vec![(r.pmap.cr3(), 4)]);
    assert_eq!(r.pmap.resident_pages(), 0);
    assert_eq!(used(&r.phys, r.pmap.cr3()), 0);
    r.check();
    for p in pages {
        r.phys.free(p, &mut r.ev);
    }
    assert_eq!(r.phys.free_frames(), free0, "only the PML4 is left");
    // Empty ranges, odd ranges: nothing happens, nothing breaks.
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(5 << 12), VirtAddr(1 << 12), &mut r.ev);
    assert!(f.is_empty() && un.is_empty());
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(u64::MAX), &mut r.ev);
    assert!(f.is_empty() && un.is_empty());
}

#[test]
fn many_pages_flush_the_whole_asid() {
    let mut r = Rig::new(4096);
    for i in 0..40 {
        let p = r.frame();
        r.enter(i * 0x1000, p, PteProt::READ_WRITE).ignore();
        r.go(i * 0x1000, Access::Read).unwrap();
    }
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(40 * 0x1000), &mut r.ev);
    assert_eq!(un.len(), 40);
    assert!(f.is_all());
    r.ev.take();
    f.flush(&mut r.tlb, &mut r.ev);
    assert!(matches!(
        r.ev.take()[..],
        [Event::TlbFlushAsid { asid: 7, .. }]
    ));
    assert!(r.tlb.entries().is_empty());
    // Up to 33 pages flush one by one.
    let mut f = TlbFlush::none(7);
    for i in 0..33 {
        f.add(VirtAddr(i << 12));
    }
    f.add(VirtAddr(32 << 12));
    assert!(!f.is_all() && f.pages().len() == 33);
    assert_eq!(f.pages()[5], VirtAddr(5 << 12));
    let mut g = TlbFlush::page(7, VirtAddr(99 << 12));
    g.merge(f);
    assert!(g.is_all());
    g.ignore();
    r.check();
}

#[test]
fn flush_lists_few_pages_then_covers_a_range() {
    let mut f = TlbFlush::none(7);
    for p in [3u64, 1, 3, 8] {
        f.add(VirtAddr(p << 12 | 0x10));
    }
    let pages = |f: &TlbFlush| f.pages().iter().map(|v| v.0 >> 12).collect::<Vec<_>>();
    assert_eq!(
        pages(&f),
        vec![3, 1, 3, 8],
        "listed as given, a repeat of the last merged"
    );
    f.add(VirtAddr(5 << 12));
    assert_eq!(
        pages(&f),
        (1..=8).collect::<Vec<_>>(),
        "one range over all of them"
    );
    let mut g = TlbFlush::page(7, VirtAddr(20 << 12));
    g.merge(f);
    assert_eq!(pages(&g), (1..=20).collect::<Vec<_>>());
    assert!(!g.is_all());
    // The events are one INVLPG per page of the range.
    let mut tlb = Tlb::new(16, 4);
    let mut ev = EventLog::new(true);
    g.flush(&mut tlb, &mut ev);
    let evs = ev.take();
    assert_eq!(evs.len(), 20);
    assert_eq!(
        evs[0],
        Event::TlbFlushPage {
            asid: 7,
            va: VirtAddr(1 << 12),
            removed: 0
        }
    );
    let mut h = TlbFlush::page(7, VirtAddr(0));
    h.merge(TlbFlush::page(7, VirtAddr(34 << 12)));
    for p in [10, 11, 12] {
        h.add(VirtAddr(p << 12));
    }
    assert!(h.is_all(), "35 pages: past the ceiling");
    assert!(h.pages().is_empty());
    h.ignore();
}

#[test]
fn huge_mapping_translate_and_demote() {
    let mut r = Rig::new(4096);
    let run = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
        .unwrap();
    let va = 0x6000_0000;
    r.ev.take();
    r.pmap
        .enter_huge(
            &mut r.phys,
            VirtAddr(va),
            run,
            PteProt::READ_WRITE,
            &mut r.ev,
        )
        .unwrap()
        .ignore();
    assert_eq!(r.pmap.resident_pages(), 512);
    assert!((0..512).all(|i| r.phys.desc(run.add(i)).mapcount == 1));
    let m = r.pmap.lookup(&r.phys, VirtAddr(va + 0x5_5000)).unwrap();
    assert!(m.huge && m.writable);
    assert_eq!(m.pfn, run.add(0x55));
    assert_eq!(
        r.go(va + 0x5_5010, Access::Write),
        Ok(PhysAddr(run.add(0x55).addr().0 + 0x10))
    );
    assert!(r.tlb.contains(7, VirtAddr(va)).unwrap().huge);
    r.check();
    let mut leaves = Vec::new();
    r.pmap
        .for_each_leaf(&r.phys, |va, _, level| leaves.push((va, level)));
    assert_eq!(leaves, vec![(VirtAddr(va), 2)]);
    // Demote: 512 PTEs with the same bits, A/D copied.
    r.ev.take();
    let f = r
        .pmap
        .demote(&mut r.phys, VirtAddr(va + 0x1000), &mut r.ev)
        .unwrap();
    assert_eq!(f.pages(), &[VirtAddr(va)]);
    let evs = r.ev.take();
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::HugeDemote { va: v, .. } if *v == VirtAddr(va)))
    );
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::TableAlloc { level: 1, .. }))
    );
    assert_eq!(r.pmap.resident_pages(), 512);
    for i in [0u64, 0x55, 511] {
        let m = r.pmap.lookup(&r.phys, VirtAddr(va + i * 0x1000)).unwrap();
        assert!(!m.huge && m.writable && m.dirty && m.accessed && !m.executable);
        assert_eq!(m.pfn, run.add(i));
    }
    // Before the flush the huge TLB entry still answers; after, 4K walks.
    assert!(r.tlb.contains(7, VirtAddr(va + 0x7000)).unwrap().huge);
    f.flush(&mut r.tlb, &mut r.ev);
    assert_eq!(r.go(va + 0x7000, Access::Read), Ok(run.add(7).addr()));
    assert!(!r.tlb.contains(7, VirtAddr(va + 0x7000)).unwrap().huge);
    r.check();
    let f = r.pmap.demote(&mut r.phys, VirtAddr(va), &mut r.ev).unwrap();
    assert!(f.is_empty(), "not huge any more: no-op");
    f.ignore();
}

#[test]
fn remove_of_huge_whole_and_partial() {
    let mut r = Rig::new(4096);
    let run = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
        .unwrap();
    let va = 0x20_0000 * 5;
    r.pmap
        .enter_huge(&mut r.phys, VirtAddr(va), run, PteProt::READ, &mut r.ev)
        .unwrap()
        .ignore();
    // Partial: a demote, then only the range goes.
    let (f, un) = r.pmap.remove(
        &mut r.phys,
        VirtAddr(va + 0x1000),
        VirtAddr(va + 0x3000),
        &mut r.ev,
    );
    assert_eq!(un.len(), 2);
    assert_eq!(un[0].pfn, run.add(1));
    assert!(
        f.pages().contains(&VirtAddr(va)),
        "the huge TLB entry is flushed"
    );
    f.ignore();
    assert_eq!(r.pmap.resident_pages(), 510);
    assert!(
        r.pmap
            .lookup(&r.phys, VirtAddr(va))
            .is_some_and(|m| !m.huge)
    );
    assert!(r.pmap.lookup(&r.phys, VirtAddr(va + 0x2000)).is_none());
    r.check();
    // Whole: 512 reports from a fresh huge mapping, tables freed.
    let run2 = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 2 }, &mut r.ev)
        .unwrap();
    let va2 = va + 0x20_0000;
    r.pmap
        .enter_huge(&mut r.phys, VirtAddr(va2), run2, PteProt::READ, &mut r.ev)
        .unwrap()
        .ignore();
    let (f, un) = r.pmap.remove(
        &mut r.phys,
        VirtAddr(va2),
        VirtAddr(va2 + 0x20_0000),
        &mut r.ev,
    );
    f.ignore();
    assert_eq!(un.len(), 512);
    assert!(
        un.iter()
            .enumerate()
            .all(|(i, u)| u.pfn == run2.add(i as u64) && u.va == VirtAddr(va2 + i as u64 * 0x1000))
    );
    r.check();
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 40), &mut r.ev);
    f.ignore();
    assert_eq!(un.len(), 510);
    // The tables stay until free_tables, which frees them all here.
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 4);
    r.pmap.free_tables(
        &mut r.phys,
        VirtAddr(0),
        VirtAddr(1 << 40),
        0,
        u64::MAX,
        &mut r.ev,
    );
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
    r.check();
}

#[test]
fn enter_huge_reuses_an_empty_page_table_slot() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x40_1000, p, PteProt::READ).ignore();
    // Leave the PT in place but empty by writing through the pmap: remove
    // would free it, so clear it by hand like a caller that zapped it.
    let slot = r.pmap.find_leaf(&r.phys, VirtAddr(0x40_1000)).unwrap();
    let (pt, idx) = (slot.table, slot.idx);
    wr(&mut r.phys, pt, idx, Pte(0));
    used_dec(&mut r.phys, pt);
    r.phys.desc_mut(p).mapcount = 0;
    r.pmap.resident -= 1;
    let run = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
        .unwrap();
    r.ev.take();
    r.pmap
        .enter_huge(
            &mut r.phys,
            VirtAddr(0x40_0000),
            run,
            PteProt::ALL,
            &mut r.ev,
        )
        .unwrap()
        .ignore();
    assert!(r.ev.take().contains(&Event::TableFree {
        asid: 7,
        level: 1,
        pfn: pt
    }));
    assert!(!r.phys.is_allocated(pt));
    assert!(
        r.pmap
            .lookup(&r.phys, VirtAddr(0x40_1000))
            .is_some_and(|m| m.huge && m.executable)
    );
    r.check();
    // enter of a 4K page inside the huge one demotes it first.
    let q = r.frame();
    let f = r.enter(0x40_3000, q, PteProt::READ);
    assert!(f.pages().contains(&VirtAddr(0x40_0000)) && f.pages().contains(&VirtAddr(0x40_3000)));
    f.ignore();
    assert_eq!(r.phys.desc(run.add(3)).mapcount, 0);
    assert_eq!(r.pmap.lookup(&r.phys, VirtAddr(0x40_3000)).unwrap().pfn, q);
    assert_eq!(
        r.pmap.lookup(&r.phys, VirtAddr(0x40_4000)).unwrap().pfn,
        run.add(4)
    );
    assert_eq!(r.pmap.resident_pages(), 512);
    r.check();
}

#[test]
fn protect_keeps_ad_and_owes_flushes() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    r.go(0x1000, Access::Write).unwrap();
    let f = r.pmap.protect(
        &mut r.phys,
        VirtAddr(0),
        VirtAddr(0x10_0000),
        PteProt::READ_EXEC,
        &mut r.ev,
    );
    assert_eq!(f.pages(), &[VirtAddr(0x1000)]);
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x1000)).unwrap();
    assert!(!m.writable && m.executable && m.dirty && m.accessed);
    // Stale: the write still goes through until the flush.
    assert!(r.go(0x1000, Access::Write).is_ok());
    f.flush(&mut r.tlb, &mut r.ev);
    let e = r.go(0x1000, Access::Write).unwrap_err();
    assert_eq!(
        e.code,
        PfErrorCode::PRESENT | PfErrorCode::WRITE | PfErrorCode::USER
    );
    assert!(r.go(0x1000, Access::Execute).is_ok());
    // Same protection again: nothing to write, nothing owed.
    let f = r.pmap.protect(
        &mut r.phys,
        VirtAddr(0),
        VirtAddr(0x10_0000),
        PteProt::READ_EXEC,
        &mut r.ev,
    );
    assert!(f.is_empty());
    f.ignore();
    // Partial protect of a huge page demotes it.
    let run = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut r.ev)
        .unwrap();
    r.pmap
        .enter_huge(
            &mut r.phys,
            VirtAddr(0x20_0000),
            run,
            PteProt::READ_WRITE,
            &mut r.ev,
        )
        .unwrap()
        .ignore();
    r.pmap
        .protect(
            &mut r.phys,
            VirtAddr(0x20_0000),
            VirtAddr(0x20_2000),
            PteProt::READ,
            &mut r.ev,
        )
        .ignore();
    assert!(
        !r.pmap
            .lookup(&r.phys, VirtAddr(0x20_1000))
            .unwrap()
            .writable
    );
    assert!(
        r.pmap
            .lookup(&r.phys, VirtAddr(0x20_2000))
            .unwrap()
            .writable
    );
    // Whole huge page: one PD entry changes, PS kept.
    let run2 = r
        .phys
        .alloc_huge(|_| FrameOwner::Anon { anon: 2 }, &mut r.ev)
        .unwrap();
    r.pmap
        .enter_huge(
            &mut r.phys,
            VirtAddr(0x40_0000),
            run2,
            PteProt::READ_WRITE,
            &mut r.ev,
        )
        .unwrap()
        .ignore();
    let f = r.pmap.protect(
        &mut r.phys,
        VirtAddr(0x40_0000),
        VirtAddr(0x60_0000),
        PteProt::READ,
        &mut r.ev,
    );
    assert_eq!(f.pages(), &[VirtAddr(0x40_0000)]);
    f.ignore();
    assert!(
        r.pmap
            .lookup(&r.phys, VirtAddr(0x40_0000))
            .is_some_and(|m| m.huge && !m.writable)
    );
    r.check();
}

#[test]
fn clear_dirty_and_accessed() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x5000, p, PteProt::READ_WRITE).ignore();
    let f = r.pmap.clear_dirty(&mut r.phys, VirtAddr(0x5000), &mut r.ev);
    assert!(f.is_empty(), "D was clear");
    f.ignore();
    r.go(0x5000, Access::Write).unwrap();
    let f = r.pmap.clear_dirty(&mut r.phys, VirtAddr(0x5123), &mut r.ev);
    assert_eq!(f.pages(), &[VirtAddr(0x5000)]);
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap();
    assert!(!m.dirty && m.accessed);
    // The cached dirty entry hides the next write from the PTE until flushed.
    r.go(0x5000, Access::Write).unwrap();
    assert!(!r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().dirty);
    f.flush(&mut r.tlb, &mut r.ev);
    r.go(0x5000, Access::Write).unwrap();
    assert!(r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().dirty);
    r.pmap
        .clear_accessed(&mut r.phys, VirtAddr(0x5000), &mut r.ev)
        .ignore();
    assert!(!r.pmap.lookup(&r.phys, VirtAddr(0x5000)).unwrap().accessed);
    let f = r
        .pmap
        .clear_accessed(&mut r.phys, VirtAddr(0x9000), &mut r.ev);
    assert!(f.is_empty(), "unmapped: no-op");
    f.ignore();
    r.check();
}

#[test]
fn upper_half_addresses_and_leaf_order() {
    let mut r = Rig::new(4096);
    let (a, b, c) = (r.frame(), r.frame(), r.frame());
    let hi = 0xffff_8000_0000_1000;
    r.enter(hi, a, PteProt::READ).ignore();
    r.enter(0x7fff_ffff_f000, b, PteProt::READ).ignore();
    r.enter(0x1000, c, PteProt::READ).ignore();
    let mut seen = Vec::new();
    r.pmap
        .for_each_leaf(&r.phys, |va, pte, _| seen.push((va, pte.pfn())));
    assert_eq!(
        seen,
        vec![
            (VirtAddr(0x1000), c),
            (VirtAddr(0x7fff_ffff_f000), b),
            (VirtAddr(hi), a)
        ]
    );
    let (f, un) = r.pmap.remove(
        &mut r.phys,
        VirtAddr(0xffff_8000_0000_0000),
        VirtAddr(0xffff_ffff_ffff_f000),
        &mut r.ev,
    );
    f.ignore();
    assert_eq!(un.len(), 1);
    assert_eq!(un[0].va, VirtAddr(hi));
    r.check();
}

#[test]
fn visit_tables_sees_every_table_and_leaf_in_order() {
    #[derive(Default)]
    struct Seen {
        tables: Vec<(Pfn, u8, u64, u64)>,
        leaves: Vec<(u64, bool)>,
        depth: usize,
        stop_after: Option<usize>,
        cut: bool,
    }
    impl TableVisitor for Seen {
        fn table(&mut self, pfn: Pfn, level: u8, start: VirtAddr, last: VirtAddr, _: u32) {
            self.depth += 1;
            self.tables.push((pfn, level, start.0, last.0));
        }
        fn entry(&mut self, _: usize, _: Pte, va: VirtAddr, level: u8, leaf: bool) -> bool {
            if leaf {
                if self.stop_after == Some(self.leaves.len()) {
                    return false;
                }
                self.leaves.push((va.0, level == 2));
            }
            true
        }
        fn end_table(&mut self, cut: bool) {
            self.cut |= cut;
            self.depth -= 1;
        }
    }
    let mut r = Rig::new(4096);
    let base = 0x7f12_3456_0000u64;
    for i in 0..3 {
        let f = r.frame();
        r.enter(base + i * 0x1000, f, PteProt::READ_WRITE).ignore();
    }
    let f = r.frame();
    r.enter(0x1000, f, PteProt::READ_WRITE).ignore();
    let mut seen = Seen::default();
    r.pmap.visit_tables(&r.phys, &mut seen);
    assert_eq!(seen.depth, 0, "every table ended");
    assert!(!seen.cut);
    // One PML4, then per address region a PDPT, PD and PT, lowest first.
    let levels: Vec<u8> = seen.tables.iter().map(|t| t.1).collect();
    assert_eq!(levels, [4, 3, 2, 1, 3, 2, 1]);
    assert_eq!(seen.tables[0].0, r.pmap.cr3());
    assert_eq!((seen.tables[0].2, seen.tables[0].3), (0, u64::MAX));
    let pt = seen.tables[6];
    assert_eq!(
        (pt.2, pt.3),
        (base & !0x1f_ffff, (base & !0x1f_ffff) + 0x1f_ffff)
    );
    let frames: Vec<(Pfn, u8)> = seen.tables.iter().map(|t| (t.0, t.1)).collect();
    assert_eq!(frames, r.pmap.table_frames(&r.phys));
    assert_eq!(
        seen.leaves,
        [
            (0x1000, false),
            (base, false),
            (base + 0x1000, false),
            (base + 0x2000, false)
        ]
    );
    // Stopping a table early is reported as a cut.
    let mut some = Seen {
        stop_after: Some(2),
        ..Seen::default()
    };
    r.pmap.visit_tables(&r.phys, &mut some);
    assert!(some.cut);
    assert_eq!(some.leaves.len(), 2);
    assert_eq!(some.depth, 0);
}

#[test]
fn destroy_returns_every_table_frame() {
    let mut r = Rig::new(4096);
    let start = r.phys.free_frames() + 1; // + the PML4
    let p = r.frame();
    for i in 0..10u64 {
        r.enter(i << 30, p, PteProt::READ).ignore();
    }
    let (f, _) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
    f.ignore();
    r.enter(0x1000, p, PteProt::READ).ignore();
    r.pmap
        .remove(&mut r.phys, VirtAddr(0x1000), VirtAddr(0x2000), &mut r.ev)
        .0
        .ignore();
    let pmap = r.pmap.clone();
    pmap.destroy(&mut r.phys, &mut r.ev);
    r.phys.free(p, &mut r.ev);
    assert_eq!(r.phys.free_frames(), start);
}

/// Random enter/enter_huge/remove/protect/demote against a model map.
#[test]
fn random_operations_keep_every_invariant() {
    let mut r = Rig::new(8192);
    let mut model: BTreeMap<u64, Pfn> = BTreeMap::new(); // vpn -> pfn
    let frames: Vec<Pfn> = (0..64).map(|_| r.frame()).collect();
    let mut runs: Vec<Pfn> = Vec::new();
    for _ in 0..4 {
        runs.push(
            r.phys
                .alloc_huge(|_| FrameOwner::Anon { anon: 9 }, &mut r.ev)
                .unwrap(),
        );
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    // 8 MiB window straddling a PDPT boundary.
    let window = (1u64 << 30) - 0x40_0000;
    for step in 0..3000 {
        let va = window + rnd(2048) * 0x1000;
        match rnd(10) {
            0..=3 => {
                let p = frames[rnd(64) as usize];
                r.enter(va, p, PteProt::READ_WRITE)
                    .flush(&mut r.tlb, &mut r.ev);
                model.insert(va >> 12, p);
            }
            4 => {
                let hva = va & !(HUGE_PAGE_SIZE - 1);
                let run = runs[rnd(4) as usize];
                let (f, _) = r.pmap.remove(
                    &mut r.phys,
                    VirtAddr(hva),
                    VirtAddr(hva + HUGE_PAGE_SIZE),
                    &mut r.ev,
                );
                f.flush(&mut r.tlb, &mut r.ev);
                r.pmap
                    .enter_huge(&mut r.phys, VirtAddr(hva), run, PteProt::ALL, &mut r.ev)
                    .unwrap()
                    .flush(&mut r.tlb, &mut r.ev);
                for i in 0..512 {
                    model.insert((hva >> 12) + i, run.add(i));
                }
            }
            5..=7 => {
                let end = va + rnd(700) * 0x1000;
                let (f, un) = r
                    .pmap
                    .remove(&mut r.phys, VirtAddr(va), VirtAddr(end), &mut r.ev);
                f.flush(&mut r.tlb, &mut r.ev);
                let gone: Vec<u64> = model.range(va >> 12..end >> 12).map(|(&k, _)| k).collect();
                assert_eq!(un.len(), gone.len(), "step {step}");
                for (u, k) in un.iter().zip(&gone) {
                    assert_eq!(u.va.0 >> 12, *k);
                    assert_eq!(model.remove(k), Some(u.pfn));
                }
                // Half the time free what tables the room between
                // the nearest mapped pages allows (munmap's
                // free_pgtables); leaves must all survive it.
                if rnd(2) == 0 {
                    let floor = model
                        .range(..va >> 12)
                        .next_back()
                        .map_or(0, |(&k, _)| (k + 1) << 12);
                    let ceiling = model
                        .range(end >> 12..)
                        .next()
                        .map_or(u64::MAX, |(&k, _)| k << 12);
                    r.pmap.free_tables(
                        &mut r.phys,
                        VirtAddr(va),
                        VirtAddr(end),
                        floor,
                        ceiling,
                        &mut r.ev,
                    );
                }
            }
            8 => {
                let end = va + rnd(700) * 0x1000;
                r.pmap
                    .protect(
                        &mut r.phys,
                        VirtAddr(va),
                        VirtAddr(end),
                        PteProt::READ,
                        &mut r.ev,
                    )
                    .flush(&mut r.tlb, &mut r.ev);
            }
            _ => {
                r.pmap
                    .demote(&mut r.phys, VirtAddr(va), &mut r.ev)
                    .unwrap()
                    .flush(&mut r.tlb, &mut r.ev);
            }
        }
        if step % 50 == 0 {
            r.check();
        }
        // The MMU sees exactly the model (TLB always flushed here).
        let probe = window + rnd(2048) * 0x1000;
        let got = r.go(probe, Access::Read).ok().map(|pa| pa.pfn());
        assert_eq!(
            got,
            model.get(&(probe >> 12)).copied(),
            "step {step} va {probe:#x}"
        );
    }
    r.check();
    assert_eq!(r.pmap.resident_pages(), model.len() as u64);
    let (f, un) = r
        .pmap
        .remove(&mut r.phys, VirtAddr(0), VirtAddr(1 << 47), &mut r.ev);
    f.ignore();
    assert_eq!(un.len(), model.len());
    r.pmap.free_tables(
        &mut r.phys,
        VirtAddr(0),
        VirtAddr(1 << 47),
        0,
        u64::MAX,
        &mut r.ev,
    );
    assert_eq!(r.pmap.table_frames(&r.phys).len(), 1);
    r.check();
}

// ---- copy_range, move_range, pmd -----------------------------------------

impl Rig {
    /// A 2 MiB run of frames, 512-aligned.
    fn run(&mut self) -> Pfn {
        self.phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 1 }, &mut self.ev)
            .unwrap()
    }
    fn enter_huge(&mut self, va: u64, run: Pfn, prot: PteProt) {
        self.pmap
            .enter_huge(&mut self.phys, VirtAddr(va), run, prot, &mut self.ev)
            .unwrap()
            .ignore();
    }
    /// A second, empty address space (asid 8) in the same memory.
    fn child(&mut self) -> Pmap {
        Pmap::new(&mut self.phys, 8, &mut self.ev).unwrap()
    }
    fn copy(&mut self, child: &mut Pmap, start: u64, end: u64, prot: PteProt) -> TlbFlush {
        self.pmap.copy_range(
            child,
            &mut self.phys,
            VirtAddr(start),
            VirtAddr(end),
            prot,
            false,
            &mut self.ev,
        )
    }
    fn move_range(&mut self, from: u64, len: u64, to: u64) -> TlbFlush {
        self.pmap.move_range(
            &mut self.phys,
            VirtAddr(from),
            len,
            VirtAddr(to),
            &mut self.ev,
        )
    }
    /// Take every free frame.
    fn exhaust(&mut self) {
        while self
            .phys
            .alloc(FrameOwner::Anon { anon: 9 }, &mut self.ev)
            .is_some()
        {}
    }
    /// Every leaf: (va, entry, level).
    fn leaves(&self, pmap: &Pmap) -> Vec<(VirtAddr, Pte, u8)> {
        let mut v = Vec::new();
        pmap.for_each_leaf(&self.phys, |va, pte, level| v.push((va, pte, level)));
        v
    }
}

#[test]
fn copy_range_enters_each_leaf_at_the_same_address_with_the_given_protection() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::ALL).ignore();
    let mut child = r.child();
    let f = r.copy(&mut child, 0, 0x10_0000, PteProt::READ);
    assert_eq!((f.asid(), f.is_empty()), (8, true));
    f.ignore();
    assert_eq!(
        child.lookup(&r.phys, VirtAddr(0x1000)),
        Some(Mapping {
            pfn: p,
            present: true,
            writable: false,
            executable: false,
            dirty: false,
            accessed: false,
            huge: false,
        })
    );
    assert_eq!(r.phys.desc(p).mapcount, 2);
    assert_eq!(child.resident_pages(), 1);
}

#[test]
fn copy_range_copies_a_2m_leaf_as_one_2m_leaf() {
    let mut r = Rig::new(4096);
    let run = r.run();
    r.enter_huge(0x20_0000, run, PteProt::READ_WRITE);
    let mut child = r.child();
    r.copy(&mut child, 0x20_0000, 0x40_0000, PteProt::READ_EXEC)
        .ignore();
    let m = child.lookup(&r.phys, VirtAddr(0x20_5000)).unwrap();
    assert_eq!(
        (m.pfn, m.huge, m.writable, m.executable),
        (run.add(5), true, false, true)
    );
    assert_eq!(child.resident_pages(), 512);
    assert!((0..512).all(|i| r.phys.desc(run.add(i)).mapcount == 2));
}

#[test]
fn copy_range_leaves_out_a_2m_leaf_that_starts_below_the_range() {
    let mut r = Rig::new(4096);
    let run = r.run();
    r.enter_huge(0x20_0000, run, PteProt::READ_WRITE);
    let mut child = r.child();
    r.copy(&mut child, 0x20_1000, 0x40_0000, PteProt::READ)
        .ignore();
    assert_eq!(child.resident_pages(), 0);
    assert_eq!(r.phys.desc(run.add(1)).mapcount, 1);
}

#[test]
fn copy_range_skips_a_leaf_whose_page_table_cannot_be_allocated() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    let mut child = r.child();
    r.exhaust();
    r.ev.take();
    r.copy(&mut child, 0, 0x2000, PteProt::READ).ignore();
    assert_eq!(child.resident_pages(), 0);
    assert_eq!(child.table_frames(&r.phys).len(), 1);
    assert_eq!(r.phys.desc(p).mapcount, 1);
    assert_eq!(r.ev.take(), vec![]);
}

#[test]
fn copy_range_of_a_prot_none_leaf_makes_a_present_copy_for_the_caller_to_protect() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    r.pmap
        .protect_none(&mut r.phys, VirtAddr(0x1000), VirtAddr(0x2000), &mut r.ev)
        .ignore();
    let mut child = r.child();
    r.copy(&mut child, 0x1000, 0x2000, PteProt::READ).ignore();
    let m = child.lookup(&r.phys, VirtAddr(0x1000)).unwrap();
    assert_eq!((m.pfn, m.present, m.writable), (p, true, false));
}

#[test]
fn copy_range_writes_what_entering_each_leaf_one_by_one_writes() {
    // Two identical machines: one copies with copy_range, the other as
    // fork's copy_leaves did, one pmap_enter / pmap_enter_huge per leaf.
    let build = || {
        let mut r = Rig::new(4096);
        let run = r.run();
        r.enter_huge(0x40_0000, run, PteProt::ALL);
        for i in 0..3 {
            let p = r.frame();
            r.enter(0x7f00_0000_0000 + i * 0x1000, p, PteProt::READ_WRITE)
                .ignore();
        }
        let p = r.frame();
        r.enter(0x1000, p, PteProt::READ).ignore();
        let child = r.child();
        r.ev.take();
        (r, child)
    };
    let (start, end, prot) = (0x2000, 0x7f00_0000_2000, PteProt::READ_EXEC);
    let (mut a, mut ca) = build();
    a.copy(&mut ca, start, end, prot).ignore();
    let (mut b, mut cb) = build();
    for (va, pte, level) in b.leaves(&b.pmap) {
        if !(start..end).contains(&va.0) {
            continue;
        }
        let r = if level == 2 {
            cb.enter_huge(&mut b.phys, va, pte.pfn(), prot, &mut b.ev)
        } else {
            cb.enter(&mut b.phys, va, pte.pfn(), prot, &mut b.ev)
        };
        r.unwrap().flush(&mut b.tlb, &mut b.ev);
    }
    assert_eq!(a.ev.take(), b.ev.take());
    assert_eq!(a.leaves(&ca), b.leaves(&cb));
    assert_eq!(ca.table_frames(&a.phys), cb.table_frames(&b.phys));
    assert_eq!(a.leaves(&ca).len(), 3);
    let mapcounts = |r: &Rig| -> Vec<u32> {
        r.phys
            .allocated()
            .map(|p| r.phys.desc(p).mapcount)
            .collect()
    };
    assert_eq!(mapcounts(&a), mapcounts(&b));
}

#[test]
fn move_range_moves_a_4k_leaf_keeping_rw_and_nx() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    let f = r.move_range(0x1000, 0x1000, 0x10_0000);
    assert_eq!(f.pages(), vec![VirtAddr(0x1000)]);
    f.ignore();
    assert_eq!(r.pmap.lookup(&r.phys, VirtAddr(0x1000)), None);
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x10_0000)).unwrap();
    assert_eq!((m.pfn, m.writable, m.executable), (p, true, false));
    assert_eq!(r.phys.desc(p).mapcount, 1);
    r.check();
}

#[test]
fn move_range_keeps_the_accessed_and_dirty_bits_in_the_moved_entry() {
    // `move_ptes` moves the PTE whole: an anonymous page stays dirty in
    // its (new) page table entry, not in the frame.
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    r.go(0x1000, Access::Write).unwrap();
    r.move_range(0x1000, 0x1000, 0x10_0000).ignore();
    assert!(!r.phys.desc(p).dirty);
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x10_0000)).unwrap();
    assert_eq!((m.dirty, m.accessed), (true, true));
    // A clean, unaccessed entry moves clean.
    let q = r.frame();
    r.enter(0x5000, q, PteProt::READ_WRITE).ignore();
    r.move_range(0x5000, 0x1000, 0x20_0000).ignore();
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x20_0000)).unwrap();
    assert_eq!((m.dirty, m.accessed), (false, false));
    r.check();
}

#[test]
fn move_range_keeps_a_2m_leaf_whole_at_a_2m_aligned_address() {
    let mut r = Rig::new(4096);
    let run = r.run();
    r.enter_huge(0x20_0000, run, PteProt::READ_EXEC);
    r.move_range(0x20_0000, 0x20_0000, 0x60_0000).ignore();
    let m = r.pmap.lookup(&r.phys, VirtAddr(0x60_0000)).unwrap();
    assert_eq!((m.pfn, m.huge, m.executable), (run, true, true));
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0x20_0000)), PmdState::None);
    r.check();
}

#[test]
fn move_range_splits_a_2m_leaf_into_512_ptes_at_an_unaligned_address() {
    let mut r = Rig::new(4096);
    let run = r.run();
    r.enter_huge(0x20_0000, run, PteProt::READ_WRITE);
    r.move_range(0x20_0000, 0x20_0000, 0x60_1000).ignore();
    let first = r.pmap.lookup(&r.phys, VirtAddr(0x60_1000)).unwrap();
    let last = r.pmap.lookup(&r.phys, VirtAddr(0x80_0000)).unwrap();
    assert_eq!((first.pfn, first.huge, first.writable), (run, false, true));
    assert_eq!((last.pfn, last.huge), (run.add(511), false));
    assert_eq!(r.pmap.resident_pages(), 512);
    r.check();
}

#[test]
fn move_range_drops_a_leaf_that_cannot_be_entered() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ_WRITE).ignore();
    r.exhaust();
    // The new address needs a new PDPT, PD and PT.
    r.move_range(0x1000, 0x1000, 0x7f00_0000_0000).ignore();
    assert_eq!(r.pmap.resident_pages(), 0);
    assert_eq!(r.phys.desc(p).mapcount, 0);
    r.check();
}

#[test]
fn move_range_writes_what_remove_then_entering_each_leaf_with_its_bits_writes() {
    // As mremap did it: collect the leaves, zap the range, enter each anew.
    let build = || {
        let mut r = Rig::new(4096);
        let run = r.run();
        r.enter_huge(0x20_0000, run, PteProt::READ_WRITE);
        for i in 0..5 {
            let p = r.frame();
            r.enter(0x40_0000 + i * 0x1000, p, PteProt::ALL).ignore();
        }
        r.go(0x40_2000, Access::Write).unwrap();
        r.ev.take();
        r
    };
    let (from, len, to) = (0x20_0000u64, 0x20_4000u64, 0x1_0000_1000u64);
    let mut a = build();
    let fa = a.move_range(from, len, to);
    let mut b = build();
    let moved: Vec<_> = b
        .leaves(&b.pmap)
        .into_iter()
        .filter(|(va, _, _)| (from..from + len).contains(&va.0))
        .collect();
    let fb = b
        .pmap
        .remove_range(&mut b.phys, VirtAddr(from), VirtAddr(from + len), &mut b.ev);
    for (va, pte, level) in moved {
        let nva = to + (va.0 - from);
        let prot = PteProt {
            writable: pte.flags().contains(PteFlags::WRITABLE),
            executable: !pte.flags().contains(PteFlags::NO_EXECUTE),
        };
        let n = if level == 2 { PAGES_PER_HUGE } else { 1 };
        let bits = pte.flags() & (PteFlags::ACCESSED | PteFlags::DIRTY);
        for i in 0..n {
            let va = VirtAddr(nva + i * PAGE_SIZE);
            b.pmap
                .enter(&mut b.phys, va, pte.pfn().add(i), prot, &mut b.ev)
                .unwrap()
                .ignore();
            b.pmap.keep_bits(&mut b.phys, va, bits, &mut b.ev);
        }
    }
    assert_eq!(fa.pages(), fb.pages());
    assert_eq!(fa.is_all(), fb.is_all());
    fa.ignore();
    fb.ignore();
    assert_eq!(a.ev.take(), b.ev.take());
    assert_eq!(a.leaves(&a.pmap), b.leaves(&b.pmap));
    assert_eq!(a.pmap.table_frames(&a.phys), b.pmap.table_frames(&b.phys));
    let descs = |r: &Rig| -> Vec<String> {
        r.phys
            .allocated()
            .map(|p| format!("{:?}", r.phys.desc(p)))
            .collect()
    };
    assert_eq!(descs(&a), descs(&b));
    a.check();
}

#[test]
fn pmd_is_none_where_no_page_table_covers_the_block() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ).ignore();
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0x20_0000)), PmdState::None);
    assert_eq!(
        r.pmap.pmd(&r.phys, VirtAddr(0x7f00_0000_0000)),
        PmdState::None
    );
}

#[test]
fn pmd_is_table_where_a_page_table_stays_even_when_empty() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ).ignore();
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0x1f_f000)), PmdState::Table);
    r.pmap
        .remove_range(&mut r.phys, VirtAddr(0x1000), VirtAddr(0x2000), &mut r.ev)
        .ignore();
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0)), PmdState::Table);
}

#[test]
fn pmd_is_huge_for_a_2m_leaf_even_when_prot_none() {
    let mut r = Rig::new(4096);
    let run = r.run();
    r.enter_huge(0x20_0000, run, PteProt::READ_WRITE);
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0x3f_f000)), PmdState::Huge);
    r.pmap
        .protect_none(
            &mut r.phys,
            VirtAddr(0x20_0000),
            VirtAddr(0x40_0000),
            &mut r.ev,
        )
        .ignore();
    assert_eq!(r.pmap.pmd(&r.phys, VirtAddr(0x20_0000)), PmdState::Huge);
}

#[test]
fn pmd_none_is_what_the_mmu_walk_reports_as_not_mapped_above_the_pt() {
    let mut r = Rig::new(4096);
    let p = r.frame();
    r.enter(0x1000, p, PteProt::READ).ignore();
    let run = r.run();
    r.enter_huge(0x40_0000, run, PteProt::READ);
    for block in [0u64, 0x20_0000, 0x40_0000, 0x4000_0000, 0x7f00_0000_0000] {
        let w = walk(&r.phys, r.pmap.cr3(), VirtAddr(block));
        let none = matches!(w.outcome, WalkOutcome::NotMapped { level } if level >= 2);
        assert_eq!(
            r.pmap.pmd(&r.phys, VirtAddr(block)) == PmdState::None,
            none,
            "block {block:#x}"
        );
    }
}
