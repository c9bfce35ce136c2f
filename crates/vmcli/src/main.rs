//! `vmplay`: run `.vms` scenarios against the simulated machine.
//!
//! ```text
//! vmplay run [--trace] [--check] FILE.vms
//! ```
//!
//! prints each line's result exactly as the conformance recordings do
//! (`tests/conformance/FORMAT.md`, and `FORMAT-v2-swap.md` for swap), and
//! checks its `expect` lines (`FORMAT-expect.md`). Exit status: 0 when the
//! scenario ran to its end and every expectation held, 4 when it ran to its
//! end and an expectation failed (an autograder's "wrong answer"), 2 when a
//! line could not be parsed (after printing `LINE error MESSAGE`), 3 when
//! `--check` found a broken invariant, 1 for bad usage or an unreadable
//! file.
//!
//! ```text
//! vmplay ostep-policy [paging-policy.py's options]
//! ```
//!
//! is OSTEP's page-replacement homework, printing exactly what
//! `paging-policy.py` prints (`ostep_policy.rs`).
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::process::ExitCode;
use vmcore::personality::LINUX;
use vmcore::{Machine, MachineConfig};
use vmscript::Runner;

mod host;
mod map_slots;
mod ostep_policy;

const USAGE: &str = "\
vmplay - a simulated virtual-memory subsystem (Linux, FreeBSD, NetBSD)

Usage:
  vmplay run [--trace] [--check] [--personality NAME] FILE.vms
                                    run a scenario and print its results
                                    (also --map-slots N, below)
  vmplay ostep-policy [OPTIONS]     OSTEP's paging-policy.py, same options,
                                    same output (-h lists its options)
  vmplay host [--timeout SECS] FILE.vms
                                    run a scenario on this machine's own Linux
                                    kernel (x86_64; version 1, `personality
                                    linux`, swap scenarios on the machine of
                                    FORMAT-v2-swap.md), printing the same
                                    format; exit 0, 2 line error, 3 hung or
                                    died, 4 refused (also --map-slots N, below)
  vmplay diff [--timeout SECS] [--against FILE.out] FILE.vms
                                    the simulator and the host (or a recorded
                                    output) side by side: exit 0 agree, 1 differ,
                                    2 cannot compare (also --map-slots N)
  vmplay --help                     show this help
  vmplay --version                  show the version

`vmplay run` prints one line per operation, `LINE OP RESULT`, exactly as the
scenarios recorded on a real Linux kernel print them (`maps` and `smaps` add
one indented line per mapping in the arena). FILE may be `-` for standard
input. The swap operations of version 2 (swapon, swapoff, memlimit, swapped,
procs, pagemap, smaps, faults) are run too; a process the OOM killer killed
prints `LINE OP killed`. An `expect` line (an exercise's check) prints
`LINE expect pass` or `LINE expect FAIL WHAT: expected E, found F`.

  --trace    after each line, also print the events it caused in the
             simulated machine (faults, page-table writes, TLB flushes,
             frames, map entries), indented by four blanks
  --check    after each line, check the machine's invariants (page tables
             against map entries, frame ownership, reference counts, the
             TLB against the page tables); stop at the first broken one
  --personality NAME
             the kernel a scenario without a `personality` line follows:
             linux (the default), freebsd or netbsd (FORMAT-v2-bsd.md)
  --map-slots N
             p1 starts with N free map slots below vm.max_map_count (run:
             the simulator's limit is set so; host: p1 makes filler
             mappings outside the arena before the first line; diff: both)

Exit status: 0 the scenario ran to its end and every `expect` held; 4 it ran
to its end and an `expect` failed (counted on standard error); 2 a line could
not be parsed (`LINE error MESSAGE` is printed after the lines before it); 3
--check found an invariant broken (said on standard error); 1 bad usage or
unreadable file.
";

/// How a run ended.
enum Ended {
    /// Ran to the end: how many `expect` lines ran and how many failed.
    Done {
        expects: usize,
        failed: usize,
    },
    LineError,
    Broken,
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("vmplay: {msg}");
    eprintln!("Try 'vmplay --help'.");
    ExitCode::from(1)
}

fn read_input(path: &str) -> io::Result<String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        io::stdin().read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(path)?
    };
    // Invalid UTF-8 can only matter inside comments (any other non-ASCII
    // byte makes its line an error anyway).
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Run a scenario, printing as it goes.
fn run(
    text: &str,
    cfg: MachineConfig,
    trace: bool,
    check: bool,
    out: &mut impl Write,
) -> io::Result<Ended> {
    let mut runner = Runner::new(Machine::new(cfg));
    let (mut expects, mut failed) = (0, 0);
    for (lineno, line) in vmscript::parse::script_lines(text) {
        let r = runner.exec_line(lineno, line);
        if check && let Err(msg) = runner.machine().check() {
            out.flush()?;
            eprintln!("vmplay: line {lineno}: invariant broken: {msg}");
            return Ok(Ended::Broken);
        }
        match r {
            Ok(Some(o)) => {
                writeln!(out, "{o}")?;
                if let Some(e) = &o.expectation {
                    expects += 1;
                    failed += usize::from(!e.passed);
                }
                if trace {
                    for e in &o.events {
                        writeln!(out, "    {e}")?;
                    }
                    if o.events_lost > 0 {
                        writeln!(out, "    ... {} more events not recorded", o.events_lost)?;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                writeln!(out, "{e}")?;
                return Ok(Ended::LineError);
            }
        }
    }
    Ok(Ended::Done { expects, failed })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ostep-policy") => return ostep_policy_main(&args[1..]),
        Some("host") if !args.iter().any(|a| a == "--help" || a == "-h") => {
            return host::host_main(&args[1..]);
        }
        Some("diff") if !args.iter().any(|a| a == "--help" || a == "-h") => {
            return host::diff_main(&args[1..]);
        }
        _ => {}
    }
    if args.iter().any(|a| a == "--help" || a == "-h")
        || args.first().map(String::as_str) == Some("help")
    {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match args.first().map(String::as_str) {
        None => usage_error("missing command"),
        Some("--version" | "-V") => {
            println!("vmplay {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("run") => {
            let mut trace = false;
            let mut check = false;
            let mut file = None;
            let mut only_files = false;
            let mut personality = &LINUX;
            let mut map_slots = None;
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--map-slots" if !only_files => match map_slots::parse(it.next()) {
                        Ok(n) => map_slots = Some(n),
                        Err(e) => return usage_error(&e),
                    },
                    "--personality" if !only_files => {
                        let Some(name) = it.next() else {
                            return usage_error("--personality needs a NAME");
                        };
                        match vmscript::parse::personality_named(name) {
                            Ok(p) => personality = p,
                            Err(e) => return usage_error(&e),
                        }
                    }
                    "--" if !only_files => only_files = true,
                    "--trace" if !only_files => trace = true,
                    "--check" if !only_files => check = true,
                    s if !only_files && s.starts_with('-') && s != "-" => {
                        return usage_error(&format!("unknown option '{s}'"));
                    }
                    s => {
                        if file.is_some() {
                            return usage_error("run takes one FILE");
                        }
                        file = Some(s);
                    }
                }
            }
            let Some(path) = file else {
                return usage_error("run needs a FILE");
            };
            let text = match read_input(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("vmplay: {path}: {e}");
                    return ExitCode::from(1);
                }
            };
            // Line-buffered, as the recorder flushes each line: what ran is
            // printed even if a later line brings the simulator down.
            let cfg = MachineConfig {
                personality,
                ..MachineConfig::reference()
            };
            let cfg = match map_slots::config(cfg, map_slots) {
                Ok(c) => c,
                Err(e) => return usage_error(&e),
            };
            let mut out = io::stdout().lock();
            let done =
                run(&text, cfg, trace, check, &mut out).and_then(|d| out.flush().map(|()| d));
            match done {
                Ok(Ended::Done { failed: 0, .. }) => ExitCode::SUCCESS,
                Ok(Ended::Done { expects, failed }) => {
                    eprintln!("vmplay: {failed} of {expects} expectations failed");
                    ExitCode::from(4)
                }
                Ok(Ended::LineError) => ExitCode::from(2),
                Ok(Ended::Broken) => ExitCode::from(3),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vmplay: writing output: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(other) => usage_error(&format!("unknown command '{other}'")),
    }
}

/// `vmplay ostep-policy ARGS`: parse as optparse does, run, and exit as
/// Python would (0, or 1 where it stops with a traceback or `exit(1)`).
fn ostep_policy_main(args: &[String]) -> ExitCode {
    let opts = match ostep_policy::parse_args(args) {
        Ok(ostep_policy::Command::Help) => {
            print!("{}", ostep_policy::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(ostep_policy::Command::Run(o)) => o,
        Err(msg) => {
            eprintln!("vmplay ostep-policy: {msg}");
            eprintln!("Try 'vmplay ostep-policy --help'.");
            return ExitCode::from(1);
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let ended = ostep_policy::run(&opts, &mut out).and_then(|e| out.flush().map(|()| e));
    match ended {
        Ok(ostep_policy::Ended::Done) => ExitCode::SUCCESS,
        Ok(ostep_policy::Ended::Failed(msg)) => {
            if let Some(msg) = msg {
                eprintln!("vmplay ostep-policy: {msg}");
            }
            ExitCode::from(1)
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmplay: writing output: {e}");
            ExitCode::from(1)
        }
    }
}
