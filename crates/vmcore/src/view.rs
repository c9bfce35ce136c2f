//! Views: plain serde data describing the machine for the page, the CLI and
//! tests (`/proc/PID/maps`, smaps, a page walk, the frame table, the TLB,
//! an entry's amap). Raw 64-bit values that JavaScript numbers cannot hold
//! exactly (PTEs with NX set) are hex strings.

use crate::addr::{PAGE_SIZE, Pfn, VirtAddr};
use crate::arch::x86_64::mmu::{self, WalkOutcome};
use crate::arch::x86_64::pte::level_name;
use crate::errno::SysResult;
use crate::event::Pid;
use crate::machine::{Backing, Machine, MapsLine};
use crate::personality::Kernel;
use crate::phys::{FrameOwner, LruList};
use crate::vm::map::Entry;
use crate::vm::object::ObjKind;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct ProcessView {
    pub pid: Pid,
    pub parent: Option<Pid>,
    pub asid: u16,
    pub cr3: u64,
    pub resident: u64,
    pub entries: usize,
    pub brk: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AmapRefView {
    pub id: u32,
    pub slotoff: u64,
    pub refs: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct EntryView {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub backing: String,
    pub flags: Vec<&'static str>,
    pub needs_copy: bool,
    pub amap: Option<AmapRefView>,
    pub object: Option<u32>,
    pub pages: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct WalkStepView {
    pub level: u8,
    pub name: &'static str,
    pub table: u64,
    pub index: u16,
    pub entry: String,
    pub flags: Vec<&'static str>,
    pub present: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct WalkView {
    pub cr3: u64,
    pub va: u64,
    pub steps: Vec<WalkStepView>,
    pub mapped: bool,
    pub pfn: Option<u64>,
    pub phys: Option<u64>,
    pub huge: bool,
    pub byte: Option<u8>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mapper {
    pub pid: Pid,
    pub va: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FrameView {
    pub pfn: u64,
    pub kind: &'static str,
    pub owner: String,
    pub mapcount: u32,
    pub wired: u32,
    pub dirty: bool,
    pub referenced: bool,
    pub mapped_by: Vec<Mapper>,
    /// Loans of the page to the kernel (UVM's `loan_count`, `vm/loan.rs`).
    pub loans: u32,
    /// Who borrowed it: the numbers of the loans holding it.
    pub borrowed_by: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FramesSummary {
    pub total: u64,
    pub free: u64,
    pub anon: u64,
    pub cache: u64,
    pub page_table: u64,
    pub zero: u64,
    /// Pages their owner freed while on loan, kept by the loans alone.
    pub loaned: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TlbEntryView {
    pub set: usize,
    pub way: usize,
    pub asid: u16,
    pub va: u64,
    pub pfn: u64,
    pub huge: bool,
    pub writable: bool,
    pub user: bool,
    pub executable: bool,
    pub dirty: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TlbView {
    pub sets: usize,
    pub ways: usize,
    pub hits: u64,
    pub misses: u64,
    pub entries: Vec<TlbEntryView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AmapSlotView {
    pub slot: u64,
    pub anon: u32,
    pub anon_refs: u32,
    /// The frame holding the page (`None`: swapped out).
    pub pfn: Option<u64>,
    /// The swap slot holding it (swapped out, or in the swap cache).
    pub swap_slot: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AmapView {
    pub id: u32,
    pub refs: u32,
    pub nslots: u64,
    pub slotoff: u64,
    pub needs_copy: bool,
    pub slots: Vec<AmapSlotView>,
}

/// One entry of smaps, sizes in KiB as the kernel prints them.
#[derive(Clone, Debug, Serialize)]
pub struct SmapsView {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub size: u64,
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub anonymous: u64,
    pub anon_huge_pages: u64,
    /// shmem mapped by PMDs (after MADV_COLLAPSE), `ShmemPmdMapped`.
    pub shmem_pmd_mapped: u64,
    /// Swap entries in the range (anonymous pages swapped out, in the swap
    /// cache or not; for shmem, the object's swapped pages), KiB.
    pub swap: u64,
    /// `Swap` with each anonymous entry divided among its users, KiB.
    pub swap_pss: u64,
    pub locked: u64,
    pub vm_flags: String,
}

/// Who holds a taken swap slot.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwapSlotOwner {
    /// An anonymous page: its anon, and the first process and address
    /// whose map entry holds that anon (`None` when no entry does any more).
    Anon {
        anon: u32,
        pid: Option<Pid>,
        va: Option<u64>,
    },
    /// Page `index` of a shmem or memfd object (the object keeps the entry).
    Shmem { object: u32, index: u64 },
    /// No owner found (never the case when `Machine::check` passes).
    None,
}

/// One taken slot of the swap area.
#[derive(Clone, Debug, Serialize)]
pub struct SwapSlotView {
    pub slot: u32,
    /// Swap entries naming the slot (the swap count).
    pub users: u32,
    /// The page is also in a frame (the swap cache).
    pub cached: bool,
    pub owner: SwapSlotOwner,
}

/// One anonymous page on an LRU list.
#[derive(Clone, Debug, Serialize)]
pub struct LruPageView {
    pub pfn: u64,
    pub list: LruList,
    /// `PG_referenced`: seen used once already (a second use activates it).
    pub referenced: bool,
}

/// Memory under pressure: the swap area slot by slot, the LRU lists of
/// anonymous pages and the memory limit ([`Machine::swap_view`]).
#[derive(Clone, Debug, Serialize)]
pub struct SwapView {
    /// Whether a swap area is on.
    pub on: bool,
    /// Usable slots (0 with no area).
    pub size: u32,
    /// Slots taken.
    pub inuse: u32,
    /// Taken slots, lowest first, at most the `max_slots` asked for.
    pub slots: Vec<SwapSlotView>,
    /// Pages on the inactive and the active list.
    pub inactive: u64,
    pub active: u64,
    /// The pages of the inactive list then of the active list, each oldest
    /// first, at most the `max_pages` asked for.
    pub lru: Vec<LruPageView>,
    /// The memory limit in pages, if one is set.
    pub limit: Option<u64>,
    /// Pages charged against the limit (every frame in use but the zero pages).
    pub usage: u64,
    pub total_frames: u64,
    pub free_frames: u64,
}

/// Fractional bits of the proportional set size (`PSS_SHIFT` in
/// `fs/proc/task_mmu.c`).
const PSS_SHIFT: u32 = 12;

/// Per-page state bits of [`Machine::page_states`].
pub mod page_bits {
    /// A leaf maps the page (Linux's `pte_present`: PROTNONE leaves of a
    /// PROT_NONE range count, as they do for mincore and smaps).
    pub const PRESENT: u8 = 1 << 0;
    pub const WRITABLE: u8 = 1 << 1;
    /// With PRESENT: the PTE's dirty bit.
    pub const DIRTY: u8 = 1 << 2;
    /// Without PRESENT (the same bit as DIRTY, which only a present page
    /// has): the PTE holds a swap entry, pagemap's `S`.
    pub const SWAPPED: u8 = 1 << 2;
    pub const ACCESSED: u8 = 1 << 3;
    pub const ANON: u8 = 1 << 4;
    pub const SHARED: u8 = 1 << 5;
    pub const HUGE: u8 = 1 << 6;
    pub const ZERO: u8 = 1 << 7;
}

impl Machine {
    fn backing(&self, e: &Entry) -> Backing {
        match e.object.and_then(|o| self.objects.get(o)).map(|o| &o.kind) {
            None => Backing::Anon,
            Some(ObjKind::Shmem) => Backing::Shmem,
            Some(ObjKind::File(n)) => Backing::File(n.clone()),
            Some(ObjKind::Memfd(n)) => Backing::Memfd(n.clone()),
            Some(ObjKind::Hugetlb(_)) => Backing::AnonHugepage,
        }
    }

    /// `/proc/PID/maps`: the offset column is the object offset for
    /// entries with an object (shmem included), 0 for private anon.
    pub fn maps(&self, pid: Pid) -> SysResult<Vec<MapsLine>> {
        let p = self.proc_ref(pid)?;
        Ok(p.map
            .entries
            .values()
            .map(|e| match self.personality().kernel {
                Kernel::Linux => self.linux_maps_line(e),
                Kernel::FreeBsd => self.freebsd_maps_line(e),
                Kernel::NetBsd => self.netbsd_maps_line(e),
            })
            .collect())
    }

    /// One line of Linux's `/proc/PID/maps` (`show_map_vma`).
    pub(crate) fn linux_maps_line(&self, e: &crate::vm::map::Entry) -> MapsLine {
        MapsLine {
            start: e.start,
            end: e.end,
            perms: e.perms(),
            offset: if e.object.is_some() {
                e.pgoff * PAGE_SIZE
            } else {
                0
            },
            backing: self.backing(e),
        }
    }

    pub fn process_view(&self, pid: Pid) -> Option<ProcessView> {
        let p = self.procs.get(&pid)?;
        Some(ProcessView {
            pid,
            parent: p.parent,
            asid: p.pmap.asid(),
            cr3: p.pmap.cr3().0,
            resident: p.pmap.resident_pages(),
            entries: p.map.entries.len(),
            brk: p.brk,
        })
    }

    /// Every map entry of `pid` with its flags and upper/lower layers.
    pub fn entries(&self, pid: Pid) -> SysResult<Vec<EntryView>> {
        let p = self.proc_ref(pid)?;
        Ok(p.map
            .entries
            .values()
            .map(|e| EntryView {
                start: e.start,
                end: e.end,
                perms: e.perms(),
                offset: if e.object.is_some() {
                    e.pgoff * PAGE_SIZE
                } else {
                    0
                },
                backing: self.backing(e).to_string(),
                flags: e.flags.names(),
                needs_copy: e.needs_copy,
                amap: e.aref.map(|r| AmapRefView {
                    id: r.amap,
                    slotoff: r.slotoff,
                    refs: self.amaps.get(r.amap).map_or(0, |a| a.refs),
                }),
                object: e.object,
                pages: e.pages(),
            })
            .collect())
    }

    /// One byte of [`page_bits`] per page of `[start, start + n pages)`.
    pub fn page_states(&self, pid: Pid, start: u64, npages: u64) -> Vec<u8> {
        use page_bits::*;
        let Some(p) = self.procs.get(&pid) else {
            return Vec::new();
        };
        let n = npages.min(1 << 20);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let va = (start & !(PAGE_SIZE - 1)).wrapping_add(i * PAGE_SIZE);
            let mut b = 0;
            if let Some(m) = p.pmap.lookup(&self.phys, VirtAddr(va)) {
                b |= PRESENT;
                if m.writable {
                    b |= WRITABLE;
                }
                if m.dirty {
                    b |= DIRTY;
                }
                if m.accessed {
                    b |= ACCESSED;
                }
                if m.huge {
                    b |= HUGE;
                }
                let d = self.phys.desc(m.pfn);
                if matches!(d.owner, FrameOwner::Zero) {
                    b |= ZERO;
                }
                if d.mapcount > 1 {
                    b |= SHARED;
                }
            } else if p.pmap.swap_entry(&self.phys, VirtAddr(va)).is_some() {
                b |= SWAPPED;
            }
            if let Some(e) = p.map.find(va)
                && let Some((amap, slot)) = e.slot(va)
                && let Some(anon) = self.amaps.get(amap).and_then(|a| a.lookup(slot))
            {
                b |= ANON;
                if self.anons.get(anon).is_some_and(|a| a.refs > 1) {
                    b |= SHARED;
                }
            }
            out.push(b);
        }
        out
    }

    /// The hardware walk for `va` in `pid`'s page tables, decoded.
    pub fn walk(&self, pid: Pid, va: u64) -> SysResult<WalkView> {
        let p = self.proc_ref(pid)?;
        let w = mmu::walk(&self.phys, p.pmap.cr3(), VirtAddr(va));
        let steps = w
            .steps
            .iter()
            .map(|s| WalkStepView {
                level: s.level,
                name: level_name(s.level),
                table: s.table.0,
                index: s.index,
                entry: format!("{:#018x}", s.entry.0),
                flags: s.entry.flag_names(),
                present: s.entry.is_present(),
            })
            .collect();
        let (mapped, pfn, phys, huge, byte) = match w.outcome {
            WalkOutcome::Mapped {
                pfn, phys, huge, ..
            } => (
                true,
                Some(pfn.0),
                Some(phys.as_u64()),
                huge,
                Some(self.phys.read_u8(phys)),
            ),
            WalkOutcome::NotMapped { .. } => (false, None, None, false, None),
        };
        Ok(WalkView {
            cr3: p.pmap.cr3().0,
            va,
            steps,
            mapped,
            pfn,
            phys,
            huge,
            byte,
        })
    }

    /// One byte per frame: 0 free, 1 anon, 2 page cache, 3 page table,
    /// 4 zero page, plus bit 7 when more than one PTE maps the frame
    /// (straight from the frame table, for zero-copy drawing).
    pub fn frame_kinds(&self) -> &[u8] {
        self.phys.kind_bytes()
    }

    pub fn frames_summary(&self) -> FramesSummary {
        let mut s = FramesSummary {
            total: self.phys.total_frames(),
            free: self.phys.free_frames(),
            anon: 0,
            cache: 0,
            page_table: 0,
            zero: 0,
            loaned: 0,
        };
        for &k in self.phys.kind_bytes() {
            match k & !crate::phys::SHARED_BIT {
                1 => s.anon += 1,
                2 => s.cache += 1,
                3 => s.page_table += 1,
                4 => s.zero += 1,
                5 => s.loaned += 1,
                _ => {}
            }
        }
        s
    }

    /// One frame's descriptor and who maps it (a reverse-map lookup done
    /// by scanning the page tables, which is fine at this scale).
    pub fn frame(&self, pfn: u64) -> Option<FrameView> {
        let pfn = Pfn(pfn);
        if pfn.0 >= self.phys.total_frames() {
            return None;
        }
        let d = self.phys.desc(pfn);
        let owner = match d.owner {
            FrameOwner::None => "free".to_string(),
            FrameOwner::Anon { anon } => format!("anon {anon}"),
            FrameOwner::Cache { object, index } => {
                match self.objects.get(object).map(|o| &o.kind) {
                    Some(ObjKind::File(n)) => format!("page {index} of file {n}"),
                    Some(ObjKind::Memfd(n)) => format!("page {index} of memfd {n}"),
                    _ => format!("page {index} of shared memory object {object}"),
                }
            }
            FrameOwner::PageTable { asid, level } => {
                format!("{} table of asid {asid}", level_name(level))
            }
            FrameOwner::Zero => "the zero page".to_string(),
            FrameOwner::Loaned => "nobody: its owner freed it while on loan".to_string(),
        };
        let mut mapped_by = Vec::new();
        if d.mapcount > 0 {
            for (&pid, p) in &self.procs {
                p.pmap.for_each_leaf(&self.phys, |va, pte, level| {
                    let span = if level == 2 { 512 } else { 1 };
                    let base = pte.pfn().0;
                    if pfn.0 >= base && pfn.0 < base + span {
                        mapped_by.push(Mapper {
                            pid,
                            va: va.as_u64() + (pfn.0 - base) * PAGE_SIZE,
                        });
                    }
                });
            }
        }
        Some(FrameView {
            pfn: pfn.0,
            kind: d.owner.kind().name(),
            owner,
            mapcount: d.mapcount,
            wired: d.wired,
            dirty: d.dirty,
            referenced: d.referenced,
            mapped_by,
            loans: d.loans,
            borrowed_by: self
                .borrowers(pfn)
                .into_iter()
                .map(|l| l.number())
                .collect(),
        })
    }

    pub fn tlb_view(&self) -> TlbView {
        TlbView {
            sets: self.tlb.sets(),
            ways: self.tlb.ways(),
            hits: self.tlb.hits(),
            misses: self.tlb.misses(),
            entries: self
                .tlb
                .entries()
                .into_iter()
                .map(|(set, way, e)| TlbEntryView {
                    set,
                    way,
                    asid: e.asid,
                    va: e.vpn * PAGE_SIZE,
                    pfn: e.pfn.0,
                    huge: e.huge,
                    writable: e.writable,
                    user: e.user,
                    executable: e.executable,
                    dirty: e.dirty,
                })
                .collect(),
        }
    }

    /// The amap behind the entry containing `va`, slot by slot.
    pub fn amap_view(&self, pid: Pid, va: u64) -> Option<AmapView> {
        self.amap_view_some(pid, va, usize::MAX, None)
            .map(|(v, _)| v)
    }

    /// [`Machine::amap_view`] for a viewer of a large amap (a 1 GiB one
    /// has 262,144 slots): only the first `limit` slots that hold an anon,
    /// and slot `want` if it holds one further on; with how many slots
    /// hold an anon in all.
    pub fn amap_view_some(
        &self,
        pid: Pid,
        va: u64,
        limit: usize,
        want: Option<u64>,
    ) -> Option<(AmapView, usize)> {
        let e = self.procs.get(&pid)?.map.find(va)?;
        let r = e.aref?;
        let am = self.amaps.get(r.amap)?;
        let view = |(slot, a): (u64, u32)| {
            let anon = self.anons.get(a)?;
            Some(AmapSlotView {
                slot,
                anon: a,
                anon_refs: anon.refs,
                pfn: anon.pfn().map(|p| p.0),
                swap_slot: anon.slot().map(|s| s.0),
            })
        };
        let mut slots = Vec::new();
        let mut anons = 0;
        for (slot, a) in am.iter() {
            if self.anons.get(a).is_none() {
                continue;
            }
            if anons < limit || want == Some(slot) {
                slots.extend(view((slot, a)));
            }
            anons += 1;
        }
        Some((
            AmapView {
                id: r.amap,
                refs: am.refs,
                nslots: am.nslots(),
                slotoff: r.slotoff,
                needs_copy: e.needs_copy,
                slots,
            },
            anons,
        ))
    }

    /// `/proc/PID/smaps`, entry by entry.
    pub fn smaps(&self, pid: Pid) -> SysResult<Vec<SmapsView>> {
        let p = self.proc_ref(pid)?;
        let mut out = Vec::new();
        for e in p.map.entries.values() {
            let mut v = SmapsView {
                start: e.start,
                end: e.end,
                perms: e.perms(),
                size: (e.end - e.start) / 1024,
                rss: 0,
                pss: 0,
                shared_clean: 0,
                shared_dirty: 0,
                private_clean: 0,
                private_dirty: 0,
                anonymous: 0,
                anon_huge_pages: 0,
                shmem_pmd_mapped: 0,
                swap: 0,
                swap_pss: 0,
                locked: 0,
                vm_flags: e.flags.smaps_codes(e.prot),
            };
            let mut pss_bytes = 0u64;
            let mut swap_pss_bytes = 0u64;
            let mut locked_pss_bytes = 0u64;
            let mut va = e.start;
            while va < e.end {
                if let Some(m) = p.pmap.lookup(&self.phys, VirtAddr(va)) {
                    let d = self.phys.desc(m.pfn);
                    if !matches!(d.owner, FrameOwner::Zero) {
                        let kb = PAGE_SIZE / 1024;
                        v.rss += kb;
                        let mc = d.mapcount.max(1) as u64;
                        // `smaps_account`: each page's share with
                        // PSS_SHIFT (12) fractional bits.
                        pss_bytes += (PAGE_SIZE << PSS_SHIFT) / mc;
                        let dirty = m.dirty || d.dirty;
                        match (mc > 1, dirty) {
                            (true, true) => v.shared_dirty += kb,
                            (true, false) => v.shared_clean += kb,
                            (false, true) => v.private_dirty += kb,
                            (false, false) => v.private_clean += kb,
                        }
                        match d.owner {
                            FrameOwner::Anon { .. } => {
                                v.anonymous += kb;
                                if m.huge {
                                    v.anon_huge_pages += kb;
                                }
                            }
                            FrameOwner::Cache { object, .. }
                                if m.huge
                                    && self.objects.get(object).is_some_and(|o| o.is_shmem()) =>
                            {
                                v.shmem_pmd_mapped += kb;
                            }
                            _ => {}
                        }
                        // `Locked` is the PSS of a locked mapping's pages
                        // (`mss->pss_locked`), not their RSS.
                        if e.flags.contains(crate::flags::VmFlags::LOCKED) {
                            locked_pss_bytes += (PAGE_SIZE << PSS_SHIFT) / mc;
                        }
                    }
                } else if let Some(sw) = p.pmap.swap_entry(&self.phys, VirtAddr(va)) {
                    // `smaps_pte_entry` on a swap entry: Swap, and SwapPss
                    // shared among the entry's users.
                    v.swap += PAGE_SIZE / 1024;
                    let users = self
                        .swap
                        .as_ref()
                        .map_or(1, |a| a.count(crate::vm::swap::Slot(sw.offset as u32)))
                        .max(1);
                    swap_pss_bytes += (PAGE_SIZE << PSS_SHIFT) / u64::from(users);
                } else if let Some(obj) = e.object
                    && self
                        .objects
                        .get(obj)
                        .is_some_and(|o| o.swap.contains_key(&e.object_index(va)))
                {
                    // shmem's swapped pages: Swap in every mapping that
                    // covers them, never SwapPss (`shmem_partial_swap_usage`).
                    v.swap += PAGE_SIZE / 1024;
                }
                va += PAGE_SIZE;
            }
            v.pss = (pss_bytes >> PSS_SHIFT) / 1024;
            v.swap_pss = (swap_pss_bytes >> PSS_SHIFT) / 1024;
            v.locked = (locked_pss_bytes >> PSS_SHIFT) / 1024;
            out.push(v);
        }
        Ok(out)
    }

    /// The swap area, the LRU lists and the memory limit, for the swap
    /// panel: at most `max_slots` taken slots and `max_pages` LRU pages
    /// (the counts are always whole).
    pub fn swap_view(&self, max_slots: usize, max_pages: usize) -> SwapView {
        let mut slots: Vec<SwapSlotView> = self.swap.as_ref().map_or_else(Vec::new, |a| {
            a.taken()
                .take(max_slots)
                .map(|(s, users, cached)| SwapSlotView {
                    slot: s.0,
                    users,
                    cached,
                    owner: SwapSlotOwner::None,
                })
                .collect()
        });
        // slot -> owner: anons know their slot, shmem objects keep theirs
        let index: BTreeMap<u32, usize> =
            slots.iter().enumerate().map(|(i, v)| (v.slot, i)).collect();
        let mut anon_slot: BTreeMap<u32, usize> = BTreeMap::new();
        for (id, a) in self.anons.iter() {
            if let Some(&i) = a.slot().and_then(|s| index.get(&s.0)) {
                slots[i].owner = SwapSlotOwner::Anon {
                    anon: id,
                    pid: None,
                    va: None,
                };
                anon_slot.insert(id, i);
            }
        }
        for (id, o) in self.objects.iter() {
            for (&page, (s, _)) in &o.swap {
                if let Some(&i) = index.get(&s.0) {
                    slots[i].owner = SwapSlotOwner::Shmem {
                        object: id,
                        index: page,
                    };
                }
            }
        }
        // an anon's first mapper: the amap slots of every entry, lowest pid first
        if !anon_slot.is_empty() {
            for (&pid, p) in &self.procs {
                for e in p.map.entries.values() {
                    let Some(r) = e.aref else { continue };
                    let Some(am) = self.amaps.get(r.amap) else {
                        continue;
                    };
                    let pages = (e.end - e.start) / PAGE_SIZE;
                    for (slot, anon) in am.iter() {
                        if slot < r.slotoff || slot >= r.slotoff + pages {
                            continue;
                        }
                        if let Some(i) = anon_slot.remove(&anon) {
                            slots[i].owner = SwapSlotOwner::Anon {
                                anon,
                                pid: Some(pid),
                                va: Some(e.start + (slot - r.slotoff) * PAGE_SIZE),
                            };
                        }
                    }
                }
            }
        }
        let lru = [LruList::Inactive, LruList::Active]
            .into_iter()
            .flat_map(|l| self.phys.lru_pages(l))
            .take(max_pages)
            .map(|pfn| {
                let d = self.phys.desc(pfn);
                LruPageView {
                    pfn: pfn.0,
                    list: d.lru,
                    referenced: d.referenced,
                }
            })
            .collect();
        SwapView {
            on: self.swap.is_some(),
            size: self.swap.as_ref().map_or(0, |a| a.size()),
            inuse: self.swap.as_ref().map_or(0, |a| a.inuse()),
            slots,
            inactive: self.phys.lru_len(LruList::Inactive),
            active: self.phys.lru_len(LruList::Active),
            lru,
            limit: self.memlimit,
            usage: self.memcg_usage(),
            total_frames: self.phys.total_frames(),
            free_frames: self.phys.free_frames(),
        }
    }

    /// `/proc/PID/pagemap` for `n` pages from `va`, as root reads it
    /// (`pte_to_pagemap_entry`): bit 63 present, with bits 0-54 the frame
    /// number; bit 62 a swap entry, with bits 0-54 `type | offset << 5`;
    /// bit 61 a page that is not anonymous (file, shmem, memfd, the huge
    /// zero page); bit 58 a guard region; bit 56 a present page mapped
    /// exactly once. The shared zero page is neither file nor exclusive
    /// (`vm_normal_page` gives no page for it).
    pub fn pagemap(&self, pid: Pid, va: u64, n: u64) -> SysResult<Vec<u64>> {
        const PRESENT: u64 = 1 << 63;
        const SWAP: u64 = 1 << 62;
        const FILE: u64 = 1 << 61;
        const GUARD: u64 = 1 << 58;
        const EXCLUSIVE: u64 = 1 << 56;
        const PFN_MASK: u64 = (1 << 55) - 1;
        let p = self.proc_ref(pid)?;
        let mut out = Vec::new();
        for i in 0..n.min(1 << 20) {
            let a = (va & !(PAGE_SIZE - 1)).wrapping_add(i * PAGE_SIZE);
            let mut word = 0u64;
            if let Some(m) = p.pmap.lookup(&self.phys, VirtAddr(a)) {
                let d = self.phys.desc(m.pfn);
                word |= PRESENT | (m.pfn.0 & PFN_MASK);
                match d.owner {
                    FrameOwner::Zero if !m.huge => {}
                    FrameOwner::Zero => word |= FILE,
                    FrameOwner::Cache { .. } => {
                        word |= FILE;
                        if d.mapcount == 1 {
                            word |= EXCLUSIVE;
                        }
                    }
                    _ if d.mapcount == 1 => word |= EXCLUSIVE,
                    _ => {}
                }
            } else if let Some(sw) = p.pmap.swap_entry(&self.phys, VirtAddr(a)) {
                word |= SWAP | ((u64::from(sw.area) | sw.offset << 5) & PFN_MASK);
            } else if p.guards.contains(&a) {
                word |= GUARD;
            }
            out.push(word);
        }
        Ok(out)
    }
}
