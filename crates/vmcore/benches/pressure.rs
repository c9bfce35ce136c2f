//! Memory under pressure, measured with criterion on the native build with
//! event recording off (figures in the README):
//!
//! - `swap_thrash_64m_under_16m`: a 64 MiB working set under a 16 MiB
//!   memory limit with swap, stored to page by page in a loop; per store
//!   (nearly every one a major fault that first reclaims a page to swap);
//! - `fork_with_swapped_pages`: fork of a process whose 16 MiB are all on
//!   swap, the child storing to 32 pages (swap-in through the swap cache
//!   with readahead, copy-on-write), then exiting; per fork.

use criterion::{Criterion, criterion_group, criterion_main};
use vmcore::personality::linux::abi::*;
use vmcore::{Machine, MachineConfig};

const RW: u64 = PROT_READ | PROT_WRITE;
const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const MIB: u64 = 1 << 20;

fn quiet() -> Machine {
    Machine::new(MachineConfig {
        events: false,
        ..MachineConfig::default()
    })
}

fn thrash(c: &mut Criterion) {
    let mut m = quiet();
    m.swapon(128 * MIB).unwrap();
    m.memlimit(16 * MIB).unwrap();
    let a = m.mmap(1, 0, 64 * MIB, RW, PRIV, -1, 0).unwrap();
    m.fill(1, a, 64 * MIB, 1).unwrap();
    let pages = 64 * MIB / 4096;
    let mut i = 0;
    c.bench_function("swap_thrash_64m_under_16m", |b| {
        b.iter(|| {
            m.store(1, a + i * 4096, 2).unwrap();
            i = (i + 1) % pages;
        })
    });
}

fn fork_swapped(c: &mut Criterion) {
    let mut m = quiet();
    m.swapon(64 * MIB).unwrap();
    let a = m.mmap(1, 0, 16 * MIB, RW, PRIV, -1, 0).unwrap();
    m.fill(1, a, 16 * MIB, 1).unwrap();
    m.madvise(1, a, 16 * MIB, MADV_PAGEOUT).unwrap();
    c.bench_function("fork_with_swapped_pages", |b| {
        b.iter(|| {
            let child = m.fork(1).unwrap();
            for p in 0..32 {
                m.store(child, a + p * 128 * 4096, 2).unwrap();
            }
            m.exit(child).unwrap();
        })
    });
}

criterion_group!(benches, thrash, fork_swapped);
criterion_main!(benches);
