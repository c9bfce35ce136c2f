//! An address trace run in one call: the stream of loads, stores and
//! instruction fetches of a page-replacement exercise, a benchmark or a
//! student's recorded program.
//!
//! A CPU does not wait for one load's cache miss before it translates the
//! next: independent loads overlap in the memory system (memory-level
//! parallelism), which is why a real machine reads random bytes of a large
//! buffer far faster than one miss at a time. The simulator does the same
//! on its host. A load whose translation needs no page fault (a TLB hit,
//! or a walk to a present leaf that permits it) only notes its physical
//! address; the bytes of up to [`GROUP`] such loads are read together, so
//! that the host's cache misses on them overlap. Between them no byte of
//! memory can change: a walk writes only A and D bits, into page tables,
//! which no user page maps. Anything else (a store, an instruction fetch,
//! a load that traps: the fault handler may copy, reclaim or free frames)
//! first reads the bytes noted so far.
//!
//! So the results, the TLB and its statistics, the page tables and the
//! events are exactly those of calling [`Machine::load`],
//! [`Machine::store`] and [`Machine::exec`] one by one (a test below holds
//! the two side by side).

use crate::addr::PhysAddr;
use crate::arch::x86_64::mmu::Access;
use crate::event::Pid;
use crate::machine::{AccessError, Machine};

/// How many translated loads wait for their bytes at most.
pub const GROUP: usize = 32;

/// What one access of a trace does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceOp {
    Load,
    Store(u8),
    Exec,
}

/// One access of a trace: process `pid` does `op` at `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceAccess {
    pub pid: Pid,
    pub va: u64,
    pub op: TraceOp,
}

/// Where a trace comes from and where its results go.
pub trait Trace {
    /// Access `k`, or `None` to skip it (an entry the caller found
    /// invalid; it reports that itself).
    fn access(&mut self, k: usize) -> Option<TraceAccess>;
    /// The result of access `k`: the byte a load read (0 for a store or
    /// a fetch), or why it failed. Called once for every access not
    /// skipped; loads may be reported a few accesses late, never out of
    /// order with a failure before them.
    fn done(&mut self, k: usize, result: Result<u8, AccessError>);
}

impl Machine {
    /// Run accesses `0..n` of `trace`, as the same calls of
    /// [`Machine::load`], [`Machine::store`] and [`Machine::exec`] would.
    pub fn run_trace(&mut self, n: usize, trace: &mut impl Trace) {
        let mut noted = [(0usize, PhysAddr(0)); GROUP];
        let mut waiting = 0;
        for k in 0..n {
            let Some(a) = trace.access(k) else {
                continue;
            };
            let access = match a.op {
                TraceOp::Load => Access::Read,
                TraceOp::Store(_) => Access::Write,
                TraceOp::Exec => Access::Execute,
            };
            let translated = self.translate(a.pid, a.va, access);
            if let (TraceOp::Load, Ok(pa)) = (a.op, translated) {
                noted[waiting] = (k, pa);
                waiting += 1;
                if waiting == GROUP {
                    self.read_noted(&noted, trace);
                    waiting = 0;
                }
                continue;
            }
            self.read_noted(&noted[..waiting], trace);
            waiting = 0;
            let r = translated
                .or_else(|trap| self.take_trap(a.pid, a.va, access, trap))
                .map(|pa| match a.op {
                    TraceOp::Load => self.phys.read_u8(pa),
                    TraceOp::Store(v) => {
                        self.phys.write_u8(pa, v);
                        0
                    }
                    TraceOp::Exec => 0,
                })
                .map_err(|e| self.access_failed(a.pid, e));
            trace.done(k, r);
        }
        self.read_noted(&noted[..waiting], trace);
    }

    /// The bytes of the loads noted, read one after another with nothing
    /// between them, then reported.
    #[inline]
    fn read_noted(&self, noted: &[(usize, PhysAddr)], trace: &mut impl Trace) {
        let mut bytes = [0u8; GROUP];
        for (b, &(_, pa)) in bytes.iter_mut().zip(noted) {
            *b = self.phys.read_u8(pa);
        }
        for (&b, &(k, _)) in bytes.iter().zip(noted) {
            trace.done(k, Ok(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::MachineConfig;
    use crate::personality::linux::abi::*;

    /// A trace from a list, its results kept in order of `done`.
    struct List {
        accesses: Vec<Option<TraceAccess>>,
        results: Vec<(usize, Result<u8, AccessError>)>,
    }

    impl Trace for List {
        fn access(&mut self, k: usize) -> Option<TraceAccess> {
            self.accesses[k]
        }
        fn done(&mut self, k: usize, result: Result<u8, AccessError>) {
            self.results.push((k, result));
        }
    }

    fn machine(frames: u64) -> Machine {
        Machine::new(MachineConfig {
            frames,
            ..MachineConfig::default()
        })
    }

    /// Two processes sharing copy-on-write memory after a fork, a few
    /// pages beyond what is mapped, a read-only page and a PROT_NONE one.
    fn setup(m: &mut Machine) -> (u32, u64) {
        let rw = PROT_READ | PROT_WRITE;
        let a = m
            .mmap(1, 0, 64 << 12, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            .unwrap();
        for i in 0..64u64 {
            m.store(1, a + (i << 12) + i, i as u8 + 1).unwrap();
        }
        m.mprotect(1, a + (60 << 12), 2 << 12, PROT_READ).unwrap();
        m.mprotect(1, a + (62 << 12), 1 << 12, PROT_NONE).unwrap();
        let c = m.fork(1).unwrap();
        (c, a)
    }

    /// A random trace over the setup's memory and around it, every kind
    /// of access, and some entries the caller skips.
    fn random_trace(seed: u64, n: usize, c: u32, a: u64) -> Vec<Option<TraceAccess>> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let r = next();
                if r % 23 == 0 {
                    return None;
                }
                let pid = match r % 7 {
                    0 => c,
                    1 => 99,
                    _ => 1,
                };
                let page = (r >> 8) % 72;
                let va = match (r >> 16) % 50 {
                    0 => u64::MAX - 5,
                    _ => a + (page << 12) + ((r >> 24) & 0xf),
                };
                let op = match (r >> 32) % 10 {
                    0 => TraceOp::Store((r >> 40) as u8),
                    1 => TraceOp::Exec,
                    _ => TraceOp::Load,
                };
                Some(TraceAccess { pid, va, op })
            })
            .collect()
    }

    #[test]
    fn a_trace_ends_as_the_same_calls_one_by_one() {
        for seed in [1, 2, 3, 0xdead_beef] {
            let (mut one, mut all) = (machine(256), machine(256));
            let (c, a) = setup(&mut one);
            assert_eq!(setup(&mut all), (c, a));
            let accesses = random_trace(seed, 3000, c, a);
            let singly: Vec<_> = accesses
                .iter()
                .enumerate()
                .filter_map(|(k, acc)| {
                    let acc = (*acc)?;
                    let r = match acc.op {
                        TraceOp::Load => one.load(acc.pid, acc.va),
                        TraceOp::Store(v) => one.store(acc.pid, acc.va, v).map(|()| 0),
                        TraceOp::Exec => one.exec(acc.pid, acc.va).map(|()| 0),
                    };
                    Some((k, r))
                })
                .collect();
            let mut list = List {
                accesses: accesses.clone(),
                results: Vec::new(),
            };
            all.run_trace(accesses.len(), &mut list);
            let mut batched = list.results.clone();
            batched.sort_by_key(|&(k, _)| k);
            assert_eq!(batched, singly, "seed {seed}");
            assert!(singly.iter().any(|(_, r)| r.is_err()), "the trace faults");
            let stats = |m: &Machine| (m.tlb().hits(), m.tlb().misses());
            assert_eq!(stats(&all), stats(&one), "seed {seed}");
            assert_eq!(all.take_events(), one.take_events(), "seed {seed}");
            assert_eq!(all.maps(1), one.maps(1));
            for pid in [1, c] {
                for p in 0..72u64 {
                    assert_eq!(
                        format!("{:?}", all.walk(pid, a + (p << 12))),
                        format!("{:?}", one.walk(pid, a + (p << 12))),
                        "seed {seed}, pid {pid}, page {p}: the page tables (A and D bits too)"
                    );
                }
            }
            all.check().unwrap();
        }
    }

    #[test]
    fn a_load_is_reported_before_a_later_failure() {
        let mut m = machine(64);
        let (_, a) = setup(&mut m);
        let load = |va| {
            Some(TraceAccess {
                pid: 1,
                va,
                op: TraceOp::Load,
            })
        };
        let mut list = List {
            accesses: vec![
                load(a),
                load(a + 4097),
                load(a + (62 << 12)),
                load(a + 8194),
            ],
            results: Vec::new(),
        };
        m.run_trace(4, &mut list);
        let order: Vec<usize> = list.results.iter().map(|&(k, _)| k).collect();
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(list.results[0].1, Ok(1));
        assert_eq!(list.results[1].1, Ok(2));
        assert!(matches!(list.results[2].1, Err(AccessError::Signal(_))));
        assert_eq!(list.results[3].1, Ok(3));
    }
}
