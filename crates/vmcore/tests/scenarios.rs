//! Syscall and fault-path tests of the core, each step followed by
//! `Machine::check()`.

use vmcore::abi::*;
use vmcore::event::SignalCode;
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
