//! The FreeBSD amd64 system-call ABI of the VM calls (`sys/sys/mman.h` of
//! FreeBSD 14): the values of the flag, advice and inheritance arguments
//! and their names as the `.vms` language spells them.

pub use crate::personality::Name;

pub const PROT_NONE: u64 = 0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
/// `PROT_MAX(p)`: the most a mapping may ever be given, in bits 16..18.
pub const PROT_MAX_SHIFT: u32 = 16;

pub const MAP_SHARED: u64 = 0x0001;
pub const MAP_PRIVATE: u64 = 0x0002;
pub const MAP_FIXED: u64 = 0x0010;
pub const MAP_RESERVED0020: u64 = 0x0020;
pub const MAP_RESERVED0040: u64 = 0x0040;
pub const MAP_RESERVED0080: u64 = 0x0080;
pub const MAP_RESERVED0100: u64 = 0x0100;
pub const MAP_HASSEMAPHORE: u64 = 0x0200;
pub const MAP_STACK: u64 = 0x0400;
pub const MAP_NOSYNC: u64 = 0x0800;
pub const MAP_FILE: u64 = 0x0000;
pub const MAP_ANON: u64 = 0x1000;
pub const MAP_GUARD: u64 = 0x2000;
pub const MAP_EXCL: u64 = 0x4000;
pub const MAP_NOCORE: u64 = 0x0002_0000;
pub const MAP_PREFAULT_READ: u64 = 0x0004_0000;
pub const MAP_32BIT: u64 = 0x0008_0000;
/// `MAP_ALIGNED(n)`: align to 2^n, in bits 24..31.
pub const MAP_ALIGNMENT_SHIFT: u32 = 24;
pub const MAP_ALIGNMENT_MASK: u64 = 0xff << MAP_ALIGNMENT_SHIFT;
pub const MAP_ALIGNED_SUPER: u64 = 1 << MAP_ALIGNMENT_SHIFT;

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_FREE: u64 = 5;
pub const MADV_NOSYNC: u64 = 6;
pub const MADV_AUTOSYNC: u64 = 7;
pub const MADV_NOCORE: u64 = 8;
pub const MADV_CORE: u64 = 9;
pub const MADV_PROTECT: u64 = 10;

pub const MS_SYNC: u64 = 0x0000;
pub const MS_ASYNC: u64 = 0x0001;
pub const MS_INVALIDATE: u64 = 0x0002;

pub const MCL_CURRENT: u64 = 0x0001;
pub const MCL_FUTURE: u64 = 0x0002;

pub const INHERIT_SHARE: u64 = 0;
pub const INHERIT_COPY: u64 = 1;
pub const INHERIT_NONE: u64 = 2;
pub const INHERIT_ZERO: u64 = 3;

/// `MINCORE_*`: the byte `mincore` stores per page (`pmap_mincore`).
pub const MINCORE_INCORE: u8 = 0x1;
pub const MINCORE_REFERENCED: u8 = 0x2;
pub const MINCORE_MODIFIED: u8 = 0x4;
pub const MINCORE_REFERENCED_OTHER: u8 = 0x8;
pub const MINCORE_MODIFIED_OTHER: u8 = 0x10;
pub const MINCORE_SUPER: u8 = 0x60;
/// `MINCORE_PSIND(1)`: mapped by a 2 MiB page.
pub const MINCORE_PSIND_1: u8 = 0x20;

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
    ("MAP_GUARD", MAP_GUARD),
    ("MAP_EXCL", MAP_EXCL),
    ("MAP_NOSYNC", MAP_NOSYNC),
    ("MAP_NOCORE", MAP_NOCORE),
    ("MAP_PREFAULT_READ", MAP_PREFAULT_READ),
    ("MAP_HASSEMAPHORE", MAP_HASSEMAPHORE),
    ("MAP_32BIT", MAP_32BIT),
    ("MAP_ALIGNED_SUPER", MAP_ALIGNED_SUPER),
    ("MAP_RESERVED0020", MAP_RESERVED0020),
    ("MAP_RESERVED0040", MAP_RESERVED0040),
    ("MAP_RESERVED0080", MAP_RESERVED0080),
    ("MAP_RESERVED0100", MAP_RESERVED0100),
];

pub const MADV_NAMES: &[Name] = &[
    ("MADV_NORMAL", MADV_NORMAL),
    ("MADV_RANDOM", MADV_RANDOM),
    ("MADV_SEQUENTIAL", MADV_SEQUENTIAL),
    ("MADV_WILLNEED", MADV_WILLNEED),
    ("MADV_DONTNEED", MADV_DONTNEED),
    ("MADV_FREE", MADV_FREE),
    ("MADV_NOSYNC", MADV_NOSYNC),
    ("MADV_AUTOSYNC", MADV_AUTOSYNC),
    ("MADV_NOCORE", MADV_NOCORE),
    ("MADV_CORE", MADV_CORE),
    ("MADV_PROTECT", MADV_PROTECT),
];

pub const MS_NAMES: &[Name] = &[
    ("MS_SYNC", MS_SYNC),
    ("MS_ASYNC", MS_ASYNC),
    ("MS_INVALIDATE", MS_INVALIDATE),
];

pub const MCL_NAMES: &[Name] = &[("MCL_CURRENT", MCL_CURRENT), ("MCL_FUTURE", MCL_FUTURE)];

pub const INHERIT_NAMES: &[Name] = &[
    ("INHERIT_SHARE", INHERIT_SHARE),
    ("INHERIT_COPY", INHERIT_COPY),
    ("INHERIT_NONE", INHERIT_NONE),
    ("INHERIT_ZERO", INHERIT_ZERO),
];
