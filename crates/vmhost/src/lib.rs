//! Run a `.vms` scenario on the host's own Linux kernel.
//!
//! This is how the conformance cases were recorded
//! (`tests/conformance/FORMAT.md`), written in the project: the same
//! parsing (`vmscript`'s parser), the same `$arena` at 0x300000000000, the
//! same results printed the same way, so a scenario's output here can be
//! compared line by line with the simulator's (`vmplay diff`).
//!
//! A driver (the calling process) owns nothing in the arena. Every
//! scenario process (`p1` and each process made by `fork`) is a real
//! process forked from it, running a command loop: it receives one line at
//! a time over its own channel, performs it against its own address space
//! (a real `mmap`, a real load that may fault) and sends back the result
//! text. `fork` is a real `fork()` inside the scenario process that runs
//! the line, so the child inherits exactly what the kernel copies; the
//! parent hands the new process's channel to the driver with
//! `SCM_RIGHTS`.
//!
//! Version 1 runs here, and so do the swap scenarios of version 2
//! (FORMAT-v2-swap.md) and the `personality linux` line of FORMAT-v2-bsd.md
//! (with `open`'s access mode and `mincorex`); any other personality is
//! refused ([`Ended::Refused`]).
//!
//! A swap scenario (one that uses `swapon`, `memlimit`, `pagemap` ...:
//! [`swap_line`]) needs the machine of FORMAT-v2-swap.md: root,
//! `/dev/zram0` unused, no swap area on, zswap off, `vm.page-cluster` 3
//! and the cgroup v1 memory controller with swap accounting. Its run
//! takes the swap lock (`/var/tmp/vmsoracle-swap.lock`, the recorder's)
//! exclusively, pins its processes to CPU 0 and puts them in a memory
//! cgroup of their own, and at the end (also on SIGINT, SIGTERM or SIGHUP)
//! turns swap off, resets zram0 and removes the cgroup
//! (`swapmachine.rs`). On a machine not in that state the run is refused
//! before any line runs. After a `memlimit`, a scenario process the OOM
//! killer takes prints `killed` for its line and every later one
//! (`driver/machine.rs`). A version-1 run holds the same lock shared, so
//! it never sees the swap area of a concurrent swap run (`swaplock.rs`).
//!
//! Lines that could damage the scenario process itself (a `MAP_FIXED`,
//! `munmap`, store ... outside the arena and outside memory the scenario
//! was given) are refused before they run, by the recorder's rules.
//!
//! Linux on x86_64 only: elsewhere [`run`] returns
//! [`HostError::Unsupported`]. All unsafe code is in `sys.rs`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod driver;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod errname;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod map_count;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod memcg;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod process;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod procfs;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod protocol;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod swaplock;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod swapmachine;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod zram;

/// How a run is made.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one line may take before the run stops with
    /// `LINE timeout`.
    pub timeout: Duration,
    /// Where the run's folder for `open`'s files is made.
    pub tmp_base: PathBuf,
    /// `p1` starts this many map slots below `vm.max_map_count`: it makes
    /// filler mappings of its own before the first line (`map_count.rs`).
    pub map_slots: Option<u64>,
}

impl Default for Options {
    /// 5 seconds a line; files under `/var/tmp` (a disk file system, as
    /// in the recordings' machine).
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(5),
            tmp_base: PathBuf::from("/var/tmp"),
            map_slots: None,
        }
    }
}

/// How a run ended (the recorder's exit statuses in brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every line ran (0).
    Done,
    /// A line could not be parsed; `LINE error MESSAGE` was printed (2).
    LineError,
    /// A scenario process hung (`LINE timeout`) or died (`LINE crash`) (3).
    Stopped,
    /// A line was not run: it could damage the scenario's own processes,
    /// or it needs what the host run does not offer (4). Nothing was
    /// printed for it.
    Refused { line: usize, why: String },
}

impl Ended {
    /// The exit status the recorder uses for this end.
    pub fn exit_status(&self) -> u8 {
        match self {
            Ended::Done => 0,
            Ended::LineError => 2,
            Ended::Stopped => 3,
            Ended::Refused { .. } => 4,
        }
    }
}

/// Why a run could not be made at all.
#[derive(Debug)]
pub enum HostError {
    /// Not Linux on x86_64, or not a single-threaded caller.
    Unsupported(String),
    Io(std::io::Error),
    Internal(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Unsupported(m) | HostError::Internal(m) => f.write_str(m),
            HostError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<std::io::Error> for HostError {
    fn from(e: std::io::Error) -> HostError {
        HostError::Io(e)
    }
}

/// Whether this host can run scenarios: `Err` says why not.
pub fn supported() -> Result<(), HostError> {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Ok(())
    } else {
        Err(HostError::Unsupported(format!(
            "running on the host needs Linux on x86_64 (this is {} on {}); \
             `vmplay diff --against FILE.out` compares with a recorded output instead",
            std::env::consts::OS,
            std::env::consts::ARCH
        )))
    }
}

/// The version-2 operations: swap and memory pressure (FORMAT-v2-swap.md).
const VERSION_2: [&str; 8] = [
    "swapon", "swapoff", "memlimit", "swapped", "procs", "pagemap", "smaps", "faults",
];

/// The operation a line names (after a `PROC:` prefix and a `$VAR =`), as
/// the recorder finds it to decide a scenario's version.
fn operation_of(line: &str) -> Option<String> {
    let toks = vmscript::parse::tokenize(line);
    let mut i = usize::from(toks.first()?.ends_with(':'));
    if i + 1 < toks.len() && toks[i].starts_with('$') && toks[i + 1] == "=" {
        i += 2;
    }
    toks.get(i).map(|t| t.to_string())
}

/// The first line of a swap scenario that uses a version-2 operation, and
/// that operation; `None` for a version-1 scenario. A swap scenario runs
/// on the machine of FORMAT-v2-swap.md (the recorder's `--level` 2).
pub fn swap_line(text: &str) -> Option<(usize, String)> {
    vmscript::parse::script_lines(text).find_map(|(n, line)| {
        operation_of(line)
            .filter(|op| VERSION_2.contains(&op.as_str()))
            .map(|op| (n, op))
    })
}

/// The scenario's format version: 2 when it uses an operation of
/// FORMAT-v2-swap.md, else 1.
pub fn version(text: &str) -> u8 {
    if swap_line(text).is_some() { 2 } else { 1 }
}

/// What in a scenario the host run does not offer, found before anything
/// runs: a first line `personality` naming another kernel than Linux.
pub fn unsupported_line(text: &str) -> Option<(usize, String)> {
    let mut first = true;
    for (n, line) in vmscript::parse::script_lines(text) {
        let toks = vmscript::parse::tokenize(line);
        if toks.is_empty() {
            continue;
        }
        if first
            && operation_of(line).as_deref() == Some("personality")
            && let Some(name) = toks.iter().skip_while(|t| **t != "personality").nth(1)
            && *name != "linux"
            && vmscript::parse::personality_named(name).is_ok()
        {
            return Some((
                n,
                format!("personality {name}: only `personality linux` runs on this host"),
            ));
        }
        first = false;
    }
    None
}

/// Run a scenario on the host's kernel, printing each line's result to
/// `out` as it comes (flushed line by line).
///
/// The caller must be single-threaded: scenario processes are made with
/// `fork()`. A multi-threaded caller gets [`HostError::Unsupported`].
pub fn run(text: &str, opts: &Options, out: &mut dyn Write) -> Result<Ended, HostError> {
    supported()?;
    if let Some((line, why)) = unsupported_line(text) {
        return Ok(Ended::Refused { line, why });
    }
    if threads() != Some(1) {
        return Err(HostError::Unsupported(
            "vmplay host must run in a single-threaded process (it forks scenario processes)"
                .into(),
        ));
    }
    run_here(text, opts, out)
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn run_here(text: &str, opts: &Options, out: &mut dyn Write) -> Result<Ended, HostError> {
    if swap_line(text).is_some() {
        // The driver takes the lock exclusively (swapmachine.rs).
        return driver::Driver::run(text, opts.clone(), out);
    }
    // Held until the driver has reaped every scenario process (they share
    // the lock's open file): no swap area of a concurrent swap run is on
    // meanwhile.
    let _no_swap_run = swaplock::SwapLock::take(swaplock::Mode::Shared, &|| Ok(()))?;
    driver::Driver::run(text, opts.clone(), out)
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn run_here(_: &str, _: &Options, _: &mut dyn Write) -> Result<Ended, HostError> {
    supported().map(|()| Ended::Done)
}

/// Whether this host can run swap scenarios now (the machine of
/// FORMAT-v2-swap.md): `Err` says why not. The checks a swap run makes
/// before its first line, made while no swap run of vmplay or the
/// recorder is under way (the swap lock held exclusively); nothing is
/// changed.
pub fn swap_machine_ready() -> Result<(), HostError> {
    supported()?;
    swap_ready_here()
}

/// The swap areas that are on while no swap run of vmplay or the recorder
/// is (the swap lock held shared): areas a version-1 run would see, which
/// the version-1 recordings do not expect.
pub fn foreign_swap_areas() -> Result<usize, HostError> {
    supported()?;
    foreign_swap_here()
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn swap_ready_here() -> Result<(), HostError> {
    swapmachine::ready()
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn swap_ready_here() -> Result<(), HostError> {
    Ok(())
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn foreign_swap_here() -> Result<usize, HostError> {
    swapmachine::foreign_swap_areas()
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn foreign_swap_here() -> Result<usize, HostError> {
    Ok(0)
}

/// The number of threads of this process (`/proc/self/status`).
fn threads() -> Option<u32> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_scenarios_are_found_by_their_operations() {
        assert_eq!(
            swap_line("mmap 0 4K PROT_READ MAP_PRIVATE -1 0\nmaps\n"),
            None
        );
        assert_eq!(version("maps\n# swapon 1M\n"), 1);
        assert_eq!(
            swap_line("maps\n\np2: $x = swapon 1M\nsmaps\n"),
            Some((3, "swapon".to_string()))
        );
        assert_eq!(swap_line("# c\n  pagemap $arena 4K # x\n").unwrap().0, 2);
        assert_eq!(version("faults\n"), 2);
    }

    #[test]
    fn other_personalities_are_found_before_running() {
        assert_eq!(unsupported_line("# c\npersonality linux\nmaps\n"), None);
        assert_eq!(unsupported_line("swapon 1M\nmaps\n"), None);
        let (n, why) = unsupported_line("# c\npersonality freebsd\n").unwrap();
        assert_eq!(n, 2);
        assert!(why.contains("freebsd"), "{why}");
        // Not the first line: the parser's error, not a refusal.
        assert_eq!(unsupported_line("maps\npersonality netbsd\n"), None);
    }
}
