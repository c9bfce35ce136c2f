//! WebAssembly bindings of vmcore: a thin `Machine` class for the vmplay
//! playground.
//!
//! - Every system call of the core is a method taking the raw Linux values
//!   (flags may also be written as names, `"PROT_READ|PROT_WRITE"`); it
//!   returns `{ ok: true, value }` or `{ ok: false, errno, code, reason }`.
//! - Accesses (`load`, `store`, `fill`, `exec`) return `{ ok: true, value }`
//!   or `{ ok: false, signal: "SIGSEGV", code, addr }`.
//! - Misuse — a wrong type, NaN, a negative, fractional or too large number,
//!   a BigInt outside 64 bits, `undefined` — throws a `TypeError` or
//!   `RangeError` naming the method and the argument.
//! - `execLine` / `runText` run `.vms` scenario text (vmscript's runner) on
//!   the same machine; scenario mistakes are values, not exceptions.
//! - Views are plain objects; bulk per-frame and per-page bytes are read
//!   straight out of wasm memory (`frameKindsPtr`, `pageStatesPtr`).
//! - Numbers are Numbers when exact; a 64-bit value that is not (a raw PTE,
//!   a syscall argument) is a hex string or a BigInt.
//!
//! - Memory is budgeted: a machine has at most 262,144 frames (1 GiB) and
//!   the live machines of one module instance at most 524,288 (2 GiB)
//!   together, so that wasm32's 4 GiB can hold them all when filled;
//!   `free()` gives a machine's frames back (`frameBudget()` tells).
//!
//! A Rust panic would abort the call (wasm has no unwinding here). The
//! machine lives in a cell that a call takes out and puts back, so a call
//! that died leaves the cell empty; the next call finds it empty, builds a
//! fresh machine of the same configuration and counts it in `resets`.
//! Nothing on user input panics; this is the last line of defence.

mod args;
// `make bench`'s loops; compiled in tests too, so that CI builds and lints it.
#[cfg(any(feature = "bench", test))]
mod bench;
mod budget;
mod js;
mod raw;
mod tables;

pub use raw::{BAD_ARGUMENT, Fault, TraceOp};

use args::*;
use budget::Reservation;
use core::cell::Cell;
use std::collections::BTreeMap;
use vmcore::personality::{self, LINUX, Name};
use vmcore::{Event, Machine as Core, MachineConfig};
use vmscript::Runner;
use wasm_bindgen::prelude::*;

/// Installs the panic hook (panics print their message to the console).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The version of the simulator (the crate version).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The module's memory, for building typed-array views over
/// `frameKindsPtr()` / `pageStatesPtr()`. Rebuild views after every call
/// that may allocate: the buffer is replaced when memory grows.
#[wasm_bindgen(js_name = wasmMemory, unchecked_return_type = "WebAssembly.Memory")]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The symbolic names of the ABI: `{ prot: [[name, value], ...], map, madv,
/// ms, mcl, mlock, mremap }` (values as Numbers).
#[wasm_bindgen(js_name = abiNames, unchecked_return_type = "Record<string, [string, number][]>")]
pub fn abi_names() -> JsValue {
    let table = |t: &[Name]| {
        let a = js_sys::Array::new();
        for &(n, v) in t {
            a.push(&js_sys::Array::of2(&JsValue::from_str(n), &js::num(v)));
        }
        JsValue::from(a)
    };
    js::obj(&[
        ("prot", table(LINUX.names.prot)),
        ("map", table(LINUX.names.map)),
        ("madv", table(LINUX.names.madv)),
        ("ms", table(LINUX.names.ms)),
        ("mcl", table(LINUX.names.mcl)),
        ("mlock", table(LINUX.names.mlock)),
        ("mremap", table(LINUX.names.mremap)),
    ])
}

/// The frame kinds: `[{ id, name }]`, `id` the byte `frameKindsPtr()` holds
/// for the kind (bit 7, the shared bit, aside) and `name` the spelling of
/// `FrameView.kind` and of a `frame_alloc` event's `kind`.
#[wasm_bindgen(js_name = frameKindNames, unchecked_return_type = "FrameKindName[]")]
pub fn frame_kind_names() -> JsValue {
    use vmcore::phys::FrameKind::{self, *};
    // A kind added to the core stops this compiling until it is listed below.
    const _: fn(FrameKind) = |k| match k {
        Free | Anon | Cache | PageTable | Zero | Loaned => {}
    };
    let a = js_sys::Array::new();
    for k in [Free, Anon, Cache, PageTable, Zero, Loaned] {
        a.push(&js::obj(&[
            ("id", JsValue::from(k as u8)),
            ("name", JsValue::from_str(k.name())),
        ]));
    }
    a.into()
}

/// The memory budget of this module instance: `{ total, perMachine, used,
/// machines, lost }` in frames (`used` by the `machines` live Machine
/// objects; `lost` by machines whose call died in an internal error).
#[wasm_bindgen(js_name = frameBudget, unchecked_return_type = "FrameBudget")]
pub fn frame_budget() -> JsValue {
    budget::view()
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An address, a length or another 64-bit unsigned value. In results: a
 * Number when exact, else a BigInt (a view whose 64-bit values do not all
 * fit a Number has every 64-bit value as a BigInt). */
export type U64 = number | bigint;
/** A flag argument: the raw value, or names joined by "|" ("PROT_READ|PROT_WRITE"). */
export type Flags = number | bigint | string;
/** What a system call returns. */
export type SysResult<T> =
  | { ok: true; value: T }
  | { ok: false; errno: string; code: number; reason: string };
/** What a load, store, fill or exec returns. */
export type AccessResult<T> =
  | { ok: true; value: T }
  | { ok: false; signal: "SIGSEGV" | "SIGBUS"; code: "segv_maperr" | "segv_accerr" | "bus_adrerr"; addr: number | bigint }
  | { ok: false; errno: string; code: number; reason: string };
/** Options of a new machine (all optional). */
export interface MachineOptions {
  /** Physical memory in 4 KiB frames, 1024..=262144 (4 MiB to 1 GiB; default
   * 262144). The live machines of a module instance may have 524288 frames
   * (2 GiB) together: past that the constructor throws a RangeError until
   * other machines are freed (`free()`). See `frameBudget()`. */
  frames?: number;
  /** TLB sets (a power of two, 1..=4096; default 16). */
  tlbSets?: number;
  /** TLB ways (1..=64; default 4). */
  tlbWays?: number;
  /** Record events (default true). */
  events?: boolean;
  /** Give new processes a stack mapping below the top of user space (default true). */
  stack?: boolean;
  /** The OS personality: layout, argument checks, errno and the calls on
   * offer (default "linux"). A scenario's `personality` line overrides it. */
  personality?: "linux" | "freebsd" | "netbsd";
}
/** The frames of the module's memory budget (see `frameBudget()`). */
export interface FrameBudget {
  /** Most frames all live machines may have together (524288, 2 GiB). */
  total: number;
  /** Most frames one machine may have (262144, 1 GiB). */
  perMachine: number;
  /** Frames of the live (not freed) machines. */
  used: number;
  /** Live machines. */
  machines: number;
  /** Frames of machines whose call died in an internal error (never given back). */
  lost: number;
}
/** The statuses of the raw API (`rawCodes()`): the negative fault kinds an
 * access returns, the status of an argument that is not a valid number, and
 * the op bytes of `runTrace`. */
export interface RawCodes {
  SEGV_MAPERR: -1; SEGV_ACCERR: -2; BUS_ADRERR: -3; KILLED: -4; NO_PROCESS: -5; OUT_OF_MEMORY: -6;
  BAD_ARGUMENT: -4096; LOAD: 0; STORE: 1; EXEC: 2;
}
/** Why the last raw call failed (`lastError()`). */
export type RawError =
  | Extract<AccessResult<never>, { ok: false }>
  | { ok: false; message: string };
/** One line's output, as the runner prints it. */
export interface LineOutput {
  line: number; pid: number; op: string; result: string; extra: string[];
  /** `LINE OP RESULT` and the extra lines, newline-separated. */
  text: string;
  /** How the operation failed (vmscript's `Failure`), or null when it
   * succeeded: a page styles a line as failed by this, not by its text. */
  failure: LineFailure | null;
  /** What the line worked on. */
  touched: Touched;
  /** For an `expect` line, what it checked and found; null otherwise. */
  expectation: ExpectationResult | null;
}
/** errno: a system call returned -1; signal: an access raised SIGSEGV or
 * SIGBUS; out_of_memory: no free frame for a fault; no_process. */
export type LineFailure = "errno" | "signal" | "out_of_memory" | "no_process" | "killed" | "expectation";
/** What an `expect` line checked and found (FORMAT-expect.md): `what` in
 * words, `expected` and `found` as its FAIL line prints them. */
export interface ExpectationResult { line: number; passed: boolean; what: string; expected: string; found: string }
/** Addresses `[start, end)` (`end` stops at 2^64 - 1). */
export interface Span { start: U64; end: U64 }
/** The processes and addresses a line worked on (vmscript's `Touched`).
 * `pids`: the process that ran it, then for `fork` the child it made.
 * `ranges`: mmap the range mapped (pages), or asked for when it failed;
 * mremap the old range, then the new one when it succeeded; munmap,
 * mprotect, madvise, mincore, mlock, munlock, msync, fill (ADDR, LEN) as
 * written; load, store, exec the byte at ADDR; other operations none. The
 * last range is where the line left its result. */
export interface Touched { pids: number[]; ranges: Span[] }
/** A frame kind: its byte in `frameKindsPtr()` (low bits) and its name, as
 * in `FrameView.kind` and in the `kind` of a `frame_alloc` event. */
export interface FrameKindName { id: number; name: "free" | "anon" | "cache" | "page-table" | "zero" | "loaned" }
/** What `runTextBulk` returns: the outputs without an object per line. */
export interface BulkRun {
  /** How many outputs (`output(k)` for k below it gives each as a LineOutput). */
  count: number;
  /** The first line that could not be run, or null. */
  error: { line: number; message: string } | null;
  /** Exactly what `vmplay run` prints. */
  text: string;
  /** The line number of each output. */
  lines: Uint32Array;
  /** How each output failed: 0 it did not, 1 errno, 2 signal, 3 out_of_memory, 4 no_process, 5 killed, 6 expectation. */
  failures: Uint8Array;
}
export type LineResult = { ok: true; output: LineOutput | null } | { ok: false; line: number; message: string };
/** One event: `type` (snake_case), its fields, and `text`, a narrated sentence. */
export interface VmEvent { type: string; text: string; [field: string]: unknown }
/** A map entry. A file offset past 2^53 makes every 64-bit field of the list a BigInt. */
export interface EntryView {
  start: U64; end: U64; perms: string; offset: U64; backing: string;
  flags: string[]; needs_copy: boolean;
  amap: { id: number; slotoff: U64; refs: number } | null;
  object: number | null; pages: U64;
}
/** One level of a walk. */
export interface WalkStepView { level: number; name: string; table: U64; index: number; entry: string; flags: string[]; present: boolean }
/** A page walk. An address past 2^53 (walk(1, 2n ** 64n - 1n)) makes every 64-bit field a BigInt. */
export interface WalkView { cr3: U64; va: U64; steps: WalkStepView[]; mapped: boolean; pfn: U64 | null; phys: U64 | null; huge: boolean; byte: number | null }
/** A frame (frame numbers and user addresses always fit a Number). */
export interface FrameView { pfn: number; kind: string; owner: string; mapcount: number; wired: number; dirty: boolean; referenced: boolean; mapped_by: { pid: number; va: number }[]; loans: number; borrowed_by: number[] }
/** Who holds a taken swap slot: an anonymous page (its anon, and the first
 * process and address mapping it, null when none does), or page `index` of a
 * shmem or memfd object. */
export type SwapSlotOwner =
  | { kind: "anon"; anon: number; pid: number | null; va: number | null }
  | { kind: "shmem"; object: number; index: number }
  | { kind: "none" };
/** Memory under pressure (all counts in pages). */
export interface SwapView {
  /** A swap area is on. */
  on: boolean;
  /** Usable slots (0 with no area), and slots taken. */
  size: number;
  inuse: number;
  /** Taken slots, lowest first: users are the swap entries naming it; cached, the page is also in a frame (the swap cache). */
  slots: { slot: number; users: number; cached: boolean; owner: SwapSlotOwner }[];
  /** Pages on the inactive and the active LRU list. */
  inactive: number;
  active: number;
  /** The inactive list then the active list, each oldest first. */
  lru: { pfn: number; list: "inactive" | "active"; referenced: boolean }[];
  /** The memory limit, null when none is set; the frames charged against it. */
  limit: number | null;
  usage: number;
  total_frames: number;
  free_frames: number;
}
/** The TLB (it caches user addresses only, which always fit a Number). */
export interface TlbView { sets: number; ways: number; hits: number; misses: number; entries: { set: number; way: number; asid: number; va: number; pfn: number; huge: boolean; writable: boolean; user: boolean; executable: boolean; dirty: boolean }[] }
/** A present entry of a page table. */
export interface PageTableEntryView {
  /** Its index in the table, 0..511. */
  index: number;
  /** The first virtual address it covers (canonical; upper-half addresses are BigInts). */
  va: U64;
  /** The raw 64-bit entry, "0x" and 16 hex digits. */
  entry: string;
  /** The names of its set bits, low bit first ("P", "RW", "US", ..., "NX"). */
  flags: string[];
  /** The frame it names: the next table, or the page (the first frame of a 2 MiB page). */
  pfn: number;
  /** It maps a page: a PT entry, or a PD entry with PS (a 2 MiB page). */
  leaf: boolean;
  /** A 2 MiB page (a PD entry with PS). */
  huge: boolean;
  /** The next table for a non-leaf entry, else null. */
  table: PageTableView | null;
}
/** A page-table frame and its present entries, in index order. */
export interface PageTableView {
  pfn: number;
  level: 1 | 2 | 3 | 4;
  name: "PML4" | "PDPT" | "PD" | "PT";
  /** The virtual range the table covers, first and last address (inclusive, canonical). */
  start: U64;
  last: U64;
  /** How many of its 512 entries are non-zero. */
  used: number;
  entries: PageTableEntryView[];
  /** Present entries were left out (the limit was reached). */
  truncated: boolean;
}
/** The tree of a process's page tables, from CR3 down. */
export interface PageTablesView {
  pid: number;
  cr3: number;
  /** Pages the process has mapped (4 KiB units; a 2 MiB page counts 512). */
  resident: number;
  /** Most leaf entries listed. */
  limit: number;
  /** Tables and leaf entries listed. */
  tables: number;
  leaves: number;
  /** The limit was reached: some tables or pages are not listed. */
  truncated: boolean;
  root: PageTableView;
}
"#;

/// The state one `Machine` object holds.
struct Inner {
    runner: Runner,
    /// Events already taken from the core (by the runner) but not yet by JS
    /// (at most `vmcore::event::MAX_LOGGED`; the rest are counted in `lost`).
    pending: Vec<Event>,
    lost: u64,
    /// The bytes `loadPageStates` filled, read from JS through `pageStatesPtr`.
    page_buf: Vec<u8>,
    /// Copies of the runner kept by `saveSnapshot`, by key, with the
    /// frames each had in use (what bounds their memory).
    snapshots: BTreeMap<u32, (Box<Runner>, u64)>,
    /// Why the last raw call failed (`lastError()`).
    last_error: raw::LastError,
    /// The outputs of the last `runTextBulk`, for `output(k)` (events
    /// already moved to `pending`).
    outputs: Vec<vmscript::LineOutput>,
}

/// Frames in use that the snapshots of one machine may hold together
/// (128 MiB of simulated memory): past that `saveSnapshot` declines.
pub const SNAPSHOT_FRAMES: u64 = 32_768;

impl Inner {
    fn new(cfg: MachineConfig) -> Inner {
        Inner {
            runner: Runner::new(Core::new(cfg)),
            pending: Vec::new(),
            lost: 0,
            page_buf: Vec::new(),
            snapshots: BTreeMap::new(),
            last_error: raw::LastError::None,
            outputs: Vec::new(),
        }
    }
    /// Frames in use by the machine (neither free nor never handed out).
    fn used_frames(&mut self) -> u64 {
        let p = self.m().phys();
        p.total_frames() - p.free_frames()
    }
    fn m(&mut self) -> &mut Core {
        self.runner.machine_mut()
    }
    /// Keep a line's events for `takeEvents`, within the log's bound.
    fn keep_events(&mut self, out: &mut vmscript::LineOutput) {
        let room = vmcore::event::MAX_LOGGED.saturating_sub(self.pending.len());
        if out.events.len() > room {
            self.lost += (out.events.len() - room) as u64;
            out.events.truncate(room);
        }
        self.pending.append(&mut out.events);
        self.lost += out.events_lost;
    }
}

/// A simulated machine: physical memory, a TLB, processes with their
/// address spaces and page tables, files, and a `.vms` scenario runner.
/// Process 1 (`p1`) exists from the start.
#[wasm_bindgen]
pub struct Machine {
    cfg: MachineConfig,
    inner: Cell<Option<Box<Inner>>>,
    resets: Cell<u32>,
    /// This machine's frames in the module's budget (given back on drop).
    frames: Reservation,
}

const AT_NEW: &str = "new Machine";

fn options(v: &JsValue) -> Result<MachineConfig, JsValue> {
    let mut cfg = MachineConfig::default();
    if v.is_undefined() || v.is_null() {
        return Ok(cfg);
    }
    if !v.is_object() || js_sys::Array::is_array(v) {
        return Err(type_error(format!(
            "{AT_NEW}: options must be an object, got {}",
            describe(v)
        )));
    }
    let get =
        |k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let known = [
        "frames",
        "tlbSets",
        "tlbWays",
        "events",
        "stack",
        "personality",
    ];
    for key in js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).iter() {
        let k = key.as_string().unwrap_or_default();
        if !known.contains(&k.as_str()) {
            return Err(range_error(format!(
                "{AT_NEW}: unknown option {k:?} (known: {})",
                known.join(", ")
            )));
        }
    }
    // The OS personality decides layout, argument checks and errno: the
    // core's table of personalities says which exist.
    let personality = get("personality");
    if !personality.is_undefined() {
        match personality.as_string().as_deref() {
            Some(name) if personality::by_name(name).is_some() => {
                cfg.personality = personality::by_name(name).expect("just found");
            }
            Some(other) => {
                let known: Vec<String> = personality::ALL
                    .iter()
                    .map(|p| format!("{:?}", p.name))
                    .collect();
                return Err(range_error(format!(
                    "{AT_NEW}: options.personality {other:?} is not available (known: {})",
                    known.join(", ")
                )));
            }
            None => {
                return Err(type_error(format!(
                    "{AT_NEW}: options.personality must be a string, got {}",
                    describe(&personality)
                )));
            }
        }
    }
    let frames = get("frames");
    if !frames.is_undefined() {
        let f = u64_arg(AT_NEW, "options.frames", &frames)?;
        // The core would take up to vmcore::phys::MAX_FRAMES (64 GiB), but
        // wasm32 memory ends at 4 GiB: see budget.rs.
        let max = budget::MAX_MACHINE_FRAMES.min(vmcore::phys::MAX_FRAMES);
        if !(vmcore::phys::MIN_FRAMES..=max).contains(&f) {
            return Err(range_error(format!(
                "{AT_NEW}: options.frames must be {}..={max} (4 MiB to 1 GiB: wasm32 memory \
                 ends at 4 GiB), got {f}",
                vmcore::phys::MIN_FRAMES,
            )));
        }
        cfg.frames = f;
    }
    let sets = get("tlbSets");
    if !sets.is_undefined() {
        let s = bounded(AT_NEW, "options.tlbSets", &sets, 4096)?;
        if s == 0 || !s.is_power_of_two() {
            return Err(range_error(format!(
                "{AT_NEW}: options.tlbSets must be a power of two 1..=4096, got {s}"
            )));
        }
        cfg.tlb_sets = s as usize;
    }
    let ways = get("tlbWays");
    if !ways.is_undefined() {
        let w = bounded(AT_NEW, "options.tlbWays", &ways, 64)?;
        if w == 0 {
            return Err(range_error(format!(
                "{AT_NEW}: options.tlbWays must be 1..=64, got {w}"
            )));
        }
        cfg.tlb_ways = w as usize;
    }
    cfg.events = bool_opt(AT_NEW, "options.events", &get("events"), true)?;
    cfg.stack = bool_opt(AT_NEW, "options.stack", &get("stack"), true)?;
    Ok(cfg)
}

/// Most pages one `pageStates` call may ask for (the core's own cap).
const MAX_PAGE_STATES: u64 = 1 << 20;
/// The longest scenario text or line accepted.
const MAX_TEXT: usize = 4 << 20;

impl Machine {
    /// Run `f` on the machine, taking it out of its cell for the call.
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = match self.inner.take() {
            Some(i) => i,
            None => {
                // A previous call died half-way: start again. The dead
                // machine's memory is never given back.
                self.resets.set(self.resets.get() + 1);
                self.frames.lose();
                Box::new(Inner::new(self.cfg))
            }
        };
        let r = f(&mut inner);
        self.inner.set(Some(inner));
        r
    }
}

#[wasm_bindgen]
impl Machine {
    /// A fresh machine. `options`: `{ frames, tlbSets, tlbWays, events,
    /// stack, personality }`, all optional. Throws a RangeError when its
    /// frames do not fit the module's budget beside the other live machines
    /// (`frameBudget()`); `free()` machines you no longer use.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = options, unchecked_optional_param_type = "MachineOptions | null")]
        options_value: JsValue,
    ) -> Result<Machine, JsValue> {
        let cfg = options(&options_value)?;
        let frames = Reservation::take(AT_NEW, cfg.frames)?;
        Ok(Machine {
            cfg,
            inner: Cell::new(Some(Box::new(Inner::new(cfg)))),
            resets: Cell::new(0),
            frames,
        })
    }

    /// The configuration: `{ frames, tlb_sets, tlb_ways, events, stack }`.
    #[wasm_bindgen(
        unchecked_return_type = "{ frames: number; tlb_sets: number; tlb_ways: number; events: boolean; stack: boolean }"
    )]
    pub fn config(&self) -> JsValue {
        js::to_js(&self.cfg)
    }

    /// How many times an internal error made this object start again on a
    /// fresh machine (0 unless the simulator has a bug).
    #[wasm_bindgen(getter)]
    pub fn resets(&self) -> u32 {
        self.resets.get()
    }

    /// Discard everything: a fresh machine with the same configuration.
    pub fn reset(&self) {
        self.inner.set(Some(Box::new(Inner::new(self.cfg))));
    }

    // ----- snapshots --------------------------------------------------------

    /// Keep a copy of the machine and the scenario's state under `key`
    /// (replacing one of the same key), so that `restoreSnapshot(key)` can
    /// come back to it without replaying lines. Declines (returns false)
    /// when the snapshots would hold more than `SNAPSHOT_FRAMES` frames in
    /// use together.
    #[wasm_bindgen(js_name = saveSnapshot)]
    pub fn save_snapshot(&self, key: u32) -> bool {
        self.with(|i| {
            let used = i.used_frames();
            let held: u64 = i
                .snapshots
                .iter()
                .filter(|(k, _)| **k != key)
                .map(|(_, (_, u))| u)
                .sum();
            if held + used > SNAPSHOT_FRAMES {
                return false;
            }
            let copy = Box::new(i.runner.clone());
            i.snapshots.insert(key, (copy, used));
            true
        })
    }

    /// Go back to the snapshot `key` (which stays kept): the machine and
    /// the scenario's variables and processes as they were; events not yet
    /// taken are dropped. False when there is no such snapshot.
    #[wasm_bindgen(js_name = restoreSnapshot)]
    pub fn restore_snapshot(&self, key: u32) -> bool {
        self.with(|i| {
            let Some((copy, _)) = i.snapshots.get(&key) else {
                return false;
            };
            i.runner = (**copy).clone();
            i.pending.clear();
            i.lost = 0;
            true
        })
    }

    /// Drop the snapshots whose key is `from` or more (all with 0).
    #[wasm_bindgen(js_name = dropSnapshots)]
    pub fn drop_snapshots(&self, from: u32) {
        self.with(|i| {
            i.snapshots.split_off(&from);
        })
    }

    /// The keys of the snapshots kept, in order.
    #[wasm_bindgen(js_name = snapshotKeys)]
    pub fn snapshot_keys(&self) -> Vec<u32> {
        self.with(|i| i.snapshots.keys().copied().collect())
    }

    // ----- the scenario runner -------------------------------------------

    /// Run one line of `.vms` text as line `lineno` (1-based). Returns
    /// `{ ok: true, output }` (`output` is null for a blank or comment
    /// line) or `{ ok: false, line, message }` for a line that cannot be
    /// run, which leaves the machine untouched. The line's events are kept
    /// for `takeEvents`.
    #[wasm_bindgen(js_name = execLine, unchecked_return_type = "LineResult")]
    pub fn exec_line(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] lineno: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        const AT: &str = "execLine";
        let n = bounded(AT, "lineno", &lineno, u32::MAX as u64)?;
        if n == 0 {
            return Err(range_error(format!("{AT}: lineno is 1-based, got 0")));
        }
        let text = str_arg(AT, "text", &text, MAX_TEXT)?;
        if text.contains('\n') {
            return Err(range_error(format!(
                "{AT}: text must be one line (use runText for many)"
            )));
        }
        Ok(self.with(|i| match i.runner.exec_line(n as usize, &text) {
            Ok(None) => js::obj(&[("ok", JsValue::TRUE), ("output", JsValue::NULL)]),
            Ok(Some(mut out)) => {
                i.keep_events(&mut out);
                js::obj(&[("ok", JsValue::TRUE), ("output", line_output(&out))])
            }
            Err(e) => js::obj(&[
                ("ok", JsValue::FALSE),
                ("line", JsValue::from(e.line as u32)),
                ("message", JsValue::from_str(&e.message)),
            ]),
        }))
    }

    /// Run a whole scenario text, stopping at the first line that cannot be
    /// run. Returns `{ outputs: LineOutput[], error: {line, message} | null,
    /// text, expectations }` where `text` is exactly what `vmplay run`
    /// prints and `expectations` the results of its `expect` lines, in
    /// order (an autograder's verdict: every one `passed` and `error` null).
    #[wasm_bindgen(js_name = runText, unchecked_return_type = "{ outputs: LineOutput[]; error: { line: number; message: string } | null; text: string; expectations: ExpectationResult[] }")]
    pub fn run_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = str_arg("runText", "text", &text, MAX_TEXT)?;
        Ok(self.with(|i| {
            let mut outcome = i.runner.run_text(&text);
            let printed = outcome.to_text();
            let expects = js_sys::Array::new();
            for (line, e) in outcome.expectations() {
                expects.push(&expectation(line, e));
            }
            let outs = js_sys::Array::new();
            for o in &mut outcome.outputs {
                outs.push(&line_output(o));
                i.keep_events(o);
            }
            let err = match &outcome.error {
                Some(e) => js::obj(&[
                    ("line", JsValue::from(e.line as u32)),
                    ("message", JsValue::from_str(&e.message)),
                ]),
                None => JsValue::NULL,
            };
            js::obj(&[
                ("outputs", outs.into()),
                ("error", err),
                ("text", JsValue::from_str(&printed)),
                ("expectations", expects.into()),
            ])
        }))
    }

    /// Run a whole scenario text as `runText` does, returning its outputs
    /// in bulk: `{ count, error, text, lines, failures }`, where `lines[k]`
    /// is the line number of output `k` and `failures[k]` how it failed (0
    /// it succeeded, 1 errno, 2 signal, 3 out_of_memory, 4 no_process, 5
    /// killed). No object is made per line: `output(k)` makes output `k`'s
    /// `LineOutput` (the object `runText` puts in `outputs[k]`) for the
    /// lines a page shows, until the next `runTextBulk`.
    #[wasm_bindgen(js_name = runTextBulk, unchecked_return_type = "BulkRun")]
    pub fn run_text_bulk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = str_arg("runTextBulk", "text", &text, MAX_TEXT)?;
        Ok(self.with(|i| {
            i.outputs.clear();
            let mut outcome = i.runner.run_text(&text);
            let printed = outcome.to_text();
            let n = outcome.outputs.len();
            let mut lines = Vec::with_capacity(n);
            let mut failures = Vec::with_capacity(n);
            for o in &mut outcome.outputs {
                lines.push(o.line as u32);
                failures.push(failure_byte(o.failure));
                i.keep_events(o);
            }
            let err = match &outcome.error {
                Some(e) => js::obj(&[
                    ("line", JsValue::from(e.line as u32)),
                    ("message", JsValue::from_str(&e.message)),
                ]),
                None => JsValue::NULL,
            };
            i.outputs = outcome.outputs;
            js::obj(&[
                ("count", JsValue::from(n as u32)),
                ("error", err),
                ("text", JsValue::from_str(&printed)),
                ("lines", js_sys::Uint32Array::from(&lines[..]).into()),
                ("failures", js_sys::Uint8Array::from(&failures[..]).into()),
            ])
        }))
    }

    /// Output `k` of the last `runTextBulk` as a `LineOutput`; null past
    /// the last one.
    #[wasm_bindgen(unchecked_return_type = "LineOutput | null")]
    pub fn output(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
    ) -> Result<JsValue, JsValue> {
        let k = u64_arg("output", "k", &k)?;
        Ok(self.with(|i| {
            usize::try_from(k)
                .ok()
                .and_then(|k| i.outputs.get(k))
                .map_or(JsValue::NULL, line_output)
        }))
    }

    /// The scenario's live processes by name: `[{ name: "p1", pid: 1 }, ...]`.
    #[wasm_bindgen(js_name = processNames, unchecked_return_type = "{ name: string; pid: number }[]")]
    pub fn process_names(&self) -> JsValue {
        self.with(|i| js::to_js(&i.runner.processes()))
    }

    /// The scenario's variables: `[{ name, value: { kind, value } }]`.
    #[wasm_bindgen(
        unchecked_return_type = "{ name: string; value: { kind: string; value: unknown } }[]"
    )]
    pub fn variables(&self) -> JsValue {
        self.with(|i| js::to_js(&i.runner.variables()))
    }

    // ----- events -----------------------------------------------------------

    /// Every event since the last call, oldest first: `{ events, dropped }`.
    /// With `max`, at most `max` events are returned and the rest only
    /// counted in `dropped`, as are events past the log's bound (about a
    /// million between two calls) that were never kept.
    #[wasm_bindgen(js_name = takeEvents, unchecked_return_type = "{ events: VmEvent[]; dropped: number }")]
    pub fn take_events(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] max: JsValue,
    ) -> Result<JsValue, JsValue> {
        let max = if max.is_undefined() {
            u64::MAX
        } else {
            u64_arg("takeEvents", "max", &max)?
        };
        Ok(self.with(|i| {
            let mut all = core::mem::take(&mut i.pending);
            all.append(&mut i.m().take_events());
            let lost = core::mem::take(&mut i.lost) + i.m().take_events_lost();
            let keep = (all.len() as u64).min(max) as usize;
            let out = js_sys::Array::new();
            for e in &all[..keep] {
                out.push(&js::event(e));
            }
            js::obj(&[
                ("events", out.into()),
                (
                    "dropped",
                    JsValue::from_f64((all.len() - keep) as f64 + lost as f64),
                ),
            ])
        }))
    }

    /// Switch event recording on or off (off makes long runs cheaper).
    #[wasm_bindgen(js_name = setEvents)]
    pub fn set_events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "boolean")] on: JsValue,
    ) -> Result<(), JsValue> {
        let on = on.as_bool().ok_or_else(|| {
            type_error(format!(
                "setEvents: on must be a boolean, got {}",
                describe(&on)
            ))
        })?;
        self.with(|i| i.m().events_mut().set_enabled(on));
        Ok(())
    }

    // ----- processes -------------------------------------------------------------

    /// Pids of the live processes, lowest first.
    #[wasm_bindgen(unchecked_return_type = "number[]")]
    pub fn processes(&self) -> JsValue {
        self.with(|i| js::to_js(&i.m().processes()))
    }

    /// fork(2): a copy of `pid`. Value: the child's pid. (Processes made
    /// here have no scenario name; `fork` in `.vms` text names them.)
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn fork(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("fork", &pid)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().fork(pid), JsValue::from)))
    }

    /// exit(2): the process and its address space are gone.
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn exit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("exit", &pid)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().exit(pid), |_| JsValue::from(0))))
    }

    /// `{ pid, parent, asid, cr3, resident, entries, brk }`, or null.
    #[wasm_bindgen(js_name = processView, unchecked_return_type = "{ pid: number; parent: number | null; asid: number; cr3: number; resident: number; entries: number; brk: number } | null")]
    pub fn process_view(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("processView", &pid)?;
        Ok(self.with(|i| {
            i.m()
                .process_view(pid)
                .map_or(JsValue::NULL, |v| js::to_js(&v))
        }))
    }

    // ----- memory system calls ----------------------------------------------------

    /// mmap(2). `fd` is -1 or a descriptor from `open`/`memfd`. Value: the address.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn mmap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] prot: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] flags: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] fd: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] off: JsValue,
    ) -> Result<JsValue, JsValue> {
        const AT: &str = "mmap";
        let pid = pid_arg(AT, &pid)?;
        let addr = u64_arg(AT, "addr", &addr)?;
        let len = u64_arg(AT, "len", &len)?;
        let prot = flags_arg(AT, "prot", &prot, LINUX.names.prot)?;
        let flags = flags_arg(AT, "flags", &flags, LINUX.names.map)?;
        let fd = fd_arg(AT, "fd", &fd)?;
        let off = u64_arg(AT, "off", &off)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().mmap(pid, addr, len, prot, flags, fd, off),
                js::num,
            )
        }))
    }

    /// munmap(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn munmap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("munmap", &pid, &addr, &len)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().munmap(pid, addr, len), zero)))
    }

    /// mprotect(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn mprotect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] prot: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("mprotect", &pid, &addr, &len)?;
        let prot = flags_arg("mprotect", "prot", &prot, LINUX.names.prot)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().mprotect(pid, addr, len, prot),
                zero,
            )
        }))
    }

    /// madvise(2). `advice` is a number or a name (`"MADV_DONTNEED"`).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn madvise(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] advice: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("madvise", &pid, &addr, &len)?;
        let advice = flags_arg("madvise", "advice", &advice, LINUX.names.madv)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().madvise(pid, addr, len, advice),
                zero,
            )
        }))
    }

    /// mincore(2). Value: a Uint8Array, one 0/1 per page.
    #[wasm_bindgen(unchecked_return_type = "SysResult<Uint8Array>")]
    pub fn mincore(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("mincore", &pid, &addr, &len)?;
        Ok(self.with(|i| {
            js::sys(i.m().personality(), i.m().mincore(pid, addr, len), |v| {
                js_sys::Uint8Array::from(&v[..]).into()
            })
        }))
    }

    /// mlock(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn mlock(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("mlock", &pid, &addr, &len)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().mlock(pid, addr, len), zero)))
    }

    /// mlock2(2) (`flags`: 0 or `"MLOCK_ONFAULT"`).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn mlock2(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] flags: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("mlock2", &pid, &addr, &len)?;
        let flags = flags_arg("mlock2", "flags", &flags, LINUX.names.mlock)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().mlock2(pid, addr, len, flags),
                zero,
            )
        }))
    }

    /// munlock(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn munlock(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("munlock", &pid, &addr, &len)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().munlock(pid, addr, len), zero)))
    }

    /// mlockall(2) (`"MCL_CURRENT|MCL_FUTURE"` ...).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn mlockall(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] flags: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("mlockall", &pid)?;
        let flags = flags_arg("mlockall", "flags", &flags, LINUX.names.mcl)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().mlockall(pid, flags), zero)))
    }

    /// munlockall(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn munlockall(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("munlockall", &pid)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().munlockall(pid), zero)))
    }

    /// msync(2) (`"MS_SYNC"` ...).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn msync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] flags: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (pid, addr, len) = range3("msync", &pid, &addr, &len)?;
        let flags = flags_arg("msync", "flags", &flags, LINUX.names.ms)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().msync(pid, addr, len, flags),
                zero,
            )
        }))
    }

    /// mremap(2). `newAddr` is used with MREMAP_FIXED (pass 0 otherwise). Value: the address.
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn mremap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] old: JsValue,
        #[wasm_bindgen(js_name = oldLen, unchecked_param_type = "U64")] old_len: JsValue,
        #[wasm_bindgen(js_name = newLen, unchecked_param_type = "U64")] new_len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Flags")] flags: JsValue,
        #[wasm_bindgen(js_name = newAddr, unchecked_optional_param_type = "U64")] new_addr: JsValue,
    ) -> Result<JsValue, JsValue> {
        const AT: &str = "mremap";
        let pid = pid_arg(AT, &pid)?;
        let old = u64_arg(AT, "old", &old)?;
        let old_len = u64_arg(AT, "oldLen", &old_len)?;
        let new_len = u64_arg(AT, "newLen", &new_len)?;
        let flags = flags_arg(AT, "flags", &flags, LINUX.names.mremap)?;
        let new_addr = if new_addr.is_undefined() {
            0
        } else {
            u64_arg(AT, "newAddr", &new_addr)?
        };
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().mremap(pid, old, old_len, new_len, flags, new_addr),
                js::num,
            )
        }))
    }

    /// brk(2): value is the new (or unchanged) break.
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn brk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] addr: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("brk", &pid)?;
        let addr = u64_arg("brk", "addr", &addr)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().brk(pid, addr), js::num)))
    }

    // ----- accesses -------------------------------------------------------------------

    /// A one-byte load. Value: the byte.
    #[wasm_bindgen(unchecked_return_type = "AccessResult<number>")]
    pub fn load(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("load", &pid)?;
        let va = u64_arg("load", "va", &va)?;
        Ok(self.with(|i| js::access(i.m().personality(), i.m().load(pid, va), JsValue::from)))
    }

    /// A one-byte store.
    #[wasm_bindgen(unchecked_return_type = "AccessResult<0>")]
    pub fn store(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] value: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("store", &pid)?;
        let va = u64_arg("store", "va", &va)?;
        let value = byte_arg("store", "value", &value)?;
        Ok(self.with(|i| js::access(i.m().personality(), i.m().store(pid, va, value), zero)))
    }

    /// Store `value` in `len` bytes from `va`; on a fault the bytes before
    /// it stay written.
    #[wasm_bindgen(unchecked_return_type = "AccessResult<0>")]
    pub fn fill(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] value: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("fill", &pid)?;
        let va = u64_arg("fill", "va", &va)?;
        let len = u64_arg("fill", "len", &len)?;
        let value = byte_arg("fill", "value", &value)?;
        Ok(self.with(|i| js::access(i.m().personality(), i.m().fill(pid, va, len, value), zero)))
    }

    /// An instruction fetch at `va`.
    #[wasm_bindgen(unchecked_return_type = "AccessResult<0>")]
    pub fn exec(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("exec", &pid)?;
        let va = u64_arg("exec", "va", &va)?;
        Ok(self.with(|i| js::access(i.m().personality(), i.m().exec(pid, va), zero)))
    }

    // ----- files -----------------------------------------------------------------------

    /// Create file `name` of `size` bytes (byte i = i % 251) and open it. Value: the descriptor.
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn open(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] size: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("open", &pid)?;
        let name = name_arg("open", &name)?;
        let size = u64_arg("open", "size", &size)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().open(pid, &name, size),
                JsValue::from,
            )
        }))
    }

    /// An anonymous memory file with the same content as `open` makes. Value: the descriptor.
    #[wasm_bindgen(unchecked_return_type = "SysResult<number>")]
    pub fn memfd(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] size: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("memfd", &pid)?;
        let name = name_arg("memfd", &name)?;
        let size = u64_arg("memfd", "size", &size)?;
        Ok(self.with(|i| {
            js::sys(
                i.m().personality(),
                i.m().memfd(pid, &name, size),
                JsValue::from,
            )
        }))
    }

    /// One byte of the file at `off`. Value: the byte, or null at the end of the file.
    #[wasm_bindgen(unchecked_return_type = "SysResult<number | null>")]
    pub fn pread(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] fd: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] off: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("pread", &pid)?;
        let fd = fd_arg("pread", "fd", &fd)? as i32;
        let off = u64_arg("pread", "off", &off)?;
        Ok(self.with(|i| {
            js::sys(i.m().personality(), i.m().pread(pid, fd, off), |b| {
                b.map_or(JsValue::NULL, JsValue::from)
            })
        }))
    }

    /// Write one byte of the file at `off`.
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn pwrite(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] fd: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] off: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] value: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("pwrite", &pid)?;
        let fd = fd_arg("pwrite", "fd", &fd)? as i32;
        let off = u64_arg("pwrite", "off", &off)?;
        let value = byte_arg("pwrite", "value", &value)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().pwrite(pid, fd, off, value), zero)))
    }

    /// ftruncate(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn ftruncate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] fd: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] len: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("ftruncate", &pid)?;
        let fd = fd_arg("ftruncate", "fd", &fd)? as i32;
        let len = u64_arg("ftruncate", "len", &len)?;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().ftruncate(pid, fd, len), zero)))
    }

    /// close(2).
    #[wasm_bindgen(unchecked_return_type = "SysResult<0>")]
    pub fn close(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] fd: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("close", &pid)?;
        let fd = fd_arg("close", "fd", &fd)? as i32;
        Ok(self.with(|i| js::sys(i.m().personality(), i.m().close(pid, fd), zero)))
    }

    // ----- views ----------------------------------------------------------------------------

    /// `/proc/PID/maps`: `[{ start, end, perms, offset, backing }]`, backing
    /// as the `.vms` output spells it (`anon`, `shmem`, `file:NAME`, `memfd:NAME`,
    /// `/anon_hugepage (deleted)`).
    #[wasm_bindgen(
        unchecked_return_type = "SysResult<{ start: number; end: number; perms: string; offset: U64; backing: string }[]>"
    )]
    pub fn maps(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("maps", &pid)?;
        Ok(self.with(|i| {
            js::sys(i.m().personality(), i.m().maps(pid), |lines| {
                let a = js_sys::Array::new();
                for l in lines {
                    a.push(&js::obj(&[
                        ("start", js::num(l.start)),
                        ("end", js::num(l.end)),
                        ("perms", JsValue::from_str(&l.perms)),
                        ("offset", js::num(l.offset)),
                        ("backing", JsValue::from_str(&l.backing.to_string())),
                    ]));
                }
                a.into()
            })
        }))
    }

    /// The map entries of `pid` with flags, amap and object; null if no such process.
    #[wasm_bindgen(unchecked_return_type = "EntryView[] | null")]
    pub fn entries(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("entries", &pid)?;
        Ok(self.with(|i| i.m().entries(pid).map_or(JsValue::NULL, |v| js::to_js(&v))))
    }

    /// `/proc/PID/smaps`, entry by entry (sizes in KiB); null if no such process.
    #[wasm_bindgen(unchecked_return_type = "Record<string, number | string>[] | null")]
    pub fn smaps(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("smaps", &pid)?;
        Ok(self.with(|i| i.m().smaps(pid).map_or(JsValue::NULL, |v| js::to_js(&v))))
    }

    /// Per-page state bytes of `npages` pages from `start` as a copied
    /// Uint8Array: bit 0 present, 1 writable, 2 dirty (present) or swapped
    /// (not present: the PTE holds a swap entry), 3 accessed, 4 anon page in
    /// the amap, 5 shared, 6 in a 2 MiB mapping, 7 the zero page.
    #[wasm_bindgen(js_name = pageStates)]
    pub fn page_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] start: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] npages: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let (pid, start, n) = page_args("pageStates", &pid, &start, &npages)?;
        Ok(self.with(|i| i.m().page_states(pid, start, n)))
    }

    /// The same bytes as `pageStates`, left in wasm memory: returns how
    /// many; read them at `pageStatesPtr()` (valid until the next call).
    #[wasm_bindgen(js_name = loadPageStates)]
    pub fn load_page_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] start: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] npages: JsValue,
    ) -> Result<u32, JsValue> {
        let (pid, start, n) = page_args("loadPageStates", &pid, &start, &npages)?;
        Ok(self.with(|i| {
            let v = i.runner.machine().page_states(pid, start, n);
            i.page_buf = v;
            i.page_buf.len() as u32
        }))
    }

    /// Where `loadPageStates` left its bytes (an offset into `memory().buffer`).
    #[wasm_bindgen(js_name = pageStatesPtr)]
    pub fn page_states_ptr(&self) -> usize {
        self.with(|i| i.page_buf.as_ptr() as usize)
    }

    /// The page-table walk of `va` in `pid`, every level decoded; null if no such process.
    #[wasm_bindgen(unchecked_return_type = "WalkView | null")]
    pub fn walk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("walk", &pid)?;
        let va = u64_arg("walk", "va", &va)?;
        Ok(self.with(|i| i.m().walk(pid, va).map_or(JsValue::NULL, |v| js::to_js(&v))))
    }

    /// The tree of `pid`'s page tables from CR3 down: every table frame
    /// with its present entries (raw value, decoded bits, the next table or
    /// the page frame), read out of the simulated frames. At most `limit`
    /// leaf entries are listed (default 4096, at most 2^20); past that the
    /// view and every table cut short say `truncated: true`. Null if no
    /// such process.
    #[wasm_bindgen(js_name = pageTables, unchecked_return_type = "PageTablesView | null")]
    pub fn page_tables(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] limit: JsValue,
    ) -> Result<JsValue, JsValue> {
        const AT: &str = "pageTables";
        let pid = pid_arg(AT, &pid)?;
        let limit = if limit.is_undefined() {
            tables::DEFAULT_LIMIT
        } else {
            bounded(AT, "limit", &limit, tables::MAX_LIMIT)?
        };
        Ok(self.with(|i| tables::page_tables(i.runner.machine(), pid, limit)))
    }

    /// Physical frames in the machine.
    #[wasm_bindgen(js_name = frameCount)]
    pub fn frame_count(&self) -> u32 {
        self.with(|i| i.m().frame_kinds().len() as u32)
    }

    /// Where the frame-kind bytes are (an offset into `memory().buffer`;
    /// `frameCount()` bytes): 0 free, 1 anon, 2 page cache, 3 page table,
    /// 4 zero page; bit 7 set while more than one PTE maps the frame. Build
    /// the Uint8Array again for every redraw.
    #[wasm_bindgen(js_name = frameKindsPtr)]
    pub fn frame_kinds_ptr(&self) -> usize {
        self.with(|i| i.m().frame_kinds().as_ptr() as usize)
    }

    /// The frame-kind bytes, copied.
    #[wasm_bindgen(js_name = frameKinds)]
    pub fn frame_kinds(&self) -> Vec<u8> {
        self.with(|i| i.m().frame_kinds().to_vec())
    }

    /// One frame's descriptor and who maps it; null past the last frame.
    #[wasm_bindgen(unchecked_return_type = "FrameView | null")]
    pub fn frame(
        &self,
        #[wasm_bindgen(unchecked_param_type = "U64")] pfn: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pfn = u64_arg("frame", "pfn", &pfn)?;
        Ok(self.with(|i| i.m().frame(pfn).map_or(JsValue::NULL, |v| js::to_js(&v))))
    }

    /// Frames by kind: `{ total, free, anon, cache, page_table, zero }`.
    #[wasm_bindgen(js_name = framesSummary, unchecked_return_type = "{ total: number; free: number; anon: number; cache: number; page_table: number; zero: number }")]
    pub fn frames_summary(&self) -> JsValue {
        self.with(|i| js::to_js(&i.m().frames_summary()))
    }

    /// Memory under pressure: the swap area's taken slots with their users,
    /// swap-cache state and owner; the LRU lists of anonymous pages (the
    /// inactive list then the active one, oldest first) with each page's
    /// referenced bit; the memory limit and the frames charged against it.
    /// `maxSlots` and `maxPages` (default 4096 each) bound the two lists;
    /// the counts are always whole.
    #[wasm_bindgen(js_name = swapView, unchecked_return_type = "SwapView")]
    pub fn swap_view(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] max_slots: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] max_pages: JsValue,
    ) -> Result<JsValue, JsValue> {
        let bound = |v: &JsValue, name| -> Result<usize, JsValue> {
            if v.is_undefined() {
                return Ok(4096);
            }
            let n = u64_arg("swapView", name, v)?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        };
        let (slots, pages) = (
            bound(&max_slots, "maxSlots")?,
            bound(&max_pages, "maxPages")?,
        );
        Ok(self.with(|i| js::to_js(&i.m().swap_view(slots, pages))))
    }

    /// The TLB: geometry, hit and miss counters, and every valid entry.
    #[wasm_bindgen(unchecked_return_type = "TlbView")]
    pub fn tlb(&self) -> JsValue {
        self.with(|i| js::to_js(&i.m().tlb_view()))
    }

    /// The amap of the entry holding `va`, slot by slot; null when none.
    /// `anons` is how many slots hold an anon. With `limit`, `slots` holds
    /// only the first `limit` of them, and the one of slot `slot` if there
    /// is one (a 1 GiB amap has 262,144: a viewer shows a few).
    #[wasm_bindgen(
        unchecked_return_type = "{ id: number; refs: number; nslots: number; slotoff: number; needs_copy: boolean; anons: number; slots: { slot: number; anon: number; anon_refs: number; pfn: number }[] } | null"
    )]
    pub fn amap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] pid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "U64")] va: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] limit: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] slot: JsValue,
    ) -> Result<JsValue, JsValue> {
        let pid = pid_arg("amap", &pid)?;
        let va = u64_arg("amap", "va", &va)?;
        let limit = if limit.is_undefined() {
            None
        } else {
            Some(u64_arg("amap", "limit", &limit)?)
        };
        let slot = if slot.is_undefined() {
            None
        } else {
            Some(u64_arg("amap", "slot", &slot)?)
        };
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        Ok(self.with(|i| {
            let Some((v, anons)) = i.m().amap_view_some(pid, va, limit, slot) else {
                return JsValue::NULL;
            };
            let out = js::to_js(&v);
            let _ = js_sys::Reflect::set(
                &out,
                &JsValue::from_str("anons"),
                &JsValue::from(anons as f64),
            );
            out
        }))
    }

    /// Check every invariant of the machine: null when all hold, else what broke.
    #[wasm_bindgen(unchecked_return_type = "string | null")]
    pub fn check(&self) -> JsValue {
        self.with(|i| match i.m().check() {
            Ok(()) => JsValue::NULL,
            Err(e) => JsValue::from_str(&e),
        })
    }

    /// For tests of the recovery path only: panic inside a call.
    #[doc(hidden)]
    #[wasm_bindgen(js_name = __panicForTest)]
    pub fn panic_for_test(&self) {
        self.with(|_| panic!("deliberate panic (Machine.__panicForTest)"));
    }
}

fn zero(_: ()) -> JsValue {
    JsValue::from(0)
}

fn range3(
    at: &str,
    pid: &JsValue,
    addr: &JsValue,
    len: &JsValue,
) -> Result<(u32, u64, u64), JsValue> {
    Ok((
        pid_arg(at, pid)?,
        u64_arg(at, "addr", addr)?,
        u64_arg(at, "len", len)?,
    ))
}

fn page_args(
    at: &str,
    pid: &JsValue,
    start: &JsValue,
    n: &JsValue,
) -> Result<(u32, u64, u64), JsValue> {
    let pid = pid_arg(at, pid)?;
    let start = u64_arg(at, "start", start)?;
    let n = bounded(at, "npages", n, MAX_PAGE_STATES)?;
    Ok((pid, start, n))
}

fn line_output(o: &vmscript::LineOutput) -> JsValue {
    let extra = js_sys::Array::new();
    for l in &o.extra {
        extra.push(&JsValue::from_str(l));
    }
    js::obj(&[
        ("line", JsValue::from(o.line as u32)),
        ("pid", JsValue::from(o.pid)),
        ("op", JsValue::from_str(o.op)),
        ("result", JsValue::from_str(&o.result)),
        ("extra", extra.into()),
        ("text", JsValue::from_str(&o.to_string())),
        ("failure", failure(o.failure)),
        ("touched", touched(&o.touched)),
        (
            "expectation",
            o.expectation
                .as_ref()
                .map_or(JsValue::NULL, |e| expectation(o.line, e)),
        ),
    ])
}

/// An `ExpectationResult`.
fn expectation(line: usize, e: &vmscript::Expectation) -> JsValue {
    js::obj(&[
        ("line", JsValue::from(line as u32)),
        ("passed", JsValue::from_bool(e.passed)),
        ("what", JsValue::from_str(&e.what)),
        ("expected", JsValue::from_str(&e.expected)),
        ("found", JsValue::from_str(&e.found)),
    ])
}

/// The byte `runTextBulk` gives a line's failure: 0 none, then
/// `LineFailure` in the order of its type.
fn failure_byte(f: Option<vmscript::Failure>) -> u8 {
    use vmscript::Failure;
    match f {
        None => 0,
        Some(Failure::Errno) => 1,
        Some(Failure::Signal) => 2,
        Some(Failure::OutOfMemory) => 3,
        Some(Failure::NoProcess) => 4,
        Some(Failure::Killed) => 5,
        Some(Failure::Expectation) => 6,
    }
}

/// A `LineFailure` string, or null.
fn failure(f: Option<vmscript::Failure>) -> JsValue {
    use vmscript::Failure;
    match f {
        None => JsValue::NULL,
        Some(Failure::Errno) => JsValue::from_str("errno"),
        Some(Failure::Signal) => JsValue::from_str("signal"),
        Some(Failure::OutOfMemory) => JsValue::from_str("out_of_memory"),
        Some(Failure::NoProcess) => JsValue::from_str("no_process"),
        Some(Failure::Killed) => JsValue::from_str("killed"),
        Some(Failure::Expectation) => JsValue::from_str("expectation"),
    }
}

/// `{ pids, ranges: [{ start, end }] }` (addresses as `U64`).
fn touched(t: &vmscript::Touched) -> JsValue {
    let pids = js_sys::Array::new();
    for &p in &t.pids {
        pids.push(&JsValue::from(p));
    }
    let ranges = js_sys::Array::new();
    for r in &t.ranges {
        ranges.push(&js::obj(&[
            ("start", js::num(r.start)),
            ("end", js::num(r.end)),
        ]));
    }
    js::obj(&[("pids", pids.into()), ("ranges", ranges.into())])
}
