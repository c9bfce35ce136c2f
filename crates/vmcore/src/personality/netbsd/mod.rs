//! NetBSD 10 amd64 (GENERIC, its defaults: PaX ASLR and PaX MPROTECT on),
//! as `FORMAT-v2-bsd.md` assumes it: its layout, errno numbers (the BSD
//! `<sys/errno.h>`), ABI names (`abi`) and system calls. Its argument
//! checks are `crate::sys::netbsd`.

pub mod abi;

use super::{
    AbiNames, Calls, ErrnoTable, Kernel, Layout, MapPolicy, MergeRule, Personality, Placement,
    ProtMacro,
};
use crate::errno::Errno;

/// `VM_MAXUSER_ADDRESS` on amd64 (`sys/arch/amd64/include/vmparam.h`
/// since 2018: one page below 0x7f8000000000).
pub const VM_MAXUSER_ADDRESS: u64 = 0x7f80_0000_0000 - 0x1000;
/// `vm.user_va0_disable=1`: page 0 is outside the map.
pub const VM_MIN_ADDRESS: u64 = 0x1000;
/// The top of the stack area (`USRSTACK` = `VM_MAXUSER_ADDRESS`).
pub const USRSTACK: u64 = VM_MAXUSER_ADDRESS;
pub const STACK_SIZE: u64 = 128 * 1024;
/// `MAXSSIZ` on amd64: 128 MiB.
pub const MAXSSIZ: u64 = 128 << 20;
/// `vm.user_stack_guard_size`: 1 MiB kept free below the largest stack.
pub const USER_STACK_GUARD_SIZE: u64 = 1 << 20;
/// Where top-down placement starts: `VM_DEFAULT_ADDRESS_TOPDOWN` is
/// `trunc_page(USRSTACK - MAXSSIZ - size - user_stack_guard_size)`.
pub const DEFAULT_ADDRESS_TOP: u64 = USRSTACK - MAXSSIZ - USER_STACK_GUARD_SIZE;
/// The initial break of a small program.
pub const BRK_START: u64 = 0x0000_0000_0060_0000;

/// The NetBSD errno numbers (`sys/sys/errno.h`).
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
    (Errno::ENOSYS, 78),
    (Errno::EOVERFLOW, 84),
    (Errno::ENOTSUP, 86),
];

/// NetBSD amd64.
pub static NETBSD: Personality = Personality {
    name: "netbsd",
    kernel: Kernel::NetBsd,
    layout: Layout {
        task_size: VM_MAXUSER_ADDRESS,
        mmap_min_addr: VM_MIN_ADDRESS,
        mmap_base: DEFAULT_ADDRESS_TOP,
        stack_top: USRSTACK,
        stack_size: STACK_SIZE,
        stack_rlimit: MAXSSIZ,
        stack_guard_gap: 0,
        brk_start: BRK_START,
    },
    errno: ErrnoTable(ERRNO),
    names: AbiNames {
        prot: abi::PROT_NAMES,
        map: abi::MAP_NAMES,
        madv: abi::MADV_NAMES,
        ms: abi::MS_NAMES,
        mcl: abi::MCL_NAMES,
        mlock: &[],
        mremap: abi::MREMAP_NAMES,
        inherit: abi::INHERIT_NAMES,
        prot_macro: Some(ProtMacro {
            name: "PROT_MPROTECT",
            shift: abi::PROT_MPROTECT_SHIFT,
        }),
        map_aligned: true,
        raw_numbers: true,
    },
    calls: Calls::all()
        .difference(Calls::MLOCK2)
        .difference(Calls::MEMFD_CREATE)
        .difference(Calls::BRK),
    map_policy: MapPolicy {
        placement: Placement::UvmTopDown,
        merge: MergeRule::Uvm,
    },
};
