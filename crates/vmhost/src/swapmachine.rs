//! The machine of a swap scenario (version 2, FORMAT-v2-swap.md): what a
//! swap run sets up around its scenario, the operations that run in the
//! machine rather than in a process, and the teardown.
//!
//! A swap run changes the whole host for as long as it runs, as the
//! recorder (`shared/recorder/vmsoracle.c`) does, and in the same order:
//!
//! ```text
//!   setup     catch SIGINT/SIGTERM/SIGHUP (they stop the run, cleanly)
//!             take the swap lock exclusively (swaplock.rs)
//!             refuse unless: no swap area on, /dev/zram0 free, zswap off,
//!               vm.page-cluster 3, the cgroup v1 memory controller with
//!               swap accounting
//!             make the run's memory cgroup (memcg.rs), swappiness 60
//!   p1        pinned to one CPU and moved into the cgroup before it runs
//!             anything (the driver's handshake)
//!   lines     swapon SIZE   zram0 sized, a swap header written, swapon(2)
//!             swapoff       swapoff(2), zram0 reset
//!             memlimit L    memory.limit_in_bytes
//!             swapped       memsw - memory usage of the cgroup, in pages
//!   teardown  (after every scenario process is reaped; also after a stop
//!             signal) swapoff, zram0 reset, the cgroup removed, the lock
//!             released
//! ```
//!
//! One CPU for every scenario process: Linux adds a newly faulted folio
//! to a per-CPU batch (`lru_add`) and `MADV_PAGEOUT` drains only the local
//! CPU's (`lru_add_drain`); swap-out order, slot numbers and reclaim under
//! a limit all depend on the LRU, so every run must see the same one.

use crate::errname::errname;
use crate::memcg::{self, Memcg};
use crate::swaplock::{Mode, SwapLock};
use crate::{HostError, sys, zram};

/// The CPU the scenario processes of a swap run are pinned to (the
/// recorder's default).
pub const CPU: usize = 0;

/// What a machine operation answers: the result printed, or a refusal
/// (the machine is no longer in the state the run needs).
#[derive(Debug)]
pub enum Answer {
    Text(String),
    Refused(String),
}

/// The machine state a swap run owns; torn down by [`SwapMachine::teardown`]
/// or, failing that, when dropped.
#[derive(Debug)]
pub struct SwapMachine {
    memcg: Option<Memcg>,
    /// This run gave zram0 a size (it must be reset).
    zram_inited: bool,
    /// This run's `swapon` succeeded and no `swapoff` since.
    swap_on: bool,
    /// A `memlimit` succeeded: a scenario process that dies during its
    /// operation is the OOM killer's victim.
    memlimit_set: bool,
    /// Released last, when the machine is clean again.
    lock: Option<SwapLock>,
}

/// `Err` when a stop signal arrived: the run ends (and tears down).
pub fn stopped() -> Result<(), HostError> {
    match sys::stop_signal() {
        Some(sig) => Err(HostError::Internal(format!("stopped by signal {sig}"))),
        None => Ok(()),
    }
}

fn failed(what: &str, e: sys::Errno) -> HostError {
    HostError::Internal(format!("{what}: {}", std::io::Error::from_raw_os_error(e)))
}

fn errno_text(e: sys::Errno) -> String {
    format!("-{}", errname(e))
}

impl SwapMachine {
    /// Wait for the lock, check the machine, make the run's cgroup.
    /// `Ok(Err(why))` when the machine is not in the state a swap run
    /// needs (nothing has changed then).
    pub fn setup() -> Result<Result<SwapMachine, String>, HostError> {
        if let Some(why) = not_root(&read_host_file) {
            return Ok(Err(why.into()));
        }
        sys::catch_stop_signals();
        let lock = SwapLock::take(Mode::Exclusive, &stopped)?;
        let mut m = SwapMachine {
            memcg: None,
            zram_inited: false,
            swap_on: false,
            memlimit_set: false,
            lock: Some(lock),
        };
        if let Some(why) = machine_refusal(&read_host_file) {
            return Ok(Err(why.into()));
        }
        let Some(own) = memcg::own_cgroup() else {
            return Ok(Err("needs the cgroup v1 memory controller".into()));
        };
        let name = format!("vmplay-host-{}", std::process::id());
        let cg = Memcg::make(&own, &name)
            .map_err(|e| HostError::Internal(format!("mkdir memory cgroup {own}/{name}: {e}")))?;
        let accounting = cg.has_swap_accounting();
        let swappiness = cg.set_swappiness(60);
        m.memcg = Some(cg);
        if !accounting {
            return Ok(Err("needs swap accounting (memory.memsw.*)".into()));
        }
        swappiness.map_err(|e| failed("memory.swappiness", e))?;
        Ok(Ok(m))
    }

    fn memcg(&self) -> &Memcg {
        self.memcg
            .as_ref()
            .expect("a set-up swap machine has its cgroup")
    }

    /// Pin a new scenario process (`p1`) to [`CPU`] and move it into the
    /// run's cgroup; it must not have run anything of the scenario yet.
    pub fn admit(&self, pid: i32) -> Result<(), HostError> {
        sys::pin_to_cpu(pid, CPU).map_err(|e| failed("sched_setaffinity of p1", e))?;
        self.memcg()
            .add(pid)
            .map_err(|e| failed("move p1 into the memory cgroup", e))
    }

    /// Whether a `memlimit` succeeded: from then on a scenario process
    /// may be killed by the OOM killer.
    pub fn memlimit_set(&self) -> bool {
        self.memlimit_set
    }

    /// `swapon SIZE`: zram0 gets SIZE bytes and a swap header, and becomes
    /// the swap area. A second `swapon` gets the kernel's answer (`EBUSY`).
    pub fn swapon(&mut self, size: u64) -> Result<Answer, HostError> {
        if self.swap_on {
            return match zram::swapon() {
                Ok(()) => Err(HostError::Internal("a second swapon succeeded".into())),
                Err(e) => Ok(Answer::Text(errno_text(e))),
            };
        }
        if zram::in_use() != Some(false) {
            return Ok(Answer::Refused("zram0 is in use (initstate 1)".into()));
        }
        self.zram_inited = true;
        if let Err(e) = zram::set_size(size) {
            let _ = zram::reset();
            self.zram_inited = false;
            return Ok(Answer::Text(errno_text(e)));
        }
        zram::write_header(size).map_err(|e| {
            HostError::Internal(format!("write swap header to {}: {e}", zram::DEVICE))
        })?;
        if let Err(e) = zram::swapon() {
            let _ = zram::reset();
            self.zram_inited = false;
            return Ok(Answer::Text(errno_text(e)));
        }
        self.swap_on = true;
        Ok(Answer::Text("0".into()))
    }

    /// `swapoff`: every page comes back (`try_to_unuse`), the area goes,
    /// zram0 is reset. `EINVAL` when no area is on.
    pub fn swapoff(&mut self) -> Result<Answer, HostError> {
        if let Err(e) = zram::swapoff() {
            stopped()?;
            return Ok(Answer::Text(errno_text(e)));
        }
        self.swap_on = false;
        zram::reset().map_err(|e| failed("reset zram0", e))?;
        self.zram_inited = false;
        Ok(Answer::Text("0".into()))
    }

    /// `memlimit LIMIT`: the kernel's answer to the new limit (`EBUSY`
    /// when reclaim cannot bring the usage below it).
    pub fn memlimit(&mut self, limit: u64) -> Result<Answer, HostError> {
        let r = self.memcg().set_limit(limit);
        stopped()?;
        if let Err(e) = r {
            return Ok(Answer::Text(errno_text(e)));
        }
        self.memlimit_set = true;
        Ok(Answer::Text("0".into()))
    }

    /// `swapped`: the cgroup's pages in swap and not in memory.
    pub fn swapped(&self) -> Result<Answer, HostError> {
        match self.memcg().swapped_pages() {
            Some(n) => Ok(Answer::Text(n.to_string())),
            None => Err(HostError::Internal(
                "memory cgroup usage does not settle".into(),
            )),
        }
    }

    /// Turn off and reset what this run set up, once every scenario
    /// process is gone; `Err` says what is left on the machine.
    pub fn teardown(&mut self) -> Result<(), String> {
        sys::block_stop_signals();
        let mut bad = Vec::new();
        if self.swap_on {
            let mut tries = 0;
            loop {
                match zram::swapoff() {
                    Ok(()) => {
                        self.swap_on = false;
                        break;
                    }
                    Err(libc::EINTR) if tries < 100 => tries += 1,
                    Err(e) => {
                        bad.push(format!(
                            "swapoff {}: {}",
                            zram::DEVICE,
                            std::io::Error::from_raw_os_error(e)
                        ));
                        break;
                    }
                }
            }
        }
        if self.zram_inited && !self.swap_on {
            match zram::reset() {
                Ok(()) => self.zram_inited = false,
                Err(e) => bad.push(format!(
                    "reset zram0: {}",
                    std::io::Error::from_raw_os_error(e)
                )),
            }
        }
        if let Some(cg) = self.memcg.take()
            && let Err((dir, e)) = cg.remove()
        {
            bad.push(format!(
                "rmdir {dir}: {}",
                std::io::Error::from_raw_os_error(e)
            ));
        }
        self.lock = None;
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}; the machine is not clean: run 'swapoff {}; echo 1 > \
                 /sys/block/zram0/reset' when no swap run is running",
                bad.join("; "),
                zram::DEVICE
            ))
        }
    }
}

impl Drop for SwapMachine {
    /// A run that ended without its teardown (an error, a panic) still
    /// leaves the machine clean.
    fn drop(&mut self) {
        if (self.memcg.is_some() || self.zram_inited || self.swap_on)
            && let Err(e) = self.teardown()
        {
            eprintln!("vmplay host: {e}");
        }
    }
}

/// Why the host is not in the state a swap run needs, before anything is
/// changed; `None` when it is. `read` gives the text of a file of `/proc`
/// or `/sys` (`None` when it does not exist).
fn machine_refusal(read: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    if let Some(why) = not_root(read) {
        return Some(why);
    }
    if zram::swap_areas(&read("/proc/swaps").unwrap_or_default()) > 0 {
        return Some("a swap area is on (see /proc/swaps)");
    }
    match read(zram::INITSTATE).and_then(|t| zram::parse_number(&t)) {
        None => return Some("no /dev/zram0"),
        Some(0) => {}
        Some(_) => return Some("zram0 is in use (initstate 1)"),
    }
    if read("/sys/module/zswap/parameters/enabled")
        .is_some_and(|t| t.starts_with('Y') || t.starts_with('1'))
    {
        return Some("zswap is enabled");
    }
    if read("/proc/sys/vm/page-cluster").and_then(|t| zram::parse_number(&t)) != Some(3) {
        return Some("vm.page-cluster is not 3");
    }
    if memcg::own_cgroup_in(&read("/proc/self/cgroup").unwrap_or_default()).is_none() {
        return Some("needs the cgroup v1 memory controller");
    }
    None
}

/// Why not, when this process does not run as root (its effective uid,
/// the second of `/proc/self/status`'s `Uid:` line, is not 0).
fn not_root(read: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    let status = read("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_ascii_whitespace().nth(1));
    (euid != Some("0")).then_some("needs root (it sets up zram0, swap and a memory cgroup)")
}

/// The host's own files.
fn read_host_file(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Whether the host can run swap scenarios now: `Err` says why not. The
/// checks of a swap run, made while holding the swap lock exclusively
/// (so that no swap run of vmplay or the recorder is halfway), changing
/// nothing.
pub fn ready() -> Result<(), HostError> {
    if let Some(why) = not_root(&read_host_file) {
        return Err(HostError::Unsupported(why.into()));
    }
    let _alone = SwapLock::take(Mode::Exclusive, &|| Ok(()))?;
    if let Some(why) = machine_refusal(&read_host_file) {
        return Err(HostError::Unsupported(why.into()));
    }
    match memcg::own_cgroup() {
        Some(own) if memcg::has_swap_accounting(&own) => Ok(()),
        _ => Err(HostError::Unsupported(
            "needs swap accounting (memory.memsw.*)".into(),
        )),
    }
}

/// The swap areas on while no swap run of vmplay or the recorder is (the
/// swap lock held shared): areas a version-1 run would see.
pub fn foreign_swap_areas() -> Result<usize, HostError> {
    let _no_swap_run = SwapLock::take(Mode::Shared, &|| Ok(()))?;
    Ok(zram::swap_areas(
        &read_host_file("/proc/swaps").unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files of a host ready for swap runs, with `change` applied.
    fn host(change: (&'static str, Option<&'static str>)) -> impl Fn(&str) -> Option<String> {
        move |path: &str| {
            if path == change.0 {
                return change.1.map(str::to_string);
            }
            Some(
                match path {
                    "/proc/self/status" => "Name:\tvmplay\nUid:\t0\t0\t0\t0\n",
                    "/proc/swaps" => "Filename\tType\tSize\tUsed\tPriority\n",
                    "/sys/block/zram0/initstate" => "0\n",
                    "/sys/module/zswap/parameters/enabled" => "N\n",
                    "/proc/sys/vm/page-cluster" => "3\n",
                    "/proc/self/cgroup" => "4:memory:/x\n0::/\n",
                    _ => return None,
                }
                .to_string(),
            )
        }
    }

    #[test]
    fn a_host_in_the_state_of_format_v2_swap_is_not_refused() {
        assert_eq!(machine_refusal(&host(("", None))), None);
        // No zswap module at all is zswap off.
        let no_zswap = host(("/sys/module/zswap/parameters/enabled", None));
        assert_eq!(machine_refusal(&no_zswap), None);
    }

    #[test]
    fn each_missing_condition_is_named() {
        for (change, why) in [
            (
                ("/proc/self/status", Some("Uid:\t0\t1000\t0\t0\n")),
                "needs root",
            ),
            (
                (
                    "/proc/swaps",
                    Some("Filename\n/dev/sda2 partition 1 0 -2\n"),
                ),
                "a swap area is on",
            ),
            (("/sys/block/zram0/initstate", None), "no /dev/zram0"),
            (
                ("/sys/block/zram0/initstate", Some("1\n")),
                "zram0 is in use",
            ),
            (
                ("/sys/module/zswap/parameters/enabled", Some("Y\n")),
                "zswap is enabled",
            ),
            (
                ("/proc/sys/vm/page-cluster", Some("0\n")),
                "page-cluster is not 3",
            ),
            (
                ("/proc/self/cgroup", Some("0::/user.slice\n")),
                "cgroup v1 memory controller",
            ),
        ] {
            let got = machine_refusal(&host(change));
            assert!(got.is_some_and(|g| g.contains(why)), "{change:?}: {got:?}");
        }
    }
}
