//! `make bench`'s in-module loops (feature `bench`, never in the site's
//! module): a workload's calls made from inside the module, so that the
//! table can tell the engine's code for the simulation from the cost of
//! crossing the JavaScript boundary once a call. Each loop is the one of
//! crates/vmcli/examples/speed.rs for the same mode, through the same
//! `Machine` methods.

use crate::Machine;
use vmcore::personality::linux::abi::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Machine {
    /// Run `n` iterations of workload `mode` in process 1 inside the
    /// module: `"w1"` (mmap 64 KiB, store to its 16 pages, munmap) or
    /// `"w4"` (a one-page mmap and its munmap). Returns a checksum of the
    /// addresses mapped; throws on an unknown mode or a failed call.
    #[wasm_bindgen(js_name = benchInside)]
    pub fn bench_inside(&self, mode: &str, n: u32) -> Result<f64, JsError> {
        const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
        self.with(|i| {
            let m = i.m();
            let mut sum = 0u64;
            let fail =
                |e: &dyn std::fmt::Debug| JsError::new(&format!("benchInside {mode}: {e:?}"));
            match mode {
                "w1" => {
                    for _ in 0..n {
                        let a = m
                            .mmap(1, 0, 65536, PROT_READ | PROT_WRITE, PRIV, -1, 0)
                            .map_err(|e| fail(&e))?;
                        for p in 0..16 {
                            m.store(1, a + p * 4096, 1).map_err(|e| fail(&e))?;
                        }
                        m.munmap(1, a, 65536).map_err(|e| fail(&e))?;
                        sum = sum.wrapping_add(a);
                    }
                }
                "w4" => {
                    for _ in 0..n {
                        let a = m
                            .mmap(1, 0, 4096, PROT_READ, PRIV, -1, 0)
                            .map_err(|e| fail(&e))?;
                        m.munmap(1, a, 4096).map_err(|e| fail(&e))?;
                        sum = sum.wrapping_add(a);
                    }
                }
                _ => return Err(JsError::new(&format!("benchInside: no mode {mode}"))),
            }
            Ok(sum as f64)
        })
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    const RO: f64 = PROT_READ as f64;
    const PRIV_F: f64 = (MAP_PRIVATE | MAP_ANONYMOUS) as f64;

    /// The in-module loops do what the same calls from JavaScript do, and
    /// leave the address space as they found it.
    #[wasm_bindgen_test]
    fn loops_match_the_calls_they_stand_for() {
        let m = Machine::new(JsValue::UNDEFINED).expect("a machine");
        let a = m.raw_mmap(1.0, 0.0, 4096.0, RO, PRIV_F, -1.0, 0.0);
        assert!(a > 0.0, "mmap gave {a}");
        assert_eq!(m.raw_munmap(1.0, a, 4096.0), 0.0);
        // Each pair maps where the call from JavaScript did.
        let sum = m.bench_inside("w4", 100).expect("w4 runs");
        assert_eq!(sum, 100.0 * a);
        let sum = m.bench_inside("w1", 10).expect("w1 runs");
        assert!(sum > 0.0);
        // Nothing is left mapped: the next mapping lands where the first did.
        assert_eq!(m.raw_mmap(1.0, 0.0, 4096.0, RO, PRIV_F, -1.0, 0.0), a);
        assert!(m.bench_inside("w9", 1).is_err());
    }
}
