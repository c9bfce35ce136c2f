//! NetBSD's own mremap(2): `sys_mremap` -> `uvm_mremap`,
//! `uvm_mapent_extend`. `mremap(OLD, OLDLEN, NEWADDR, NEWLEN, FLAGS)`:
//! NEWADDR counts only with MAP_FIXED; MAP_REMAPDUP keeps the old mapping
//! and maps a second view of the same pages.

use super::{PAGE_MASK, round_page};
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::flags::VmFlags;
use crate::machine::Machine;
use crate::personality::netbsd::abi::{
    MAP_ALIGNMENT_MASK, MAP_ALIGNMENT_SHIFT, MAP_FIXED, MAP_REMAPDUP,
};
use crate::vm::amap::AmapRef;
use crate::vm::object::ObjKind;

impl Machine {
    /// `uvm_mremap`. Unknown flags, an unaligned address, a zero or
    /// wrapping size and a bad alignment are EINVAL. Without MAP_REMAPDUP
    /// (and unless MAP_FIXED names another place) the mapping shrinks or
    /// grows in place; the same size returns OLD without looking. When it
    /// cannot grow in place it moves (MAP_FIXED: ENOMEM). A move or a
    /// duplicate reserves the new range (MAP_FIXED: there, and it must be
    /// free; else where the kernel chooses), maps the old pages there
    /// (`uvm_map_extract`: the amaps shared), extends it if larger and,
    /// unless duplicating, unmaps the old range.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn netbsd_mremap(
        &mut self,
        pid: Pid,
        oldva: u64,
        oldsize: u64,
        newsize: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        let flags = flags as u32 as u64;
        if flags & !(MAP_FIXED | MAP_REMAPDUP | MAP_ALIGNMENT_MASK) != 0 {
            return Err(einval("unknown mremap flags"));
        }
        let oldsize = round_page(oldsize);
        let newsize = round_page(newsize);
        let fixed = flags & MAP_FIXED != 0;
        let duplicate = flags & MAP_REMAPDUP != 0;
        let newva = if fixed { new_addr } else { 0 };
        if oldva & PAGE_MASK != 0 || newva & PAGE_MASK != 0 {
            return Err(einval("address is not page aligned"));
        }
        if oldva.wrapping_add(oldsize) <= oldva || newva.wrapping_add(newsize) <= newva {
            return Err(einval("zero size or wrapping range"));
        }
        let l = *self.layout();
        let shift = (flags & MAP_ALIGNMENT_MASK) >> MAP_ALIGNMENT_SHIFT;
        let mut align = 0;
        if shift != 0 {
            align = 1u64 << shift;
            if align < PAGE_SIZE {
                return Err(einval("alignment below a page"));
            }
            if align >= l.task_size {
                return Err(enomem("alignment beyond the map"));
            }
            if fixed {
                if newva & (align - 1) != 0 {
                    return Err(einval("fixed address not aligned as asked"));
                }
                align = 0;
            }
        }
        if !duplicate && (!fixed || newva == oldva) && (align == 0 || oldva & (align - 1) == 0) {
            if newsize == oldsize {
                return Ok(oldva);
            }
            if newsize < oldsize {
                self.unmap_range(pid, oldva + newsize, oldva + oldsize);
                return Ok(oldva);
            }
            let (gs, ge) = (oldva + oldsize, oldva.wrapping_add(newsize));
            if ge > gs && ge <= l.task_size && self.procs[&pid].map.is_free(gs, ge) {
                self.nb_mapent_extend(pid, gs, ge)?;
                return Ok(oldva);
            }
            if fixed {
                return Err(enomem("cannot grow in place"));
            }
        }
        // Move or duplicate: reserve the new range.
        let dst = if fixed {
            let free = newva.checked_add(newsize).is_some_and(|e| e <= l.task_size)
                && newva >= l.mmap_min_addr
                && self.procs[&pid].map.is_free(newva, newva + newsize);
            if !free {
                return Err(enomem("the fixed range is in use"));
            }
            newva
        } else {
            let defaddr = l.mmap_base.saturating_sub(newsize) & !PAGE_MASK;
            self.nb_findspace(pid, defaddr, newsize, align)
                .ok_or(enomem("no free range large enough"))?
        };
        let movesize = oldsize.min(newsize);
        if !self.nb_contiguous(pid, oldva, oldva + movesize) {
            return Err(einval("the old range is not all mapped"));
        }
        self.nb_map_extract(pid, oldva, movesize, dst);
        if newsize > oldsize
            && let Err(e) = self.nb_mapent_extend(pid, dst + oldsize, dst + newsize)
        {
            self.unmap_range(pid, dst, dst + newsize);
            return Err(e);
        }
        if !duplicate {
            self.unmap_range(pid, oldva, oldva + oldsize);
        }
        Ok(dst)
    }

    /// `uvm_map_extract` (`UVM_EXTRACT_RESERVED`): the entries of
    /// `[src, src+len)` appear again at `dst`. Private memory first gets an
    /// amap of its own (`amap_copy` without merging or chunking), then both
    /// views reference it, so a store through one is seen through the
    /// other; objects are referenced; wiring is not copied.
    fn nb_map_extract(&mut self, pid: Pid, src: u64, len: u64, dst: u64) {
        for s in self.procs[&pid].map.overlapping(src, src + len) {
            let e = self.procs[&pid].map.entry(s).clone();
            if !e.is_shared() && (e.aref.is_none() || e.needs_copy) {
                if e.aref.is_some() {
                    self.amap_copy(pid, s);
                } else {
                    let mut en = e.clone();
                    self.amap_ensure(pid, &mut en);
                }
            }
            let e = self.procs[&pid].map.entry(s).clone();
            let (lo, hi) = (e.start.max(src), e.end.min(src + len));
            let skip = (lo - e.start) >> PAGE_SHIFT;
            let mut c = e.clone();
            c.start = dst + (lo - src);
            c.end = dst + (hi - src);
            c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
            c.needs_copy = false;
            c.pgoff = if e.object.is_some() {
                e.pgoff + skip
            } else {
                c.start >> PAGE_SHIFT
            };
            c.aref = e.aref.map(|r| AmapRef {
                amap: r.amap,
                slotoff: r.slotoff + skip,
            });
            if let Some(r) = c.aref {
                self.amap_ref(r.amap, r.slotoff, c.pages());
            }
            if let Some(o) = c.object {
                self.object_ref(o);
            }
            self.proc_mut(pid).map.entries.insert(c);
        }
    }

    /// `uvm_mapent_extend`: the reserved range `[start, end)` becomes the
    /// continuation of the entry ending at `start` (same object at the next
    /// offset, protection, maximum protection, inheritance and advice; a
    /// copy-on-write entry's continuation has no amap yet; not wired), then
    /// is merged with it if UVM's rule allows (not when that entry has
    /// already faulted: its first fault joins them, case `nb_mremap`).
    /// EINVAL when no entry ends at `start`.
    fn nb_mapent_extend(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        let Some(prev) = self.procs[&pid].map.prev_of(start).cloned() else {
            return Err(einval("nothing mapped before the extension"));
        };
        if prev.end != start {
            return Err(einval("nothing mapped before the extension"));
        }
        let mut c = prev.clone();
        c.start = start;
        c.end = end;
        c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
        c.anon_vma = None;
        c.anon_vma_forked = false;
        c.needs_copy = false;
        if prev.is_shared() {
            // Shared memory continues in its object. Shared anonymous
            // memory held by this entry alone grows with it, as its amap
            // would (`amap_extend`); past a file's end, or past shared
            // anonymous memory someone else holds too, a touch raises
            // SIGBUS.
            c.aref = None;
            c.pgoff = prev.pgoff + prev.pages();
            if let Some(o) = prev.object.and_then(|o| self.objects.get_mut(o))
                && o.kind == ObjKind::Shmem
                && o.refs == 1
                && o.size == c.pgoff << PAGE_SHIFT
            {
                o.size += end - start;
            }
        } else {
            c.aref = None;
            c.pgoff = if prev.object.is_some() {
                prev.pgoff + prev.pages()
            } else {
                start >> PAGE_SHIFT
            };
        }
        self.insert_entry(pid, c);
        Ok(())
    }
}
