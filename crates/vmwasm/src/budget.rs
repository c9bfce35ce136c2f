//! The memory budget of one instance of the module.
//!
//! wasm32 memory ends at 4 GiB, and a simulated frame costs its 4 KiB in
//! wasm memory once it is written (plus its descriptor, page tables,
//! amaps, anons...). A machine whose frames cannot all fit would trap
//! (`RuntimeError: unreachable`, out of memory) when its program fills it.
//! So one machine may have at most [`MAX_MACHINE_FRAMES`] (1 GiB) and the
//! machines alive at the same time at most [`TOTAL_FRAMES`] (2 GiB)
//! together, which leaves the other half of the address space for the
//! bookkeeping and the allocator. A `Machine` holds a [`Reservation`] of
//! its frames; `free()` (or the garbage collector) drops it and gives them
//! back.

use crate::args::range_error;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use wasm_bindgen::prelude::*;

/// Most frames one machine may have: 262,144 (1 GiB).
pub const MAX_MACHINE_FRAMES: u64 = 1 << 18;
/// Most frames all live machines of this module instance may have
/// together: 524,288 (2 GiB).
pub const TOTAL_FRAMES: u64 = 1 << 19;

/// Frames reserved by live machines.
static RESERVED: AtomicU64 = AtomicU64::new(0);
/// Live machines.
static MACHINES: AtomicU32 = AtomicU32::new(0);
/// Frames of machines lost to an internal error: the call that died never
/// gave back its memory (wasm has no unwinding), so they stay counted.
static LOST: AtomicU64 = AtomicU64::new(0);

fn mib(frames: u64) -> String {
    let m = frames * 4 / 1024;
    if m >= 1024 && m.is_multiple_of(1024) {
        format!("{} GiB", m / 1024)
    } else {
        format!("{m} MiB")
    }
}

/// The frames one live machine holds; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    frames: u64,
}

impl Reservation {
    /// Reserve `frames` for a new machine, or explain (a `RangeError`) why
    /// they do not fit. `at` names the caller in the message.
    pub fn take(at: &str, frames: u64) -> Result<Reservation, JsValue> {
        let held = RESERVED.load(Ordering::Relaxed);
        let lost = LOST.load(Ordering::Relaxed);
        if held + lost + frames > TOTAL_FRAMES {
            let machines = MACHINES.load(Ordering::Relaxed);
            let lost_note = if lost > 0 {
                format!(
                    "; {lost} more frames ({}) were lost to internal errors",
                    mib(lost)
                )
            } else {
                String::new()
            };
            return Err(range_error(format!(
                "{at}: no room for {frames} more frames ({}): all live machines together may have \
                 {TOTAL_FRAMES} frames ({}) and {machines} other live machine{} hold{} {held} \
                 frames ({}){lost_note}; free() the machines you no longer use, or ask for fewer \
                 frames",
                mib(frames),
                mib(TOTAL_FRAMES),
                if machines == 1 { "" } else { "s" },
                if machines == 1 { "s" } else { "" },
                mib(held),
            )));
        }
        RESERVED.fetch_add(frames, Ordering::Relaxed);
        MACHINES.fetch_add(1, Ordering::Relaxed);
        Ok(Reservation { frames })
    }

    /// The machine's memory was lost (a call died half-way): keep its
    /// frames counted for good, as nothing will ever free them.
    pub fn lose(&self) {
        LOST.fetch_add(self.frames, Ordering::Relaxed);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        RESERVED.fetch_sub(self.frames, Ordering::Relaxed);
        MACHINES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `{ total, perMachine, used, machines, lost }` for `frameBudget()`.
pub fn view() -> JsValue {
    crate::js::obj(&[
        ("total", JsValue::from_f64(TOTAL_FRAMES as f64)),
        ("perMachine", JsValue::from_f64(MAX_MACHINE_FRAMES as f64)),
        (
            "used",
            JsValue::from_f64(RESERVED.load(Ordering::Relaxed) as f64),
        ),
        ("machines", JsValue::from(MACHINES.load(Ordering::Relaxed))),
        (
            "lost",
            JsValue::from_f64(LOST.load(Ordering::Relaxed) as f64),
        ),
    ])
}
