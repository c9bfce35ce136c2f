//! The OS personality: what differs between the kernels the simulator
//! follows, kept in one value so that the layers below never name a kernel.
//!
//! ```text
//!   Personality ─┬─ name            "linux"
//!                ├─ layout          TASK_SIZE, mmap_base, stack, brk ...   (Layout)
//!                ├─ errno numbers   EINVAL -> 22 on Linux x86_64           (ErrnoTable)
//!                ├─ ABI names       PROT_/MAP_/MADV_/MS_/MCL_/MREMAP_ ...  (AbiNames)
//!                ├─ calls           which system calls exist                (Calls)
//!                └─ map policy      placement and merge rules, consulted by vm/
//! ```
//!
//! The hardware (x86_64 page tables, the TLB), the frames and the memory
//! objects stay one machine under every personality; a personality changes
//! only what a process sees of the kernel: the address-space layout, the
//! numbers and names of its ABI, its argument checks and errno, and the map
//! policy (where a mapping lands, when two entries become one). This is the
//! split the BSDs make between `sys/uvm` (one VM system) and the
//! `compat/linux` emulation that only translates numbers and checks.
//!
//! Three personalities exist: [`LINUX`] (Linux 6.18 x86_64, the kernel the
//! conformance cases were recorded on), [`FREEBSD`] (FreeBSD 14 amd64) and
//! [`NETBSD`] (NetBSD 10 amd64). Each is a value of this type; its
//! [`Kernel`] selects the system-call checks in `crate::sys` (`sys/` for
//! Linux, `sys/freebsd/`, `sys/netbsd/`), and its [`MapPolicy`] the
//! placement and merge rules of the map layer.

pub mod freebsd;
pub mod linux;
pub mod netbsd;

use crate::errno::Errno;
use bitflags::bitflags;
use core::fmt;

pub use freebsd::FREEBSD;
pub use linux::LINUX;
pub use netbsd::NETBSD;

/// One symbolic name of the ABI and its value.
pub type Name = (&'static str, u64);

/// The user address-space layout of a process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Layout {
    /// The top of the user address space (`TASK_SIZE`, `VM_MAXUSER_ADDRESS`):
    /// no mapping ends above it, an access at or above it faults.
    pub task_size: u64,
    /// The lowest address mmap may hand out (`vm.mmap_min_addr`).
    pub mmap_min_addr: u64,
    /// Where top-down placement starts (`mmap_base`).
    pub mmap_base: u64,
    /// The initial stack: `[stack_top - stack_size, stack_top)`, growing down.
    pub stack_top: u64,
    pub stack_size: u64,
    /// `RLIMIT_STACK`: how far a stack may grow.
    pub stack_rlimit: u64,
    /// `stack_guard_gap`: kept free below a growing stack.
    pub stack_guard_gap: u64,
    /// Where the heap (`brk`) starts.
    pub brk_start: u64,
}

/// The numbers of the errno values, as the personality's `<errno.h>` has
/// them. [`Errno`] is the kernel-neutral identity ("invalid argument");
/// the number a process sees comes from here.
#[derive(Clone, Copy)]
pub struct ErrnoTable(pub &'static [(Errno, i32)]);

impl ErrnoTable {
    /// The number of `e`. Every personality lists every [`Errno`] (a unit
    /// test checks it); an unlisted one would read as 0, never as another
    /// error's number.
    pub fn number(&self, e: Errno) -> i32 {
        self.0.iter().find(|(x, _)| *x == e).map_or(0, |&(_, n)| n)
    }
    /// The errno whose number is `n`, if any (the first listed, when two
    /// names share a number, as EOPNOTSUPP and ENOTSUP do on Linux).
    pub fn by_number(&self, n: i32) -> Option<Errno> {
        self.0.iter().find(|&&(_, x)| x == n).map(|&(e, _)| e)
    }
}

/// The names of the ABI's flag and advice values, one table per argument
/// kind, as the personality's `<sys/mman.h>` spells them. The `.vms`
/// language and the JavaScript bindings accept exactly these.
#[derive(Clone, Copy, Debug)]
pub struct AbiNames {
    pub prot: &'static [Name],
    pub map: &'static [Name],
    pub madv: &'static [Name],
    pub ms: &'static [Name],
    pub mcl: &'static [Name],
    pub mlock: &'static [Name],
    pub mremap: &'static [Name],
    /// `minherit`'s values (the BSDs; empty where there is no minherit).
    pub inherit: &'static [Name],
    /// The macro that carries a maximum protection in a PROT argument:
    /// FreeBSD's `PROT_MAX(P)`, NetBSD's `PROT_MPROTECT(P)`.
    pub prot_macro: Option<ProtMacro>,
    /// `MAP_ALIGNED(N)` (N << 24) is offered in MAP (and mremap) arguments.
    pub map_aligned: bool,
    /// Flag arguments may carry numbers (undefined bits, as the BSD test
    /// suites pass them); on Linux a number in a flag argument must be 0.
    pub raw_numbers: bool,
}

/// A macro of one PROT argument: `NAME(P)` is `P << shift`.
#[derive(Clone, Copy, Debug)]
pub struct ProtMacro {
    pub name: &'static str,
    pub shift: u32,
}

impl AbiNames {
    /// The name of one advice value (for events and views).
    pub fn advice_name(&self, advice: u64) -> Option<&'static str> {
        self.madv
            .iter()
            .find(|&&(_, v)| v == advice)
            .map(|&(n, _)| n)
    }
}

/// Look a name up in one table.
pub fn lookup(table: &[Name], name: &str) -> Option<u64> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

bitflags! {
    /// The system calls a personality offers. One that is missing answers
    /// ENOSYS, as a kernel without the call does.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Calls: u32 {
        const MMAP = 1 << 0;
        const MUNMAP = 1 << 1;
        const MPROTECT = 1 << 2;
        const MADVISE = 1 << 3;
        const MINCORE = 1 << 4;
        const MLOCK = 1 << 5;
        const MLOCK2 = 1 << 6;
        const MUNLOCK = 1 << 7;
        const MLOCKALL = 1 << 8;
        const MUNLOCKALL = 1 << 9;
        const MSYNC = 1 << 10;
        const MREMAP = 1 << 11;
        const BRK = 1 << 12;
        const FORK = 1 << 13;
        const EXIT = 1 << 14;
        const OPEN = 1 << 15;
        const MEMFD_CREATE = 1 << 16;
        const PREAD = 1 << 17;
        const PWRITE = 1 << 18;
        const FTRUNCATE = 1 << 19;
        const CLOSE = 1 << 20;
        const MINHERIT = 1 << 21;
        const SETRLIMIT = 1 << 22;
    }
}

/// One system call: its bit in [`Calls`] and its name in events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sys {
    Mmap,
    Munmap,
    Mprotect,
    Madvise,
    Mincore,
    Mlock,
    Mlock2,
    Munlock,
    Mlockall,
    Munlockall,
    Msync,
    Mremap,
    Brk,
    Fork,
    Exit,
    Open,
    MemfdCreate,
    Pread,
    Pwrite,
    Ftruncate,
    Close,
    Minherit,
    Setrlimit,
}

impl Sys {
    /// The call's name, as `strace` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Sys::Mmap => "mmap",
            Sys::Munmap => "munmap",
            Sys::Mprotect => "mprotect",
            Sys::Madvise => "madvise",
            Sys::Mincore => "mincore",
            Sys::Mlock => "mlock",
            Sys::Mlock2 => "mlock2",
            Sys::Munlock => "munlock",
            Sys::Mlockall => "mlockall",
            Sys::Munlockall => "munlockall",
            Sys::Msync => "msync",
            Sys::Mremap => "mremap",
            Sys::Brk => "brk",
            Sys::Fork => "fork",
            Sys::Exit => "exit",
            Sys::Open => "open",
            Sys::MemfdCreate => "memfd_create",
            Sys::Pread => "pread",
            Sys::Pwrite => "pwrite",
            Sys::Ftruncate => "ftruncate",
            Sys::Close => "close",
            Sys::Minherit => "minherit",
            Sys::Setrlimit => "setrlimit",
        }
    }
    /// The call's bit in [`Calls`].
    pub const fn bit(self) -> Calls {
        Calls::from_bits_retain(1 << self as u32)
    }
}

/// Where a mapping without MAP_FIXED lands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// Linux's `arch_get_unmapped_area_topdown`: a free page-aligned hint is
    /// used as it is; otherwise the highest gap below `mmap_base` that fits,
    /// searched from a cached start (the classic `free_area_cache`),
    /// keeping the stack guard gap.
    TopDown,
    /// NetBSD's `uvm_map_findspace` on a top-down map, as `sys_mmap`
    /// drives it with PaX ASLR on: a free hint is used as it is; a busy
    /// one sends the search down from the hint to the highest free range
    /// below it. With no hint the range is taken below the default
    /// address (`VM_DEFAULT_ADDRESS_TOPDOWN`, `mmap_base` here); PaX ASLR
    /// (`pax_aslr_mmap`) makes every unhinted or file mapping land there.
    UvmTopDown,
    /// FreeBSD's `vm_map_find` with ASLR off: the first free range at or
    /// above the hint (`vm_map_findspace`); without a hint, anonymous
    /// memory clusters upward from `anon_loc` and the rest starts above
    /// the largest heap (`daddr + maxdsiz`).
    FirstFitUp,
}

/// When two touching map entries are one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MergeRule {
    /// Linux's `is_mergeable_vma` + `is_mergeable_anon_vma`, attempted
    /// after mmap, mprotect, madvise, mlock, mremap and brk, never after
    /// munmap (`vma_merge_new_range`, `vma_modify`).
    Linux,
    /// NetBSD UVM: `uvm_map_enter` merges a new mapping into a compatible
    /// neighbour (`UVM_ET_ISCOMPATIBLE`, `amap_extend`); the first fault
    /// of an entry without an amap joins it to a neighbour that has one
    /// (`amap_copy` -> `uvm_mapent_trymerge(UVM_MERGE_COPYING)`), after
    /// clipping a large entry to its 64 KiB chunk; mprotect, minherit,
    /// madvise, mlock and munlock clip and never merge.
    Uvm,
    /// FreeBSD's `vm_map_mergeable_neighbors`, attempted by
    /// `vm_map_try_merge_entries` after mmap, mprotect, minherit, mlock,
    /// munlock and entry advice; a new anonymous mapping also extends the
    /// anonymous memory before it (`vm_map_insert1`, `vm_object_coalesce`).
    /// Stack entries and stack gaps never merge.
    FreeBsd,
}

/// The map policy that the map layer (`vm/`) consults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MapPolicy {
    pub placement: Placement,
    pub merge: MergeRule,
}

/// Which kernel's system-call checks a personality runs (`crate::sys`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kernel {
    Linux,
    FreeBsd,
    NetBsd,
}

/// A kernel as a process sees it. See the module doc.
pub struct Personality {
    /// The name the `.vms` language and the bindings use: `linux`,
    /// `freebsd`, `netbsd`.
    pub name: &'static str,
    pub kernel: Kernel,
    pub layout: Layout,
    pub errno: ErrnoTable,
    pub names: AbiNames,
    pub calls: Calls,
    pub map_policy: MapPolicy,
}

impl Personality {
    /// The errno number a process of this personality sees.
    pub fn errno_number(&self, e: Errno) -> i32 {
        self.errno.number(e)
    }
    /// Whether the system call exists here.
    pub fn has(&self, call: Sys) -> bool {
        self.calls.contains(call.bit())
    }
}

impl fmt::Debug for Personality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Personality {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self, other)
    }
}

/// The personalities that exist, by name.
pub static ALL: &[&Personality] = &[&LINUX, &FREEBSD, &NETBSD];

/// A personality by its name (`linux`, `freebsd`, `netbsd`).
pub fn by_name(name: &str) -> Option<&'static Personality> {
    ALL.iter().copied().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_personality_numbers_every_errno_once() {
        for p in ALL {
            for &e in Errno::ALL {
                let n = p.errno_number(e);
                assert!(n > 0, "{}: {e} has no number", p.name);
                // Only EOPNOTSUPP and ENOTSUP may share a number.
                let first = p.errno.by_number(n);
                let alias = matches!((first, e), (Some(Errno::EOPNOTSUPP), Errno::ENOTSUP));
                assert!(first == Some(e) || alias, "{}: {e}", p.name);
            }
        }
    }

    #[test]
    fn linux_numbers_are_the_x86_64_ones() {
        assert_eq!(LINUX.errno_number(Errno::EINVAL), 22);
        assert_eq!(LINUX.errno_number(Errno::ENOMEM), 12);
        assert_eq!(LINUX.errno_number(Errno::EOPNOTSUPP), 95);
        assert_eq!(LINUX.errno_number(Errno::ENOSYS), 38);
    }

    #[test]
    fn every_call_has_its_own_bit() {
        let all = [
            Sys::Mmap,
            Sys::Munmap,
            Sys::Mprotect,
            Sys::Madvise,
            Sys::Mincore,
            Sys::Mlock,
            Sys::Mlock2,
            Sys::Munlock,
            Sys::Mlockall,
            Sys::Munlockall,
            Sys::Msync,
            Sys::Mremap,
            Sys::Brk,
            Sys::Fork,
            Sys::Exit,
            Sys::Open,
            Sys::MemfdCreate,
            Sys::Pread,
            Sys::Pwrite,
            Sys::Ftruncate,
            Sys::Close,
            Sys::Minherit,
            Sys::Setrlimit,
        ];
        let mut seen = Calls::empty();
        for c in all {
            assert!(!seen.intersects(c.bit()), "{} shares a bit", c.name());
            assert!(
                Calls::all().contains(c.bit()),
                "{} has no named bit",
                c.name()
            );
            seen |= c.bit();
        }
        assert_eq!(seen, Calls::all());
        assert!(!LINUX.has(Sys::Minherit));
        assert!(FREEBSD.has(Sys::Minherit) && NETBSD.has(Sys::Minherit));
        assert!(!FREEBSD.has(Sys::Mremap) && NETBSD.has(Sys::Mremap));
    }

    #[test]
    fn personalities_are_found_by_name() {
        assert_eq!(by_name("linux").map(|p| p.name), Some("linux"));
        assert!(by_name("Linux").is_none());
        assert_eq!(by_name("freebsd").map(|p| p.kernel), Some(Kernel::FreeBsd));
        assert_eq!(by_name("netbsd").map(|p| p.kernel), Some(Kernel::NetBsd));
        assert!(by_name("openbsd").is_none());
    }
}
