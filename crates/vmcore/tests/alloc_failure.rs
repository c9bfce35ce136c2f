//! Running out of memory leaves the machine intact.
//!
//! Every frame the machine takes passes one choke point (vm/page_alloc.rs,
//! `PhysMem::admit`), which tests can tell to refuse requests. For each
//! scenario below, covering every caller of the allocation funnel, the
//! step is first run freely to count its allocation requests `n`; then for
//! every `k` in `0..=n` it is run again on a copy of the machine with
//! request `k` refused,
//!
//! - in "persistent" mode: request `k` and every later one (memory ran
//!   out), so the step must report it: its errno (ENOMEM, or EAGAIN for
//!   mlock), or `AccessError::OutOfMemory` for an access — except steps
//!   whose system call ignores population errors as Linux does
//!   (MAP_POPULATE, mlockall, mremap, fork's page-table copy);
//! - in "once" mode: request `k` only (a transient shortage: a fallback
//!   may still succeed);
//!
//! and each time `Machine::check()` must pass right after the failure, and
//! once the injection is cleared the step (retried if it failed) must
//! succeed and leave the data the scenario expects.

use vmcore::personality::linux::abi::*;
use vmcore::{AccessError, Errno, Machine, MachineConfig, Pid};

const RW: u64 = PROT_READ | PROT_WRITE;
const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const A: u64 = 0x3000_0000_0000;
const B: u64 = 0x3100_0000_0000;
const C: u64 = 0x3200_0000_0000;
const PG: u64 = 4096;
const HUGE: u64 = 2 << 20;

/// How a step failed.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Fail {
    Errno(Errno),
    Access(AccessError),
}

impl From<vmcore::SysError> for Fail {
    fn from(e: vmcore::SysError) -> Fail {
        Fail::Errno(e.errno)
    }
}

impl From<AccessError> for Fail {
    fn from(e: AccessError) -> Fail {
        Fail::Access(e)
    }
}

type Step = fn(&mut Machine) -> Result<(), Fail>;

struct Scenario {
    name: &'static str,
    /// Builds the state before the step (no injection).
    setup: Step,
    /// The step that allocates.
    step: Step,
    /// What the step may fail with when memory runs out.
    errors: &'static [Fail],
    /// The step's call ignores allocation failures (Linux's `mm_populate`
    /// after mmap, mlockall, mremap; fork's copy of a PTE): it may
    /// succeed even when memory ran out for good.
    tolerant: bool,
    /// With the injection cleared and the step done: the data is right.
    verify: Step,
}

const OOM: Fail = Fail::Access(AccessError::OutOfMemory);
const ENOMEM: Fail = Fail::Errno(Errno::ENOMEM);
const EAGAIN: Fail = Fail::Errno(Errno::EAGAIN);

fn machine() -> Machine {
    Machine::new(MachineConfig {
        frames: 16 << 10,
        events: false,
        ..MachineConfig::default()
    })
}

fn anon(m: &mut Machine, at: u64, len: u64) -> Result<(), Fail> {
    m.mmap(1, at, len, RW, PRIV | MAP_FIXED, -1, 0)?;
    Ok(())
}

fn expect(m: &mut Machine, pid: Pid, va: u64, v: u8) -> Result<(), Fail> {
    let got = m.load(pid, va)?;
    assert_eq!(got, v, "p{pid} {va:#x}");
    Ok(())
}

/// The wired count of the frame `pid` maps at `va`.
fn wired_at(m: &Machine, pid: Pid, va: u64) -> u32 {
    let word = m.pagemap(pid, va, 1).unwrap()[0];
    assert!(word >> 63 == 1, "p{pid} {va:#x} not present");
    m.frame(word & ((1 << 55) - 1)).unwrap().wired
}

fn last_pid(m: &Machine) -> Pid {
    *m.processes().last().unwrap()
}

fn nothing(_: &mut Machine) -> Result<(), Fail> {
    Ok(())
}

/// A regular file of three pages, only the last of them cached (the
/// others are holes, read in by the first fault), mapped at `A`.
fn file_at_a(m: &mut Machine, flags: u64) -> Result<(), Fail> {
    let fd = m.open(1, "f", 0)?;
    m.pwrite(1, fd, 3 * PG - 1, 0x11)?;
    m.mmap(1, A, 3 * PG, RW, flags | MAP_FIXED, fd as i64, 0)?;
    Ok(())
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "zero-fill write fault (first page tables too)",
            setup: |m| anon(m, A, 4 * PG),
            step: |m| Ok(m.store(1, A + PG, 7)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| expect(m, 1, A + PG, 7),
        },
        Scenario {
            name: "read fault maps the zero page",
            setup: |m| anon(m, A, 4 * PG),
            step: |m| expect(m, 1, A, 0),
            errors: &[OOM],
            tolerant: false,
            verify: |m| expect(m, 1, A, 0),
        },
        Scenario {
            name: "stack growth fault",
            setup: nothing,
            step: |m| Ok(m.store(1, 0x7fff_ffff_f000 - 200 * PG, 3)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| expect(m, 1, 0x7fff_ffff_f000 - 200 * PG, 3),
        },
        Scenario {
            name: "copy-on-write after fork",
            setup: |m| {
                anon(m, A, 2 * PG)?;
                m.store(1, A, 1)?;
                m.fork(1)?;
                Ok(())
            },
            step: |m| Ok(m.store(last_pid(m), A, 2)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                expect(m, last_pid(m), A, 2)?;
                expect(m, 1, A, 1)
            },
        },
        Scenario {
            name: "fork: the child's PML4 and copied page tables",
            setup: |m| {
                anon(m, A, 2 * PG)?;
                m.store(1, A, 5)?;
                anon(m, B, 2 * PG)?;
                m.store(1, B + PG, 6)?;
                let fd = m.open(1, "f", 3 * PG)?;
                m.mmap(1, C, 3 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd as i64, 0)?;
                m.load(1, C + PG)?;
                Ok(())
            },
            step: |m| {
                m.fork(1)?;
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| {
                let c = last_pid(m);
                assert_ne!(c, 1, "a child exists");
                expect(m, c, A, 5)?;
                expect(m, c, B + PG, 6)?;
                m.store(c, A, 9)?;
                let file = m.load(1, C + PG)?;
                expect(m, c, C + PG, file)?;
                expect(m, 1, A, 5)
            },
        },
        Scenario {
            name: "shared file fault into the page cache (readahead)",
            setup: |m| file_at_a(m, MAP_SHARED),
            step: |m| Ok(m.store(1, A + PG, 9)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                assert_eq!(m.pread(1, 3, PG)?, Some(9));
                expect(m, 1, A + PG, 9)
            },
        },
        Scenario {
            name: "private file read fault (page cache) and write (promote)",
            setup: |m| file_at_a(m, MAP_PRIVATE),
            step: |m| {
                let before = m.load(1, A + PG)?;
                m.store(1, A + PG, before.wrapping_add(1))?;
                Ok(())
            },
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                assert_eq!(m.pread(1, 3, PG)?, Some(0), "the file keeps its page");
                expect(m, 1, A + PG, 1)
            },
        },
        Scenario {
            name: "shared memfd (shmem) fault",
            setup: |m| {
                let fd = m.memfd(1, "m", 2 * PG)?;
                m.mmap(1, A, 2 * PG, RW, MAP_SHARED | MAP_FIXED, fd as i64, 0)?;
                Ok(())
            },
            step: |m| Ok(m.store(1, A + PG, 4)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                assert_eq!(m.pread(1, 3, PG)?, Some(4));
                Ok(())
            },
        },
        Scenario {
            name: "open fills a new file's page cache",
            setup: nothing,
            step: |m| {
                m.open(1, "g", 3 * PG)?;
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: false,
            verify: |m| {
                assert!(m.pread(1, 3, 2 * PG)?.is_some());
                Ok(())
            },
        },
        Scenario {
            name: "pwrite into the page cache",
            setup: |m| {
                m.memfd(1, "w", 0)?;
                Ok(())
            },
            step: |m| Ok(m.pwrite(1, 3, 2 * PG + 5, 8)?),
            errors: &[ENOMEM],
            tolerant: false,
            verify: |m| {
                assert_eq!(m.pread(1, 3, 2 * PG + 5)?, Some(8));
                Ok(())
            },
        },
        Scenario {
            name: "pread of a regular file's hole reads it into the page cache",
            setup: |m| {
                m.open(1, "r", 0)?;
                m.pwrite(1, 3, 3 * PG, 1)?;
                Ok(())
            },
            step: |m| {
                assert_eq!(m.pread(1, 3, PG)?, Some(0));
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: false,
            verify: |m| {
                assert_eq!(m.pread(1, 3, PG)?, Some(0));
                Ok(())
            },
        },
        Scenario {
            name: "MADV_WILLNEED reads a file's holes in",
            setup: |m| {
                let fd = m.open(1, "h", 0)?;
                m.pwrite(1, fd, 3 * PG - 1, 1)?;
                m.mmap(1, A, 3 * PG, RW, MAP_SHARED | MAP_FIXED, fd as i64, 0)?;
                Ok(())
            },
            step: |m| Ok(m.madvise(1, A, 3 * PG, MADV_WILLNEED)?),
            errors: &[ENOMEM],
            tolerant: false,
            verify: nothing,
        },
        Scenario {
            name: "THP write fault (huge run, then 4 KiB fallback)",
            setup: |m| {
                anon(m, A, 2 * HUGE)?;
                m.madvise(1, A, 2 * HUGE, MADV_HUGEPAGE)?;
                Ok(())
            },
            step: |m| Ok(m.store(1, A + 3 * PG, 1)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| expect(m, 1, A + 3 * PG, 1),
        },
        Scenario {
            name: "THP read fault maps the huge zero page",
            setup: |m| {
                anon(m, A, 2 * HUGE)?;
                m.madvise(1, A, 2 * HUGE, MADV_HUGEPAGE)?;
                Ok(())
            },
            step: |m| expect(m, 1, A + 3 * PG, 0),
            errors: &[OOM],
            tolerant: false,
            verify: |m| expect(m, 1, A + 3 * PG, 0),
        },
        Scenario {
            name: "copy-on-write of a huge page after fork",
            setup: |m| {
                anon(m, A, 2 * HUGE)?;
                m.madvise(1, A, 2 * HUGE, MADV_HUGEPAGE)?;
                m.store(1, A, 1)?;
                m.fork(1)?;
                Ok(())
            },
            step: |m| Ok(m.store(last_pid(m), A + 5 * PG, 2)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                expect(m, last_pid(m), A + 5 * PG, 2)?;
                expect(m, last_pid(m), A, 1)?;
                expect(m, 1, A + 5 * PG, 0)
            },
        },
        Scenario {
            name: "MADV_COLLAPSE of anonymous memory",
            setup: |m| {
                anon(m, A, 2 * HUGE)?;
                m.store(1, A + PG, 3)?;
                m.store(1, A + 7 * PG, 4)?;
                Ok(())
            },
            step: |m| Ok(m.madvise(1, A, HUGE, MADV_COLLAPSE)?),
            errors: &[ENOMEM],
            tolerant: false,
            verify: |m| {
                expect(m, 1, A + PG, 3)?;
                expect(m, 1, A + 7 * PG, 4)
            },
        },
        Scenario {
            name: "MADV_COLLAPSE of shmem",
            setup: |m| {
                let fd = m.memfd(1, "s", HUGE)?;
                m.mmap(1, A, HUGE, RW, MAP_SHARED | MAP_FIXED, fd as i64, 0)?;
                m.store(1, A + PG, 5)?;
                Ok(())
            },
            step: |m| Ok(m.madvise(1, A, HUGE, MADV_COLLAPSE)?),
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| expect(m, 1, A + PG, 5),
        },
        Scenario {
            name: "MAP_POPULATE",
            setup: nothing,
            step: |m| {
                m.mmap(1, A, 4 * PG, RW, PRIV | MAP_FIXED | MAP_POPULATE, -1, 0)?;
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| {
                m.store(1, A + 3 * PG, 1)?;
                expect(m, 1, A + 3 * PG, 1)
            },
        },
        Scenario {
            name: "MADV_POPULATE_WRITE",
            setup: |m| anon(m, A, 4 * PG),
            step: |m| Ok(m.madvise(1, A, 4 * PG, MADV_POPULATE_WRITE)?),
            errors: &[ENOMEM],
            tolerant: false,
            verify: |m| expect(m, 1, A + 3 * PG, 0),
        },
        Scenario {
            name: "mlock populates",
            setup: |m| anon(m, A, 4 * PG),
            step: |m| Ok(m.mlock(1, A, 4 * PG)?),
            errors: &[EAGAIN],
            tolerant: false,
            verify: |m| {
                for i in 0..4 {
                    assert_eq!(wired_at(m, 1, A + i * PG), 1);
                }
                Ok(())
            },
        },
        Scenario {
            name: "fault in a MLOCK_ONFAULT mapping is wired",
            setup: |m| {
                anon(m, A, 4 * PG)?;
                Ok(m.mlock2(1, A, 4 * PG, MLOCK_ONFAULT)?)
            },
            step: |m| Ok(m.store(1, A + PG, 1)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                assert_eq!(wired_at(m, 1, A + PG), 1);
                Ok(())
            },
        },
        Scenario {
            name: "THP fault in a locked mapping",
            setup: |m| {
                anon(m, A, 2 * HUGE)?;
                m.madvise(1, A, 2 * HUGE, MADV_HUGEPAGE)?;
                Ok(m.mlock2(1, A, 2 * HUGE, MLOCK_ONFAULT)?)
            },
            step: |m| Ok(m.store(1, A + HUGE + PG, 1)?),
            errors: &[OOM],
            tolerant: false,
            verify: |m| {
                assert_eq!(wired_at(m, 1, A + HUGE + PG), 1);
                Ok(())
            },
        },
        Scenario {
            name: "mlockall(MCL_CURRENT) populates, errors ignored",
            setup: |m| anon(m, A, 4 * PG),
            step: |m| Ok(m.mlockall(1, MCL_CURRENT)?),
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| {
                m.store(1, A + 2 * PG, 1)?;
                expect(m, 1, A + 2 * PG, 1)
            },
        },
        Scenario {
            name: "mremap moves pages (new page tables)",
            setup: |m| {
                anon(m, A, 4 * PG)?;
                m.store(1, A, 1)?;
                m.store(1, A + 3 * PG, 2)?;
                Ok(())
            },
            step: |m| {
                m.mremap(1, A, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, B)?;
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| {
                expect(m, 1, B, 1)?;
                expect(m, 1, B + 3 * PG, 2)
            },
        },
        Scenario {
            name: "mremap of a locked mapping populates what it gains",
            setup: |m| {
                m.mmap(1, A, 2 * PG, RW, PRIV | MAP_FIXED | MAP_LOCKED, -1, 0)?;
                m.store(1, A, 1)?;
                Ok(())
            },
            step: |m| {
                m.mremap(1, A, 2 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, B)?;
                Ok(())
            },
            errors: &[ENOMEM],
            tolerant: true,
            verify: |m| {
                expect(m, 1, B, 1)?;
                expect(m, 1, B + 7 * PG, 0)
            },
        },
    ]
}

/// Run `s` with request `k` refused (and every later one if `persistent`).
fn run_failing(s: &Scenario, base: &Machine, k: u64, persistent: bool) {
    let mode = if persistent { "persistent" } else { "once" };
    let ctx = format!("{}: request {k} refused ({mode})", s.name);
    let mut m = base.clone();
    m.inject_alloc_failure(k, if persistent { u64::MAX } else { 1 });
    let r = (s.step)(&mut m);
    match r {
        Err(e) => assert!(
            s.errors.contains(&e),
            "{ctx}: failed with {e:?}, expected one of {:?}",
            s.errors
        ),
        Ok(()) => assert!(
            !persistent || s.tolerant,
            "{ctx}: succeeded although memory ran out"
        ),
    }
    if let Err(e) = m.check() {
        panic!("{ctx}: machine broken after the failure: {e}");
    }
    m.clear_alloc_failure();
    if r.is_err() {
        (s.step)(&mut m).unwrap_or_else(|e| panic!("{ctx}: retry failed with {e:?}"));
    }
    (s.verify)(&mut m).unwrap_or_else(|e| panic!("{ctx}: verify failed with {e:?}"));
    if let Err(e) = m.check() {
        panic!("{ctx}: machine broken after the retry: {e}");
    }
}

#[test]
fn every_allocation_of_every_scenario_can_fail_with_the_machine_intact() {
    for s in scenarios() {
        let mut base = machine();
        (s.setup)(&mut base).unwrap_or_else(|e| panic!("{}: setup failed: {e:?}", s.name));
        base.check().unwrap();
        let mut free = base.clone();
        let before = free.alloc_requests();
        (s.step)(&mut free).unwrap_or_else(|e| panic!("{}: step failed: {e:?}", s.name));
        (s.verify)(&mut free).unwrap_or_else(|e| panic!("{}: verify failed: {e:?}", s.name));
        let n = free.alloc_requests() - before;
        assert!(n > 0, "{}: the step allocates nothing", s.name);
        for k in 0..n {
            run_failing(&s, &base, k, true);
            run_failing(&s, &base, k, false);
        }
        // Refusing from one past the last request changes nothing.
        let mut m = base.clone();
        m.inject_alloc_failure(n, u64::MAX);
        (s.step)(&mut m).unwrap_or_else(|e| panic!("{}: step failed past n: {e:?}", s.name));
        m.check().unwrap();
    }
}

#[test]
fn a_refused_request_is_counted_and_changes_nothing() {
    let mut m = machine();
    anon(&mut m, A, PG).unwrap();
    let free = m.phys().free_frames();
    let before = m.alloc_requests();
    m.inject_alloc_failure(0, 1);
    assert_eq!(m.store(1, A, 1), Err(AccessError::OutOfMemory));
    assert_eq!(m.phys().free_frames(), free);
    assert!(m.alloc_requests() > before);
    m.check().unwrap();
    // Only one request was refused: the next access succeeds.
    m.store(1, A, 1).unwrap();
    assert_eq!(m.load(1, A), Ok(1));
}

#[test]
fn a_new_process_without_a_page_table_frame_is_enomem() {
    let mut m = machine();
    m.inject_alloc_failure(0, u64::MAX);
    assert_eq!(m.fork(1).map_err(|e| e.errno), Err(Errno::ENOMEM));
    assert_eq!(m.processes(), vec![1]);
    m.check().unwrap();
    m.clear_alloc_failure();
    assert_eq!(m.fork(1), Ok(2));
}
