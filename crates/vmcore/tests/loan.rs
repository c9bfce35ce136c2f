//! UVM page loaning (`vm/loan.rs`), rule by rule as FORMAT-v2-bsd.md's
//! "What a loan does" states them, with `Machine::check()` after every
//! step and every frame free at the end (but the zero page and the page
//! cache of files still in the file system).

use vmcore::addr::{Pfn, VirtAddr};
use vmcore::errno::Errno;
use vmcore::personality::linux::abi::*;
use vmcore::{Event, LoanError, LoanId, Machine, MachineConfig};

const A: u64 = 0x3000_0000_0000;
const K: u64 = 1024;
const RW: u64 = PROT_READ | PROT_WRITE;
const PA: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const SA: u64 = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;

fn machine() -> Machine {
    Machine::new(MachineConfig {
        frames: 8192,
        ..MachineConfig::default()
    })
}

#[track_caller]
fn ok(m: &Machine) {
    if let Err(e) = m.check() {
        panic!("invariant broken: {e}");
    }
}

/// The leaf mapping `va` in `pid`: (frame, writable), if present.
fn leaf(m: &Machine, pid: u32, va: u64) -> Option<(Pfn, bool)> {
    m.process(pid)?
        .pmap
        .lookup(m.phys(), VirtAddr(va))
        .filter(|l| l.present)
        .map(|l| (l.pfn, l.writable))
}

fn frame_of(m: &Machine, pid: u32, va: u64) -> Pfn {
    leaf(m, pid, va).expect("mapped").0
}

fn loans_of(m: &Machine, pfn: Pfn) -> u32 {
    m.phys().desc(pfn).loans
}

/// Every process exits and every loan ends: only the zero page and the
/// page cache of files in the file system stay.
#[track_caller]
fn all_free_at_the_end(m: &mut Machine) {
    for pid in m.processes() {
        m.exit(pid).unwrap();
        ok(m);
    }
    let ids: Vec<LoanId> = m.loans().map(|l| l.id).collect();
    for id in ids {
        m.unloan(id).unwrap();
        ok(m);
    }
    let f = m.frames_summary();
    assert_eq!((f.anon, f.page_table, f.loaned), (0, 0, 0));
    assert_eq!(f.total - f.free, f.zero + f.cache);
    assert_eq!(loans_of(m, zero_page(m)), 0);
}

fn zero_page(m: &Machine) -> Pfn {
    Pfn(m
        .phys()
        .allocated()
        .find(|&p| m.phys().desc(p).owner == vmcore::phys::FrameOwner::Zero)
        .expect("the zero page")
        .0)
}

fn errno(r: Result<LoanId, vmcore::SysError>) -> Errno {
    r.expect_err("the loan should fail").errno
}

#[test]
fn nb_loan_anon_as_the_case_runs_it() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0x11).unwrap();
    ok(&m);
    // Page 1 is untouched: the zero page is lent for it.
    let l = m.loan(1, A, 8 * K).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(0x11));
    assert_eq!(m.loan_read(l, 4096), Ok(0x00));
    assert_eq!(m.loan_info(l).unwrap().pages[1], zero_page(&m));
    // The lender may still read.
    assert_eq!(m.load(1, A), Ok(0x11));
    // A first write to the untouched page zero-fills it; the zero page's
    // loan stays.
    m.store(1, A + 4 * K, 0x22).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 4096), Ok(0x00));
    // A write to the lent anon breaks the loan: the anon gets a copy.
    let lent = frame_of(&m, 1, A);
    m.store(1, A, 0x33).unwrap();
    ok(&m);
    assert_ne!(frame_of(&m, 1, A), lent);
    assert_eq!(m.loan_read(l, 0), Ok(0x11));
    assert_eq!(m.load(1, A), Ok(0x33));
    // The freed page stays with the borrower.
    m.munmap(1, A, 8 * K).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(0x11));
    assert_eq!(m.frames_summary().loaned, 1);
    let free = m.phys().free_frames();
    m.unloan(l).unwrap();
    ok(&m);
    assert_eq!(m.phys().free_frames(), free + 1, "the orphan is freed");
    // An untouched shared anonymous page cannot be lent.
    m.mmap(1, A + 64 * K, 4 * K, RW, SA, -1, 0).unwrap();
    assert_eq!(errno(m.loan(1, A + 64 * K, 4 * K)), Errno::EINVAL);
    ok(&m);
    m.store(1, A + 64 * K, 0x44).unwrap();
    let l2 = m.loan(1, A + 64 * K, 4 * K).unwrap();
    ok(&m);
    let c = m.fork(1).unwrap();
    ok(&m);
    // The child writes the shared page: the loan breaks, and the parent
    // sees the new page too.
    m.store(c, A + 64 * K, 0x55).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l2, 0), Ok(0x44));
    assert_eq!(m.load(1, A + 64 * K), Ok(0x55));
    m.unloan(l2).unwrap();
    ok(&m);
    all_free_at_the_end(&mut m);
}

#[test]
fn nb_loan_file_pages_as_the_case_runs_it() {
    let mut m = machine();
    let f = m.open(1, "lf", 32 * K).unwrap();
    let v = m
        .mmap(1, A, 32 * K, RW, MAP_SHARED | MAP_FIXED, f as i64, 0)
        .unwrap();
    let v2 = m
        .mmap(
            1,
            A + 64 * K,
            32 * K,
            RW,
            MAP_SHARED | MAP_FIXED,
            f as i64,
            0,
        )
        .unwrap();
    let l = m.loan(1, v + 4 * K, 28 * K).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(0x50)); // file byte 4096: 4096 % 251
    // A write through another mapping: uvm_loanbreak replaces the pages in
    // the file by copies, seen by every mapping and by pread.
    m.fill(1, v2, 32 * K, 0x45).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(0x50));
    assert_eq!(m.load(1, v + 4 * K), Ok(0x45));
    assert_eq!(m.pread(1, f, 4096), Ok(Some(0x45)));
    m.unloan(l).unwrap();
    ok(&m);
    // A private mapping: the write copies (promotion), the file page and
    // its loan stay.
    let p = m
        .mmap(
            1,
            A + 128 * K,
            32 * K,
            RW,
            MAP_PRIVATE | MAP_FIXED,
            f as i64,
            0,
        )
        .unwrap();
    let k = m.loan(1, p + 4 * K, 28 * K).unwrap();
    let cache = m.loan_info(k).unwrap().pages[0];
    m.fill(1, p, 32 * K, 0x41).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(k, 0), Ok(0x45));
    assert_eq!(m.pread(1, f, 4096), Ok(Some(0x45)));
    assert_eq!(loans_of(&m, cache), 1, "promotion left the lent page alone");
    assert_ne!(frame_of(&m, 1, p + 4 * K), cache);
    m.unloan(k).unwrap();
    ok(&m);
    // An unmapped page, a wired page.
    assert_eq!(errno(m.loan(1, A + 1024 * K, 4 * K)), Errno::ENOENT);
    let a = m.mmap(1, A + 192 * K, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, a, 0x11).unwrap();
    m.mlock(1, a, 4 * K).unwrap();
    assert_eq!(errno(m.loan(1, a, 4 * K)), Errno::EINVAL);
    ok(&m);
    all_free_at_the_end(&mut m);
}

#[test]
fn lending_write_protects_every_mapping_with_its_shootdown() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, SA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    let c = m.fork(1).unwrap();
    m.store(c, A, 2).unwrap(); // both map the shmem page writable
    assert!(leaf(&m, 1, A).unwrap().1 && leaf(&m, c, A).unwrap().1);
    m.take_events();
    let l = m.loan(1, A, 4 * K).unwrap();
    ok(&m);
    let pfn = frame_of(&m, 1, A);
    assert_eq!(loans_of(&m, pfn), 1);
    assert!(!leaf(&m, 1, A).unwrap().1, "the lender's PTE is read-only");
    assert!(!leaf(&m, c, A).unwrap().1, "so is the child's");
    let ev = m.take_events();
    let flushes = ev
        .iter()
        .filter(|e| matches!(e, Event::TlbFlushPage { va, .. } if va.0 == A))
        .count();
    assert_eq!(flushes, 2, "one INVLPG per address space: {ev:?}");
    assert!(ev.iter().any(|e| matches!(e, Event::Loan { pages: 1, .. })));
    // The frame view shows the count and who borrowed.
    let fv = m.frame(pfn.0).unwrap();
    assert_eq!((fv.loans, fv.borrowed_by.clone()), (1, vec![l.number()]));
    // The lender and the child still read it.
    assert_eq!((m.load(1, A), m.load(c, A)), (Ok(2), Ok(2)));
    ok(&m);
    all_free_at_the_end(&mut m);
}

#[test]
fn a_read_fault_maps_a_lent_page_read_only() {
    let mut m = machine();
    // shmem maps writable on a read fault, unless the page is lent.
    m.mmap(1, A, 4 * K, RW, SA, -1, 0).unwrap();
    m.store(1, A, 7).unwrap();
    let l = m.loan(1, A, 4 * K).unwrap();
    m.madvise(1, A, 4 * K, MADV_DONTNEED).unwrap();
    ok(&m);
    assert_eq!(leaf(&m, 1, A), None);
    assert_eq!(m.load(1, A), Ok(7));
    ok(&m);
    assert_eq!(leaf(&m, 1, A).map(|x| x.1), Some(false));
    m.store(1, A, 8).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(7));
    assert_eq!(leaf(&m, 1, A).map(|x| x.1), Some(true));
    m.unloan(l).unwrap();
    // An anon brought back from swap by the loan: the read fault that maps
    // it again maps it read-only.
    m.swapon(64 * K).unwrap();
    m.mmap(1, A + 64 * K, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A + 64 * K, 9).unwrap();
    m.madvise(1, A + 64 * K, 4 * K, MADV_PAGEOUT).unwrap();
    ok(&m);
    assert_eq!(leaf(&m, 1, A + 64 * K), None, "paged out");
    let l = m.loan(1, A + 64 * K, 4 * K).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(9), "uvmfault_anonget read it back");
    assert_eq!(m.load(1, A + 64 * K), Ok(9));
    ok(&m);
    assert_eq!(leaf(&m, 1, A + 64 * K).map(|x| x.1), Some(false));
    m.store(1, A + 64 * K, 10).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(9));
    assert_eq!(m.load(1, A + 64 * K), Ok(10));
    all_free_at_the_end(&mut m);
}

#[test]
fn a_copy_on_write_fault_copies_and_leaves_the_lent_page_alone() {
    let mut m = machine();
    m.mmap(1, A, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0x11).unwrap();
    let l = m.loan(1, A, 4 * K).unwrap();
    let lent = frame_of(&m, 1, A);
    let c = m.fork(1).unwrap();
    ok(&m);
    m.take_events();
    // The child's write: an ordinary copy-on-write copy (the anon has two
    // references), no loan break.
    m.store(c, A, 0x22).unwrap();
    ok(&m);
    let ev = m.take_events();
    assert!(!ev.iter().any(|e| matches!(e, Event::LoanBreak { .. })));
    assert_eq!(frame_of(&m, 1, A), lent);
    assert_eq!(loans_of(&m, lent), 1);
    // Now the parent is the anon's sole owner: its write breaks the loan.
    m.store(1, A, 0x33).unwrap();
    ok(&m);
    let ev = m.take_events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::LoanBreak { anon: true, old, .. } if *old == lent))
    );
    assert_eq!(m.loan_read(l, 0), Ok(0x11));
    assert_eq!((m.load(1, A), m.load(c, A)), (Ok(0x33), Ok(0x22)));
    assert_eq!(m.phys().desc(lent).owner, vmcore::phys::FrameOwner::Loaned);
    all_free_at_the_end(&mut m);
}

#[test]
fn a_loan_break_is_seen_by_every_mapping_of_the_anon() {
    use vmcore::personality::netbsd::abi as nb;
    // NetBSD's MAP_INHERIT_SHARE: parent and child share the amap itself,
    // so the anon has one reference and two mappings.
    let mut m = Machine::new(MachineConfig {
        frames: 8192,
        personality: &vmcore::personality::NETBSD,
        ..MachineConfig::default()
    });
    // A private file mapping (its flags are spelt alike by every kernel);
    // the store promotes the page into an anon.
    let f = m.open(1, "shared-amap", 4 * K).unwrap();
    let flags = nb::MAP_PRIVATE | nb::MAP_FIXED;
    m.mmap(
        1,
        A,
        4 * K,
        nb::PROT_READ | nb::PROT_WRITE,
        flags,
        f as i64,
        0,
    )
    .unwrap();
    m.store(1, A, 0x11).unwrap();
    m.minherit(1, A, 4 * K, nb::MAP_INHERIT_SHARE).unwrap();
    let c = m.fork(1).unwrap();
    assert_eq!(m.load(c, A), Ok(0x11));
    let l = m.loan(1, A, 4 * K).unwrap();
    ok(&m);
    let old = m.loan_info(l).unwrap().pages[0];
    assert_eq!(m.phys().desc(old).mapcount, 2);
    assert!(!leaf(&m, 1, A).unwrap().1 && !leaf(&m, c, A).unwrap().1);
    // The child writes: uvm_loanbreak_anon gives the anon a copy and takes
    // the old page from every mapping, so the parent sees the child's byte.
    m.store(c, A, 0x22).unwrap();
    ok(&m);
    assert_eq!(m.phys().desc(old).mapcount, 0);
    assert_eq!(
        leaf(&m, 1, A),
        None,
        "the parent's mapping of the old page went"
    );
    assert_eq!(m.load(1, A), Ok(0x22));
    assert_eq!(frame_of(&m, 1, A), frame_of(&m, c, A));
    assert_eq!(m.loan_read(l, 0), Ok(0x11));
    all_free_at_the_end(&mut m);
}

#[test]
fn pwrite_and_truncation_break_the_loan_of_a_file_page() {
    let mut m = machine();
    let f = m.open(1, "t", 16 * K).unwrap();
    let v = m
        .mmap(1, A, 16 * K, RW, MAP_SHARED | MAP_FIXED, f as i64, 0)
        .unwrap();
    assert_eq!(m.load(1, v + 4 * K), Ok(0x50));
    let l = m.loan(1, v, 16 * K).unwrap();
    ok(&m);
    m.pwrite(1, f, 4096, 0xee).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 4096), Ok(0x50));
    assert_eq!(m.pread(1, f, 4096), Ok(Some(0xee)));
    assert_eq!(m.load(1, v + 4 * K), Ok(0xee));
    // Truncation into page 2 zeroes its tail (a write: the loan breaks)
    // and frees page 3 (an orphan now, kept by the loan).
    let p2 = m.loan_info(l).unwrap().pages[2];
    let p3 = m.loan_info(l).unwrap().pages[3];
    m.ftruncate(1, f, 8 * K + 100).unwrap();
    ok(&m);
    assert_eq!(m.phys().desc(p3).owner, vmcore::phys::FrameOwner::Loaned);
    assert_eq!(m.phys().desc(p2).owner, vmcore::phys::FrameOwner::Loaned);
    let tail = 8 * 1024 + 200;
    assert_eq!(m.loan_read(l, tail), Ok((tail % 251) as u8));
    assert_eq!(
        m.pread(1, f, 8 * K + 99),
        Ok(Some(((8 * K + 99) % 251) as u8))
    );
    assert_eq!(
        m.loan_read(l, 12 * 1024 + 1),
        Ok(((12 * K + 1) % 251) as u8)
    );
    assert_eq!(
        m.frames_summary().loaned,
        3,
        "pages 1, 2 (broken) and 3 (cut)"
    );
    all_free_at_the_end(&mut m);
}

#[test]
fn pages_freed_by_their_owner_stay_with_the_borrower() {
    let mut m = machine();
    // exit
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 8 * K, 0x66).unwrap();
    let c = m.fork(1).unwrap();
    m.store(c, A, 0x77).unwrap();
    let l = m.loan(c, A, 8 * K).unwrap();
    m.exit(c).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(0x77));
    assert_eq!(m.loan_read(l, 4096), Ok(0x66), "still the parent's page");
    assert_eq!(m.frames_summary().loaned, 1);
    // MADV_FREE marks it lazily free; reclaim (MADV_PAGEOUT) never
    // discards a lent page; munmap then frees it into the borrower's hands.
    m.madvise(1, A, 8 * K, MADV_FREE).unwrap();
    m.madvise(1, A, 8 * K, MADV_PAGEOUT).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A + 4 * K), Ok(0x66));
    m.munmap(1, A, 8 * K).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 4096), Ok(0x66));
    assert_eq!(m.frames_summary().loaned, 2);
    let ev = m.take_events();
    assert!(ev.iter().any(|e| matches!(e, Event::LoanOrphan { .. })));
    m.unloan(l).unwrap();
    ok(&m);
    assert_eq!(m.frames_summary().loaned, 0);
    all_free_at_the_end(&mut m);
}

#[test]
fn a_failed_loan_gives_back_what_it_had_lent() {
    let mut m = machine();
    m.mmap(1, A, 12 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 12 * K, 3).unwrap();
    m.mlock(1, A + 8 * K, 4 * K).unwrap();
    let p0 = frame_of(&m, 1, A);
    m.take_events();
    assert_eq!(errno(m.loan(1, A, 12 * K)), Errno::EINVAL);
    ok(&m);
    assert_eq!(loans_of(&m, p0), 0);
    assert!(leaf(&m, 1, A).unwrap().1, "a failed loan protects nothing");
    let ev = m.take_events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::LoanRefused {
            returned: 2,
            errno: "EINVAL",
            ..
        }
    )));
    // A hole after the first page: ENOENT, the first page given back.
    m.munlock(1, A + 8 * K, 4 * K).unwrap();
    m.munmap(1, A + 4 * K, 4 * K).unwrap();
    assert_eq!(errno(m.loan(1, A, 12 * K)), Errno::ENOENT);
    ok(&m);
    assert_eq!(loans_of(&m, p0), 0);
    // An untouched shared anonymous page after a touched one.
    m.mmap(1, A + 64 * K, 8 * K, RW, SA, -1, 0).unwrap();
    m.store(1, A + 64 * K, 1).unwrap();
    let s0 = frame_of(&m, 1, A + 64 * K);
    assert_eq!(errno(m.loan(1, A + 64 * K, 8 * K)), Errno::EINVAL);
    assert_eq!(loans_of(&m, s0), 0);
    // The range wraps; no such process; too large.
    assert_eq!(errno(m.loan(1, u64::MAX - 10, 100)), Errno::ENOENT);
    assert_eq!(errno(m.loan(99, A, 4 * K)), Errno::ESRCH);
    assert_eq!(
        errno(m.loan(1, A + 64 * K, 1 << 40)),
        Errno::EINVAL,
        "page 1 first"
    );
    m.mmap(1, A + (1 << 30), 1 << 30, RW, PA | MAP_NORESERVE, -1, 0)
        .unwrap();
    assert_eq!(errno(m.loan(1, A + (1 << 30), 1 << 30)), Errno::ENOMEM);
    ok(&m);
    assert_eq!(
        loans_of(&m, zero_page(&m)),
        0,
        "65536 zero-page loans given back"
    );
    // A file page past the end of the file.
    let f = m.open(1, "short", 100).unwrap();
    m.mmap(
        1,
        A + 128 * K,
        8 * K,
        PROT_READ,
        MAP_SHARED | MAP_FIXED,
        f as i64,
        0,
    )
    .unwrap();
    assert_eq!(errno(m.loan(1, A + 128 * K, 8 * K)), Errno::EINVAL);
    ok(&m);
    assert!(m.loans().next().is_none());
    all_free_at_the_end(&mut m);
}

#[test]
fn the_borrower_reads_only_a_live_loan_inside_its_range() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A + 5, 9).unwrap();
    // Unaligned: [trunc_page(addr), round_page(addr + len)).
    let l = m.loan(1, A + 5, 4092).unwrap();
    assert_eq!(m.loan_info(l).unwrap().pages.len(), 2);
    assert_eq!(m.loan_read(l, 5), Ok(9));
    assert_eq!(
        m.loan_read(l, 8192),
        Err(LoanError::OutOfRange {
            loan: l,
            off: 8192,
            len: 8192
        })
    );
    assert_eq!(
        m.loan_read(l, u64::MAX),
        Err(LoanError::OutOfRange {
            loan: l,
            off: u64::MAX,
            len: 8192
        })
    );
    m.unloan(l).unwrap();
    assert_eq!(m.loan_read(l, 0), Err(LoanError::Ended(l)));
    assert_eq!(m.unloan(l).unwrap_err().errno, Errno::EINVAL);
    // An empty loan is a loan of no pages.
    let e = m.loan(1, A, 0).unwrap();
    assert!(m.loan_info(e).unwrap().is_empty());
    assert!(m.loan_read(e, 0).is_err());
    // Ids are never reused.
    assert!(e.number() > l.number());
    ok(&m);
    all_free_at_the_end(&mut m);
}

#[test]
fn the_zero_page_is_lent_for_untouched_private_memory() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    let z = zero_page(&m);
    let a = m.loan(1, A, 8 * K).unwrap();
    let b = m.loan(1, A, 4 * K).unwrap();
    ok(&m);
    assert_eq!(loans_of(&m, z), 3);
    m.store(1, A, 1).unwrap(); // zero fill; the zero page is untouched
    ok(&m);
    assert_eq!((m.loan_read(a, 0), m.loan_read(b, 0)), (Ok(0), Ok(0)));
    m.unloan(a).unwrap();
    assert_eq!(loans_of(&m, z), 1);
    m.unloan(b).unwrap();
    ok(&m);
    all_free_at_the_end(&mut m);
}

#[test]
fn two_loans_of_one_page_count_twice_and_keep_the_orphan_until_the_last() {
    let mut m = machine();
    m.mmap(1, A, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    let a = m.loan(1, A, 4 * K).unwrap();
    let b = m.loan(1, A, 4 * K).unwrap();
    let p = frame_of(&m, 1, A);
    assert_eq!(loans_of(&m, p), 2);
    assert_eq!(
        m.frame(p.0).unwrap().borrowed_by,
        vec![a.number(), b.number()]
    );
    m.store(1, A, 2).unwrap();
    ok(&m);
    m.unloan(a).unwrap();
    ok(&m);
    assert!(m.phys().is_allocated(p), "b still holds it");
    assert_eq!(m.loan_read(b, 0), Ok(1));
    m.unloan(b).unwrap();
    ok(&m);
    assert!(!m.phys().is_allocated(p));
    all_free_at_the_end(&mut m);
}

#[test]
fn a_lent_page_is_never_reclaimed_or_paged_out() {
    let mut m = machine();
    m.swapon(1024 * K).unwrap();
    m.mmap(1, A, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0xab).unwrap();
    let l = m.loan(1, A, 4 * K).unwrap();
    let p = frame_of(&m, 1, A);
    assert_eq!(m.phys().desc(p).lru, vmcore::phys::LruList::None);
    m.madvise(1, A, 4 * K, MADV_PAGEOUT).unwrap();
    ok(&m);
    assert_eq!(frame_of(&m, 1, A), p, "MADV_PAGEOUT left it");
    // Pressure: a limit of 64 pages and 128 pages touched elsewhere.
    m.memlimit(64 * 4 * K).unwrap();
    m.mmap(1, A + 1024 * K, 512 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A + 1024 * K, 512 * K, 1).unwrap();
    ok(&m);
    assert!(m.swapped() > 0, "reclaim ran");
    assert_eq!(frame_of(&m, 1, A), p, "the lent page stayed");
    assert_eq!(m.loan_read(l, 0), Ok(0xab));
    m.unloan(l).unwrap();
    ok(&m);
    assert_ne!(
        m.phys().desc(p).lru,
        vmcore::phys::LruList::None,
        "back on a paging queue"
    );
    all_free_at_the_end(&mut m);
}

#[test]
fn a_lent_page_in_a_huge_page_splits_its_mapping() {
    let mut m = machine();
    let h = A + (64 << 20);
    m.mmap(1, h, 2 << 20, RW, PA, -1, 0).unwrap();
    m.madvise(1, h, 2 << 20, MADV_HUGEPAGE).unwrap();
    m.store(1, h, 1).unwrap();
    assert!(
        m.process(1)
            .unwrap()
            .pmap
            .lookup(m.phys(), VirtAddr(h))
            .unwrap()
            .huge
    );
    m.store(1, h + 8 * K, 2).unwrap();
    let l = m.loan(1, h + 8 * K, 4 * K).unwrap();
    ok(&m);
    assert_eq!(leaf(&m, 1, h + 8 * K).map(|x| x.1), Some(false));
    assert_eq!(
        leaf(&m, 1, h).map(|x| x.1),
        Some(true),
        "the rest stays writable"
    );
    // MADV_COLLAPSE refuses a block holding a lent page.
    let _ = m.madvise(1, h, 2 << 20, MADV_COLLAPSE);
    ok(&m);
    assert_eq!(leaf(&m, 1, h + 8 * K).map(|x| x.1), Some(false));
    m.store(1, h + 8 * K, 3).unwrap();
    ok(&m);
    assert_eq!(m.loan_read(l, 0), Ok(2));
    assert_eq!(m.load(1, h + 8 * K), Ok(3));
    all_free_at_the_end(&mut m);
}

#[test]
fn mincore_and_maps_do_not_show_loans() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 1).unwrap();
    let (maps, core) = (m.maps(1).unwrap(), m.mincore(1, A, 8 * K).unwrap());
    let l = m.loan(1, A, 8 * K).unwrap();
    ok(&m);
    assert_eq!(m.maps(1).unwrap(), maps);
    assert_eq!(m.mincore(1, A, 8 * K).unwrap(), core);
    m.unloan(l).unwrap();
    all_free_at_the_end(&mut m);
}

#[test]
fn loan_events_are_narrated() {
    let mut m = machine();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 8 * K, 1).unwrap();
    m.take_events();
    let l = m.loan(1, A, 8 * K).unwrap();
    m.store(1, A, 2).unwrap();
    m.munmap(1, A, 8 * K).unwrap();
    m.unloan(l).unwrap();
    let text: Vec<String> = m.take_events().iter().map(|e| e.to_string()).collect();
    let has = |s: &str| text.iter().any(|t| t.contains(s));
    assert!(has(
        "p1 lent 2 pages from 0x300000000000 to the kernel (loan #1)"
    ));
    assert!(has("(loan count 1)"));
    assert!(has("breaks the loan (uvm_loanbreak_anon)"));
    assert!(has("broke the loan"));
    assert!(has("freed by its owner while on loan"));
    assert!(has(
        "loan #1 ended: 2 pages given back, 2 orphaned frames freed"
    ));
    assert_eq!(m.loan(1, A, 4 * K).unwrap_err().errno, Errno::ENOENT);
    let text: Vec<String> = m.take_events().iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("loan failed at 0x300000000000: -ENOENT"))
    );
    all_free_at_the_end(&mut m);
}

#[test]
fn madv_dontneed_frees_a_lent_page_into_the_borrowers_hands() {
    let mut m = machine();
    m.mmap(1, A, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0x5c).unwrap();
    let l = m.loan(1, A, 4 * K).unwrap();
    let p = frame_of(&m, 1, A);
    m.madvise(1, A, 4 * K, MADV_DONTNEED).unwrap();
    ok(&m);
    assert_eq!(m.load(1, A), Ok(0), "the owner's page is gone");
    assert_eq!(m.phys().desc(p).owner, vmcore::phys::FrameOwner::Loaned);
    assert_eq!(m.loan_read(l, 0), Ok(0x5c), "the borrower's is not");
    all_free_at_the_end(&mut m);
}

#[test]
fn swapoff_maps_a_lent_page_back_read_only() {
    let mut m = machine();
    m.swapon(64 * K).unwrap();
    m.mmap(1, A, 4 * K, RW, PA, -1, 0).unwrap();
    m.store(1, A, 0x42).unwrap();
    m.madvise(1, A, 4 * K, MADV_PAGEOUT).unwrap();
    // The loan reads the page back into the swap cache; the PTE still
    // holds the swap entry.
    let l = m.loan(1, A, 4 * K).unwrap();
    ok(&m);
    assert_eq!(leaf(&m, 1, A), None);
    m.swapoff().unwrap();
    ok(&m);
    assert_eq!(leaf(&m, 1, A).map(|x| x.1), Some(false), "read-only: lent");
    m.store(1, A, 0x43).unwrap();
    ok(&m);
    assert_eq!((m.loan_read(l, 0), m.load(1, A)), (Ok(0x42), Ok(0x43)));
    all_free_at_the_end(&mut m);
}
