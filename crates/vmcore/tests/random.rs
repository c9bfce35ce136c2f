//! Property tests: long random sequences of system calls and accesses on
//! several processes keep every invariant (`Machine::check` after each
//! step), and once every process has exited every frame is free again but
//! the zero page and the page cache of files still in the file system.
//! A second property feeds every system call arbitrary integers: nothing
//! panics, and a failed call changes nothing.

use proptest::prelude::*;
use vmcore::personality::linux::abi::*;
use vmcore::{Machine, MachineConfig};

const ARENA: u64 = 0x3000_0000_0000;
/// A second window, 4 MiB at a 2 MiB boundary, for huge pages: THP faults,
/// MADV_COLLAPSE, page tables kept and freed, splits of 2 MiB mappings.
const HUGE_WINDOW: u64 = ARENA + (64 << 20);

/// One step of a random scenario. Addresses are page numbers inside a small
/// window of the arena so that operations collide often.
#[derive(Clone, Debug)]
enum Step {
    Mmap {
        proc: u8,
        page: u64,
        pages: u64,
        prot: u64,
        kind: u8,
        extra: u64,
        file: u8,
        off: u64,
    },
    Munmap {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Mprotect {
        proc: u8,
        page: u64,
        pages: u64,
        prot: u64,
    },
    Madvise {
        proc: u8,
        page: u64,
        pages: u64,
        advice: u64,
    },
    Mlock {
        proc: u8,
        page: u64,
        pages: u64,
        lock: bool,
    },
    Mlockall {
        proc: u8,
        flags: u64,
    },
    Msync {
        proc: u8,
        page: u64,
        pages: u64,
        flags: u64,
    },
    Mincore {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Mremap {
        proc: u8,
        page: u64,
        old: u64,
        new: u64,
        flags: u64,
        to: u64,
    },
    Store {
        proc: u8,
        page: u64,
        off: u64,
        val: u8,
    },
    Load {
        proc: u8,
        page: u64,
        off: u64,
    },
    Fill {
        proc: u8,
        page: u64,
        len: u64,
        val: u8,
    },
    Exec {
        proc: u8,
        page: u64,
    },
    Fork {
        proc: u8,
    },
    Exit {
        proc: u8,
    },
    /// An operation in the huge-page window (see `Driver::run`).
    Huge {
        proc: u8,
        op: u8,
        page: u64,
        len: u64,
    },
    Open {
        proc: u8,
        size: u64,
        memfd: bool,
    },
    Pwrite {
        proc: u8,
        file: u8,
        off: u64,
        val: u8,
    },
    Ftruncate {
        proc: u8,
        file: u8,
        len: u64,
    },
    Close {
        proc: u8,
        file: u8,
    },
}

fn prot() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![
        PROT_NONE,
        PROT_READ,
        PROT_READ | PROT_WRITE,
        PROT_READ | PROT_EXEC,
        PROT_WRITE,
        PROT_READ | PROT_WRITE | PROT_EXEC,
    ])
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0u8..4;
    let page = 0u64..48;
    let pages = 0u64..10;
    prop_oneof![
        4 => (p.clone(), page.clone(), 1u64..10, prot(), 0u8..4,
              prop::sample::select(vec![0, MAP_POPULATE, MAP_LOCKED, MAP_NORESERVE]), 0u8..3, 0u64..4)
            .prop_map(|(proc, page, pages, prot, kind, extra, file, off)| Step::Mmap { proc, page, pages, prot, kind, extra, file, off }),
        2 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Munmap { proc, page, pages }),
        2 => (p.clone(), page.clone(), pages.clone(), prot()).prop_map(|(proc, page, pages, prot)| Step::Mprotect { proc, page, pages, prot }),
        3 => (p.clone(), page.clone(), pages.clone(), prop::sample::select(MADV_NAMES.iter().map(|n| n.1).collect::<Vec<_>>()))
            .prop_map(|(proc, page, pages, advice)| Step::Madvise { proc, page, pages, advice }),
        1 => (p.clone(), page.clone(), pages.clone(), any::<bool>()).prop_map(|(proc, page, pages, lock)| Step::Mlock { proc, page, pages, lock }),
        1 => (p.clone(), prop::sample::select(vec![MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE, MCL_CURRENT | MCL_ONFAULT, 0]))
            .prop_map(|(proc, flags)| Step::Mlockall { proc, flags }),
        1 => (p.clone(), page.clone(), pages.clone(), prop::sample::select(vec![MS_SYNC, MS_ASYNC, MS_INVALIDATE]))
            .prop_map(|(proc, page, pages, flags)| Step::Msync { proc, page, pages, flags }),
        1 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Mincore { proc, page, pages }),
        2 => (p.clone(), page.clone(), pages.clone(), 1u64..10,
              prop::sample::select(vec![0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP]), page.clone())
            .prop_map(|(proc, page, old, new, flags, to)| Step::Mremap { proc, page, old, new, flags, to }),
        6 => (p.clone(), page.clone(), 0u64..4096, any::<u8>()).prop_map(|(proc, page, off, val)| Step::Store { proc, page, off, val }),
        4 => (p.clone(), page.clone(), 0u64..4096).prop_map(|(proc, page, off)| Step::Load { proc, page, off }),
        1 => (p.clone(), page.clone(), 1u64..20000, any::<u8>()).prop_map(|(proc, page, len, val)| Step::Fill { proc, page, len, val }),
        1 => (p.clone(), page.clone()).prop_map(|(proc, page)| Step::Exec { proc, page }),
        1 => p.clone().prop_map(|proc| Step::Fork { proc }),
        1 => (1u8..4).prop_map(|proc| Step::Exit { proc }),
        6 => (p.clone(), 0u8..11, 0u64..1024, 1u64..700).prop_map(|(proc, op, page, len)| Step::Huge { proc, op, page, len }),
        1 => (p.clone(), prop::sample::select(vec![0u64, 100, 4096, 5000, 16384, 40000]), any::<bool>())
            .prop_map(|(proc, size, memfd)| Step::Open { proc, size, memfd }),
        1 => (p.clone(), 0u8..3, 0u64..30000, any::<u8>()).prop_map(|(proc, file, off, val)| Step::Pwrite { proc, file, off, val }),
        1 => (p.clone(), 0u8..3, prop::sample::select(vec![0u64, 1, 4096, 6000, 20000])).prop_map(|(proc, file, len)| Step::Ftruncate { proc, file, len }),
        1 => (p.clone(), 0u8..3).prop_map(|(proc, file)| Step::Close { proc, file }),
    ]
}

/// Runs steps on a machine, mapping "process number" to live pids and
/// "file number" to descriptors.
struct Driver {
    m: Machine,
    pids: Vec<u32>,
    fds: Vec<i32>,
    names: u32,
}

impl Driver {
    fn new() -> Driver {
        let mut m = Machine::new(MachineConfig {
            frames: 16384,
            ..MachineConfig::default()
        });
        // The huge-page window starts mapped, its first block advised
        // MADV_HUGEPAGE, so that huge faults and collapses happen often.
        let rw = PROT_READ | PROT_WRITE;
        m.mmap(
            1,
            HUGE_WINDOW,
            4 << 20,
            rw,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            -1,
            0,
        )
        .unwrap();
        m.madvise(1, HUGE_WINDOW, 2 << 20, MADV_HUGEPAGE).unwrap();
        Driver {
            m,
            pids: vec![1],
            fds: vec![],
            names: 0,
        }
    }
    fn pid(&self, n: u8) -> u32 {
        self.pids[n as usize % self.pids.len()]
    }
    fn fd(&self, n: u8) -> i32 {
        if self.fds.is_empty() {
            -1
        } else {
            self.fds[n as usize % self.fds.len()]
        }
    }
    fn run(&mut self, s: &Step) {
        let a = |page: u64| ARENA + page * 4096;
        let m = &mut self.m;
        match *s {
            Step::Huge {
                proc,
                op,
                page,
                len,
            } => {
                let pid = self.pids[proc as usize % self.pids.len()];
                let (w, two_m) = (HUGE_WINDOW, 2u64 << 20);
                let (at, n) = (w + page * 4096, len * 4096);
                let block = w + (page / 512) * two_m;
                let rw = PROT_READ | PROT_WRITE;
                // Results do not matter here, only the invariants after.
                match op {
                    0 => drop(m.mmap(
                        pid,
                        w,
                        2 * two_m,
                        rw,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        -1,
                        0,
                    )),
                    1 => drop(m.mmap(
                        pid,
                        w,
                        2 * two_m,
                        rw,
                        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
                        -1,
                        0,
                    )),
                    2 => {
                        let _ = m.madvise(pid, w, 2 * two_m, MADV_HUGEPAGE);
                    }
                    3 => {
                        let _ = m.madvise(pid, block, two_m, MADV_COLLAPSE);
                    }
                    4 => {
                        let _ = m.madvise(pid, at, n, MADV_COLLAPSE);
                    }
                    5 => {
                        let _ = m.store(pid, at, page as u8);
                    }
                    6 => {
                        let _ = m.load(pid, at);
                    }
                    7 => {
                        let _ = m.madvise(pid, at, n, MADV_DONTNEED);
                    }
                    8 => {
                        let _ = m.mprotect(pid, at, n, if len % 2 == 0 { PROT_READ } else { rw });
                    }
                    9 => {
                        let _ = m.munmap(pid, at, n);
                    }
                    _ => {
                        let to = w + ((page / 512 + 1) % 2) * two_m;
                        let _ =
                            m.mremap(pid, block, two_m, two_m, MREMAP_MAYMOVE | MREMAP_FIXED, to);
                    }
                }
            }
            Step::Mmap {
                proc,
                page,
                pages,
                prot,
                kind,
                extra,
                file,
                off,
            } => {
                let pid = self.pids[proc as usize % self.pids.len()];
                let (flags, fd) = match kind {
                    0 => (MAP_PRIVATE | MAP_ANONYMOUS, -1),
                    1 => (MAP_SHARED | MAP_ANONYMOUS, -1),
                    2 => (
                        MAP_PRIVATE,
                        if self.fds.is_empty() {
                            -1
                        } else {
                            self.fds[file as usize % self.fds.len()]
                        },
                    ),
                    _ => (
                        MAP_SHARED,
                        if self.fds.is_empty() {
                            -1
                        } else {
                            self.fds[file as usize % self.fds.len()]
                        },
                    ),
                };
                let _ = m.mmap(
                    pid,
                    a(page),
                    pages * 4096,
                    prot,
                    flags | MAP_FIXED | extra,
                    fd as i64,
                    off * 4096,
                );
            }
            Step::Munmap { proc, page, pages } => {
                let _ = m.munmap(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    pages * 4096,
                );
            }
            Step::Mprotect {
                proc,
                page,
                pages,
                prot,
            } => {
                let _ = m.mprotect(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    pages * 4096,
                    prot,
                );
            }
            Step::Madvise {
                proc,
                page,
                pages,
                advice,
            } => {
                let _ = m.madvise(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    pages * 4096,
                    advice,
                );
            }
            Step::Mlock {
                proc,
                page,
                pages,
                lock,
            } => {
                let pid = self.pids[proc as usize % self.pids.len()];
                let _ = if lock {
                    m.mlock(pid, a(page), pages * 4096)
                } else {
                    m.munlock(pid, a(page), pages * 4096)
                };
            }
            Step::Mlockall { proc, flags } => {
                let pid = self.pids[proc as usize % self.pids.len()];
                let _ = if flags == 0 {
                    m.munlockall(pid)
                } else {
                    m.mlockall(pid, flags)
                };
            }
            Step::Msync {
                proc,
                page,
                pages,
                flags,
            } => {
                let _ = m.msync(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    pages * 4096,
                    flags,
                );
            }
            Step::Mincore { proc, page, pages } => {
                let _ = m.mincore(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    pages * 4096,
                );
            }
            Step::Mremap {
                proc,
                page,
                old,
                new,
                flags,
                to,
            } => {
                let _ = m.mremap(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    old * 4096,
                    new * 4096,
                    flags,
                    a(to),
                );
            }
            Step::Store {
                proc,
                page,
                off,
                val,
            } => {
                let _ = m.store(
                    self.pids[proc as usize % self.pids.len()],
                    a(page) + off,
                    val,
                );
            }
            Step::Load { proc, page, off } => {
                let _ = m.load(self.pids[proc as usize % self.pids.len()], a(page) + off);
            }
            Step::Fill {
                proc,
                page,
                len,
                val,
            } => {
                let _ = m.fill(
                    self.pids[proc as usize % self.pids.len()],
                    a(page),
                    len,
                    val,
                );
            }
            Step::Exec { proc, page } => {
                let _ = m.exec(self.pids[proc as usize % self.pids.len()], a(page));
            }
            Step::Fork { proc } => {
                if self.pids.len() < 4
                    && let Ok(c) = m.fork(self.pids[proc as usize % self.pids.len()])
                {
                    self.pids.push(c);
                }
            }
            Step::Exit { proc } => {
                if self.pids.len() > 1 {
                    let i = proc as usize % self.pids.len();
                    let pid = self.pids.remove(i);
                    m.exit(pid).unwrap();
                }
            }
            Step::Open { proc, size, memfd } => {
                let pid = self.pids[proc as usize % self.pids.len()];
                self.names += 1;
                let name = format!("f{}", self.names);
                let r = if memfd {
                    m.memfd(pid, &name, size)
                } else {
                    m.open(pid, &name, size)
                };
                if let Ok(fd) = r {
                    self.fds.push(fd);
                }
            }
            Step::Pwrite {
                proc,
                file,
                off,
                val,
            } => {
                let (pid, fd) = (self.pid(proc), self.fd(file));
                {
                    let _ = self.m.pwrite(pid, fd, off, val);
                }
            }
            Step::Ftruncate { proc, file, len } => {
                let (pid, fd) = (self.pid(proc), self.fd(file));
                {
                    let _ = self.m.ftruncate(pid, fd, len);
                }
            }
            Step::Close { proc, file } => {
                let (pid, fd) = (self.pid(proc), self.fd(file));
                {
                    let _ = self.m.close(pid, fd);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_invariants(steps in prop::collection::vec(step(), 1..120)) {
        let mut d = Driver::new();
        for (i, s) in steps.iter().enumerate() {
            d.run(s);
            if let Err(e) = d.m.check() {
                panic!("after step {i} ({s:?}): {e}");
            }
        }
        // Every process exits: only the zero pages and file page caches stay.
        for pid in d.m.processes() {
            d.m.exit(pid).unwrap();
            d.m.check().unwrap();
        }
        let f = d.m.frames_summary();
        prop_assert_eq!(f.anon, 0);
        prop_assert_eq!(f.page_table, 0);
        let cached: u64 = f.cache;
        prop_assert_eq!(f.total - f.free, f.zero + cached);
    }

    #[test]
    fn arbitrary_arguments_never_panic(
        calls in prop::collection::vec((0u8..12, any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()), 1..60),
        seed_map in any::<bool>(),
    ) {
        let mut m = Machine::new(MachineConfig { frames: 4096, ..MachineConfig::default() });
        if seed_map {
            m.mmap(1, ARENA, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0).unwrap();
            m.store(1, ARENA, 7).unwrap();
        }
        for (op, a, b, c, d, e) in calls {
            // Half the time, steer the address at the mapping so that the
            // checks past the first ones are reached too.
            let addr = if a & 1 == 0 { ARENA + (a >> 1) % (16 * 4096) } else { a };
            let before = m.maps(1).unwrap();
            let r = match op {
                0 => m.mmap(1, addr, b, c, d, e as i64, a.rotate_left(7)).map(|_| ()),
                1 => m.munmap(1, addr, b),
                2 => m.mprotect(1, addr, b, c),
                3 => m.madvise(1, addr, b, c),
                4 => m.mincore(1, addr, b % (1 << 24)).map(|_| ()),
                5 => m.mlock(1, addr, b),
                6 => m.mlock2(1, addr, b, c),
                7 => m.msync(1, addr, b, c),
                8 => m.mremap(1, addr, b, c, d, e).map(|_| ()),
                9 => m.mlockall(1, c).and_then(|_| m.munlockall(1)),
                10 => m.pwrite(1, c as i32, b % (1 << 31), d as u8),
                _ => m.brk(1, addr).map(|_| ()),
            };
            // A call that fails leaves the address space as it was, except
            // where Linux documents partial effects (mprotect, mlock and
            // madvise apply up to a hole; mremap's DONTUNMAP/shrink have
            // none of those failure modes after their checks).
            if r.is_err() && !matches!(op, 2 | 3 | 5 | 6) {
                prop_assert_eq!(&before, &m.maps(1).unwrap(), "op {} failed but changed the map", op);
            }
            let _ = m.load(1, addr);
            let _ = m.store(1, addr, 1);
            if let Err(err) = m.check() {
                panic!("op {op} ({a:#x}, {b:#x}, {c:#x}, {d:#x}, {e:#x}): {err}");
            }
        }
    }
}
