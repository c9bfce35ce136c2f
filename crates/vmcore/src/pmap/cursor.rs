//! The one walk over the 4-level table tree.
//!
//! Every pmap operation that looks at more than one entry is a loop over a
//! [`Cursor`]: the cursor goes down and across the tables of a linear range
//! `[s, e)` in address order, and [`Walk`] flags say what it does on the
//! way (after Asterinas `ostd/src/mm/page_table/cursor/`, one traversal with
//! flags rather than one recursion per operation; Linux spells the same walk
//! out per operation as `zap_p4d_range` .. `zap_pte_range`,
//! `change_pmd_range`, `copy_pmd_range`, `move_page_tables`):
//!
//! ```text
//!             level 4 ──► 3 ──► 2 ──┬──► 1          a Step::Entry for each leaf above
//!   range    [ . . . . . . . . . . .│. . . ]         `bottom`, one Step::Run for each
//!   [s, e)   Table ─► entries ─► Table ─► ... ─► Run ─► Done   table at `bottom`
//!                                                         (Table/Done with `tables`)
//!                                   │
//!                     2 MiB leaf cut by the range: `split` demotes it and goes
//!                     on into the new page table (split_huge_pmd)
//! ```
//!
//! - `bottom` is the lowest level visited: 1 to reach PTEs, 2 to stop at PD
//!   entries (`pmd_none`, `free_pgtables`, entering a 2 MiB leaf). A table
//!   at `bottom` is handed out whole, as a [`Run`] of its entries in the
//!   range: a small cursor of its own that the operation drains in a tight
//!   loop (Linux's `zap_pte_range` / `change_pte_range` loop over one PTE
//!   table), so that a page costs no step of the whole walk;
//! - `alloc`: a missing table above `bottom` is allocated (`__pte_alloc`);
//!   the frames the rest of the way needs are counted first, so running out
//!   changes nothing;
//! - `split`: a 2 MiB leaf the range covers only in part is demoted and the
//!   walk goes on into its new page table; should no frame be free for that,
//!   the leaf is handed out as an `Entry` with `whole == false`;
//! - `empty`: empty slots at `bottom` are handed out too (where a new leaf
//!   goes); otherwise only present or PROT_NONE entries are;
//! - `tables`: each table is announced before the walk enters it
//!   (`Step::Table`) and reported when it is done (`Step::Done`, post-order,
//!   which is when an emptied table may be freed);
//! - `counted`: a table's scan stops once its count of non-zero entries is
//!   reached, so whole-tree views skip the empty tail of every table. Only
//!   for walks that never add an entry ahead of the cursor.
//!
//! The cursor keeps no borrow of [`PhysMem`]: each step reads the table
//! frames anew, so between steps the caller may change the entry just
//! handed out (clear it, free the table under it), or another address
//! space's tables (`copy_range`). A [`Run`] follows the same rule.

use super::*;
use std::marker::PhantomData;

/// What a walk does on its way: see the module doc.
#[derive(Clone, Copy, Debug)]
pub(super) struct Walk {
    pub bottom: u8,
    pub alloc: bool,
    pub split: bool,
    pub empty: bool,
    pub tables: bool,
    pub counted: bool,
}

impl Walk {
    /// The leaves that meet a range, 2 MiB leaves as they are.
    pub const LEAVES: Walk = Walk {
        bottom: 1,
        alloc: false,
        split: false,
        empty: false,
        tables: false,
        counted: false,
    };
    /// Change the leaves of a range: a 2 MiB leaf cut by it is split.
    pub const EDIT: Walk = Walk {
        split: true,
        ..Walk::LEAVES
    };
    /// Reach the slot for one new 4 KiB leaf, building the way there.
    pub const ENTER: Walk = Walk {
        alloc: true,
        split: true,
        empty: true,
        ..Walk::LEAVES
    };
    /// Reach the PD slot for one new 2 MiB leaf, building the way there.
    pub const ENTER_HUGE: Walk = Walk {
        bottom: 2,
        alloc: true,
        empty: true,
        ..Walk::LEAVES
    };
    /// The PD slot of one address, as it is.
    pub const PMD: Walk = Walk {
        bottom: 2,
        empty: true,
        ..Walk::LEAVES
    };
    /// The whole tree with its tables, for views and teardown.
    pub const TREE: Walk = Walk {
        tables: true,
        counted: true,
        ..Walk::LEAVES
    };
}

/// A walk named as a type: a [`Cursor`] is compiled for its [`Walk`], so
/// that the flags are constants every rule folds against rather than
/// fields read again at each step.
pub(super) trait Rules {
    const WALK: Walk;
}

/// [`Walk::LEAVES`] as a type.
pub(super) struct Leaves;
impl Rules for Leaves {
    const WALK: Walk = Walk::LEAVES;
}

/// [`Walk::EDIT`] as a type.
pub(super) struct Edit;
impl Rules for Edit {
    const WALK: Walk = Walk::EDIT;
}

/// [`Walk::TREE`] as a type.
pub(super) struct Tree;
impl Rules for Tree {
    const WALK: Walk = Walk::TREE;
}

/// What a walk does with one entry: the rules every step follows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Nothing to do here: go on to the next entry.
    Skip,
    /// An empty slot above `bottom`, to be filled with a new table (`alloc`).
    Missing,
    /// A 2 MiB leaf cut by the range, to be demoted (`split`).
    Split,
    /// Hand the entry out.
    Entry,
    /// Go down into the table the entry points to.
    Table,
}

impl Walk {
    /// The rule for `pte` at `level`; `whole`: its span lies in the range.
    #[inline(always)]
    fn kind(self, level: u8, pte: Pte, whole: bool) -> Kind {
        if !pte.is_mapped() {
            return match (level > self.bottom, self.alloc, self.empty) {
                (true, true, _) => Kind::Missing,
                (false, _, true) => Kind::Entry,
                _ => Kind::Skip,
            };
        }
        let leaf = level == 1 || (level == 2 && pte.is_huge());
        if leaf && level > self.bottom && self.split && !whole {
            Kind::Split
        } else if leaf || level == self.bottom {
            Kind::Entry
        } else {
            Kind::Table
        }
    }

    /// [`Walk::kind`] at `bottom`, where it is `Entry` or `Skip`: whether
    /// `pte` is handed out.
    #[inline(always)]
    fn wanted_at_bottom(self, pte: Pte) -> bool {
        pte.is_mapped() || self.empty
    }
}

/// Index of a level (1..=4) in the cursor's per-level arrays: its low two
/// bits, distinct for the four levels and never out of bounds.
#[inline(always)]
fn ix(level: u8) -> usize {
    (level & 3) as usize
}

/// One entry handed out by the cursor.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    /// The table frame holding the entry, and its index there.
    pub table: Pfn,
    pub idx: usize,
    /// The table's level (1 = PT .. 4 = PML4).
    pub level: u8,
    /// The entry as read when handed out.
    pub pte: Pte,
    /// The linear address the entry starts translating at.
    pub lin: u64,
    /// The entry's whole span lies inside the walk's range.
    pub whole: bool,
}

impl Slot {
    pub fn va(&self) -> VirtAddr {
        canon(self.lin)
    }
    /// A mapped 2 MiB leaf (PS in a PD entry).
    pub fn is_huge_leaf(&self) -> bool {
        self.level == 2 && self.pte.is_mapped() && self.pte.is_huge()
    }
}

/// What the cursor reports.
pub(super) enum Step<R: Rules> {
    /// (`tables`) The walk is about to enter table `pfn` at `level`, which
    /// translates from linear `lin`; `from` is the entry pointing to it
    /// (`None` for the PML4).
    Table {
        pfn: Pfn,
        level: u8,
        lin: u64,
        from: Option<Slot>,
    },
    /// A leaf above `bottom` (a 2 MiB leaf when `bottom` is 1).
    Entry(Slot),
    /// The entries of a table at `bottom` that meet the range (4 KiB
    /// leaves when `bottom` is 1), to be drained with [`Run::next`]: each
    /// mapped entry, and each empty one with `empty`.
    Run(Run<R>),
    /// (`tables`) The walk is done with table `pfn` at `level`; `cut`: the
    /// caller ended it early with [`Cursor::cut`].
    Done {
        pfn: Pfn,
        level: u8,
        from: Option<Slot>,
        cut: bool,
    },
}

/// The entries of one table at the walk's `bottom` that meet its range,
/// handed out one by one by [`Run::next`] under the same rules as the walk
/// (at `bottom` an entry is either handed out or skipped). Like the cursor
/// it keeps no borrow: between two calls the caller may change the entry
/// just handed out.
pub(super) struct Run<R: Rules> {
    rules: PhantomData<R>,
    s: u64,
    e: u64,
    /// The table (at the walk's `bottom`) and the linear address of its
    /// entry 0.
    table: Pfn,
    base: u64,
    /// The next index to look at, and the last one in the range.
    idx: usize,
    last: usize,
    /// (`counted`) Non-zero entries not yet passed.
    left: u32,
}

impl<R: Rules> Run<R> {
    /// The next entry of the run, if any.
    #[inline(always)]
    pub fn next(&mut self, phys: &PhysMem) -> Option<Slot> {
        let w = R::WALK;
        while self.idx <= self.last && !(w.counted && self.left == 0) {
            let idx = self.idx;
            self.idx += 1;
            let pte = rd(phys, self.table, idx);
            if pte.is_unused() {
                if !w.empty {
                    // A row of empty slots in one scan, as in the walk.
                    self.idx = match next_used(phys, self.table, idx + 1, self.last) {
                        Some((i, _)) => i,
                        None => self.last + 1,
                    };
                    continue;
                }
            } else if w.counted {
                self.left -= 1;
            }
            let level = w.bottom;
            let lin = self.base + ((idx as u64) << shift_of(level));
            let whole = self.s <= lin && lin + (1u64 << shift_of(level)) <= self.e;
            debug_assert_eq!(
                w.wanted_at_bottom(pte),
                w.kind(level, pte, whole) == Kind::Entry
            );
            if w.wanted_at_bottom(pte) {
                return Some(Slot {
                    table: self.table,
                    idx,
                    level,
                    pte,
                    lin,
                    whole,
                });
            }
        }
        None
    }
}

/// What one turn of the walk found: a step for the caller, or work for
/// [`Cursor::next_mut`] before it can go on.
enum Raw<R: Rules> {
    Step(Step<R>),
    /// A 2 MiB leaf cut by the range (`split`).
    Split(Slot),
    /// An empty slot above `bottom` (`alloc`).
    Missing(Slot),
    End,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Fresh,
    Walking,
    Over,
}

/// A position in the table tree: the path of tables from the PML4 down to
/// the current one, with the index reached in each (Asterinas keeps the
/// same `guards` path).
pub(super) struct Cursor<R: Rules> {
    rules: PhantomData<R>,
    /// The linear range `[s, e)` walked.
    s: u64,
    e: u64,
    /// Level of the current table.
    level: u8,
    /// Indexed by `ix(level)`: the table on the path, its linear base, the next
    /// index to look at and the last one inside the range, the non-zero
    /// entries not yet passed (`counted`), and whether `cut` ended it.
    table: [Pfn; 4],
    base: [u64; 4],
    idx: [usize; 4],
    last: [usize; 4],
    left: [u32; 4],
    cut: [bool; 4],
    /// A table announced by `Step::Table`, entered on the next turn.
    pending: Option<(Pfn, u64)>,
    state: State,
}

impl<R: Rules> Cursor<R> {
    /// The walk's flags.
    const W: Walk = R::WALK;

    /// A walk `R` of the linear range `[s, e)` of the tree rooted at `cr3`.
    #[inline(always)]
    pub fn new(phys: &PhysMem, cr3: Pfn, s: u64, e: u64) -> Cursor<R> {
        let walk = Self::W;
        debug_assert!(!(walk.counted && (walk.alloc || walk.split)));
        debug_assert!((1..=2).contains(&walk.bottom));
        let mut c = Cursor {
            rules: PhantomData,
            s,
            e,
            level: 4,
            table: [Pfn(0); 4],
            base: [0; 4],
            idx: [0; 4],
            last: [0; 4],
            left: [0; 4],
            cut: [false; 4],
            pending: None,
            state: State::Fresh,
        };
        c.enter(phys, 4, cr3, 0);
        c
    }

    /// Make `pfn` (level `level`, from linear `lin`) the current table.
    #[inline(always)]
    fn enter(&mut self, phys: &PhysMem, level: u8, pfn: Pfn, lin: u64) {
        let l = ix(level);
        self.level = level;
        self.table[l] = pfn;
        self.base[l] = lin;
        // An empty meet leaves idx > last: the table is done at once.
        let (first, last) = span_indices(level, lin, self.s, self.e).unwrap_or((1, 0));
        self.idx[l] = first;
        self.last[l] = last;
        self.cut[l] = false;
        if Self::W.counted {
            self.left[l] = used(phys, pfn);
        }
    }

    /// End the current table here: the rest of its entries (and a table
    /// just announced by `Step::Table`) are skipped; its `Done` says `cut`.
    pub fn cut(&mut self) {
        self.pending = None;
        let l = ix(self.level);
        self.cut[l] = true;
        self.idx[l] = self.last[l] + 1;
    }

    /// The entry `pte` at the current index of the table at `level`.
    #[inline(always)]
    fn slot(&self, level: u8, pte: Pte) -> Slot {
        let l = ix(level);
        let (table, idx) = (self.table[l], self.idx[l]);
        let lin = self.base[l] + ((idx as u64) << shift_of(level));
        Slot {
            table,
            idx,
            level,
            pte,
            lin,
            whole: self.s <= lin && lin + (1u64 << shift_of(level)) <= self.e,
        }
    }

    /// One turn of the walk.
    #[inline(always)]
    fn next_raw(&mut self, phys: &PhysMem) -> Raw<R> {
        match self.state {
            State::Walking => {}
            State::Over => return Raw::End,
            State::Fresh => {
                self.state = State::Walking;
                if Self::W.tables {
                    return Raw::Step(Step::Table {
                        pfn: self.table[ix(4)],
                        level: 4,
                        lin: 0,
                        from: None,
                    });
                }
            }
        }
        if let Some((pfn, lin)) = self.pending.take() {
            self.enter(phys, self.level - 1, pfn, lin);
        }
        let w = Self::W;
        loop {
            let level = self.level;
            let l = ix(level);
            if self.idx[l] > self.last[l] || (w.counted && self.left[l] == 0) {
                // This table is done: back up to its parent.
                let (pfn, cut) = (self.table[l], self.cut[l]);
                if level == 4 {
                    self.state = State::Over;
                    return if w.tables {
                        Raw::Step(Step::Done {
                            pfn,
                            level,
                            from: None,
                            cut,
                        })
                    } else {
                        Raw::End
                    };
                }
                self.level = level + 1;
                let from = w.tables.then(|| {
                    let pte = rd(phys, self.table[ix(level + 1)], self.idx[ix(level + 1)]);
                    self.slot(level + 1, pte)
                });
                self.idx[ix(level + 1)] += 1;
                if from.is_some() {
                    return Raw::Step(Step::Done {
                        pfn,
                        level,
                        from,
                        cut,
                    });
                }
                continue;
            }
            if level == w.bottom {
                // The whole table at once; it is done for the walk.
                let run = Run {
                    rules: PhantomData,
                    s: self.s,
                    e: self.e,
                    table: self.table[l],
                    base: self.base[l],
                    idx: self.idx[l],
                    last: self.last[l],
                    left: self.left[l],
                };
                self.idx[l] = self.last[l] + 1;
                return Raw::Step(Step::Run(run));
            }
            // Above `bottom` from here on.
            let (table, last) = (self.table[l], self.last[l]);
            let mut pte = rd(phys, table, self.idx[l]);
            if pte.is_unused() && !w.alloc {
                // An empty slot is wanted only to fill it (`Walk::kind`):
                // a row of them, the usual case in a sparse tree, is passed
                // in one scan before any other work.
                match next_used(phys, table, self.idx[l] + 1, last) {
                    Some((i, p)) => (self.idx[l], pte) = (i, p),
                    None => {
                        self.idx[l] = last + 1;
                        continue;
                    }
                }
            }
            if w.counted && !pte.is_unused() {
                self.left[l] -= 1;
            }
            let lin = self.base[l] + ((self.idx[l] as u64) << shift_of(level));
            let whole = self.s <= lin && lin + (1u64 << shift_of(level)) <= self.e;
            let kind = w.kind(level, pte, whole);
            if kind == Kind::Skip {
                self.idx[l] += 1;
                continue;
            }
            let (table, idx) = (self.table[l], self.idx[l]);
            let slot = Slot {
                table,
                idx,
                level,
                pte,
                lin,
                whole,
            };
            match kind {
                Kind::Skip | Kind::Table => {}
                Kind::Missing => return Raw::Missing(slot),
                Kind::Split => return Raw::Split(slot),
                Kind::Entry => {
                    self.idx[l] += 1;
                    return Raw::Step(Step::Entry(slot));
                }
            }
            // A table: go down into it.
            if w.tables {
                self.pending = Some((pte.pfn(), slot.lin));
                return Raw::Step(Step::Table {
                    pfn: pte.pfn(),
                    level: level - 1,
                    lin: slot.lin,
                    from: Some(slot),
                });
            }
            self.enter(phys, level - 1, pte.pfn(), slot.lin);
        }
    }

    /// The next step of a walk that changes nothing (no `alloc`, no
    /// `split`).
    #[inline(always)]
    pub fn next(&mut self, phys: &PhysMem) -> Option<Step<R>> {
        debug_assert!(!Self::W.alloc && !Self::W.split);
        match self.next_raw(phys) {
            Raw::Step(s) => Some(s),
            Raw::End => None,
            Raw::Split(_) | Raw::Missing(_) => unreachable!("read-only walk"),
        }
    }

    /// The next step of a walk that may build tables (`alloc`) or demote
    /// 2 MiB leaves (`split`) of `pmap` on its way; what that owes goes
    /// into `flush`.
    ///
    /// => `NoMemory` only with `alloc`, and then nothing has changed.
    #[inline(always)]
    pub fn next_mut(
        &mut self,
        pmap: &mut Pmap,
        phys: &mut PhysMem,
        flush: &mut TlbFlush,
        ev: &mut EventLog,
    ) -> Result<Option<Step<R>>, PmapError> {
        loop {
            match self.next_raw(phys) {
                Raw::Step(s) => return Ok(Some(s)),
                Raw::End => return Ok(None),
                Raw::Split(slot) => match pmap.demote_at(phys, slot.table, slot.idx, slot.va(), ev)
                {
                    // Go on into the new page table.
                    Ok(f) => flush.merge(f),
                    Err(e) if Self::W.alloc => return Err(e),
                    Err(PmapError::NoMemory) => {
                        self.idx[ix(self.level)] += 1;
                        return Ok(Some(Step::Entry(slot)));
                    }
                },
                Raw::Missing(slot) => {
                    let va = canon(self.s.max(slot.lin));
                    build(pmap, phys, &slot, Self::W, va, ev)?;
                }
            }
        }
    }
}

/// The walk of the one page at linear `l`, straight down the path to
/// it (Asterinas `Cursor::query` at one address): the entry at
/// `bottom`, or the leaf above it. The same rules as a range walk
/// (`Walk::kind`), without its bookkeeping: lookups and faults stay a
/// few reads. Always from the PML4 down (after a table is built or a
/// leaf split the path is read again), so that the levels are constants.
#[inline(always)]
/// => the entry found with its rule: `Entry`, or work before the walk
///    can go on (`Missing`, `Split`); `None` if there is nothing here.
fn point_raw(phys: &PhysMem, cr3: Pfn, l: u64, w: Walk) -> Option<(Kind, Slot)> {
    let mut table = cr3;
    for level in (w.bottom..=4).rev() {
        let idx = ((l >> shift_of(level)) & (ENTRIES as u64 - 1)) as usize;
        let pte = rd(phys, table, idx);
        let lin = l & !((1u64 << shift_of(level)) - 1);
        let slot = Slot {
            table,
            idx,
            level,
            pte,
            lin,
            whole: false,
        };
        match w.kind(level, pte, false) {
            Kind::Skip => return None,
            Kind::Table => table = pte.pfn(),
            kind => return Some((kind, slot)),
        }
    }
    unreachable!("at `bottom` an entry is handed out or skipped")
}

/// [`point_raw`] for a walk that changes nothing.
#[inline]
pub(super) fn point(phys: &PhysMem, cr3: Pfn, l: u64, w: Walk) -> Option<Slot> {
    debug_assert!(!w.alloc && !w.split && !w.tables);
    match point_raw(phys, cr3, l, w) {
        Some((Kind::Entry, slot)) => Some(slot),
        _ => None,
    }
}

/// [`point_raw`] building the missing tables and demoting a
/// 2 MiB leaf in the way, as [`Cursor::next_mut`] does.
///
/// => `NoMemory` only with `alloc`, and then nothing has changed.
#[inline(always)]
pub(super) fn point_mut(
    pmap: &mut Pmap,
    phys: &mut PhysMem,
    l: u64,
    w: Walk,
    flush: &mut TlbFlush,
    ev: &mut EventLog,
) -> Result<Option<Slot>, PmapError> {
    debug_assert!(!w.tables && !w.counted && (w.alloc || !w.split));
    loop {
        match point_raw(phys, pmap.cr3, l, w) {
            None => return Ok(None),
            Some((Kind::Entry, slot)) => return Ok(Some(slot)),
            Some((Kind::Split, slot)) => {
                let f = pmap.demote_at(phys, slot.table, slot.idx, slot.va(), ev)?;
                flush.merge(f);
            }
            Some((Kind::Missing, slot)) => build(pmap, phys, &slot, w, canon(l), ev)?,
            Some(_) => unreachable!("a point walk hands out entries only"),
        }
    }
}

/// Fill the empty slot above `bottom` with a new table (`__pte_alloc`),
/// counting first what the rest of the way down needs; `va` names the
/// address being entered in the `TableAlloc` event.
#[inline]
fn build(
    pmap: &mut Pmap,
    phys: &mut PhysMem,
    slot: &Slot,
    w: Walk,
    va: VirtAddr,
    ev: &mut EventLog,
) -> Result<(), PmapError> {
    if phys.free_frames() < (slot.level - w.bottom) as u64 {
        return Err(PmapError::NoMemory);
    }
    let n = pmap.alloc_table(phys, slot.level - 1, va, ev)?;
    if slot.pte.is_unused() {
        used_inc(phys, slot.table);
    }
    wr(phys, slot.table, slot.idx, Pte::new(n, TABLE_FLAGS));
    Ok(())
}
