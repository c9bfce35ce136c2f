//! Physical memory: frames with real bytes, their descriptors, and the
//! frame allocator.
//!
//! A frame is 4 KiB of simulated RAM. Each has a descriptor ([`FrameDesc`],
//! Linux's `struct page`, NetBSD's `struct vm_page`) saying who owns it and
//! how many PTEs map it. Contents are real bytes, so a page table really is
//! 512 little-endian `u64`s and the MMU walker reads them from here.
//!
//! Costs: byte storage is allocated a chunk of 64 frames at a time, the
//! first time one of them is written with a non-zero value, and descriptors
//! only up to the highest frame ever handed out, so a 4 GiB machine costs
//! almost nothing until touched. The chunks are found by the physical
//! address alone (no descriptor on the way), which keeps a page walk and a
//! load to a few host cache lines. The allocator
//! is O(1): a bump pointer over never-used frames plus a LIFO stack of freed
//! ones (the same idea as the buddy allocator's per-CPU free lists). Each
//! frame remembers the extent of bytes ever written, so freeing it clears
//! only that extent and the next owner still sees zeros.
//!
//! ```text
//!   0                 bump                                    total
//!   |  used or freed   |       never used (no storage)         |
//!   +------------------+----------------------------------------+
//!        ^ freed frames sit on free_stack (popped first)
//! ```

use crate::addr::{PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HUGE, Pfn, PhysAddr};
use crate::event::{Event, EventLog};
use core::fmt;
use serde::Serialize;

/// Bytes in one frame.
const FRAME_BYTES: usize = PAGE_SIZE as usize;
/// Fewest frames a machine may have (4 MiB).
pub const MIN_FRAMES: u64 = 1024;
/// Most frames a machine may have (64 GiB).
pub const MAX_FRAMES: u64 = 1 << 24;

/// Bit 7 of a kind byte: the frame is mapped by more than one leaf PTE.
pub const SHARED_BIT: u8 = 0x80;

/// What a frame is used for, one byte per frame (the frame-table view reads
/// [`PhysMem::kind_bytes`] straight out of memory).
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameKind {
    Free = 0,
    /// Anonymous memory (held by an anon).
    Anon = 1,
    /// A page of a memory object's page cache (file, memfd, shared anon).
    Cache = 2,
    /// A paging structure (PML4, PDPT, PD or PT).
    PageTable = 3,
    /// The shared zero page (or a frame of the huge zero page).
    Zero = 4,
    /// A page its owner let go while it was on loan (UVM's orphan): only
    /// the loans keep it, and the last `uvm_unloan` frees it.
    Loaned = 5,
}

impl FrameKind {
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Free => "free",
            FrameKind::Anon => "anon",
            FrameKind::Cache => "cache",
            FrameKind::PageTable => "page-table",
            FrameKind::Zero => "zero",
            FrameKind::Loaned => "loaned",
        }
    }
}

/// Who owns a frame (Linux's `page->mapping` + `page->index`, in plain data).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FrameOwner {
    /// Nobody: the frame is free.
    None,
    /// The page of anon number `anon` (NetBSD UVM `vm_anon`).
    Anon { anon: u32 },
    /// Page `index` of memory object `object` (the page cache).
    Cache { object: u32, index: u64 },
    /// A page-table frame of address space `asid` at `level` (4 = PML4).
    PageTable { asid: u16, level: u8 },
    /// The shared zero page.
    Zero,
    /// Nobody but its loans (`vm/loan.rs`): the owner freed the page while
    /// it was lent, and the borrower still reads it (UVM's orphaned page,
    /// no `uobject` and no `uanon`).
    Loaned,
}

impl FrameOwner {
    pub fn kind(&self) -> FrameKind {
        match self {
            FrameOwner::None => FrameKind::Free,
            FrameOwner::Anon { .. } => FrameKind::Anon,
            FrameOwner::Cache { .. } => FrameKind::Cache,
            FrameOwner::PageTable { .. } => FrameKind::PageTable,
            FrameOwner::Zero => FrameKind::Zero,
            FrameOwner::Loaned => FrameKind::Loaned,
        }
    }
}

/// A frame's descriptor (`struct page` / `struct vm_page`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FrameDesc {
    pub owner: FrameOwner,
    /// Leaf PTEs mapping this frame (`page_mapcount`); 0 for a page-table
    /// frame (see [`PhysMem::table_entries`] for those).
    pub mapcount: u32,
    /// mlock/wiring count: a wired frame is never paged out.
    pub wired: u32,
    /// Loans of the page to the kernel (UVM's `loan_count`, `vm/loan.rs`):
    /// while non-zero every user mapping of the page is read-only, the
    /// page is on no LRU list, and freeing it only disowns it.
    pub loans: u32,
    /// Contents differ from the backing store (`PG_dirty`).
    pub dirty: bool,
    /// Recently used (`PG_referenced`), for page reclaim.
    pub referenced: bool,
    /// The LRU list the page is on (`PG_lru`, `PG_active`).
    pub lru: LruList,
    /// Its neighbours there (`folio->lru`, a list threaded through the
    /// descriptors): the next newer and the next older page, [`NIL`] at
    /// the ends.
    #[serde(skip)]
    lru_newer: u32,
    #[serde(skip)]
    lru_older: u32,
}

/// No frame: the end of an LRU list.
const NIL: u32 = u32::MAX;

/// The LRU lists of pages (`enum lru_list`): anonymous pages only here.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LruList {
    /// On no list.
    None,
    Inactive,
    Active,
}

/// One LRU list's ends and length.
#[derive(Clone, Copy, Debug)]
struct LruEnds {
    newest: u32,
    oldest: u32,
    len: u64,
}

impl LruEnds {
    const EMPTY: LruEnds = LruEnds {
        newest: NIL,
        oldest: NIL,
        len: 0,
    };
}

impl FrameDesc {
    const FREE: FrameDesc = FrameDesc::new(FrameOwner::None);

    const fn new(owner: FrameOwner) -> FrameDesc {
        FrameDesc {
            owner,
            mapcount: 0,
            wired: 0,
            loans: 0,
            dirty: false,
            referenced: false,
            lru: LruList::None,
            lru_newer: NIL,
            lru_older: NIL,
        }
    }
}

/// Frames per storage chunk: RAM's bytes are kept in chunks of 64 frames
/// (256 KiB), found by the physical address alone, so that a page walk or
/// a load after a TLB hit goes from the address straight to the byte
/// (QEMU's softmmu keeps the host address in its TLB for the same reason)
/// and neighbouring frames, page tables among them, share host memory.
const CHUNK_FRAMES: u64 = 64;
/// Bytes of one chunk.
const CHUNK_BYTES: usize = CHUNK_FRAMES as usize * FRAME_BYTES;
/// A physical address shifted right by this is its chunk.
const CHUNK_SHIFT: u32 = PAGE_SHIFT + CHUNK_FRAMES.trailing_zeros();

/// The bytes of [`CHUNK_FRAMES`] frames (a fixed size, so that an offset
/// masked to it needs no bounds check).
type Chunk = [u8; CHUNK_BYTES];

/// The extent of a frame's bytes ever written since it was last cleared
/// (bytes outside `lo..hi` are zero; `lo >= hi`: none).
#[derive(Clone, Copy)]
struct Extent {
    lo: u16,
    hi: u16,
}

impl Extent {
    const CLEAR: Extent = Extent {
        lo: FRAME_BYTES as u16,
        hi: 0,
    };
    #[inline]
    fn touch(&mut self, off: usize, len: usize) {
        self.lo = self.lo.min(off as u16);
        self.hi = self.hi.max((off + len) as u16);
    }
    #[inline]
    fn is_clear(self) -> bool {
        self.lo >= self.hi
    }
}

#[derive(Clone)]
struct Frame {
    desc: FrameDesc,
    allocated: bool,
    /// Non-zero entries, when the frame is a page table.
    table_entries: u16,
    /// What of its bytes may be non-zero.
    written: Extent,
}

impl Frame {
    const fn free() -> Frame {
        Frame {
            desc: FrameDesc::FREE,
            allocated: false,
            table_entries: 0,
            written: Extent::CLEAR,
        }
    }
}

/// All of the machine's RAM.
#[derive(Clone)]
pub struct PhysMem {
    total: u64,
    free: u64,
    /// Frames at or above `bump` were never handed out.
    bump: u64,
    /// Freed frames below `bump`, popped LIFO.
    free_stack: Vec<u32>,
    /// Frames `0..bump` (grown lazily).
    frames: Vec<Frame>,
    /// The bytes of RAM, [`CHUNK_FRAMES`] frames a chunk, indexed by
    /// physical address >> [`CHUNK_SHIFT`]; a chunk never written is
    /// `None` (it reads as zero) and the vector is only as long as the
    /// highest chunk written.
    ram: Vec<Option<Box<Chunk>>>,
    /// One [`FrameKind`] byte per frame, `total` long.
    kinds: Vec<u8>,
    /// Returned by `desc_mut` for an out-of-range frame (never read back).
    scratch: FrameDesc,
    /// Allocation requests ever made (single frames and huge runs alike),
    /// counted at the one choke point, [`PhysMem::admit`].
    requests: u64,
    /// Requests numbered `from..from + count` fail, as `(from, count)`
    /// (see [`PhysMem::fail_allocs`]; `(0, 0)`: none).
    failing: (u64, u64),
    /// The sum of every frame's `wired` count.
    wired_total: u64,
    /// The inactive and the active list (`lruvec->lists`).
    lru: [LruEnds; 2],
}

impl fmt::Debug for PhysMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhysMem")
            .field("total", &self.total)
            .field("free", &self.free)
            .field("bump", &self.bump)
            .field("free_stack", &self.free_stack.len())
            .finish()
    }
}

impl PhysMem {
    /// A machine with `frames` frames of RAM (clamped to
    /// [`MIN_FRAMES`]..=[`MAX_FRAMES`]), all free and reading as zero.
    pub fn new(frames: u64) -> Self {
        let total = frames.clamp(MIN_FRAMES, MAX_FRAMES);
        PhysMem {
            total,
            free: total,
            bump: 0,
            free_stack: Vec::new(),
            frames: Vec::new(),
            ram: Vec::new(),
            kinds: vec![FrameKind::Free as u8; total as usize],
            scratch: FrameDesc::FREE,
            requests: 0,
            failing: (0, 0),
            wired_total: 0,
            lru: [LruEnds::EMPTY; 2],
        }
    }

    fn lru_ix(list: LruList) -> usize {
        match list {
            LruList::Active => 1,
            _ => 0,
        }
    }

    /// `lruvec_add_folio`: `pfn` (an allocated frame) becomes the newest
    /// page of `list` (taken off the list it was on first).
    #[inline]
    pub fn lru_add(&mut self, pfn: Pfn, list: LruList) {
        if pfn.0 >= self.bump {
            debug_assert!(false, "lru_add of frame {pfn} never handed out");
            return;
        }
        self.lru_del(pfn);
        // A page on loan is on no paging queue (`uvm_pagedequeue` in
        // `uvm_loananon` / `uvm_loanpage`): the page daemon never meets it.
        if list == LruList::None || self.frames[pfn.index()].desc.loans > 0 {
            return;
        }
        let i = Self::lru_ix(list);
        let p = pfn.0 as u32;
        let old_newest = self.lru[i].newest;
        let d = &mut self.frames[pfn.index()].desc;
        d.lru = list;
        d.lru_newer = NIL;
        d.lru_older = old_newest;
        if old_newest == NIL {
            self.lru[i].oldest = p;
        } else {
            self.frames[old_newest as usize].desc.lru_newer = p;
        }
        self.lru[i].newest = p;
        self.lru[i].len += 1;
    }

    /// `lruvec_del_folio`: `pfn` leaves its list, if it is on one.
    #[inline]
    pub fn lru_del(&mut self, pfn: Pfn) {
        let Some(f) = self.frames.get_mut(pfn.index()) else {
            return;
        };
        let d = &mut f.desc;
        if d.lru == LruList::None {
            return;
        }
        let (list, newer, older) = (d.lru, d.lru_newer, d.lru_older);
        d.lru = LruList::None;
        d.lru_newer = NIL;
        d.lru_older = NIL;
        let i = Self::lru_ix(list);
        match newer {
            NIL => self.lru[i].newest = older,
            n => self.frames[n as usize].desc.lru_older = older,
        }
        match older {
            NIL => self.lru[i].oldest = newer,
            o => self.frames[o as usize].desc.lru_newer = newer,
        }
        self.lru[i].len -= 1;
    }

    /// The oldest page of `list`.
    pub fn lru_oldest(&self, list: LruList) -> Option<Pfn> {
        match self.lru[Self::lru_ix(list)].oldest {
            NIL => None,
            p => Some(Pfn(u64::from(p))),
        }
    }

    /// The pages of `list`, oldest first (the order reclaim scans them in).
    pub fn lru_pages(&self, list: LruList) -> impl Iterator<Item = Pfn> + '_ {
        let first = if list == LruList::None {
            NIL
        } else {
            self.lru[Self::lru_ix(list)].oldest
        };
        core::iter::successors((first != NIL).then_some(first), move |&p| {
            match self.frames[p as usize].desc.lru_newer {
                NIL => None,
                n => Some(n),
            }
        })
        .map(|p| Pfn(u64::from(p)))
    }

    /// Pages on `list`.
    pub fn lru_len(&self, list: LruList) -> u64 {
        if list == LruList::None {
            return 0;
        }
        self.lru[Self::lru_ix(list)].len
    }

    /// The choke point every allocation passes, single frame or huge run,
    /// whoever asks (the VM layer's funnel, `vm/page_alloc.rs`, or the pmap
    /// for its page-table frames): it numbers the request and says whether
    /// it may proceed. A refused request changes nothing else.
    #[inline]
    fn admit(&mut self) -> bool {
        let n = self.requests;
        self.requests += 1;
        let (from, count) = self.failing;
        n.wrapping_sub(from) >= count
    }

    /// Deterministic failure injection: of the allocation requests from
    /// now on, the first `after` are served as usual and the next `count`
    /// fail as if memory had run out (`u64::MAX`: all of them). `None`
    /// clears it. For tests of the paths that run out of memory.
    pub fn fail_allocs(&mut self, plan: Option<(u64, u64)>) {
        self.failing = plan.map_or((0, 0), |(after, count)| {
            let from = self.requests.saturating_add(after);
            (from, count.min(u64::MAX - from))
        });
    }

    /// Allocation requests made so far, served or refused.
    pub fn alloc_requests(&self) -> u64 {
        self.requests
    }

    pub fn total_frames(&self) -> u64 {
        self.total
    }

    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Make sure descriptors exist for frames `0..n`.
    fn grow(&mut self, n: u64) {
        if (self.frames.len() as u64) < n {
            self.frames.resize_with(n as usize, Frame::free);
        }
    }

    /// Hand out one zero-filled frame for `owner` (`alloc_page`).
    ///
    /// => returns `None` when every frame is in use.
    /// => order is deterministic: the most recently freed frame first, else
    ///    the lowest never-used one.
    pub fn alloc(&mut self, owner: FrameOwner, ev: &mut EventLog) -> Option<Pfn> {
        if !self.admit() {
            return None;
        }
        let pfn = if let Some(p) = self.free_stack.pop() {
            p as u64
        } else if self.bump < self.total {
            let p = self.bump;
            self.bump += 1;
            self.grow(self.bump);
            p
        } else {
            return None;
        };
        self.take(pfn, owner);
        ev.push_with(|| Event::FrameAlloc {
            pfn: Pfn(pfn),
            kind: owner.kind().name(),
        });
        Some(Pfn(pfn))
    }

    /// Mark a free frame (descriptor already present) allocated.
    #[inline]
    fn take(&mut self, pfn: u64, owner: FrameOwner) {
        let f = &mut self.frames[pfn as usize];
        debug_assert!(!f.allocated, "frame {pfn} handed out twice");
        debug_assert!(f.written.is_clear(), "free frame {pfn} not zero");
        f.allocated = true;
        f.table_entries = 0;
        f.desc = FrameDesc::new(owner);
        self.kinds[pfn as usize] = owner.kind() as u8;
        self.free -= 1;
    }

    /// Hand out 512 contiguous zero-filled frames, the first 512-aligned: the
    /// backing of a 2 MiB page (`alloc_pages(order 9)`). `owner(i)` is the
    /// owner of frame `i` of the run. The frames are freed one by one with
    /// [`PhysMem::free`].
    ///
    /// => returns `None` when no aligned run of 512 free frames exists.
    pub fn alloc_huge(
        &mut self,
        owner: impl Fn(u64) -> FrameOwner,
        ev: &mut EventLog,
    ) -> Option<Pfn> {
        if !self.admit() {
            return None;
        }
        let start = self.find_huge_run()?;
        for i in 0..PAGES_PER_HUGE {
            self.take(start + i, owner(i));
        }
        ev.push_with(|| Event::HugeFrameAlloc { pfn: Pfn(start) });
        Some(Pfn(start))
    }

    /// Find and reserve (remove from the free structures) an aligned free run.
    fn find_huge_run(&mut self) -> Option<u64> {
        let n = PAGES_PER_HUGE;
        if self.free < n {
            return None;
        }
        // Usually: carve it from the never-used region; the frames skipped to
        // reach alignment become ordinary free frames (lowest popped first).
        let start = self.bump.next_multiple_of(n);
        if start + n <= self.total {
            self.grow(start + n);
            for p in (self.bump..start).rev() {
                self.free_stack.push(p as u32);
            }
            self.bump = start + n;
            return Some(start);
        }
        // Otherwise scan for an aligned run of free frames (rare: only once
        // the never-used region is exhausted), O(frames).
        let mut c = 0;
        while c + n <= self.total {
            let busy = (c..c + n)
                .rev()
                .find(|&p| p < self.bump && self.frames[p as usize].allocated);
            match busy {
                Some(p) => c = (p / n + 1) * n,
                None => {
                    self.free_stack
                        .retain(|&p| !(c..c + n).contains(&(p as u64)));
                    self.grow(c + n);
                    self.bump = self.bump.max(c + n);
                    return Some(c);
                }
            }
        }
        None
    }

    /// Return a frame to the free list (`free_page`). Its contents are
    /// forgotten: the next owner reads zeros.
    ///
    /// A page on loan is not freed: its owner only lets go of it and it
    /// stays, an orphan ([`FrameOwner::Loaned`]), until its last loan ends
    /// (`uvm_pagefree` of a page with `loan_count` set, `uvm_anfree` on a
    /// loaned anon page).
    ///
    /// => caller must pass an allocated frame (anything else is ignored,
    ///    with a debug assertion).
    pub fn free(&mut self, pfn: Pfn, ev: &mut EventLog) {
        if !self.is_allocated(pfn) {
            debug_assert!(false, "free of unallocated frame {pfn}");
            return;
        }
        self.lru_del(pfn);
        if self.frames[pfn.index()].desc.loans > 0 {
            self.disown(pfn);
            ev.push_with(|| Event::LoanOrphan { pfn });
            return;
        }
        let f = &mut self.frames[pfn.index()];
        debug_assert!(f.desc.mapcount == 0, "freeing mapped frame {pfn}");
        debug_assert!(f.desc.wired == 0, "freeing wired frame {pfn}");
        debug_assert!(
            f.table_entries == 0,
            "freeing page table {pfn} with entries"
        );
        f.allocated = false;
        f.table_entries = 0;
        f.desc = FrameDesc::FREE;
        self.zero_frame(pfn);
        self.kinds[pfn.index()] = FrameKind::Free as u8;
        self.free_stack.push(pfn.0 as u32);
        self.free += 1;
        ev.push_with(|| Event::FrameFree { pfn });
    }

    /// The owner of lent page `pfn` gives it up: only its loans keep it
    /// (`pg->uanon = NULL`, `uvm_pageremove` for an object page). It keeps
    /// its bytes; nothing maps it any more.
    pub fn disown(&mut self, pfn: Pfn) {
        self.lru_del(pfn);
        let d = self.desc_mut(pfn);
        d.dirty = false;
        d.referenced = false;
        self.set_owner(pfn, FrameOwner::Loaned);
    }

    /// One more loan of `pfn` (`pg->loan_count++`); the page leaves the
    /// LRU lists (`uvm_pagedequeue`).
    pub fn loan_inc(&mut self, pfn: Pfn) {
        if self.is_allocated(pfn) {
            self.lru_del(pfn);
            let d = self.desc_mut(pfn);
            d.loans = d.loans.saturating_add(1);
        } else {
            debug_assert!(false, "loan of free frame {pfn}");
        }
    }

    /// One loan of `pfn` fewer (`pg->loan_count--` in `uvm_unloanpage`).
    /// An orphan whose last loan ends is freed: returns true then.
    pub fn loan_dec(&mut self, pfn: Pfn, ev: &mut EventLog) -> bool {
        if !self.is_allocated(pfn) || self.desc(pfn).loans == 0 {
            debug_assert!(false, "unloan of frame {pfn}, which is not on loan");
            return false;
        }
        let d = self.desc_mut(pfn);
        d.loans -= 1;
        if d.loans == 0 && d.owner == FrameOwner::Loaned {
            self.free(pfn, ev);
            return true;
        }
        false
    }

    /// Whether `pfn` is handed out (false for a frame beyond RAM too).
    #[inline]
    pub fn is_allocated(&self, pfn: Pfn) -> bool {
        self.frames.get(pfn.index()).is_some_and(|f| f.allocated)
    }

    /// The descriptor of `pfn` (a free descriptor for a frame beyond RAM).
    #[inline]
    pub fn desc(&self, pfn: Pfn) -> &FrameDesc {
        self.frames
            .get(pfn.index())
            .map_or(&FrameDesc::FREE, |f| &f.desc)
    }

    /// The descriptor of `pfn`, to change. Change the owner with
    /// [`PhysMem::set_owner`] so the kind byte follows.
    pub fn desc_mut(&mut self, pfn: Pfn) -> &mut FrameDesc {
        if pfn.0 < self.total {
            self.grow(pfn.0 + 1);
            &mut self.frames[pfn.index()].desc
        } else {
            debug_assert!(false, "desc_mut of frame {pfn} beyond RAM");
            self.scratch = FrameDesc::FREE;
            &mut self.scratch
        }
    }

    /// Give an allocated frame a new owner (keeps [`PhysMem::kind_bytes`] current).
    /// One more leaf PTE maps `pfn`. Bit 7 of the frame's kind byte says
    /// "mapped more than once", so a drawing of memory can show sharing
    /// without asking frame by frame.
    #[inline]
    pub fn map_inc(&mut self, pfn: Pfn) {
        let d = self.desc_mut(pfn);
        d.mapcount = d.mapcount.saturating_add(1);
        let shared = d.mapcount > 1;
        if let Some(k) = self.kinds.get_mut(pfn.index()) {
            *k = (*k & 0x7f) | if shared { SHARED_BIT } else { 0 };
        }
    }

    /// One leaf PTE fewer maps `pfn`, and what that leaf's A and D bits
    /// said is kept in the descriptor (`page_remove_rmap` with
    /// `set_page_dirty` / `mark_page_accessed` in `zap_pte_range`). An
    /// anonymous page's D bit is not kept (`zap_present_folio_ptes` only
    /// dirties file folios, `wp_page_copy` leaves the old page alone): the
    /// page lives on in its other mappings, each with its own D bit.
    #[inline]
    pub fn unmap_leaf(&mut self, pfn: Pfn, dirty: bool, accessed: bool) {
        let Some(f) = self.frames.get_mut(pfn.index()) else {
            debug_assert!(false, "unmap_leaf of frame {pfn} beyond RAM");
            return;
        };
        let d = &mut f.desc;
        d.mapcount = d.mapcount.saturating_sub(1);
        d.dirty |= dirty && !matches!(d.owner, FrameOwner::Anon { .. });
        d.referenced |= accessed;
        let shared = d.mapcount > 1;
        if let Some(k) = self.kinds.get_mut(pfn.index()) {
            *k = (*k & 0x7f) | if shared { SHARED_BIT } else { 0 };
        }
    }

    /// One more locked mapping maps `pfn` (`mlock_folio`; UVM's
    /// `uvm_pagewire`): while wired, reclaim must leave the frame alone.
    pub fn wire(&mut self, pfn: Pfn) {
        if self.is_allocated(pfn) {
            let d = self.desc_mut(pfn);
            d.wired = d.wired.saturating_add(1);
            self.wired_total += 1;
        }
    }

    /// One locked mapping of `pfn` fewer (`munlock_folio`, `uvm_pageunwire`).
    pub fn unwire(&mut self, pfn: Pfn) {
        if self.is_allocated(pfn) && self.desc(pfn).wired > 0 {
            self.desc_mut(pfn).wired -= 1;
            self.wired_total -= 1;
        } else {
            debug_assert!(false, "unwire of frame {pfn}, which is not wired");
        }
    }

    /// The sum of every frame's wired count (0: nothing is locked, and an
    /// unwiring pass can be skipped).
    #[inline]
    pub fn wired_total(&self) -> u64 {
        self.wired_total
    }

    pub fn set_owner(&mut self, pfn: Pfn, owner: FrameOwner) {
        if pfn.0 < self.total {
            self.desc_mut(pfn).owner = owner;
            self.kinds[pfn.index()] = owner.kind() as u8 | (self.kinds[pfn.index()] & SHARED_BIT);
        }
    }

    /// For a page-table frame: how many of its 512 entries are non-zero.
    /// The pmap keeps this count (FreeBSD's page-table-page `ref_count`) so
    /// it can free a table the moment it empties without scanning it.
    #[inline]
    pub fn table_entries(&self, pfn: Pfn) -> u32 {
        self.frames
            .get(pfn.index())
            .map_or(0, |f| f.table_entries as u32)
    }

    /// Set the count of non-zero entries of page-table frame `pfn`.
    #[inline]
    pub fn set_table_entries(&mut self, pfn: Pfn, n: u32) {
        debug_assert!(n <= 512 && self.is_allocated(pfn));
        if let Some(f) = self.frames.get_mut(pfn.index()) {
            f.table_entries = n.min(512) as u16;
        }
    }

    /// The chunk holding physical address `pa`, if it was ever written.
    #[inline(always)]
    fn chunk(&self, pa: u64) -> Option<&Chunk> {
        self.ram.get((pa >> CHUNK_SHIFT) as usize)?.as_deref()
    }

    /// Where frame `pfn` starts in its chunk.
    #[inline(always)]
    fn chunk_offset(pfn: u64) -> usize {
        (pfn & (CHUNK_FRAMES - 1)) as usize * FRAME_BYTES
    }

    /// Whether frame `pfn` may hold a non-zero byte.
    #[inline]
    fn written(&self, pfn: u64) -> bool {
        self.frames
            .get(pfn as usize)
            .is_some_and(|f| !f.written.is_clear())
    }

    /// The 4096 bytes of frame `pfn` for writing, with its extent (chunk
    /// storage and descriptors created on first use); `None` beyond RAM.
    #[inline]
    fn frame_mut(&mut self, pfn: u64) -> Option<(&mut [u8], &mut Extent)> {
        if pfn >= self.total {
            return None;
        }
        if pfn as usize >= self.frames.len() {
            self.grow(pfn + 1);
        }
        let c = (pfn / CHUNK_FRAMES) as usize;
        if c >= self.ram.len() {
            self.ram.resize_with(c + 1, || None);
        }
        let chunk = self.ram[c].get_or_insert_with(|| {
            // Straight onto the heap (a 256 KiB array would pass the stack).
            vec![0; CHUNK_BYTES]
                .into_boxed_slice()
                .try_into()
                .expect("CHUNK_BYTES long")
        });
        let at = Self::chunk_offset(pfn);
        Some((
            &mut chunk[at..at + FRAME_BYTES],
            &mut self.frames[pfn as usize].written,
        ))
    }

    /// The byte at `pa` (0 beyond RAM).
    #[inline(always)]
    pub fn read_u8(&self, pa: PhysAddr) -> u8 {
        self.chunk(pa.0)
            .map_or(0, |c| c[pa.0 as usize & (CHUNK_BYTES - 1)])
    }

    /// Store a byte at `pa` (ignored beyond RAM).
    #[inline]
    pub fn write_u8(&mut self, pa: PhysAddr, v: u8) {
        let pfn = pa.0 >> PAGE_SHIFT;
        if v == 0 && !self.written(pfn) {
            return; // already zero
        }
        if let Some((bytes, ext)) = self.frame_mut(pfn) {
            let off = pa.frame_offset();
            bytes[off] = v;
            ext.touch(off, 1);
        }
    }

    /// The little-endian `u64` at `pa` (8-aligned; low bits are ignored).
    #[inline(always)]
    pub fn read_u64(&self, pa: PhysAddr) -> u64 {
        debug_assert!(pa.0.is_multiple_of(8), "unaligned read_u64 at {pa}");
        self.chunk(pa.0).map_or(0, |c| {
            let off = pa.0 as usize & (CHUNK_BYTES - 1) & !7;
            let mut b = [0u8; 8];
            b.copy_from_slice(&c[off..off + 8]);
            u64::from_le_bytes(b)
        })
    }

    /// Store a little-endian `u64` at `pa` (8-aligned; low bits are ignored).
    #[inline]
    pub fn write_u64(&mut self, pa: PhysAddr, v: u64) {
        debug_assert!(pa.0.is_multiple_of(8), "unaligned write_u64 at {pa}");
        let pfn = pa.0 >> PAGE_SHIFT;
        let off = pa.frame_offset() & !7;
        // The common case: the frame's chunk exists (a page table being
        // edited, a page in use).
        if let (Some(Some(chunk)), Some(f)) = (
            self.ram.get_mut((pa.0 >> CHUNK_SHIFT) as usize),
            self.frames.get_mut(pfn as usize),
        ) {
            if v == 0 && f.written.is_clear() {
                return;
            }
            let at = Self::chunk_offset(pfn) + off;
            chunk[at..at + 8].copy_from_slice(&v.to_le_bytes());
            f.written.touch(off, 8);
            return;
        }
        if v == 0 && !self.written(pfn) {
            return;
        }
        if let Some((bytes, ext)) = self.frame_mut(pfn) {
            bytes[off..off + 8].copy_from_slice(&v.to_le_bytes());
            ext.touch(off, 8);
        }
    }

    /// Set `len` bytes from `pa` to `v`, stopping at the end of the frame.
    pub fn fill(&mut self, pa: PhysAddr, len: usize, v: u8) {
        let pfn = pa.0 >> PAGE_SHIFT;
        let off = pa.frame_offset();
        let len = len.min(FRAME_BYTES - off);
        if len == 0 || (v == 0 && !self.written(pfn)) {
            return;
        }
        if let Some((bytes, ext)) = self.frame_mut(pfn) {
            bytes[off..off + len].fill(v);
            ext.touch(off, len);
        }
    }

    /// The 4096 bytes of `pfn`; `None` means all zero.
    pub fn frame_bytes(&self, pfn: Pfn) -> Option<&[u8; 4096]> {
        if !self.written(pfn.0) {
            return None;
        }
        let at = Self::chunk_offset(pfn.0);
        self.chunk(pfn.0 << PAGE_SHIFT)
            .and_then(|c| c[at..at + FRAME_BYTES].try_into().ok())
    }

    /// Copy the contents of frame `from` into frame `to` (`copy_user_highpage`,
    /// the heart of copy-on-write).
    pub fn copy_frame(&mut self, from: Pfn, to: Pfn, ev: &mut EventLog) {
        ev.push_with(|| Event::FrameCopy { from, to });
        if from == to || from.0 >= self.total || to.0 >= self.total {
            return;
        }
        self.zero_frame(to);
        let Some(src) = self.frame_bytes(from) else {
            return; // source reads as zero: so does the copy
        };
        let ext = self.frames[from.index()].written;
        let (lo, hi) = (ext.lo as usize, ext.hi as usize);
        let mut page = [0u8; FRAME_BYTES];
        page[lo..hi].copy_from_slice(&src[lo..hi]);
        if let Some((dst, dext)) = self.frame_mut(to.0) {
            dst[lo..hi].copy_from_slice(&page[lo..hi]);
            *dext = ext;
        }
    }

    /// Set the 4096 bytes of `pfn` to `bytes` (a page read from swap).
    pub fn write_frame(&mut self, pfn: Pfn, bytes: &[u8]) {
        self.zero_frame(pfn);
        if bytes.iter().all(|&b| b == 0) {
            return;
        }
        if let Some((dst, ext)) = self.frame_mut(pfn.0) {
            let n = bytes.len().min(FRAME_BYTES);
            dst[..n].copy_from_slice(&bytes[..n]);
            ext.touch(0, n);
        }
    }

    /// Make every byte of `pfn` zero (`clear_page`): only the extent ever
    /// written needs it.
    pub fn zero_frame(&mut self, pfn: Pfn) {
        if !self.written(pfn.0) {
            return;
        }
        if let Some((bytes, ext)) = self.frame_mut(pfn.0) {
            bytes[ext.lo as usize..ext.hi as usize].fill(0);
            *ext = Extent::CLEAR;
        }
    }

    /// One [`FrameKind`] byte per frame, `total_frames()` long, always current.
    /// Bits 0-6 are the `FrameKind`; bit 7 ([`SHARED_BIT`]) is set while
    /// more than one leaf PTE maps the frame.
    pub fn kind_bytes(&self) -> &[u8] {
        &self.kinds
    }

    /// Every allocated frame, lowest first.
    pub fn allocated(&self) -> impl Iterator<Item = Pfn> + '_ {
        self.frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.allocated)
            .map(|(i, _)| Pfn(i as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn ev() -> EventLog {
        EventLog::new(true)
    }

    #[test]
    fn frames_sharing_a_chunk_keep_their_own_bytes() {
        let mut m = PhysMem::new(1024);
        let mut e = ev();
        let a = m.alloc(FrameOwner::Anon { anon: 1 }, &mut e).unwrap();
        let b = m.alloc(FrameOwner::Anon { anon: 1 }, &mut e).unwrap();
        assert_eq!(
            a.0 / CHUNK_FRAMES,
            b.0 / CHUNK_FRAMES,
            "neighbours share a chunk"
        );
        m.write_u8(PhysAddr((a.0 << PAGE_SHIFT) + 4095), 7);
        m.write_u64(PhysAddr(b.0 << PAGE_SHIFT), 0x0102_0304_0506_0708);
        assert_eq!(m.read_u8(PhysAddr((a.0 << PAGE_SHIFT) + 4095)), 7);
        assert_eq!(m.read_u8(PhysAddr(b.0 << PAGE_SHIFT)), 8, "little-endian");
        assert_eq!(
            m.read_u64(PhysAddr(b.0 << PAGE_SHIFT)),
            0x0102_0304_0506_0708
        );
        // copy-on-write's copy, then freeing the source: the copy stays
        let c = m.alloc(FrameOwner::Anon { anon: 1 }, &mut e).unwrap();
        m.copy_frame(b, c, &mut e);
        m.free(b, &mut e);
        assert_eq!(m.frame_bytes(b), None, "a freed frame reads as zero");
        assert_eq!(
            m.read_u64(PhysAddr(c.0 << PAGE_SHIFT)),
            0x0102_0304_0506_0708
        );
        assert_eq!(
            m.read_u8(PhysAddr((a.0 << PAGE_SHIFT) + 4095)),
            7,
            "the neighbour untouched"
        );
        // a frame in a chunk never written reads as zero and costs nothing
        let far = Pfn(900);
        assert_eq!(m.read_u8(PhysAddr(far.0 << PAGE_SHIFT)), 0);
        m.write_u8(PhysAddr(far.0 << PAGE_SHIFT), 0);
        assert_eq!(m.ram.len() as u64, 1, "a zero store allocates nothing");
        // beyond RAM: ignored, reads zero
        m.write_u8(PhysAddr(1024 << PAGE_SHIFT), 9);
        assert_eq!(m.read_u8(PhysAddr(1024 << PAGE_SHIFT)), 0);
    }

    #[test]
    fn clamps_and_is_lazy() {
        assert_eq!(PhysMem::new(0).total_frames(), MIN_FRAMES);
        let big = PhysMem::new(u64::MAX);
        assert_eq!(big.total_frames(), MAX_FRAMES);
        assert_eq!(big.free_frames(), MAX_FRAMES);
        assert_eq!(big.kind_bytes().len(), MAX_FRAMES as usize);
        assert!(big.frames.is_empty());
        assert_eq!(big.read_u8(PhysAddr(12345)), 0);
    }

    #[test]
    fn alloc_free_never_double_hands_a_frame() {
        let mut m = PhysMem::new(1024);
        let mut e = ev();
        let mut live = HashSet::new();
        // Deterministic pseudo-random alloc/free mix.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) {
                if let Some(p) = m.alloc(FrameOwner::Anon { anon: 1 }, &mut e) {
                    assert!(live.insert(p), "frame {p} handed out twice");
                    assert!(m.is_allocated(p));
                } else {
                    assert_eq!(live.len() as u64, m.total_frames());
                }
            } else if let Some(&p) = live.iter().min_by_key(|p| (p.0.wrapping_mul(x)) % 1021) {
                live.remove(&p);
                m.free(p, &mut e);
                assert!(!m.is_allocated(p));
            }
            assert_eq!(m.free_frames() + live.len() as u64, m.total_frames());
        }
        let mut listed: Vec<Pfn> = m.allocated().collect();
        let mut expect: Vec<Pfn> = live.into_iter().collect();
        listed.sort();
        expect.sort();
        assert_eq!(listed, expect);
    }

    #[test]
    fn out_of_memory_is_none() {
        let mut m = PhysMem::new(1024);
        let mut e = EventLog::new(false);
        for _ in 0..1024 {
            assert!(m.alloc(FrameOwner::Zero, &mut e).is_some());
        }
        assert_eq!(m.alloc(FrameOwner::Zero, &mut e), None);
        assert_eq!(m.alloc_huge(|_| FrameOwner::Zero, &mut e), None);
        assert_eq!(m.free_frames(), 0);
    }

    #[test]
    fn injected_failures_refuse_exactly_their_requests() {
        let mut m = PhysMem::new(1024);
        let mut e = EventLog::new(false);
        m.alloc(FrameOwner::Zero, &mut e).unwrap();
        // Of the next requests, serve 2, refuse 2 (a huge run counts one).
        m.fail_allocs(Some((2, 2)));
        assert!(m.alloc(FrameOwner::Zero, &mut e).is_some());
        assert!(m.alloc(FrameOwner::Zero, &mut e).is_some());
        assert_eq!(m.alloc_huge(|_| FrameOwner::Zero, &mut e), None);
        assert_eq!(m.alloc(FrameOwner::Zero, &mut e), None);
        assert_eq!(m.free_frames(), 1024 - 3, "a refusal takes nothing");
        assert!(m.alloc_huge(|_| FrameOwner::Zero, &mut e).is_some());
        assert_eq!(m.alloc_requests(), 6);
        // From now on, everything fails until cleared.
        m.fail_allocs(Some((0, u64::MAX)));
        assert_eq!(m.alloc(FrameOwner::Zero, &mut e), None);
        m.fail_allocs(None);
        assert!(m.alloc(FrameOwner::Zero, &mut e).is_some());
    }

    #[test]
    fn freed_frame_reads_zero_again() {
        let mut m = PhysMem::new(2048);
        let mut e = ev();
        let p = m.alloc(FrameOwner::Anon { anon: 7 }, &mut e).unwrap();
        assert_eq!(m.frame_bytes(p), None);
        m.write_u8(p.addr(), 0xaa);
        m.write_u64(PhysAddr(p.addr().0 + 8), 0x0102_0304_0506_0708);
        m.fill(PhysAddr(p.addr().0 + 4000), 1000, 0x55); // clipped at the frame end
        assert_eq!(m.read_u8(p.addr()), 0xaa);
        assert_eq!(m.read_u8(PhysAddr(p.addr().0 + 8)), 0x08, "little-endian");
        assert_eq!(m.read_u64(PhysAddr(p.addr().0 + 8)), 0x0102_0304_0506_0708);
        assert_eq!(m.read_u8(PhysAddr(p.addr().0 + 4095)), 0x55);
        assert_eq!(
            m.read_u8(PhysAddr(p.addr().0 + 4096)),
            0,
            "next frame untouched"
        );
        assert!(m.frame_bytes(p).is_some());
        m.free(p, &mut e);
        let q = m.alloc(FrameOwner::Anon { anon: 8 }, &mut e).unwrap();
        assert_eq!(p, q, "LIFO reuse");
        assert_eq!(m.frame_bytes(q), None);
        assert_eq!(m.read_u64(PhysAddr(q.addr().0 + 8)), 0);
        assert_eq!(m.read_u8(PhysAddr(q.addr().0 + 4095)), 0);
        let evs = e.take();
        assert_eq!(
            evs[0],
            Event::FrameAlloc {
                pfn: p,
                kind: "anon"
            }
        );
        assert_eq!(evs[1], Event::FrameFree { pfn: p });
    }

    #[test]
    fn copy_and_zero() {
        let mut m = PhysMem::new(1024);
        let mut e = ev();
        let a = m.alloc(FrameOwner::Anon { anon: 1 }, &mut e).unwrap();
        let b = m.alloc(FrameOwner::Anon { anon: 2 }, &mut e).unwrap();
        m.write_u8(PhysAddr(b.addr().0 + 100), 9); // overwritten by the copy
        m.write_u8(PhysAddr(a.addr().0 + 10), 1);
        m.write_u8(PhysAddr(a.addr().0 + 20), 2);
        m.copy_frame(a, b, &mut e);
        assert_eq!(m.frame_bytes(a), m.frame_bytes(b));
        assert_eq!(m.read_u8(PhysAddr(b.addr().0 + 100)), 0);
        assert_eq!(m.read_u8(PhysAddr(b.addr().0 + 20)), 2);
        m.zero_frame(a);
        assert_eq!(m.frame_bytes(a), None);
        assert_eq!(m.read_u8(PhysAddr(b.addr().0 + 10)), 1);
        // Copying a zero frame zeroes the target.
        m.copy_frame(a, b, &mut e);
        assert_eq!(m.frame_bytes(b), None);
        assert!(e.take().contains(&Event::FrameCopy { from: a, to: b }));
    }

    #[test]
    fn kinds_and_owner() {
        let mut m = PhysMem::new(1024);
        let mut e = ev();
        let p = m
            .alloc(FrameOwner::PageTable { asid: 1, level: 4 }, &mut e)
            .unwrap();
        assert_eq!(m.kind_bytes()[p.index()], FrameKind::PageTable as u8);
        m.set_owner(
            p,
            FrameOwner::Cache {
                object: 3,
                index: 4,
            },
        );
        assert_eq!(m.kind_bytes()[p.index()], FrameKind::Cache as u8);
        assert_eq!(m.desc(p).owner.kind(), FrameKind::Cache);
        m.desc_mut(p).mapcount = 2;
        assert_eq!(m.desc(p).mapcount, 2);
        m.desc_mut(p).mapcount = 0;
        m.free(p, &mut e);
        assert_eq!(m.kind_bytes()[p.index()], 0);
        assert_eq!(m.desc(Pfn(1 << 40)).owner, FrameOwner::None);
        assert!(!m.is_allocated(Pfn(1 << 40)));
        assert_eq!(FrameKind::PageTable.name(), "page-table");
    }

    #[test]
    fn freeing_a_lent_frame_only_disowns_it_until_its_last_loan_ends() {
        let mut m = PhysMem::new(1024);
        let mut e = ev();
        let p = m.alloc(FrameOwner::Anon { anon: 3 }, &mut e).unwrap();
        m.write_u8(p.addr(), 0x5a);
        m.lru_add(p, LruList::Inactive);
        m.loan_inc(p);
        m.loan_inc(p);
        assert_eq!(m.desc(p).loans, 2);
        assert_eq!(m.desc(p).lru, LruList::None, "a lent page leaves the LRU");
        m.lru_add(p, LruList::Active);
        assert_eq!(m.lru_len(LruList::Active), 0, "and cannot rejoin it");
        let free = m.free_frames();
        m.free(p, &mut e);
        assert!(m.is_allocated(p), "the owner let go; the loans keep it");
        assert_eq!(m.free_frames(), free);
        assert_eq!(m.desc(p).owner, FrameOwner::Loaned);
        assert_eq!(m.kind_bytes()[p.index()], FrameKind::Loaned as u8);
        assert_eq!(m.read_u8(p.addr()), 0x5a, "with its bytes");
        assert!(!m.loan_dec(p, &mut e));
        assert!(m.is_allocated(p));
        assert!(m.loan_dec(p, &mut e), "the last loan frees the orphan");
        assert!(!m.is_allocated(p));
        assert_eq!(m.free_frames(), free + 1);
        let evs = e.take();
        assert!(evs.contains(&Event::LoanOrphan { pfn: p }));
        assert_eq!(evs.last(), Some(&Event::FrameFree { pfn: p }));
        // A lent page whose owner keeps it is not freed by its last loan.
        let q = m.alloc(FrameOwner::Zero, &mut e).unwrap();
        m.loan_inc(q);
        assert!(!m.loan_dec(q, &mut e));
        assert!(m.is_allocated(q));
        assert_eq!(m.desc(q).loans, 0);
    }

    #[test]
    fn huge_runs_are_aligned_zeroed_and_freed_one_by_one() {
        let mut m = PhysMem::new(2048);
        let mut e = ev();
        let small = m.alloc(FrameOwner::Zero, &mut e).unwrap();
        m.write_u8(small.addr(), 1);
        let h = m
            .alloc_huge(|i| FrameOwner::Anon { anon: i as u32 }, &mut e)
            .unwrap();
        assert_eq!(h.0 % 512, 0);
        assert_ne!(h, small);
        for i in 0..512 {
            assert!(m.is_allocated(h.add(i)));
            assert_eq!(m.desc(h.add(i)).owner, FrameOwner::Anon { anon: i as u32 });
            assert_eq!(m.frame_bytes(h.add(i)), None);
        }
        assert_eq!(m.free_frames(), 2048 - 513);
        // The frames skipped for alignment are handed out normally.
        let next = m.alloc(FrameOwner::Zero, &mut e).unwrap();
        assert!(next.0 < 512);
        // Fill memory with huge runs until it fails, then free one run frame
        // by frame and get it back through the scan path.
        let mut runs = vec![h];
        while let Some(r) = m.alloc_huge(|_| FrameOwner::Zero, &mut e) {
            runs.push(r);
        }
        assert_eq!(runs.len(), 3); // 512..2048
        for i in 0..512 {
            m.write_u8(runs[1].add(i).addr(), 0xff);
            m.free(runs[1].add(i), &mut e);
        }
        let again = m.alloc_huge(|_| FrameOwner::Zero, &mut e).unwrap();
        assert_eq!(again, runs[1]);
        assert!((0..512).all(|i| m.frame_bytes(again.add(i)).is_none()));
        // The run's frames are no longer on the free stack.
        while let Some(p) = m.alloc(FrameOwner::Zero, &mut e) {
            assert!(p.0 < 512, "frame {p} handed out twice");
        }
        assert_eq!(m.free_frames(), 0);
    }
}
