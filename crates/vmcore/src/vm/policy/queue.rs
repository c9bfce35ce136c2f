//! The policies that need only the list's order: FIFO, LRU and MRU. The
//! list is OSTEP's `memory`: new pages join at the right.

use super::Replacement;

/// First in, first out: hits change nothing, the oldest arrival goes.
/// Suffers Belady's anomaly (more frames can mean more misses).
#[derive(Clone, Debug)]
pub struct Fifo<P> {
    list: Vec<P>,
}

/// Least recently used: a hit moves the page to the right end, the
/// leftmost goes.
#[derive(Clone, Debug)]
pub struct Lru<P> {
    list: Vec<P>,
}

/// Most recently used: ordered as LRU, but the rightmost goes (what
/// `paging-policy.py` does with `-p MRU`, which its help does not list).
#[derive(Clone, Debug)]
pub struct Mru<P> {
    list: Vec<P>,
}

// Derived Default would demand `P: Default`.
impl<P> Default for Fifo<P> {
    fn default() -> Self {
        Fifo { list: Vec::new() }
    }
}
impl<P> Default for Lru<P> {
    fn default() -> Self {
        Lru { list: Vec::new() }
    }
}
impl<P> Default for Mru<P> {
    fn default() -> Self {
        Mru { list: Vec::new() }
    }
}

/// A hit under LRU and MRU: `memory.remove(n); memory.append(n)`.
fn move_to_right_end<P: Copy + Eq>(list: &mut Vec<P>, page: P) {
    if let Some(i) = list.iter().position(|&q| q == page) {
        list.remove(i);
        list.push(page);
    }
}

/// `memory.pop(0)`.
fn pop_left<P>(list: &mut Vec<P>) -> Option<P> {
    (!list.is_empty()).then(|| list.remove(0))
}

impl<P: Copy + Eq> Replacement<P> for Fifo<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, _page: P) {}
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, _future: &[P]) -> Option<P> {
        pop_left(&mut self.list)
    }
}

impl<P: Copy + Eq> Replacement<P> for Lru<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, page: P) {
        move_to_right_end(&mut self.list, page);
    }
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, _future: &[P]) -> Option<P> {
        pop_left(&mut self.list)
    }
}

impl<P: Copy + Eq> Replacement<P> for Mru<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, page: P) {
        move_to_right_end(&mut self.list, page);
    }
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, _future: &[P]) -> Option<P> {
        self.list.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled<R: Replacement<i64>>(mut r: R, pages: &[i64]) -> R {
        for &p in pages {
            r.inserted(p);
        }
        r
    }

    #[test]
    fn fifo_ignores_hits_and_evicts_the_first_in() {
        let mut f = filled(Fifo::default(), &[1, 2, 3]);
        f.referenced(1);
        assert_eq!(f.resident(), &[1, 2, 3]);
        assert_eq!(f.evict(&[]), Some(1));
        assert_eq!(f.resident(), &[2, 3]);
    }

    #[test]
    fn lru_moves_a_hit_page_right_and_evicts_the_leftmost() {
        let mut l = filled(Lru::default(), &[1, 2, 3]);
        l.referenced(1);
        assert_eq!(l.resident(), &[2, 3, 1]);
        assert_eq!(l.evict(&[]), Some(2));
        assert_eq!(l.resident(), &[3, 1]);
    }

    #[test]
    fn mru_moves_a_hit_page_right_and_evicts_the_rightmost() {
        let mut m = filled(Mru::default(), &[1, 2, 3]);
        m.referenced(1);
        assert_eq!(m.resident(), &[2, 3, 1]);
        assert_eq!(m.evict(&[]), Some(1));
        assert_eq!(m.resident(), &[2, 3]);
    }

    #[test]
    fn an_empty_list_has_no_victim() {
        assert_eq!(Fifo::<i64>::default().evict(&[]), None);
        assert_eq!(Lru::<i64>::default().evict(&[]), None);
        assert_eq!(Mru::<i64>::default().evict(&[]), None);
    }
}
