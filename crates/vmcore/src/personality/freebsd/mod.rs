//! FreeBSD 14 amd64 (GENERIC, defaults except `kern.elf64.aslr.enable=0`),
//! as `FORMAT-v2-bsd.md` assumes it: its layout, errno numbers (the BSD
//! `<sys/errno.h>`), ABI names (`abi`) and system calls. Its argument
//! checks are `crate::sys::freebsd`.

pub mod abi;

use super::{
    AbiNames, Calls, ErrnoTable, Kernel, Layout, MapPolicy, MergeRule, Personality, Placement,
    ProtMacro,
};
use crate::errno::Errno;

/// `VM_MAXUSER_ADDRESS` on amd64 with 4-level paging: the 48-bit limit.
pub const VM_MAXUSER_ADDRESS: u64 = 0x8000_0000_0000;
/// `vm_map_min` with `security.bsd.map_at_zero=0`: page 0 is outside.
pub const VM_MIN_ADDRESS: u64 = 0x1000;
/// `USRSTACK`: the shared page sits in the top page, the stack below it.
pub const USRSTACK: u64 = VM_MAXUSER_ADDRESS - 0x1000;
/// The initial stack and its growth (`sgrowsiz` is 128 KiB).
pub const STACK_SIZE: u64 = 128 * 1024;
/// `maxssiz`, the default `RLIMIT_STACK`: 512 MiB on amd64.
pub const MAXSSIZ: u64 = 512 << 20;
/// `security.bsd.stack_guard_page`: one page.
pub const STACK_GUARD: u64 = 0x1000;
/// The initial break (`vm_daddr` + the data segment of a small program).
pub const MINBRK: u64 = 0x0000_0000_0040_0000 + (1 << 20);
/// `maxdsiz`, `lim_max(RLIMIT_DATA)`: 32 GiB on amd64. Mappings without a
/// hint start above `daddr + maxdsiz`, the end of the largest heap.
pub const MAXDSIZ: u64 = 32 << 30;

/// The FreeBSD errno numbers (`sys/sys/errno.h`). ENOTSUP is EOPNOTSUPP.
const ERRNO: &[(Errno, i32)] = &[
    (Errno::EPERM, 1),
    (Errno::ENOENT, 2),
    (Errno::ESRCH, 3),
    (Errno::EBADF, 9),
    (Errno::ENOMEM, 12),
    (Errno::EACCES, 13),
    (Errno::EFAULT, 14),
    (Errno::EBUSY, 16),
    (Errno::EEXIST, 17),
    (Errno::ENODEV, 19),
    (Errno::EINVAL, 22),
    (Errno::EFBIG, 27),
    (Errno::EAGAIN, 35),
    (Errno::EOPNOTSUPP, 45),
    (Errno::ENOTSUP, 45),
    (Errno::ENOSYS, 78),
    (Errno::EOVERFLOW, 84),
];

/// FreeBSD amd64.
pub static FREEBSD: Personality = Personality {
    name: "freebsd",
    kernel: Kernel::FreeBsd,
    layout: Layout {
        task_size: VM_MAXUSER_ADDRESS,
        mmap_min_addr: VM_MIN_ADDRESS,
        mmap_base: MINBRK + MAXDSIZ,
        stack_top: USRSTACK,
        stack_size: STACK_SIZE,
        stack_rlimit: MAXSSIZ,
        stack_guard_gap: STACK_GUARD,
        brk_start: MINBRK,
    },
    errno: ErrnoTable(ERRNO),
    names: AbiNames {
        prot: abi::PROT_NAMES,
        map: abi::MAP_NAMES,
        madv: abi::MADV_NAMES,
        ms: abi::MS_NAMES,
        mcl: abi::MCL_NAMES,
        mlock: &[],
        mremap: &[],
        inherit: abi::INHERIT_NAMES,
        prot_macro: Some(ProtMacro {
            name: "PROT_MAX",
            shift: abi::PROT_MAX_SHIFT,
        }),
        map_aligned: true,
        raw_numbers: true,
    },
    calls: Calls::all()
        .difference(Calls::MLOCK2)
        .difference(Calls::MREMAP),
    map_policy: MapPolicy {
        placement: Placement::FirstFitUp,
        merge: MergeRule::FreeBsd,
    },
};
