//! Fixed workloads to count instructions with callgrind (`VMCORE_N`
//! iterations; compare two values of N to cancel the setup):
//! `VMCORE_N=1000 valgrind --tool=callgrind <test binary> instr_map --ignored`
use super::*;
use crate::arch::x86_64::mmu::{Access, translate};
use crate::arch::x86_64::tlb::Tlb;

fn n() -> u64 {
    std::env::var("VMCORE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[test]
#[ignore]
fn instr_map_touch_unmap() {
    let mut phys = PhysMem::new(1 << 18);
    let mut ev = EventLog::new(false);
    let mut tlb = Tlb::new(16, 4);
    let mut pmap = Pmap::new(&mut phys, 1, &mut ev).unwrap();
    let base = 0x7f00_0000_0000u64;
    for _ in 0..n() {
        let mut frames = [Pfn(0); 16];
        for (i, f) in frames.iter_mut().enumerate() {
            let va = VirtAddr(base + i as u64 * 4096);
            *f = phys
                .alloc(FrameOwner::Anon { anon: i as u32 }, &mut ev)
                .unwrap();
            pmap.enter(&mut phys, va, *f, PteProt::READ_WRITE, &mut ev)
                .unwrap()
                .flush(&mut tlb, &mut ev);
            let pa = translate(
                &mut phys,
                &mut tlb,
                pmap.cr3(),
                1,
                va,
                Access::Write,
                &mut ev,
            )
            .unwrap();
            phys.write_u8(pa, 1);
        }
        let (f, _un) = pmap.remove(
            &mut phys,
            VirtAddr(base),
            VirtAddr(base + 16 * 4096),
            &mut ev,
        );
        f.flush(&mut tlb, &mut ev);
        for f in frames {
            phys.free(f, &mut ev);
        }
    }
}

#[test]
#[ignore]
fn instr_tlb_hit() {
    let mut phys = PhysMem::new(1 << 18);
    let mut ev = EventLog::new(false);
    let mut tlb = Tlb::new(16, 4);
    let mut pmap = Pmap::new(&mut phys, 1, &mut ev).unwrap();
    let base = 0x7f00_0000_0000u64;
    let p = phys.alloc(FrameOwner::Anon { anon: 0 }, &mut ev).unwrap();
    pmap.enter(&mut phys, VirtAddr(base), p, PteProt::READ_WRITE, &mut ev)
        .unwrap()
        .ignore();
    let mut sum = 0u64;
    for i in 0..n() * 1000 {
        let va = VirtAddr(base + (i & 0xfff));
        let pa = translate(
            &mut phys,
            &mut tlb,
            pmap.cr3(),
            1,
            va,
            Access::Read,
            &mut ev,
        )
        .unwrap();
        sum += phys.read_u8(pa) as u64;
    }
    assert_eq!(sum, 0);
}
