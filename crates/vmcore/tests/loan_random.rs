//! Property test of page loaning: random scenarios mixing loans with
//! stores, forks, munmap, exit, file writes and truncation, MADV_FREE and
//! page-out under memory pressure. After every step the invariants hold
//! (`Machine::check()`: loan counts, lent pages read-only everywhere,
//! orphans owned by their loans) and every live loan still reads the
//! bytes its pages held when it was made; once every loan has ended and
//! every process exited, every frame is free but the zero page and the
//! page cache of the files.

use proptest::prelude::*;
use vmcore::personality::linux::abi::*;
use vmcore::{LoanId, Machine, MachineConfig};

const ARENA: u64 = 0x3000_0000_0000;
const PAGE: u64 = 4096;
/// The offsets of a page that stores write and loans are checked at.
const OFFS: [u64; 4] = [0, 1, 2047, 4095];

#[derive(Clone, Debug)]
enum Step {
    Mmap {
        proc: u8,
        page: u64,
        pages: u64,
        kind: u8,
    },
    Store {
        proc: u8,
        page: u64,
        off: u8,
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
        val: u8,
    },
    Loan {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Unloan {
        which: u8,
    },
    Fork {
        proc: u8,
    },
    Munmap {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Exit {
        proc: u8,
    },
    Pwrite {
        proc: u8,
        page: u64,
        off: u8,
        val: u8,
    },
    Ftruncate {
        proc: u8,
        pages: u64,
    },
    Madvise {
        proc: u8,
        page: u64,
        pages: u64,
        advice: u8,
    },
    Mlock {
        proc: u8,
        page: u64,
        lock: bool,
    },
    Mprotect {
        proc: u8,
        page: u64,
        pages: u64,
        write: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0u8..4;
    let page = 0u64..8;
    prop_oneof![
        3 => (p.clone(), page.clone(), 1u64..6, 0u8..4)
            .prop_map(|(proc, page, pages, kind)| Step::Mmap { proc, page, pages, kind }),
        6 => (p.clone(), page.clone(), 0u8..4, any::<u8>())
            .prop_map(|(proc, page, off, val)| Step::Store { proc, page, off, val }),
        2 => (p.clone(), page.clone()).prop_map(|(proc, page)| Step::Load { proc, page }),
        1 => (p.clone(), page.clone(), 1u64..4, any::<u8>())
            .prop_map(|(proc, page, pages, val)| Step::Fill { proc, page, pages, val }),
        6 => (p.clone(), page.clone(), 0u64..4)
            .prop_map(|(proc, page, pages)| Step::Loan { proc, page, pages }),
        2 => any::<u8>().prop_map(|which| Step::Unloan { which }),
        2 => p.clone().prop_map(|proc| Step::Fork { proc }),
        2 => (p.clone(), page.clone(), 1u64..6)
            .prop_map(|(proc, page, pages)| Step::Munmap { proc, page, pages }),
        1 => (1u8..4).prop_map(|proc| Step::Exit { proc }),
        1 => (p.clone(), 0u64..8, 0u8..4, any::<u8>())
            .prop_map(|(proc, page, off, val)| Step::Pwrite { proc, page, off, val }),
        1 => (p.clone(), 0u64..9).prop_map(|(proc, pages)| Step::Ftruncate { proc, pages }),
        2 => (p.clone(), page.clone(), 1u64..6, 0u8..4)
            .prop_map(|(proc, page, pages, advice)| Step::Madvise { proc, page, pages, advice }),
        1 => (p.clone(), page.clone(), any::<bool>())
            .prop_map(|(proc, page, lock)| Step::Mlock { proc, page, lock }),
        1 => (p.clone(), page.clone(), 1u64..4, any::<bool>())
            .prop_map(|(proc, page, pages, write)| Step::Mprotect { proc, page, pages, write }),
    ]
}

struct Driver {
    m: Machine,
    pids: Vec<u32>,
    fd: i32,
    /// Each live loan with the bytes at [`OFFS`] of each page when made.
    loans: Vec<(LoanId, Vec<u8>)>,
}

impl Driver {
    fn new(pressure: bool) -> Driver {
        let mut m = Machine::new(MachineConfig {
            frames: 4096,
            ..MachineConfig::default()
        });
        let fd = m.open(1, "lent", 8 * PAGE).unwrap();
        // The window starts as private anonymous memory, half of it touched.
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        m.mmap(1, ARENA, 8 * PAGE, PROT_READ | PROT_WRITE, flags, -1, 0)
            .unwrap();
        for i in 0..4 {
            m.store(1, ARENA + 2 * i * PAGE, i as u8 + 1).unwrap();
        }
        if pressure {
            m.swapon(256 * PAGE).unwrap();
            m.memlimit(96 * PAGE).unwrap();
        }
        Driver {
            m,
            pids: vec![1],
            fd,
            loans: Vec::new(),
        }
    }

    fn pid(&self, n: u8) -> u32 {
        self.pids[n as usize % self.pids.len()]
    }

    fn run(&mut self, s: &Step) {
        let a = |page: u64| ARENA + page * PAGE;
        let rw = PROT_READ | PROT_WRITE;
        match *s {
            Step::Mmap {
                proc,
                page,
                pages,
                kind,
            } => {
                let (flags, fd) = match kind {
                    0 => (MAP_PRIVATE | MAP_ANONYMOUS, -1),
                    1 => (MAP_SHARED | MAP_ANONYMOUS, -1),
                    2 => (MAP_PRIVATE, self.fd),
                    _ => (MAP_SHARED, self.fd),
                };
                let pid = self.pid(proc);
                let _ = self.m.mmap(
                    pid,
                    a(page),
                    pages * PAGE,
                    rw,
                    flags | MAP_FIXED,
                    fd as i64,
                    0,
                );
            }
            Step::Store {
                proc,
                page,
                off,
                val,
            } => {
                let pid = self.pid(proc);
                let _ = self.m.store(pid, a(page) + OFFS[off as usize], val);
            }
            Step::Load { proc, page } => {
                let pid = self.pid(proc);
                let _ = self.m.load(pid, a(page));
            }
            Step::Fill {
                proc,
                page,
                pages,
                val,
            } => {
                let pid = self.pid(proc);
                let _ = self.m.fill(pid, a(page), pages * PAGE, val);
            }
            Step::Loan { proc, page, pages } => {
                let pid = self.pid(proc);
                if let Ok(id) = self.m.loan(pid, a(page), pages * PAGE) {
                    let n = self.m.loan_info(id).unwrap().pages.len() as u64;
                    let mut bytes = Vec::new();
                    for p in 0..n {
                        for off in OFFS {
                            bytes.push(self.m.loan_read(id, p * PAGE + off).unwrap());
                        }
                        // What the lender sees is what was lent, where it
                        // can read it.
                        if let Ok(v) = self.m.load(pid, a(page + p)) {
                            assert_eq!(v, bytes[(p as usize) * OFFS.len()], "lent page {p}");
                        }
                    }
                    self.loans.push((id, bytes));
                }
            }
            Step::Unloan { which } => {
                if !self.loans.is_empty() {
                    let (id, _) = self.loans.remove(which as usize % self.loans.len());
                    self.m.unloan(id).unwrap();
                    assert!(self.m.unloan(id).is_err(), "an ended loan stays ended");
                }
            }
            Step::Fork { proc } => {
                if let Ok(c) = self.m.fork(self.pid(proc)) {
                    self.pids.push(c);
                }
            }
            Step::Munmap { proc, page, pages } => {
                let pid = self.pid(proc);
                let _ = self.m.munmap(pid, a(page), pages * PAGE);
            }
            Step::Exit { proc } => {
                if self.pids.len() > 1 {
                    let i = 1 + proc as usize % (self.pids.len() - 1);
                    let pid = self.pids.remove(i);
                    self.m.exit(pid).unwrap();
                }
            }
            Step::Pwrite {
                proc,
                page,
                off,
                val,
            } => {
                let pid = self.pid(proc);
                if self.m.process(pid).unwrap().fds.contains_key(&self.fd) {
                    let _ = self
                        .m
                        .pwrite(pid, self.fd, page * PAGE + OFFS[off as usize], val);
                }
            }
            Step::Ftruncate { proc, pages } => {
                let pid = self.pid(proc);
                if self.m.process(pid).unwrap().fds.contains_key(&self.fd) {
                    let _ = self.m.ftruncate(pid, self.fd, pages * PAGE + 100);
                }
            }
            Step::Madvise {
                proc,
                page,
                pages,
                advice,
            } => {
                let pid = self.pid(proc);
                let advice = [MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_COLD][advice as usize];
                let _ = self.m.madvise(pid, a(page), pages * PAGE, advice);
            }
            Step::Mlock { proc, page, lock } => {
                let pid = self.pid(proc);
                let _ = if lock {
                    self.m.mlock(pid, a(page), PAGE)
                } else {
                    self.m.munlock(pid, a(page), PAGE)
                };
            }
            Step::Mprotect {
                proc,
                page,
                pages,
                write,
            } => {
                let pid = self.pid(proc);
                let prot = if write { rw } else { PROT_READ };
                let _ = self.m.mprotect(pid, a(page), pages * PAGE, prot);
            }
        }
    }

    /// Every live loan reads what its pages held when it was made.
    fn borrowers_keep_their_bytes(&self) -> Result<(), String> {
        for (id, bytes) in &self.loans {
            for (i, &want) in bytes.iter().enumerate() {
                let off = (i / OFFS.len()) as u64 * PAGE + OFFS[i % OFFS.len()];
                let got = self.m.loan_read(*id, off).map_err(|e| e.to_string())?;
                if got != want {
                    return Err(format!("{id} at {off:#x}: {got:#x}, lent as {want:#x}"));
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn loans_mixed_with_stores_forks_munmap_and_exit_keep_invariants(
        steps in prop::collection::vec(step(), 1..100),
        pressure in any::<bool>(),
    ) {
        let mut d = Driver::new(pressure);
        for (i, s) in steps.iter().enumerate() {
            d.run(s);
            if let Err(e) = d.m.check() {
                panic!("after step {i} ({s:?}): {e}");
            }
            if let Err(e) = d.borrowers_keep_their_bytes() {
                panic!("after step {i} ({s:?}): {e}");
            }
        }
        // The loans end and every process exits: only the zero page and
        // the file's page cache stay.
        for (id, _) in std::mem::take(&mut d.loans) {
            d.m.unloan(id).unwrap();
            d.m.check().unwrap();
        }
        for pid in d.m.processes() {
            d.m.exit(pid).unwrap();
            d.m.check().unwrap();
        }
        let f = d.m.frames_summary();
        prop_assert_eq!((f.anon, f.page_table, f.loaned), (0, 0, 0));
        prop_assert_eq!(f.total - f.free, f.zero + f.cache);
    }
}
