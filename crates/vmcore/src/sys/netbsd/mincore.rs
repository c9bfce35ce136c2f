//! mincore(2) under NetBSD: `sys_mincore`. A page is resident when it
//! exists: an anon with a page in the entry's amap, else the page in the
//! object below (`uvm_pagelookup`), whoever faulted it in. This process's
//! page table is not consulted.

use super::{PAGE_MASK, round_page};
use crate::addr::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{SysResult, einval, enomem};
use crate::event::Pid;
use crate::machine::Machine;

impl Machine {
    /// `sys_mincore`: an unaligned start, LEN 0 or a wrapping range is
    /// EINVAL; nothing at the start, or a hole, ENOMEM.
    pub(crate) fn netbsd_mincore(&mut self, pid: Pid, start: u64, len: u64) -> SysResult<Vec<u8>> {
        if start & PAGE_MASK != 0 {
            return Err(einval("address is not page aligned"));
        }
        let len = round_page(len);
        let end = start.wrapping_add(len);
        if end <= start {
            return Err(einval("empty or wrapping range"));
        }
        if self.nb_lookup(pid, start).is_none() {
            return Err(enomem("nothing mapped at the address"));
        }
        if !self.nb_contiguous(pid, start, end) {
            return Err(enomem("a hole in the range"));
        }
        let mut out = Vec::with_capacity((len >> PAGE_SHIFT).min(1 << 20) as usize);
        let mut va = start;
        while va < end {
            let e = self.procs[&pid].map.find(va).expect("checked");
            let anon = e
                .slot(va)
                .and_then(|(amap, slot)| self.amaps.get(amap).and_then(|a| a.lookup(slot)))
                .and_then(|a| self.anons.get(a))
                .is_some_and(|a| a.pfn().is_some());
            let page = anon
                || e.object.and_then(|o| self.objects.get(o)).is_some_and(|o| {
                    let i = e.object_index(va);
                    o.pages.contains_key(&i)
                });
            out.push(u8::from(page));
            va += PAGE_SIZE;
        }
        Ok(out)
    }
}
