//! Swap, as the `cases-swap` recordings of Linux 6.18 pin it down: each
//! test follows one recorded case step by step, with `Machine::check()`
//! after every step.

use vmcore::personality::linux::abi::*;
use vmcore::{Machine, MachineConfig};

const A: u64 = 0x3000_0000_0000;
const RW: u64 = PROT_READ | PROT_WRITE;
const PA: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const K: u64 = 1024;

fn machine() -> Machine {
    Machine::new(MachineConfig::reference())
}

fn ok(m: &Machine) {
    if let Err(e) = m.check() {
        panic!("invariant broken: {e}");
    }
}

/// The recorder's pagemap characters and swap slots for `n` pages.
fn pagemap(m: &Machine, pid: u32, va: u64, n: u64) -> (String, Vec<u64>) {
    let words = m.pagemap(pid, va, n).unwrap();
    let mut chars = String::new();
    let mut slots = Vec::new();
    for w in words {
        let (present, swap, file, guard, excl) = (
            w >> 63 & 1 == 1,
            w >> 62 & 1 == 1,
            w >> 61 & 1 == 1,
            w >> 58 & 1 == 1,
            w >> 56 & 1 == 1,
        );
        chars.push(match (present, swap, guard, file, excl) {
            (true, _, _, false, true) => 'P',
            (true, _, _, false, false) => 'p',
            (true, _, _, true, true) => 'F',
            (true, _, _, true, false) => 'f',
            (false, true, _, _, _) => {
                slots.push((w & ((1 << 55) - 1)) >> 5);
                'S'
            }
            (false, false, true, _, _) => 'G',
            _ => '.',
        });
    }
    (chars, slots)
}

fn mincore(m: &mut Machine, pid: u32, va: u64, len: u64) -> String {
    m.mincore(pid, va, len)
        .unwrap()
        .iter()
        .map(|b| if b & 1 == 1 { '1' } else { '0' })
        .collect()
}

#[test]
fn pageout_anon() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    assert_eq!(m.mmap(1, A, 32 * K, RW, PA, -1, 0), Ok(A));
    m.fill(1, A, 16 * K, 0x41).unwrap();
    m.fill(1, A + 16 * K, 8 * K, 0x42).unwrap();
    assert_eq!(pagemap(&m, 1, A, 8).0, "PPPPPP..");
    m.madvise(1, A, 24 * K, MADV_PAGEOUT).unwrap();
    ok(&m);
    assert_eq!(mincore(&mut m, 1, A, 32 * K), "00000000");
    assert_eq!(
        pagemap(&m, 1, A, 8),
        ("SSSSSS..".into(), vec![1, 2, 3, 4, 5, 6])
    );
    let s = &m.smaps(1).unwrap()[0];
    assert_eq!((s.rss, s.swap, s.swap_pss), (0, 24, 24));
    assert_eq!(m.swapped(), 6);
    assert_eq!(m.load(1, A + 4 * K), Ok(0x41));
    ok(&m);
    assert_eq!(m.take_major_faults(1), Ok(1));
    assert_eq!(mincore(&mut m, 1, A, 32 * K), "01000000");
    assert_eq!(
        pagemap(&m, 1, A, 8),
        ("SPSSSS..".into(), vec![1, 3, 4, 5, 6])
    );
    m.store(1, A + 8 * K, 0x43).unwrap();
    ok(&m);
    assert_eq!(m.take_major_faults(1), Ok(1));
    assert_eq!(pagemap(&m, 1, A, 8), ("SPPSSS..".into(), vec![1, 4, 5, 6]));
    let s = &m.smaps(1).unwrap()[0];
    assert_eq!(
        (
            s.rss,
            s.pss,
            s.private_clean,
            s.private_dirty,
            s.anonymous,
            s.swap,
            s.swap_pss
        ),
        (8, 8, 4, 4, 8, 16, 16)
    );
    assert_eq!(m.swapped(), 4);
    assert_eq!(m.load(1, A + 20 * K), Ok(0x42));
    assert_eq!(m.load(1, A + 8 * K), Ok(0x43));
    ok(&m);
}

#[test]
fn fork_swapped() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.mmap(1, A, 16 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 16 * K, 0x11).unwrap();
    m.madvise(1, A, 16 * K, MADV_PAGEOUT).unwrap();
    assert_eq!(pagemap(&m, 1, A, 4), ("SSSS".into(), vec![1, 2, 3, 4]));
    let c = m.fork(1).unwrap();
    ok(&m);
    assert_eq!(pagemap(&m, c, A, 4), ("SSSS".into(), vec![1, 2, 3, 4]));
    m.store(c, A, 0x22).unwrap();
    ok(&m);
    assert_eq!(m.take_major_faults(c), Ok(1));
    assert_eq!(mincore(&mut m, 1, A, 16 * K), "1111");
    assert_eq!(pagemap(&m, 1, A, 4).0, "SSSS");
    assert_eq!(pagemap(&m, c, A, 4), ("PSSS".into(), vec![2, 3, 4]));
    assert_eq!(m.swapped(), 0);
    m.store(1, A + 4 * K, 0x33).unwrap();
    ok(&m);
    assert_eq!(m.take_major_faults(1), Ok(0));
    assert_eq!(pagemap(&m, 1, A, 4), ("SPSS".into(), vec![1, 3, 4]));
    assert_eq!(pagemap(&m, c, A, 4), ("PSSS".into(), vec![2, 3, 4]));
    assert_eq!(m.load(1, A), Ok(0x11));
    assert_eq!(m.load(c, A + 4 * K), Ok(0x11));
    assert_eq!(m.load(1, A + 8 * K), Ok(0x11));
    assert_eq!(m.load(c, A + 8 * K), Ok(0x11));
    ok(&m);
    assert_eq!(m.take_major_faults(1), Ok(0));
    assert_eq!(m.take_major_faults(c), Ok(0));
    assert_eq!(pagemap(&m, 1, A, 4), ("PPpS".into(), vec![4]));
    assert_eq!(pagemap(&m, c, A, 4), ("PPpS".into(), vec![4]));
    m.exit(c).unwrap();
    ok(&m);
    assert_eq!(m.swapped(), 0);
}

#[test]
fn munmap_and_exit_free_every_slot() {
    let mut m = machine();
    m.swapon(1 << 20).unwrap();
    m.mmap(1, A, 64 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 64 * K, 7).unwrap();
    m.madvise(1, A, 64 * K, MADV_PAGEOUT).unwrap();
    let c = m.fork(1).unwrap();
    m.munmap(1, A, 32 * K).unwrap();
    ok(&m);
    assert_eq!(m.swapped(), 16);
    m.exit(c).unwrap();
    ok(&m);
    assert_eq!(m.swapped(), 8);
    m.munmap(1, A, 64 * K).unwrap();
    ok(&m);
    assert_eq!(m.swapped(), 0);
    assert_eq!(m.swap_area().unwrap().inuse(), 0);
}

#[test]
fn willneed() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.mmap(1, A, 64 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 64 * K, 0x5a).unwrap();
    m.madvise(1, A, 64 * K, MADV_PAGEOUT).unwrap();
    assert_eq!(m.swapped(), 16);
    m.madvise(1, A + 16 * K, 16 * K, MADV_WILLNEED).unwrap();
    ok(&m);
    assert_eq!(mincore(&mut m, 1, A, 64 * K), "0000111100000000");
    assert_eq!(pagemap(&m, 1, A, 16).0, "SSSSSSSSSSSSSSSS");
    assert_eq!(m.swapped(), 12);
    assert_eq!(m.load(1, A + 20 * K), Ok(0x5a));
    assert_eq!(m.take_major_faults(1), Ok(0));
    assert_eq!(pagemap(&m, 1, A, 16).0, "SSSSSPSSSSSSSSSS");
    m.store(1, A + 24 * K, 0x5b).unwrap();
    ok(&m);
    assert_eq!(m.take_major_faults(1), Ok(0));
    let (chars, slots) = pagemap(&m, 1, A, 16);
    assert_eq!(chars, "SSSSSPPSSSSSSSSS");
    assert_eq!(slots, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert_eq!(m.swapped(), 12);
    assert_eq!(m.load(1, A + 40 * K), Ok(0x5a));
    assert_eq!(m.take_major_faults(1), Ok(1));
    ok(&m);
}

#[test]
fn swapoff_brings_every_anonymous_page_back() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.mmap(1, A, 16 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 16 * K, 0x21).unwrap();
    m.madvise(1, A, 16 * K, MADV_PAGEOUT).unwrap();
    let c = m.fork(1).unwrap();
    assert_eq!(m.swapped(), 4);
    assert_eq!(m.swapoff(), Ok(()));
    ok(&m);
    assert_eq!(m.swapped(), 0);
    assert!(m.swap_area().is_none());
    assert_eq!(mincore(&mut m, 1, A, 16 * K), "1111");
    // An entry shared after fork becomes one page mapped by both.
    assert_eq!(pagemap(&m, 1, A, 4).0, "pppp");
    assert_eq!(pagemap(&m, c, A, 4).0, "pppp");
    assert_eq!(m.load(1, A + 4 * K), Ok(0x21));
    assert_eq!(m.take_major_faults(1), Ok(0));
    m.madvise(1, A, 16 * K, MADV_PAGEOUT).unwrap();
    assert_eq!(pagemap(&m, 1, A, 4).0, "pppp");
    assert_eq!(m.swapoff().unwrap_err().errno, vmcore::Errno::EINVAL);
    ok(&m);
}

#[test]
fn memlimit_fifo() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.memlimit(2 << 20).unwrap();
    m.mmap(1, A, 4096 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 4096 * K, 0x5a).unwrap();
    ok(&m);
    assert_eq!(mincore(&mut m, 1, A, 256 * K), "0".repeat(64));
    assert_eq!(mincore(&mut m, 1, A + 3072 * K, 1024 * K), "1".repeat(256));
    assert!(m.is_alive(1));
    assert_eq!(m.load(1, A), Ok(0x5a));
    ok(&m);
}

#[test]
fn memlimit_cold() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.memlimit(2 << 20).unwrap();
    m.mmap(1, A, 4096 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 1024 * K, 0x11).unwrap();
    m.madvise(1, A + 512 * K, 512 * K, MADV_COLD).unwrap();
    m.fill(1, A + 1024 * K, 1536 * K, 0x22).unwrap();
    ok(&m);
    assert_eq!(mincore(&mut m, 1, A + 384 * K, 128 * K), "1".repeat(32));
    assert_eq!(mincore(&mut m, 1, A + 512 * K, 512 * K), "0".repeat(128));
    assert_eq!(mincore(&mut m, 1, A + 1536 * K, 1024 * K), "1".repeat(256));
}

#[test]
fn oom_self() {
    let mut m = machine();
    m.memlimit(2 << 20).unwrap();
    m.mmap(1, A, 4096 * K, RW, PA, -1, 0).unwrap();
    assert_eq!(
        m.fill(1, A, 4096 * K, 0x5a),
        Err(vmcore::AccessError::Killed)
    );
    ok(&m);
    assert!(m.oom_killed(1));
    assert!(m.processes().is_empty());
}

#[test]
fn oom_bigger() {
    let mut m = machine();
    m.memlimit(4 << 20).unwrap();
    m.mmap(1, A, 3072 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 3072 * K, 0x11).unwrap();
    let c = m.fork(1).unwrap();
    m.munmap(c, A, 3072 * K).unwrap();
    let b = A + 4096 * K;
    assert_eq!(m.mmap(c, b, 2048 * K, RW, PA, -1, 0), Ok(b));
    assert_eq!(m.fill(c, b, 2048 * K, 0x22), Ok(()));
    ok(&m);
    assert_eq!(m.processes(), vec![c]);
    assert!(m.oom_killed(1));
    assert_eq!(m.load(c, b + 1024 * K), Ok(0x22));
}

#[test]
fn oom_swap_kills_nobody() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.memlimit(4 << 20).unwrap();
    m.mmap(1, A, 3072 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 3072 * K, 0x11).unwrap();
    let c = m.fork(1).unwrap();
    m.munmap(c, A, 3072 * K).unwrap();
    let b = A + 4096 * K;
    m.mmap(c, b, 2048 * K, RW, PA, -1, 0).unwrap();
    m.fill(c, b, 2048 * K, 0x22).unwrap();
    ok(&m);
    assert_eq!(m.processes(), vec![1, c]);
    assert_eq!(mincore(&mut m, 1, A, 64 * K), "0".repeat(16));
    assert_eq!(mincore(&mut m, c, b + 1024 * K, 1024 * K), "1".repeat(256));
    assert_eq!(m.load(1, A), Ok(0x11));
    ok(&m);
}

#[test]
fn oom_swap_full() {
    let mut m = machine();
    m.swapon(1 << 20).unwrap();
    m.memlimit(2 << 20).unwrap();
    m.mmap(1, A, 8192 * K, RW, PA, -1, 0).unwrap();
    assert_eq!(m.fill(1, A, 2048 * K, 0x11), Ok(()));
    assert_eq!(
        m.fill(1, A + 2048 * K, 6144 * K, 0x22),
        Err(vmcore::AccessError::Killed)
    );
    ok(&m);
    assert!(m.processes().is_empty());
    assert_eq!(m.swap_area().unwrap().inuse(), 0);
}

#[test]
fn swap_view_names_each_slot_its_owner_and_the_lru_pages() {
    use vmcore::phys::LruList;
    use vmcore::view::SwapSlotOwner;
    let mut m = machine();
    let v = m.swap_view(16, 16);
    assert!(!v.on && v.size == 0 && v.slots.is_empty() && v.limit.is_none());
    m.swapon(64 * K).unwrap();
    m.memlimit(4 << 20).unwrap();
    m.mmap(1, A, 16 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 16 * K, 0x11).unwrap();
    m.madvise(1, A + 4 * K, 8 * K, MADV_PAGEOUT).unwrap();
    assert_eq!(m.load(1, A + 8 * K), Ok(0x11));
    ok(&m);
    let v = m.swap_view(16, 16);
    assert!(v.on);
    assert_eq!((v.size, v.inuse, v.limit), (15, 1, Some(1024)));
    let slots: Vec<_> = v
        .slots
        .iter()
        .map(|s| match s.owner {
            SwapSlotOwner::Anon { pid, va, .. } => (s.slot, s.users, s.cached, pid, va),
            _ => panic!("slot {} has no anon owner", s.slot),
        })
        .collect();
    // slot 1 still swapped; slot 2 read back by a load and freed (its only user)
    assert_eq!(slots, vec![(1, 1, false, Some(1), Some(A + 4 * K))]);
    assert_eq!(v.inactive + v.active, 3);
    assert_eq!(v.lru.len(), 3);
    assert!(v.lru.iter().all(|p| p.list != LruList::None));
    assert_eq!(v.usage, v.total_frames - v.free_frames - 1);
    assert_eq!(m.swap_view(0, 2).slots.len(), 0);
    assert_eq!(m.swap_view(1, 2).lru.len(), 2);
}

#[test]
fn madv_pageout_narrates_each_page_it_swaps_out() {
    use vmcore::Event;
    let mut m = machine();
    m.swapon(64 * K).unwrap();
    m.mmap(1, A, 8 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 8 * K, 0x11).unwrap();
    m.take_events();
    m.madvise(1, A, 8 * K, MADV_PAGEOUT).unwrap();
    let outs: Vec<String> = m
        .take_events()
        .iter()
        .filter(|e| matches!(e, Event::SwapOut { .. }))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        outs,
        [
            "p1: page at 0x300000000000 written to swap slot 1",
            "p1: page at 0x300000001000 written to swap slot 2"
        ]
    );
}

#[test]
fn a_readahead_after_fork_is_narrated() {
    let mut m = machine();
    m.swapon(64 << 20).unwrap();
    m.mmap(1, A, 64 * K, RW, PA, -1, 0).unwrap();
    m.fill(1, A, 64 * K, 7).unwrap();
    m.madvise(1, A, 64 * K, MADV_PAGEOUT).unwrap();
    let c = m.fork(1).unwrap();
    m.take_events();
    assert_eq!(m.load(c, A + 5 * 4 * K), Ok(7));
    let ra: Vec<String> = m
        .take_events()
        .iter()
        .filter(|e| matches!(e, vmcore::Event::SwapReadahead { .. }))
        .map(|e| e.to_string())
        .collect();
    // readahead_fork: a first fault at page 5 reads pages 2..9.
    assert_eq!(
        ra,
        ["p2: swap readahead over 0x300000002000-0x30000000a000: 8 pages read into the swap cache"]
    );
    ok(&m);
}
