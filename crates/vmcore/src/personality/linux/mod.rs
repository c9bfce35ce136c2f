//! Linux 6.18 on x86_64 with 4-level paging: the kernel the conformance
//! cases were recorded on. Its system calls are `crate::sys`; this file
//! holds its numbers: the layout of a process without address-space
//! randomisation (as under `setarch -R`), the errno numbers of
//! `asm-generic/errno-base.h` and `errno.h`, and the ABI names of `abi`.

pub mod abi;

use super::{
    AbiNames, Calls, ErrnoTable, Kernel, Layout, MapPolicy, MergeRule, Personality, Placement,
};
use crate::addr::PAGE_SIZE;
use crate::errno::Errno;

/// The top of the user address space with 4-level paging (`TASK_SIZE`).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// The lowest address mmap may hand out (`vm.mmap_min_addr`, 64 KiB).
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
/// Where top-down placement starts: `mmap_base` of a process without
/// address-space randomisation (as under `setarch -R`).
pub const MMAP_BASE: u64 = 0x7fff_f7ff_f000;
/// The initial stack: 132 KiB below `TASK_SIZE`, growing down.
pub const STACK_TOP: u64 = TASK_SIZE;
pub const STACK_SIZE: u64 = 132 * 1024;
/// `RLIMIT_STACK`: the default 8 MiB a stack may grow to.
pub const STACK_RLIMIT: u64 = 8 << 20;
/// `stack_guard_gap`: 256 pages kept free below a growing stack.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// Where the heap (`brk`) starts.
pub const BRK_START: u64 = 0x5555_5555_9000;
/// `MAX_LFS_FILESIZE` on 64-bit: the largest file position (`LLONG_MAX`),
/// shmem's and memfd's `s_maxbytes`, and what `file_mmap_ok` allows a
/// regular file's mapping to reach.
pub const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;
/// ext4's `s_maxbytes` with 4 KiB blocks and extents (`ext4_max_size`):
/// 2^32 - 1 blocks, 16 TiB - 4 KiB. Measured on the recording machine
/// (case `file_position_limits`): pwrite at it is EFBIG, ftruncate to it
/// succeeds.
pub const EXT4_MAX_BYTES: u64 = 0x0fff_ffff_f000;

/// `sysctl vm.max_map_count` on the recording machine (the kernel's
/// default, `DEFAULT_MAX_MAP_COUNT`): the default of
/// [`crate::machine::MachineConfig::max_map_count`].
pub const MAX_MAP_COUNT: usize = 65_530;

/// The x86_64 errno numbers (`asm-generic/errno-base.h`, `errno.h`).
const ERRNO: &[(Errno, i32)] = &[
    (Errno::EPERM, 1),
    (Errno::ENOENT, 2),
    (Errno::ESRCH, 3),
    (Errno::EBADF, 9),
    (Errno::EAGAIN, 11),
    (Errno::ENOMEM, 12),
    (Errno::EACCES, 13),
    (Errno::EFAULT, 14),
    (Errno::EBUSY, 16),
    (Errno::EEXIST, 17),
    (Errno::ENODEV, 19),
    (Errno::EINVAL, 22),
    (Errno::EFBIG, 27),
    (Errno::ENOSYS, 38),
    (Errno::EOVERFLOW, 75),
    (Errno::EOPNOTSUPP, 95),
    (Errno::ENOTSUP, 95),
];

/// Linux x86_64.
pub static LINUX: Personality = Personality {
    name: "linux",
    kernel: Kernel::Linux,
    layout: Layout {
        task_size: TASK_SIZE,
        mmap_min_addr: MMAP_MIN_ADDR,
        mmap_base: MMAP_BASE,
        stack_top: STACK_TOP,
        stack_size: STACK_SIZE,
        stack_rlimit: STACK_RLIMIT,
        stack_guard_gap: STACK_GUARD_GAP,
        brk_start: BRK_START,
    },
    errno: ErrnoTable(ERRNO),
    names: AbiNames {
        prot: abi::PROT_NAMES,
        map: abi::MAP_NAMES,
        madv: abi::MADV_NAMES,
        ms: abi::MS_NAMES,
        mcl: abi::MCL_NAMES,
        mlock: abi::MLOCK_NAMES,
        mremap: abi::MREMAP_NAMES,
        inherit: &[],
        prot_macro: None,
        map_aligned: false,
        raw_numbers: false,
    },
    calls: Calls::all()
        .difference(Calls::MINHERIT)
        .difference(Calls::SETRLIMIT),
    map_policy: MapPolicy {
        placement: Placement::TopDown,
        merge: MergeRule::Linux,
    },
};
