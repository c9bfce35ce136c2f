//! The search tree over an address space's map entries: a B+ tree from
//! start address to the entry's slot in [`super::entries::Entries`].
//!
//! It plays the part of Linux's maple tree or UVM's red-black tree: the
//! lookup of an address far from the last one. What it adds to a plain
//! B-tree is the *finger*: every entry slot knows the leaf that holds its
//! key (`leaf_of`), so an insertion beside a known neighbour and the
//! removal of a known entry go straight to the leaf without a search from
//! the root — as the maple tree's `ma_state` lets `mmap_region` store into
//! the node its gap search ended in. Only a leaf that fills up or empties
//! touches the nodes above it.
//!
//! Every node has a lower bound `lo`: all keys in its subtree are at least
//! `lo` and below the `lo` of the next node at its level. The leftmost
//! node of each level has `lo` 0. Leaves are never empty (unless the root
//! is the only node), so a search that ends in a leaf whose keys all lie
//! above the address has its answer just before that leaf.
//!
//! A leaf keeps its keys in no particular order: an insertion appends, a
//! removal moves the leaf's last key into the gap, and a search scans all
//! of its (at most [`FANOUT`]) keys for the largest at or below the
//! address. Nothing in a leaf shifts, so the map and unmap of one entry
//! move no memory in the tree; only a split sorts a leaf, to halve it by
//! address. (Under WebAssembly a shift is a `memory.copy`, a call out of
//! the compiled code, and it was most of the tree's cost there.) Inner
//! nodes, which change only when a leaf splits or empties, stay sorted.

/// Most keys (or children) a node holds; one more splits it.
const FANOUT: usize = 16;
const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node {
    /// Leaves: the entries' start addresses, in no order. Inner nodes: the
    /// children's lower bounds, ascending (`keys[0]` equals the node's own
    /// `lo`).
    keys: Vec<u64>,
    /// Leaves: entry slots. Inner nodes: child node ids.
    vals: Vec<u32>,
    lo: u64,
    parent: u32,
    leaf: bool,
}

impl Node {
    fn new(leaf: bool, lo: u64, parent: u32) -> Node {
        Node {
            keys: Vec::with_capacity(FANOUT + 1),
            vals: Vec::with_capacity(FANOUT + 1),
            lo,
            parent,
            leaf,
        }
    }

    /// The node's (key, value) pairs by key: a leaf's are unordered.
    fn in_order(&self) -> Vec<(u64, u32)> {
        let mut pairs: Vec<(u64, u32)> = self
            .keys
            .iter()
            .copied()
            .zip(self.vals.iter().copied())
            .collect();
        pairs.sort_unstable();
        pairs
    }
}

/// Where a search for the last key at or below an address ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// This slot's key is the last at or below the address.
    At(u32),
    /// Every key in the leaf is above the address: the answer, if any, is
    /// the entry just before this slot (the leaf's first) in address order.
    Before(u32),
    /// The tree is empty.
    Empty,
}

#[derive(Clone, Debug)]
pub struct EntryTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// Entry slot -> the leaf holding its key (the finger).
    leaf_of: Vec<u32>,
}

impl Default for EntryTree {
    fn default() -> Self {
        EntryTree {
            nodes: vec![Node::new(true, 0, NIL)],
            free: Vec::new(),
            root: 0,
            leaf_of: Vec::new(),
        }
    }
}

impl EntryTree {
    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                u32::try_from(self.nodes.len() - 1).expect("node count fits u32")
            }
        }
    }

    fn release(&mut self, n: u32) {
        let node = &mut self.nodes[n as usize];
        node.keys.clear();
        node.vals.clear();
        node.parent = NIL;
        self.free.push(n);
    }

    /// The last key at or below `a`, searching from the root.
    pub fn search(&self, a: u64) -> Found {
        let mut n = &self.nodes[self.root as usize];
        while !n.leaf {
            // The last child whose lower bound is at or below `a` (child 0
            // when none is: its bound is the node's own).
            let i = n.keys[1..].iter().take_while(|&&k| k <= a).count();
            n = &self.nodes[n.vals[i] as usize];
        }
        // The leaf is unordered: the largest key at or below `a`; if every
        // key lies above `a`, the smallest, whose entry's predecessor is
        // the answer.
        let pairs = || n.keys.iter().zip(&n.vals);
        if let Some((_, &v)) = pairs().filter(|&(&k, _)| k <= a).max_by_key(|&(&k, _)| k) {
            return Found::At(v);
        }
        match pairs().min_by_key(|&(&k, _)| k) {
            Some((_, &v)) => Found::Before(v),
            None => Found::Empty,
        }
    }

    /// Add `key` for `slot`. `prev` and `next` are the slots of the
    /// entries just below and above it in address order (from the list):
    /// the key goes into one of their leaves without a search.
    pub fn insert(&mut self, key: u64, slot: u32, prev: Option<u32>, next: Option<u32>) {
        let leaf = match (prev, next) {
            (_, Some(nx)) if self.nodes[self.leaf_of[nx as usize] as usize].lo <= key => {
                self.leaf_of[nx as usize]
            }
            (Some(pv), _) => self.leaf_of[pv as usize],
            // The first entry of all: the leftmost leaf has bound 0.
            (None, Some(nx)) => self.leaf_of[nx as usize],
            (None, None) => self.root,
        };
        let s = slot as usize;
        if self.leaf_of.len() <= s {
            self.leaf_of.resize(s + 1, NIL);
        }
        self.leaf_of[s] = leaf;
        let node = &mut self.nodes[leaf as usize];
        node.keys.push(key);
        node.vals.push(slot);
        if node.keys.len() > FANOUT {
            self.split(leaf);
        }
    }

    /// Split an overfull node in two, giving the right half to a new
    /// sibling, and add the sibling to the parent (splitting upwards).
    fn split(&mut self, n: u32) {
        let node = &mut self.nodes[n as usize];
        if node.leaf {
            // Halve the leaf by address: order it first.
            (node.keys, node.vals) = node.in_order().into_iter().unzip();
        }
        let mid = node.keys.len() / 2;
        let keys: Vec<u64> = node.keys.drain(mid..).collect();
        let vals: Vec<u32> = node.vals.drain(mid..).collect();
        let (leaf, parent) = (node.leaf, node.parent);
        let lo = keys[0];
        let mut right = Node::new(leaf, lo, parent);
        right.keys.extend(&keys);
        right.vals.extend(&vals);
        let r = self.alloc(right);
        for &v in &vals {
            if leaf {
                self.leaf_of[v as usize] = r;
            } else {
                self.nodes[v as usize].parent = r;
            }
        }
        if parent == NIL {
            // A new root above the two halves.
            let mut root = Node::new(false, 0, NIL);
            root.keys.extend([self.nodes[n as usize].lo, lo]);
            root.vals.extend([n, r]);
            let root = self.alloc(root);
            self.nodes[n as usize].parent = root;
            self.nodes[r as usize].parent = root;
            self.root = root;
            return;
        }
        let p = &mut self.nodes[parent as usize];
        let pos = p
            .vals
            .iter()
            .position(|&c| c == n)
            .expect("child of its parent")
            + 1;
        p.keys.insert(pos, lo);
        p.vals.insert(pos, r);
        if p.keys.len() > FANOUT {
            self.split(parent);
        }
    }

    /// Remove `key`, which `slot` holds.
    pub fn remove(&mut self, key: u64, slot: u32) {
        let leaf = self.leaf_of[slot as usize];
        self.leaf_of[slot as usize] = NIL;
        let node = &mut self.nodes[leaf as usize];
        let pos = node
            .keys
            .iter()
            .position(|&k| k == key)
            .expect("key in its leaf");
        node.keys.swap_remove(pos);
        node.vals.swap_remove(pos);
        if node.keys.is_empty() {
            self.unlink_empty(leaf);
        }
    }

    /// Take an empty node out of its parent, and the parent out of its own
    /// if that empties it. (Nodes are not merged when they merely run low:
    /// the tree stays as deep as its largest size needed.)
    fn unlink_empty(&mut self, n: u32) {
        let parent = self.nodes[n as usize].parent;
        if parent == NIL {
            // The root: an empty leaf stays as the empty tree.
            return;
        }
        let lo = self.nodes[n as usize].lo;
        self.release(n);
        let p = &mut self.nodes[parent as usize];
        let pos = p
            .vals
            .iter()
            .position(|&c| c == n)
            .expect("child of its parent");
        p.keys.remove(pos);
        p.vals.remove(pos);
        if p.vals.is_empty() {
            self.unlink_empty(parent);
            return;
        }
        if pos == 0 {
            // The new first child takes the old one's bound, so that the
            // range below it stays covered.
            let first = self.nodes[parent as usize].vals[0];
            self.nodes[parent as usize].keys[0] = lo;
            self.lower_bound(first, lo);
        }
        // A root with one child hands the root over to it.
        while !self.nodes[self.root as usize].leaf && self.nodes[self.root as usize].vals.len() == 1
        {
            let old = self.root;
            let child = self.nodes[old as usize].vals[0];
            self.release(old);
            self.nodes[child as usize].parent = NIL;
            self.root = child;
        }
    }

    /// Lower the bound of `n` and of the leftmost nodes below it to `lo`.
    fn lower_bound(&mut self, mut n: u32, lo: u64) {
        loop {
            let node = &mut self.nodes[n as usize];
            node.lo = lo;
            if node.leaf {
                return;
            }
            node.keys[0] = lo;
            n = node.vals[0];
        }
    }

    /// The tree's invariants, against `key_of` (an entry slot's start):
    /// keys ordered within and between nodes, bounds respected, parent
    /// links and fingers right, no empty node but an empty root, and the
    /// slots it holds are `slots`.
    pub fn check(&self, key_of: impl Fn(u32) -> Option<u64>, slots: usize) -> Result<(), String> {
        let mut seen = 0usize;
        let mut last: Option<u64> = None;
        let mut depth = None;
        self.check_node(
            self.root,
            0,
            u64::MAX,
            0,
            &key_of,
            &mut seen,
            &mut last,
            &mut depth,
        )?;
        if seen != slots {
            return Err(format!("entry tree holds {seen} entries, the list {slots}"));
        }
        if self.nodes[self.root as usize].parent != NIL {
            return Err("entry tree root has a parent".into());
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn check_node(
        &self,
        n: u32,
        lo: u64,
        hi: u64,
        level: usize,
        key_of: &impl Fn(u32) -> Option<u64>,
        seen: &mut usize,
        last: &mut Option<u64>,
        depth: &mut Option<usize>,
    ) -> Result<(), String> {
        let node = &self.nodes[n as usize];
        if node.lo != lo {
            return Err(format!(
                "entry tree node {n}: bound {:#x}, parent says {lo:#x}",
                node.lo
            ));
        }
        if node.keys.len() != node.vals.len() || node.keys.len() > FANOUT {
            return Err(format!("entry tree node {n} has {} keys", node.keys.len()));
        }
        if node.keys.is_empty() && n != self.root {
            return Err(format!("entry tree node {n} is empty"));
        }
        if node.leaf {
            match depth {
                Some(d) if *d != level => return Err("entry tree leaves at two depths".into()),
                _ => *depth = Some(level),
            }
            for (k, s) in node.in_order() {
                if k < lo || k >= hi {
                    return Err(format!("entry tree: key {k:#x} outside its leaf's bounds"));
                }
                if last.is_some_and(|l| l >= k) {
                    return Err(format!("entry tree: key {k:#x} out of order"));
                }
                *last = Some(k);
                if key_of(s) != Some(k) {
                    return Err(format!(
                        "entry tree: key {k:#x} names a slot that starts elsewhere"
                    ));
                }
                if self.leaf_of.get(s as usize) != Some(&n) {
                    return Err(format!("entry tree: the finger of {k:#x} is wrong"));
                }
                *seen += 1;
            }
            return Ok(());
        }
        if node.keys[0] != lo {
            return Err(format!("entry tree node {n}: first bound is not its own"));
        }
        for (i, &c) in node.vals.iter().enumerate() {
            if self.nodes[c as usize].parent != n {
                return Err(format!("entry tree node {c}: wrong parent"));
            }
            let chi = node.keys.get(i + 1).copied().unwrap_or(hi);
            if chi <= node.keys[i] {
                return Err(format!("entry tree node {n}: bounds out of order"));
            }
            self.check_node(c, node.keys[i], chi, level + 1, key_of, seen, last, depth)?;
        }
        Ok(())
    }
}
