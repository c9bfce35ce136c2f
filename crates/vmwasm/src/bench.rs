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
