//! The machine-wide swap lock: `/var/tmp/vmsoracle-swap.lock`.
//!
//! A swap scenario (version 2) changes the whole machine for as long as it
//! runs: it turns a swap area on `/dev/zram0` on and off. The kernel's
//! answers to a version-1 scenario depend on that too: the overcommit
//! heuristic (`__vm_enough_memory`, `vm.overcommit_memory` 0) counts free
//! swap pages, and with an area on `MADV_PAGEOUT` writes shmem out. So
//! runs take this lock, the same file the recorder
//! (`shared/recorder/vmsoracle.c`) takes:
//!
//! - a version-2 run holds it exclusively (`LOCK_EX`) from before it
//!   checks the machine until it has turned swap off again;
//! - a version-1 run holds it shared (`LOCK_SH`) for its whole run, so
//!   that it never sees a swap area a concurrent version-2 run turned on,
//!   while version-1 runs still run side by side.
//!
//! Both wait for the lock. The lock is an `flock(2)` lock on an open file
//! description: scenario processes forked while it is held share it, so
//! the driver releases it only after every scenario process is reaped
//! (`Driver`'s drop runs first).
//!
//! The file is made by whoever comes first (root, for a swap run, makes it
//! `rw-r--r--`). A user who may not write it takes the shared lock through
//! a read-only descriptor (`flock` needs none); one who may not even read
//! it runs version 1 without the lock: swap runs need root, and such a
//! user's machine is not one whose swap runs it could keep apart.

use crate::HostError;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;

/// The lock file, shared with the recorder.
pub const LOCKFILE: &str = "/var/tmp/vmsoracle-swap.lock";

/// The swap lock, held until dropped (`None`: a version-1 run of a user
/// who may not open the file, unlocked).
#[derive(Debug)]
pub struct SwapLock {
    _file: Option<File>,
}

/// How the lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `LOCK_SH`: a version-1 run, beside other version-1 runs.
    Shared,
    /// `LOCK_EX`: a version-2 run, alone.
    Exclusive,
}

impl SwapLock {
    /// Wait for the lock. `interrupted` is asked whether to give up each
    /// time a signal interrupts the wait (a version-2 run's stop signals:
    /// it returns the error to give up with).
    pub fn take(
        mode: Mode,
        interrupted: &dyn Fn() -> Result<(), HostError>,
    ) -> Result<SwapLock, HostError> {
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(LOCKFILE);
        let file = match (opened, mode) {
            (Ok(f), _) => f,
            (Err(e), Mode::Shared) if e.kind() == ErrorKind::PermissionDenied => {
                match File::open(LOCKFILE) {
                    Ok(f) => f,
                    Err(_) => return Ok(SwapLock { _file: None }),
                }
            }
            (Err(e), _) => return Err(HostError::Internal(format!("open {LOCKFILE}: {e}"))),
        };
        loop {
            let r = match mode {
                Mode::Shared => file.lock_shared(),
                Mode::Exclusive => file.lock(),
            };
            match r {
                Ok(()) => return Ok(SwapLock { _file: Some(file) }),
                Err(e) if e.kind() == ErrorKind::Interrupted => interrupted()?,
                Err(e) => return Err(HostError::Internal(format!("flock {LOCKFILE}: {e}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::TryLockError;

    fn other_open() -> File {
        OpenOptions::new().read(true).open(LOCKFILE).unwrap()
    }

    #[test]
    fn a_shared_hold_lets_other_readers_in_and_keeps_a_swap_run_out() {
        let held = SwapLock::take(Mode::Shared, &|| Ok(())).unwrap();
        // Another open file description: flock locks conflict between
        // them, even in one process.
        let other = other_open();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        other.try_lock_shared().unwrap();
        other.unlock().unwrap();
        drop(held);
    }

    #[test]
    fn an_exclusive_hold_keeps_everyone_out_until_dropped() {
        let held = SwapLock::take(Mode::Exclusive, &|| Ok(())).unwrap();
        let other = other_open();
        assert!(matches!(
            other.try_lock_shared(),
            Err(TryLockError::WouldBlock)
        ));
        drop(held);
        // Released: a shared hold is free to take (it may still wait for
        // a real run of the machine, so block rather than try).
        other.lock_shared().unwrap();
        other.unlock().unwrap();
    }
}
