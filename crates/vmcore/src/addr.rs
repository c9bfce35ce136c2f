//! Addresses and page/frame numbers.
//!
//! The newtypes keep the four kinds of number a VM subsystem juggles apart:
//! a virtual address ([`VirtAddr`]), a physical address ([`PhysAddr`]), a
//! virtual page number ([`Vpn`]) and a physical frame number ([`Pfn`]).
//! Mixing them up is the classic kernel bug; here it does not compile.

use core::fmt;
use serde::Serialize;

/// log2 of the base page size (4 KiB on x86_64).
pub const PAGE_SHIFT: u32 = 12;
/// The base page size: 4 KiB.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// log2 of the large page size mapped by a PD entry with PS set (2 MiB).
pub const HUGE_PAGE_SHIFT: u32 = 21;
/// The 2 MiB page size of a PS=1 page-directory entry.
pub const HUGE_PAGE_SIZE: u64 = 1 << HUGE_PAGE_SHIFT;
/// Base pages in one 2 MiB page.
pub const PAGES_PER_HUGE: u64 = HUGE_PAGE_SIZE / PAGE_SIZE;

/// Round `x` down to a multiple of `align` (a power of two).
#[inline]
pub const fn align_down(x: u64, align: u64) -> u64 {
    x & !(align - 1)
}

/// Round `x` up to a multiple of `align` (a power of two), or `None` when
/// that overflows 64 bits (Linux's `PAGE_ALIGN` wrapping to 0).
#[inline]
pub const fn align_up(x: u64, align: u64) -> Option<u64> {
    match x.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// A 64-bit virtual address. Any value can be held (user input may be
/// non-canonical); [`VirtAddr::is_canonical`] says whether the CPU would
/// accept it: bits 63..47 must all equal bit 47 with 4-level paging.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct VirtAddr(pub u64);

impl VirtAddr {
    pub const fn new(v: u64) -> Self {
        VirtAddr(v)
    }
    pub const fn as_u64(self) -> u64 {
        self.0
    }
    /// Bits 63..47 are copies of bit 47 (4-level paging, 48-bit addresses).
    pub const fn is_canonical(self) -> bool {
        let top = self.0 >> 47;
        top == 0 || top == 0x1_ffff
    }
    /// The offset inside the 4 KiB page.
    pub const fn page_offset(self) -> u64 {
        self.0 & (PAGE_SIZE - 1)
    }
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0 & (align - 1) == 0
    }
    pub const fn is_page_aligned(self) -> bool {
        self.is_aligned(PAGE_SIZE)
    }
    pub const fn align_down(self, align: u64) -> Self {
        VirtAddr(align_down(self.0, align))
    }
    /// The virtual page holding this address.
    pub const fn vpn(self) -> Vpn {
        Vpn(self.0 >> PAGE_SHIFT)
    }
    /// The 9-bit index into the table at `level` (4 = PML4 ... 1 = PT).
    pub const fn table_index(self, level: u8) -> usize {
        ((self.0 >> (PAGE_SHIFT + 9 * (level as u32 - 1))) & 0x1ff) as usize
    }
    /// Wrapping add (addresses in scenarios are sums modulo 2^64).
    pub const fn wrapping_add(self, n: u64) -> Self {
        VirtAddr(self.0.wrapping_add(n))
    }
    pub const fn checked_add(self, n: u64) -> Option<Self> {
        match self.0.checked_add(n) {
            Some(v) => Some(VirtAddr(v)),
            None => None,
        }
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtAddr({:#x})", self.0)
    }
}
impl fmt::Display for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A physical address: frame number and offset. x86_64 allows 52 bits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct PhysAddr(pub u64);

impl PhysAddr {
    /// The largest physical address width x86_64 defines.
    pub const BITS: u32 = 52;
    pub const fn new(v: u64) -> Self {
        PhysAddr(v & ((1 << Self::BITS) - 1))
    }
    pub const fn as_u64(self) -> u64 {
        self.0
    }
    pub const fn pfn(self) -> Pfn {
        Pfn(self.0 >> PAGE_SHIFT)
    }
    /// The address `n` bytes further on.
    pub const fn offset(self, n: u64) -> PhysAddr {
        PhysAddr(self.0 + n)
    }
    pub const fn frame_offset(self) -> usize {
        (self.0 & (PAGE_SIZE - 1)) as usize
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddr({:#x})", self.0)
    }
}
impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A virtual page number: a virtual address shifted right by 12.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize)]
#[serde(transparent)]
pub struct Vpn(pub u64);

impl Vpn {
    pub const fn addr(self) -> VirtAddr {
        VirtAddr(self.0 << PAGE_SHIFT)
    }
}

/// A physical frame number: index of a 4 KiB frame of simulated RAM.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Pfn(pub u64);

impl Pfn {
    pub const fn addr(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
    }
    pub const fn index(self) -> usize {
        self.0 as usize
    }
    pub const fn add(self, n: u64) -> Pfn {
        Pfn(self.0 + n)
    }
}

impl fmt::Debug for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pfn({})", self.0)
    }
}
impl fmt::Display for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical() {
        assert!(VirtAddr(0x7fff_ffff_f000).is_canonical());
        assert!(!VirtAddr(0x8000_0000_0000).is_canonical());
        assert!(VirtAddr(0xffff_8000_0000_0000).is_canonical());
    }

    #[test]
    fn indices() {
        let va = VirtAddr(0x3000_0000_1000);
        assert_eq!(va.table_index(1), 1);
        assert_eq!(va.table_index(4), 0x3000_0000_0000 >> 39);
        assert_eq!(align_up(u64::MAX, PAGE_SIZE), None);
        assert_eq!(align_up(1, PAGE_SIZE), Some(PAGE_SIZE));
    }
}
