//! Property test under the FreeBSD personality: random sequences of the
//! FreeBSD VM calls (with MAP_GUARD, MAP_STACK, MAP_EXCL, MAP_ALIGNED,
//! PROT_MAX, minherit, the break, RLIMIT_MEMLOCK) and accesses on several
//! processes keep every invariant (`Machine::check` after each step), and
//! once every process has exited every frame is free again but the zero
//! page and the page cache of files.

use proptest::prelude::*;
use vmcore::personality::FREEBSD;
use vmcore::personality::freebsd::abi::*;
use vmcore::{Machine, MachineConfig};

const ARENA: u64 = 0x3000_0000_0000;

#[derive(Clone, Debug)]
enum Step {
    Mmap {
        proc: u8,
        page: u64,
        pages: u64,
        prot: u64,
        kind: u8,
        extra: u64,
        fixed: bool,
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
    Minherit {
        proc: u8,
        page: u64,
        pages: u64,
        inherit: u64,
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
    Sbrk {
        proc: u8,
        incr: i64,
    },
    Setrlimit {
        proc: u8,
        pages: u64,
    },
    Fork {
        proc: u8,
    },
    Exit {
        proc: u8,
    },
    Open {
        proc: u8,
        memfd: bool,
    },
    Ftruncate {
        file: u8,
        len: u64,
    },
}

fn prot() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![
        PROT_NONE,
        PROT_READ,
        PROT_READ | PROT_WRITE,
        PROT_READ | PROT_EXEC,
        PROT_READ | PROT_WRITE | PROT_EXEC,
        PROT_READ | (PROT_READ << PROT_MAX_SHIFT),
        PROT_READ | ((PROT_READ | PROT_WRITE) << PROT_MAX_SHIFT),
    ])
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0u8..4;
    let page = 0u64..48;
    let pages = 0u64..10;
    prop_oneof![
        5 => (p.clone(), page.clone(), 1u64..10, prot(), 0u8..6,
              prop::sample::select(vec![0, MAP_EXCL, MAP_NOSYNC, MAP_NOCORE, MAP_ALIGNED_SUPER, 13 << MAP_ALIGNMENT_SHIFT]),
              any::<bool>())
            .prop_map(|(proc, page, pages, prot, kind, extra, fixed)| Step::Mmap { proc, page, pages, prot, kind, extra, fixed }),
        2 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Munmap { proc, page, pages }),
        2 => (p.clone(), page.clone(), pages.clone(), prot()).prop_map(|(proc, page, pages, prot)| Step::Mprotect { proc, page, pages, prot }),
        2 => (p.clone(), page.clone(), pages.clone(), prop::sample::select(MADV_NAMES.iter().map(|n| n.1).collect::<Vec<_>>()))
            .prop_map(|(proc, page, pages, advice)| Step::Madvise { proc, page, pages, advice }),
        2 => (p.clone(), page.clone(), pages.clone(), 0u64..5).prop_map(|(proc, page, pages, inherit)| Step::Minherit { proc, page, pages, inherit }),
        1 => (p.clone(), page.clone(), pages.clone(), any::<bool>()).prop_map(|(proc, page, pages, lock)| Step::Mlock { proc, page, pages, lock }),
        1 => (p.clone(), prop::sample::select(vec![MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE, 0]))
            .prop_map(|(proc, flags)| Step::Mlockall { proc, flags }),
        1 => (p.clone(), page.clone(), pages.clone(), prop::sample::select(vec![MS_SYNC, MS_ASYNC, MS_INVALIDATE]))
            .prop_map(|(proc, page, pages, flags)| Step::Msync { proc, page, pages, flags }),
        1 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Mincore { proc, page, pages }),
        6 => (p.clone(), page.clone(), 0u64..4096, any::<u8>()).prop_map(|(proc, page, off, val)| Step::Store { proc, page, off, val }),
        4 => (p.clone(), page.clone(), 0u64..4096).prop_map(|(proc, page, off)| Step::Load { proc, page, off }),
        1 => (p.clone(), -20000i64..20000).prop_map(|(proc, incr)| Step::Sbrk { proc, incr }),
        1 => (p.clone(), 0u64..12).prop_map(|(proc, pages)| Step::Setrlimit { proc, pages }),
        1 => p.clone().prop_map(|proc| Step::Fork { proc }),
        1 => (1u8..4).prop_map(|proc| Step::Exit { proc }),
        1 => (p.clone(), any::<bool>()).prop_map(|(proc, memfd)| Step::Open { proc, memfd }),
        1 => (p.clone(), 0u8..3, prop::sample::select(vec![0u64, 1, 4096, 6000, 20000])).prop_map(|(_, file, len)| Step::Ftruncate { file, len }),
    ]
}

struct Driver {
    m: Machine,
    pids: Vec<u32>,
    fds: Vec<i32>,
    names: u32,
}

impl Driver {
    fn new() -> Driver {
        let m = Machine::new(MachineConfig {
            frames: 8192,
            personality: &FREEBSD,
            ..MachineConfig::default()
        });
        Driver {
            m,
            pids: vec![1],
            fds: vec![],
            names: 0,
        }
    }

    fn run(&mut self, s: &Step) {
        let a = |page: u64| ARENA + page * 4096;
        let (pids, fds) = (self.pids.clone(), self.fds.clone());
        let pid = |n: u8| pids[n as usize % pids.len()];
        let fd = |n: u8| {
            if fds.is_empty() {
                -1
            } else {
                fds[n as usize % fds.len()]
            }
        };
        match *s {
            Step::Mmap {
                proc,
                page,
                pages,
                prot,
                kind,
                extra,
                fixed,
            } => {
                let (flags, f) = match kind {
                    0 => (MAP_PRIVATE | MAP_ANON, -1),
                    1 => (MAP_SHARED | MAP_ANON, -1),
                    2 => (MAP_PRIVATE, fd(page as u8)),
                    3 => (MAP_SHARED, fd(page as u8)),
                    4 => (MAP_GUARD, -1),
                    _ => (MAP_STACK | MAP_PRIVATE | MAP_ANON, -1),
                };
                let flags = flags | extra | if fixed { MAP_FIXED } else { 0 };
                let p = if kind == 4 {
                    PROT_NONE
                } else if kind == 5 {
                    PROT_READ | PROT_WRITE
                } else {
                    prot
                };
                let pages = if kind == 5 { pages + 33 } else { pages };
                let _ = self
                    .m
                    .mmap(pid(proc), a(page), pages * 4096, p, flags, f as i64, 0);
            }
            Step::Munmap { proc, page, pages } => {
                let _ = self.m.munmap(pid(proc), a(page), pages * 4096);
            }
            Step::Mprotect {
                proc,
                page,
                pages,
                prot,
            } => {
                let _ = self.m.mprotect(pid(proc), a(page), pages * 4096, prot);
            }
            Step::Madvise {
                proc,
                page,
                pages,
                advice,
            } => {
                let _ = self.m.madvise(pid(proc), a(page), pages * 4096, advice);
            }
            Step::Minherit {
                proc,
                page,
                pages,
                inherit,
            } => {
                let _ = self.m.minherit(pid(proc), a(page), pages * 4096, inherit);
            }
            Step::Mlock {
                proc,
                page,
                pages,
                lock,
            } => {
                let _ = if lock {
                    self.m.mlock(pid(proc), a(page) + 100, pages * 4096)
                } else {
                    self.m.munlock(pid(proc), a(page), pages * 4096)
                };
            }
            Step::Mlockall { proc, flags } => {
                let _ = if flags == 0 {
                    self.m.munlockall(pid(proc))
                } else {
                    self.m.mlockall(pid(proc), flags)
                };
            }
            Step::Msync {
                proc,
                page,
                pages,
                flags,
            } => {
                let _ = self.m.msync(pid(proc), a(page), pages * 4096, flags);
            }
            Step::Mincore { proc, page, pages } => {
                let _ = self.m.mincore(pid(proc), a(page), pages * 4096);
            }
            Step::Store {
                proc,
                page,
                off,
                val,
            } => {
                let _ = self.m.store(pid(proc), a(page) + off, val);
            }
            Step::Load { proc, page, off } => {
                let _ = self.m.load(pid(proc), a(page) + off);
            }
            Step::Sbrk { proc, incr } => {
                let _ = self.m.sbrk(pid(proc), incr as u64);
            }
            Step::Setrlimit { proc, pages } => {
                let limit = (pages < 11).then_some(pages * 4096);
                let _ = self.m.setrlimit_memlock(pid(proc), limit);
            }
            Step::Fork { proc } => {
                if self.pids.len() < 5
                    && let Ok(c) = self.m.fork(pid(proc))
                {
                    self.pids.push(c);
                }
            }
            Step::Exit { proc } => {
                if self.pids.len() > 1 {
                    let i = 1 + proc as usize % (self.pids.len() - 1);
                    let p = self.pids.remove(i);
                    self.m.exit(p).unwrap();
                }
            }
            Step::Open { proc, memfd } => {
                self.names += 1;
                let name = format!("f{}", self.names);
                let r = if memfd {
                    self.m.memfd(pid(proc), &name, 8192)
                } else {
                    self.m.open(pid(proc), &name, 8192)
                };
                if let Ok(f) = r
                    && pid(proc) == 1
                {
                    self.fds.push(f);
                }
            }
            Step::Ftruncate { file, len } => {
                if !self.fds.is_empty() {
                    let _ = self.m.ftruncate(1, fd(file), len);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_freebsd_sequences_keep_invariants(steps in prop::collection::vec(step(), 1..120)) {
        let mut d = Driver::new();
        for (i, s) in steps.iter().enumerate() {
            d.run(s);
            if let Err(e) = d.m.check() {
                panic!("after step {i} ({s:?}): {e}");
            }
        }
        for pid in d.m.processes() {
            d.m.exit(pid).unwrap();
            d.m.check().unwrap();
        }
        let f = d.m.frames_summary();
        prop_assert_eq!(f.anon, 0);
        prop_assert_eq!(f.page_table, 0);
        prop_assert_eq!(f.total - f.free, f.zero + f.cache);
    }
}
