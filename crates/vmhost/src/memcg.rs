//! The memory cgroup of a swap scenario (the cgroup v1 memory controller,
//! with swap accounting).
//!
//! Every scenario process of a swap run is in one memory cgroup made for
//! the run, below the cgroup vmplay itself is in: `p1` is moved in before
//! it does anything, and a forked process starts in its parent's cgroup
//! (`cgroup_post_fork`). That cgroup is what `memlimit` limits and what
//! `swapped` counts:
//!
//! - `memory.limit_in_bytes` is the limit; an allocation over it makes
//!   the kernel reclaim the cgroup's pages (`try_charge` ->
//!   `try_to_free_mem_cgroup_pages`) and, when nothing can be freed, kill
//!   the cgroup's largest process (`mem_cgroup_out_of_memory`). Writing a
//!   limit below the usage reclaims first and answers `EBUSY` when the
//!   usage stays above it (`mem_cgroup_resize_max`).
//! - `memory.usage_in_bytes` counts the cgroup's pages in memory,
//!   `memory.memsw.usage_in_bytes` those pages plus its swap entries
//!   (`memsw`: `mem_cgroup_swapout` moves a page's charge to its swap
//!   entry when the page leaves memory, and the charge goes when the slot
//!   is freed): the difference is the pages in swap and not in memory,
//!   what `swapped` prints.
//! - `memory.swappiness` is set to 60, the machine's default: the cgroup's
//!   own value decides reclaim's balance between anonymous and file pages.
//!
//! Pages are charged to the cgroup of the process that first faults them;
//! a move does not take earlier charges along (v1 without
//! `move_charge_at_immigrate`).

use crate::sys::Errno;
use crate::zram::{errno_of, read_number, write_file};

/// Where the v1 memory controller is mounted.
const MOUNT: &str = "/sys/fs/cgroup/memory";
const PAGE: i64 = 4096;

/// A memory cgroup this run made; removed by [`Memcg::remove`].
#[derive(Debug)]
pub struct Memcg {
    dir: String,
}

/// The memory cgroup of this process, relative to the controller's mount
/// (`""` for the root), or `None` when the v1 memory controller is not
/// mounted for it (`/proc/self/cgroup` has no `:memory:` line).
pub fn own_cgroup() -> Option<String> {
    own_cgroup_in(&std::fs::read_to_string("/proc/self/cgroup").ok()?)
}

/// [`own_cgroup`] from the text of `/proc/self/cgroup`.
pub fn own_cgroup_in(proc_cgroup: &str) -> Option<String> {
    let mut own = None;
    for line in proc_cgroup.lines() {
        if let Some(i) = line.find(":memory:") {
            own = Some(line[i + ":memory:".len()..].to_string());
        }
    }
    own.map(|p| if p == "/" { String::new() } else { p })
}

/// Whether the kernel accounts swap per cgroup (`memory.memsw.*` exists:
/// `swapaccount=1`) in the cgroup `path` (from [`own_cgroup`]).
pub fn has_swap_accounting(path: &str) -> bool {
    std::fs::File::open(format!("{MOUNT}{path}/memory.memsw.usage_in_bytes")).is_ok()
}

impl Memcg {
    /// Make the cgroup `NAME` below the cgroup `parent` (from
    /// [`own_cgroup`]).
    pub fn make(parent: &str, name: &str) -> std::io::Result<Memcg> {
        let dir = format!("{MOUNT}{parent}/{name}");
        std::fs::create_dir(&dir)?;
        Ok(Memcg { dir })
    }

    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    /// Whether the kernel accounts swap in this cgroup (see
    /// [`has_swap_accounting`]).
    pub fn has_swap_accounting(&self) -> bool {
        std::fs::File::open(self.file("memory.memsw.usage_in_bytes")).is_ok()
    }

    /// Set `memory.swappiness`.
    pub fn set_swappiness(&self, v: u32) -> Result<(), Errno> {
        write_file(&self.file("memory.swappiness"), &v.to_string())
    }

    /// Move process `pid` into the cgroup (`cgroup.procs`).
    pub fn add(&self, pid: i32) -> Result<(), Errno> {
        write_file(&self.file("cgroup.procs"), &pid.to_string())
    }

    /// Set the memory limit (`memory.limit_in_bytes`): the kernel's answer.
    pub fn set_limit(&self, bytes: u64) -> Result<(), Errno> {
        write_file(&self.file("memory.limit_in_bytes"), &bytes.to_string())
    }

    /// The cgroup's pages that are in swap only: memsw usage less memory
    /// usage, in pages. Both are read twice, and taken only when the two
    /// reads agree (the kernel updates them one after the other); `None`
    /// when they do not settle within about a second.
    pub fn swapped_pages(&self) -> Option<i64> {
        let (mem, memsw) = (
            self.file("memory.usage_in_bytes"),
            self.file("memory.memsw.usage_in_bytes"),
        );
        for _ in 0..1000 {
            let (m1, s1) = (read_number(&mem), read_number(&memsw));
            let (m2, s2) = (read_number(&mem), read_number(&memsw));
            if let (Some(m1), Some(s1)) = (m1, s1)
                && m1 >= 0
                && s1 >= 0
                && Some(m1) == m2
                && Some(s1) == s2
            {
                return Some((s1 - m1) / PAGE);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        None
    }

    /// Remove the cgroup. The kernel answers `EBUSY` while a process of it
    /// has not been released yet: retried for up to 2 s.
    pub fn remove(self) -> Result<(), (String, Errno)> {
        let mut r = Ok(());
        for _ in 0..100 {
            r = std::fs::remove_dir(&self.dir).map_err(|e| errno_of(&e));
            if r != Err(libc::EBUSY) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        r.map_err(|e| (self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_line_of_proc_self_cgroup_names_the_cgroup() {
        let text = "9:name=systemd:/\n4:memory:/process_api/e597\n0::/\n";
        assert_eq!(own_cgroup_in(text).as_deref(), Some("/process_api/e597"));
        assert_eq!(own_cgroup_in("4:memory:/\n").as_deref(), Some(""));
        assert_eq!(own_cgroup_in("0::/user.slice\n"), None);
    }
}
