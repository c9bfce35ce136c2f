//! Typed views of protection and map-entry flags used inside the core.
//!
//! The system-call boundary takes raw integers (see [`crate::personality::linux::abi`]); once an
//! argument is checked it becomes one of these types.

use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// The protection of a mapping: what accesses `mprotect` allows.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize)]
    pub struct Prot: u8 {
        /// Loads are allowed. On x86_64 any non-empty protection is readable:
        /// the hardware has no write-only or execute-only page (without PKU).
        const READ = 1;
        /// Stores are allowed (private mappings copy on the first one).
        const WRITE = 2;
        /// Instruction fetches are allowed: the PTE's NX bit is clear.
        const EXEC = 4;
    }
}

impl Prot {
    /// From the raw `PROT_*` bits (callers check for unknown bits first).
    pub fn from_raw(raw: u64) -> Prot {
        Prot::from_bits_truncate((raw & 7) as u8)
    }
    /// Whether a load may be performed (x86: every non-`PROT_NONE` page reads).
    pub fn readable(self) -> bool {
        !self.is_empty()
    }
    pub fn writable(self) -> bool {
        self.contains(Prot::WRITE)
    }
    pub fn executable(self) -> bool {
        self.contains(Prot::EXEC)
    }
}

bitflags! {
    /// Per-entry flags, after Linux's `vm_flags` (`include/linux/mm.h`).
    /// Two neighbouring entries merge only when these are equal.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize)]
    pub struct VmFlags: u32 {
        /// VM_SHARED: stores reach the object and every other mapping of it.
        const SHARED = 1 << 0;
        /// VM_MAYSHARE: mapped MAP_SHARED (the `s` in /proc/PID/maps).
        const MAYSHARE = 1 << 1;
        /// VM_MAYREAD/MAYWRITE/MAYEXEC: what mprotect may grant later.
        const MAYREAD = 1 << 2;
        const MAYWRITE = 1 << 3;
        const MAYEXEC = 1 << 4;
        /// VM_GROWSDOWN: a stack that grows when touched just below it.
        const GROWSDOWN = 1 << 5;
        /// VM_LOCKED: mlock'ed; pages stay resident, DONTNEED refuses.
        const LOCKED = 1 << 6;
        /// VM_LOCKONFAULT: locked, but populated only as pages are touched.
        const LOCKONFAULT = 1 << 7;
        /// VM_DONTCOPY (MADV_DONTFORK): absent from a forked child.
        const DONTCOPY = 1 << 8;
        /// VM_WIPEONFORK: the child gets fresh zero-filled memory here.
        const WIPEONFORK = 1 << 9;
        /// VM_DONTDUMP (MADV_DONTDUMP): left out of core dumps.
        const DONTDUMP = 1 << 10;
        /// VM_HUGEPAGE (MADV_HUGEPAGE): transparent huge pages wanted.
        const HUGEPAGE = 1 << 11;
        /// VM_NOHUGEPAGE (MADV_NOHUGEPAGE): never use huge pages here.
        const NOHUGEPAGE = 1 << 12;
        /// VM_RAND_READ (MADV_RANDOM): no readahead.
        const RAND_READ = 1 << 13;
        /// VM_SEQ_READ (MADV_SEQUENTIAL): aggressive readahead.
        const SEQ_READ = 1 << 14;
        /// VM_ACCOUNT: private writable memory charged to the commit limit.
        const ACCOUNT = 1 << 15;
        /// VM_NORESERVE (MAP_NORESERVE): not charged.
        const NORESERVE = 1 << 16;
        /// VM_MERGEABLE (MADV_MERGEABLE): offered to KSM.
        const MERGEABLE = 1 << 17;
        /// VM_DROPPABLE (MAP_DROPPABLE): the kernel may drop the pages
        /// under memory pressure instead of swapping them; never locked.
        const DROPPABLE = 1 << 18;
        /// VM_SYNC (MAP_SYNC): page faults wait for the file system's
        /// metadata (DAX only; elsewhere it only keeps entries apart).
        const SYNC = 1 << 19;
        /// FreeBSD `MAP_ENTRY_NOSYNC` (MAP_NOSYNC, MADV_NOSYNC): the
        /// syncer leaves the entry's dirty pages alone.
        const NOSYNC = 1 << 20;
        /// FreeBSD `MAP_ENTRY_GUARD` (MAP_GUARD): a reservation with no
        /// object and no access, ever; every access is SIGSEGV.
        const GUARD = 1 << 21;
        /// FreeBSD `MAP_ENTRY_STACK_GAP_DN`: the gap reserved below a
        /// `MAP_STACK` mapping, into which the stack grows on a fault.
        const STACK_GAP = 1 << 22;
        /// VM_HUGETLB: a hugetlbfs mapping, whose pages come from the huge
        /// page pool (vm/hugetlb.rs) and which splits only at huge page
        /// boundaries.
        const HUGETLB = 1 << 23;
        /// VM_DONTEXPAND: mremap may not grow it; part of VM_SPECIAL, so
        /// the entry never merges (set by hugetlbfs with VM_HUGETLB).
        const DONTEXPAND = 1 << 24;
    }
}

impl VmFlags {
    /// The flag names for views, as smaps' VmFlags line would spell them.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: &[(VmFlags, &str)] = &[
            (VmFlags::SHARED, "shared"),
            (VmFlags::MAYSHARE, "mayshare"),
            (VmFlags::GROWSDOWN, "growsdown"),
            (VmFlags::LOCKED, "locked"),
            (VmFlags::LOCKONFAULT, "lockonfault"),
            (VmFlags::DONTCOPY, "dontcopy"),
            (VmFlags::WIPEONFORK, "wipeonfork"),
            (VmFlags::DONTDUMP, "dontdump"),
            (VmFlags::HUGEPAGE, "hugepage"),
            (VmFlags::NOHUGEPAGE, "nohugepage"),
            (VmFlags::RAND_READ, "random"),
            (VmFlags::SEQ_READ, "sequential"),
            (VmFlags::ACCOUNT, "account"),
            (VmFlags::NORESERVE, "noreserve"),
            (VmFlags::MERGEABLE, "mergeable"),
            (VmFlags::DROPPABLE, "droppable"),
            (VmFlags::SYNC, "sync"),
            (VmFlags::NOSYNC, "nosync"),
            (VmFlags::GUARD, "guard"),
            (VmFlags::STACK_GAP, "stack_gap"),
            (VmFlags::HUGETLB, "hugetlb"),
            (VmFlags::DONTEXPAND, "dontexpand"),
        ];
        NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|&(_, n)| n)
            .collect()
    }

    /// The two-letter codes of smaps' `VmFlags:` line (fs/proc/task_mmu.c).
    pub fn smaps_codes(self, prot: Prot) -> String {
        let mut v: Vec<&str> = Vec::new();
        if prot.contains(Prot::READ) {
            v.push("rd");
        }
        if prot.contains(Prot::WRITE) {
            v.push("wr");
        }
        if prot.contains(Prot::EXEC) {
            v.push("ex");
        }
        const CODES: &[(VmFlags, &str)] = &[
            (VmFlags::SHARED, "sh"),
            (VmFlags::MAYREAD, "mr"),
            (VmFlags::MAYWRITE, "mw"),
            (VmFlags::MAYEXEC, "me"),
            (VmFlags::MAYSHARE, "ms"),
            (VmFlags::GROWSDOWN, "gd"),
            (VmFlags::LOCKED, "lo"),
            (VmFlags::SEQ_READ, "sr"),
            (VmFlags::RAND_READ, "rr"),
            (VmFlags::DONTCOPY, "dc"),
            (VmFlags::DONTEXPAND, "de"),
            (VmFlags::ACCOUNT, "ac"),
            (VmFlags::NORESERVE, "nr"),
            (VmFlags::HUGETLB, "ht"),
            (VmFlags::DONTDUMP, "dd"),
            (VmFlags::WIPEONFORK, "wf"),
            (VmFlags::HUGEPAGE, "hg"),
            (VmFlags::NOHUGEPAGE, "nh"),
            (VmFlags::MERGEABLE, "mg"),
        ];
        for (f, c) in CODES {
            if self.contains(*f) {
                v.push(c);
            }
        }
        v.join(" ")
    }
}
