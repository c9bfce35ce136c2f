//! The NetBSD personality, call by call: every errno path of the VM calls
//! as `bsd-personalities.md` section 3 lists them (sys/uvm/uvm_mmap.c,
//! uvm_mremap.c), and the UVM merge, chunk and placement rules. Each test
//! checks the machine's invariants at the end.

use vmcore::Access;
use vmcore::personality::NETBSD;
use vmcore::personality::netbsd::abi::*;
use vmcore::{Errno, Machine, MachineConfig, SysResult};

const ARENA: u64 = 0x3000_0000_0000;
const K4: u64 = 4096;
const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_ANON | MAP_PRIVATE | MAP_FIXED;

fn machine() -> Machine {
    Machine::new(MachineConfig {
        personality: &NETBSD,
        frames: 8192,
        ..MachineConfig::default()
    })
}

/// The errno of a failed call (panics on success).
fn errno<T: std::fmt::Debug>(r: SysResult<T>) -> Errno {
    r.expect_err("the call should fail").errno
}

/// `PROT_MPROTECT(p)`.
const fn mprotect_max(p: u64) -> u64 {
    p << PROT_MPROTECT_SHIFT
}

/// `MAP_ALIGNED(n)`.
const fn aligned(n: u64) -> u64 {
    n << MAP_ALIGNMENT_SHIFT
}

/// The maps lines of process 1 inside the arena, as "start-end perms".
fn maps(m: &Machine) -> Vec<String> {
    m.maps(1)
        .unwrap()
        .into_iter()
        .filter(|l| l.start >= ARENA && l.start < ARENA + (64 << 30))
        .map(|l| format!("{:x}-{:x} {}", l.start - ARENA, l.end - ARENA, l.perms))
        .collect()
}

fn done(m: &Machine) {
    m.check().unwrap();
}

#[test]
fn mmap_argument_errors() {
    let mut m = machine();
    let anon = MAP_ANON | MAP_PRIVATE;
    assert_eq!(
        errno(m.mmap(1, 0, K4, 1, anon | MAP_SHARED, -1, 0)),
        Errno::EINVAL
    );
    let f = m.open(1, "f", 2 * K4).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, 0, 1, MAP_PRIVATE, f as i64, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, 0, u64::MAX, 1, anon, -1, 0)), Errno::ENOMEM);
    // The fixed address keeps the file position's page offset.
    assert_eq!(errno(m.mmap(1, ARENA, K4, 1, ANON, -1, 1)), Errno::EINVAL);
    assert_eq!(
        errno(m.mmap(1, ARENA + 1, K4, 1, ANON, -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, 0, K4, 1, ANON, -1, 0)), Errno::EINVAL);
    assert_eq!(
        errno(m.mmap(1, 0x8000_0000_0000, K4, 1, ANON, -1, 0)),
        Errno::EFBIG
    );
    assert_eq!(
        errno(m.mmap(1, 0u64.wrapping_sub(K4), K4, 1, ANON, -1, 0)),
        Errno::EOVERFLOW
    );
    assert_eq!(errno(m.mmap(1, 0, K4, 1, MAP_PRIVATE, -1, 0)), Errno::EBADF);
    assert_eq!(errno(m.mmap(1, 0, K4, 1, anon, f as i64, 0)), Errno::EINVAL);
    assert_eq!(
        errno(m.mmap(1, 0, K4, 1, MAP_PRIVATE, f as i64, 1 << 63)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.mmap(
            1,
            0,
            K4,
            1,
            MAP_PRIVATE,
            f as i64,
            (i64::MAX as u64) & !0xfff
        )),
        Errno::EOVERFLOW
    );
    m.close(1, f).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, K4, 1, MAP_SHARED, f as i64, 0)),
        Errno::EBADF
    );
    // MAP_ALIGNED: below a page, beyond the map, a fixed address off it.
    assert_eq!(
        errno(m.mmap(1, 0, K4, 1, anon | aligned(1), -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.mmap(1, 0, K4, 1, anon | aligned(63), -1, 0)),
        Errno::ENOMEM
    );
    assert_eq!(
        errno(m.mmap(1, ARENA + K4, K4, 1, ANON | aligned(16), -1, 0)),
        Errno::EINVAL
    );
    let a = m.mmap(1, 0, K4, 1, anon | aligned(20), -1, 0).unwrap();
    assert_eq!(a % (1 << 20), 0);
    // Unknown flag and PROT bits are ignored; anonymous LEN 0 maps nothing.
    m.mmap(1, 0, K4, RW, anon | 0x10_0000, -1, 0).unwrap();
    m.mmap(1, 0, K4, RW | 0x10_0000, anon, -1, 0).unwrap();
    let before = m.maps(1).unwrap().len();
    m.mmap(1, 0, 0, 1, anon, -1, 0).unwrap();
    assert_eq!(m.maps(1).unwrap().len(), before);
    done(&m);
}

#[test]
fn mmap_descriptor_and_pax_errors() {
    let mut m = machine();
    let w = m.open_with(1, "w", K4, Access::WriteOnly).unwrap() as i64;
    let r = m.open_with(1, "r", K4, Access::ReadOnly).unwrap() as i64;
    assert_eq!(
        errno(m.mmap(1, 0, K4, PROT_READ, MAP_PRIVATE, w, 0)),
        Errno::EACCES
    );
    m.mmap(1, 0, K4, PROT_WRITE, MAP_PRIVATE, w, 0).unwrap();
    assert_eq!(errno(m.mmap(1, 0, K4, RW, MAP_SHARED, r, 0)), Errno::EACCES);
    // PROT_MPROTECT may not name more than the descriptor allows.
    let ro_rw = PROT_READ | mprotect_max(PROT_WRITE);
    assert_eq!(
        errno(m.mmap(1, 0, K4, ro_rw, MAP_SHARED, r, 0)),
        Errno::EACCES
    );
    m.mmap(1, 0, K4, ro_rw, MAP_PRIVATE, r, 0).unwrap();
    // W|X: PaX MPROTECT.
    let wx = RW | PROT_EXEC;
    assert_eq!(errno(m.mmap(1, ARENA, K4, wx, ANON, -1, 0)), Errno::EACCES);
    done(&m);
}

#[test]
fn mmap_memlock_limit_under_mcl_future() {
    let mut m = machine();
    m.setrlimit_memlock(1, Some(K4)).unwrap();
    m.mlockall(1, MCL_FUTURE).unwrap();
    assert_eq!(
        errno(m.mmap(1, ARENA, 2 * K4, RW, ANON, -1, 0)),
        Errno::ENOMEM
    );
    assert!(maps(&m).is_empty(), "the refused mapping is unmapped again");
    m.mmap(1, ARENA, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(m.mincore(1, ARENA, K4).unwrap(), vec![1]);
    // PROT_NONE is never wired, and is no error.
    m.mmap(
        1,
        ARENA + 8 * K4,
        4 * K4,
        PROT_NONE,
        ANON | MAP_WIRED,
        -1,
        0,
    )
    .unwrap();
    done(&m);
}

#[test]
fn munmap_rounds_and_allows_len_0() {
    let mut m = machine();
    m.mmap(1, ARENA, 4 * K4, RW, ANON, -1, 0).unwrap();
    m.munmap(1, ARENA, 0).unwrap();
    assert_eq!(errno(m.munmap(1, 0, 0)), Errno::EINVAL);
    assert_eq!(
        errno(m.munmap(1, 0u64.wrapping_sub(K4), 2 * K4)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.munmap(1, 0x7fff_ffff_f000, 2 * K4)), Errno::EINVAL);
    // ADDR+1 for 4 KiB: two pages from ADDR.
    m.munmap(1, ARENA + 1, K4).unwrap();
    assert_eq!(maps(&m), ["2000-4000 rw-p"]);
    m.munmap(1, ARENA, 64 * K4).unwrap();
    assert!(maps(&m).is_empty());
    done(&m);
}

#[test]
fn mprotect_errors_and_splits() {
    let mut m = machine();
    assert_eq!(errno(m.mprotect(1, u64::MAX, 1, PROT_READ)), Errno::EINVAL);
    m.mmap(1, ARENA, 3 * K4, PROT_READ, ANON, -1, 0).unwrap();
    // Beyond the creation protection: refused, the start clip stays.
    assert_eq!(errno(m.mprotect(1, ARENA + K4, K4, RW)), Errno::EACCES);
    assert_eq!(maps(&m), ["0-1000 r--p", "1000-3000 r--p"]);
    assert_eq!(
        errno(m.mprotect(1, ARENA, K4, PROT_READ | PROT_EXEC)),
        Errno::EACCES
    );
    // A round trip leaves the pieces apart.
    m.mprotect(1, ARENA + 2 * K4, K4, PROT_NONE).unwrap();
    m.mprotect(1, ARENA + 2 * K4, K4, PROT_READ).unwrap();
    assert_eq!(
        maps(&m),
        ["0-1000 r--p", "1000-2000 r--p", "2000-3000 r--p"]
    );
    // Holes are not checked.
    m.mprotect(1, ARENA + (1 << 20), K4, PROT_READ).unwrap();
    // PROT_MPROTECT lets RW become RX, never RWX.
    let x = ARENA + 16 * K4;
    m.mmap(1, x, K4, RW | mprotect_max(PROT_EXEC), ANON, -1, 0)
        .unwrap();
    m.store(1, x, 0xc3).unwrap();
    m.mprotect(1, x, K4, PROT_READ | PROT_EXEC).unwrap();
    m.exec(1, x).unwrap();
    assert_eq!(errno(m.mprotect(1, x, K4, RW | PROT_EXEC)), Errno::EACCES);
    // Dropping a bit the mapping was created with is fine; asking for it
    // again too, as it stays in the maximum.
    let w = ARENA + 32 * K4;
    m.mmap(1, w, K4, PROT_WRITE, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mprotect(1, w, K4, PROT_READ)), Errno::EACCES);
    done(&m);
}

#[test]
fn minherit_errors() {
    let mut m = machine();
    m.mmap(1, ARENA, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.minherit(1, 0, K4, MAP_INHERIT_COPY)), Errno::EINVAL);
    assert_eq!(errno(m.minherit(1, ARENA, K4, 666)), Errno::EINVAL);
    assert_eq!(
        errno(m.minherit(1, ARENA, K4, MAP_INHERIT_DONATE_COPY)),
        Errno::EINVAL
    );
    m.minherit(1, ARENA, 64 * K4, MAP_INHERIT_NONE).unwrap();
    let c = m.fork(1).unwrap();
    assert!(m.load(c, ARENA).is_err());
    done(&m);
}

#[test]
fn madvise_errors_and_data() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, 2 * K4, RW, ANON, -1, 0).unwrap();
    m.store(1, a, 0x41).unwrap();
    m.store(1, a + K4, 0x42).unwrap();
    assert_eq!(errno(m.madvise(1, 0, K4, MADV_NORMAL)), Errno::EINVAL);
    assert_eq!(errno(m.madvise(1, a, K4, MADV_SPACEAVAIL)), Errno::EINVAL);
    assert_eq!(errno(m.madvise(1, a, K4, 7)), Errno::EINVAL);
    assert_eq!(
        errno(m.madvise(1, a + (1 << 20), K4, MADV_DONTNEED)),
        Errno::EFAULT
    );
    assert_eq!(errno(m.madvise(1, a, 16 * K4, MADV_FREE)), Errno::EFAULT);
    m.madvise(1, a + (1 << 20), K4, MADV_NORMAL).unwrap();
    m.madvise(1, a, K4, MADV_WILLNEED).unwrap();
    m.madvise(1, a, K4, MADV_DONTNEED).unwrap();
    assert_eq!(m.load(1, a).unwrap(), 0x41, "DONTNEED keeps the data");
    m.madvise(1, a + K4, K4, MADV_FREE).unwrap();
    assert_eq!(m.mincore(1, a, 2 * K4).unwrap(), vec![1, 0]);
    assert_eq!(m.load(1, a + K4).unwrap(), 0, "FREE frees at once");
    // An amap shared with a child is only deactivated.
    let c = m.fork(1).unwrap();
    m.madvise(1, a, K4, MADV_FREE).unwrap();
    assert_eq!(m.load(1, a).unwrap(), 0x41);
    m.exit(c).unwrap();
    // Advice clips and never merges.
    m.madvise(1, a, K4, MADV_RANDOM).unwrap();
    m.madvise(1, a, K4, MADV_NORMAL).unwrap();
    assert_eq!(maps(&m), ["0-1000 rw-p", "1000-2000 rw-p"]);
    done(&m);
}

#[test]
fn mincore_errors_and_existence() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, K4, PROT_WRITE, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mincore(1, a, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mincore(1, a + 1, K4)), Errno::EINVAL);
    assert_eq!(errno(m.mincore(1, a, u64::MAX - a)), Errno::EINVAL);
    assert_eq!(errno(m.mincore(1, K4, K4)), Errno::ENOMEM);
    assert_eq!(errno(m.mincore(1, a, 2 * K4)), Errno::ENOMEM);
    assert_eq!(m.mincore(1, a, K4).unwrap(), vec![0]);
    // A read fault makes an anon: no shared zero page in UVM.
    m.load(1, a).unwrap();
    assert_eq!(m.mincore(1, a, K4).unwrap(), vec![1]);
    // A file page counts when it is cached, whoever maps it.
    let f = m.open(1, "d", 2 * K4).unwrap() as i64;
    m.mmap(
        1,
        a + 8 * K4,
        3 * K4,
        PROT_READ,
        MAP_SHARED | MAP_FIXED,
        f,
        0,
    )
    .unwrap();
    assert_eq!(m.mincore(1, a + 8 * K4, 3 * K4).unwrap(), vec![1, 1, 0]);
    done(&m);
}

#[test]
fn mlock_errors() {
    let mut m = machine();
    let a = ARENA;
    assert_eq!(errno(m.mlock(1, 0, K4)), Errno::ENOMEM);
    assert_eq!(errno(m.mlock(1, u64::MAX, K4)), Errno::ENOMEM);
    m.mmap(1, a, 2 * K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mlock(1, a, 0u64.wrapping_sub(K4))), Errno::ENOMEM);
    assert_eq!(errno(m.mlock(1, a + (1 << 20), K4)), Errno::ENOMEM);
    m.mmap(1, a + 4 * K4, K4, PROT_NONE, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mlock(1, a + 4 * K4, K4)), Errno::EINVAL);
    assert_eq!(errno(m.mlock(1, a, 5 * K4)), Errno::EINVAL, "a hole");
    for _ in 0..3 {
        m.mlock(1, a, K4).unwrap();
    }
    m.munlock(1, a, K4).unwrap();
    assert_eq!(
        errno(m.munlock(1, a, K4)),
        Errno::ENOMEM,
        "one munlock clears"
    );
    m.setrlimit_memlock(1, Some(K4 - 1)).unwrap();
    assert_eq!(errno(m.mlock(1, a, K4)), Errno::EAGAIN);
    // uvmexp.wiredmax: a third of memory (8192 frames here).
    m.setrlimit_memlock(1, None).unwrap();
    let big = ARENA + (1 << 30);
    m.mmap(1, big, 16 << 20, RW, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mlock(1, big, 16 << 20)), Errno::EAGAIN);
    let wired = ANON | MAP_WIRED;
    assert_eq!(
        errno(m.mmap(1, big, 16 << 20, RW, wired, -1, 0)),
        Errno::ENOMEM
    );
    assert!(m.maps(1).unwrap().iter().all(|l| l.start != big));
    done(&m);
}

#[test]
fn munlock_errors() {
    let mut m = machine();
    let a = ARENA;
    assert_eq!(errno(m.munlock(1, 0, K4)), Errno::ENOMEM);
    m.mmap(1, a, 3 * K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.munlock(1, a, K4)), Errno::ENOMEM);
    assert_eq!(errno(m.munlock(1, a + (1 << 20), K4)), Errno::ENOMEM);
    m.mlock(1, a + K4, K4).unwrap();
    // The lock clipped the entry; the unlock does not merge it again.
    m.munlock(1, a + K4, K4).unwrap();
    assert_eq!(
        maps(&m),
        ["0-1000 rw-p", "1000-2000 rw-p", "2000-3000 rw-p"]
    );
    m.munmap(1, a + 2 * K4, K4).unwrap();
    m.mlock(1, a, 2 * K4).unwrap();
    assert_eq!(errno(m.munlock(1, a, 3 * K4)), Errno::ENOMEM, "a hole");
    done(&m);
}

#[test]
fn mlockall_errors_and_fork() {
    let mut m = machine();
    assert_eq!(errno(m.mlockall(1, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mlockall(1, 4)), Errno::EINVAL);
    assert_eq!(errno(m.mlockall(1, MCL_CURRENT | 8)), Errno::EINVAL);
    m.mmap(1, ARENA, 2 * K4, RW, ANON, -1, 0).unwrap();
    m.setrlimit_memlock(1, Some(K4)).unwrap();
    assert_eq!(errno(m.mlockall(1, MCL_CURRENT)), Errno::ENOMEM);
    assert_eq!(m.mincore(1, ARENA, 2 * K4).unwrap(), vec![0, 0]);
    m.setrlimit_memlock(1, None).unwrap();
    m.mlockall(1, MCL_CURRENT | MCL_FUTURE).unwrap();
    assert_eq!(m.mincore(1, ARENA, 2 * K4).unwrap(), vec![1, 1]);
    let c = m.fork(1).unwrap();
    assert_eq!(
        errno(m.munlock(c, ARENA, K4)),
        Errno::ENOMEM,
        "not inherited"
    );
    m.mmap(c, ARENA + 16 * K4, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(m.mincore(c, ARENA + 16 * K4, K4).unwrap(), vec![0]);
    m.munlockall(1).unwrap();
    assert_eq!(errno(m.munlock(1, ARENA, K4)), Errno::ENOMEM);
    done(&m);
}

#[test]
fn msync_errors() {
    let mut m = machine();
    let f = m.open(1, "m", 2 * K4).unwrap() as i64;
    let s = m
        .mmap(1, ARENA, 2 * K4, RW, MAP_SHARED | MAP_FIXED, f, 0)
        .unwrap();
    for bad in [0, 0xffff_ffff, 0x7fff_ffff, MS_ASYNC | MS_SYNC] {
        assert_eq!(
            errno(m.msync(1, s, K4, bad)),
            Errno::EINVAL,
            "flags {bad:#x}"
        );
    }
    assert_eq!(errno(m.msync(1, 0, K4, MS_SYNC)), Errno::ENOMEM);
    m.msync(1, s, 0, MS_SYNC).unwrap();
    assert_eq!(
        errno(m.msync(1, ARENA + (1 << 20), 0, MS_SYNC)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.msync(1, ARENA + (1 << 20), K4, MS_SYNC)),
        Errno::EFAULT
    );
    assert_eq!(
        errno(m.msync(1, s, 4 * K4, MS_ASYNC)),
        Errno::EFAULT,
        "a hole"
    );
    m.mlock(1, s, K4).unwrap();
    assert_eq!(errno(m.msync(1, s, 2 * K4, MS_INVALIDATE)), Errno::EBUSY);
    // Only the first entry is looked at.
    m.msync(1, s + K4, K4, MS_INVALIDATE).unwrap();
    m.munlock(1, s, K4).unwrap();
    m.msync(1, s, 2 * K4, MS_INVALIDATE).unwrap();
    done(&m);
}

#[test]
fn mremap_errors() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, 2 * K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(errno(m.mremap(1, a, K4, K4, 0x10_0000, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mremap(1, a + 1, K4, K4, 0, 0)), Errno::EINVAL);
    assert_eq!(
        errno(m.mremap(1, a, K4, K4, MAP_FIXED, a + 1)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mremap(1, a, 0, K4, 0, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mremap(1, a, K4, 0, 0, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mremap(1, a, K4, K4, aligned(1), 0)), Errno::EINVAL);
    assert_eq!(errno(m.mremap(1, a, K4, K4, aligned(63), 0)), Errno::ENOMEM);
    assert_eq!(
        errno(m.mremap(1, a, K4, K4, MAP_FIXED | aligned(20), a + K4 * 16)),
        Errno::EINVAL
    );
    // The same size returns the address without looking it up.
    assert_eq!(
        m.mremap(1, a + (1 << 20), K4, K4, 0, 0).unwrap(),
        a + (1 << 20)
    );
    // Growing in place over a neighbour with MAP_FIXED: ENOMEM.
    m.mmap(1, a + 2 * K4, K4, PROT_READ, ANON, -1, 0).unwrap();
    assert_eq!(
        errno(m.mremap(1, a, 2 * K4, 3 * K4, MAP_FIXED, a)),
        Errno::ENOMEM
    );
    // A fixed destination in use: ENOMEM; nothing at the old address: EINVAL.
    assert_eq!(
        errno(m.mremap(1, a, K4, K4, MAP_FIXED | MAP_REMAPDUP, a + 2 * K4)),
        Errno::ENOMEM
    );
    assert_eq!(
        errno(m.mremap(1, a + (1 << 20), K4, K4, MAP_REMAPDUP, 0)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.mremap(1, a + (1 << 20), K4, 2 * K4, 0, 0)),
        Errno::EINVAL,
        "growing in place needs an entry to extend"
    );
    assert!(m.maps(1).unwrap().iter().all(|l| l.start != a + (1 << 20)));
    done(&m);
}

#[test]
fn mremap_grows_moves_and_duplicates() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, 2 * K4, RW, ANON, -1, 0).unwrap();
    m.store(1, a, 0x41).unwrap();
    assert_eq!(m.mremap(1, a, 2 * K4, K4, 0, 0).unwrap(), a);
    assert_eq!(m.mremap(1, a, K4, 3 * K4, 0, 0).unwrap(), a);
    assert_eq!(maps(&m), ["0-1000 rw-p", "1000-3000 rw-p"]);
    m.store(1, a + 2 * K4, 0x42).unwrap();
    assert_eq!(maps(&m), ["0-3000 rw-p"]);
    // A duplicate is a second view of the same pages.
    let d = m.mremap(1, a, 3 * K4, 3 * K4, MAP_REMAPDUP, 0).unwrap();
    assert_ne!(d, a);
    m.store(1, a + K4, 0x43).unwrap();
    assert_eq!(m.load(1, d + K4).unwrap(), 0x43);
    assert_eq!(m.load(1, d).unwrap(), 0x41);
    // A fixed move elsewhere takes the pages along.
    let to = a + 64 * K4;
    assert_eq!(m.mremap(1, a, 3 * K4, 4 * K4, MAP_FIXED, to).unwrap(), to);
    assert_eq!(m.load(1, to + 2 * K4).unwrap(), 0x42);
    assert_eq!(m.load(1, to + 3 * K4).unwrap(), 0);
    assert!(m.load(1, a).is_err());
    done(&m);
}

#[test]
fn uvm_merges_at_mmap_and_first_fault_only() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, K4, RW, ANON, -1, 0).unwrap();
    m.mmap(1, a + K4, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(maps(&m), ["0-2000 rw-p"]);
    m.store(1, a, 1).unwrap();
    m.mmap(1, a + 2 * K4, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(maps(&m), ["0-2000 rw-p", "2000-3000 rw-p"]);
    m.load(1, a + 2 * K4).unwrap();
    assert_eq!(maps(&m), ["0-3000 rw-p"]);
    assert_eq!(m.load(1, a).unwrap(), 1);
    // Different maximum protection: no merge.
    m.mmap(1, a + 3 * K4, K4, RW | mprotect_max(PROT_EXEC), ANON, -1, 0)
        .unwrap();
    assert_eq!(maps(&m).len(), 2);
    done(&m);
}

#[test]
fn uvm_chunks_large_entries_at_first_fault() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, 2 << 20, RW, ANON, -1, 0).unwrap();
    m.store(1, a + (1 << 20) + 5 * K4, 1).unwrap();
    assert_eq!(
        maps(&m),
        ["0-100000 rw-p", "100000-110000 rw-p", "110000-200000 rw-p"]
    );
    // The neighbour would reach 256 pages joined: refused.
    m.store(1, a + (1 << 20) + 16 * K4, 2).unwrap();
    assert_eq!(maps(&m).len(), 3);
    // The lower part is 256 pages: chunked first, then its chunk joins
    // the faulted chunk above (32 pages).
    m.store(1, a + (1 << 20) - K4, 3).unwrap();
    assert_eq!(
        maps(&m),
        ["0-f0000 rw-p", "f0000-110000 rw-p", "110000-200000 rw-p"]
    );
    assert_eq!(m.load(1, a + (1 << 20) + 5 * K4).unwrap(), 1);
    done(&m);
}

#[test]
fn placement_hint_topdown() {
    let mut m = machine();
    let a = ARENA;
    let anon = MAP_ANON | MAP_PRIVATE;
    m.mmap(1, a, K4, RW, ANON, -1, 0).unwrap();
    m.mmap(1, a + 2 * K4, K4, RW, ANON, -1, 0).unwrap();
    assert_eq!(m.mmap(1, a + 2 * K4, K4, RW, anon, -1, 0).unwrap(), a + K4);
    assert_eq!(
        m.mmap(1, a + 16 * K4, K4, RW, anon, -1, 0).unwrap(),
        a + 16 * K4
    );
    let below = m.mmap(1, a, K4, RW, anon, -1, 0).unwrap();
    assert_eq!(below, a - K4);
    // More than the map holds, hinted: no room, no panic.
    let huge = 0x7000_0000_0000;
    assert_eq!(errno(m.mmap(1, a, huge, RW, anon, -1, 0)), Errno::ENOMEM);
    assert_eq!(
        errno(m.mmap(1, a, huge, RW, anon | MAP_TRYFIXED, -1, 0)),
        Errno::ENOMEM
    );
    // A file mapping is moved by PaX ASLR whatever its hint.
    let f = m.open(1, "f", K4).unwrap() as i64;
    let fm = m
        .mmap(1, a + 32 * K4, K4, PROT_READ, MAP_PRIVATE, f, 0)
        .unwrap();
    assert!(fm > a + (64 << 30));
    let ft = m.mmap(
        1,
        a + 40 * K4,
        K4,
        PROT_READ,
        MAP_PRIVATE | MAP_TRYFIXED,
        f,
        0,
    );
    assert!(ft.unwrap() > a + (64 << 30));
    // MAP_TRYFIXED keeps an anonymous hint, searching down from it.
    let t = m.mmap(1, a + 48 * K4, K4, RW, anon | MAP_TRYFIXED, -1, 0);
    assert_eq!(t.unwrap(), a + 48 * K4);
    done(&m);
}

#[test]
fn shared_anonymous_memory_extends_at_mmap() {
    let mut m = machine();
    let sh = MAP_SHARED | MAP_ANON | MAP_FIXED;
    m.mmap(1, ARENA, K4, RW, sh, -1, 0).unwrap();
    m.store(1, ARENA, 7).unwrap();
    m.mmap(1, ARENA + K4, K4, RW, sh, -1, 0).unwrap();
    assert_eq!(maps(&m), ["0-2000 rw-s"]);
    m.store(1, ARENA + K4, 8).unwrap();
    let c = m.fork(1).unwrap();
    assert_eq!(m.load(c, ARENA).unwrap(), 7);
    // Shared with the child now: a third piece stays apart.
    m.mmap(1, ARENA + 2 * K4, K4, RW, sh, -1, 0).unwrap();
    assert_eq!(maps(&m).len(), 2);
    m.exit(c).unwrap();
    // Growing in place grows the memory too.
    let g = ARENA + 64 * K4;
    m.mmap(1, g, K4, RW, sh, -1, 0).unwrap();
    m.store(1, g, 9).unwrap();
    assert_eq!(m.mremap(1, g, K4, 3 * K4, 0, 0).unwrap(), g);
    m.store(1, g + 2 * K4, 10).unwrap();
    assert_eq!(
        (m.load(1, g).unwrap(), m.load(1, g + 2 * K4).unwrap()),
        (9, 10)
    );
    done(&m);
}

#[test]
fn a_copy_on_write_in_a_shared_amap_reaches_every_view() {
    let mut m = machine();
    let a = ARENA;
    m.mmap(1, a, K4, RW, ANON, -1, 0).unwrap();
    m.store(1, a, 1).unwrap();
    // The child shares the anon; the parent's amap is then copied for the
    // duplicate view, so both views hold an anon the child holds too.
    let c = m.fork(1).unwrap();
    let d = m.mremap(1, a, K4, K4, MAP_REMAPDUP, 0).unwrap();
    assert_eq!(m.load(1, a).unwrap(), 1);
    // A store through the duplicate copies the page (the child keeps the
    // old one); the first view must see the copy, not the child's page.
    m.store(1, d, 2).unwrap();
    assert_eq!(m.load(1, a).unwrap(), 2);
    assert_eq!(m.load(c, a).unwrap(), 1);
    done(&m);
}

#[test]
fn an_aligned_hint_is_rounded_down_on_a_top_down_map() {
    // uvm_map_findspace -> uvm_map_align_va: rounddown2(hint, align).
    let mut m = machine();
    let a = m
        .mmap(
            1,
            ARENA + 84 * 1024,
            K4,
            RW,
            MAP_ANON | MAP_PRIVATE | aligned(16),
            -1,
            0,
        )
        .unwrap();
    assert_eq!(a, ARENA + 64 * 1024);
    // Busy there: the search goes down, never above the hint.
    let b = m
        .mmap(
            1,
            ARENA + 84 * 1024,
            K4,
            RW,
            MAP_ANON | MAP_PRIVATE | aligned(16),
            -1,
            0,
        )
        .unwrap();
    assert!(
        b < ARENA + 64 * 1024 && b.is_multiple_of(64 * 1024),
        "{b:x}"
    );
    done(&m);
}

#[test]
fn an_empty_range_changes_nothing() {
    // round_and_check: LEN -1 rounds to 0; munmap, mprotect and minherit
    // of an empty range succeed and leave the entry whole.
    let mut m = machine();
    m.mmap(1, ARENA, 4 * K4, RW, ANON, -1, 0).unwrap();
    m.store(1, ARENA, 1).unwrap();
    m.munmap(1, ARENA, u64::MAX).unwrap();
    m.mprotect(1, ARENA, u64::MAX, PROT_NONE).unwrap();
    m.minherit(1, ARENA, u64::MAX, MAP_INHERIT_NONE).unwrap();
    m.msync(1, ARENA, u64::MAX, MS_SYNC).unwrap();
    assert_eq!(maps(&m), vec!["0-4000 rw-p".to_string()]);
    assert_eq!(m.load(1, ARENA).unwrap(), 1);
    done(&m);
}

#[test]
fn msync_invalidate_keeps_anons_and_madv_free_frees_unshared_ones() {
    // uvm_map_clean: PGO_CLEANIT|PGO_FREE (msync MS_INVALIDATE) only
    // deactivates anons; PGO_FREE alone (MADV_FREE) frees those of an amap
    // with one reference, shared anonymous memory included.
    let mut m = machine();
    m.mmap(1, ARENA, 2 * K4, RW, ANON, -1, 0).unwrap();
    m.store(1, ARENA, 0x41).unwrap();
    m.msync(1, ARENA, 2 * K4, MS_INVALIDATE).unwrap();
    assert_eq!(m.load(1, ARENA).unwrap(), 0x41);
    let s = ARENA + 64 * K4;
    let shared = MAP_ANON | MAP_SHARED | MAP_FIXED;
    m.mmap(1, s, 2 * K4, RW, shared, -1, 0).unwrap();
    m.store(1, s, 0x53).unwrap();
    let c = m.fork(1).unwrap();
    m.madvise(1, s, 2 * K4, MADV_FREE).unwrap();
    assert_eq!(m.load(c, s).unwrap(), 0x53, "shared with the child: kept");
    m.exit(c).unwrap();
    m.madvise(1, s, 2 * K4, MADV_FREE).unwrap();
    assert_eq!(m.mincore(1, s, 2 * K4).unwrap(), vec![0, 0]);
    assert_eq!(m.load(1, s).unwrap(), 0);
    done(&m);
}
