//! Errors at the system-call boundary: a Linux errno plus a human reason.
//!
//! The errno is what the scenario output and the recorded kernel compare;
//! the reason is what a teaching UI shows next to it ("ENOMEM: range has a
//! hole at 0x300000001000").

use core::fmt;
use serde::Serialize;

/// The errno values the VM system calls can return, by meaning. Their
/// numbers differ between kernels (EAGAIN is 11 on Linux, 35 on the BSDs),
/// so they come from the personality: [`crate::personality::ErrnoTable`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum Errno {
    EPERM,
    ENOENT,
    ESRCH,
    EBADF,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    ENODEV,
    EINVAL,
    EFBIG,
    ENOSYS,
    EOVERFLOW,
    EOPNOTSUPP,
    /// `ENOTSUP`: the same number as EOPNOTSUPP on Linux and FreeBSD, its
    /// own on NetBSD; FreeBSD's PROT_MAX check names it.
    ENOTSUP,
}

impl Errno {
    /// The symbolic name, as `strerrorname_np` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::ESRCH => "ESRCH",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::ENODEV => "ENODEV",
            Errno::EINVAL => "EINVAL",
            Errno::EFBIG => "EFBIG",
            Errno::ENOSYS => "ENOSYS",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::ENOTSUP => "ENOTSUP",
        }
    }
    /// Every errno, for tables that must list them all.
    pub const ALL: &'static [Errno] = &[
        Errno::EPERM,
        Errno::ENOENT,
        Errno::ESRCH,
        Errno::EBADF,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EFAULT,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::ENODEV,
        Errno::EINVAL,
        Errno::EFBIG,
        Errno::ENOSYS,
        Errno::EOVERFLOW,
        Errno::EOPNOTSUPP,
        Errno::ENOTSUP,
    ];
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed system call: the errno the kernel returns and why.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, thiserror::Error)]
#[error("{errno}: {reason}")]
pub struct SysError {
    pub errno: Errno,
    pub reason: &'static str,
}

impl SysError {
    pub const fn new(errno: Errno, reason: &'static str) -> Self {
        SysError { errno, reason }
    }
}

/// Shorthand constructors: `einval("unaligned address")`.
macro_rules! ctor {
    ($($f:ident => $e:ident),* $(,)?) => {$(
        #[doc = concat!("A `", stringify!($e), "` with a reason.")]
        pub const fn $f(reason: &'static str) -> SysError {
            SysError::new(Errno::$e, reason)
        }
    )*};
}
ctor!(einval => EINVAL, enomem => ENOMEM, ebadf => EBADF, eacces => EACCES,
      eexist => EEXIST, efault => EFAULT, ebusy => EBUSY, eperm => EPERM,
      eagain => EAGAIN, eoverflow => EOVERFLOW, enodev => ENODEV,
      eopnotsupp => EOPNOTSUPP, esrch => ESRCH, efbig => EFBIG, enosys => ENOSYS,
      enotsup => ENOTSUP, enoent => ENOENT);

/// The result of a system call.
pub type SysResult<T> = Result<T, SysError>;
