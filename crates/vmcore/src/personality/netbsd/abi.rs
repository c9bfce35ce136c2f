//! The NetBSD amd64 system-call ABI of the VM calls (`sys/sys/mman.h` of
//! NetBSD 10): the values of the flag, advice and inheritance arguments and
//! their names as the `.vms` language spells them.

pub use crate::personality::Name;

pub const PROT_NONE: u64 = 0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
/// `PROT_MPROTECT(p)`: what PaX MPROTECT lets a later mprotect add, in
/// bits 3..5.
pub const PROT_MPROTECT_SHIFT: u32 = 3;

pub const MAP_SHARED: u64 = 0x0001;
pub const MAP_PRIVATE: u64 = 0x0002;
/// mremap only: keep the old mapping and map a duplicate.
pub const MAP_REMAPDUP: u64 = 0x0004;
pub const MAP_FIXED: u64 = 0x0010;
pub const MAP_RENAME: u64 = 0x0020;
pub const MAP_NORESERVE: u64 = 0x0040;
pub const MAP_INHERIT: u64 = 0x0080;
pub const MAP_HASSEMAPHORE: u64 = 0x0200;
pub const MAP_TRYFIXED: u64 = 0x0400;
pub const MAP_WIRED: u64 = 0x0800;
pub const MAP_FILE: u64 = 0x0000;
pub const MAP_ANON: u64 = 0x1000;
pub const MAP_STACK: u64 = 0x2000;
/// `MAP_ALIGNED(n)`: align to 2^n, in bits 24..31.
pub const MAP_ALIGNMENT_SHIFT: u32 = 24;
pub const MAP_ALIGNMENT_MASK: u64 = 0xff << MAP_ALIGNMENT_SHIFT;

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_SPACEAVAIL: u64 = 5;
pub const MADV_FREE: u64 = 6;

pub const MS_ASYNC: u64 = 0x01;
pub const MS_INVALIDATE: u64 = 0x02;
pub const MS_SYNC: u64 = 0x04;

pub const MCL_CURRENT: u64 = 0x01;
pub const MCL_FUTURE: u64 = 0x02;

pub const MAP_INHERIT_SHARE: u64 = 0;
pub const MAP_INHERIT_COPY: u64 = 1;
pub const MAP_INHERIT_NONE: u64 = 2;
pub const MAP_INHERIT_DONATE_COPY: u64 = 3;
pub const MAP_INHERIT_ZERO: u64 = 4;
pub const MAP_INHERIT_DEFAULT: u64 = MAP_INHERIT_COPY;

pub const PROT_NAMES: &[Name] = &[
    ("PROT_NONE", PROT_NONE),
    ("PROT_READ", PROT_READ),
    ("PROT_WRITE", PROT_WRITE),
    ("PROT_EXEC", PROT_EXEC),
];

pub const MAP_NAMES: &[Name] = &[
    ("MAP_SHARED", MAP_SHARED),
    ("MAP_PRIVATE", MAP_PRIVATE),
    ("MAP_FIXED", MAP_FIXED),
    ("MAP_FILE", MAP_FILE),
    ("MAP_ANON", MAP_ANON),
    ("MAP_ANONYMOUS", MAP_ANON),
    ("MAP_STACK", MAP_STACK),
    ("MAP_WIRED", MAP_WIRED),
    ("MAP_TRYFIXED", MAP_TRYFIXED),
    ("MAP_INHERIT", MAP_INHERIT),
    ("MAP_RENAME", MAP_RENAME),
    ("MAP_NORESERVE", MAP_NORESERVE),
    ("MAP_HASSEMAPHORE", MAP_HASSEMAPHORE),
];

pub const MREMAP_NAMES: &[Name] = &[("MAP_FIXED", MAP_FIXED), ("MAP_REMAPDUP", MAP_REMAPDUP)];

pub const MADV_NAMES: &[Name] = &[
    ("MADV_NORMAL", MADV_NORMAL),
    ("MADV_RANDOM", MADV_RANDOM),
    ("MADV_SEQUENTIAL", MADV_SEQUENTIAL),
    ("MADV_WILLNEED", MADV_WILLNEED),
    ("MADV_DONTNEED", MADV_DONTNEED),
    ("MADV_SPACEAVAIL", MADV_SPACEAVAIL),
    ("MADV_FREE", MADV_FREE),
];

pub const MS_NAMES: &[Name] = &[
    ("MS_ASYNC", MS_ASYNC),
    ("MS_INVALIDATE", MS_INVALIDATE),
    ("MS_SYNC", MS_SYNC),
];

pub const MCL_NAMES: &[Name] = &[("MCL_CURRENT", MCL_CURRENT), ("MCL_FUTURE", MCL_FUTURE)];

pub const INHERIT_NAMES: &[Name] = &[
    ("MAP_INHERIT_SHARE", MAP_INHERIT_SHARE),
    ("MAP_INHERIT_COPY", MAP_INHERIT_COPY),
    ("MAP_INHERIT_NONE", MAP_INHERIT_NONE),
    ("MAP_INHERIT_DONATE_COPY", MAP_INHERIT_DONATE_COPY),
    ("MAP_INHERIT_ZERO", MAP_INHERIT_ZERO),
    ("MAP_INHERIT_DEFAULT", MAP_INHERIT_DEFAULT),
];
