//! The core's speed targets (issue 3), measured with criterion on the
//! native build with event recording off:
//!
//! - `mmap64k_touch16_munmap`: 64 KiB anonymous mmap, a store to each of
//!   its 16 pages, munmap — target under 2 µs per iteration;
//! - `load_tlb_hit`: a load of a resident byte whose translation is in the
//!   TLB — target under 10 ns;
//! - `mmap_munmap_1page/{empty,30000}`: one-page mmap + munmap in an
//!   empty address space and beside 30,000 other mappings — target: the
//!   second within 1.3x of the first;
//! - `lookup_scattered_30000`: mprotect (to the protection it has) of one
//!   page at a scattered address among 30,000 mappings — the map lookup
//!   that no hint helps, for watching the tree's search cost.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use vmcore::personality::linux::abi::*;
use vmcore::{Machine, MachineConfig};

const RW: u64 = PROT_READ | PROT_WRITE;
const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

fn quiet() -> Machine {
    Machine::new(MachineConfig {
        events: false,
        ..MachineConfig::default()
    })
}

fn mmap_touch_munmap(c: &mut Criterion) {
    let mut m = quiet();
    c.bench_function("mmap64k_touch16_munmap", |b| {
        b.iter(|| {
            let a = m.mmap(1, 0, 64 * 1024, RW, PRIV, -1, 0).unwrap();
            for i in 0..16 {
                m.store(1, a + i * 4096, 1).unwrap();
            }
            m.munmap(1, a, 64 * 1024).unwrap();
        })
    });
}

fn load_hit(c: &mut Criterion) {
    let mut m = quiet();
    let a = m.mmap(1, 0, 4096, RW, PRIV, -1, 0).unwrap();
    m.store(1, a + 7, 42).unwrap();
    c.bench_function("load_tlb_hit", |b| {
        b.iter(|| black_box(m.load(1, black_box(a + 7)).unwrap()))
    });
}

fn mmap_munmap_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("mmap_munmap_1page");
    let mut empty = quiet();
    g.bench_function("empty", |b| {
        b.iter(|| {
            let a = empty.mmap(1, 0, 4096, RW, PRIV, -1, 0).unwrap();
            empty.munmap(1, a, 4096).unwrap();
        })
    });
    // 30,000 mappings that cannot merge: alternating protections.
    let mut full = quiet();
    for i in 0..30_000u64 {
        let prot = if i % 2 == 0 { RW } else { PROT_READ };
        full.mmap(1, 0, 4096, prot, PRIV, -1, 0).unwrap();
    }
    g.bench_function("30000", |b| {
        b.iter(|| {
            let a = full.mmap(1, 0, 4096, RW, PRIV, -1, 0).unwrap();
            full.munmap(1, a, 4096).unwrap();
        })
    });
    g.finish();
}

fn lookup_scattered(c: &mut Criterion) {
    let mut m = quiet();
    let mut pages = Vec::with_capacity(30_000);
    for i in 0..30_000u64 {
        let prot = if i % 2 == 0 { RW } else { PROT_READ };
        pages.push((m.mmap(1, 0, 4096, prot, PRIV, -1, 0).unwrap(), prot));
    }
    // A fixed stride through the entries: every lookup is far from the last.
    let mut i = 0usize;
    c.bench_function("lookup_scattered_30000", |b| {
        b.iter(|| {
            i = (i + 7_919) % pages.len();
            let (a, prot) = pages[i];
            m.mprotect(1, a, 4096, prot).unwrap();
        })
    });
}

criterion_group!(
    benches,
    mmap_touch_munmap,
    load_hit,
    mmap_munmap_scaling,
    lookup_scattered
);
criterion_main!(benches);
