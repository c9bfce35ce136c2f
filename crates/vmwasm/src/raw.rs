//! The raw API: the hot paths with numbers in and numbers out.
//!
//! The checked methods (`load`, `mmap`, ...) build a `{ ok, value }` object
//! per call and probe every argument's type through JavaScript: about a
//! microsecond a call, far more than the simulation behind it. The methods
//! here (`rawLoad`, `rawMmap`, ...) cross the boundary as plain numbers, the
//! way a system call crosses into a kernel: arguments are Numbers (converted
//! as by `Number(x)`), the result is a Number, and a failure is a negative
//! status whose details `lastError()` gives on demand.
//!
//! - A system call returns its value (an address, a pid, 0) or `-errno`
//!   with the personality's errno number, as the kernel's own return
//!   convention does (`-EINVAL` is -22 on Linux).
//! - An access returns the byte (a load) or 0, or a negative fault kind
//!   ([`Fault`]: -1 SEGV_MAPERR, -2 SEGV_ACCERR, -3 BUS_ADRERR, -4 killed by
//!   the OOM killer, -5 no such process, -6 out of physical memory).
//! - An argument that is not an integer in range (NaN, a fraction, a
//!   negative, a value past 2^53 - 1: pass those to the checked methods as
//!   BigInts) returns [`BAD_ARGUMENT`] (-4096, below every errno) and
//!   changes nothing; `lastError()` names the method and the argument.
//!
//! `runTrace` runs a whole address trace in one call: typed arrays of
//! accesses in, a typed array of results and fault kinds out. Nothing here
//! panics on any input; the simulated machine sees exactly the calls the
//! checked methods would make (same events, same TLB counters).

use crate::{Inner, Machine};
use vmcore::event::SignalCode;
use vmcore::trace::{Trace, TraceAccess, TraceOp as CoreTraceOp};
use vmcore::{AccessError, SysError};
use wasm_bindgen::prelude::*;

/// The status of a raw call whose argument was not a valid number: below
/// every errno (`-4095..=-1`) and every fault kind.
pub const BAD_ARGUMENT: i32 = -4096;

/// Why a raw access failed: the negative status it returns.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGSEGV, SEGV_MAPERR: nothing mapped at the address.
    SegvMaperr = -1,
    /// SIGSEGV, SEGV_ACCERR: the mapping forbids the access.
    SegvAccerr = -2,
    /// SIGBUS, BUS_ADRERR: a file page wholly past the end of the file.
    BusAdrerr = -3,
    /// The OOM killer killed the process during the access.
    Killed = -4,
    /// No such process (ESRCH).
    NoProcess = -5,
    /// No free frame and nothing to reclaim (ENOMEM).
    OutOfMemory = -6,
}

impl Fault {
    fn of(e: &AccessError) -> Fault {
        match e {
            AccessError::Signal(s) => match s.code {
                SignalCode::SegvMaperr => Fault::SegvMaperr,
                SignalCode::SegvAccerr => Fault::SegvAccerr,
                SignalCode::BusAdrerr => Fault::BusAdrerr,
            },
            AccessError::Killed => Fault::Killed,
            AccessError::NoProcess(_) => Fault::NoProcess,
            AccessError::OutOfMemory => Fault::OutOfMemory,
        }
    }
}

/// What the last failed raw call left for `lastError()`.
#[derive(Clone, Debug, Default)]
pub(crate) enum LastError {
    #[default]
    None,
    Sys(SysError),
    Access(AccessError),
    /// An argument that was not a valid number: the message says which.
    Argument(String),
}

/// The largest integer a Number holds exactly (2^53 - 1).
const MAX_SAFE: u64 = (1 << 53) - 1;

/// `x` as an integer in `0..=max`, or `None` (NaN, a fraction, out of range).
#[inline(always)]
fn int(x: f64, max: u64) -> Option<u64> {
    let u = x as u64; // saturating; NaN -> 0
    (u as f64 == x && u <= max).then_some(u)
}

/// A raw argument failed its check: remember why, return the status.
#[cold]
fn bad(i: &mut Inner, at: &str, name: &str, x: f64, what: &str) -> i32 {
    i.last_error = not_a_number(at, name, x, what);
    BAD_ARGUMENT
}

/// The error of an argument `name` of `at` that is not `what`.
#[cold]
fn not_a_number(at: &str, name: &str, x: f64, what: &str) -> LastError {
    LastError::Argument(format!(
        "{at}: {name} must be {what}, got {x} (the checked method takes BigInts)"
    ))
}

macro_rules! arg {
    ($i:expr, $at:expr, $name:literal, $x:expr, $max:expr, $what:literal) => {
        match int($x, $max) {
            Some(v) => v,
            None => return f64::from(bad($i, $at, $name, $x, $what)),
        }
    };
}

const PID: u64 = u32::MAX as u64;
const ADDR: &str = "an integer 0..2^53-1";

impl Inner {
    #[inline(always)]
    fn sys_status<T>(&mut self, r: Result<T, SysError>, v: impl FnOnce(T) -> f64) -> f64 {
        match r {
            Ok(x) => v(x),
            Err(e) => self.sys_failed(e),
        }
    }
    #[cold]
    fn sys_failed(&mut self, e: SysError) -> f64 {
        let code = self.m().personality().errno_number(e.errno);
        self.last_error = LastError::Sys(e);
        -f64::from(code)
    }
    #[inline(always)]
    fn access_status<T>(&mut self, r: Result<T, AccessError>, v: impl FnOnce(T) -> i32) -> i32 {
        match r {
            Ok(x) => v(x),
            Err(e) => self.access_failed(e),
        }
    }
    #[cold]
    fn access_failed(&mut self, e: AccessError) -> i32 {
        let f = Fault::of(&e);
        self.last_error = LastError::Access(e);
        f as i32
    }
}

/// The fault kinds and statuses of the raw API, as `{ name: number }`.
#[wasm_bindgen(js_name = rawCodes, unchecked_return_type = "RawCodes")]
pub fn raw_codes() -> JsValue {
    crate::js::obj(&[
        ("SEGV_MAPERR", JsValue::from(Fault::SegvMaperr as i32)),
        ("SEGV_ACCERR", JsValue::from(Fault::SegvAccerr as i32)),
        ("BUS_ADRERR", JsValue::from(Fault::BusAdrerr as i32)),
        ("KILLED", JsValue::from(Fault::Killed as i32)),
        ("NO_PROCESS", JsValue::from(Fault::NoProcess as i32)),
        ("OUT_OF_MEMORY", JsValue::from(Fault::OutOfMemory as i32)),
        ("BAD_ARGUMENT", JsValue::from(BAD_ARGUMENT)),
        ("LOAD", JsValue::from(TraceOp::Load as u8)),
        ("STORE", JsValue::from(TraceOp::Store as u8)),
        ("EXEC", JsValue::from(TraceOp::Exec as u8)),
    ])
}

/// What one access of a trace does (the byte in `ops`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceOp {
    Load = 0,
    Store = 1,
    Exec = 2,
}

#[wasm_bindgen]
impl Machine {
    /// Details of the last raw call that returned a negative status: the
    /// object the checked method would have returned (`{ ok: false, errno,
    /// code, reason }` or `{ ok: false, signal, code, addr }`), or `{ ok:
    /// false, message }` for an argument that was not a valid number; null
    /// when no raw call has failed.
    #[wasm_bindgen(js_name = lastError, unchecked_return_type = "RawError | null")]
    pub fn last_error(&self) -> JsValue {
        self.with(|i| {
            let p = i.m().personality();
            match &i.last_error {
                LastError::None => JsValue::NULL,
                LastError::Sys(e) => crate::js::sys_err(p, e),
                LastError::Access(e) => crate::js::access_err(p, e),
                LastError::Argument(m) => {
                    crate::js::obj(&[("ok", JsValue::FALSE), ("message", JsValue::from_str(m))])
                }
            }
        })
    }

    /// A one-byte load: the byte, or a negative fault kind.
    #[wasm_bindgen(js_name = rawLoad)]
    pub fn raw_load(&self, pid: f64, va: f64) -> i32 {
        self.with(|i| {
            let (Some(p), Some(v)) = (int(pid, PID), int(va, MAX_SAFE)) else {
                return access_args(i, "rawLoad", pid, va);
            };
            let r = i.m().load(p as u32, v);
            i.access_status(r, i32::from)
        })
    }

    /// A one-byte store of `value` (0..=255): 0, or a negative fault kind.
    #[wasm_bindgen(js_name = rawStore)]
    pub fn raw_store(&self, pid: f64, va: f64, value: f64) -> i32 {
        self.with(|i| {
            let (Some(p), Some(v)) = (int(pid, PID), int(va, MAX_SAFE)) else {
                return access_args(i, "rawStore", pid, va);
            };
            let Some(b) = int(value, 255) else {
                return bad(i, "rawStore", "value", value, "a byte 0..255");
            };
            let r = i.m().store(p as u32, v, b as u8);
            i.access_status(r, |()| 0)
        })
    }

    /// An instruction fetch: 0, or a negative fault kind.
    #[wasm_bindgen(js_name = rawExec)]
    pub fn raw_exec(&self, pid: f64, va: f64) -> i32 {
        self.with(|i| {
            let (Some(p), Some(v)) = (int(pid, PID), int(va, MAX_SAFE)) else {
                return access_args(i, "rawExec", pid, va);
            };
            let r = i.m().exec(p as u32, v);
            i.access_status(r, |()| 0)
        })
    }

    /// Store `value` into `len` bytes from `va` (touching every page of the
    /// range): 0, or a negative fault kind (the bytes before it stay written).
    #[wasm_bindgen(js_name = rawFill)]
    pub fn raw_fill(&self, pid: f64, va: f64, len: f64, value: f64) -> i32 {
        self.with(|i| {
            let (Some(p), Some(v)) = (int(pid, PID), int(va, MAX_SAFE)) else {
                return access_args(i, "rawFill", pid, va);
            };
            let Some(n) = int(len, MAX_SAFE) else {
                return bad(i, "rawFill", "len", len, ADDR);
            };
            let Some(b) = int(value, 255) else {
                return bad(i, "rawFill", "value", value, "a byte 0..255");
            };
            let r = i.m().fill(p as u32, v, n, b as u8);
            i.access_status(r, |()| 0)
        })
    }

    /// mmap(2) with numeric flags (`fd` -1 or a descriptor): the address,
    /// or `-errno`.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = rawMmap)]
    pub fn raw_mmap(
        &self,
        pid: f64,
        addr: f64,
        len: f64,
        prot: f64,
        flags: f64,
        fd: f64,
        off: f64,
    ) -> f64 {
        const AT: &str = "rawMmap";
        self.with(|i| {
            let p = arg!(i, AT, "pid", pid, PID, "a pid 0..2^32-1");
            let a = arg!(i, AT, "addr", addr, MAX_SAFE, "an integer 0..2^53-1");
            let l = arg!(i, AT, "len", len, MAX_SAFE, "an integer 0..2^53-1");
            let pr = arg!(i, AT, "prot", prot, MAX_SAFE, "an integer 0..2^53-1");
            let fl = arg!(i, AT, "flags", flags, MAX_SAFE, "an integer 0..2^53-1");
            let d = if fd == -1.0 {
                -1
            } else {
                arg!(i, AT, "fd", fd, i32::MAX as u64, "-1 or a descriptor") as i64
            };
            let o = arg!(i, AT, "off", off, MAX_SAFE, "an integer 0..2^53-1");
            let r = i.m().mmap(p as u32, a, l, pr, fl, d, o);
            i.sys_status(r, |v| v as f64)
        })
    }

    /// munmap(2): 0 or `-errno`.
    #[wasm_bindgen(js_name = rawMunmap)]
    pub fn raw_munmap(&self, pid: f64, addr: f64, len: f64) -> f64 {
        const AT: &str = "rawMunmap";
        self.with(|i| {
            let p = arg!(i, AT, "pid", pid, PID, "a pid 0..2^32-1");
            let a = arg!(i, AT, "addr", addr, MAX_SAFE, "an integer 0..2^53-1");
            let l = arg!(i, AT, "len", len, MAX_SAFE, "an integer 0..2^53-1");
            let r = i.m().munmap(p as u32, a, l);
            i.sys_status(r, |()| 0.0)
        })
    }

    /// mprotect(2) with a numeric `prot`: 0 or `-errno`.
    #[wasm_bindgen(js_name = rawMprotect)]
    pub fn raw_mprotect(&self, pid: f64, addr: f64, len: f64, prot: f64) -> f64 {
        const AT: &str = "rawMprotect";
        self.with(|i| {
            let p = arg!(i, AT, "pid", pid, PID, "a pid 0..2^32-1");
            let a = arg!(i, AT, "addr", addr, MAX_SAFE, "an integer 0..2^53-1");
            let l = arg!(i, AT, "len", len, MAX_SAFE, "an integer 0..2^53-1");
            let pr = arg!(i, AT, "prot", prot, MAX_SAFE, "an integer 0..2^53-1");
            let r = i.m().mprotect(p as u32, a, l, pr);
            i.sys_status(r, |()| 0.0)
        })
    }

    /// madvise(2) with a numeric `advice`: 0 or `-errno`.
    #[wasm_bindgen(js_name = rawMadvise)]
    pub fn raw_madvise(&self, pid: f64, addr: f64, len: f64, advice: f64) -> f64 {
        const AT: &str = "rawMadvise";
        self.with(|i| {
            let p = arg!(i, AT, "pid", pid, PID, "a pid 0..2^32-1");
            let a = arg!(i, AT, "addr", addr, MAX_SAFE, "an integer 0..2^53-1");
            let l = arg!(i, AT, "len", len, MAX_SAFE, "an integer 0..2^53-1");
            let adv = arg!(i, AT, "advice", advice, MAX_SAFE, "an integer 0..2^53-1");
            let r = i.m().madvise(p as u32, a, l, adv);
            i.sys_status(r, |()| 0.0)
        })
    }

    /// fork(2): the child's pid, or `-errno`.
    #[wasm_bindgen(js_name = rawFork)]
    pub fn raw_fork(&self, pid: f64) -> f64 {
        self.with(|i| {
            let p = arg!(i, "rawFork", "pid", pid, PID, "a pid 0..2^32-1");
            let r = i.m().fork(p as u32);
            i.sys_status(r, f64::from)
        })
    }

    /// exit(2): 0, or `-errno`.
    #[wasm_bindgen(js_name = rawExit)]
    pub fn raw_exit(&self, pid: f64) -> f64 {
        self.with(|i| {
            let p = arg!(i, "rawExit", "pid", pid, PID, "a pid 0..2^32-1");
            let r = i.m().exit(p as u32);
            i.sys_status(r, |()| 0.0)
        })
    }

    /// Run an address trace in one call. Access `k` is `ops[k]` (0 load,
    /// 1 store, 2 instruction fetch; see `rawCodes()`) by process
    /// `pids[k]` at `addrs[k]`, a store writing `values[k]`; `results[k]`
    /// receives what `rawLoad` / `rawStore` / `rawExec` would return (the
    /// byte or 0, or a negative fault kind; [`BAD_ARGUMENT`] for an entry
    /// whose op or address is not valid, which is skipped). The arrays must
    /// have one length (`values` may be empty: stores then write 0);
    /// returns how many accesses faulted, or [`BAD_ARGUMENT`] (nothing run)
    /// when the lengths differ. `lastError()` tells about the last fault.
    #[wasm_bindgen(js_name = runTrace)]
    pub fn run_trace(
        &self,
        ops: &[u8],
        pids: &[u32],
        addrs: &[f64],
        values: &[u8],
        results: &mut [i32],
    ) -> i32 {
        self.with(|i| {
            let n = ops.len();
            if pids.len() != n
                || addrs.len() != n
                || results.len() != n
                || !(values.len() == n || values.is_empty())
            {
                i.last_error = LastError::Argument(format!(
                    "runTrace: ops, pids, addrs, results (and values, unless empty) \
                     must have one length, got {}, {}, {}, {} and {}",
                    n,
                    pids.len(),
                    addrs.len(),
                    results.len(),
                    values.len()
                ));
                return BAD_ARGUMENT;
            }
            let mut t = RawTrace {
                ops,
                pids,
                addrs,
                values,
                results,
                faults: 0,
                last_error: None,
            };
            i.m().run_trace(n, &mut t);
            if let Some(e) = t.last_error {
                i.last_error = e;
            }
            t.faults
        })
    }
}

/// `runTrace`'s arrays as a [`Trace`]: entries whose op or address is
/// not valid are skipped and answered [`BAD_ARGUMENT`] here; the last
/// failure, of either kind, becomes `lastError()`.
struct RawTrace<'a> {
    ops: &'a [u8],
    pids: &'a [u32],
    addrs: &'a [f64],
    values: &'a [u8],
    results: &'a mut [i32],
    faults: i32,
    last_error: Option<LastError>,
}

impl RawTrace<'_> {
    #[cold]
    fn reject(&mut self, k: usize, why: LastError) -> Option<TraceAccess> {
        self.results[k] = BAD_ARGUMENT;
        self.faults += 1;
        self.last_error = Some(why);
        None
    }
}

impl Trace for RawTrace<'_> {
    #[inline]
    fn access(&mut self, k: usize) -> Option<TraceAccess> {
        let Some(va) = int(self.addrs[k], MAX_SAFE) else {
            let why = not_a_number("runTrace", &format!("addrs[{k}]"), self.addrs[k], ADDR);
            return self.reject(k, why);
        };
        let op = match self.ops[k] {
            0 => CoreTraceOp::Load,
            1 => CoreTraceOp::Store(self.values.get(k).copied().unwrap_or(0)),
            2 => CoreTraceOp::Exec,
            op => {
                return self.reject(
                    k,
                    LastError::Argument(format!(
                        "runTrace: ops[{k}] must be 0 (load), 1 (store) or 2 (exec), got {op}"
                    )),
                );
            }
        };
        Some(TraceAccess {
            pid: self.pids[k],
            va,
            op,
        })
    }

    #[inline]
    fn done(&mut self, k: usize, r: Result<u8, AccessError>) {
        self.results[k] = match r {
            Ok(b) => i32::from(b),
            Err(e) => {
                self.faults += 1;
                let f = Fault::of(&e);
                self.last_error = Some(LastError::Access(e));
                f as i32
            }
        };
    }
}

/// The pid or address of an access was not valid.
#[cold]
fn access_args(i: &mut Inner, at: &str, pid: f64, va: f64) -> i32 {
    if int(pid, PID).is_none() {
        bad(i, at, "pid", pid, "a pid 0..2^32-1")
    } else {
        bad(i, at, "va", va, ADDR)
    }
}
