//! The address space: an ordered set of map entries (Linux VMAs, UVM
//! `vm_map_entry`), with the placement policy of `get_unmapped_area`.

use super::amap::AmapRef;
use super::entries::Entries;
use super::object::ObjId;
use crate::addr::PAGE_SHIFT;
use crate::flags::{Prot, VmFlags};
use serde::Serialize;

/// What fork gives the child of a map entry (`VM_INHERIT_*` in FreeBSD,
/// `MAP_INHERIT_*` in NetBSD UVM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inherit {
    /// Copy-on-write in the child: what a private mapping gets, and what
    /// the BSDs' minherit COPY makes of a shared one.
    #[default]
    Copy,
    /// Parent and child share the pages: what a shared mapping gets, and
    /// what minherit SHARE makes of private memory, whose writes by either
    /// are then seen by the other (`uvm_mapent_forkshared`).
    Share,
    /// The child has nothing here.
    None,
    /// The child gets fresh zero-filled private memory (`VM_INHERIT_ZERO`).
    Zero,
}

/// One contiguous mapping `[start, end)` with uniform protection and flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    pub flags: VmFlags,
    /// The backing object (file, memfd, shmem), or `None` for private anon.
    pub object: Option<ObjId>,
    /// Page offset of `start` in the object (`vm_pgoff`). Private anonymous
    /// entries use the virtual page number at creation, as Linux does, so
    /// that two entries merge only if their pages line up.
    pub pgoff: u64,
    /// The upper (anonymous) layer: created on the first private write.
    pub aref: Option<AmapRef>,
    /// The amap is shared copy-on-write and must be copied before a write
    /// changes it (`UVM_ET_NEEDSCOPY`).
    pub needs_copy: bool,
    /// Linux's `anon_vma` identity, which decides merges of faulted entries.
    pub anon_vma: Option<u32>,
    /// The anon_vma chain came from a parent through fork: such an entry
    /// never merges with one that has no anon_vma (`list_is_singular`).
    pub anon_vma_forked: bool,
    /// What a child gets of this entry at fork (`vm_inherit_t`): set by
    /// the BSDs' minherit; Linux entries stay [`Inherit::Copy`] and use
    /// VM_DONTCOPY / VM_WIPEONFORK instead.
    pub inherit: Inherit,
    /// Swap readahead state (`vma->swap_readahead_info`): split halves and
    /// fork's copies keep it.
    #[serde(skip)]
    pub ra: crate::vm::swap_state::RaState,
}

impl Entry {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }
    pub fn contains(&self, va: u64) -> bool {
        self.start <= va && va < self.end
    }
    /// Page index in the object for `va` (`linear_page_index`).
    pub fn object_index(&self, va: u64) -> u64 {
        self.pgoff + ((va - self.start) >> PAGE_SHIFT)
    }
    /// Amap slot for `va`, if the entry has an amap.
    pub fn slot(&self, va: u64) -> Option<(u32, u64)> {
        self.aref
            .map(|r| (r.amap, r.slotoff + ((va - self.start) >> PAGE_SHIFT)))
    }
    pub fn is_shared(&self) -> bool {
        self.flags.contains(VmFlags::MAYSHARE)
    }
    /// `/proc/PID/maps` permission column.
    pub fn perms(&self) -> String {
        let mut s = String::with_capacity(4);
        s.push(if self.prot.contains(Prot::READ) {
            'r'
        } else {
            '-'
        });
        s.push(if self.prot.contains(Prot::WRITE) {
            'w'
        } else {
            '-'
        });
        s.push(if self.prot.contains(Prot::EXEC) {
            'x'
        } else {
            '-'
        });
        s.push(if self.is_shared() { 's' } else { 'p' });
        s
    }
}

/// An address space's entries, in address order.
#[derive(Clone, Debug, Default)]
pub struct VmMap {
    /// The entries: a sorted list with a lookup tree and a hint
    /// (see [`Entries`]).
    pub entries: Entries,
    /// Top-down search start (the 2.6-era `free_area_cache`): every hole
    /// above it is at most `cached_hole` bytes long.
    pub free_area_cache: u64,
    pub cached_hole: u64,
    /// FreeBSD `map->anon_loc`: where the next unhinted anonymous mapping
    /// is searched from (`vm.cluster_anon`); 0 until the first one.
    pub anon_loc: u64,
}

impl VmMap {
    /// The entry starting at `start` (the caller knows there is one).
    #[inline]
    pub fn entry(&self, start: u64) -> &Entry {
        &self.entries[&start]
    }
    /// The entry containing `va` (`find_vma` + containment check).
    pub fn find(&self, va: u64) -> Option<&Entry> {
        self.entries
            .last_starting_at_or_below(va)
            .filter(|e| e.end > va)
    }
    /// The first entry ending above `va` (`find_vma`).
    pub fn find_vma(&self, va: u64) -> Option<&Entry> {
        if let Some(e) = self.find(va) {
            return Some(e);
        }
        self.entries.range(va..).next()
    }
    /// The entry just below `va` (ending at or before it).
    pub fn prev_of(&self, va: u64) -> Option<&Entry> {
        self.entries.range(..va).next_back()
    }
    /// Start addresses of the entries overlapping `[start, end)`.
    pub fn overlapping(&self, start: u64, end: u64) -> Vec<u64> {
        let mut v = Vec::new();
        // An empty range overlaps nothing, not even the entry holding start.
        if start >= end {
            return v;
        }
        if let Some(e) = self.find(start) {
            v.push(e.start);
        }
        for e in self.entries.range(start..end) {
            if v.last() != Some(&e.start) {
                v.push(e.start);
            }
        }
        v
    }
    /// Whether nothing is mapped in `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.find(start).is_none() && self.entries.range(start..end).next().is_none()
    }

    /// Top-down placement (`unmapped_area_topdown`): the highest hole of
    /// `len` bytes below `top` and at or above `low`. The hole below a
    /// `MAP_GROWSDOWN` entry keeps `guard` bytes free (`vm_start_gap`).
    /// The search starts at the cached point, which holds only holes too
    /// small for `len` above it, so the answer is the same as a full search.
    pub fn find_space_topdown(&mut self, len: u64, low: u64, top: u64, guard: u64) -> Option<u64> {
        if len <= self.cached_hole || self.free_area_cache == 0 || self.free_area_cache > top {
            self.free_area_cache = top;
            self.cached_hole = 0;
        }
        let (found, largest) = self.search_down(len, low, self.free_area_cache, guard);
        let found = match found {
            Some(a) => Some(a),
            None if self.free_area_cache != top => {
                self.cached_hole = 0;
                self.search_down(len, low, top, guard).0
            }
            None => None,
        };
        if let Some(addr) = found {
            self.free_area_cache = addr;
            self.cached_hole = self.cached_hole.max(largest);
        }
        found
    }

    /// Bottom-up placement (`unmapped_area`): the lowest hole of `len`
    /// bytes in `[low, top)`, keeping `guard` bytes below a
    /// `MAP_GROWSDOWN` entry.
    pub fn find_space_bottomup(&self, len: u64, low: u64, top: u64, guard: u64) -> Option<u64> {
        let mut floor = low;
        let first = self.find(low).map(|e| e.start).unwrap_or(low);
        for e in self.entries.range(first..) {
            let gap_top = if e.flags.contains(VmFlags::GROWSDOWN) {
                e.start.saturating_sub(guard)
            } else {
                e.start
            }
            .min(top);
            if gap_top > floor && gap_top - floor >= len {
                return Some(floor);
            }
            floor = floor.max(e.end);
            if floor >= top {
                return None;
            }
        }
        (top > floor && top - floor >= len).then_some(floor)
    }

    /// The highest hole of `len` bytes in `[low, top)`, searched down from
    /// `top` without the cached start (UVM's top-down `uvm_map_findspace`
    /// from a hint).
    pub fn search_down_from(&self, len: u64, low: u64, top: u64) -> Option<u64> {
        self.search_down(len, low, top, 0).0
    }

    /// First-fit placement upward (`vm_map_findspace` with
    /// `vm_map_alignspace`): the lowest address at or above `low`, a
    /// multiple of `align` (a power of two), where `len` bytes fit free
    /// below `top`.
    pub fn find_space_upward(&self, len: u64, low: u64, top: u64, align: u64) -> Option<u64> {
        let fit = |floor: u64, gap_top: u64| {
            let a = floor.checked_add(align - 1)? & !(align - 1);
            (a.checked_add(len)? <= gap_top.min(top)).then_some(a)
        };
        let mut floor = low;
        let first = self.find(low).map(|e| e.start).unwrap_or(low);
        for e in self.entries.range(first..) {
            if e.start > floor
                && let Some(a) = fit(floor, e.start)
            {
                return Some(a);
            }
            floor = floor.max(e.end);
            if floor >= top {
                return None;
            }
        }
        fit(floor, top)
    }

    fn search_down(&self, len: u64, low: u64, from: u64, guard: u64) -> (Option<u64>, u64) {
        // One walk down the entries at or below `from`; an entry reaching
        // the ceiling lowers it, a gap below the ceiling is a candidate.
        let mut ceiling = from;
        let mut above_stack = false;
        let mut largest = 0;
        for e in self.entries.range(..=from).rev() {
            if e.end < ceiling {
                let floor = e.end.max(low);
                let top = if above_stack {
                    ceiling.saturating_sub(guard)
                } else {
                    ceiling
                };
                if top > floor && top - floor >= len {
                    return (Some(top - len), largest);
                }
                largest = largest.max(top.saturating_sub(floor));
            }
            ceiling = ceiling.min(e.start);
            above_stack = e.flags.contains(VmFlags::GROWSDOWN);
            if ceiling <= low {
                return (None, largest);
            }
        }
        let top = if above_stack {
            ceiling.saturating_sub(guard)
        } else {
            ceiling
        };
        if top > low && top - low >= len {
            return (Some(top - len), largest);
        }
        (None, largest)
    }

    /// A hole `[start, end)` opened up: searches may have to look above the
    /// cached start again (`arch_unmap_area_topdown`).
    /// `next_start`, when the caller knows it, is where the next entry
    /// above the hole starts (`None`: look it up).
    pub fn note_unmapped(&mut self, end: u64, top: u64, next_start: Option<Option<u64>>) {
        // No cached start (0) means the next search starts at the top:
        // there is nothing to move up. (Setting one here would claim that
        // no large hole lies above it, which nothing has checked.)
        if self.free_area_cache != 0 && end > self.free_area_cache {
            // Extend to the end of the whole hole this one joins.
            let next = match next_start {
                Some(n) => n,
                None => self.entries.range(end..).next().map(|e| e.start),
            };
            self.free_area_cache = next.unwrap_or(top).min(top);
        }
    }
}
