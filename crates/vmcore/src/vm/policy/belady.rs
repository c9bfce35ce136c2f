//! The policies that read the future: OPT (Belady's optimal, MIN) and its
//! mirror UNOPT, as `paging-policy.py` computes them. Both look, for each
//! resident page from left to right, at when it is next used ("never"
//! counts as after the end); new pages join at the right.

use super::Replacement;

/// Belady's optimal policy: evict the page used furthest in the future.
/// OSTEP's tie break: its scan keeps the last page with `when >= max`, so
/// among pages never used again (or used equally far ahead, impossible for
/// distinct pages) the rightmost goes.
#[derive(Clone, Debug)]
pub struct Opt<P> {
    list: Vec<P>,
}

/// The worst policy with hindsight: evict the page used soonest. Its scan
/// keeps the first page with `when < min`: among ties the leftmost goes.
#[derive(Clone, Debug)]
pub struct Unopt<P> {
    list: Vec<P>,
}

impl<P> Default for Opt<P> {
    fn default() -> Self {
        Opt { list: Vec::new() }
    }
}
impl<P> Default for Unopt<P> {
    fn default() -> Self {
        Unopt { list: Vec::new() }
    }
}

/// How far ahead `page` is next used: its index in `future`, or
/// `future.len()` when never.
fn next_use<P: Eq>(page: &P, future: &[P]) -> usize {
    future
        .iter()
        .position(|q| q == page)
        .unwrap_or(future.len())
}

impl<P: Copy + Eq> Replacement<P> for Opt<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, _page: P) {}
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, future: &[P]) -> Option<P> {
        // max_by_key keeps the last maximum: OSTEP's `>=`.
        let (i, _) = self
            .list
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| next_use(*p, future))?;
        Some(self.list.remove(i))
    }
}

impl<P: Copy + Eq> Replacement<P> for Unopt<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, _page: P) {}
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, future: &[P]) -> Option<P> {
        // min_by_key keeps the first minimum: OSTEP's `<`.
        let (i, _) = self
            .list
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| next_use(*p, future))?;
        Some(self.list.remove(i))
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
    fn opt_evicts_the_page_used_furthest_ahead() {
        let mut o = filled(Opt::default(), &[1, 2, 3]);
        assert_eq!(o.evict(&[2, 1, 3, 2]), Some(3));
        assert_eq!(o.resident(), &[1, 2]);
    }

    #[test]
    fn opt_evicts_the_rightmost_of_the_pages_never_used_again() {
        let mut o = filled(Opt::default(), &[1, 2, 3]);
        assert_eq!(o.evict(&[2]), Some(3));
        let mut o = filled(Opt::default(), &[1, 2, 3]);
        assert_eq!(o.evict(&[3]), Some(2));
    }

    #[test]
    fn unopt_evicts_the_page_used_soonest() {
        let mut u = filled(Unopt::default(), &[1, 2, 3]);
        assert_eq!(u.evict(&[3, 1, 2]), Some(3));
    }

    #[test]
    fn unopt_evicts_the_leftmost_when_nothing_is_used_again() {
        let mut u = filled(Unopt::default(), &[1, 2, 3]);
        assert_eq!(u.evict(&[]), Some(1));
    }

    #[test]
    fn hits_do_not_reorder_opt_or_unopt() {
        let mut o = filled(Opt::default(), &[1, 2]);
        o.referenced(1);
        assert_eq!(o.resident(), &[1, 2]);
        let mut u = filled(Unopt::default(), &[1, 2]);
        u.referenced(1);
        assert_eq!(u.resident(), &[1, 2]);
    }
}
