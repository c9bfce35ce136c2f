//! WebAssembly bindings: a thin `Machine` class over vmcore (in progress).
use wasm_bindgen::prelude::*;

/// The version of the simulator.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
