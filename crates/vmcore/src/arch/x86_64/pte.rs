//! Page-table entries: the 64-bit words the MMU reads (Intel SDM vol. 3A,
//! §4.5 "4-Level Paging", tables 4-15 .. 4-20).
//!
//! Every paging structure (PML4, PDPT, PD, PT) is one 4 KiB frame holding
//! [`ENTRIES`] little-endian entries. An entry is a physical frame address
//! (bits 51..12, [`ADDR_MASK`]) plus flag bits. In a PML4, PDPT or PD entry
//! the address names the next table down; in a leaf (a PT entry, or a PD
//! entry with [`PteFlags::HUGE`]) it names the page itself.
//!
//! ```text
//!  63  62..52  51 ........................ 12  11 10 9  8  7  6  5  4   3   2  1  0
//! +--+-------+-------------------------------+--+--+--+--+--+--+--+---+---+--+--+--+
//! |NX| avail |   physical frame address      |SW|SW|SW|G |PS|D |A |PCD|PWT|US|RW|P |
//! +--+-------+-------------------------------+--+--+--+--+--+--+--+---+---+--+--+--+
//! ```

use crate::addr::{PAGE_SHIFT, Pfn};
use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// The flag bits of a page-table entry at any level.
    ///
    /// Permissions combine down the walk: a page is writable only if RW is
    /// set at *every* level (AND), user-accessible only if US is set at every
    /// level (AND), and not executable if NX is set at *any* level (OR). So a
    /// clear RW bit in a PML4 entry makes the whole 512 GiB below it
    /// read-only, whatever the PTEs say.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    pub struct PteFlags: u64 {
        /// P: the entry is valid. When clear the MMU ignores every other bit
        /// (software may keep a swap entry there) and raises #PF.
        const PRESENT = 1 << 0;
        /// R/W: writes are allowed (when clear at any level, a user write
        /// raises #PF with the P and W bits set in the error code).
        const WRITABLE = 1 << 1;
        /// U/S: user-mode (CPL 3) accesses are allowed; clear means
        /// supervisor-only.
        const USER = 1 << 2;
        /// PWT: page-level write-through caching for the page or next table.
        const WRITE_THROUGH = 1 << 3;
        /// PCD: page-level cache disable (device memory).
        const NO_CACHE = 1 << 4;
        /// A: set by the MMU whenever it uses the entry for a translation;
        /// the OS clears it to learn whether a page was used (page reclaim's
        /// "referenced" bit).
        const ACCESSED = 1 << 5;
        /// D: set by the MMU in a leaf on the first write through it; tells
        /// the OS the page must be written back before it is dropped.
        const DIRTY = 1 << 6;
        /// PS: in a PD entry, the entry maps a 2 MiB page instead of pointing
        /// to a page table (in a PDPT entry 1 GiB; reserved in a PML4 entry;
        /// in a PT entry this bit is PAT instead).
        const HUGE = 1 << 7;
        /// G: global translation, kept in the TLB across CR3 switches
        /// (used for kernel mappings only).
        const GLOBAL = 1 << 8;
        /// With P clear, the same bit is Linux's `_PAGE_PROTNONE` (the MMU
        /// ignores every other bit of a non-present entry): the entry still
        /// names its page, which stays mapped (mapcount, rmap, mincore say
        /// so), but every access faults. mprotect(PROT_NONE) makes such
        /// entries; making the range accessible again turns them back.
        const PROTNONE = 1 << 8;
        /// Bit 9, ignored by the MMU. Linux uses it as `_PAGE_SPECIAL`: a
        /// mapping with no `struct page` behind it (e.g. a PFN map).
        const SPECIAL = 1 << 9;
        /// Bit 10, ignored by the MMU, free for the OS.
        const SOFTW2 = 1 << 10;
        /// Bit 11, ignored by the MMU. Linux uses it as `_PAGE_SOFT_DIRTY`,
        /// the soft-dirty tracker behind `/proc/pid/clear_refs`.
        const SOFT_DIRTY = 1 << 11;
        /// XD/NX: instruction fetches are not allowed (needs EFER.NXE, which
        /// this machine always has on). Set at any level, it forbids
        /// execution of everything below.
        const NO_EXECUTE = 1 << 63;
    }
}

/// Bits 51..12: the physical frame address held in an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Entries in one paging structure: 4096 bytes / 8.
pub const ENTRIES: usize = 512;
/// Paging levels of 4-level paging (PML4, PDPT, PD, PT).
pub const LEVELS: u8 = 4;
/// MAXPHYADDR of the simulated CPU (CPUID 80000008h:EAX[7:0]): address bits
/// 51..46 of every entry are reserved and must be zero.
pub const MAX_PHYS_BITS: u32 = 46;
/// The reserved address bits above MAXPHYADDR.
pub const RESERVED_ADDR_MASK: u64 = ADDR_MASK & !((1u64 << MAX_PHYS_BITS) - 1);
/// Bits 20..13 of a 2 MiB PD entry: reserved (the page is 2 MiB aligned;
/// bit 12 is PAT).
pub const HUGE_RESERVED_MASK: u64 = 0x001f_e000;

/// One 64-bit page-table entry, exactly as stored in the table frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Pte(pub u64);

impl Pte {
    /// An entry pointing at `pfn` with `flags` (address bits beyond 52 are
    /// masked off).
    #[inline]
    pub fn new(pfn: Pfn, flags: PteFlags) -> Pte {
        Pte(((pfn.0 << PAGE_SHIFT) & ADDR_MASK) | flags.bits())
    }
    /// The flag bits (the address bits are not flags).
    #[inline]
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }
    /// The frame the entry names: the next table, or the (first) page frame.
    #[inline]
    pub fn pfn(self) -> Pfn {
        Pfn((self.0 & ADDR_MASK) >> PAGE_SHIFT)
    }
    /// P is set: the MMU may use the entry.
    #[inline]
    pub fn is_present(self) -> bool {
        self.0 & PteFlags::PRESENT.bits() != 0
    }
    /// Not present, but kept for a page made inaccessible (PROT_NONE).
    #[inline]
    pub fn is_protnone(self) -> bool {
        self.0 & (PteFlags::PRESENT.bits() | PteFlags::PROTNONE.bits()) == PteFlags::PROTNONE.bits()
    }
    /// The entry maps its page, accessible or not (Linux `pte_present`,
    /// which is true of PROTNONE entries too).
    #[inline]
    pub fn is_mapped(self) -> bool {
        self.0 & (PteFlags::PRESENT.bits() | PteFlags::PROTNONE.bits()) != 0
    }
    /// The whole word is zero: never used, or cleared (`pte_none`).
    #[inline]
    pub fn is_unused(self) -> bool {
        self.0 == 0
    }
    /// PS is set (meaningful in a PD entry: a 2 MiB leaf).
    #[inline]
    pub fn is_huge(self) -> bool {
        self.0 & PteFlags::HUGE.bits() != 0
    }
    /// The same entry with `flags` added.
    #[inline]
    pub fn with(self, flags: PteFlags) -> Pte {
        Pte(self.0 | flags.bits())
    }
    /// The same entry with `flags` removed.
    #[inline]
    pub fn without(self, flags: PteFlags) -> Pte {
        Pte(self.0 & !flags.bits())
    }
    /// Short names of the set flag bits, low bit first ("P", "RW", ..., "NX").
    pub fn flag_names(self) -> Vec<&'static str> {
        const NAMES: [(PteFlags, &str); 13] = [
            (PteFlags::PRESENT, "P"),
            (PteFlags::WRITABLE, "RW"),
            (PteFlags::USER, "US"),
            (PteFlags::WRITE_THROUGH, "PWT"),
            (PteFlags::NO_CACHE, "PCD"),
            (PteFlags::ACCESSED, "A"),
            (PteFlags::DIRTY, "D"),
            (PteFlags::HUGE, "PS"),
            (PteFlags::GLOBAL, "G"),
            (PteFlags::SPECIAL, "SW9"),
            (PteFlags::SOFTW2, "SW10"),
            (PteFlags::SOFT_DIRTY, "SW11"),
            (PteFlags::NO_EXECUTE, "NX"),
        ];
        let f = self.flags();
        let protnone = self.is_protnone();
        NAMES
            .iter()
            .filter(|(b, _)| f.contains(*b))
            .map(|&(b, n)| {
                if protnone && b == PteFlags::GLOBAL {
                    "PROTNONE"
                } else {
                    n
                }
            })
            .collect()
    }
}

/// A swap entry: the non-present PTE Linux leaves where a page was swapped
/// out (`arch/x86/include/asm/pgtable_64.h`). The MMU ignores every bit of
/// a non-present entry, so the kernel keeps the page's place on swap there:
///
/// ```text
///  63 .. 59   58 ......................... 9   8   7   6  5   4   3   2   1   0
/// +--------+-------------------------------+---+---+-----+---+---+---+---+---+
/// |  TYPE  |  ~OFFSET (inverted, for L1TF) | 0 | 0 | A D | - | E |UFD|SD | 0 |
/// +--------+-------------------------------+---+---+-----+---+---+---+---+---+
/// ```
///
/// P (bit 0) is clear; bit 8 must be clear too, or the entry would read as
/// a PROT_NONE page (`_PAGE_PROTNONE`); bit 7 is clear because
/// `pmd_present` tests PSE. A and D are never used (an erratum lets the
/// hardware set them in non-present entries). The offset is stored
/// inverted so that the "frame" such an entry would name lies above real
/// memory (the L1 Terminal Fault mitigation). Bit 3 is
/// `_PAGE_SWP_EXCLUSIVE`: the page was the process's alone when it went
/// out, so it comes back writable without a copy-on-write check.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SwapPte {
    /// The swap area (`swp_type`, an index into `swap_info`).
    pub area: u8,
    /// The slot on the area (`swp_offset`).
    pub offset: u64,
    /// `_PAGE_SWP_EXCLUSIVE`.
    pub exclusive: bool,
}

impl SwapPte {
    /// `SWP_OFFSET_SHIFT`: where the inverted offset starts, before the
    /// shift right by `SWP_TYPE_BITS` (5).
    const OFFSET_SHIFT: u32 = 14;
    const TYPE_SHIFT: u32 = 59;
    /// `_PAGE_SWP_EXCLUSIVE` (= `_PAGE_PWT`).
    pub const EXCLUSIVE: u64 = 1 << 3;

    /// `__swp_entry(type, offset)`, with the exclusive bit.
    pub fn encode(self) -> Pte {
        let word = ((!self.offset) << Self::OFFSET_SHIFT >> 5)
            | (u64::from(self.area) << Self::TYPE_SHIFT)
            | if self.exclusive { Self::EXCLUSIVE } else { 0 };
        Pte(word)
    }

    /// `__swp_type` and `__swp_offset` of a non-present entry that is
    /// neither empty nor PROT_NONE; `None` for any other entry.
    pub fn decode(pte: Pte) -> Option<SwapPte> {
        if pte.is_unused() || pte.is_mapped() {
            return None;
        }
        Some(SwapPte {
            area: (pte.0 >> Self::TYPE_SHIFT) as u8,
            offset: (!pte.0) << 5 >> Self::OFFSET_SHIFT,
            exclusive: pte.0 & Self::EXCLUSIVE != 0,
        })
    }
}

/// The SDM's name of the paging structure at `level` (4 = PML4 .. 1 = PT).
pub fn level_name(level: u8) -> &'static str {
    match level {
        4 => "PML4",
        3 => "PDPT",
        2 => "PD",
        1 => "PT",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_fields() {
        let p = Pte::new(
            Pfn(0x1234),
            PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::NO_EXECUTE,
        );
        assert_eq!(p.0, 0x8000_0000_0123_4003);
        assert_eq!(p.pfn(), Pfn(0x1234));
        assert!(p.is_present());
        assert!(!p.is_unused());
        assert!(!p.is_huge());
        assert_eq!(
            p.flags(),
            PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::NO_EXECUTE
        );
        assert_eq!(p.flag_names(), vec!["P", "RW", "NX"]);
        assert!(Pte::default().is_unused());
        // Address bits beyond 52 cannot leak into flags.
        assert_eq!(Pte::new(Pfn(u64::MAX), PteFlags::empty()).0, ADDR_MASK);
    }

    #[test]
    fn names() {
        let all = Pte(u64::MAX);
        assert_eq!(all.flag_names().len(), 13);
        assert_eq!(level_name(4), "PML4");
        assert_eq!(level_name(1), "PT");
        assert_eq!(level_name(9), "?");
        assert_eq!(RESERVED_ADDR_MASK, 0x000f_c000_0000_0000);
    }

    #[test]
    fn swap_entries_are_encoded_as_linux_encodes_them() {
        let e = |offset, exclusive| SwapPte {
            area: 0,
            offset,
            exclusive,
        };
        assert_eq!(e(1, false).encode(), Pte(0x07ff_ffff_ffff_fc00));
        assert_eq!(e(1, true).encode(), Pte(0x07ff_ffff_ffff_fc08));
        assert_eq!(e(2, false).encode(), Pte(0x07ff_ffff_ffff_fa00));
        assert_eq!(e(512, false).encode(), Pte(0x07ff_ffff_fffb_fe00));
    }

    #[test]
    fn a_swap_entry_decodes_to_its_area_slot_and_exclusive_bit() {
        for (area, offset, exclusive) in [(0, 1, true), (3, 16383, false), (27, 1 << 40, true)] {
            let s = SwapPte {
                area,
                offset,
                exclusive,
            };
            let pte = s.encode();
            assert!(!pte.is_present() && !pte.is_mapped() && !pte.is_unused());
            assert_eq!(SwapPte::decode(pte), Some(s));
        }
    }

    #[test]
    fn only_a_swap_entry_decodes_as_one() {
        assert_eq!(SwapPte::decode(Pte(0)), None);
        let page = Pte::new(Pfn(5), PteFlags::PRESENT);
        assert_eq!(SwapPte::decode(page), None);
        let protnone = Pte::new(Pfn(5), PteFlags::PROTNONE);
        assert_eq!(SwapPte::decode(protnone), None);
    }
}
