//! The policies that draw random numbers: RAND and OSTEP's CLOCK. Both
//! take their numbers from CPython's generator ([`Mt19937`]) in the order
//! `paging-policy.py` draws them, so a seed picks the same victims.

use super::{Mt19937, Replacement};

/// `int(random() * count)`: a uniform index into a list of `count`.
fn random_index(rng: &mut Mt19937, count: usize) -> usize {
    (rng.random() * count as f64) as usize
}

/// Random replacement: the victim is `memory.pop(int(random() * count))`.
#[derive(Clone, Debug)]
pub struct Rand<P> {
    list: Vec<P>,
    rng: Mt19937,
}

impl<P> Rand<P> {
    /// Nothing resident; victims drawn from `rng`.
    pub fn new(rng: Mt19937) -> Rand<P> {
        Rand {
            list: Vec::new(),
            rng,
        }
    }
}

impl<P: Copy + Eq> Replacement<P> for Rand<P> {
    fn resident(&self) -> &[P] {
        &self.list
    }
    fn referenced(&mut self, _page: P) {}
    fn inserted(&mut self, page: P) {
        self.list.push(page);
    }
    fn evict(&mut self, _future: &[P]) -> Option<P> {
        if self.list.is_empty() {
            return None;
        }
        let i = random_index(&mut self.rng, self.list.len());
        Some(self.list.remove(i))
    }
}

/// CLOCK as `paging-policy.py` implements it. Each resident page has a use
/// count (its dictionary `ref`): 1 when the page comes in, one more on
/// each hit up to `bits` (OSTEP's `-b`, a ceiling, not a number of bits).
/// To evict, it picks a *random* resident page (there is no hand that
/// sweeps): a page with a count of 1 or more has it decremented and
/// another page is picked; the first page found at 0 or below goes. The
/// textbook clock of the chapter sweeps in order instead and is a
/// different policy.
#[derive(Clone, Debug)]
pub struct Clock<P> {
    /// Resident pages in arrival order, each with its use count.
    list: Vec<(P, i64)>,
    /// Same pages as `list`, for [`Replacement::resident`].
    pages: Vec<P>,
    bits: i64,
    rng: Mt19937,
}

impl<P> Clock<P> {
    /// Nothing resident; use counts capped at `bits`, frames picked with
    /// `rng`.
    pub fn new(rng: Mt19937, bits: i64) -> Clock<P> {
        Clock {
            list: Vec::new(),
            pages: Vec::new(),
            bits,
            rng,
        }
    }
}

impl<P: Copy + Eq> Clock<P> {
    /// The use count of a resident page (`ref[page]`).
    pub fn use_count(&self, page: P) -> Option<i64> {
        self.list.iter().find(|(p, _)| *p == page).map(|&(_, c)| c)
    }
}

impl<P: Copy + Eq> Replacement<P> for Clock<P> {
    fn resident(&self) -> &[P] {
        &self.pages
    }
    fn referenced(&mut self, page: P) {
        // `ref[n] += 1; if ref[n] > clockbits: ref[n] = clockbits`
        if let Some((_, c)) = self.list.iter_mut().find(|(p, _)| *p == page) {
            *c = (*c + 1).min(self.bits);
        }
    }
    fn inserted(&mut self, page: P) {
        // `ref[n] = 1`, whatever the ceiling: the victim's count was
        // deleted, so the page is new to the dictionary.
        self.list.push((page, 1));
        self.pages.push(page);
    }
    fn evict(&mut self, _future: &[P]) -> Option<P> {
        if self.list.is_empty() {
            return None;
        }
        loop {
            let i = random_index(&mut self.rng, self.list.len());
            let (page, count) = &mut self.list[i];
            if *count >= 1 {
                *count -= 1;
            } else {
                let page = *page;
                self.list.remove(i);
                self.pages.remove(i);
                return Some(page);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Victims checked against `paging-policy.py`'s own code run with
    //! `random.seed(0)` (first draws 0.844, 0.758, 0.421, 0.259, 0.511,
    //! 0.404, ...).
    use super::*;

    fn filled<R: Replacement<i64>>(mut r: R, pages: &[i64]) -> R {
        for &p in pages {
            r.inserted(p);
        }
        r
    }

    #[test]
    fn rand_with_seed_0_evicts_index_3_then_2_then_0() {
        let mut r = filled(Rand::new(Mt19937::python_seed(0)), &[10, 11, 12, 13]);
        // int(0.844 * 4) = 3, int(0.758 * 3) = 2, int(0.421 * 2) = 0
        assert_eq!(r.evict(&[]), Some(13));
        assert_eq!(r.evict(&[]), Some(12));
        assert_eq!(r.evict(&[]), Some(10));
        assert_eq!(r.resident(), &[11]);
    }

    #[test]
    fn clock_counts_start_at_1_and_stop_at_the_ceiling() {
        let mut c = filled(Clock::new(Mt19937::python_seed(0), 3), &[5]);
        assert_eq!(c.use_count(5), Some(1));
        for _ in 0..5 {
            c.referenced(5);
        }
        assert_eq!(c.use_count(5), Some(3));
    }

    #[test]
    fn clock_with_ceiling_0_zeroes_a_page_on_its_first_hit() {
        let mut c = filled(Clock::new(Mt19937::python_seed(0), 0), &[5]);
        c.referenced(5);
        assert_eq!(c.use_count(5), Some(0));
    }

    #[test]
    fn clock_decrements_random_picks_until_one_is_at_0() {
        let mut c = filled(Clock::new(Mt19937::python_seed(0), 2), &[10, 11, 12]);
        // Picks int(r * 3): 2 (12: 1->0), 2 (12 at 0: the victim).
        assert_eq!(c.evict(&[]), Some(12));
        assert_eq!(c.use_count(10), Some(1));
        assert_eq!(c.use_count(11), Some(1));
        assert_eq!(c.resident(), &[10, 11]);
    }
}
