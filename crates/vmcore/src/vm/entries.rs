//! The container of an address space's map entries, after NetBSD UVM's
//! `vm_map`: the entries form a doubly linked list sorted by address
//! (`vm_map_entry.prev`/`.next`), a search tree indexes them by start
//! address, and a *hint* remembers the entry looked up or linked last.
//!
//! Most lookups land at or beside the hint: the next fault in the same
//! entry, the insertion beside the hole that placement just found, the
//! munmap of the entry just mapped. `uvm_map_lookup_entry` answers those
//! from the hint and the list links without searching the tree, and so
//! does [`Entries`]; only a miss searches the tree. Linux's maple tree gets
//! the same effect from the walk state (`vma_iterator`) that mmap and
//! munmap carry from search to store.
//!
//! The list lives in a slab linked by index (no pointers, no unsafe
//! code), its links apart from the entries so that linking and unlinking
//! an entry moves it once, into its slot or out of it. The tree is an
//! [`EntryTree`], a B+ tree whose leaves each entry knows, so that linking
//! and unlinking an entry whose neighbours the list gives touch one leaf
//! and no search path.

use super::entry_tree::{EntryTree, Found};
use super::map::Entry;
use std::cell::Cell;
use std::ops::{Bound, Index, RangeBounds};

/// No node: the end of the list, or an empty hint.
const NIL: u32 = u32::MAX;

/// A slot's neighbours in address order (`NIL` at either end).
#[derive(Clone, Copy, Debug)]
struct Links {
    prev: u32,
    next: u32,
}

/// Map entries in address order (see the module documentation).
#[derive(Clone, Debug)]
pub struct Entries {
    /// The slab; `None` marks a free slot, listed in `free`.
    slots: Vec<Option<Entry>>,
    /// The list links of each slot, meaningful while the slot is live.
    links: Vec<Links>,
    free: Vec<u32>,
    /// Start address -> node (the tree `uvm_map_lookup_entry` falls back to).
    tree: EntryTree,
    len: usize,
    head: u32,
    tail: u32,
    /// The node looked up or linked last (`vm_map.hint`), or `NIL`. Only a
    /// starting point: every use checks it against the list, so a hint
    /// that is no longer useful costs a tree search, never a wrong answer.
    hint: Cell<u32>,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            tree: EntryTree::default(),
            len: 0,
            head: NIL,
            tail: NIL,
            hint: Cell::new(NIL),
        }
    }
}

impl Entries {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entry(&self, i: u32) -> &Entry {
        self.slots[i as usize].as_ref().expect("live entry slot")
    }
    fn entry_mut(&mut self, i: u32) -> &mut Entry {
        self.slots[i as usize].as_mut().expect("live entry slot")
    }
    fn link(&self, i: u32) -> Links {
        self.links[i as usize]
    }
    fn start_of(&self, i: u32) -> u64 {
        self.entry(i).start
    }

    /// The last node starting at or below `a`, or `NIL`
    /// (`uvm_map_lookup_entry`: the hint, its neighbours, then the tree).
    fn last_at_or_below(&self, a: u64) -> u32 {
        let h = self.hint.get();
        if h != NIL {
            let n = self.link(h);
            if self.start_of(h) <= a {
                if n.next == NIL || self.start_of(n.next) > a {
                    return h;
                }
                // One step on: lookups tend to move up through the map.
                let nn = self.link(n.next);
                if nn.next == NIL || self.start_of(nn.next) > a {
                    self.hint.set(n.next);
                    return n.next;
                }
            } else if n.prev == NIL {
                return NIL;
            } else if self.start_of(n.prev) <= a {
                // The hint's predecessor, which the list puts right below.
                self.hint.set(n.prev);
                return n.prev;
            }
        }
        let i = match self.tree.search(a) {
            Found::At(i) => i,
            Found::Before(i) => self.link(i).prev,
            Found::Empty => NIL,
        };
        if i != NIL {
            self.hint.set(i);
        }
        i
    }

    /// The first node starting at or above `a`, or `NIL`.
    fn first_at_or_above(&self, a: u64) -> u32 {
        match self.last_at_or_below(a) {
            NIL => self.head,
            i if self.start_of(i) == a => i,
            i => self.link(i).next,
        }
    }

    /// The node of the entry starting exactly at `start`.
    fn slot(&self, start: u64) -> Option<u32> {
        match self.last_at_or_below(start) {
            NIL => None,
            i if self.start_of(i) == start => Some(i),
            _ => None,
        }
    }

    /// The entry starting at `start`.
    pub fn get(&self, start: &u64) -> Option<&Entry> {
        self.slot(*start).map(|i| self.entry(i))
    }
    /// The entry starting at `start`, to change it in place. The caller
    /// must not change `start`, which orders the list and keys the tree
    /// (use [`Entries::remove`] and [`Entries::insert`] for that), nor make
    /// the entry overlap the next one.
    pub fn get_mut(&mut self, start: &u64) -> Option<&mut Entry> {
        let i = self.slot(*start)?;
        Some(self.entry_mut(i))
    }
    /// The last entry starting at or below `a` (`find_vma_prev`'s
    /// neighbour, or the entry containing `a` if there is one).
    pub fn last_starting_at_or_below(&self, a: u64) -> Option<&Entry> {
        match self.last_at_or_below(a) {
            NIL => None,
            i => Some(self.entry(i)),
        }
    }

    /// The first entry starting at or above `a`.
    pub fn first_starting_at_or_above(&self, a: u64) -> Option<&Entry> {
        match self.first_at_or_above(a) {
            NIL => None,
            i => Some(self.entry(i)),
        }
    }

    /// Link a new entry into the list and the tree (`uvm_map_entry_link`).
    /// Its range must not overlap any entry's.
    pub fn insert(&mut self, entry: Entry) {
        let start = entry.start;
        let prev = self.last_at_or_below(start);
        assert!(
            prev == NIL || self.start_of(prev) < start,
            "two map entries start at {start:#x}"
        );
        let next = if prev == NIL {
            self.head
        } else {
            self.link(prev).next
        };
        let links = Links { prev, next };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                self.links[i as usize] = links;
                i
            }
            None => {
                self.slots.push(Some(entry));
                self.links.push(links);
                u32::try_from(self.slots.len() - 1).expect("entry count fits u32")
            }
        };
        if prev == NIL {
            self.head = i;
        } else {
            self.links[prev as usize].next = i;
        }
        if next == NIL {
            self.tail = i;
        } else {
            self.links[next as usize].prev = i;
        }
        let some = |j| (j != NIL).then_some(j);
        self.tree.insert(start, i, some(prev), some(next));
        self.len += 1;
        self.hint.set(i);
    }

    /// Unlink the entry starting at `start` (`uvm_map_entry_unlink`). The
    /// hint moves to the entry above, where placement resumes.
    pub fn remove(&mut self, start: &u64) -> Option<Entry> {
        let i = self.slot(*start)?;
        self.tree.remove(*start, i);
        self.len -= 1;
        let Links { prev, next } = self.link(i);
        if prev == NIL {
            self.head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        self.free.push(i);
        self.hint.set(if next != NIL { next } else { prev });
        self.slots[i as usize].take()
    }

    /// The entries whose start lies in `range`, in address order; the
    /// iterator runs both ways.
    pub fn range<R: RangeBounds<u64>>(&self, range: R) -> Range<'_> {
        let front = match range.start_bound() {
            Bound::Unbounded => self.head,
            Bound::Included(&a) => self.first_at_or_above(a),
            Bound::Excluded(&a) => match a.checked_add(1) {
                Some(a) => self.first_at_or_above(a),
                None => NIL,
            },
        };
        let back = match range.end_bound() {
            Bound::Unbounded => self.tail,
            Bound::Included(&a) => self.last_at_or_below(a),
            Bound::Excluded(&a) => match a.checked_sub(1) {
                Some(a) => self.last_at_or_below(a),
                None => NIL,
            },
        };
        let empty = front == NIL || back == NIL || self.start_of(front) > self.start_of(back);
        Range {
            entries: self,
            front: if empty { NIL } else { front },
            back: if empty { NIL } else { back },
        }
    }

    /// All entries in address order.
    pub fn values(&self) -> Range<'_> {
        self.range(..)
    }

    /// The list and the tree agree: the list is sorted, its links run both
    /// ways, and the tree holds exactly the listed entries.
    pub fn check(&self) -> Result<(), String> {
        let mut prev = NIL;
        let mut i = self.head;
        let mut n = 0;
        while i != NIL {
            let entry = self
                .slots
                .get(i as usize)
                .and_then(Option::as_ref)
                .ok_or_else(|| format!("entry list links to free slot {i}"))?;
            let links = self.link(i);
            if links.prev != prev {
                return Err(format!("entry list: back link of slot {i} is wrong"));
            }
            if prev != NIL && self.start_of(prev) >= entry.start {
                return Err(format!("entry list out of order at {:#x}", entry.start));
            }
            n += 1;
            if n > self.slots.len() {
                return Err("entry list has a cycle".into());
            }
            prev = i;
            i = links.next;
        }
        if prev != self.tail {
            return Err("entry list tail is wrong".into());
        }
        if n != self.len {
            return Err(format!("entry list holds {n} entries, not {}", self.len));
        }
        self.tree.check(
            |s| {
                self.slots
                    .get(s as usize)
                    .and_then(Option::as_ref)
                    .map(|e| e.start)
            },
            n,
        )?;
        let h = self.hint.get();
        if h != NIL && self.slots.get(h as usize).is_none_or(Option::is_none) {
            return Err("entry hint names a free slot".into());
        }
        Ok(())
    }
}

impl Index<&u64> for Entries {
    type Output = Entry;
    fn index(&self, start: &u64) -> &Entry {
        self.get(start).expect("no map entry starts there")
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = &'a Entry;
    type IntoIter = Range<'a>;
    fn into_iter(self) -> Range<'a> {
        self.values()
    }
}

/// Entries in address order, from [`Entries::range`].
#[derive(Clone)]
pub struct Range<'a> {
    entries: &'a Entries,
    /// Next node from the front and from the back; both `NIL` when done.
    front: u32,
    back: u32,
}

impl<'a> Iterator for Range<'a> {
    type Item = &'a Entry;
    fn next(&mut self) -> Option<&'a Entry> {
        if self.front == NIL {
            return None;
        }
        let i = self.front;
        if self.front == self.back {
            self.front = NIL;
            self.back = NIL;
        } else {
            self.front = self.entries.link(i).next;
        }
        Some(self.entries.entry(i))
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.back == NIL {
            return None;
        }
        let i = self.back;
        if self.front == self.back {
            self.front = NIL;
            self.back = NIL;
        } else {
            self.back = self.entries.link(i).prev;
        }
        Some(self.entries.entry(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{Prot, VmFlags};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn e(start: u64) -> Entry {
        Entry {
            start,
            end: start + 1,
            prot: Prot::READ,
            flags: VmFlags::empty(),
            object: None,
            pgoff: 0,
            aref: None,
            needs_copy: false,
            anon_vma: None,
            anon_vma_forked: false,
            inherit: crate::vm::map::Inherit::Copy,
            ra: Default::default(),
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Remove(u64),
        /// Remove the n-th key present (modulo their number): drains the
        /// tree, emptying leaves and whole subtrees.
        RemoveNth(usize),
        Get(u64),
        Range(u64, u64),
        Below(u64),
    }

    /// Operations on keys below `keys`; `grow` weights insertions so that
    /// the tree gets deep (three levels and more) before removals thin it.
    fn op(keys: u64, grow: u32) -> impl Strategy<Value = Op> {
        let k = 0u64..keys;
        prop_oneof![
            grow => k.clone().prop_map(Op::Insert),
            2 => k.clone().prop_map(Op::Remove),
            (if grow == 0 { 8 } else { 1 }) => any::<usize>().prop_map(Op::RemoveNth),
            1 => k.clone().prop_map(Op::Get),
            1 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Range(a, b)),
            1 => k.prop_map(Op::Below),
        ]
    }

    proptest! {
        /// Whatever the hint holds, every answer is the one a plain
        /// `BTreeMap` gives.
        #[test]
        fn agrees_with_btreemap(ops in proptest::collection::vec(op(64, 2), 1..300)) {
            run(ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        /// The same with trees three levels deep, grown and then
        /// emptied again (splits, empty leaves, root hand-overs).
        #[test]
        fn deep_trees_agree_with_btreemap(
            grow in proptest::collection::vec(op(4000, 12), 1500..3000),
            shrink in proptest::collection::vec(op(4000, 0), 1500..3000),
        ) {
            run(grow.into_iter().chain(shrink).collect())?;
        }
    }

    fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut ours = Entries::default();
        {
            let mut model: BTreeMap<u64, ()> = BTreeMap::new();
            let mut step = 0u32;
            for op in ops {
                match op {
                    Op::Insert(k) => {
                        if model.insert(k, ()).is_none() {
                            ours.insert(e(k));
                        }
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(
                            ours.remove(&k).map(|e| e.start),
                            model.remove(&k).map(|_| k)
                        );
                    }
                    Op::RemoveNth(n) => {
                        if let Some(&k) = model.keys().nth(n % model.len().max(1)) {
                            model.remove(&k);
                            prop_assert_eq!(ours.remove(&k).map(|e| e.start), Some(k));
                        }
                    }
                    Op::Get(k) => {
                        prop_assert_eq!(ours.get(&k).is_some(), model.contains_key(&k));
                    }
                    Op::Range(a, b) => {
                        let want: Vec<u64> = model.range(a..b.max(a)).map(|(&k, _)| k).collect();
                        let got: Vec<u64> = ours.range(a..b.max(a)).map(|e| e.start).collect();
                        prop_assert_eq!(&got, &want);
                        let back: Vec<u64> =
                            ours.range(a..=b.max(a)).rev().map(|e| e.start).collect();
                        let want_back: Vec<u64> =
                            model.range(a..=b.max(a)).rev().map(|(&k, _)| k).collect();
                        prop_assert_eq!(back, want_back);
                        // Mixed ends meet in the middle exactly once.
                        if model.len() <= 200 {
                            let mut it = ours.range(..);
                            let mut seen = Vec::new();
                            loop {
                                match (it.next(), it.next_back()) {
                                    (Some(x), Some(y)) => {
                                        seen.push(x.start);
                                        seen.push(y.start);
                                    }
                                    (Some(x), None) => seen.push(x.start),
                                    (None, Some(y)) => seen.push(y.start),
                                    (None, None) => break,
                                }
                            }
                            seen.sort_unstable();
                            let all: Vec<u64> = model.keys().copied().collect();
                            prop_assert_eq!(seen, all);
                        }
                    }
                    Op::Below(a) => {
                        prop_assert_eq!(
                            ours.last_starting_at_or_below(a).map(|e| e.start),
                            model.range(..=a).next_back().map(|(&k, _)| k)
                        );
                        prop_assert_eq!(
                            ours.first_starting_at_or_above(a).map(|e| e.start),
                            model.range(a..).next().map(|(&k, _)| k)
                        );
                    }
                }
                prop_assert_eq!(ours.len(), model.len());
                // The full check is linear: on big trees, every 29th step.
                step += 1;
                if (model.len() < 64 || step.is_multiple_of(29))
                    && let Err(msg) = ours.check()
                {
                    return Err(TestCaseError::fail(msg));
                }
            }
        }
        if let Err(msg) = ours.check() {
            return Err(TestCaseError::fail(msg));
        }
        Ok(())
    }
}
