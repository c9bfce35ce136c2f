//! Property test of the NetBSD personality: random scenarios of every VM
//! call NetBSD offers (its flags, advice, inheritance values and mremap)
//! on several processes keep every invariant (`Machine::check` after each
//! step); once every process has exited, every frame is free again but the
//! zero pages and the page cache of files still in the file system.

use proptest::prelude::*;
use vmcore::personality::NETBSD;
use vmcore::personality::netbsd::abi::*;
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
        fixed: bool,
        file: u8,
    },
    Big {
        proc: u8,
        page: u64,
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
    Minherit {
        proc: u8,
        page: u64,
        pages: u64,
        inherit: u64,
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
    Limit {
        proc: u8,
        pages: Option<u64>,
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
        flags: u8,
        to: u64,
    },
    Store {
        proc: u8,
        page: u64,
        val: u8,
    },
    Load {
        proc: u8,
        page: u64,
    },
    Fill {
        proc: u8,
        page: u64,
        pages: u64,
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
    Open {
        proc: u8,
        size: u64,
    },
    Pwrite {
        proc: u8,
        file: u8,
        off: u64,
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
    /// UVM page loaning (`uvm_loan`), ended later by `Unloan`.
    Loan {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Unloan {
        n: u8,
    },
}

fn prot() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(PROT_NONE),
        Just(PROT_READ),
        Just(PROT_READ | PROT_WRITE),
        Just(PROT_READ | PROT_EXEC),
        Just(PROT_READ | PROT_WRITE | PROT_EXEC),
        Just(PROT_READ | PROT_WRITE | (PROT_EXEC << PROT_MPROTECT_SHIFT)),
        Just(PROT_NONE | ((PROT_READ | PROT_WRITE) << PROT_MPROTECT_SHIFT)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0u8..4;
    let page = 0u64..48;
    let pages = 0u64..12;
    prop_oneof![
        6 => (p.clone(), page.clone(), 1u64..12, prot(), 0u8..4, any::<bool>(), any::<u8>())
            .prop_map(|(proc, page, pages, prot, kind, fixed, file)| Step::Mmap { proc, page, pages, prot, kind, fixed, file }),
        1 => (p.clone(), 0u64..2).prop_map(|(proc, page)| Step::Big { proc, page }),
        3 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Munmap { proc, page, pages }),
        3 => (p.clone(), page.clone(), pages.clone(), prot()).prop_map(|(proc, page, pages, prot)| Step::Mprotect { proc, page, pages, prot }),
        2 => (p.clone(), page.clone(), pages.clone(), 0u64..6).prop_map(|(proc, page, pages, inherit)| Step::Minherit { proc, page, pages, inherit }),
        3 => (p.clone(), page.clone(), pages.clone(), 0u64..8).prop_map(|(proc, page, pages, advice)| Step::Madvise { proc, page, pages, advice }),
        2 => (p.clone(), page.clone(), pages.clone(), any::<bool>()).prop_map(|(proc, page, pages, lock)| Step::Mlock { proc, page, pages, lock }),
        1 => (p.clone(), 0u64..4).prop_map(|(proc, flags)| Step::Mlockall { proc, flags }),
        1 => (p.clone(), prop::option::of(0u64..16)).prop_map(|(proc, pages)| Step::Limit { proc, pages }),
        2 => (p.clone(), page.clone(), pages.clone(), 0u64..8).prop_map(|(proc, page, pages, flags)| Step::Msync { proc, page, pages, flags }),
        2 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Mincore { proc, page, pages }),
        3 => (p.clone(), page.clone(), pages.clone(), 0u64..12, 0u8..4, page.clone())
            .prop_map(|(proc, page, old, new, flags, to)| Step::Mremap { proc, page, old, new, flags, to }),
        8 => (p.clone(), page.clone(), any::<u8>()).prop_map(|(proc, page, val)| Step::Store { proc, page, val }),
        5 => (p.clone(), page.clone()).prop_map(|(proc, page)| Step::Load { proc, page }),
        2 => (p.clone(), page.clone(), pages.clone()).prop_map(|(proc, page, pages)| Step::Fill { proc, page, pages }),
        1 => (p.clone(), page.clone()).prop_map(|(proc, page)| Step::Exec { proc, page }),
        2 => p.clone().prop_map(|proc| Step::Fork { proc }),
        1 => p.clone().prop_map(|proc| Step::Exit { proc }),
        1 => (p.clone(), 0u64..40_000).prop_map(|(proc, size)| Step::Open { proc, size }),
        1 => (p.clone(), any::<u8>(), 0u64..40_000).prop_map(|(proc, file, off)| Step::Pwrite { proc, file, off }),
        1 => (p.clone(), any::<u8>(), 0u64..40_000).prop_map(|(proc, file, len)| Step::Ftruncate { proc, file, len }),
        1 => (p.clone(), any::<u8>()).prop_map(|(proc, file)| Step::Close { proc, file }),
        2 => (p, page.clone(), 1u64..6).prop_map(|(proc, page, pages)| Step::Loan { proc, page, pages }),
        1 => any::<u8>().prop_map(|n| Step::Unloan { n }),
    ]
}

struct Driver {
    m: Machine,
    pids: Vec<u32>,
    fds: Vec<(u32, i32)>,
    names: u32,
    loans: Vec<vmcore::LoanId>,
}

impl Driver {
    fn new() -> Driver {
        Driver {
            m: Machine::new(MachineConfig {
                personality: &NETBSD,
                frames: 16384,
                ..MachineConfig::default()
            }),
            pids: vec![1],
            fds: vec![],
            names: 0,
            loans: vec![],
        }
    }
    fn pid(&self, n: u8) -> u32 {
        self.pids[n as usize % self.pids.len()]
    }
    /// A descriptor of `pid` (or -1 when it has none).
    fn fd(&self, pid: u32, n: u8) -> i32 {
        let mine: Vec<i32> = self
            .fds
            .iter()
            .filter(|(p, _)| *p == pid)
            .map(|&(_, f)| f)
            .collect();
        if mine.is_empty() {
            -1
        } else {
            mine[n as usize % mine.len()]
        }
    }
    fn run(&mut self, s: &Step) {
        let a = |page: u64| ARENA + page * 4096;
        let k = 4096;
        match *s {
            Step::Mmap {
                proc,
                page,
                pages,
                prot,
                kind,
                fixed,
                file,
            } => {
                let pid = self.pid(proc);
                let fx = if fixed { MAP_FIXED } else { 0 };
                let (flags, fd) = match kind {
                    0 => (MAP_ANON | MAP_PRIVATE, -1),
                    1 => (MAP_ANON | MAP_SHARED, -1),
                    2 => (MAP_PRIVATE, self.fd(pid, file)),
                    _ => (MAP_SHARED, self.fd(pid, file)),
                };
                let _ = self
                    .m
                    .mmap(pid, a(page), pages * k, prot, flags | fx, fd as i64, 0);
            }
            Step::Big { proc, page } => {
                let pid = self.pid(proc);
                let _ = self.m.mmap(
                    pid,
                    a(64 + page * 512),
                    (2 << 20) + page * k,
                    PROT_READ | PROT_WRITE,
                    MAP_ANON | MAP_PRIVATE | MAP_FIXED,
                    -1,
                    0,
                );
                let _ = self.m.store(pid, a(64 + page * 512 + 300), 1);
                let _ = self.m.store(pid, a(64 + page * 512 + 317), 2);
                let _ = self.m.store(pid, a(64 + page * 512 + 250), 3);
            }
            Step::Munmap { proc, page, pages } => {
                let _ = self.m.munmap(self.pid(proc), a(page), pages * k);
            }
            Step::Mprotect {
                proc,
                page,
                pages,
                prot,
            } => {
                let _ = self.m.mprotect(self.pid(proc), a(page), pages * k, prot);
            }
            Step::Minherit {
                proc,
                page,
                pages,
                inherit,
            } => {
                let _ = self.m.minherit(self.pid(proc), a(page), pages * k, inherit);
            }
            Step::Madvise {
                proc,
                page,
                pages,
                advice,
            } => {
                let _ = self.m.madvise(self.pid(proc), a(page), pages * k, advice);
            }
            Step::Mlock {
                proc,
                page,
                pages,
                lock,
            } => {
                let pid = self.pid(proc);
                let _ = if lock {
                    self.m.mlock(pid, a(page), pages * k)
                } else {
                    self.m.munlock(pid, a(page), pages * k)
                };
            }
            Step::Mlockall { proc, flags } => {
                let pid = self.pid(proc);
                let _ = if flags == 0 {
                    self.m.munlockall(pid)
                } else {
                    self.m.mlockall(pid, flags)
                };
            }
            Step::Limit { proc, pages } => {
                let _ = self
                    .m
                    .setrlimit_memlock(self.pid(proc), pages.map(|p| p * k));
            }
            Step::Msync {
                proc,
                page,
                pages,
                flags,
            } => {
                let _ = self.m.msync(self.pid(proc), a(page), pages * k, flags);
            }
            Step::Mincore { proc, page, pages } => {
                let _ = self.m.mincore(self.pid(proc), a(page), pages * k);
            }
            Step::Mremap {
                proc,
                page,
                old,
                new,
                flags,
                to,
            } => {
                let f = [0, MAP_FIXED, MAP_REMAPDUP, MAP_FIXED | MAP_REMAPDUP][flags as usize];
                let _ = self
                    .m
                    .mremap(self.pid(proc), a(page), old * k, new * k, f, a(to));
            }
            Step::Store { proc, page, val } => {
                let _ = self.m.store(self.pid(proc), a(page) + val as u64, val);
            }
            Step::Load { proc, page } => {
                let _ = self.m.load(self.pid(proc), a(page));
            }
            Step::Fill { proc, page, pages } => {
                let _ = self.m.fill(self.pid(proc), a(page), pages * k, 0x5a);
            }
            Step::Exec { proc, page } => {
                let _ = self.m.exec(self.pid(proc), a(page));
            }
            Step::Fork { proc } => {
                let pid = self.pid(proc);
                if self.pids.len() < 4
                    && let Ok(c) = self.m.fork(pid)
                {
                    self.pids.push(c);
                    let inherited: Vec<i32> = self
                        .fds
                        .iter()
                        .filter(|(p, _)| *p == pid)
                        .map(|&(_, f)| f)
                        .collect();
                    self.fds.extend(inherited.into_iter().map(|f| (c, f)));
                }
            }
            Step::Exit { proc } => {
                if self.pids.len() > 1 {
                    let pid = self.pid(proc);
                    self.m.exit(pid).unwrap();
                    self.pids.retain(|&p| p != pid);
                    self.fds.retain(|&(p, _)| p != pid);
                }
            }
            Step::Open { proc, size } => {
                let pid = self.pid(proc);
                self.names += 1;
                let name = format!("f{}", self.names % 3);
                if let Ok(fd) = self.m.open(pid, &name, size) {
                    self.fds.push((pid, fd));
                }
            }
            Step::Pwrite { proc, file, off } => {
                let pid = self.pid(proc);
                let _ = self.m.pwrite(pid, self.fd(pid, file), off, 7);
            }
            Step::Ftruncate { proc, file, len } => {
                let pid = self.pid(proc);
                let _ = self.m.ftruncate(pid, self.fd(pid, file), len);
            }
            Step::Loan { proc, page, pages } => {
                if let Ok(l) = self.m.loan(self.pid(proc), a(page), pages * k) {
                    // What was lent reads back through the loan.
                    let _ = self.m.loan_read(l, 0).unwrap();
                    self.loans.push(l);
                }
            }
            Step::Unloan { n } => {
                if !self.loans.is_empty() {
                    let l = self.loans.remove(n as usize % self.loans.len());
                    self.m.unloan(l).unwrap();
                }
            }
            Step::Close { proc, file } => {
                let pid = self.pid(proc);
                let fd = self.fd(pid, file);
                if self.m.close(pid, fd).is_ok() {
                    self.fds.retain(|&x| x != (pid, fd));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn netbsd_random_sequences_keep_invariants(steps in prop::collection::vec(step(), 1..120)) {
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
        // Lent pages outlive their owners until the loans end.
        for l in std::mem::take(&mut d.loans) {
            d.m.unloan(l).unwrap();
            d.m.check().unwrap();
        }
        let f = d.m.frames_summary();
        prop_assert_eq!(f.anon, 0);
        prop_assert_eq!(f.page_table, 0);
        prop_assert_eq!(f.total - f.free, f.zero + f.cache);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Arbitrary integers in every NetBSD VM call: nothing panics and the
    /// invariants hold. (A failed call may leave clips behind: NetBSD's
    /// mprotect and mlock clip before they fail.)
    #[test]
    fn netbsd_arbitrary_arguments_never_panic(
        calls in prop::collection::vec((0u8..12, any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()), 1..60),
    ) {
        let mut m = Machine::new(MachineConfig { personality: &NETBSD, frames: 4096, ..MachineConfig::default() });
        m.mmap(1, ARENA, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON | MAP_FIXED, -1, 0).unwrap();
        m.store(1, ARENA, 7).unwrap();
        for (op, a, b, c, d, e) in calls {
            let addr = if a & 1 == 0 { ARENA + (a >> 1) % (16 * 4096) } else { a };
            let len = if b & 1 == 0 { (b >> 1) % (16 * 4096) } else { b };
            let _ = match op {
                0 => m.mmap(1, addr, len, c, d, e as i64 % 4, a.rotate_left(7)).map(|_| ()),
                1 => m.munmap(1, addr, len),
                2 => m.mprotect(1, addr, len, c),
                3 => m.madvise(1, addr, len, c),
                4 => m.mincore(1, addr, len % (1 << 24)).map(|_| ()),
                5 => m.mlock(1, addr, len),
                6 => m.munlock(1, addr, len),
                7 => m.msync(1, addr, len, c),
                8 => m.mremap(1, addr, len, c, d, e).map(|_| ()),
                9 => m.mlockall(1, c).and_then(|_| m.munlockall(1)),
                10 => m.minherit(1, addr, len, c),
                _ => m.setrlimit_memlock(1, Some(c % (1 << 20))),
            };
            let _ = m.load(1, addr);
            let _ = m.store(1, addr, 1);
            if let Err(err) = m.check() {
                panic!("op {op} ({a:#x}, {b:#x}, {c:#x}, {d:#x}, {e:#x}): {err}");
            }
        }
    }
}
