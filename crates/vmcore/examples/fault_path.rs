//! The workload of the `mmap64k_touch16_munmap` benchmark as a plain
//! program, for counting instructions with callgrind (repeatable, unlike
//! time): the difference of two runs cancels the start-up.
//!
//! ```sh
//! cargo build --release -p vmcore --example fault_path
//! for n in 2000 12000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/fault_path $n 2>&1 | grep refs
//! done   # (second - first) / 10000 = instructions per iteration
//! ```
//!
//! A second argument, `others`, first creates that many one-page mappings
//! that cannot merge and then loops over a one-page mmap + munmap instead
//! (the `mmap_munmap_1page` benchmark).

use vmcore::personality::linux::abi::*;
use vmcore::{Machine, MachineConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let others: Option<u64> = args.next().and_then(|s| s.parse().ok());
    let mut m = Machine::new(MachineConfig {
        events: false,
        ..MachineConfig::default()
    });
    const RW: u64 = PROT_READ | PROT_WRITE;
    const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
    match others {
        None => {
            for _ in 0..n {
                let a = m.mmap(1, 0, 64 * 1024, RW, PRIV, -1, 0).unwrap();
                for i in 0..16 {
                    m.store(1, a + i * 4096, 1).unwrap();
                }
                m.munmap(1, a, 64 * 1024).unwrap();
            }
        }
        Some(others) => {
            for i in 0..others {
                let prot = if i % 2 == 0 { RW } else { PROT_READ };
                m.mmap(1, 0, 4096, prot, PRIV, -1, 0).unwrap();
            }
            for _ in 0..n {
                let a = m.mmap(1, 0, 4096, RW, PRIV, -1, 0).unwrap();
                m.munmap(1, a, 4096).unwrap();
            }
        }
    }
}
