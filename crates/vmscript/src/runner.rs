//! Running scenarios: one [`Runner`] owns a [`Machine`] and the scenario's
//! state (variables, process names, files created) and executes one line at
//! a time, as the recorder does.

use crate::error::ScriptError;
use crate::expect::{self, Check, EventTally, Expect, Expectation, LineRef};
use crate::parse::{
    self, ARENA, ARENA_END, Arg, ArgKind, Binds, Expr, FdRef, Header, Op, Term, format_addr,
};
use crate::swapfmt;
use core::fmt;
use serde::Serialize;
use serde::ser::SerializeStruct;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use vmcore::{AccessError, Event, Fd, Machine, MachineConfig, PAGE_SIZE, Pid, SysError};

/// What one executed line printed, and the events it caused.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct LineOutput {
    /// The 1-based line number.
    pub line: usize,
    /// The simulated process that executed it.
    pub pid: Pid,
    /// The operation's name.
    pub op: &'static str,
    /// The result as printed after the operation's name.
    pub result: String,
    /// Further output lines (those of `maps`), each indented by two blanks.
    pub extra: Vec<String>,
    /// How the operation failed, when it did (`None`: it succeeded). A
    /// viewer styles the line by this, never by reading `result`.
    pub failure: Option<Failure>,
    /// What the machine recorded while running the line.
    pub events: Vec<Event>,
    /// Events the line caused beyond what the log holds
    /// (`vmcore::event::MAX_LOGGED`), counted but not kept.
    pub events_lost: u64,
    /// The processes and addresses the line worked on, so that a viewer
    /// can point at them without reading the line again.
    pub touched: Touched,
    /// For an `expect` line, what it checked and found.
    pub expectation: Option<Expectation>,
}

/// How a line's operation failed. The line still ran (unlike a
/// [`ScriptError`]): its result is the failure, as the kernel reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// A system call returned -1 with errno (`-ENOMEM`).
    Errno,
    /// An access raised a signal (`SIGSEGV`, `SIGBUS`).
    Signal,
    /// No free frame for a fault: the access did not happen.
    OutOfMemory,
    /// The process does not exist.
    NoProcess,
    /// The OOM killer killed the process during the line (`killed`).
    Killed,
    /// An `expect` line found something else than it expected (`FAIL`).
    Expectation,
}

impl Failure {
    fn of_access(e: &AccessError) -> Failure {
        match e {
            AccessError::Signal(_) => Failure::Signal,
            AccessError::OutOfMemory => Failure::OutOfMemory,
            AccessError::NoProcess(_) => Failure::NoProcess,
            AccessError::Killed => Failure::Killed,
        }
    }
}

/// Addresses `[start, end)`; `end` saturates at 2^64 - 1 when `start + len`
/// would not fit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    /// The `len` bytes from `start`.
    pub fn at(start: u64, len: u64) -> Span {
        Span {
            start,
            end: start.saturating_add(len),
        }
    }
}

/// What one line worked on: its processes and the address ranges it named
/// or mapped.
///
/// | operation | `pids` | `ranges` |
/// |---|---|---|
/// | `mmap` | the process | the range mapped (length rounded up to pages); when the call failed, the range asked for (`ADDR`, `LEN`) |
/// | `mremap` | the process | the old range (`OLD`, `OLDLEN`), then, when the call succeeded, the new one (length rounded up to pages) |
/// | `munmap` `mprotect` `madvise` `mincore` `mlock` `munlock` `msync` | the process | `ADDR`, `LEN` as written |
/// | `fill` | the process | `ADDR`, `LEN` |
/// | `load` `store` `exec` | the process | the byte at `ADDR` |
/// | `fork` | the parent, then the child when one was made | none |
/// | any other (`exit`, `maps`, files, `mlockall`) | the process | none |
/// | `pagemap` | the process | `ADDR`, `LEN` |
/// | `smaps` `faults` | the process | none |
/// | `swapon` `swapoff` `memlimit` `swapped` `procs` (the machine's) | none (`pid` 0 in [`LineOutput`]) | none |
/// | any line of a process the OOM killer killed (prints `killed`) | the process | none |
///
/// The last range is where the line left its result: the new place of a
/// moved mapping.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct Touched {
    pub pids: Vec<Pid>,
    pub ranges: Vec<Span>,
}

impl Touched {
    /// What a line of `op` with arguments `a`, run by `pid`, worked on.
    fn of(pid: Pid, op: Op, a: &[Val], bound: &Bound) -> Touched {
        let n = |i: usize| a.get(i).map_or(0, Val::num);
        let pages = |len: u64| len.checked_next_multiple_of(PAGE_SIZE).unwrap_or(u64::MAX);
        let ranges = match op {
            Op::Mmap => vec![match bound.mapped {
                Some(addr) => Span::at(addr, pages(n(1))),
                None => Span::at(n(0), n(1)),
            }],
            Op::Mremap => {
                let mut v = vec![Span::at(n(0), n(1))];
                v.extend(bound.mapped.map(|addr| Span::at(addr, pages(n(2)))));
                v
            }
            Op::Munmap
            | Op::Mprotect
            | Op::Madvise
            | Op::Mincore
            | Op::Mlock
            | Op::Munlock
            | Op::Msync
            | Op::Mincorex
            | Op::Minherit
            | Op::Fill => vec![Span::at(n(0), n(1))],
            Op::Load | Op::Store | Op::Exec => vec![Span::at(n(0), 1)],
            Op::Mlockall
            | Op::Munlockall
            | Op::Fork
            | Op::Exit
            | Op::Open
            | Op::Memfd
            | Op::Pread
            | Op::Pwrite
            | Op::Ftruncate
            | Op::Close
            | Op::Maps => Vec::new(),
            Op::Pagemap => vec![Span::at(n(0), n(1))],
            Op::Swapon
            | Op::Swapoff
            | Op::Memlimit
            | Op::Swapped
            | Op::Procs
            | Op::Smaps
            | Op::Faults
            | Op::Personality
            | Op::Setrlimit
            | Op::Brk
            | Op::Sbrk
            | Op::Loanread
            | Op::Unloan => Vec::new(),
            Op::Loan => vec![Span::at(n(0), n(1))],
        };
        let mut pids = vec![pid];
        pids.extend(bound.child);
        Touched { pids, ranges }
    }
}

impl fmt::Display for LineOutput {
    /// The output lines of FORMAT.md, without a final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.line, self.op, self.result)?;
        for l in &self.extra {
            write!(f, "\n{l}")?;
        }
        Ok(())
    }
}

/// The result of running a whole text.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct RunOutcome {
    /// The output of every line run, in order.
    pub outputs: Vec<LineOutput>,
    /// The line that stopped the run, if one could not be parsed.
    pub error: Option<ScriptError>,
}

impl RunOutcome {
    /// The results of the `expect` lines that ran, in order.
    pub fn expectations(&self) -> impl Iterator<Item = (usize, &Expectation)> {
        self.outputs
            .iter()
            .filter_map(|o| o.expectation.as_ref().map(|e| (o.line, e)))
    }

    /// The text the runner prints: every output line, then the error line.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for o in &self.outputs {
            s.push_str(&o.to_string());
            s.push('\n');
        }
        if let Some(e) = &self.error {
            s.push_str(&e.to_string());
            s.push('\n');
        }
        s
    }
}

/// A descriptor held by a variable: the number in the process that opened
/// it and the identity of its open file description.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Descriptor {
    pub fd: Fd,
    /// `Machine::open_file_serial`.
    pub file: u64,
}

/// The value of a scenario variable.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// Bound by `mmap`/`mremap`: the address, or -ERRNO as a 64-bit
    /// two's-complement number when the call failed.
    Address(u64),
    /// Bound by `open`/`memfd`; `None` when the call failed (a descriptor
    /// that no process has).
    Descriptor(Option<Descriptor>),
    /// Bound by `loan` (NetBSD); `None` when the loan failed.
    Loan(Option<vmcore::LoanId>),
}

/// A variable as views list it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Variable {
    pub name: String,
    pub value: Value,
}

/// A live scenario process and its simulated pid.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ProcessName {
    pub name: String,
    pub pid: Pid,
}

/// Runs scenario lines against one machine.
///
/// `Serialize` writes the scenario's state (processes, variables, files
/// created), not the machine. A clone is an independent copy of both (a
/// viewer keeps clones as snapshots to step back without replaying).
#[derive(Clone)]
pub struct Runner {
    machine: Machine,
    /// Live processes: number of the name `pN` -> pid.
    procs: BTreeMap<u32, Pid>,
    vars: BTreeMap<String, Value>,
    /// Names passed to `open` so far (each may be created once).
    files: BTreeSet<String>,
    /// A line other than a blank or a comment has been run (after which a
    /// `personality` line is an error).
    started: bool,
    /// Processes the OOM killer killed: number of the name -> pid. Their
    /// lines print `killed`; their names stay taken.
    killed: BTreeMap<u32, Pid>,
    /// Whether the OOM killer killed a process: `Machine::oom_killed`
    /// unless a test replaced it ([`Runner::set_oom_probe`]).
    oom_probe: Option<OomProbe>,
    /// What the lines run so far printed and caused, for `expect`.
    history: History,
}

/// What one executed line left for the `expect` lines after it.
#[derive(Clone, Debug)]
struct LineRecord {
    line: usize,
    result: String,
    /// The events it caused, counted; `None` when they were not all
    /// recorded (events off, or more than the log keeps).
    events: Option<EventTally>,
}

/// The lines run so far, with the labels and bindings that name them.
///
/// A runner is cloned for every snapshot a viewer keeps, so the records
/// are kept in sealed chunks that clones share (`Arc`), and only the open
/// chunk is copied.
#[derive(Clone, Debug, Default)]
struct History {
    sealed: Vec<Arc<Vec<LineRecord>>>,
    open: Vec<LineRecord>,
    /// `@label` -> the last line that carried it.
    labels: BTreeMap<String, usize>,
    /// `$VAR` -> the last line that bound it.
    bound_by: BTreeMap<String, usize>,
    /// The last line run (not an `expect`).
    last: Option<usize>,
}

impl History {
    const CHUNK: usize = 256;

    fn push(&mut self, r: LineRecord) {
        self.last = Some(r.line);
        self.open.push(r);
        if self.open.len() == Self::CHUNK {
            let full = core::mem::replace(&mut self.open, Vec::with_capacity(Self::CHUNK));
            self.sealed.push(Arc::new(full));
        }
    }

    /// The latest run of line `n`.
    fn find(&self, n: usize) -> Option<&LineRecord> {
        self.open.iter().rev().find(|r| r.line == n).or_else(|| {
            self.sealed
                .iter()
                .rev()
                .find_map(|c| c.iter().rev().find(|r| r.line == n))
        })
    }

    /// The line a reference names, or why it names none.
    fn resolve(&self, r: &LineRef) -> Result<usize, String> {
        match r {
            LineRef::Number(n) => Ok(*n),
            LineRef::Label(l) => self
                .labels
                .get(l)
                .copied()
                .ok_or_else(|| format!("no line labelled @{l} has run")),
            LineRef::Var(v) => self
                .bound_by
                .get(v)
                .copied()
                .ok_or_else(|| format!("no line has bound ${v}")),
            LineRef::Last => self.last.ok_or_else(|| "no line has run yet".to_string()),
        }
    }
}

/// A replacement for `Machine::oom_killed` ([`Runner::set_oom_probe`]).
pub type OomProbe = std::sync::Arc<dyn Fn(&Machine, Pid) -> bool + Send + Sync>;

impl Default for Runner {
    fn default() -> Self {
        Runner::new(Machine::new(MachineConfig::reference()))
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("procs", &self.procs)
            .field("vars", &self.vars)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Serialize for Runner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Runner", 3)?;
        st.serialize_field("processes", &self.processes())?;
        st.serialize_field("variables", &self.variables())?;
        st.serialize_field("files", &self.files)?;
        st.end()
    }
}

/// A resolved argument.
#[derive(Clone, Debug)]
enum Val {
    Num(u64),
    Fd(i64),
    Name(String),
    Proc(u32),
    Rlim(Option<u64>),
    Mode(vmcore::Access),
    Loan(vmcore::LoanId),
}

impl Val {
    fn num(&self) -> u64 {
        match *self {
            Val::Num(v) => v,
            _ => 0,
        }
    }
    fn fd(&self) -> i64 {
        match *self {
            Val::Fd(v) => v,
            _ => -1,
        }
    }
    fn byte(&self) -> u8 {
        // Byte arguments are checked to be at most 255 when parsed.
        self.num() as u8
    }
}

fn errno_text(e: &SysError) -> String {
    format!("-{}", e.errno.name())
}

fn rc_text(r: Result<(), SysError>) -> String {
    match r {
        Ok(()) => "0".to_string(),
        Err(e) => errno_text(&e),
    }
}

fn access_text(e: &AccessError) -> String {
    match e {
        AccessError::Signal(s) => s.name().to_string(),
        // Not in the recorded format: the kernel would not return at all.
        other => other.to_string(),
    }
}

/// The raw value a failed system call leaves in a variable: -errno.
fn neg_errno(m: &Machine, e: &SysError) -> u64 {
    (-i64::from(m.personality().errno_number(e.errno))) as u64
}

impl Runner {
    /// A runner over `machine`, whose process 1 is `p1`.
    pub fn new(machine: Machine) -> Runner {
        let mut procs = BTreeMap::new();
        if machine.is_alive(1) {
            procs.insert(1, 1);
        }
        Runner {
            machine,
            procs,
            vars: BTreeMap::new(),
            files: BTreeSet::new(),
            started: false,
            killed: BTreeMap::new(),
            oom_probe: None,
            history: History::default(),
        }
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }

    /// Give the machine back.
    pub fn into_machine(self) -> Machine {
        self.machine
    }

    /// The live processes by name (`p1` ...), in order of their numbers.
    pub fn process_names(&self) -> Vec<(String, Pid)> {
        self.procs
            .iter()
            .filter(|&(_, &pid)| self.machine.is_alive(pid))
            .map(|(n, &pid)| (format!("p{n}"), pid))
            .collect()
    }

    /// The same as [`Runner::process_names`], as serializable records.
    pub fn processes(&self) -> Vec<ProcessName> {
        self.process_names()
            .into_iter()
            .map(|(name, pid)| ProcessName { name, pid })
            .collect()
    }

    /// The pid of a live process name (`p2`).
    pub fn pid_of(&self, name: &str) -> Option<Pid> {
        let n = parse::parse_procname(name).ok()?;
        self.live(n)
    }

    /// The name of a live process's pid.
    pub fn name_of(&self, pid: Pid) -> Option<String> {
        self.process_names()
            .into_iter()
            .find(|&(_, p)| p == pid)
            .map(|(n, _)| n)
    }

    /// A variable's value (`name` without `$`).
    pub fn variable(&self, name: &str) -> Option<Value> {
        self.vars.get(name).copied()
    }

    /// Every variable, by name.
    pub fn variables(&self) -> Vec<Variable> {
        self.vars
            .iter()
            .map(|(n, &v)| Variable {
                name: n.clone(),
                value: v,
            })
            .collect()
    }

    fn live(&self, n: u32) -> Option<Pid> {
        self.procs
            .get(&n)
            .copied()
            .filter(|&pid| self.machine.is_alive(pid))
    }

    /// Run every line of `text`, stopping at the first that cannot be parsed.
    pub fn run_text(&mut self, text: &str) -> RunOutcome {
        let mut out = RunOutcome::default();
        for (lineno, line) in parse::script_lines(text) {
            match self.exec_line(lineno, line) {
                Ok(Some(o)) => out.outputs.push(o),
                Ok(None) => {}
                Err(e) => {
                    out.error = Some(e);
                    break;
                }
            }
        }
        out
    }

    /// Run one line. `Ok(None)` for a blank or comment line; an error of the
    /// line leaves the machine and the scenario untouched.
    pub fn exec_line(
        &mut self,
        lineno: usize,
        line: &str,
    ) -> Result<Option<LineOutput>, ScriptError> {
        let err = |message: String| ScriptError {
            line: lineno,
            message,
        };
        if line.contains(expect::EXPECT)
            && let Some(x) = expect::parse_expect(line).map_err(err)?
        {
            let out = self.exec_expect(lineno, &x)?;
            self.started = true;
            return Ok(Some(out));
        }
        let Some(h) = parse::parse_header_in(line, self.machine.personality()).map_err(err)? else {
            return Ok(None);
        };
        let first = !self.started;
        self.started = true;
        if h.op == Op::Personality {
            return self.exec_personality(lineno, &h, first).map(Some);
        }
        let num = h.proc.unwrap_or(1);
        if h.op.in_machine() || self.killed.contains_key(&num) {
            let out = self.exec_v2_line(lineno, &h)?;
            self.remember(&out, line, None);
            return Ok(Some(out));
        }
        let pid = self
            .live(num)
            .ok_or_else(|| err(format!("no process p{num}")))?;
        let vals = self.resolve(&h, pid).map_err(err)?;
        let (mut result, mut extra, mut failure, mut bound) = self.execute(pid, h.op, &vals);
        // Version 2: the OOM killer may have killed processes during the
        // line; when it killed this one, the line prints `killed` and binds
        // nothing.
        if self.reap_killed().contains(&num) {
            result = swapfmt::KILLED.to_string();
            extra.clear();
            failure = Some(Failure::Killed);
            bound = Bound {
                child: bound.child.filter(|&c| self.machine.is_alive(c)),
                ..Bound::default()
            };
        }
        let touched = Touched::of(pid, h.op, &vals, &bound);
        if let (Some(&Val::Proc(n)), Some(child)) = (vals.first(), bound.child) {
            self.procs.insert(n, child);
        }
        if h.op == Op::Exit && !self.machine.is_alive(pid) {
            self.procs.remove(&num);
        }
        let binding = h.bind.filter(|_| !self.killed.contains_key(&num));
        if let Some(name) = binding {
            let value = match h.op.binds() {
                Binds::Descriptor => Value::Descriptor(bound.descriptor),
                Binds::Loan => Value::Loan(bound.loan),
                _ => Value::Address(bound.raw),
            };
            self.vars.insert(name.to_string(), value);
        }
        let events = self.machine.take_events();
        let events_lost = self.machine.take_events_lost();
        let out = LineOutput {
            line: lineno,
            pid,
            op: h.op.name(),
            result,
            extra,
            failure,
            events,
            events_lost,
            touched,
            expectation: None,
        };
        self.remember(&out, line, binding);
        Ok(Some(out))
    }

    /// Keep what a line printed and caused for the `expect` lines after it.
    fn remember(&mut self, out: &LineOutput, line: &str, binding: Option<&str>) {
        let complete = self.machine.events_mut().enabled() && out.events_lost == 0;
        self.history.push(LineRecord {
            line: out.line,
            result: out.result.clone(),
            events: complete.then(|| EventTally::of(&out.events)),
        });
        if let Some(label) = expect::line_label(line) {
            self.history.labels.insert(label.to_string(), out.line);
        }
        if let Some(name) = binding {
            self.history.bound_by.insert(name.to_string(), out.line);
        }
    }

    /// Run an `expect` line: check, and print `pass` or `FAIL ...`. Its
    /// own looking (a `mincore`) leaves no events behind. An error of the
    /// line (a line not run, an undefined variable, no such process)
    /// leaves everything untouched.
    fn exec_expect(&mut self, lineno: usize, x: &Expect) -> Result<LineOutput, ScriptError> {
        let err = |message: String| ScriptError {
            line: lineno,
            message,
        };
        let pid = if x.check.in_process() {
            let num = x.proc.unwrap_or(1);
            self.live(num)
                .ok_or_else(|| err(format!("no process p{num}")))?
        } else {
            0
        };
        let before = self.machine.take_events();
        let checked = self.check_expectation(pid, &x.check);
        let _ = self.machine.take_events();
        for e in before {
            self.machine.events_mut().push(e);
        }
        let (e, ranges) = checked.map_err(err)?;
        Ok(LineOutput {
            line: lineno,
            pid,
            op: expect::EXPECT,
            result: e.result_text(),
            extra: Vec::new(),
            failure: (!e.passed).then_some(Failure::Expectation),
            events: Vec::new(),
            events_lost: 0,
            touched: Touched {
                pids: if pid == 0 { Vec::new() } else { vec![pid] },
                ranges,
            },
            expectation: Some(e),
        })
    }

    /// Evaluate one check: what it found, and the range it looked at.
    fn check_expectation(
        &mut self,
        pid: Pid,
        check: &Check,
    ) -> Result<(Expectation, Vec<Span>), String> {
        let verdict = |passed: bool, what: String, expected: String, found: String| Expectation {
            passed,
            what,
            expected,
            found,
        };
        let record = |r: &LineRef| -> Result<(usize, &LineRecord), String> {
            let n = self.history.resolve(r)?;
            let rec = self
                .history
                .find(n)
                .ok_or_else(|| format!("line {n} has not run an operation"))?;
            Ok((n, rec))
        };
        Ok(match check {
            Check::Result { line, text } => {
                let (n, rec) = record(line)?;
                let e = verdict(
                    rec.result == *text,
                    format!("line {n} result"),
                    text.clone(),
                    rec.result.clone(),
                );
                (e, Vec::new())
            }
            Check::Events { line, counts } => {
                let (n, rec) = record(line)?;
                let Some(tally) = &rec.events else {
                    return Err(format!(
                        "the events of line {n} were not all recorded (events off, or too many)"
                    ));
                };
                let (passed, expected, found) = expect::compare_counts(counts, |k| tally.get(k));
                (
                    verdict(passed, format!("line {n} events"), expected, found),
                    Vec::new(),
                )
            }
            Check::Frames { counts } => {
                let m = &self.machine;
                let s = m.frames_summary();
                let swapped = m.swapped();
                let (passed, expected, found) = expect::compare_counts(counts, |k| match k {
                    "free" => s.free,
                    "used" => s.total - s.free,
                    "anon" => s.anon,
                    "cache" => s.cache,
                    "page-table" => s.page_table,
                    "zero" => s.zero,
                    "swapped" => swapped,
                    _ => 0,
                });
                (
                    verdict(passed, "frames".to_string(), expected, found),
                    Vec::new(),
                )
            }
            Check::Mincore { addr, len, bits } => {
                let (addr, len) = (self.eval(addr)?, self.eval(len)?);
                let found = match self.machine.mincore(pid, addr, len) {
                    Ok(v) => v
                        .iter()
                        .map(|&b| if b & 1 != 0 { '1' } else { '0' })
                        .collect(),
                    Err(e) => errno_text(&e),
                };
                let pages = len.div_ceil(PAGE_SIZE);
                let e = verdict(
                    found == *bits,
                    format!("mincore of {pages} pages at {addr:#x}"),
                    bits.clone(),
                    found,
                );
                (e, vec![Span::at(addr, len)])
            }
            Check::Entry {
                addr,
                perms,
                backing,
            } => {
                let addr = self.eval(addr)?;
                let lines = self.machine.maps(pid).map_err(|e| errno_text(&e))?;
                let at = lines.iter().find(|l| l.start <= addr && addr < l.end);
                let found = match at {
                    None => "no entry".to_string(),
                    Some(l) => format!("{} {} {:#x}-{:#x}", l.perms, l.backing, l.start, l.end),
                };
                let (passed, expected) = match (perms, at) {
                    (None, at) => (at.is_none(), "no entry".to_string()),
                    (Some(p), None) => (false, words(p, backing)),
                    (Some(p), Some(l)) => (
                        l.perms == *p
                            && backing.as_ref().is_none_or(|b| *b == l.backing.to_string()),
                        words(p, backing),
                    ),
                };
                (
                    verdict(passed, format!("entry at {addr:#x}"), expected, found),
                    vec![Span::at(addr, 1)],
                )
            }
            Check::Entries { count } => {
                let lines = self.machine.maps(pid).map_err(|e| errno_text(&e))?;
                let n = lines
                    .iter()
                    .filter(|l| l.start < ARENA_END && l.end > ARENA)
                    .count() as u64;
                (
                    verdict(
                        n == *count,
                        "entries in the arena".to_string(),
                        count.to_string(),
                        n.to_string(),
                    ),
                    Vec::new(),
                )
            }
            Check::Pte { addr, bits } => {
                let addr = self.eval(addr)?;
                let w = self.machine.walk(pid, addr).map_err(|e| errno_text(&e))?;
                // The last entry the walk read: the leaf, or the first
                // entry that was not present.
                let last = w.steps.last();
                let flags: Vec<&str> = last.map_or_else(Vec::new, |s| s.flags.clone());
                let empty = last.is_none_or(|s| u64::from_str_radix(&s.entry[2..], 16) == Ok(0));
                let found = if empty {
                    "none".to_string()
                } else {
                    let name = last.map_or("", |s| s.name);
                    format!("{} ({name})", flags.join(" "))
                };
                let (passed, expected) = if bits.is_empty() {
                    (empty, "none".to_string())
                } else {
                    let ok = |b: &expect::PteBit| flags.contains(&b.name) == b.set;
                    let shown = bits
                        .iter()
                        .map(|b| {
                            if b.set {
                                b.name.to_string()
                            } else {
                                format!("!{}", b.name)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    (!empty && bits.iter().all(ok), shown)
                };
                (
                    verdict(passed, format!("pte for {addr:#x}"), expected, found),
                    vec![Span::at(addr, 1)],
                )
            }
        })
    }

    /// Resolve the arguments in order, as the recorder does: each is parsed
    /// and then looked up before the next.
    fn resolve(&self, h: &Header<'_>, pid: Pid) -> Result<Vec<Val>, String> {
        let mut vals = Vec::with_capacity(h.args.len());
        for (&kind, tok) in h.op.args().iter().zip(&h.args) {
            let v = match parse::parse_arg_in(kind, tok, &self.machine.personality().names)? {
                Arg::Expr(e) => Val::Num(self.eval(&e)?),
                Arg::Flags(v) => Val::Num(v),
                Arg::Byte(b) => Val::Num(u64::from(b)),
                Arg::Fd(FdRef::None) => Val::Fd(-1),
                Arg::Fd(FdRef::Var(name)) => Val::Fd(self.descriptor(&name, pid)?),
                Arg::Name(n) | Arg::Kernel(n) => Val::Name(n),
                Arg::Resource => Val::Num(0),
                Arg::Rlim(v) => Val::Rlim(v),
                Arg::Mode(a) => Val::Mode(a),
                Arg::Loan(name) => Val::Loan(self.loan_var(&name)?),
                Arg::Proc(n) => {
                    // A killed process's name stays taken (version 2).
                    if self.live(n).is_some() || self.killed.contains_key(&n) {
                        return Err(format!("process {tok} already exists"));
                    }
                    Val::Proc(n)
                }
            };
            debug_assert!(kind != ArgKind::Proc || matches!(v, Val::Proc(_)));
            vals.push(v);
        }
        let nums: Vec<u64> = vals.iter().map(Val::num).collect();
        parse::check_values(h.op, &nums)?;
        if let (Op::Loanread, Some(&Val::Loan(id))) = (h.op, vals.first()) {
            let len = self
                .machine
                .loan_info(id)
                .map_or(0, |l| l.pages.len() as u64 * PAGE_SIZE);
            if nums[1] >= len {
                return Err(format!(
                    "offset {:#x} is outside the loan ({len:#x} bytes)",
                    nums[1]
                ));
            }
        }
        if let (Op::Open, Some(Val::Name(n))) = (h.op, vals.first())
            && self.files.contains(n)
        {
            return Err(format!("file {n} was already created"));
        }
        Ok(vals)
    }

    /// `personality NAME` (FORMAT-v2-bsd.md): only as the first line that
    /// is neither blank nor a comment; the machine is made anew, its
    /// configuration kept, under that personality.
    fn exec_personality(
        &mut self,
        lineno: usize,
        h: &Header<'_>,
        first: bool,
    ) -> Result<LineOutput, ScriptError> {
        let err = |message: String| ScriptError {
            line: lineno,
            message,
        };
        if h.proc.is_some() {
            return Err(err("personality is not run by a process".into()));
        }
        if !first {
            return Err(err(
                "personality must be the first line that is not blank or a comment".into(),
            ));
        }
        let p = parse::personality_named(h.args[0]).map_err(err)?;
        let cfg = MachineConfig {
            personality: p,
            ..*self.machine.config()
        };
        *self = Runner {
            started: true,
            oom_probe: self.oom_probe.take(),
            ..Runner::new(Machine::new(cfg))
        };
        Ok(LineOutput {
            line: lineno,
            pid: 1,
            op: Op::Personality.name(),
            result: "ok".to_string(),
            extra: Vec::new(),
            failure: None,
            events: self.machine.take_events(),
            events_lost: self.machine.take_events_lost(),
            touched: Touched {
                pids: vec![1],
                ranges: Vec::new(),
            },
            expectation: None,
        })
    }

    /// The loan a variable holds: an error of the line when it is not a
    /// loan, the loan failed, or it has ended.
    fn loan_var(&self, name: &str) -> Result<vmcore::LoanId, String> {
        match self.vars.get(name) {
            None => Err(format!("undefined variable ${name}")),
            Some(Value::Loan(Some(id))) if self.machine.loan_info(*id).is_some() => Ok(*id),
            Some(Value::Loan(Some(_))) => Err(format!("the loan ${name} has ended")),
            Some(Value::Loan(None)) => Err(format!("the loan ${name} failed")),
            Some(_) => Err(format!("${name} is not a loan")),
        }
    }

    /// The value of a sum, modulo 2^64.
    fn eval(&self, e: &Expr) -> Result<u64, String> {
        let mut sum = 0u64;
        for t in &e.0 {
            let v = match t {
                Term::Num(v) => *v,
                Term::Arena => ARENA,
                Term::Var(name) => match self.vars.get(name) {
                    None => return Err(format!("undefined variable ${name}")),
                    Some(Value::Descriptor(_)) => {
                        return Err(format!("${name} is a descriptor, not an address"));
                    }
                    Some(Value::Loan(_)) => {
                        return Err(format!("${name} is a loan, not an address"));
                    }
                    Some(Value::Address(v)) => *v,
                },
            };
            sum = sum.wrapping_add(v);
        }
        Ok(sum)
    }

    /// The descriptor number a variable names in process `pid`: -1 when the
    /// process does not hold that open file.
    fn descriptor(&self, name: &str, pid: Pid) -> Result<i64, String> {
        match self.vars.get(name) {
            None => Err(format!("undefined variable ${name}")),
            Some(Value::Address(_) | Value::Loan(_)) => Err(format!("${name} is not a descriptor")),
            Some(Value::Descriptor(None)) => Ok(-1),
            Some(Value::Descriptor(Some(d))) => Ok(
                if self.machine.open_file_serial(pid, d.fd) == Some(d.file) {
                    i64::from(d.fd)
                } else {
                    -1
                },
            ),
        }
    }

    fn execute(
        &mut self,
        pid: Pid,
        op: Op,
        a: &[Val],
    ) -> (String, Vec<String>, Option<Failure>, Bound) {
        let m = &mut self.machine;
        let mut bound = Bound::default();
        let n = |i: usize| a.get(i).map_or(0, Val::num);
        let fd32 = |i: usize| {
            let fd = a.get(i).map_or(-1, Val::fd);
            Fd::try_from(fd).unwrap_or(-1)
        };
        let mut extra = Vec::new();
        // each failed outcome says so here, as its text is made
        let failed = Cell::new(None);
        let errno = |e: &SysError| {
            failed.set(Some(Failure::Errno));
            errno_text(e)
        };
        let rc = |r: Result<(), SysError>| {
            if r.is_err() {
                failed.set(Some(Failure::Errno));
            }
            rc_text(r)
        };
        let access = |e: &AccessError| {
            failed.set(Some(Failure::of_access(e)));
            access_text(e)
        };
        let result = match op {
            Op::Mmap | Op::Mremap => {
                let r = if op == Op::Mmap {
                    m.mmap(
                        pid,
                        n(0),
                        n(1),
                        n(2),
                        n(3),
                        a.get(4).map_or(-1, Val::fd),
                        n(5),
                    )
                } else {
                    m.mremap(pid, n(0), n(1), n(2), n(3), n(4))
                };
                match r {
                    Ok(addr) => {
                        bound.raw = addr;
                        bound.mapped = Some(addr);
                        format_addr(addr)
                    }
                    Err(e) => {
                        bound.raw = neg_errno(m, &e);
                        errno(&e)
                    }
                }
            }
            Op::Munmap => rc(m.munmap(pid, n(0), n(1))),
            Op::Mprotect => rc(m.mprotect(pid, n(0), n(1), n(2))),
            Op::Madvise => rc(m.madvise(pid, n(0), n(1), n(2))),
            Op::Mincore => match m.mincore(pid, n(0), n(1)) {
                // No page (LEN 0, or a FreeBSD LEN that wraps to an empty range).
                Ok(bits) if bits.is_empty() => "0".to_string(),
                Ok(bits) => {
                    let mut s = String::with_capacity(2 + bits.len());
                    s.push_str("0 ");
                    s.extend(bits.iter().map(|&b| if b & 1 != 0 { '1' } else { '0' }));
                    s
                }
                Err(e) => errno(&e),
            },
            Op::Mincorex => match m.mincore(pid, n(0), n(1)) {
                Ok(bytes) => {
                    let mut s = String::with_capacity(1 + 3 * bytes.len());
                    s.push('0');
                    for b in bytes {
                        s.push_str(&format!(" {b:02x}"));
                    }
                    s
                }
                Err(e) => errno(&e),
            },
            Op::Minherit => rc(m.minherit(pid, n(0), n(1), n(2))),
            Op::Setrlimit => {
                let limit = match a.get(1) {
                    Some(Val::Rlim(v)) => *v,
                    _ => None,
                };
                rc(m.setrlimit_memlock(pid, limit))
            }
            Op::Brk => rc(m.brk(pid, n(0)).map(|_| ())),
            Op::Sbrk => match m.sbrk(pid, n(0)) {
                Ok(old) => {
                    bound.raw = old;
                    format_addr(old)
                }
                Err(e) => {
                    bound.raw = neg_errno(m, &e);
                    errno(&e)
                }
            },
            Op::Loan => match m.loan(pid, n(0), n(1)) {
                Ok(id) => {
                    bound.loan = Some(id);
                    "ok".to_string()
                }
                Err(e) => errno(&e),
            },
            Op::Loanread => match a.first() {
                // The variable and the offset were checked when resolved.
                Some(&Val::Loan(id)) => match m.loan_read(id, n(1)) {
                    Ok(b) => format!("{b:#04x}"),
                    Err(e) => {
                        failed.set(Some(Failure::Errno));
                        e.to_string()
                    }
                },
                _ => "ok".to_string(),
            },
            Op::Unloan => match a.first() {
                Some(&Val::Loan(id)) => match m.unloan(id) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => errno(&e),
                },
                _ => "ok".to_string(),
            },
            Op::Personality => unreachable!("run by exec_personality"),
            Op::Mlock => rc(m.mlock(pid, n(0), n(1))),
            Op::Munlock => rc(m.munlock(pid, n(0), n(1))),
            Op::Mlockall => rc(m.mlockall(pid, n(0))),
            Op::Munlockall => rc(m.munlockall(pid)),
            Op::Msync => rc(m.msync(pid, n(0), n(1), n(2))),
            Op::Load => match m.load(pid, n(0)) {
                Ok(b) => format!("{b:#04x}"),
                Err(e) => access(&e),
            },
            Op::Store => match m.store(pid, n(0), a[1].byte()) {
                Ok(()) => "ok".to_string(),
                Err(e) => access(&e),
            },
            Op::Fill => match m.fill(pid, n(0), n(1), a[2].byte()) {
                Ok(()) => "ok".to_string(),
                Err(e) => access(&e),
            },
            Op::Exec => match m.exec(pid, n(0)) {
                Ok(()) => "ok".to_string(),
                Err(e) => access(&e),
            },
            Op::Fork => match m.fork(pid) {
                Ok(child) => {
                    bound.child = Some(child);
                    "ok".to_string()
                }
                Err(e) => errno(&e),
            },
            Op::Exit => match m.exit(pid) {
                Ok(()) => "ok".to_string(),
                Err(e) => errno(&e),
            },
            Op::Open | Op::Memfd => {
                let Some(Val::Name(name)) = a.first() else {
                    unreachable!("open and memfd take a name first")
                };
                let r = if op == Op::Open {
                    self.files.insert(name.clone());
                    let access = match a.get(2) {
                        Some(Val::Mode(a)) => *a,
                        _ => vmcore::Access::ReadWrite,
                    };
                    m.open_with(pid, name, n(1), access)
                } else {
                    m.memfd(pid, name, n(1))
                };
                match r {
                    Ok(fd) => {
                        bound.descriptor = m
                            .open_file_serial(pid, fd)
                            .map(|file| Descriptor { fd, file });
                        "ok".to_string()
                    }
                    Err(e) => errno(&e),
                }
            }
            Op::Pread => match m.pread(pid, fd32(0), n(1)) {
                Ok(Some(b)) => format!("{b:#04x}"),
                Ok(None) => "eof".to_string(),
                Err(e) => errno(&e),
            },
            Op::Pwrite => match m.pwrite(pid, fd32(0), n(1), a[2].byte()) {
                Ok(()) => "ok".to_string(),
                Err(e) => errno(&e),
            },
            Op::Ftruncate => rc(m.ftruncate(pid, fd32(0), n(1))),
            Op::Close => rc(m.close(pid, fd32(0))),
            Op::Maps => match m.maps(pid) {
                Ok(lines) => {
                    extra = lines
                        .iter()
                        .filter(|l| l.start < ARENA_END && l.end > ARENA)
                        .map(|l| {
                            format!(
                                "  {:#x}-{:#x} {} {:#x} {}",
                                l.start, l.end, l.perms, l.offset, l.backing
                            )
                        })
                        .collect();
                    "ok".to_string()
                }
                Err(e) => errno(&e),
            },
            Op::Swapon => rc(m.swapon(n(0))),
            Op::Swapoff => rc(m.swapoff()),
            Op::Memlimit => rc(m.memlimit(n(0))),
            Op::Swapped => m.swapped().to_string(),
            Op::Procs => swapfmt::procs_result(
                self.procs
                    .iter()
                    .filter(|&(_, &p)| m.is_alive(p))
                    .map(|(&num, _)| num),
            ),
            Op::Pagemap => match pagemap_words(m, pid, n(0), n(1)) {
                Ok(words) => swapfmt::pagemap_result(&words),
                Err(e) => errno(&e),
            },
            Op::Smaps => match m.smaps(pid) {
                Ok(views) => {
                    extra = swapfmt::smaps_lines(&views, ARENA, ARENA_END);
                    "ok".to_string()
                }
                Err(e) => errno(&e),
            },
            Op::Faults => match m.take_major_faults(pid) {
                Ok(n) => swapfmt::faults_result(n),
                Err(e) => errno(&e),
            },
        };
        (result, extra, failed.get(), bound)
    }

    /// Decide with `probe` instead of `Machine::oom_killed` whether the OOM
    /// killer killed a process (asked after every line, for every live
    /// process). For tests of the `killed` results without a machine that
    /// kills.
    pub fn set_oom_probe(&mut self, probe: impl Fn(&Machine, Pid) -> bool + Send + Sync + 'static) {
        self.oom_probe = Some(std::sync::Arc::new(probe));
    }

    /// The processes the OOM killer killed so far, by name (`p1` ...), in
    /// order of their numbers. Their names stay taken.
    pub fn killed_names(&self) -> Vec<(String, Pid)> {
        self.killed
            .iter()
            .map(|(n, &pid)| (format!("p{n}"), pid))
            .collect()
    }

    /// Move the processes that the OOM killer killed from the live names to
    /// the killed ones; returns the numbers of the names just moved.
    fn reap_killed(&mut self) -> Vec<u32> {
        let killed = |pid: Pid| match &self.oom_probe {
            Some(probe) => probe(&self.machine, pid),
            None => self.machine.oom_killed(pid),
        };
        let newly: Vec<u32> = self
            .procs
            .iter()
            .filter(|&(_, &pid)| killed(pid))
            .map(|(&n, _)| n)
            .collect();
        for n in &newly {
            if let Some(pid) = self.procs.remove(n) {
                self.killed.insert(*n, pid);
            }
        }
        newly
    }

    /// A line of version 2 that is not run by a live process: an operation
    /// of the machine (no process; `pid` 0 in its output and no process in
    /// `touched`), or any line of a process the OOM killer killed, which
    /// prints `killed` and does nothing. Its arguments are resolved first:
    /// their errors are errors of the line.
    fn exec_v2_line(&mut self, lineno: usize, h: &Header<'_>) -> Result<LineOutput, ScriptError> {
        let err = |message: String| ScriptError {
            line: lineno,
            message,
        };
        let killed = if h.op.in_machine() {
            None
        } else {
            self.killed.get(&h.proc.unwrap_or(1)).copied()
        };
        let pid = killed.unwrap_or(0);
        let vals = self.resolve(h, pid).map_err(err)?;
        let (result, extra, failure, touched) = match killed {
            Some(pid) => (
                swapfmt::KILLED.to_string(),
                Vec::new(),
                Some(Failure::Killed),
                Touched {
                    pids: vec![pid],
                    ranges: Vec::new(),
                },
            ),
            None => {
                let (result, extra, failure, _) = self.execute(0, h.op, &vals);
                self.reap_killed();
                (result, extra, failure, Touched::default())
            }
        };
        let events = self.machine.take_events();
        let events_lost = self.machine.take_events_lost();
        Ok(LineOutput {
            line: lineno,
            pid,
            op: h.op.name(),
            result,
            extra,
            events,
            events_lost,
            touched,
            failure,
            expectation: None,
        })
    }
}

/// `PERMS [BACKING]` as an expectation was written.
fn words(perms: &str, backing: &Option<String>) -> String {
    match backing {
        Some(b) => format!("{perms} {b}"),
        None => perms.to_string(),
    }
}

/// The pagemap words of `[addr, addr+len)`, read in pieces of at most
/// 2^20 pages (what one `Machine::pagemap` call returns).
fn pagemap_words(m: &Machine, pid: Pid, addr: u64, len: u64) -> Result<Vec<u64>, SysError> {
    const CHUNK: u64 = 1 << 20;
    let pages = len / PAGE_SIZE;
    let mut words = Vec::new();
    let mut done = 0;
    while done < pages {
        let k = (pages - done).min(CHUNK);
        words.extend(m.pagemap(pid, addr + done * PAGE_SIZE, k)?);
        done += k;
    }
    Ok(words)
}

/// What a line leaves for a binding or the process table.
#[derive(Default)]
struct Bound {
    raw: u64,
    /// Where `mmap` or `mremap` placed the mapping, when it succeeded.
    mapped: Option<u64>,
    descriptor: Option<Descriptor>,
    child: Option<Pid>,
    loan: Option<vmcore::LoanId>,
}

/// Run a whole scenario on a fresh default machine and return what the
/// runner prints (with `trace`, each line's events too, indented by four
/// blanks), and the error that stopped it, if any (its line is included in
/// the text).
pub fn run_to_string(text: &str, trace: bool) -> (String, Option<ScriptError>) {
    let mut r = Runner::default();
    let mut s = String::new();
    for (lineno, line) in parse::script_lines(text) {
        match r.exec_line(lineno, line) {
            Ok(Some(o)) => {
                s.push_str(&o.to_string());
                s.push('\n');
                if trace {
                    for e in &o.events {
                        s.push_str(&format!("    {e}\n"));
                    }
                    if o.events_lost > 0 {
                        s.push_str(&format!(
                            "    ... {} more events not recorded\n",
                            o.events_lost
                        ));
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                s.push_str(&e.to_string());
                s.push('\n');
                return (s, Some(e));
            }
        }
    }
    (s, None)
}
