//! Syscall and fault-path tests of the core, each step followed by
//! `Machine::check()`.

use vmcore::event::SignalCode;
use vmcore::personality::linux::abi::*;
use vmcore::{AccessError, Errno, Machine, MachineConfig};

const A: u64 = 0x3000_0000_0000;
const RW: u64 = PROT_READ | PROT_WRITE;
const PA: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

fn machine() -> Machine {
    Machine::new(MachineConfig::default())
}

fn ok(m: &Machine) {
    if let Err(e) = m.check() {
        panic!("invariant broken: {e}");
    }
}

fn errno<T: std::fmt::Debug>(r: Result<T, vmcore::SysError>) -> Errno {
    r.expect_err("expected an error").errno
}

fn sig<T: std::fmt::Debug>(r: Result<T, AccessError>) -> SignalCode {
    match r {
        Err(AccessError::Signal(s)) => s.code,
        other => panic!("expected a signal, got {other:?}"),
    }
}

fn maps(m: &Machine, pid: u32) -> Vec<String> {
    m.maps(pid)
        .unwrap()
        .into_iter()
        .filter(|l| l.start >= A && l.start < A + (64 << 30))
        .map(|l| {
            format!(
                "{:#x}-{:#x} {} {:#x} {}",
                l.start, l.end, l.perms, l.offset, l.backing
            )
        })
        .collect()
}

#[test]
fn demand_zero_and_store() {
    let mut m = machine();
    assert_eq!(m.mmap(1, A, 16384, RW, PA, -1, 0).unwrap(), A);
    ok(&m);
    assert_eq!(m.mincore(1, A, 16384).unwrap(), vec![0, 0, 0, 0]);
    assert_eq!(m.load(1, A).unwrap(), 0);
    ok(&m);
    assert_eq!(m.mincore(1, A, 16384).unwrap(), vec![1, 0, 0, 0]);
    m.store(1, A + 4096, 0x7f).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A + 4096).unwrap(), 0x7f);
    assert_eq!(m.load(1, A + 4097).unwrap(), 0);
    m.store(1, A, 5).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A).unwrap(), 5);
}

#[test]
fn cow_after_fork() {
    let mut m = machine();
    m.mmap(1, A, 8192, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0x10).unwrap();
    m.store(1, A + 4096, 0x20).unwrap();
    let c = m.fork(1).unwrap();
    ok(&m);
    assert_eq!(m.load(c, A).unwrap(), 0x10);
    m.store(c, A, 0x11).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A).unwrap(), 0x10);
    m.store(1, A + 4096, 0x21).unwrap();
    ok(&m);
    assert_eq!(m.load(c, A + 4096).unwrap(), 0x20);
    assert_eq!(m.load(1, A + 4096).unwrap(), 0x21);
    assert_eq!(
        maps(&m, c),
        vec!["0x300000000000-0x300000002000 rw-p 0x0 anon"]
    );
    m.exit(c).unwrap();
    ok(&m);
    m.exit(1).unwrap();
    ok(&m);
}

#[test]
fn mprotect_split_merge() {
    let mut m = machine();
    m.mmap(1, A, 12288, RW, PA, -1, 0).unwrap();
    m.store(1, A + 4096, 9).unwrap();
    m.mprotect(1, A + 4096, 4096, PROT_READ).unwrap();
    ok(&m);
    assert_eq!(maps(&m, 1).len(), 3);
    assert_eq!(sig(m.store(1, A + 4096, 10)), SignalCode::SegvAccerr);
    m.mprotect(1, A + 4096, 4096, RW).unwrap();
    ok(&m);
    assert_eq!(
        maps(&m, 1),
        vec!["0x300000000000-0x300000003000 rw-p 0x0 anon"]
    );
    m.store(1, A + 4096, 11).unwrap();
    assert_eq!(m.load(1, A + 4096).unwrap(), 11);
    ok(&m);
}

#[test]
fn errors() {
    let mut m = machine();
    assert_eq!(errno(m.mmap(1, A, 0, RW, PA, -1, 0)), Errno::EINVAL);
    assert_eq!(
        errno(m.mmap(1, A, 4096, RW, MAP_PRIVATE | MAP_FIXED, -1, 0)),
        Errno::EBADF
    );
    assert_eq!(
        errno(m.mmap(1, A, 4096, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, A + 1, 4096, RW, PA, -1, 0)), Errno::EINVAL);
    assert_eq!(errno(m.munmap(1, A, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mlockall(1, 0)), Errno::EINVAL);
    ok(&m);
}

#[test]
fn brk_grows_and_shrinks_the_heap() {
    let mut m = machine();
    let base = m.brk(1, 0).unwrap();
    assert_eq!(base, vmcore::personality::linux::BRK_START);
    assert_eq!(m.brk(1, base + 10000).unwrap(), base + 10000);
    ok(&m);
    m.store(1, base + 9999, 3).unwrap();
    assert_eq!(m.load(1, base + 9999).unwrap(), 3);
    // Shrinking unmaps the pages past the new break.
    assert_eq!(m.brk(1, base + 4096).unwrap(), base + 4096);
    ok(&m);
    assert_eq!(sig(m.load(1, base + 9999)), SignalCode::SegvMaperr);
    // Below the start: the break does not move.
    assert_eq!(m.brk(1, base - 4096).unwrap(), base + 4096);
}

#[test]
fn stack_grows_down_within_its_limit() {
    let mut m = machine();
    let top = vmcore::personality::linux::STACK_TOP;
    let low = top - vmcore::personality::linux::STACK_SIZE;
    // Just below the stack: the stack grows.
    m.store(1, low - 100, 9).unwrap();
    ok(&m);
    assert_eq!(m.load(1, low - 100).unwrap(), 9);
    // Past RLIMIT_STACK: SIGSEGV.
    assert_eq!(sig(m.store(1, top - (9 << 20), 1)), SignalCode::SegvMaperr);
    // A MAP_GROWSDOWN mapping grows too, but never into its guard gap.
    let g = m
        .mmap(1, A + (64 << 20), 4096, RW, PA | MAP_GROWSDOWN, -1, 0)
        .unwrap();
    m.mmap(1, A, 4096, RW, PA, -1, 0).unwrap();
    m.store(1, g - 4096, 1).unwrap();
    ok(&m);
    assert_eq!(sig(m.store(1, A + 8192, 1)), SignalCode::SegvMaperr);
}

#[test]
fn huge_page_fault_fork_and_split() {
    let mut m = machine();
    m.mmap(1, A, 4 << 20, RW, PA, -1, 0).unwrap();
    m.madvise(1, A, 2 << 20, MADV_HUGEPAGE).unwrap();
    m.store(1, A + 5000, 1).unwrap();
    ok(&m);
    let w = m.walk(1, A + 5000).unwrap();
    assert!(
        w.huge && w.steps.len() == 3,
        "one PD entry with PS maps 2 MiB: {w:?}"
    );
    assert!(w.steps[2].flags.contains(&"PS"));
    assert_eq!(
        m.mincore(1, A + (2 << 20) - 8192, 8192).unwrap(),
        vec![1, 1]
    );
    // After fork a store copies one 4 KiB page; the huge mapping is split.
    let c = m.fork(1).unwrap();
    ok(&m);
    m.store(c, A + 4096, 2).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A + 4096).unwrap(), 0);
    assert_eq!(m.load(c, A + 4096).unwrap(), 2);
    assert_eq!(m.load(c, A + 5000).unwrap(), 1);
    let wc = m.walk(c, A + 4096).unwrap();
    assert!(!wc.huge && wc.steps.len() == 4);
    // DONTNEED in the middle of the parent's huge page splits it too.
    m.madvise(1, A + 8192, 4096, MADV_DONTNEED).unwrap();
    ok(&m);
    assert_eq!(m.mincore(1, A, 16384).unwrap(), vec![1, 1, 0, 1]);
}

#[test]
fn views_describe_the_machine() {
    let mut m = machine();
    let f = m.open(1, "data.bin", 8192).unwrap();
    m.mmap(1, A, 8192, RW, MAP_SHARED | MAP_FIXED, f as i64, 0)
        .unwrap();
    m.mmap(1, A + 65536, 8192, RW, PA, -1, 0).unwrap();
    m.store(1, A + 65536, 1).unwrap();
    m.load(1, A).unwrap();
    let e = m.entries(1).unwrap();
    let anon = e.iter().find(|e| e.start == A + 65536).unwrap();
    assert_eq!(anon.perms, "rw-p");
    assert!(anon.amap.is_some() && anon.flags.contains(&"account"));
    let file = e.iter().find(|e| e.start == A).unwrap();
    assert_eq!(file.backing, "file:data.bin");
    let s = m.smaps(1).unwrap();
    let sa = s.iter().find(|s| s.start == A + 65536).unwrap();
    assert_eq!((sa.rss, sa.private_dirty, sa.anonymous), (4, 4, 4));
    assert!(sa.vm_flags.contains("ac"));
    let pm = m.pagemap(1, A + 65536, 2).unwrap();
    assert!(pm[0] >> 63 == 1 && pm[1] >> 63 == 0);
    let pfn = pm[0] & ((1 << 55) - 1);
    let fr = m.frame(pfn).unwrap();
    assert_eq!(fr.kind, "anon");
    assert_eq!(fr.mapped_by.len(), 1);
    assert_eq!(
        m.page_states(1, A + 65536, 2)[0] & vmcore::view::page_bits::PRESENT,
        1
    );
    let amap = m.amap_view(1, A + 65536).unwrap();
    assert_eq!(amap.slots.len(), 1);
    let tlb = m.tlb_view();
    assert!(tlb.entries.iter().any(|t| t.va == A + 65536 && t.dirty));
    let sum = m.frames_summary();
    assert_eq!(
        sum.total,
        sum.free + sum.anon + sum.cache + sum.page_table + sum.zero
    );
}

#[test]
fn events_narrate_a_copy_on_write_fault() {
    let mut m = machine();
    m.mmap(1, A, 4096, RW, PA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    let c = m.fork(1).unwrap();
    // After fork the page is mapped twice: bit 7 of its kind byte says so.
    let pfn = m.walk(1, A).unwrap().pfn.unwrap();
    assert_eq!(m.frame_kinds()[pfn as usize], 1 | vmcore::phys::SHARED_BIT);
    m.take_events();
    m.store(c, A, 2).unwrap();
    assert_eq!(m.frame_kinds()[pfn as usize], 1);
    let ev = m.take_events();
    let text: Vec<String> = ev.iter().map(|e| e.to_string()).collect();
    assert!(
        ev.iter()
            .any(|e| matches!(e, vmcore::Event::PageFault { code, .. } if code & 3 == 3)),
        "{text:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, vmcore::Event::FrameCopy { .. })),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.contains("copy-on-write")), "{text:?}");
}

#[test]
fn stale_tlb_entries_are_flushed() {
    // Every PTE change in the core flushes; check() would report a stale
    // translation ("a missing INVLPG") otherwise.
    let mut m = machine();
    m.mmap(1, A, 8192, RW, PA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    m.store(1, A + 4096, 1).unwrap();
    assert!(m.tlb_view().entries.iter().any(|t| t.va == A));
    m.mprotect(1, A, 4096, PROT_READ).unwrap();
    ok(&m);
    assert!(!m.tlb_view().entries.iter().any(|t| t.va == A && t.writable));
    m.munmap(1, A, 8192).unwrap();
    ok(&m);
    assert!(
        !m.tlb_view()
            .entries
            .iter()
            .any(|t| t.va == A || t.va == A + 4096)
    );
}

#[test]
fn exit_frees_everything() {
    let mut m = machine();
    let free0 = m.frames_summary().free;
    m.mmap(1, A, 1 << 20, RW, PA | MAP_POPULATE, -1, 0).unwrap();
    let c = m.fork(1).unwrap();
    m.fill(c, A, 1 << 20, 7).unwrap();
    ok(&m);
    m.exit(c).unwrap();
    m.exit(1).unwrap();
    ok(&m);
    // p1's page tables and stack are gone too: more free than at the start.
    assert!(m.frames_summary().free > free0);
    assert_eq!(m.frames_summary().anon, 0);
    assert!(m.processes().is_empty());
    assert!(matches!(m.load(1, A), Err(AccessError::NoProcess(1))));
    assert_eq!(errno(m.mmap(1, 0, 4096, RW, PA, -1, 0)), Errno::ESRCH);
}

/// mprotect(PROT_NONE) keeps each page's leaf, with P clear and PROTNONE
/// set: the page stays mapped (mincore, mapcount, the walk name its frame)
/// but every access faults; PROT_READ makes the same leaf present again.
#[test]
fn prot_none_keeps_protnone_leaves() {
    let mut m = machine();
    m.mmap(1, A, 8192, RW, PA, -1, 0).unwrap();
    m.store(1, A, 9).unwrap();
    assert_eq!(m.load(1, A + 4096).unwrap(), 0); // the zero page
    let before = m.walk(1, A).unwrap();
    assert!(before.mapped);
    m.mprotect(1, A, 8192, PROT_NONE).unwrap();
    ok(&m);
    let w = m.walk(1, A).unwrap();
    let leaf = w.steps.last().unwrap();
    assert_eq!(leaf.level, 1);
    assert!(!leaf.present, "P is clear");
    assert!(leaf.flags.contains(&"PROTNONE"), "{:?}", leaf.flags);
    assert!(!leaf.flags.contains(&"P") && !leaf.flags.contains(&"US"));
    assert!(leaf.flags.contains(&"D"), "A/D survive: {:?}", leaf.flags);
    assert!(!w.mapped, "the MMU translates nothing");
    assert_eq!(m.mincore(1, A, 8192).unwrap(), vec![1, 1]);
    let pfn = before.pfn.unwrap();
    assert_eq!(m.frame(pfn).unwrap().mapcount, 1, "still mapped once");
    assert_eq!(sig(m.load(1, A)), SignalCode::SegvAccerr);
    ok(&m);
    m.mprotect(1, A, 8192, PROT_READ).unwrap();
    ok(&m);
    m.take_events();
    assert_eq!(m.load(1, A).unwrap(), 9);
    assert!(
        !m.take_events()
            .iter()
            .any(|e| matches!(e, vmcore::Event::PageFault { .. })),
        "the leaf came back present: no fault"
    );
    assert_eq!(m.walk(1, A).unwrap().pfn, Some(pfn));
    m.munmap(1, A, 8192).unwrap();
    ok(&m);
    assert!(m.frame(pfn).is_none_or(|f| f.mapcount == 0));
}

#[test]
fn collapse_makes_one_huge_page_and_keeps_what_fork_shares() {
    let mut m = machine();
    let two_m = 2u64 << 20;
    m.mmap(1, A, 2 * two_m, RW, PA, -1, 0).unwrap();
    // Never written: no anon_vma, so not eligible.
    assert_eq!(errno(m.madvise(1, A, two_m, MADV_COLLAPSE)), Errno::EINVAL);
    m.store(1, A + 4096, 7).unwrap();
    m.load(1, A + 3 * 4096).unwrap(); // the zero page
    let c = m.fork(1).unwrap();
    let anon_before = m.frames_summary().anon;
    m.take_events();
    m.madvise(1, A, two_m, MADV_COLLAPSE).unwrap();
    ok(&m);
    assert!(
        m.take_events()
            .iter()
            .any(|e| matches!(e, vmcore::event::Event::HugeCollapse { pid: 1, .. }))
    );
    let w = m.walk(1, A + 4096).unwrap();
    assert!(w.huge, "one PD entry maps the block: {w:?}");
    assert_eq!(m.load(1, A + 4096).unwrap(), 7);
    assert_eq!(m.mincore(1, A, 4 * 4096).unwrap(), vec![1, 1, 1, 1]);
    // 512 new frames; the child keeps the page it shares.
    assert_eq!(m.frames_summary().anon, anon_before + 512);
    m.store(1, A + 4096, 8).unwrap();
    assert_eq!(m.load(c, A + 4096).unwrap(), 7);
    assert!(!m.walk(c, A + 4096).unwrap().huge);
    let sm = m.smaps(1).unwrap();
    let e = sm.iter().find(|s| s.start == A).unwrap();
    assert_eq!((e.anon_huge_pages, e.shmem_pmd_mapped), (2048, 0));
    // shmem collapses into a page-cache run mapped by one PMD.
    let s = A + (8u64 << 20);
    m.mmap(
        1,
        s,
        two_m,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
        -1,
        0,
    )
    .unwrap();
    m.store(1, s + 4096, 3).unwrap();
    m.madvise(1, s, two_m, MADV_COLLAPSE).unwrap();
    ok(&m);
    assert!(m.walk(1, s).unwrap().huge);
    assert_eq!(m.load(1, s + 4096).unwrap(), 3);
    let sm = m.smaps(1).unwrap();
    let e = sm.iter().find(|x| x.start == s).unwrap();
    assert_eq!(
        (e.anon_huge_pages, e.shmem_pmd_mapped, e.rss),
        (0, 2048, 2048)
    );
    // Already huge: done again at once. The second block has no page
    // table: EINVAL, and nothing changes.
    m.madvise(1, A, two_m, MADV_COLLAPSE).unwrap();
    assert_eq!(
        errno(m.madvise(1, A, 2 * two_m, MADV_COLLAPSE)),
        Errno::EINVAL
    );
    assert_eq!(m.mincore(1, A + two_m, 4096).unwrap(), vec![0]);
    ok(&m);
    for pid in m.processes() {
        m.exit(pid).unwrap();
    }
    let f = m.frames_summary();
    assert_eq!((f.anon, f.page_table), (0, 0));
}

#[test]
fn dontneed_keeps_page_tables_munmap_frees_them() {
    let mut m = machine();
    m.mmap(1, A, 16384, RW, PA, -1, 0).unwrap();
    m.mmap(1, A + (4 << 20), 4096, RW, PA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    m.store(1, A + (4 << 20), 1).unwrap();
    let tables = m.frames_summary().page_table;
    // zap_page_range leaves the emptied page table in place.
    m.madvise(1, A, 16384, MADV_DONTNEED).unwrap();
    ok(&m);
    assert_eq!(m.frames_summary().page_table, tables);
    // munmap frees it: nothing else lies within its 2 MiB span.
    m.munmap(1, A, 16384).unwrap();
    ok(&m);
    assert_eq!(m.frames_summary().page_table, tables - 1);
    // A DONTNEED over a table's whole 2 MiB span frees it (PT_RECLAIM).
    let two_m = 2u64 << 20;
    m.mmap(1, A + (8 << 20), two_m, RW, PA, -1, 0).unwrap();
    m.store(1, A + (8 << 20) + 4096, 1).unwrap();
    let tables = m.frames_summary().page_table;
    m.madvise(1, A + (8 << 20), two_m, MADV_DONTNEED).unwrap();
    ok(&m);
    assert_eq!(m.frames_summary().page_table, tables - 1);
}

#[test]
fn fork_writes_each_copy_of_a_dirty_private_leaf_once_with_d_set() {
    // copy_page_range works a page table at a time; the child's leaves are
    // written one by one in address order, each once, as
    // `__copy_present_ptes` writes it: read-only, A clear, D kept (a
    // private mapping's copy is not cleaned).
    let mut m = machine();
    let a = m
        .mmap(
            1,
            0,
            3 * 4096,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
        .unwrap();
    for i in 0..3 {
        m.store(1, a + i * 4096 + 1, 7).unwrap();
    }
    m.take_events();
    let c = m.fork(1).unwrap();
    let asid = m.process_view(c).unwrap().asid;
    let leaves: Vec<(u64, u64, u64)> = m
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            vmcore::Event::PteWrite {
                asid: x,
                va,
                level: 1,
                old,
                new,
            } if x == asid => Some((va.0, old, new)),
            _ => None,
        })
        .collect();
    assert_eq!(leaves.len(), 3, "one write per leaf: {leaves:x?}");
    for (i, &(v, old, new)) in leaves.iter().enumerate() {
        assert_eq!(v, a + i as u64 * 4096, "in address order");
        assert_eq!(old, 0, "an empty slot");
        assert_eq!(
            new & 0x63,
            0x41,
            "present, read-only, A clear, D set: {new:#x}"
        );
    }
    assert_eq!(m.load(c, a + 4096 + 1), Ok(7));
    ok(&m);
}
