//! The native side of `make bench`'s table (tests/bench/speed.mjs): the
//! workloads of tests/bench/host.c (the host kernel) and
//! tests/bench/speedcore.mjs (the wasm module), on one `vmcore::Machine`
//! with events off, 262,144 frames (1 GiB).
//!
//!   speed w1 ITERS          mmap 64 KiB, store to its 16 pages, munmap   -> ns/iter
//!   speed fork MIB FORKS    fork of p1 with MIB MiB touched; the child
//!                           stores 1 byte per 2 MiB and exits            -> us/fork
//!   speed w3 LOADS [MIB]    random byte loads over 64 (MIB) MiB resident,
//!                           as one trace (Machine::run_trace)            -> ns/load
//!   speed w3call LOADS [MIB] the same, one Machine::load per byte        -> ns/load
//!   speed loadhit CALLS     a load whose translation is in the TLB       -> ns/call
//!   speed w4 N ITERS        one-page mmap+munmap beside N mappings       -> ns/pair
//!   speed scen FILE [WARM]  Runner::run_text + to_text of a scenario, after
//!                           warm-up runs of the WARM scenario           -> lines/s
//!
//! Prints `RESULT <value> <unit>`.

use std::hint::black_box;
use std::time::{Duration, Instant};
use vmcore::personality::linux::abi::*;
use vmcore::trace::{Trace, TraceAccess, TraceOp};
use vmcore::{AccessError, Machine, MachineConfig};
use vmscript::Runner;

const RW: u64 = PROT_READ | PROT_WRITE;
const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const ARENA: u64 = 0x3000_0000_0000;

fn machine() -> Machine {
    Machine::new(MachineConfig {
        frames: 262_144,
        events: false,
        ..MachineConfig::default()
    })
}

fn touched(m: &mut Machine, sz: u64) -> u64 {
    let a = m.mmap(1, 0, sz, RW, PRIV, -1, 0).expect("mmap");
    m.fill(1, a, sz, 1).expect("fill");
    a
}

/// W3's trace: random byte loads by p1, the addresses drawn as host.c
/// draws them.
struct Xorshift {
    x: u64,
    base: u64,
    mask: u64,
    sum: u64,
}

impl Xorshift {
    fn new(base: u64, mask: u64) -> Xorshift {
        Xorshift {
            x: 88172645463325252,
            base,
            mask,
            sum: 0,
        }
    }

    /// The next address, as host.c draws it.
    fn next_va(&mut self) -> u64 {
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        self.base + (self.x & self.mask)
    }
}

impl Trace for Xorshift {
    fn access(&mut self, _: usize) -> Option<TraceAccess> {
        Some(TraceAccess {
            pid: 1,
            va: self.next_va(),
            op: TraceOp::Load,
        })
    }
    fn done(&mut self, _: usize, r: Result<u8, AccessError>) {
        self.sum += u64::from(r.expect("a resident byte"));
    }
}

fn arg(args: &[String], i: usize, d: u64) -> u64 {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d)
}

/// The warm-up rule of the wasm side (tests/bench/speedcore.mjs), so that
/// both columns time a settled loop: batches of a fifth of the loop, until
/// at least `WARM` has passed and a batch is no faster than the best
/// before it (at most 40 batches or ten times `WARM`).
const WARM: Duration = Duration::from_millis(300);

fn warm_up(mut warm: impl FnMut()) {
    let (mut spent, mut best) = (Duration::ZERO, Duration::MAX);
    for _ in 0..40 {
        if spent >= WARM * 10 {
            break;
        }
        let t = Instant::now();
        warm();
        let dt = t.elapsed();
        spent += dt;
        let steady = dt.as_secs_f64() >= best.as_secs_f64() * 0.97;
        best = best.min(dt);
        if spent >= WARM && steady {
            break;
        }
    }
}

/// Warm up on batches of a fifth of `n`, then run `f` timed on `n`:
/// nanoseconds per unit.
fn timed(n: u64, mut f: impl FnMut(u64)) -> f64 {
    warm_up(|| f(n.div_ceil(5)));
    let t = Instant::now();
    f(n);
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut m = machine();
    match args.first().map(String::as_str).unwrap_or("") {
        "w1" => {
            let ns = timed(arg(&args, 1, 200_000), |k| {
                for _ in 0..k {
                    let a = m.mmap(1, 0, 65536, RW, PRIV, -1, 0).unwrap();
                    for i in 0..16 {
                        m.store(1, a + i * 4096, 1).unwrap();
                    }
                    m.munmap(1, a, 65536).unwrap();
                }
            });
            println!("RESULT {ns:.1} ns/iter");
        }
        "fork" => {
            let sz = arg(&args, 1, 64) << 20;
            let a = touched(&mut m, sz);
            let ns = timed(arg(&args, 2, 20), |k| {
                for _ in 0..k {
                    let c = m.fork(1).unwrap();
                    for o in (0..sz).step_by(2 << 20) {
                        m.store(c, a + o, 2).unwrap();
                    }
                    m.exit(c).unwrap();
                }
            });
            println!("RESULT {:.1} us/fork", ns / 1e3);
        }
        "w3" => {
            // The trace path (`Machine::run_trace`), as runTrace in wasm.
            let sz: u64 = arg(&args, 2, 64).next_power_of_two() << 20;
            let a = touched(&mut m, sz);
            let mut t = Xorshift::new(a, sz - 1);
            let ns = timed(arg(&args, 1, 10_000_000), |k| {
                m.run_trace(k as usize, &mut t);
            });
            println!("INFO sum {}", t.sum);
            println!("RESULT {ns:.2} ns/load");
        }
        "w3call" => {
            let sz: u64 = arg(&args, 2, 64).next_power_of_two() << 20;
            let a = touched(&mut m, sz);
            let mut t = Xorshift::new(a, sz - 1);
            let ns = timed(arg(&args, 1, 10_000_000), |k| {
                for _ in 0..k {
                    let va = t.next_va();
                    t.sum += u64::from(m.load(1, va).unwrap());
                }
            });
            println!("INFO sum {}", t.sum);
            println!("RESULT {ns:.2} ns/load");
        }
        "loadhit" => {
            let a = m.mmap(1, 0, 4096, RW, PRIV, -1, 0).unwrap();
            m.store(1, a + 7, 42).unwrap();
            let mut s = 0u64;
            let ns = timed(arg(&args, 1, 10_000_000), |k| {
                for _ in 0..k {
                    s += u64::from(m.load(1, black_box(a + 7)).unwrap());
                }
            });
            println!("INFO sum {s}");
            println!("RESULT {ns:.2} ns/call");
        }
        "w4" => {
            for k in 0..arg(&args, 1, 16) {
                let prot = if k & 1 == 1 { PROT_READ } else { RW };
                m.mmap(1, ARENA + k * 8192, 4096, prot, PRIV | MAP_FIXED, -1, 0)
                    .unwrap();
            }
            let ns = timed(arg(&args, 2, 200_000), |k| {
                for _ in 0..k {
                    let a = m.mmap(1, 0, 4096, PROT_READ, PRIV, -1, 0).unwrap();
                    m.munmap(1, a, 4096).unwrap();
                }
            });
            println!("RESULT {ns:.1} ns/pair");
        }
        "scen" => {
            let text = std::fs::read_to_string(args.get(1).expect("scen FILE")).expect("read");
            // The warm-up of the wasm side: a 20,000-line scenario of its
            // generator (seed 999) on a machine of its own, until settled.
            if let Some(w) = args.get(2) {
                let warm_text = std::fs::read_to_string(w).expect("read the warm-up scenario");
                warm_up(|| {
                    let mut r = Runner::new(machine());
                    let _ = r.run_text(&warm_text).to_text();
                });
            }
            let mut r = Runner::new(m);
            let t = Instant::now();
            let out = r.run_text(&text);
            let printed = out.to_text();
            let secs = t.elapsed().as_secs_f64();
            assert!(out.error.is_none(), "{:?}", out.error);
            println!("INFO text {} chars", printed.len());
            println!("RESULT {:.0} lines/s", out.outputs.len() as f64 / secs);
        }
        _ => {
            eprintln!("usage: speed w1|fork|w3|w3call|loadhit|w4|scen ...");
            std::process::exit(1);
        }
    }
}
