//! Memory objects: the lower layer of a mapping (UVM's `uvm_object`, Linux's
//! `address_space`). A regular file, a memfd and the hidden file behind a
//! shared anonymous mapping are all the same thing here: a size and a page
//! cache of frames indexed by page offset.

use crate::addr::{PAGE_SHIFT, PAGE_SIZE, Pfn, VirtAddr};
use crate::errno::{SysResult, enomem};
use crate::event::Pid;
use crate::machine::Machine;
use serde::Serialize;
use std::collections::BTreeMap;

/// The id of an object in the machine's object table.
pub type ObjId = u32;

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum ObjKind {
    /// A regular file on a disk file system (writes dirty the page cache).
    File(String),
    /// An anonymous memory file from `memfd_create` (shmem).
    Memfd(String),
    /// The unnamed shmem file behind a `MAP_SHARED|MAP_ANONYMOUS` mapping.
    Shmem,
    /// The unlinked hugetlbfs file behind a `MAP_HUGETLB|MAP_ANONYMOUS`
    /// mapping (`hugetlb_file_setup`), with its huge page size; its pages
    /// come from the huge page pool (vm/hugetlb.rs), never the page cache.
    Hugetlb(u64),
}

#[derive(Clone, Debug, Serialize)]
pub struct Object {
    pub kind: ObjKind,
    /// The file size in bytes (`i_size`).
    pub size: u64,
    /// The page cache: page index -> frame.
    pub pages: BTreeMap<u64, Pfn>,
    /// Large folios of a regular file's page cache: first page -> pages.
    /// ext4 caches a long `write` in folios as large as the remaining
    /// length and the index alignment allow (`fgf_set_order`); pages not
    /// listed are single-page folios.
    pub folios: BTreeMap<u64, u64>,
    /// References: the name in the file system, open files, map entries.
    pub refs: u32,
    /// shmem pages on swap: page index -> slot, with the frame when the
    /// page is in the swap cache too (shmem keeps its swap entries in its
    /// page cache, `shmem_writeout`; no page table names them).
    #[serde(skip)]
    pub swap: BTreeMap<u64, (crate::vm::swap::Slot, Option<Pfn>)>,
}

impl Object {
    pub fn new(kind: ObjKind, size: u64) -> Object {
        Object {
            kind,
            size,
            pages: BTreeMap::new(),
            folios: BTreeMap::new(),
            refs: 0,
            swap: BTreeMap::new(),
        }
    }
    /// Whether page `index` lies wholly beyond the end of the file (SIGBUS).
    pub fn beyond_eof(&self, index: u64) -> bool {
        index.saturating_mul(PAGE_SIZE) >= self.size
    }
    /// The folio holding page `index`: (first page, pages).
    pub fn folio_of(&self, index: u64) -> (u64, u64) {
        match self.folios.range(..=index).next_back() {
            Some((&head, &n)) if index < head + n => (head, n),
            _ => (index, 1),
        }
    }
    /// shmem objects never need write-back and map writable on a read fault
    /// (no `page_mkwrite`); regular files track dirtiness per write.
    pub fn is_shmem(&self) -> bool {
        !matches!(self.kind, ObjKind::File(_))
    }
}

/// An open file description (`struct file`): shared by descriptors that
/// `fork` copied.
#[derive(Clone, Debug, Serialize)]
pub struct OpenFile {
    pub object: ObjId,
    /// The access mode it was opened with (`f_mode`'s FMODE_READ and
    /// FMODE_WRITE).
    pub access: Access,
    /// Never given to another open file, unlike the slab id (which is
    /// reused once this one is closed everywhere).
    pub serial: u64,
    /// Descriptors (in any process) naming this open file.
    pub refs: u32,
}

/// An open file's access mode: `O_RDWR`, `O_RDONLY` or `O_WRONLY`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    #[default]
    ReadWrite,
    ReadOnly,
    WriteOnly,
}

impl Access {
    pub const fn readable(self) -> bool {
        !matches!(self, Access::WriteOnly)
    }
    pub const fn writable(self) -> bool {
        !matches!(self, Access::ReadOnly)
    }
}

/// The page cache's operations on the machine: filling a new file,
/// truncation (`truncate_pagecache`), hole punching (`shmem_fallocate`
/// with FALLOC_FL_PUNCH_HOLE), unmapping an object's pages from every
/// process (`unmap_mapping_range`), and writeback (`filemap_fdatawrite`).
impl Machine {
    /// Write the `i % 251` pattern into a fresh object of `size` bytes.
    /// A regular file is written as a program would, in `write` calls of up
    /// to 251 x 4096 bytes, and the page cache takes each call in the
    /// largest folios that fit (ext4 with large folios); shmem uses pages.
    pub(crate) fn fill_pattern(&mut self, obj: u32, size: u64) -> SysResult<()> {
        let o = self.objects.get_mut(obj).expect("live");
        o.size = size;
        if matches!(o.kind, ObjKind::File(_)) {
            const CHUNK: u64 = 251 * PAGE_SIZE;
            let mut pos = 0;
            while pos < size {
                let end = (pos + CHUNK).min(size);
                while pos < end {
                    let index = pos / PAGE_SIZE;
                    let left = end - pos;
                    // fgf_set_order: ilog2(len) - PAGE_SHIFT, capped by the
                    // index's alignment and the 2 MiB maximum.
                    let mut order = (63 - u64::from(left.leading_zeros()))
                        .saturating_sub(12)
                        .min(9);
                    if index != 0 {
                        order = order.min(u64::from(index.trailing_zeros()));
                    }
                    let n = 1u64 << order;
                    if n > 1 {
                        o.folios.insert(index, n);
                    }
                    pos = (index + n) * PAGE_SIZE;
                }
                pos = end;
            }
        }
        let pages = size.div_ceil(PAGE_SIZE);
        for index in 0..pages {
            let pfn = self
                .cache_page(obj, index)
                .ok_or(enomem("out of memory filling the file"))?;
            let base = index * PAGE_SIZE;
            let n = (size - base).min(PAGE_SIZE);
            for i in 0..n {
                self.phys
                    .write_u8(pfn.addr().offset(i), ((base + i) % 251) as u8);
            }
            // write(2) leaves the page cache dirty.
            self.phys.desc_mut(pfn).dirty = true;
        }
        Ok(())
    }

    /// `truncate_pagecache` + setting `i_size`.
    pub(crate) fn truncate(&mut self, obj: u32, len: u64) {
        let old = self.objects.get(obj).expect("live").size;
        self.objects.get_mut(obj).expect("live").size = len;
        if len >= old {
            return;
        }
        let mut first = len.div_ceil(PAGE_SIZE);
        // A large folio straddling the new end stays whole in the cache
        // (its tail is zeroed); pages past the end still raise SIGBUS.
        if first > 0 {
            let (head, n) = self.objects.get(obj).expect("live").folio_of(first - 1);
            first = first.max(head + n);
        }
        let o = self.objects.get_mut(obj).expect("live");
        let dead: Vec<u64> = o.folios.range(first..).map(|(&h, _)| h).collect();
        for h in dead {
            o.folios.remove(&h);
        }
        self.unmap_object_pages(obj, len.div_ceil(PAGE_SIZE), u64::MAX, true);
        self.drop_object_swap(obj, first, u64::MAX);
        let gone: Vec<(u64, Pfn)> = self
            .objects
            .get(obj)
            .expect("live")
            .pages
            .range(first..)
            .map(|(&i, &p)| (i, p))
            .collect();
        for (i, pfn) in gone {
            self.objects.get_mut(obj).expect("live").pages.remove(&i);
            self.phys.free(pfn, &mut self.ev);
        }
        // Bytes past the new end in the pages that stay read zeros.
        let kept: Vec<(u64, Pfn)> = self
            .objects
            .get(obj)
            .expect("live")
            .pages
            .range(len / PAGE_SIZE..first)
            .map(|(&i, &p)| (i, p))
            .collect();
        for (i, pfn) in kept {
            let from = len.saturating_sub(i * PAGE_SIZE).min(PAGE_SIZE);
            if from == PAGE_SIZE {
                continue;
            }
            // Zeroing writes the page: a lent one is replaced by a copy
            // first (`ubc_zerorange` faults through `ubc_fault`, which
            // breaks loans); without a frame for it the page stays as is.
            let pfn = if self.lent(pfn) {
                match self.loanbreak_object(self.running, None, obj, i, pfn) {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                pfn
            };
            self.phys
                .fill(pfn.addr().offset(from), (PAGE_SIZE - from) as usize, 0);
        }
    }

    /// MADV_REMOVE: punch a hole of `n` pages from page `first` (the data
    /// reads back as zeros; private copies stay).
    pub(crate) fn punch_hole(&mut self, obj: u32, first: u64, n: u64) {
        self.unmap_object_pages(obj, first, first + n, false);
        let gone: Vec<(u64, Pfn)> = self
            .objects
            .get(obj)
            .expect("live")
            .pages
            .range(first..first + n)
            .map(|(&i, &p)| (i, p))
            .collect();
        for (i, pfn) in gone {
            self.objects.get_mut(obj).expect("live").pages.remove(&i);
            self.phys.free(pfn, &mut self.ev);
        }
        self.drop_object_swap(obj, first, first + n);
    }

    /// Pages `[first, end)` of `obj` that are on swap are gone with the
    /// object's data there (`shmem_undo_range` freeing swap entries).
    pub(crate) fn drop_object_swap(&mut self, obj: u32, first: u64, end: u64) {
        let Some(o) = self.objects.get_mut(obj) else {
            return;
        };
        let gone: Vec<u64> = o.swap.range(first..end).map(|(&i, _)| i).collect();
        for i in gone {
            let (slot, cached) = self
                .objects
                .get_mut(obj)
                .expect("live")
                .swap
                .remove(&i)
                .expect("listed");
            self.shmem_swap_free(slot, cached);
        }
    }

    /// `unmap_mapping_range`: remove the PTEs of every mapping of pages
    /// `[first, end)` of `obj` in every process; with `even_cows` private
    /// copies of those pages are thrown away too.
    pub(crate) fn unmap_object_pages(&mut self, obj: u32, first: u64, end: u64, even_cows: bool) {
        let mut work = Vec::new();
        for (&pid, p) in &self.procs {
            for e in p.map.entries.values().filter(|e| e.object == Some(obj)) {
                let (lo_i, hi_i) = (e.pgoff, e.pgoff + e.pages());
                let (a, b) = (first.max(lo_i), end.min(hi_i));
                if a < b {
                    let lo = e.start + (a - e.pgoff) * PAGE_SIZE;
                    let hi = e.start + (b - e.pgoff) * PAGE_SIZE;
                    work.push((pid, e.start, lo, hi, e.aref.is_some()));
                }
            }
        }
        for (pid, estart, lo, hi, has_amap) in work {
            if even_cows && has_amap {
                self.discard_private(pid, estart, lo, hi);
            } else if has_amap {
                // Keep the private copies mapped: zap only pages without one.
                let mut va = lo;
                while va < hi {
                    let e = &self.procs[&pid].map.entries[&estart];
                    let has_anon = e.slot(va).is_some_and(|(a, s)| {
                        self.amaps.get(a).and_then(|a| a.lookup(s)).is_some()
                    });
                    if !has_anon {
                        self.zap(pid, va, va + PAGE_SIZE);
                    }
                    va += PAGE_SIZE;
                }
            } else {
                self.zap(pid, lo, hi);
            }
        }
    }

    /// Write back `[lo, hi)` of a shared file mapping (`vfs_fsync_range`):
    /// harvest the PTE dirty bits, then the page cache is clean.
    pub(crate) fn writeback(&mut self, pid: Pid, lo: u64, hi: u64) {
        let mut va = lo;
        while va < hi {
            if let Some(m) = self.procs[&pid].pmap.lookup(&self.phys, VirtAddr(va)) {
                if m.dirty {
                    let p = self.procs.get_mut(&pid).expect("live");
                    let flush = p
                        .pmap
                        .clear_dirty(&mut self.phys, VirtAddr(va), &mut self.ev);
                    flush.flush(&mut self.tlb, &mut self.ev);
                }
                self.phys.desc_mut(m.pfn).dirty = false;
            }
            va += PAGE_SIZE;
        }
    }

    /// MADV_WILLNEED's readahead of object pages `[first, end)` into the
    /// page cache (`vfs_fadvise(POSIX_FADV_WILLNEED)`), clipped to the end
    /// of the file. shmem (memfds, shared anonymous mappings) only has
    /// swapped-out pages brought back (`shmem_swapin_range`), and without
    /// swap there are none: nothing is allocated.
    pub(crate) fn readahead(&mut self, obj: u32, first: u64, end: u64) -> SysResult<()> {
        let Some(o) = self.objects.get(obj) else {
            return Ok(());
        };
        if o.is_shmem() {
            return Ok(());
        }
        let end = end.min(o.size.div_ceil(PAGE_SIZE));
        for i in first..end {
            if self.cache_page(obj, i).is_none() {
                return Err(enomem("out of memory"));
            }
        }
        Ok(())
    }

    /// One byte of an object through the page cache (`filemap_read`);
    /// `None` at or past the end of the file.
    pub(crate) fn object_read(&mut self, obj: u32, off: u64) -> SysResult<Option<u8>> {
        let o = self.objects.get(obj).expect("live");
        if off >= o.size {
            return Ok(None);
        }
        // A hole in shmem reads as zeros without a page being made for
        // it (`shmem_get_folio` with SGP_READ); a regular file reads its
        // hole into the page cache.
        let index = off >> PAGE_SHIFT;
        if o.is_shmem() && !o.pages.contains_key(&index) && !o.swap.contains_key(&index) {
            return Ok(Some(0));
        }
        let pfn = self
            .cache_page(obj, off >> PAGE_SHIFT)
            .ok_or(enomem("out of memory"))?;
        Ok(Some(
            self.phys.read_u8(pfn.addr().offset(off & (PAGE_SIZE - 1))),
        ))
    }

    /// One byte written into an object through the page cache
    /// (`generic_perform_write`): the page is dirtied and a write past the
    /// end grows the file.
    pub(crate) fn object_write(&mut self, obj: u32, off: u64, value: u8) -> SysResult<()> {
        // A lent page is replaced by a copy before the write (`ubc_fault`).
        let pfn = self
            .cache_page_for_write(self.running, obj, off >> PAGE_SHIFT)
            .ok_or(enomem("out of memory"))?;
        self.phys
            .write_u8(pfn.addr().offset(off & (PAGE_SIZE - 1)), value);
        self.phys.desc_mut(pfn).dirty = true;
        let o = self.objects.get_mut(obj).expect("live");
        o.size = o.size.max(off + 1);
        Ok(())
    }
}
