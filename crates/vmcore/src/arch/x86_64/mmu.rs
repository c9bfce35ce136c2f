//! The CPU's side of paging: translating a linear address through the TLB
//! and, on a miss, by walking the four paging structures in physical memory
//! (Intel SDM vol. 3A §4.5 "4-Level Paging", §4.7 "Page-Fault Exceptions",
//! §4.8 "Accessed and Dirty Flags").
//!
//! ```text
//!  va: | 47..39 PML4 | 38..30 PDPT | 29..21 PD | 20..12 PT | 11..0 offset |
//!
//!  CR3 ─► PML4[i4] ─► PDPT[i3] ─► PD[i2] ─┬─ PS=1: 2 MiB page + va[20..0]
//!                                          └─ PS=0: PT[i1] ─► 4 KiB page + va[11..0]
//! ```
//!
//! The walk reads each entry from its table frame. Not present at any level
//! raises #PF; a set reserved bit raises #PF with RSVD; otherwise the access
//! is checked against the permissions combined over all levels and, when it
//! is allowed, the MMU sets A in every entry it used (and D in the leaf for
//! a write) and caches the result in the TLB.

use super::pte::{ADDR_MASK, HUGE_RESERVED_MASK, Pte, PteFlags, RESERVED_ADDR_MASK};
use super::tlb::{Tlb, TlbEntry};
use crate::addr::{PAGE_SHIFT, PAGES_PER_HUGE, Pfn, PhysAddr, VirtAddr};
use crate::event::{Event, EventLog};
use crate::phys::PhysMem;
use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// The page-fault error code the CPU pushes for #PF (SDM §4.7).
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    pub struct PfErrorCode: u32 {
        /// P: 0 = the page was not present; 1 = a protection violation.
        const PRESENT = 1 << 0;
        /// W/R: the access was a write.
        const WRITE = 1 << 1;
        /// U/S: the access came from user mode (CPL 3).
        const USER = 1 << 2;
        /// RSVD: a reserved bit was set in some paging-structure entry.
        const RSVD = 1 << 3;
        /// I/D: the access was an instruction fetch (with NX enabled).
        const INSTR = 1 << 4;
        /// PK: protection-key violation (never raised here).
        const PK = 1 << 5;
    }
}

/// The kind of memory access.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// A #PF: CR2 holds the faulting linear address, plus the error code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PageFault {
    pub cr2: VirtAddr,
    pub code: PfErrorCode,
}

impl PageFault {
    fn new(va: VirtAddr, access: Access, extra: PfErrorCode) -> PageFault {
        let mut code = PfErrorCode::USER | extra;
        match access {
            Access::Read => {}
            Access::Write => code |= PfErrorCode::WRITE,
            Access::Execute => code |= PfErrorCode::INSTR,
        }
        PageFault { cr2: va, code }
    }
}

/// One level of a walk: the entry read at `index` of the table in `table`.
#[derive(Clone, Debug, Serialize)]
pub struct WalkStep {
    pub level: u8,
    pub table: Pfn,
    pub index: u16,
    pub entry: Pte,
}

/// Where a walk ended.
#[derive(Clone, Debug, Serialize)]
pub enum WalkOutcome {
    /// A leaf was found. `pfn` is the 4 KiB frame holding va (inside a huge
    /// page: the first frame of the run plus va's page index within it);
    /// the permissions are combined over all levels.
    Mapped {
        pfn: Pfn,
        phys: PhysAddr,
        huge: bool,
        writable: bool,
        user: bool,
        executable: bool,
    },
    /// The entry at `level` was not present (or had a reserved bit set,
    /// which the hardware reports as a RSVD page fault).
    NotMapped { level: u8 },
}

/// A page walk for one address, for views and checks.
#[derive(Clone, Debug, Serialize)]
pub struct Walk {
    pub cr3: Pfn,
    pub va: VirtAddr,
    pub steps: Vec<WalkStep>,
    pub outcome: WalkOutcome,
}

/// The bits of an entry at `level` that must be zero (a PML4 entry cannot
/// have PS; 1 GiB pages are not modelled, so PS in a PDPT entry counts as
/// reserved too; a 2 MiB PD entry must have bits 20..13 clear).
#[inline]
fn reserved_bits(level: u8, raw: u64) -> u64 {
    let ps = PteFlags::HUGE.bits();
    let mask = match level {
        4 | 3 => RESERVED_ADDR_MASK | ps,
        2 if raw & ps != 0 => RESERVED_ADDR_MASK | HUGE_RESERVED_MASK,
        _ => RESERVED_ADDR_MASK,
    };
    raw & mask
}

#[inline]
fn entry_addr(table: Pfn, index: usize) -> PhysAddr {
    PhysAddr((table.0 << PAGE_SHIFT) | (index as u64 * 8))
}

/// Why a walk stopped early.
enum Stop {
    NotPresent(u8),
    Reserved(u8),
}

/// What the walk found, without allocating: entry addresses and values per
/// level (index 0 = PML4).
struct Found {
    addrs: [PhysAddr; 4],
    raws: [u64; 4],
    n: usize,
    writable: bool,
    user: bool,
    executable: bool,
}

impl Found {
    fn leaf(&self) -> Pte {
        Pte(self.raws[self.n - 1])
    }
    fn huge(&self) -> bool {
        self.n == 3
    }
}

/// The hardware walk (SDM §4.5), reading entries only.
#[inline]
fn do_walk(
    phys: &PhysMem,
    cr3: Pfn,
    va: VirtAddr,
    mut step: impl FnMut(u8, Pfn, usize, Pte),
) -> Result<Found, Stop> {
    let mut f = Found {
        addrs: [PhysAddr(0); 4],
        raws: [0; 4],
        n: 0,
        writable: true,
        user: true,
        executable: true,
    };
    let mut table = cr3;
    for level in (1..=4u8).rev() {
        let index = va.table_index(level);
        let addr = entry_addr(table, index);
        let raw = phys.read_u64(addr);
        step(level, table, index, Pte(raw));
        if raw & PteFlags::PRESENT.bits() == 0 {
            return Err(Stop::NotPresent(level));
        }
        if reserved_bits(level, raw) != 0 {
            return Err(Stop::Reserved(level));
        }
        f.addrs[f.n] = addr;
        f.raws[f.n] = raw;
        f.n += 1;
        f.writable &= raw & PteFlags::WRITABLE.bits() != 0;
        f.user &= raw & PteFlags::USER.bits() != 0;
        f.executable &= raw & PteFlags::NO_EXECUTE.bits() == 0;
        if level == 1 || (level == 2 && raw & PteFlags::HUGE.bits() != 0) {
            return Ok(f);
        }
        table = Pfn((raw & ADDR_MASK) >> PAGE_SHIFT);
    }
    unreachable!("level 1 always ends the walk")
}

/// The 4 KiB frame holding `va` given the leaf that maps it.
#[inline]
fn frame_of(leaf: Pte, huge: bool, va: VirtAddr) -> Pfn {
    if huge {
        Pfn((leaf.pfn().0 & !(PAGES_PER_HUGE - 1)) + va.table_index(1) as u64)
    } else {
        leaf.pfn()
    }
}

#[inline]
fn permits(writable: bool, user: bool, executable: bool, access: Access) -> bool {
    user && match access {
        Access::Read => true,
        Access::Write => writable,
        Access::Execute => executable,
    }
}

/// Translate a user-mode access to `va` in address space `asid` (page
/// tables at `cr3`), as the CPU does for every load, store and fetch.
///
/// => caller guarantees `va` is canonical.
/// => a TLB hit that permits the access costs no memory reads. A hit that
///    does not permit it drops that entry and faults (SDM §4.10.4.1: a #PF
///    invalidates the TLB entries for the faulting address). A write through
///    an entry cached with D clear walks again to set D (the dirty assist).
/// => a miss emits `TlbMiss`, walks, sets A (and D for a write) in the table
///    frames, and caches the translation.
/// => returns the physical address, or the #PF the CPU would raise.
#[inline(always)]
pub fn translate(
    phys: &mut PhysMem,
    tlb: &mut Tlb,
    cr3: Pfn,
    asid: u16,
    va: VirtAddr,
    access: Access,
    ev: &mut EventLog,
) -> Result<PhysAddr, PageFault> {
    let quick = match access {
        Access::Read => 1,
        Access::Write => 2,
        Access::Execute => 4,
    };
    if let Some(pa) = tlb.quick_hit(asid, va, quick) {
        return Ok(pa);
    }
    translate_slow(phys, tlb, cr3, asid, va, access, ev)
}

/// Everything but the quick TLB hit: the full lookup, the dirty assist,
/// the walk on a miss.
#[inline(never)]
fn translate_slow(
    phys: &mut PhysMem,
    tlb: &mut Tlb,
    cr3: Pfn,
    asid: u16,
    va: VirtAddr,
    access: Access,
    ev: &mut EventLog,
) -> Result<PhysAddr, PageFault> {
    if let Some(e) = tlb.lookup(asid, va) {
        if !permits(e.writable, e.user, e.executable, access) {
            tlb.flush_page(asid, va);
            return Err(PageFault::new(va, access, PfErrorCode::PRESENT));
        }
        if access != Access::Write || e.dirty {
            return Ok(e.phys(va));
        }
        // Write through a clean entry: the CPU re-walks to set D (and
        // faults if the PTE no longer allows the write).
        return fill(phys, tlb, cr3, asid, va, access, true);
    }
    ev.push_with(|| Event::TlbMiss { asid, va });
    fill(phys, tlb, cr3, asid, va, access, false)
}

/// Walk, check, set A/D, and cache the translation (the TLB-fill path).
/// `cached`: a TLB entry for `va` exists (the dirty assist) and must go
/// if the walk faults; after a miss there is none to drop.
#[inline(never)]
fn fill(
    phys: &mut PhysMem,
    tlb: &mut Tlb,
    cr3: Pfn,
    asid: u16,
    va: VirtAddr,
    access: Access,
    cached: bool,
) -> Result<PhysAddr, PageFault> {
    let f = match do_walk(phys, cr3, va, |_, _, _, _| {}) {
        Ok(f) => f,
        Err(stop) => {
            if cached {
                tlb.flush_page(asid, va);
            }
            let code = match stop {
                Stop::NotPresent(_) => PfErrorCode::empty(),
                Stop::Reserved(_) => PfErrorCode::RSVD | PfErrorCode::PRESENT,
            };
            return Err(PageFault::new(va, access, code));
        }
    };
    if !permits(f.writable, f.user, f.executable, access) {
        if cached {
            tlb.flush_page(asid, va);
        }
        return Err(PageFault::new(va, access, PfErrorCode::PRESENT));
    }
    // SDM §4.8: A in every entry used, D in the leaf on a write.
    let a = PteFlags::ACCESSED.bits();
    for i in 0..f.n {
        let mut want = f.raws[i] | a;
        if i == f.n - 1 && access == Access::Write {
            want |= PteFlags::DIRTY.bits();
        }
        if want != f.raws[i] {
            phys.write_u64(f.addrs[i], want);
        }
    }
    let leaf = f.leaf();
    let huge = f.huge();
    let vpn = va.0 >> PAGE_SHIFT;
    let e = TlbEntry {
        asid,
        vpn: if huge {
            vpn & !(PAGES_PER_HUGE - 1)
        } else {
            vpn
        },
        pfn: if huge {
            Pfn(leaf.pfn().0 & !(PAGES_PER_HUGE - 1))
        } else {
            leaf.pfn()
        },
        huge,
        writable: f.writable,
        user: f.user,
        executable: f.executable,
        dirty: access == Access::Write || leaf.flags().contains(PteFlags::DIRTY),
    };
    tlb.insert(e);
    Ok(e.phys(va))
}

/// Walk the tables for `va` without changing anything (no A/D bits, no
/// TLB): what a student following CR3 by hand would read.
pub fn walk(phys: &PhysMem, cr3: Pfn, va: VirtAddr) -> Walk {
    let mut steps = Vec::with_capacity(4);
    let r = do_walk(phys, cr3, va, |level, table, index, entry| {
        steps.push(WalkStep {
            level,
            table,
            index: index as u16,
            entry,
        })
    });
    let outcome = match r {
        Ok(f) => {
            let pfn = frame_of(f.leaf(), f.huge(), va);
            WalkOutcome::Mapped {
                pfn,
                phys: PhysAddr(pfn.addr().0 | va.page_offset()),
                huge: f.huge(),
                writable: f.writable,
                user: f.user,
                executable: f.executable,
            }
        }
        Err(Stop::NotPresent(level) | Stop::Reserved(level)) => WalkOutcome::NotMapped { level },
    };
    Walk {
        cr3,
        va,
        steps,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phys::FrameOwner;

    const P: PteFlags = PteFlags::PRESENT;
    const RW: PteFlags = PteFlags::WRITABLE;
    const US: PteFlags = PteFlags::USER;
    const NX: PteFlags = PteFlags::NO_EXECUTE;

    /// Hand-built tables: one PML4/PDPT/PD/PT chain with configurable flags.
    struct Rig {
        phys: PhysMem,
        tlb: Tlb,
        ev: EventLog,
        cr3: Pfn,
        pdpt: Pfn,
        pd: Pfn,
        pt: Pfn,
        page: Pfn,
    }

    const VA: VirtAddr = VirtAddr(0x0000_7f12_3456_7abc);

    impl Rig {
        fn new(upper: [PteFlags; 3], leaf: PteFlags) -> Rig {
            let mut phys = PhysMem::new(4096);
            let mut ev = EventLog::new(true);
            let mut t = |l| {
                phys.alloc(FrameOwner::PageTable { asid: 1, level: l }, &mut ev)
                    .unwrap()
            };
            let (cr3, pdpt, pd, pt) = (t(4), t(3), t(2), t(1));
            let page = phys.alloc(FrameOwner::Anon { anon: 0 }, &mut ev).unwrap();
            phys.write_u64(
                entry_addr(cr3, VA.table_index(4)),
                Pte::new(pdpt, upper[0]).0,
            );
            phys.write_u64(
                entry_addr(pdpt, VA.table_index(3)),
                Pte::new(pd, upper[1]).0,
            );
            phys.write_u64(entry_addr(pd, VA.table_index(2)), Pte::new(pt, upper[2]).0);
            phys.write_u64(entry_addr(pt, VA.table_index(1)), Pte::new(page, leaf).0);
            ev.take();
            Rig {
                phys,
                tlb: Tlb::new(16, 4),
                ev,
                cr3,
                pdpt,
                pd,
                pt,
                page,
            }
        }
        fn full(leaf: PteFlags) -> Rig {
            Rig::new([P | RW | US; 3], leaf)
        }
        fn go(&mut self, va: VirtAddr, a: Access) -> Result<PhysAddr, PageFault> {
            translate(
                &mut self.phys,
                &mut self.tlb,
                self.cr3,
                1,
                va,
                a,
                &mut self.ev,
            )
        }
        fn entry(&self, table: Pfn, level: u8) -> Pte {
            Pte(self.phys.read_u64(entry_addr(table, VA.table_index(level))))
        }
        fn set_leaf(&mut self, pte: Pte) {
            self.phys
                .write_u64(entry_addr(self.pt, VA.table_index(1)), pte.0);
        }
    }

    #[test]
    fn walk_of_hand_built_tables() {
        let r = Rig::full(P | RW | US);
        let w = walk(&r.phys, r.cr3, VA);
        assert_eq!(w.steps.len(), 4);
        let tables: Vec<Pfn> = w.steps.iter().map(|s| s.table).collect();
        assert_eq!(tables, vec![r.cr3, r.pdpt, r.pd, r.pt]);
        assert_eq!(w.steps[0].index as usize, VA.table_index(4));
        assert_eq!(w.steps[3].entry.pfn(), r.page);
        match w.outcome {
            WalkOutcome::Mapped {
                pfn,
                phys,
                huge,
                writable,
                user,
                executable,
            } => {
                assert_eq!(pfn, r.page);
                assert_eq!(phys, PhysAddr(r.page.addr().0 | 0xabc));
                assert!(!huge && writable && user && executable);
            }
            o => panic!("{o:?}"),
        }
        // walk() is pure: no A bits.
        assert!(!r.entry(r.pt, 1).flags().contains(PteFlags::ACCESSED));
        // Nothing at another address: stops at the PT (same tables, empty slot).
        let w = walk(&r.phys, r.cr3, VirtAddr(VA.0 + 0x1000));
        assert!(matches!(w.outcome, WalkOutcome::NotMapped { level: 1 }));
        let w = walk(&r.phys, r.cr3, VirtAddr(0x1000));
        assert!(matches!(w.outcome, WalkOutcome::NotMapped { level: 4 }));
        assert_eq!(w.steps.len(), 1);
    }

    #[test]
    fn translate_miss_then_hit_sets_accessed_and_dirty() {
        let mut r = Rig::full(P | RW | US);
        let pa = r.go(VA, Access::Read).unwrap();
        assert_eq!(pa, PhysAddr(r.page.addr().0 | 0xabc));
        assert_eq!(r.ev.take(), vec![Event::TlbMiss { asid: 1, va: VA }]);
        for (t, l) in [(r.cr3, 4), (r.pdpt, 3), (r.pd, 2), (r.pt, 1)] {
            assert!(
                r.entry(t, l).flags().contains(PteFlags::ACCESSED),
                "A at level {l}"
            );
        }
        assert!(
            !r.entry(r.pt, 1).flags().contains(PteFlags::DIRTY),
            "read leaves D clear"
        );
        assert!(!r.tlb.contains(1, VA).unwrap().dirty);
        // Hit: no event, no walk.
        assert_eq!(r.go(VA, Access::Read), Ok(pa));
        assert!(r.ev.take().is_empty());
        assert_eq!((r.tlb.hits(), r.tlb.misses()), (1, 1));
        // First write through the clean entry: dirty assist sets D.
        assert_eq!(r.go(VA, Access::Write), Ok(pa));
        assert!(r.entry(r.pt, 1).flags().contains(PteFlags::DIRTY));
        assert!(r.tlb.contains(1, VA).unwrap().dirty);
        assert!(
            !r.entry(r.pd, 2).flags().contains(PteFlags::DIRTY),
            "D only in the leaf"
        );
    }

    #[test]
    fn not_present_and_reserved_faults() {
        let mut r = Rig::full(P | RW | US);
        let f = r.go(VirtAddr(VA.0 + 0x1000), Access::Write).unwrap_err();
        assert_eq!(f.code, PfErrorCode::USER | PfErrorCode::WRITE);
        assert_eq!(f.cr2, VirtAddr(VA.0 + 0x1000));
        let f = r.go(VirtAddr(0x1000), Access::Execute).unwrap_err();
        assert_eq!(f.code, PfErrorCode::USER | PfErrorCode::INSTR);
        // A reserved address bit in the leaf.
        let leaf = r.entry(r.pt, 1);
        r.set_leaf(Pte(leaf.0 | 1 << 50));
        let f = r.go(VA, Access::Read).unwrap_err();
        assert_eq!(
            f.code,
            PfErrorCode::USER | PfErrorCode::RSVD | PfErrorCode::PRESENT
        );
        // PS in a PML4 entry is reserved.
        let mut r = Rig::new(
            [P | RW | US | PteFlags::HUGE, P | RW | US, P | RW | US],
            P | RW | US,
        );
        let f = r.go(VA, Access::Read).unwrap_err();
        assert!(f.code.contains(PfErrorCode::RSVD));
        assert!(matches!(
            walk(&r.phys, r.cr3, VA).outcome,
            WalkOutcome::NotMapped { level: 4 }
        ));
        assert!(r.tlb.entries().is_empty());
    }

    #[test]
    fn permissions_combine_across_levels() {
        // RW is an AND: read-only PDPT entry makes a RW leaf read-only.
        let mut r = Rig::new([P | RW | US, P | US, P | RW | US], P | RW | US);
        assert!(r.go(VA, Access::Read).is_ok());
        let f = r.go(VA, Access::Write).unwrap_err();
        assert_eq!(
            f.code,
            PfErrorCode::PRESENT | PfErrorCode::USER | PfErrorCode::WRITE
        );
        // US is an AND: a supervisor-only PML4 entry hides everything below.
        let mut r = Rig::new([P | RW, P | RW | US, P | RW | US], P | RW | US);
        let f = r.go(VA, Access::Read).unwrap_err();
        assert_eq!(f.code, PfErrorCode::PRESENT | PfErrorCode::USER);
        assert!(
            !r.entry(r.pt, 1).flags().contains(PteFlags::ACCESSED),
            "no A on a faulting walk"
        );
        // NX is an OR: NX in the PD entry forbids execution of an X leaf.
        let mut r = Rig::new([P | RW | US, P | RW | US, P | RW | US | NX], P | RW | US);
        assert!(r.go(VA, Access::Read).is_ok());
        let f = r.go(VA, Access::Execute).unwrap_err();
        assert_eq!(
            f.code,
            PfErrorCode::PRESENT | PfErrorCode::USER | PfErrorCode::INSTR
        );
        assert!(r.tlb.contains(1, VA).is_none(), "#PF drops the TLB entry");
        // And a leaf with NX under permissive upper levels.
        let mut r = Rig::full(P | RW | US | NX);
        assert!(r.go(VA, Access::Execute).is_err());
        let r = Rig::full(P | US);
        match walk(&r.phys, r.cr3, VA).outcome {
            WalkOutcome::Mapped {
                writable,
                executable,
                ..
            } => assert!(!writable && executable),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn tlb_is_stale_until_flushed() {
        let mut r = Rig::full(P | RW | US);
        let old = r.go(VA, Access::Write).unwrap();
        // Remap the page to another frame WITHOUT invalidating the TLB ...
        let other = r
            .phys
            .alloc(FrameOwner::Anon { anon: 1 }, &mut r.ev)
            .unwrap();
        r.set_leaf(Pte::new(other, P | RW | US));
        // ... and the CPU still uses the old translation: the teachable bug.
        assert_eq!(r.go(VA, Access::Read), Ok(old));
        assert_eq!(r.go(VA, Access::Write), Ok(old));
        // Even unmapping it does not stop accesses until INVLPG.
        r.set_leaf(Pte(0));
        assert_eq!(r.go(VA, Access::Read), Ok(old));
        r.set_leaf(Pte::new(other, P | RW | US));
        assert_eq!(r.tlb.flush_page(1, VA), 1);
        assert_eq!(r.go(VA, Access::Read), Ok(PhysAddr(other.addr().0 | 0xabc)));
    }

    #[test]
    fn write_to_clean_stale_entry_rewalks() {
        let mut r = Rig::full(P | RW | US);
        r.go(VA, Access::Read).unwrap();
        // Write-protect without a flush; the cached entry still says writable
        // but is clean, so the write's dirty assist walks and faults.
        r.set_leaf(Pte::new(r.page, P | US));
        let f = r.go(VA, Access::Write).unwrap_err();
        assert_eq!(
            f.code,
            PfErrorCode::PRESENT | PfErrorCode::USER | PfErrorCode::WRITE
        );
        assert!(r.tlb.contains(1, VA).is_none());
    }

    #[test]
    fn huge_page_walk_and_translate() {
        let mut phys = PhysMem::new(4096);
        let mut ev = EventLog::new(false);
        let mut t = |l| {
            phys.alloc(FrameOwner::PageTable { asid: 2, level: l }, &mut ev)
                .unwrap()
        };
        let (cr3, pdpt, pd) = (t(4), t(3), t(2));
        let run = phys
            .alloc_huge(|_| FrameOwner::Anon { anon: 0 }, &mut ev)
            .unwrap();
        let va = VirtAddr(0x4000_0000 + 0x20_0000 * 3);
        phys.write_u64(
            entry_addr(cr3, va.table_index(4)),
            Pte::new(pdpt, P | RW | US).0,
        );
        phys.write_u64(
            entry_addr(pdpt, va.table_index(3)),
            Pte::new(pd, P | RW | US).0,
        );
        phys.write_u64(
            entry_addr(pd, va.table_index(2)),
            Pte::new(run, P | RW | US | PteFlags::HUGE).0,
        );
        let probe = VirtAddr(va.0 + 5 * 4096 + 7);
        let w = walk(&phys, cr3, probe);
        assert_eq!(w.steps.len(), 3);
        match w.outcome {
            WalkOutcome::Mapped { pfn, huge, .. } => {
                assert!(huge);
                assert_eq!(pfn, run.add(5));
            }
            o => panic!("{o:?}"),
        }
        let mut tlb = Tlb::new(16, 4);
        let pa = translate(&mut phys, &mut tlb, cr3, 2, probe, Access::Write, &mut ev).unwrap();
        assert_eq!(pa, PhysAddr(run.add(5).addr().0 + 7));
        let e = tlb.contains(2, VirtAddr(va.0 + 511 * 4096)).unwrap();
        assert!(e.huge && e.dirty);
        let pde = Pte(phys.read_u64(entry_addr(pd, va.table_index(2))));
        assert!(pde.flags().contains(PteFlags::ACCESSED | PteFlags::DIRTY));
        // Bits 20..13 of a 2 MiB entry are reserved.
        phys.write_u64(entry_addr(pd, va.table_index(2)), pde.0 | 1 << 13);
        tlb.flush_all();
        let f = translate(&mut phys, &mut tlb, cr3, 2, probe, Access::Read, &mut ev).unwrap_err();
        assert!(f.code.contains(PfErrorCode::RSVD));
    }
}
