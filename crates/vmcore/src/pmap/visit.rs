//! Read-only views of the table tree, for the checker and the front end:
//! every table, every entry, every leaf — the [`Cursor`] over the whole
//! linear space with the `counted` flag, so the empty tail of each table
//! costs nothing.

use super::cursor::{Cursor, Rules, Step, Tree, Walk};
use super::*;

/// What [`Pmap::visit_tables`] shows a visitor.
pub trait TableVisitor {
    /// A table frame `pfn` at `level` (4 = PML4 .. 1 = PT) translating
    /// `[start, last]`, with `used` non-zero entries.
    fn table(&mut self, pfn: Pfn, level: u8, start: VirtAddr, last: VirtAddr, used: u32);
    /// Present entry `index` of the current table, translating from `va`;
    /// `leaf`: it maps a page (4 KiB, or 2 MiB with PS) rather than a
    /// table. Return false to stop this table here.
    fn entry(&mut self, index: usize, pte: Pte, va: VirtAddr, level: u8, leaf: bool) -> bool;
    /// The current table is done; `cut`: `entry` stopped it early.
    fn end_table(&mut self, cut: bool);
}

impl Pmap {
    /// Every page-table frame with its level, PML4 first, then depth-first
    /// in address order.
    pub fn table_frames(&self, phys: &PhysMem) -> Vec<(Pfn, u8)> {
        /// Down to the PD entries: a page table is listed, not read.
        struct Frames;
        impl Rules for Frames {
            const WALK: Walk = Walk {
                bottom: 2,
                ..Walk::TREE
            };
        }
        let mut out = Vec::new();
        let mut c = Cursor::<Frames>::new(phys, self.cr3, 0, LIN_TOP);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Table { pfn, level, .. } => out.push((pfn, level)),
                Step::Run(mut run) => {
                    while let Some(slot) = run.next(phys) {
                        if !slot.pte.is_huge() {
                            out.push((slot.pte.pfn(), 1));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Walk the tree of table frames from CR3 in address order, for views
    /// of it: `v.table` for each table, `v.entry` for each present entry
    /// (a non-leaf entry's table is visited right after it, unless `entry`
    /// says stop), `v.end_table` when a table is done.
    pub fn visit_tables(&self, phys: &PhysMem, v: &mut impl TableVisitor) {
        let mut c = Cursor::<Tree>::new(phys, self.cr3, 0, LIN_TOP);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Table {
                    pfn,
                    level,
                    lin,
                    from,
                } => {
                    if let Some(f) = from
                        && !v.entry(f.idx, f.pte, f.va(), f.level, false)
                    {
                        c.cut();
                        continue;
                    }
                    let span = 1u64 << (shift_of(level) + 9);
                    v.table(
                        pfn,
                        level,
                        canon(lin),
                        canon(lin + (span - 1)),
                        used(phys, pfn),
                    );
                }
                Step::Entry(s) => {
                    if !v.entry(s.idx, s.pte, s.va(), s.level, true) {
                        c.cut();
                    }
                }
                Step::Run(mut run) => {
                    while let Some(s) = run.next(phys) {
                        if !v.entry(s.idx, s.pte, s.va(), s.level, true) {
                            c.cut();
                            break;
                        }
                    }
                }
                Step::Done { cut, .. } => v.end_table(cut),
            }
        }
    }

    /// Call `f(va, leaf, level)` for every present leaf (level 1, or 2 for a
    /// 2 MiB leaf) in address order.
    pub fn for_each_leaf(&self, phys: &PhysMem, mut f: impl FnMut(VirtAddr, Pte, u8)) {
        /// The leaves, skipping the empty tail of every table.
        struct Counted;
        impl Rules for Counted {
            const WALK: Walk = Walk {
                counted: true,
                ..Walk::LEAVES
            };
        }
        let mut c = Cursor::<Counted>::new(phys, self.cr3, 0, LIN_TOP);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Run(mut run) => {
                    while let Some(s) = run.next(phys) {
                        f(s.va(), s.pte, s.level);
                    }
                }
                Step::Entry(s) => f(s.va(), s.pte, s.level),
                _ => {}
            }
        }
    }

    /// [`Pmap::for_each_leaf`] for the leaves that meet `[start, end)` only
    /// (a 2 MiB leaf across an edge is reported whole), descending only
    /// into the tables that meet the range.
    pub fn for_each_leaf_in(
        &self,
        phys: &PhysMem,
        start: VirtAddr,
        end: VirtAddr,
        mut f: impl FnMut(VirtAddr, Pte, u8),
    ) {
        let Some((s, e)) = page_span(start, end) else {
            return;
        };
        /// The leaves of a range, skipping the empty tail of every table.
        struct CountedRange;
        impl Rules for CountedRange {
            const WALK: Walk = Walk {
                counted: true,
                ..Walk::LEAVES
            };
        }
        let mut c = Cursor::<CountedRange>::new(phys, self.cr3, s, e);
        while let Some(step) = c.next(phys) {
            match step {
                Step::Run(mut run) => {
                    while let Some(s) = run.next(phys) {
                        f(s.va(), s.pte, s.level);
                    }
                }
                Step::Entry(s) => f(s.va(), s.pte, s.level),
                _ => {}
            }
        }
    }
}
