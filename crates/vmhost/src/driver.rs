//! The driver: reads the scenario line by line, sends each line to the
//! scenario process that runs it, prints the answers.
//!
//! The driver owns nothing in the arena; it keeps, per scenario process,
//! the descriptors the scenario opened and the ranges outside the arena
//! the kernel gave it (so that later lines may use them), and the
//! scenario's variables. Lines are parsed with `vmscript`'s parser and
//! checked in the recorder's order, so a line that is an error for the
//! simulator is the same error here.
//!
//! A swap scenario (version 2) adds the machine around the run
//! (`swapmachine.rs`), the lines the driver runs itself and the processes
//! the OOM killer takes (`driver/machine.rs`).

mod machine;

use crate::map_count;
use crate::process::{self, Context};
use crate::protocol::{self, Reply, Request, Status};
use crate::swapmachine::{self, SwapMachine};
use crate::{Ended, HostError, Options};
use crate::{procfs, sys};
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Instant;
use vmscript::parse::{self, ARENA, ARENA_END, Arg, Binds, Expr, FdRef, Op, Term};

const PAGE: u64 = 4096;
/// TASK_SIZE with 47-bit addresses: the first page no mapping may reach.
const USER_TOP: u64 = 0x7fff_ffff_f000;
const MAP_FIXED: u64 = 0x10;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MREMAP_FIXED: u64 = 2;
const MADV_HWPOISON: u64 = 100;
const MADV_SOFT_OFFLINE: u64 = 101;

/// A scenario's variable.
#[derive(Clone, Copy)]
enum Var {
    Address(u64),
    /// A descriptor's identity (`None` when its `open` failed).
    Descriptor(Option<u32>),
}

/// One scenario process as the driver sees it.
struct Proc {
    num: u32,
    chan: OwnedFd,
    pid: i32,
    alive: bool,
    /// Killed by the OOM killer during an operation (after `memlimit`):
    /// its later lines print `killed`, and its name stays taken.
    killed: bool,
    /// (descriptor identity, descriptor number in the process).
    fds: Vec<(u32, i64)>,
    /// Ranges outside the arena the kernel placed mappings of this process
    /// at (`mmap` without MAP_FIXED, `mremap`), which later lines may use.
    regions: Vec<(u64, u64)>,
}

pub struct Driver<'o> {
    procs: Vec<Proc>,
    vars: HashMap<String, Var>,
    next_fid: u32,
    tmpdir: PathBuf,
    opts: Options,
    out: &'o mut dyn Write,
    /// The machine of a swap scenario; dropped (torn down) after every
    /// scenario process is gone.
    swap: Option<SwapMachine>,
}

/// What a line led to.
enum Step {
    Next,
    Stop(Ended),
}

impl Drop for Driver<'_> {
    /// Kill what is left of the scenario, reap every process (the driver is
    /// their subreaper) and remove the run's files.
    fn drop(&mut self) {
        self.end_processes();
        let _ = std::fs::remove_dir_all(&self.tmpdir);
    }
}

impl<'o> Driver<'o> {
    /// Run a whole scenario.
    pub fn run(text: &str, opts: Options, out: &'o mut dyn Write) -> Result<Ended, HostError> {
        let tmpdir = make_tmpdir(&opts)?;
        sys::become_subreaper();
        sys::ignore_sigpipe();
        let mut d = Driver {
            procs: Vec::new(),
            vars: HashMap::new(),
            next_fid: 1,
            tmpdir,
            opts,
            out,
            swap: None,
        };
        if let Some((line, op)) = crate::swap_line(text) {
            match SwapMachine::setup()? {
                Ok(m) => d.swap = Some(m),
                Err(why) => {
                    return Ok(Ended::Refused {
                        line,
                        why: format!(
                            "{op} makes this a swap scenario (FORMAT-v2-swap.md), which this \
                             machine cannot run: {why}"
                        ),
                    });
                }
            }
        }
        let end = d.run_lines(text);
        // The machine is clean again only once no scenario process holds
        // swap or is charged to the cgroup.
        d.end_processes();
        let clean = d.swap.as_mut().map_or(Ok(()), SwapMachine::teardown);
        match (end, clean) {
            (end, Ok(())) => end,
            (Ok(_), Err(e)) => Err(HostError::Internal(e)),
            (Err(first), Err(e)) => Err(HostError::Internal(format!("{first}; {e}"))),
        }
    }

    fn run_lines(&mut self, text: &str) -> Result<Ended, HostError> {
        process::prepare_pattern();
        self.start_p1()?;
        let mut first = true;
        for (lineno, line) in parse::script_lines(text) {
            match self.line(lineno, line, &mut first)? {
                Step::Next => {}
                Step::Stop(e) => return Ok(e),
            }
        }
        Ok(Ended::Done)
    }

    /// Kill what is left of the scenario and reap every process (the
    /// driver is their subreaper).
    fn end_processes(&mut self) {
        for p in &mut self.procs {
            if p.alive {
                sys::kill(p.pid);
                p.alive = false;
            }
        }
        self.procs.clear();
        while sys::wait_any(true).is_some() {}
    }

    fn ctx(&self) -> Context {
        Context {
            tmpdir: self.tmpdir.to_string_lossy().into_owned(),
        }
    }

    /// `p1`: a fresh process with nothing in the arena.
    fn start_p1(&mut self) -> Result<(), HostError> {
        let (mine, theirs) = std::os::unix::net::UnixStream::pair()?;
        let ctx = self.ctx();
        self.out.flush()?;
        match sys::fork().map_err(|e| HostError::Internal(format!("fork: errno {e}")))? {
            None => {
                drop(mine);
                if self.swap.is_some() {
                    // A swap run: the driver pins p1 and moves it into the
                    // run's cgroup, then says go, so that everything p1
                    // does is charged there.
                    sys::default_stop_signals();
                    let mut go = [0u8; 1];
                    let far = Instant::now() + std::time::Duration::from_secs(1 << 30);
                    if sys::recv(theirs.as_raw_fd(), &mut go, far, &mut None) != sys::Recv::Done {
                        sys::exit_now(0);
                    }
                } else {
                    sys::pin_to_current_cpu();
                }
                sys::silence_stdio();
                sys::setup_scenario_signals();
                if let Some(slots) = self.opts.map_slots {
                    map_count::start(theirs.as_raw_fd(), slots);
                }
                procfs::start_fault_count();
                process::serve(OwnedFd::from(theirs), &ctx)
            }
            Some(pid) => {
                drop(theirs);
                let chan = OwnedFd::from(mine);
                let go = chan.as_raw_fd();
                self.procs.push(Proc {
                    num: 1,
                    chan,
                    pid,
                    alive: true,
                    killed: false,
                    fds: Vec::new(),
                    regions: Vec::new(),
                });
                if let Some(m) = &self.swap {
                    m.admit(pid)?;
                    sys::send(go, b"g", None)
                        .map_err(|e| HostError::Internal(format!("start p1: errno {e}")))?;
                }
                if self.opts.map_slots.is_some() {
                    map_count::started(go, &self.opts)?;
                }
                Ok(())
            }
        }
    }

    fn print(&mut self, text: &str) -> Result<(), HostError> {
        writeln!(self.out, "{text}")?;
        self.out.flush()?;
        Ok(())
    }

    /// The process named `pN`: alive, or killed by the OOM killer (whose
    /// lines print `killed`).
    fn find_proc(&self, num: u32) -> Option<usize> {
        self.procs
            .iter()
            .rposition(|p| (p.alive || p.killed) && p.num == num)
    }

    /// A sum's value, as the recorder adds it (modulo 2^64).
    fn eval(&self, e: &Expr) -> Result<u64, String> {
        let mut sum = 0u64;
        for t in &e.0 {
            let v = match t {
                Term::Num(v) => *v,
                Term::Arena => ARENA,
                Term::Var(name) => match self.vars.get(name) {
                    None => return Err(format!("undefined variable ${name}")),
                    Some(Var::Descriptor(_)) => {
                        return Err(format!("${name} is a descriptor, not an address"));
                    }
                    Some(Var::Address(v)) => *v,
                },
            };
            sum = sum.wrapping_add(v);
        }
        Ok(sum)
    }

    /// The number in process `p` of the descriptor `$name` (-1 when it was
    /// never opened there or has been closed).
    fn descriptor(&self, name: &str, p: usize) -> Result<i64, String> {
        match self.vars.get(name) {
            None => Err(format!("undefined variable ${name}")),
            Some(Var::Address(_)) => Err(format!("${name} is not a descriptor")),
            Some(Var::Descriptor(None)) => Ok(-1),
            Some(Var::Descriptor(Some(id))) => Ok(self.procs[p]
                .fds
                .iter()
                .find(|(i, _)| i == id)
                .map_or(-1, |&(_, fd)| fd)),
        }
    }

    fn line(&mut self, lineno: usize, line: &str, first: &mut bool) -> Result<Step, HostError> {
        swapmachine::stopped()?;
        let prepared = match self.prepare(lineno, line, first) {
            Ok(p) => p,
            Err(msg) => {
                self.print(&format!("{lineno} error {msg}"))?;
                return Ok(Step::Stop(Ended::LineError));
            }
        };
        let Some((p, req, h)) = prepared else {
            return Ok(Step::Next);
        };
        let Some(p) = p else {
            return self.machine_line(lineno, &req);
        };
        if self.procs[p].killed {
            self.print(&format!("{lineno} {} killed", req.op.name()))?;
            return Ok(Step::Next);
        }
        if let Some(why) = unsafe_reason(&self.procs[p], &req) {
            return Ok(Step::Stop(Ended::Refused {
                line: lineno,
                why: why.into(),
            }));
        }
        self.send_line(lineno, p, req, h)
    }

    /// Parse and resolve a line: the process that runs it (`None` for a
    /// line the machine runs), the request and what to bind; `Ok(None)`
    /// for a line that prints nothing more (blank, comment,
    /// `personality linux`).
    #[allow(clippy::type_complexity)]
    fn prepare(
        &mut self,
        lineno: usize,
        line: &str,
        first: &mut bool,
    ) -> Result<Option<(Option<usize>, Request, Option<String>)>, String> {
        let Some(h) = parse::parse_header(line)? else {
            return Ok(None);
        };
        let was_first = std::mem::replace(first, false);
        if h.op == Op::Personality {
            // FORMAT-v2-bsd.md: only as the first line; only Linux can run
            // on this host (the caller refused any other personality).
            if h.proc.is_some() {
                return Err("personality is not run by a process".into());
            }
            if !was_first {
                return Err(
                    "personality must be the first line that is not blank or a comment".into(),
                );
            }
            let name = parse::personality_named(h.args[0])?.name;
            if name != "linux" {
                return Err(format!("personality {name} cannot run on this Linux host"));
            }
            self.print(&format!("{lineno} personality ok"))
                .map_err(|e| e.to_string())?;
            return Ok(None);
        }
        let num = h.proc.unwrap_or(1);
        let p = if h.op.in_machine() {
            None
        } else {
            Some(
                self.find_proc(num)
                    .ok_or_else(|| format!("no process p{num}"))?,
            )
        };
        let mut a = [0u64; 6];
        let mut name = String::new();
        let mut access = libc::O_RDWR;
        for (i, (&kind, tok)) in h.op.args().iter().zip(&h.args).enumerate() {
            a[i] = match parse::parse_arg(kind, tok)? {
                Arg::Expr(e) => self.eval(&e)?,
                Arg::Flags(v) => v,
                Arg::Byte(b) => u64::from(b),
                Arg::Fd(FdRef::None) => u64::MAX,
                Arg::Fd(FdRef::Var(n)) => {
                    let p = p.ok_or_else(|| format!("no process p{num}"))?;
                    self.descriptor(&n, p)? as u64
                }
                Arg::Name(n) => {
                    name = n;
                    0
                }
                Arg::Proc(n) => {
                    if self.find_proc(n).is_some() {
                        return Err(format!("process {tok} already exists"));
                    }
                    u64::from(n)
                }
                Arg::Mode(m) => {
                    access = match m {
                        vmcore::Access::ReadOnly => libc::O_RDONLY,
                        vmcore::Access::WriteOnly => libc::O_WRONLY,
                        vmcore::Access::ReadWrite => libc::O_RDWR,
                    };
                    0
                }
                Arg::Kernel(_) | Arg::Resource | Arg::Rlim(_) | Arg::Loan(_) => {
                    return Err(format!("{} is not run on the host", h.op.name()));
                }
            };
        }
        parse::check_values(h.op, &a[..h.args.len()])?;
        match h.op {
            Op::Open => {
                let path = self.tmpdir.join(&name);
                if path.exists() {
                    return Err(format!("file {name} was already created"));
                }
                name = path.to_string_lossy().into_owned();
                a = [a[1], access as u64, 0, 0, 0, 0];
            }
            Op::Memfd => a = [a[1], 0, 0, 0, 0, 0],
            _ => {}
        }
        let req = Request { op: h.op, a, name };
        Ok(Some((p, req, h.bind.map(str::to_string))))
    }

    /// Send a resolved line to its process, print the answer and keep the
    /// books (regions, descriptors, processes, variables).
    fn send_line(
        &mut self,
        lineno: usize,
        p: usize,
        req: Request,
        bind: Option<String>,
    ) -> Result<Step, HostError> {
        let chan = self.procs[p].chan.as_raw_fd();
        if sys::send(chan, &req.encode(), None).is_err() {
            return self.died(lineno, p, req.op);
        }
        let deadline = Instant::now() + self.opts.timeout;
        let mut passed = None;
        let Reply {
            got,
            header: h,
            text: payload,
        } = protocol::recv_reply(chan, deadline, &mut passed);
        swapmachine::stopped()?;
        match got {
            sys::Recv::TimedOut => {
                self.print(&format!("{lineno} timeout"))?;
                return Ok(Step::Stop(Ended::Stopped));
            }
            sys::Recv::Closed => return self.died(lineno, p, req.op),
            sys::Recv::Done => {}
        }
        let text = String::from_utf8_lossy(&payload).into_owned();
        if h.status == Status::Refuse {
            return Ok(Step::Stop(Ended::Refused {
                line: lineno,
                why: text,
            }));
        }
        self.print(&format!("{lineno} {} {text}", req.op.name()))?;
        let a = req.a;
        match req.op {
            Op::Mmap if h.val >= 0 => add_region(&mut self.procs[p], h.val as u64, a[1]),
            Op::Mremap if h.val >= 0 => add_region(&mut self.procs[p], h.val as u64, a[2]),
            Op::Close if text == "0" => {
                let fds = &mut self.procs[p].fds;
                if let Some(i) = fds.iter().position(|&(_, fd)| fd == a[0] as i64) {
                    fds.swap_remove(i);
                }
            }
            Op::Fork if text == "ok" => {
                let Some(chan) = passed else {
                    return Err(HostError::Internal("no channel from fork".into()));
                };
                let parent = &self.procs[p];
                let child = Proc {
                    num: a[0] as u32,
                    chan,
                    pid: h.pid as i32,
                    alive: true,
                    killed: false,
                    fds: parent.fds.clone(),
                    regions: parent.regions.clone(),
                };
                self.procs.push(child);
            }
            Op::Exit => {
                // Wait until the process has closed its channel (exited).
                let mut byte = [0u8; 1];
                let deadline = Instant::now() + self.opts.timeout;
                let mut none = None;
                loop {
                    match sys::recv(chan, &mut byte, deadline, &mut none) {
                        sys::Recv::Done => continue,
                        sys::Recv::Closed => break,
                        sys::Recv::TimedOut => {
                            swapmachine::stopped()?;
                            self.print(&format!("{lineno} timeout"))?;
                            return Ok(Step::Stop(Ended::Stopped));
                        }
                    }
                }
                self.procs[p].alive = false;
                while sys::wait_any(false).is_some() {}
            }
            _ => {}
        }
        if let Some(name) = bind {
            let v = match req.op.binds() {
                Binds::Address => Var::Address(h.val as u64),
                _ if h.val >= 0 => {
                    let id = self.next_fid;
                    self.next_fid += 1;
                    self.procs[p].fds.push((id, h.val));
                    Var::Descriptor(Some(id))
                }
                _ => Var::Descriptor(None),
            };
            self.vars.insert(name, v);
        }
        Ok(Step::Next)
    }
}

/// The run's folder for files: `BASE/vmplay-host.PID.N`.
fn make_tmpdir(opts: &Options) -> Result<PathBuf, HostError> {
    for n in 0..1000 {
        let d = opts
            .tmp_base
            .join(format!("vmplay-host.{}.{n}", std::process::id()));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(HostError::Internal(format!("{}: {e}", d.display())));
            }
        }
    }
    Err(HostError::Internal("no free temporary folder name".into()))
}

fn page_end(addr: u64, len: u64) -> u64 {
    addr.wrapping_add(len.wrapping_add(PAGE - 1) & !(PAGE - 1))
}

fn add_region(p: &mut Proc, s: u64, len: u64) {
    let e = page_end(s, len);
    if s >= ARENA && e <= ARENA_END {
        return;
    }
    p.regions.push((s, e));
}

fn region_ok(p: &Proc, s: u64, e: u64) -> bool {
    if e < s {
        return false;
    }
    (s >= ARENA && e <= ARENA_END) || p.regions.iter().any(|&(rs, re)| s >= rs && e <= re)
}

/// Would the kernel reject this range before touching anything?
fn early_reject(addr: u64, len: u64, top_checked: bool) -> bool {
    if addr & (PAGE - 1) != 0 || len == 0 || len > u64::MAX - (PAGE - 1) {
        return true;
    }
    let alen = (len + (PAGE - 1)) & !(PAGE - 1);
    let Some(end) = addr.checked_add(alen) else {
        return true;
    };
    top_checked && (addr >= USER_TOP || end > USER_TOP)
}

/// Why a line may not run on the host: it could change or reach memory of
/// the scenario process outside the arena and outside what the scenario
/// was given (its code, its stack, its channel buffers). `None` when it is
/// safe. The recorder's rules, word for word.
fn unsafe_reason(p: &Proc, r: &Request) -> Option<&'static str> {
    let a = r.a;
    let fits = |s: u64, len: u64| region_ok(p, s, page_end(s, len));
    match r.op {
        Op::Munmap => (!early_reject(a[0], a[1], true) && !fits(a[0], a[1]))
            .then_some("munmap outside the arena"),
        Op::Mmap => {
            let fixed = a[3] & MAP_FIXED != 0 && a[3] & MAP_FIXED_NOREPLACE == 0;
            (fixed && !early_reject(a[0], a[1], true) && !fits(a[0], a[1]))
                .then_some("MAP_FIXED outside the arena")
        }
        Op::Madvise => {
            if a[2] == MADV_HWPOISON || a[2] == MADV_SOFT_OFFLINE {
                return Some("memory-failure injection");
            }
            (!early_reject(a[0], a[1], false) && !fits(a[0], a[1]))
                .then_some("madvise range leaving the arena")
        }
        Op::Mprotect => (!early_reject(a[0], a[1], false)
            && !(ARENA..ARENA_END).contains(&a[0])
            && !fits(a[0], a[1]))
        .then_some("mprotect outside the arena"),
        Op::Mremap => {
            if a[0] & (PAGE - 1) != 0 {
                return None;
            }
            if !fits(a[0], a[1]) && !early_reject(a[0], a[1], true) {
                return Some("mremap of a range outside the arena");
            }
            if a[3] & MREMAP_FIXED != 0
                && a[4] & (PAGE - 1) == 0
                && !fits(a[4], a[2])
                && !early_reject(a[4], a[2], true)
            {
                return Some("MREMAP_FIXED outside the arena");
            }
            None
        }
        Op::Store | Op::Exec => {
            (!region_ok(p, a[0], a[0].wrapping_add(1))).then_some("store or exec outside the arena")
        }
        Op::Fill => (a[1] != 0
            && !(ARENA..ARENA_END).contains(&a[0])
            && !region_ok(p, a[0], a[0].wrapping_add(a[1])))
        .then_some("fill outside the arena"),
        _ => None,
    }
}
