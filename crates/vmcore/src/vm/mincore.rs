//! What mincore(2) calls resident (`mincore_page`, `mincore_pte_range`;
//! UVM's `uvm_mincore` asks the same of amap and object).

use crate::addr::VirtAddr;
use crate::event::Pid;
use crate::machine::Machine;

impl Machine {
    /// Residency as mincore sees it: a present PTE (the zero page counts),
    /// an anon in the amap (mapped PROT_NONE, say), or for file-backed
    /// entries the page cache itself (`mincore_page`).
    pub(crate) fn resident(&self, pid: Pid, e: &crate::vm::map::Entry, va: u64) -> bool {
        if self.procs[&pid]
            .pmap
            .lookup(&self.phys, VirtAddr(va))
            .is_some()
        {
            return true;
        }
        if let Some((amap, slot)) = e.slot(va)
            && self
                .amaps
                .get(amap)
                .and_then(|a| a.lookup(slot))
                .and_then(|a| self.anons.get(a))
                // A page on swap is not resident; one in the swap cache is
                // (`mincore_swap`).
                .is_some_and(|a| a.pfn().is_some())
        {
            return true;
        }
        match e.object {
            Some(obj) => self.objects.get(obj).is_some_and(|o| {
                let i = e.object_index(va);
                // A page in the swap cache counts (`mincore_page`).
                o.pages.contains_key(&i) || o.swap.get(&i).is_some_and(|(_, c)| c.is_some())
            }),
            None => false,
        }
    }
}
