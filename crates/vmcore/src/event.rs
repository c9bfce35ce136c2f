//! Events: what flows back up from every layer.
//!
//! Each layer only calls downward; what it tells the world is a return value
//! or an event pushed on the machine's [`EventLog`]. The web page animates
//! and narrates from events, `vmplay run --trace` prints them, and tests
//! assert on them. Events are plain data; `Display` narrates them in words.

use crate::addr::{Pfn, VirtAddr};
use core::fmt;
use serde::Serialize;

/// A process id.
pub type Pid = u32;
/// An address-space id: the PCID tag of TLB entries (one per process).
pub type Asid = u16;

/// How a page fault was resolved (the cases of `uvm_fault` / `handle_mm_fault`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultResolution {
    /// Read of untouched anonymous memory: map the shared zero page read-only.
    ZeroPage,
    /// First write to anonymous memory: a fresh zeroed frame in a new anon.
    ZeroFill,
    /// Write to a page shared copy-on-write: the bytes were copied (UVM case 1B).
    CowCopy,
    /// Write to a copy-on-write page nobody else holds: made writable in place.
    CowReuse,
    /// Mapped a page of the page cache (file, memfd or shared anonymous).
    PageCache,
    /// Private file page written: the file's page copied into a new anon (case 2B).
    FilePromote,
    /// A whole 2 MiB huge page zero-filled and mapped with one PD entry.
    HugeZeroFill,
    /// Read of a MADV_HUGEPAGE range: the huge zero page mapped.
    HugeZeroPage,
    /// Only the PTE was missing (the page was resident in the amap already).
    Remap,
    /// The PTE lacked the accessed/dirty permission only: made writable.
    WriteEnable,
    /// Write to a page on loan that would change it in place: the loan was
    /// broken, the owner took a copy (`uvm_loanbreak_anon`, `uvm_loanbreak`).
    LoanBreak,
}

/// The signal a bad access raises, with its si_code.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalCode {
    /// SIGSEGV/SEGV_MAPERR: no mapping at the address.
    SegvMaperr,
    /// SIGSEGV/SEGV_ACCERR: the mapping forbids this access.
    SegvAccerr,
    /// SIGBUS/BUS_ADRERR: a file page wholly beyond the end of the file.
    BusAdrerr,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A system call entered (name and its raw arguments) ...
    Syscall {
        pid: Pid,
        name: &'static str,
        args: Vec<u64>,
    },
    /// ... and returned: `Ok` value or `-errno` with a reason.
    SyscallReturn {
        pid: Pid,
        name: &'static str,
        result: i64,
        errno: Option<&'static str>,
        reason: Option<&'static str>,
    },
    /// A physical frame left the free list.
    FrameAlloc { pfn: Pfn, kind: &'static str },
    /// A run of 512 frames (a 2 MiB huge page) left the free list.
    HugeFrameAlloc { pfn: Pfn },
    /// A frame returned to the free list.
    FrameFree { pfn: Pfn },
    /// 4096 bytes copied from one frame to another (copy-on-write, promotion).
    FrameCopy { from: Pfn, to: Pfn },
    /// A page-table frame was allocated for `level` (3 = PDPT, 2 = PD, 1 = PT).
    TableAlloc {
        asid: Asid,
        va: VirtAddr,
        level: u8,
        pfn: Pfn,
    },
    /// An empty page-table frame was freed.
    TableFree { asid: Asid, level: u8, pfn: Pfn },
    /// A page-table entry changed (old and new raw values).
    PteWrite {
        asid: Asid,
        va: VirtAddr,
        level: u8,
        old: u64,
        new: u64,
    },
    /// A 2 MiB mapping was split into 512 4 KiB PTEs (`split_huge_pmd`).
    HugeDemote {
        asid: Asid,
        va: VirtAddr,
        table: Pfn,
    },
    /// MADV_COLLAPSE made the 2 MiB block at `va` one huge page, the frames
    /// from `pfn` on (`collapse_huge_page`, `collapse_file`).
    HugeCollapse { pid: Pid, va: VirtAddr, pfn: Pfn },
    /// The MMU missed in the TLB and walked the page tables.
    TlbMiss { asid: Asid, va: VirtAddr },
    /// INVLPG: one page's translation flushed (`removed` entries dropped).
    TlbFlushPage {
        asid: Asid,
        va: VirtAddr,
        removed: u32,
    },
    /// Every translation of one address space flushed.
    TlbFlushAsid { asid: Asid, removed: u32 },
    /// The CPU raised #PF: CR2 and the error code (P W U R I bits).
    PageFault { pid: Pid, va: VirtAddr, code: u32 },
    /// The fault handler resolved a fault.
    FaultResolved {
        pid: Pid,
        va: VirtAddr,
        how: FaultResolution,
        pfn: Pfn,
    },
    /// The access could not be satisfied: a signal was sent.
    Signal {
        pid: Pid,
        va: VirtAddr,
        code: SignalCode,
    },
    /// A map entry was created.
    EntryInsert {
        pid: Pid,
        start: VirtAddr,
        end: VirtAddr,
    },
    /// A map entry was removed.
    EntryRemove {
        pid: Pid,
        start: VirtAddr,
        end: VirtAddr,
    },
    /// A map entry was split at `at` (`__split_vma` / `uvm_map_clip_start`).
    EntrySplit {
        pid: Pid,
        start: VirtAddr,
        at: VirtAddr,
        end: VirtAddr,
    },
    /// Two neighbouring entries merged into one (`vma_merge`).
    EntryMerge {
        pid: Pid,
        start: VirtAddr,
        end: VirtAddr,
    },
    /// An amap was copied for a needs-copy entry (`amap_copy`).
    AmapCopy {
        pid: Pid,
        start: VirtAddr,
        end: VirtAddr,
        slots: u64,
    },
    /// A page was dropped from a mapping (DONTNEED, munmap, ...).
    PageDrop { pid: Pid, va: VirtAddr },
    /// A process was created by fork.
    Fork { parent: Pid, child: Pid },
    /// A process exited; its address space was torn down.
    Exit { pid: Pid },
    /// A page went to swap: its PTE now holds the slot (reclaim or
    /// MADV_PAGEOUT).
    SwapOut { pid: Pid, va: VirtAddr, slot: u32 },
    /// A page was read back from a swap slot (a major fault, readahead,
    /// MADV_WILLNEED or swapoff).
    SwapIn { slot: u32, pfn: Pfn },
    /// The OOM killer chose `pid` (its badness in pages).
    OomKill { pid: Pid, points: u64 },
    /// A swap-in fault read ahead (`swap_vma_readahead`): the window
    /// `[start, end)` of `pid`'s entry, `pages` of it read into the swap
    /// cache.
    SwapReadahead {
        pid: Pid,
        start: VirtAddr,
        end: VirtAddr,
        pages: u64,
    },
    /// `uvm_loan(UVM_LOAN_TOPAGE)`: `pid` lent `pages` pages from `start`
    /// to the kernel as loan `loan`; every user mapping of them is now
    /// read-only.
    Loan {
        loan: u64,
        pid: Pid,
        start: VirtAddr,
        pages: u64,
    },
    /// One page of a loan: the frame lent and its loan count now.
    LoanPage {
        loan: u64,
        va: VirtAddr,
        pfn: Pfn,
        loans: u32,
    },
    /// A loan failed at `va` with `errno`; the `returned` pages already
    /// lent were given back.
    LoanRefused {
        pid: Pid,
        va: VirtAddr,
        errno: &'static str,
        reason: &'static str,
        returned: u64,
    },
    /// A write to a lent page broke its loan (`uvm_loanbreak_anon` for an
    /// anon, `uvm_loanbreak` for a page of a file): the owner now holds the
    /// copy in `new`; `old` stays with the borrower.
    LoanBreak {
        pid: Pid,
        /// The faulting address; `None` for a write through the page cache
        /// (`pwrite`, the zeroing of a page cut by truncation).
        va: Option<VirtAddr>,
        old: Pfn,
        new: Pfn,
        anon: bool,
    },
    /// The owner freed a page that is on loan: it stays, held by its loans
    /// alone (an orphan).
    LoanOrphan { pfn: Pfn },
    /// `uvm_unloan`: loan `loan` ended; `freed` of its `pages` frames were
    /// orphans and went back to the free list.
    Unloan { loan: u64, pages: u64, freed: u64 },
}

fn level_name(level: u8) -> &'static str {
    match level {
        4 => "PML4",
        3 => "PDPT",
        2 => "PD",
        1 => "PT",
        _ => "?",
    }
}

impl fmt::Display for FaultResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultResolution::ZeroPage => "mapped the shared zero page read-only",
            FaultResolution::ZeroFill => "zero-filled a new frame",
            FaultResolution::CowCopy => "copy-on-write: copied the page to a new frame",
            FaultResolution::CowReuse => "copy-on-write: sole owner, made writable in place",
            FaultResolution::PageCache => "mapped the page-cache frame",
            FaultResolution::FilePromote => "copied the file page into a private anon page",
            FaultResolution::HugeZeroFill => "zero-filled a 2 MiB huge page",
            FaultResolution::HugeZeroPage => "mapped the huge zero page read-only",
            FaultResolution::Remap => "re-entered the resident page",
            FaultResolution::WriteEnable => "made the resident page writable",
            FaultResolution::LoanBreak => {
                "broke the loan: the owner took a copy, the borrower keeps the old frame"
            }
        })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Event::*;
        match self {
            Syscall { pid, name, args } => {
                write!(f, "p{pid}: {name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a:#x}")?;
                }
                f.write_str(")")
            }
            SyscallReturn {
                pid,
                name,
                result,
                errno,
                reason,
            } => match (errno, reason) {
                (Some(e), Some(r)) => write!(f, "p{pid}: {name} failed: -{e} ({r})"),
                (Some(e), None) => write!(f, "p{pid}: {name} failed: -{e}"),
                _ => write!(f, "p{pid}: {name} returned {result:#x}"),
            },
            FrameAlloc { pfn, kind } => write!(f, "frame {pfn} allocated ({kind})"),
            HugeFrameAlloc { pfn } => write!(
                f,
                "frames {pfn}..{} allocated (2 MiB huge page)",
                pfn.0 + 511
            ),
            FrameFree { pfn } => write!(f, "frame {pfn} freed"),
            FrameCopy { from, to } => write!(f, "copied frame {from} to frame {to}"),
            TableAlloc {
                asid,
                va,
                level,
                pfn,
            } => {
                write!(
                    f,
                    "asid {asid}: new {} table in frame {pfn} (for {va})",
                    level_name(*level)
                )
            }
            TableFree { asid, level, pfn } => {
                write!(
                    f,
                    "asid {asid}: empty {} table in frame {pfn} freed",
                    level_name(*level)
                )
            }
            PteWrite {
                asid,
                va,
                level,
                old,
                new,
            } => write!(
                f,
                "asid {asid}: {} entry for {va}: {old:#018x} -> {new:#018x}",
                level_name(*level)
            ),
            HugeDemote { asid, va, table } => {
                write!(
                    f,
                    "asid {asid}: 2 MiB mapping at {va} split into 512 PTEs (table frame {table})"
                )
            }
            HugeCollapse { pid, va, pfn } => write!(
                f,
                "p{pid}: 2 MiB block at {va} collapsed into one huge page (frames from {pfn})"
            ),
            TlbMiss { asid, va } => write!(f, "asid {asid}: TLB miss at {va}: page walk"),
            TlbFlushPage { asid, va, removed } => {
                write!(
                    f,
                    "asid {asid}: INVLPG {va} ({removed} TLB entries dropped)"
                )
            }
            TlbFlushAsid { asid, removed } => {
                write!(f, "asid {asid}: TLB flushed ({removed} entries dropped)")
            }
            PageFault { pid, va, code } => {
                let present = if code & 1 != 0 {
                    "protection"
                } else {
                    "not present"
                };
                let kind = if code & 16 != 0 {
                    "instruction fetch"
                } else if code & 2 != 0 {
                    "write"
                } else {
                    "read"
                };
                write!(
                    f,
                    "p{pid}: page fault at {va}: {kind}, {present} (error code {code:#x})"
                )
            }
            FaultResolved { pid, va, how, pfn } => {
                write!(f, "p{pid}: fault at {va}: {how} (frame {pfn})")
            }
            Signal { pid, va, code } => {
                let s = match code {
                    SignalCode::SegvMaperr => "SIGSEGV (SEGV_MAPERR: nothing mapped)",
                    SignalCode::SegvAccerr => "SIGSEGV (SEGV_ACCERR: access not permitted)",
                    SignalCode::BusAdrerr => "SIGBUS (BUS_ADRERR: beyond the end of the file)",
                };
                write!(f, "p{pid}: {s} at {va}")
            }
            EntryInsert { pid, start, end } => {
                write!(f, "p{pid}: map entry {start}-{end} inserted")
            }
            EntryRemove { pid, start, end } => write!(f, "p{pid}: map entry {start}-{end} removed"),
            EntrySplit {
                pid,
                start,
                at,
                end,
            } => {
                write!(f, "p{pid}: map entry {start}-{end} split at {at}")
            }
            EntryMerge { pid, start, end } => {
                write!(f, "p{pid}: map entries merged into {start}-{end}")
            }
            AmapCopy {
                pid,
                start,
                end,
                slots,
            } => {
                write!(
                    f,
                    "p{pid}: amap copied for {start}-{end} ({slots} slots): needs-copy cleared"
                )
            }
            PageDrop { pid, va } => write!(f, "p{pid}: page at {va} dropped"),
            Fork { parent, child } => write!(f, "p{parent} forked p{child}"),
            Exit { pid } => write!(f, "p{pid} exited"),
            SwapOut { pid, va, slot } => {
                write!(f, "p{pid}: page at {va} written to swap slot {slot}")
            }
            SwapIn { slot, pfn } => write!(f, "swap slot {slot} read into frame {pfn}"),
            SwapReadahead {
                pid,
                start,
                end,
                pages,
            } => write!(
                f,
                "p{pid}: swap readahead over {start}-{end}: {pages} pages read into the swap cache"
            ),
            Loan {
                loan,
                pid,
                start,
                pages,
            } => write!(
                f,
                "p{pid} lent {pages} pages from {start} to the kernel (loan #{loan}): \
                 its mappings of them are read-only now"
            ),
            LoanPage {
                loan,
                va,
                pfn,
                loans,
            } => write!(
                f,
                "loan #{loan}: page {va} lends frame {pfn} (loan count {loans})"
            ),
            LoanRefused {
                pid,
                va,
                errno,
                reason,
                returned,
            } => write!(
                f,
                "p{pid}: loan failed at {va}: -{errno} ({reason}); \
                 {returned} pages already lent given back"
            ),
            LoanBreak {
                pid,
                va,
                old,
                new,
                anon,
            } => {
                let (how, who) = if *anon {
                    ("uvm_loanbreak_anon", "the anon")
                } else {
                    ("uvm_loanbreak", "the file's page cache")
                };
                match va {
                    Some(va) => write!(f, "p{pid}: write to lent page {va}")?,
                    None => write!(f, "p{pid}: write through the page cache into a lent page")?,
                }
                write!(
                    f,
                    " breaks the loan ({how}): {who} takes a copy in frame {new}; \
                     frame {old} stays with the borrower"
                )
            }
            LoanOrphan { pfn } => write!(
                f,
                "frame {pfn} freed by its owner while on loan: it stays with the borrower"
            ),
            Unloan { loan, pages, freed } => write!(
                f,
                "loan #{loan} ended: {pages} pages given back, {freed} orphaned frames freed"
            ),
            OomKill { pid, points } => write!(
                f,
                "out of memory: the OOM killer kills p{pid} (badness {points} pages)"
            ),
        }
    }
}

/// Most events the log holds between two `take`s. A single call can cause
/// millions (populating a gigabyte is 262,144 faults, each with several
/// events); past this the rest are only counted, so that a long line never
/// exhausts the memory the simulator runs in.
pub const MAX_LOGGED: usize = 1 << 20;

/// The machine's event log. Recording can be switched off (benchmarks).
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    enabled: bool,
    events: Vec<Event>,
    /// Events not kept because the log was full.
    lost: u64,
}

impl EventLog {
    pub fn new(enabled: bool) -> Self {
        EventLog {
            enabled,
            events: Vec::new(),
            lost: 0,
        }
    }
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        if !on {
            self.events.clear();
            self.lost = 0;
        }
    }
    /// Record an event (built lazily: nothing is built when recording is off).
    #[inline]
    pub fn push_with(&mut self, f: impl FnOnce() -> Event) {
        if self.enabled {
            self.keep(f());
        }
    }
    #[inline]
    pub fn push(&mut self, e: Event) {
        if self.enabled {
            self.keep(e);
        }
    }
    #[inline]
    fn keep(&mut self, e: Event) {
        if self.events.len() < MAX_LOGGED {
            self.events.push(e);
        } else {
            self.lost += 1;
        }
    }
    /// Take every event recorded since the last call.
    pub fn take(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }
    /// How many events were not kept (the log was full) since the last
    /// call, and start counting again.
    pub fn take_lost(&mut self) -> u64 {
        core::mem::take(&mut self.lost)
    }
    pub fn len(&self) -> usize {
        self.events.len()
    }
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_full_log_counts_instead_of_growing() {
        let mut log = EventLog::new(true);
        for pid in 0..(MAX_LOGGED as u32 + 5) {
            log.push(Event::Exit { pid });
        }
        assert_eq!(log.len(), MAX_LOGGED);
        assert_eq!(log.take_lost(), 5);
        assert_eq!(log.take_lost(), 0);
        assert_eq!(log.take().len(), MAX_LOGGED);
        log.push(Event::Exit { pid: 1 });
        assert_eq!(log.take(), vec![Event::Exit { pid: 1 }]);
    }
}
